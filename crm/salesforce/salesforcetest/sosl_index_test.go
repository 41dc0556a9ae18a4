package salesforcetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// scanSearch answers a SOSL search by testing every record of each
// object, as the double did before it had a phone index.
func scanSearch(t *testing.T, s *Server, q string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sq, err := s.parseSOSL(q)
	if err != nil {
		t.Fatalf("%s: %s", q, err.msg)
	}
	out := []string{}
	if sq.tooLong {
		return out
	}
	groups := make([][]string, len(sq.groups))
	for i, g := range sq.groups {
		for _, term := range g {
			groups[i] = append(groups[i], digits(term))
		}
	}
	for _, so := range sq.objects {
		var phones []*field
		for _, f := range so.obj.fields {
			if f.typ == FieldPhone && !f.hidden {
				phones = append(phones, f)
			}
		}
		for _, rec := range s.records[so.obj.name] {
			if len(out) >= sq.limit {
				break
			}
			var stored []string
			for _, f := range phones {
				if v, ok := rec[f.name].(string); ok {
					if d := digits(v); d != "" {
						stored = append(stored, d)
					}
				}
			}
			if len(stored) > 0 && matchGroups(groups, stored) {
				out = append(out, rec["Id"].(string))
			}
		}
	}
	return out
}

// indexSearch answers q as a request does.
func indexSearch(t *testing.T, s *Server, q string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	code, ans := s.search("62.0", q)
	if code != 200 {
		t.Fatalf("%s: %d %v", q, code, ans)
	}
	b, _ := json.Marshal(ans)
	var res struct {
		SearchRecords []struct {
			ID string `json:"Id"`
		} `json:"searchRecords"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, r := range res.SearchRecords {
		out = append(out, r.ID)
	}
	return out
}

// The phone index only narrows: after contacts and leads are added,
// updated, deleted, a phone field hidden and one added, every search
// answers the same records, in the same order, as a scan.
func TestSOSLIndexAnswersAsAScan(t *testing.T) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	phones := []any{"+358 40 100 2543", "040-1002543", "1002543", "+358401002544", "12345", "(0)12345", "abc", "", 12345,
		"+46 8 123 456 78", "0812345678", "+358 9 100 2543"}
	var contacts []string
	for i := range 36 {
		f := map[string]any{"LastName": "C"}
		f[[]string{"Phone", "MobilePhone", "HomePhone"}[i%3]] = phones[i%len(phones)]
		if i%4 == 0 {
			f["OtherPhone"] = phones[(i+5)%len(phones)]
		}
		contacts = append(contacts, s.Add("Contact", f))
	}
	for i := range 12 {
		s.Add("Lead", map[string]any{"LastName": "L", "Company": "Co", "MobilePhone": phones[(i+3)%len(phones)]})
	}
	searches := []string{
		"FIND {\\+358401002543} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id)",
		"FIND {1002543} IN PHONE FIELDS RETURNING Contact(Id)",
		"FIND {12345} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id)",
		"FIND {0401002543 OR 12345 OR 0812345678} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id)",
		"FIND {0401002543 12345} IN PHONE FIELDS RETURNING Contact(Id)",
		"FIND {ab OR 1002543} IN PHONE FIELDS RETURNING Lead(Id), Contact(Id)",
		"FIND {\\+358401002543 OR 12345} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id) LIMIT 5",
		"FIND {2543} IN PHONE FIELDS RETURNING Contact(Id)",
	}
	check := func(when string) {
		t.Helper()
		for _, q := range searches {
			want, got := scanSearch(t, s, q), indexSearch(t, s, q)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s:\n got %v\nwant %v", when, q, got, want)
			}
		}
	}
	check("seeded")
	for i, id := range contacts {
		switch i % 6 {
		case 1:
			s.Update(id, map[string]any{"Phone": phones[(i+1)%len(phones)]})
		case 2:
			s.Update(id, map[string]any{"MobilePhone": nil})
		case 3:
			s.Delete(id)
		}
	}
	s.Add("Contact", map[string]any{"LastName": "new", "Phone": "+358401002543"})
	check("after updates and deletes")
	s.HideField("Contact", "MobilePhone")
	check("MobilePhone hidden")
	s.ShowField("Contact", "MobilePhone")
	s.DefineField("Contact", "Work_Phone__c", FieldPhone)
	s.Update(contacts[0], map[string]any{"Work_Phone__c": "+358 40 100 2543"})
	searches = append(searches, "FIND {\\+358401002543} IN PHONE FIELDS RETURNING Contact(Id, Work_Phone__c)")
	check("custom phone field")
	if got := indexSearch(t, s, searches[0]); len(got) < 3 {
		t.Errorf("the first search finds %d records; the test wants several", len(got))
	}
}

// BenchmarkSOSLSearch is a backfill's search for unknown numbers: 50
// numbers ORed among 5,000 contacts.
func BenchmarkSOSLSearch(b *testing.B) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	for i := range 5000 {
		s.Add("Contact", map[string]any{"LastName": "C", "Phone": fmt.Sprintf("+358 40 %07d", 1000000+i*13)})
	}
	var terms []string
	for i := range 50 {
		terms = append(terms, fmt.Sprintf("\\+35840%07d", 1000000+i*97))
	}
	q := "FIND {" + strings.Join(terms, " OR ") + "} IN PHONE FIELDS RETURNING Contact(Id, Phone)"
	b.ReportAllocs()
	for b.Loop() {
		s.mu.Lock()
		code, _ := s.search("62.0", q)
		s.mu.Unlock()
		if code != 200 {
			b.Fatal(code)
		}
	}
}
