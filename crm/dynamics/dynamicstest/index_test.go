package dynamicstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// scanIDs answers filter on set by testing every row in creation order, as
// the double did before it had indexes.
func scanIDs(t *testing.T, s *Server, set, filter string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	tb := s.tables[set]
	e, _, err := parseFilter(tb, filter)
	if err != nil {
		t.Fatalf("%s: %v", filter, err)
	}
	var out []string
	for _, id := range tb.order {
		if e.eval(tb.visible(tb.rows[id])) {
			out = append(out, id)
		}
	}
	return out
}

// queryIDs answers filter on set as GET requests do, pages of pageSize
// rows followed by their nextLinks, and says whether the filter was
// answered from the indexes.
func queryIDs(t *testing.T, s *Server, set, filter string, pageSize int) ([]string, bool) {
	t.Helper()
	s.mu.Lock()
	tb := s.tables[set]
	e, _, err := parseFilter(tb, filter)
	if err != nil {
		s.mu.Unlock()
		t.Fatalf("%s: %v", filter, err)
	}
	_, indexed := tb.lookup(e)
	s.mu.Unlock()
	q := url.Values{"$select": {tb.key}, "$filter": {filter}}.Encode()
	h := http.Header{"Prefer": {fmt.Sprintf("odata.maxpagesize=%d", pageSize)}}
	var out []string
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("%s: more than 1000 pages", filter)
		}
		resp := s.execLocked(apiRequest{method: http.MethodGet, path: set, query: q, header: h})
		if resp.status != http.StatusOK {
			t.Fatalf("%s: %d %s", filter, resp.status, resp.body)
		}
		var body struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			t.Fatal(err)
		}
		for _, v := range body.Value {
			out = append(out, v[tb.key].(string))
		}
		if body.NextLink == "" {
			return out, indexed
		}
		_, q, _ = strings.Cut(body.NextLink, "?")
	}
}

// TestIndexedQueriesAnswerAsTheScan runs filters that the value indexes
// answer (eq and In on string and GUID columns, under and/or) and some they
// do not, after creates, updates, deletions, a rolled-back changeset and a
// column re-created, and wants each to return the rows of a scan of the
// whole table in the same order, on one page and over many.
func TestIndexedQueriesAnswerAsTheScan(t *testing.T) {
	s := NewServer(Options{})
	t.Cleanup(s.Close)
	values := []string{"+31 20 555 0001", "+31 20 555 0001 ", "ABC", "abc", "Abc  ", "", "+44 20 7946 0000", "x"}
	accounts := []string{s.AddAccount(Record{Name: "A"}), s.AddAccount(Record{Name: "B"})}
	var contacts []string
	for i := range 240 {
		phones := map[string]string{"telephone1": values[i%len(values)]}
		if i%3 == 0 {
			phones["mobilephone"] = values[(i/3)%len(values)]
		}
		if i%5 == 0 {
			phones["telephone2"] = strings.ToUpper(values[(i/5)%len(values)])
		}
		r := Record{Name: fmt.Sprintf("c%d", i), Phones: phones}
		if i%4 != 0 {
			r.ParentAccountID = accounts[i%2]
		}
		contacts = append(contacts, s.AddContact(r))
	}
	// Build the contacts' indexes now, so that the writes below keep them
	// up to date rather than their first query building them afresh.
	for _, f := range []string{"telephone1 eq 'abc'", "telephone2 eq 'abc'", "mobilephone eq 'abc'", "_parentcustomerid_value eq " + accounts[0], "address1_country eq 'x'"} {
		queryIDs(t, s, "contacts", f, 5000)
	}
	for i, id := range contacts {
		switch {
		case i%7 == 0:
			s.UpdateRecord("contacts", id, map[string]any{"telephone1": values[(i+3)%len(values)], "mobilephone": nil})
		case i%11 == 0:
			s.DeleteRecord("contacts", id)
		case i%13 == 0:
			s.UpdateRecord("contacts", id, map[string]any{"address1_country": values[i%len(values)]})
		}
	}
	for i := range 40 {
		s.AddContact(Record{Name: fmt.Sprintf("late%d", i), Phones: map[string]string{"telephone1": values[(i*5)%len(values)]}})
	}
	s.AddColumn("contacts", Column{Name: "address1_country", Type: "String"})
	for i, id := range contacts {
		if i%11 != 0 && i%6 == 0 {
			s.UpdateRecord("contacts", id, map[string]any{"address1_country": values[i%len(values)]})
		}
	}

	// Phone calls: created, some patched to another number, and a
	// changeset that created and patched one and then failed.
	post := func(tx *tx, id, number string, start time.Time) {
		b, _ := json.Marshal(map[string]any{"activityid": id, "phonenumber": number, "subject": "call",
			"actualstart": start.Format(time.RFC3339)})
		resp := s.exec(apiRequest{method: http.MethodPost, path: "phonecalls", header: http.Header{"Content-Type": {"application/json"}}, body: b}, tx)
		if resp.status != http.StatusNoContent {
			t.Fatalf("create phonecall: %d %s", resp.status, resp.body)
		}
	}
	patch := func(tx *tx, id string, body map[string]any) {
		b, _ := json.Marshal(body)
		resp := s.exec(apiRequest{method: http.MethodPatch, path: "phonecalls(" + id + ")", header: http.Header{"Content-Type": {"application/json"}}, body: b}, tx)
		if resp.status != http.StatusNoContent {
			t.Fatalf("patch phonecall: %d %s", resp.status, resp.body)
		}
	}
	number := func(n string) map[string]any { return map[string]any{"phonenumber": n} }
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	callID := func(i int) string { return fmt.Sprintf("0000000a-00bc-4000-8000-%012d", i) }
	s.mu.Lock()
	queryIndex := s.tables["phonecalls"].indexFor("phonenumber")
	dateIndex := s.tables["phonecalls"].datesFor("actualstart")
	for i := range 300 {
		post(nil, callID(i), values[i%len(values)], base.Add(time.Duration(i)*time.Minute))
	}
	for i := 0; i < 300; i += 9 {
		patch(nil, callID(i), number(values[(i+1)%len(values)]))
	}
	for i := 5; i < 300; i += 20 {
		patch(nil, callID(i), map[string]any{"actualstart": base.Add(time.Duration(300-i) * time.Minute).Format(time.RFC3339)})
	}
	patch(nil, callID(7), map[string]any{"actualstart": nil})
	tx := &tx{refs: map[string]string{}}
	post(tx, callID(1000), "ABC", base.Add(2*time.Hour))
	patch(tx, callID(1000), number("+31 20 555 0001"))
	patch(tx, callID(90), number("+44 20 7946 0000"))
	patch(tx, callID(100), map[string]any{"actualstart": base.Add(-24 * time.Hour).Format(time.RFC3339)})
	tx.rollback()
	s.mu.Unlock()
	if len(queryIndex) == 0 || len(dateIndex) == 0 {
		t.Fatal("the phonenumber and actualstart indexes were not built")
	}

	in := func(col string, vs ...string) string {
		b, _ := json.Marshal(vs)
		return fmt.Sprintf("Microsoft.Dynamics.CRM.In(PropertyName='%s',PropertyValues=%s)", col, b)
	}
	for _, c := range []struct {
		set, filter string
		indexed     bool
	}{
		{"contacts", "telephone1 eq 'abc'", true},
		{"contacts", "telephone1 eq 'ABC  '", true},
		{"contacts", "'abc' eq telephone1", true},
		{"contacts", in("telephone1", "abc", "+31 20 555 0001", "nobody"), true},
		{"contacts", "(" + in("telephone1", "abc", "x") + " or " + in("mobilephone", "abc", "x") + " or telephone2 eq 'ABC') and statecode eq 0", true},
		{"contacts", "telephone1 eq 'abc' and mobilephone eq 'x'", true},
		{"contacts", "address1_country eq 'abc'", true},
		{"contacts", "_parentcustomerid_value eq " + strings.ToUpper(accounts[0]), true},
		{"contacts", in("_parentcustomerid_value", accounts[1]) + " and telephone1 ne 'x'", true},
		{"contacts", "telephone1 eq ''", false},
		{"contacts", in("telephone1", "abc", ""), false},
		{"contacts", "telephone1 eq null", false},
		{"contacts", "telephone1 ne 'abc'", false},
		{"contacts", "not (telephone1 eq 'abc')", false},
		{"contacts", "telephone1 eq 'abc' or statecode eq 1", false},
		{"contacts", "startswith(telephone1,'+31')", false},
		{"phonecalls", "phonenumber eq '+31 20 555 0001'", true},
		{"phonecalls", "phonenumber eq 'abc'", true},
		{"phonecalls", "phonenumber eq '+44 20 7946 0000'", true},
		{"phonecalls", in("phonenumber", "abc", "x", "+44 20 7946 0000") + " and actualstart ge 2026-11-01T09:00:00Z and actualstart le 2026-11-01T11:00:00Z", true},
		{"phonecalls", "activityid eq " + callID(18), true},
		{"phonecalls", "actualstart ge 2026-11-01T09:00:00Z", false},
		{"phonecalls", "actualstart ge 2026-11-01T09:30:00Z and actualstart le 2026-11-01T10:15:00Z", true},
		{"phonecalls", "2026-11-01T09:30:00Z le actualstart and 2026-11-01T10:15:00Z gt actualstart and subject eq 'call'", true},
		{"phonecalls", "actualstart gt 2026-11-01T09:30:00Z and actualstart lt 2026-11-01T09:30:00Z", true},
		{"phonecalls", "actualstart eq 2026-11-01T10:00:00Z", true},
		{"phonecalls", "actualstart ge 2026-10-01T00:00:00Z and actualstart le 2026-12-01T00:00:00Z and actualstart ne 2026-11-01T10:00:00Z", true},
		{"phonecalls", "actualstart ge 2026-10-31T08:00:00Z and actualstart le 2026-10-31T08:00:00Z", true},
		{"phonecalls", "actualstart le 2026-11-01T10:00:00Z or actualstart ge 2026-11-01T12:00:00Z", false},
	} {
		want := scanIDs(t, s, c.set, c.filter)
		for _, pageSize := range []int{5000, 7} {
			got, indexed := queryIDs(t, s, c.set, c.filter, pageSize)
			if indexed != c.indexed {
				t.Errorf("%s %s: answered from the indexes %v, want %v", c.set, c.filter, indexed, c.indexed)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s (pages of %d): got %d rows, want %d; first difference at %d", c.set, c.filter, pageSize, len(got), len(want), firstDiff(got, want))
			}
		}
	}
	if got := scanIDs(t, s, "contacts", "telephone1 eq 'abc'"); len(got) < 10 {
		t.Errorf("the data has %d contacts with telephone1 abc; the test needs many", len(got))
	}

	// The indexes kept up to date by the writes hold what indexes built
	// afresh from the rows hold.
	s.mu.Lock()
	for _, set := range []string{"contacts", "phonecalls"} {
		tb := s.tables[set]
		for col, kept := range tb.index {
			delete(tb.index, col)
			fresh := tb.indexFor(col)
			tb.index[col] = kept
			sameIndex(t, set+"."+col, kept, fresh)
		}
		for col, kept := range tb.dates {
			delete(tb.dates, col)
			fresh := tb.datesFor(col)
			tb.dates[col] = kept
			sameIndex(t, set+"."+col, kept, fresh)
		}
	}
	s.mu.Unlock()

	// A secured column the application user cannot read never matches,
	// though its values are in the index.
	s.SecureColumn("contacts", "telephone1")
	if got, _ := queryIDs(t, s, "contacts", "telephone1 eq 'abc'", 5000); len(got) != 0 {
		t.Errorf("secured column: got %v, want none", got)
	}
}

// sameIndex compares an index kept up to date by writes with one built
// afresh: the same keys, each with the same rows.
func sameIndex[K comparable](t *testing.T, name string, kept, fresh map[K][]ref) {
	t.Helper()
	if len(kept) != len(fresh) {
		t.Errorf("%s: %d values indexed, want %d", name, len(kept), len(fresh))
	}
	sorted := func(rs []ref) []ref {
		return slices.SortedFunc(slices.Values(rs), func(a, b ref) int { return strings.Compare(a.id, b.id) })
	}
	for k, rs := range fresh {
		if got := sorted(kept[k]); !slices.Equal(got, sorted(rs)) {
			t.Errorf("%s %v: %d rows indexed, want %d", name, k, len(got), len(rs))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestAddToQueueReusesTheQueueItem: a phone call added to a queue twice
// has one queue item, and adding it to another queue makes another.
func TestAddToQueueReusesTheQueueItem(t *testing.T) {
	s := NewServer(Options{})
	t.Cleanup(s.Close)
	q1, q2 := s.AddQueue(Queue{Name: "one"}), s.AddQueue(Queue{Name: "two"})
	h := http.Header{"Content-Type": {"application/json"}}
	var calls []string
	for i := range 3 {
		id := fmt.Sprintf("0000000a-00bc-4000-8000-%012d", i)
		calls = append(calls, id)
		b, _ := json.Marshal(map[string]any{"activityid": id, "subject": "call"})
		if resp := s.execLocked(apiRequest{method: http.MethodPost, path: "phonecalls", header: h, body: b}); resp.status != http.StatusNoContent {
			t.Fatalf("create: %d %s", resp.status, resp.body)
		}
	}
	add := func(queue, call string) string {
		b, _ := json.Marshal(map[string]any{"Target": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.phonecall", "activityid": call}})
		resp := s.execLocked(apiRequest{method: http.MethodPost, path: "queues(" + queue + ")/Microsoft.Dynamics.CRM.AddToQueue", header: h, body: b})
		if resp.status != http.StatusOK {
			t.Fatalf("AddToQueue: %d %s", resp.status, resp.body)
		}
		var out struct{ QueueItemId string }
		json.Unmarshal(resp.body, &out)
		return out.QueueItemId
	}
	first := add(q1, calls[1])
	add(q1, calls[0])
	if again := add(q1, calls[1]); again != first {
		t.Errorf("added again: queue item %s, want %s", again, first)
	}
	if other := add(q2, calls[1]); other == first {
		t.Errorf("another queue: queue item %s, the first queue's", other)
	}
	if got := s.PhoneCalls()[1].Queues; !slices.Equal(got, []string{q1, q2}) {
		t.Errorf("queues of the call: %v, want %v", got, []string{q1, q2})
	}
}
