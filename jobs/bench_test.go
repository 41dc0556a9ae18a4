package jobs

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/enreach"
)

// BenchmarkDecide is the per-call cost of deciding a matched call: the
// activity with subject, description and audit text, for a CRM with an
// audit field and one without (AuditSettings)
// (`go test -bench Decide ./jobs`).
func BenchmarkDecide(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	c := Call{ID: "0F6B2C1E-9F7A-4F6E-8D52-1B2A3C4D5E6F", Queue: true, Answered: true,
		ANum: "+358401234567", BNum: "+358201234567", UserID: "u1", UserName: "Aino Agent",
		QueueID: "q1", QueueName: "Support", QueueNumber: "+358201234567",
		Start: start, End: start.Add(3 * time.Minute), Duration: 180, Privacy: "Work",
		Raw: []json.RawMessage{json.RawMessage(`{"CallId": "0F6B2C1E-9F7A-4F6E-8D52-1B2A3C4D5E6F", "ANum": "+358401234567", "BNum": "+358201234567", "Duration": 180}`)}}
	recs := []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"telephone1": "+358401234567"}}}
	for _, bb := range []struct {
		name string
		crm  *dynamics.Config
	}{
		{"audit_field", &dynamics.Config{AuditField: "new_enreachapiaudit"}},
		{"no_audit_field", &dynamics.Config{}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s := AuditSettings(settings(), config.CRM{Type: "dynamics", Options: config.NewCRMOptions(bb.crm)})
			b.ReportAllocs()
			for b.Loop() {
				d := Decide("bench", c, "+358401234567", recs, Owners{User: "crm-u1", Default: "crm-u0"}, s)
				if d.Activity.Regarding == nil {
					b.Fatal("not linked")
				}
			}
		})
	}
}

// BenchmarkWindowMerge is the cost of taking one backfill window's calls
// from the records held: 1,000 direct calls and 300 queue calls (service
// call and agent leg) over 10 minutes and the records of the 15-minute
// margins on both sides, which are merged only to be left out
// (`go test -bench WindowMerge ./jobs`).
func BenchmarkWindowMerge(b *testing.B) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var h heldRecords
	id := 0
	add := func(at time.Time) {
		id++
		cid := fmt.Sprintf("0F6B2C1E-9F7A-4F6E-8D52-%012d", id)
		raw := json.RawMessage(fmt.Sprintf(`{"CallId":%q,"ANum":"+358401234567","BNum":"+358201234567","Duration":180}`, cid))
		if id%4 == 0 {
			h.scs = append(h.scs, enreach.ServiceCall{CallID: cid, QueueName: "Support", StartTime: at, Duration: 60, Raw: raw})
			at = at.Add(20 * time.Second)
		}
		h.calls = append(h.calls, enreach.Call{CallID: cid, UserID: "u1", ANum: "+358401234567", BNum: "+358201234567", StartTime: at, Duration: 40, Raw: raw})
	}
	for at := t0.Add(-BackfillCallSpan); at.Before(t0.Add(10*time.Minute + BackfillCallSpan)); at = at.Add(600 * time.Millisecond) {
		add(at)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := h.window(t0, t0.Add(10*time.Minute), t0.Add(10*time.Minute+BackfillCallSpan)); len(r.calls) != 1000 {
			b.Fatal(len(r.calls))
		}
	}
}
