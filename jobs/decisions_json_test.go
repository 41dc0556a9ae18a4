package jobs

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/callsync/callsync/crm"
)

// detailCases are decision log details of every shape a backfill records
// (written, existing activity, unresolved with several records, failed),
// empty fields and text that json.Marshal escapes.
func detailCases() []Detail {
	chosen := &crm.Ref{Entity: crm.Contact, ID: "8a1c2b3d-0000-4000-8000-000000000001"}
	odd := []string{"", "a", `quote " backslash \ slash /`, "<b>&amp;</b>", "line\nbreak\r\ttab\x00\x1f\x7f",
		"\u2028\u2029", "Åsa Öberg 😀", "bad \xff\xfe utf-8", "+358401234567"}
	ds := []Detail{
		{},
		{Number: "+358401234567", Matched: []crm.Ref{*chosen}, MatchedBy: "directory", Chosen: chosen,
			Why: "the only record with this number", Owner: "u-1", UserParty: "u-1", Attempt: 1, Answer: "created"},
		{Number: "+358401234567", Matched: []crm.Ref{{Entity: crm.Contact, ID: "c1"}, {Entity: crm.Account, ID: "a1"}, {Entity: crm.Lead, ID: "l1"}},
			MatchedBy: "crm", Why: "3 records and no rule picks one: not written, so never the wrong record"},
		{Matched: []crm.Ref{}, Chosen: &crm.Ref{}, Attempt: -3},
		{Number: "+358501234567", MatchedBy: "cache", Why: "no record has this number", Unmapped: "u-9", Attempt: 12, Answer: "write failed: 503"},
	}
	for i, s := range odd {
		t := odd[(i+3)%len(odd)]
		ds = append(ds, Detail{Number: s, Matched: []crm.Ref{{Entity: crm.Entity(t), ID: s}}, MatchedBy: t,
			Chosen: &crm.Ref{Entity: crm.Entity(s), ID: t}, Why: s, Owner: t, UserParty: s, Unmapped: t, Attempt: i, Answer: s})
	}
	return ds
}

func checkDetailJSON(t *testing.T, d Detail) {
	t.Helper()
	want, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON(%+v) =\n%s\njson.Marshal\n%s", d, got, want)
	}
	// Appended after what the buffer holds, leaving it as it was.
	if got := d.appendJSON([]byte("x")); !bytes.Equal(got, append([]byte("x"), want...)) {
		t.Fatalf("appendJSON after x = %s", got)
	}
}

func TestDetailJSONIsMarshal(t *testing.T) {
	for _, d := range detailCases() {
		checkDetailJSON(t, d)
	}
}

func FuzzDetailJSON(f *testing.F) {
	for _, d := range detailCases() {
		var entity, id string
		if len(d.Matched) > 0 {
			entity, id = string(d.Matched[0].Entity), d.Matched[0].ID
		}
		f.Add(d.Number, entity, id, d.MatchedBy, d.Why, d.Owner, d.Answer, d.Attempt, len(d.Matched), d.Chosen != nil)
	}
	f.Fuzz(func(t *testing.T, number, entity, id, by, why, owner, answer string, attempt, matched int, chosen bool) {
		d := Detail{Number: number, MatchedBy: by, Why: why, Owner: owner, UserParty: id, Unmapped: entity, Attempt: attempt, Answer: answer}
		for i := range matched % 4 {
			d.Matched = append(d.Matched, crm.Ref{Entity: crm.Entity(entity), ID: id[:len(id)*i/3]})
		}
		if chosen {
			d.Chosen = &crm.Ref{Entity: crm.Entity(why), ID: owner}
		}
		checkDetailJSON(t, d)
	})
}

// BenchmarkDetailJSON is a written call's decision log detail
// (`go test -bench DetailJSON ./jobs`), as decision builds it.
func BenchmarkDetailJSON(b *testing.B) {
	d := detailCases()[1]
	b.ReportAllocs()
	for b.Loop() {
		if len(d.appendJSON(make([]byte, 0, d.jsonSize()))) == 0 {
			b.Fatal("empty")
		}
	}
}

// BenchmarkDetailMarshal is BenchmarkDetailJSON through json.Marshal, as
// the decision log detail was built before.
func BenchmarkDetailMarshal(b *testing.B) {
	d := detailCases()[1]
	b.ReportAllocs()
	for b.Loop() {
		if out, err := json.Marshal(&d); err != nil || len(out) == 0 {
			b.Fatal(err)
		}
	}
}
