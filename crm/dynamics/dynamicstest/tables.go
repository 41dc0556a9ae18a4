package dynamicstest

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// colType is the Edm type of a column.
type colType int

const (
	tString colType = iota
	tBool
	tInt
	tDate
	tGUID
)

func (t colType) edm() string {
	switch t {
	case tBool:
		return "Edm.Boolean"
	case tInt:
		return "Edm.Int32"
	case tDate:
		return "Edm.DateTimeOffset"
	case tGUID:
		return "Edm.Guid"
	}
	return "Edm.String"
}

// row is one record; values are string, bool, int, time.Time or nil. Lookup
// columns (_x_value) hold the target id; the target's table is kept under
// the column name plus lookupSuffix.
type row map[string]any

const lookupSuffix = "@Microsoft.Dynamics.CRM.lookuplogicalname"

func (r row) clone() row {
	c := make(row, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

// table is one entity set.
type table struct {
	set     string // entity set name, e.g. contacts
	logical string // logical name, e.g. contact
	key     string // primary key column
	cols    map[string]colType
	// maxLen bounds string columns [Writing: max lengths].
	maxLen map[string]int
	rows   map[string]row
	// order holds the ids in creation order, and a row's meta its
	// creation number (pos: ascending along order, never reused): a page
	// resumes after the position of the last row it returned (paging.go).
	order   []string
	lastPos int64
	// meta holds what the table keeps of each id besides its row, in one
	// map instead of one per item: its position, version and last change.
	// An id keeps its entry once its row is gone (its version goes on if
	// it is created again).
	meta map[string]rowMeta
	// attrType overrides the AttributeType of added columns (Memo).
	attrType map[string]string
	// secured columns return no data to the application user unless
	// granted holds true for them (a field security profile with Read).
	secured map[string]bool
	granted map[string]bool
	// readOnly columns are not valid for create or update.
	readOnly map[string]bool
	// custom holds columns added to phonecall that a create may set.
	custom map[string]bool
	// Change tracking (tracking.go): tracked tables answer
	// odata.track-changes; seq counts changes, a row's meta holds its
	// last change, changes (tracked tables) every change in order,
	// deleted the deletions in order; a delta token below expiredBelow is
	// refused. Whether a table is tracked is set before it has rows.
	tracked      bool
	seq          int64
	changes      []changeAt
	deleted      []deletion
	expiredBelow int64
	// index and dates hold the value indexes of the columns queried so
	// far (index.go).
	index map[string]colIndex
	dates map[string]dateIndex
}

func newTable(set, logical, key string, cols map[string]colType) *table {
	cols[key] = tGUID
	cols["createdon"] = tDate
	cols["modifiedon"] = tDate
	return &table{set: set, logical: logical, key: key, cols: cols, maxLen: map[string]int{},
		rows: map[string]row{}, meta: map[string]rowMeta{}, attrType: map[string]string{},
		secured: map[string]bool{}, granted: map[string]bool{}, readOnly: map[string]bool{}, custom: map[string]bool{},
		index: map[string]colIndex{}, dates: map[string]dateIndex{}}
}

// rowMeta is what a table keeps of an id besides its row. Each field reads
// as its zero value where the id has none: pos (its creation number) while
// it is not in the creation order, changed (the number of its last change)
// once it was deleted, version before it was first written.
type rowMeta struct {
	pos     int64
	listed  bool // in the creation order
	version int
	changed int64
}

func phoneCols(extra map[string]colType, names ...string) map[string]colType {
	for _, n := range names {
		extra[n] = tString
	}
	return extra
}

// newTables returns the Web API subset the double serves: contact, account,
// lead, systemuser, queue and phonecall as in the table reference
// (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/).
func newTables() map[string]*table {
	ts := map[string]*table{}
	add := func(t *table) { ts[t.set] = t }
	add(newTable("contacts", "contact", "contactid", phoneCols(map[string]colType{
		"_ownerid_value": tGUID, "_parentcustomerid_value": tGUID, "statecode": tInt,
	}, "fullname", "firstname", "lastname", "telephone1", "telephone2", "telephone3", "mobilephone", "emailaddress1", "address1_country")))
	add(newTable("accounts", "account", "accountid", phoneCols(map[string]colType{
		"_ownerid_value": tGUID, "_parentaccountid_value": tGUID, "statecode": tInt,
	}, "name", "telephone1", "telephone2", "telephone3", "emailaddress1", "address1_country")))
	add(newTable("leads", "lead", "leadid", phoneCols(map[string]colType{
		"_ownerid_value": tGUID, "_parentaccountid_value": tGUID, "_parentcontactid_value": tGUID, "statecode": tInt,
	}, "fullname", "firstname", "lastname", "companyname", "telephone1", "telephone2", "telephone3", "mobilephone", "emailaddress1", "address1_country")))
	add(newTable("systemusers", "systemuser", "systemuserid", phoneCols(map[string]colType{
		"isdisabled": tBool, "accessmode": tInt, "applicationid": tGUID, "_queueid_value": tGUID,
	}, "fullname", "internalemailaddress", "domainname")))
	add(newTable("queues", "queue", "queueid", phoneCols(map[string]colType{
		"_ownerid_value": tGUID, "queueviewtype": tInt, "statecode": tInt,
	}, "name", "emailaddress")))
	add(newTable("queueitems", "queueitem", "queueitemid", phoneCols(map[string]colType{
		"_queueid_value": tGUID, "_objectid_value": tGUID, "statecode": tInt,
	}, "title")))
	pc := newTable("phonecalls", "phonecall", "activityid", phoneCols(map[string]colType{
		"directioncode": tBool, "actualstart": tDate, "actualend": tDate, "scheduledstart": tDate, "scheduledend": tDate,
		"actualdurationminutes": tInt, "statecode": tInt, "statuscode": tInt, "prioritycode": tInt,
		"_ownerid_value": tGUID, "_regardingobjectid_value": tGUID,
	}, "subject", "phonenumber", "description", "category", "subcategory"))
	// [Writing a completed phone-call activity: column table]
	pc.maxLen = map[string]int{"subject": 200, "phonenumber": 200, "description": 2000, "category": 250, "subcategory": 250}
	pc.attrType["description"] = "Memo"
	add(pc)
	for _, t := range []*table{ts["contacts"], ts["accounts"], ts["leads"]} {
		for _, c := range []string{"telephone1", "telephone2", "telephone3", "mobilephone"} {
			if _, ok := t.cols[c]; ok {
				t.maxLen[c] = 50
			}
		}
	}
	return ts
}

// insert adds r (with its key set) and returns an undo function.
func (t *table) insert(r row, now time.Time) func() {
	id := r[t.key].(string)
	r["createdon"], r["modifiedon"] = now, now
	t.rows[id] = r
	t.lastPos++
	t.order = append(t.order, id)
	m := t.meta[id]
	m.pos, m.listed = t.lastPos, true
	m.version++
	t.meta[id] = m
	t.change(id)
	t.indexRow(id, r)
	return func() { t.remove(id) }
}

// remove takes row id out of the table.
func (t *table) remove(id string) {
	if r, ok := t.rows[id]; ok {
		t.unindexRow(id, r)
		delete(t.rows, id)
	}
	t.unlist(id)
}

// unlist takes row id out of the creation order.
func (t *table) unlist(id string) {
	m := t.meta[id]
	if !m.listed {
		return
	}
	if i := t.after(m.pos - 1); i < len(t.order) && t.order[i] == id {
		t.order = slices.Delete(t.order, i, i+1)
	}
	m.pos, m.listed = 0, false
	t.meta[id] = m
}

// after is the index in order of the first row created after position p.
func (t *table) after(p int64) int {
	return sort.Search(len(t.order), func(i int) bool { return t.meta[t.order[i]].pos > p })
}

// bump counts a write of row id in its version.
func (t *table) bump(id string) {
	m := t.meta[id]
	m.version++
	t.meta[id] = m
}

// update replaces row id with r and returns an undo function.
func (t *table) update(id string, r row, now time.Time) func() {
	old := t.rows[id]
	r["modifiedon"] = now
	t.unindexRow(id, old)
	t.rows[id] = r
	t.indexRow(id, r)
	t.bump(id)
	t.change(id)
	return func() {
		t.unindexRow(id, t.rows[id])
		t.rows[id] = old
		t.indexRow(id, old)
	}
}

// patch writes the columns of set into row id (and modifiedon), as update
// with a copy of the row holding them would, and returns an undo
// function. Only the built indexes of the columns whose values change are
// touched.
func (t *table) patch(id string, set row, now time.Time) func() {
	r := t.rows[id]
	set["modifiedon"] = now
	// before holds the values set replaces; a column r did not have is
	// held as absent.
	// A slice, not a map: its columns are those of set, each once.
	type was struct {
		k  string
		v  any
		ok bool
	}
	before := make([]was, 0, len(set))
	for k := range set {
		v, ok := r[k]
		before = append(before, was{k, v, ok})
	}
	t.reindexCols(id, r, set)
	for k, v := range set {
		r[k] = v
	}
	t.bump(id)
	t.change(id)
	return func() {
		back := make(row, len(before))
		for _, w := range before {
			back[w.k] = w.v
		}
		t.reindexCols(id, r, back)
		for _, w := range before {
			if w.ok {
				r[w.k] = w.v
			} else {
				delete(r, w.k)
			}
		}
	}
}

// typeOf infers the column type of a seeded custom field.
func typeOf(v any) (colType, any, error) {
	switch x := v.(type) {
	case string:
		return tString, x, nil
	case bool:
		return tBool, x, nil
	case int:
		return tInt, x, nil
	case time.Time:
		return tDate, x.UTC(), nil
	}
	return 0, nil, fmt.Errorf("unsupported field value %T", v)
}
