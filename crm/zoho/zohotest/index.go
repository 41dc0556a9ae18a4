package zohotest

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The double answers COQL queries and duplicate checks from a value index
// per field, so its cost per request does not grow with the org (a full scan
// per request made a 100,000-call backfill quadratic in the double, which
// the benchmark then counted against callsync). The index only narrows:
// every candidate is still tested with the query's own predicate.

// valueIndex maps a field's values, lower case, to the records holding them.
type valueIndex struct {
	gen int // module.gen it was built at
	n   int // records of module.order indexed so far
	ids map[string][]string
}

// indexKey is how a stored value is compared by COQL =/in (the predicate
// compiled in coql.go): text and a lookup's id ignoring case, a datetime by
// its second.
func indexKey(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return strings.ToLower(v), true
	case ref:
		return strings.ToLower(v.ID), true
	case time.Time:
		return timeKey(v), true
	}
	return "", false
}

func timeKey(t time.Time) string { return "\x00" + strconv.FormatInt(t.Unix(), 10) }

// appendRecord adds a new record id at the end of the module's order.
func (m *module) appendRecord(id string) {
	if m.pos == nil {
		m.pos = map[string]int{}
	}
	m.pos[id] = len(m.order)
	m.order = append(m.order, id)
}

// changed invalidates the indexes after a record was updated or deleted
// (new records are indexed as they come).
func (m *module) changed() {
	m.gen++
	clear(m.pos)
	if m.pos == nil {
		m.pos = map[string]int{}
	}
	for i, id := range m.order {
		m.pos[id] = i
	}
}

// valueIndex returns the field's index, brought up to date.
func (m *module) valueIndex(field string) *valueIndex {
	ix := m.index[field]
	if ix == nil || ix.gen != m.gen {
		ix = &valueIndex{gen: m.gen, ids: map[string][]string{}}
		if m.index == nil {
			m.index = map[string]*valueIndex{}
		}
		m.index[field] = ix
	}
	for ; ix.n < len(m.order); ix.n++ {
		id := m.order[ix.n]
		if k, ok := indexKey(m.records[id][field]); ok {
			ix.ids[k] = append(ix.ids[k], id)
		}
	}
	return ix
}

// timeIndex holds the records of a datetime field sorted by its second (the
// precision COQL compares at, see compareNum), so a range gathers only the
// records inside it.
type timeIndex struct {
	gen     int // module.gen it was built at
	n       int // records of module.order indexed so far
	entries []timeEntry
}

type timeEntry struct {
	sec int64
	id  string
}

// timeIndex returns the field's time index, brought up to date: records
// added since are sorted on their own and merged in.
func (m *module) timeIndex(field string) *timeIndex {
	ix := m.times[field]
	if ix == nil || ix.gen != m.gen {
		ix = &timeIndex{gen: m.gen}
		if m.times == nil {
			m.times = map[string]*timeIndex{}
		}
		m.times[field] = ix
	}
	if ix.n == len(m.order) {
		return ix
	}
	var add []timeEntry
	for ; ix.n < len(m.order); ix.n++ {
		id := m.order[ix.n]
		if t, ok := m.records[id][field].(time.Time); ok {
			add = append(add, timeEntry{t.Unix(), id})
		}
	}
	byTime := func(a, b timeEntry) int { return cmp.Compare(a.sec, b.sec) }
	slices.SortStableFunc(add, byTime)
	ix.entries = mergeTimes(ix.entries, add)
	return ix
}

// mergeTimes merges add, sorted, into entries, sorted, in place: entries
// grows by len(add) and only the entries after add's first second move,
// from the back, so records added in time order cost no copy of the index.
// An entry of add goes after the entries of its second already there.
func mergeTimes(entries, add []timeEntry) []timeEntry {
	i, j := len(entries)-1, len(add)-1
	entries = append(entries, add...)
	for k := len(entries) - 1; j >= 0 && i >= 0; k-- {
		if entries[i].sec > add[j].sec {
			entries[k] = entries[i]
			i--
		} else {
			entries[k] = add[j]
			j--
		}
	}
	copy(entries, add[:j+1]) // add's entries before every old one
	return entries
}

// span returns the entries whose second lies in [lo, hi].
func (ix *timeIndex) span(lo, hi int64) []timeEntry {
	i := sort.Search(len(ix.entries), func(k int) bool { return ix.entries[k].sec >= lo })
	j := sort.Search(len(ix.entries), func(k int) bool { return ix.entries[k].sec > hi })
	if j < i {
		return nil
	}
	return ix.entries[i:j]
}

// timeRange returns the datetime field and the closed range of seconds
// [lo, hi] that a condition (>, >=, <, <=, between, not negated) or an and
// of such conditions on one field bounds; ok is false for any other.
func (m *module) timeRange(e expr, parseTime func(string) (time.Time, bool)) (field string, lo, hi int64, ok bool) {
	switch e := e.(type) {
	case *cond:
		if e.not || e.field == "id" {
			return "", 0, 0, false
		}
		if f := m.field(e.field); f == nil || f.Type != DateTime {
			return "", 0, 0, false
		}
		secs := make([]int64, len(e.values))
		for i, v := range e.values {
			t, ok := parseTime(v.text)
			if !ok {
				return "", 0, 0, false
			}
			secs[i] = t.Unix()
		}
		lo, hi = math.MinInt64, math.MaxInt64
		switch e.op {
		case ">":
			lo = secs[0] + 1
		case ">=":
			lo = secs[0]
		case "<":
			hi = secs[0] - 1
		case "<=":
			hi = secs[0]
		case "between":
			lo, hi = secs[0], secs[1]
		default:
			return "", 0, 0, false
		}
		return e.field, lo, hi, true
	case *binary:
		if e.op != "and" {
			return "", 0, 0, false
		}
		lf, llo, lhi, lok := m.timeRange(e.l, parseTime)
		rf, rlo, rhi, rok := m.timeRange(e.r, parseTime)
		if !lok || !rok || lf != rf {
			return "", 0, 0, false
		}
		return lf, max(llo, rlo), min(lhi, rhi), true
	}
	return "", 0, 0, false
}

// withValue returns the ids of the records whose field holds one of values
// (keys as indexKey makes them), in the module's order.
func (m *module) withValue(field string, values []string) []string {
	ix := m.valueIndex(field)
	var out []string
	for _, v := range values {
		out = append(out, ix.ids[v]...)
	}
	return m.inOrder(out)
}

// inOrder sorts ids by the module's order and drops repeats.
func (m *module) inOrder(ids []string) []string {
	type entry struct {
		pos int
		id  string
	}
	es := make([]entry, len(ids))
	for i, id := range ids {
		es[i] = entry{m.pos[id], id}
	}
	slices.SortFunc(es, func(a, b entry) int { return a.pos - b.pos })
	es = slices.CompactFunc(es, func(a, b entry) bool { return a.pos == b.pos })
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	return out
}

// indexValues returns the field and the index keys of a condition the
// value index can answer (= and in, not negated, on text-like and datetime
// fields); ok is false for any other.
func (m *module) indexValues(c *cond, parseTime func(string) (time.Time, bool)) (field string, values []string, ok bool) {
	if c.not || (c.op != "=" && c.op != "in") || c.field == "id" {
		return "", nil, false
	}
	f := m.field(c.field)
	if f == nil {
		return "", nil, false
	}
	values = make([]string, len(c.values))
	for i, v := range c.values {
		switch f.Type {
		case Text, Phone, Email, Website, Picklist:
			values[i] = strings.ToLower(v.text)
		case DateTime:
			t, ok := parseTime(v.text)
			if !ok {
				return "", nil, false
			}
			values[i] = timeKey(t)
		default:
			return "", nil, false
		}
	}
	return c.field, values, true
}

// estimate counts (an upper bound, repeats included) the candidates
// candidates would gather for e, without gathering them; ok as candidates.
func (m *module) estimate(e expr, parseTime func(string) (time.Time, bool)) (n int, ok bool) {
	if field, lo, hi, ok := m.timeRange(e, parseTime); ok {
		return len(m.timeIndex(field).span(lo, hi)), true
	}
	switch e := e.(type) {
	case *cond:
		field, values, ok := m.indexValues(e, parseTime)
		if !ok {
			return 0, false
		}
		ix := m.valueIndex(field)
		for _, v := range values {
			n += len(ix.ids[v])
		}
		return n, true
	case *binary:
		l, lok := m.estimate(e.l, parseTime)
		r, rok := m.estimate(e.r, parseTime)
		switch {
		case e.op == "and" && lok && (!rok || l <= r):
			return l, true
		case e.op == "and" && rok:
			return r, true
		case e.op == "or" && lok && rok:
			return l + r, true
		}
	}
	return 0, false
}

// candidates narrows a COQL condition to the records that can match it:
// ok is false when the condition cannot be narrowed (every record is a
// candidate). = and in (not negated) on text-like and datetime fields use
// the value index; a range of a datetime field (>, >=, <, <=, between, or
// an and of them on that field) the time index; and takes the side estimate
// finds narrower (only that side is gathered), or takes the union of both
// sides.
func (m *module) candidates(e expr, parseTime func(string) (time.Time, bool)) (ids []string, ok bool) {
	if field, lo, hi, ok := m.timeRange(e, parseTime); ok {
		span := m.timeIndex(field).span(lo, hi)
		ids = make([]string, len(span))
		for i, te := range span {
			ids[i] = te.id
		}
		return m.inOrder(ids), true
	}
	switch e := e.(type) {
	case *cond:
		field, values, ok := m.indexValues(e, parseTime)
		if !ok {
			return nil, false
		}
		return m.withValue(field, values), true
	case *binary:
		if e.op == "and" {
			l, lok := m.estimate(e.l, parseTime)
			r, rok := m.estimate(e.r, parseTime)
			switch {
			case lok && (!rok || l <= r):
				return m.candidates(e.l, parseTime)
			case rok:
				return m.candidates(e.r, parseTime)
			}
			return nil, false
		}
		l, lok := m.candidates(e.l, parseTime)
		r, rok := m.candidates(e.r, parseTime)
		if e.op == "or" && lok && rok {
			return m.inOrder(append(l, r...)), true
		}
	}
	return nil, false
}
