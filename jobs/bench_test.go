package jobs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// BenchmarkDecide is the per-call cost of deciding a matched call: the
// activity with subject, description and audit text
// (`go test -bench Decide ./jobs`).
func BenchmarkDecide(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	c := Call{ID: "0F6B2C1E-9F7A-4F6E-8D52-1B2A3C4D5E6F", Queue: true, Answered: true,
		ANum: "+358401234567", BNum: "+358201234567", UserID: "u1", UserName: "Aino Agent",
		QueueID: "q1", QueueName: "Support", QueueNumber: "+358201234567",
		Start: start, End: start.Add(3 * time.Minute), Duration: 180, Privacy: "Work",
		Raw: []json.RawMessage{json.RawMessage(`{"CallId": "0F6B2C1E-9F7A-4F6E-8D52-1B2A3C4D5E6F", "ANum": "+358401234567", "BNum": "+358201234567", "Duration": 180}`)}}
	recs := []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"telephone1": "+358401234567"}}}
	s := settings()
	b.ReportAllocs()
	for b.Loop() {
		d := Decide("bench", c, "+358401234567", recs, Owners{User: "crm-u1", Default: "crm-u0"}, s)
		if d.Activity.Regarding == nil {
			b.Fatal("not linked")
		}
	}
}
