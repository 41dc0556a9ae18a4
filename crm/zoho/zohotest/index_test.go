package zohotest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// scanIDs answers a COQL where clause by testing every record, as the
// double did before it had an index.
func scanIDs(t *testing.T, s *Server, module, query string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := parseQuery(query)
	if e != nil {
		t.Fatalf("%s: %v", query, e)
	}
	m := s.modules[module]
	pred, e := s.compile(m, q.where)
	if e != nil {
		t.Fatalf("%s: %v", query, e)
	}
	var out []string
	for _, id := range m.order {
		if pred(id, m.records[id]) {
			out = append(out, id)
		}
	}
	return out
}

// The value index only narrows: after records are added, updated and
// deleted, every query answers the same ids, in the same order, as a scan.
func TestCOQLIndexAnswersAsAScan(t *testing.T) {
	s := NewServer()
	defer s.Close()
	tok := accessTok(t, s)
	var ids []string
	for i := range 40 {
		ids = append(ids, s.AddRecord("Contacts", map[string]any{
			"Last_Name": fmt.Sprintf("N%d", i), "Phone": fmt.Sprintf("040 000 000%d", i%7),
			"Email": fmt.Sprintf("P%d@Example.com", i%5), "Mobile": fmt.Sprintf("050 %d", i%3),
		}))
	}
	queries := []string{
		"select Phone from Contacts where Phone = '040 000 0001'",
		"select Phone from Contacts where Phone in ('040 000 0002','040 000 0003')",
		"select Phone from Contacts where (Phone = '040 000 0004' or Mobile in ('050 1'))",
		"select Phone from Contacts where (Phone in ('040 000 0005','040 000 0006') and Email = 'p1@example.com')",
		"select Phone from Contacts where (Phone = '040 000 0001' or Phone like '%0002')",
		"select Phone from Contacts where (Phone not in ('040 000 0001') and Mobile = '050 2')",
		"select Phone from Contacts where Email in ('P2@EXAMPLE.COM')",
		"select Phone from Contacts where Created_Time in ('2025-01-01T10:00:00+00:00')",
		"select Subject from Calls where Call_Start_Time in ('2025-01-01T12:00:00+02:00','2025-01-01T10:01:00+00:00')",
		"select Subject from Calls where (Call_Start_Time = '2025-01-01T10:02:00+00:00' or Caller_ID = '+3584011')",
		// Ranges (the time index).
		"select Subject from Calls where (Call_Start_Time >= '2025-01-01T10:01:00+00:00' and Call_Start_Time <= '2025-01-01T10:03:25+00:00')",
		"select Subject from Calls where Call_Start_Time > '2025-01-01T10:02:00+00:00'",
		"select Subject from Calls where Call_Start_Time < '2025-01-01T12:02:00+02:00'",
		"select Subject from Calls where Call_Start_Time <= '2025-01-01T10:00:00+00:00'",
		"select Subject from Calls where Call_Start_Time between '2025-01-01T10:01:42+00:00' and '2025-01-01T10:05:00+00:00'",
		"select Subject from Calls where Call_Start_Time not between '2025-01-01T10:01:42+00:00' and '2025-01-01T10:05:00+00:00'",
		"select Subject from Calls where (Call_Start_Time >= '2025-01-01T10:05:00+00:00' and Call_Start_Time <= '2025-01-01T10:01:00+00:00')",
		"select Subject from Calls where ((Caller_ID in ('+3584011','+35840112') or Dialled_Number = '+3584012') and (Call_Start_Time >= '2025-01-01T10:01:00+00:00' and Call_Start_Time <= '2025-01-01T10:06:00+00:00'))",
		"select Subject from Calls where (Call_Start_Time > '2025-01-01T10:01:00+00:00' or Call_Start_Time < '2025-01-01T10:00:30+00:00')",
		"select Subject from Calls where (Modified_Time >= '2000-01-01T00:00:00+00:00' and Call_Start_Time <= '2025-01-01T10:02:00+00:00')",
		"select Phone from Contacts where Created_Time >= '2000-01-01T00:00:00+00:00'",
	}
	check := func(step string) {
		t.Helper()
		for _, q := range queries {
			module := "Contacts"
			if strings.Contains(q, "Calls") {
				module = "Calls"
			}
			want := scanIDs(t, s, module, q)
			code, body := coql(t, s, tok, q+" limit 2000")
			var got []string
			if code == 200 {
				for _, row := range body["data"].([]any) {
					got = append(got, row.(map[string]any)["id"].(string))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s\n got %v\nwant %v", step, q, got, want)
			}
		}
	}
	for i := range 4 {
		s.AddRecord("Calls", map[string]any{"Subject": "s", "Call_Type": "Inbound", "Call_Duration": "01:00",
			"Call_Start_Time": fmt.Sprintf("2025-01-01T10:0%d:00+00:00", i%3), "Caller_ID": fmt.Sprintf("+358401%d", i)})
	}
	// Calls out of time order, some in one second.
	addCalls := func(n, step int) []string {
		var ids []string
		for i := range n {
			sec := (i * step) % 400
			ids = append(ids, s.AddRecord("Calls", map[string]any{"Subject": "s", "Call_Type": "Outbound", "Call_Duration": "00:30",
				"Call_Start_Time": fmt.Sprintf("2025-01-01T10:%02d:%02d+00:00", sec/60, sec%60), "Dialled_Number": fmt.Sprintf("+358401%d", i%4)}))
		}
		return ids
	}
	calls := addCalls(30, 97)
	check("seeded")
	check("again") // the indexes as built by the first check
	addCalls(20, 61)
	check("calls added")
	s.UpdateRecord("Contacts", ids[1], map[string]string{"Phone": "040 000 0002"})
	s.UpdateRecord("Contacts", ids[9], map[string]string{"Mobile": ""})
	s.UpdateRecord("Calls", calls[3], map[string]string{"Subject": "changed"})
	check("updated")
	s.DeleteRecord("Contacts", ids[2])
	s.DeleteRecord("Contacts", ids[30])
	s.DeleteRecord("Calls", calls[5])
	check("deleted")
	for i := range 5 {
		s.AddRecord("Contacts", map[string]any{"Last_Name": fmt.Sprintf("M%d", i), "Phone": "040 000 0001", "Mobile": "050 1"})
	}
	check("added after")
	// An upsert's duplicate check finds a record whose value changed.
	if got := s.find("Contacts", "Phone", "040 000 0002"); got == "" {
		t.Error("duplicate check does not find the updated value")
	}
}

// A range of a datetime field, alone or beside a wider condition, gathers
// only the records inside it (an existing-call check names many numbers
// over a short range: gathering every call of those numbers made the
// double's cost grow with the calls already written).
func TestCOQLTimeRangeIsNarrowed(t *testing.T) {
	s := NewServer()
	defer s.Close()
	var lits []string
	for i := range 100 {
		n := fmt.Sprintf("+35840100%03d", i)
		lits = append(lits, "'"+n+"'")
		s.AddRecord("Calls", map[string]any{"Subject": "s", "Call_Type": "Inbound", "Call_Duration": "01:00",
			"Call_Start_Time": fmt.Sprintf("2025-01-01T%02d:%02d:00+00:00", 8+i/60, i%60), "Caller_ID": n})
	}
	for _, tc := range []struct {
		where string
		want  int
	}{
		{"(Call_Start_Time >= '2025-01-01T08:10:00+00:00' and Call_Start_Time <= '2025-01-01T08:19:00+00:00')", 10},
		{"((Caller_ID in (" + strings.Join(lits, ",") + ")) and (Call_Start_Time >= '2025-01-01T08:10:00+00:00' and Call_Start_Time < '2025-01-01T08:20:00+00:00'))", 10},
		{"Call_Start_Time between '2025-01-01T09:30:00+00:00' and '2025-01-01T12:00:00+00:00'", 10},
		{"Call_Start_Time > '2025-01-01T09:34:00+00:00'", 5},
	} {
		s.mu.Lock()
		q, e := parseQuery("select id from Calls where " + tc.where)
		if e != nil {
			s.mu.Unlock()
			t.Fatalf("%s: %v", tc.where, e)
		}
		ids, ok := s.modules["Calls"].candidates(q.where, s.parseTime)
		s.mu.Unlock()
		if !ok || len(ids) != tc.want {
			t.Errorf("%s: %d candidates (narrowed %v), want the %d in range", tc.where, len(ids), ok, tc.want)
		}
	}
}

func (s *Server) find(module, field, v string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modules[module].find(field, v, "")
}

// mergeTimes merges as a stable sort of the old entries followed by the
// added ones does.
func TestMergeTimes(t *testing.T) {
	secs := [][2][]int64{
		{nil, nil}, {nil, {1, 2}}, {{1, 2}, nil}, {{1, 2}, {3, 4}}, {{3, 4}, {1, 2}},
		{{1, 3, 5}, {2, 4, 6}}, {{1, 1, 2, 2}, {1, 2, 2, 3}}, {{5}, {1, 2, 3, 4, 5, 6}}, {{2, 4}, {1, 1, 5}},
	}
	for _, c := range secs {
		var old, add []timeEntry
		for i, s := range c[0] {
			old = append(old, timeEntry{s, fmt.Sprint("old", i)})
		}
		for i, s := range c[1] {
			add = append(add, timeEntry{s, fmt.Sprint("add", i)})
		}
		want := slices.Concat(old, add)
		slices.SortStableFunc(want, func(a, b timeEntry) int { return int(a.sec - b.sec) })
		for _, spare := range []int{0, len(add)} { // appended in place, or grown
			got := mergeTimes(append(make([]timeEntry, 0, len(old)+spare), old...), add)
			if !slices.Equal(got, want) {
				t.Errorf("mergeTimes(%v, %v) = %v, want %v", old, add, got, want)
			}
		}
	}
}
