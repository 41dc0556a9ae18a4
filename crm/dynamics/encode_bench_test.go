package dynamics

import (
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// BenchmarkActivityEncode is the per-call cost of a phone call's $batch
// changeset, its body built in an object kept from call to call as a
// write's are (`go test -bench ActivityEncode ./crm/dynamics`).
func BenchmarkActivityEncode(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	a := crm.Activity{
		Key: "bench/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
		Number: "+358401234567", DialledNumber: "+358201234567", Direction: crm.Inbound,
		Subject: "Incoming queue call", Description: "CallId is 0f6b2c1e\nIncoming queue call, answered\nCustomer: +358401234567",
		Start: start, End: start.Add(3 * time.Minute), Duration: 3 * time.Minute, Answered: true,
		OwnerID: "6f1c1d7e-3b0a-4b8e-9a51-1f0d7c2e9a01", UserID: "6f1c1d7e-3b0a-4b8e-9a51-1f0d7c2e9a01",
		Regarding: &crm.Ref{Entity: crm.Contact, ID: "2a7d4c61-8e0b-4f3a-b9d2-5c6e7f809a1b"},
		Audit:     `{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f","ANum":"+358401234567","BNum":"+358201234567"}`,
	}
	w := writeOpts{auditColumn: "new_audit", auditMax: 4000, body: new(jsonw.Object)}
	b.ReportAllocs()
	for b.Loop() {
		ops, err := activityOps("9b2f5d3c-1a4e-5b6f-8c7d-0e1f2a3b4c5d", a, w)
		if err != nil || len(ops) != 2 {
			b.Fatal(err, len(ops))
		}
	}
}
