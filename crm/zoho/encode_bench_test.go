package zoho

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// BenchmarkActivityEncode is the per-call cost of a Calls record and of a
// custom-module record (`go test -bench ActivityEncode ./crm/zoho`).
func BenchmarkActivityEncode(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	a := crm.Activity{
		Key: "bench/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
		Number: "+358401234567", DialledNumber: "+358201234567", Direction: crm.Inbound,
		Subject: "Incoming queue call", Description: "CallId is 0f6b2c1e\nIncoming queue call, answered\nCustomer: +358401234567",
		Start: start, End: start.Add(3 * time.Minute), Duration: 3 * time.Minute, Answered: true,
		OwnerID:   "4150868000000225013",
		Regarding: &crm.Ref{Entity: crm.Contact, ID: "4150868000000624001"},
		Related:   []crm.Ref{{Entity: crm.Contact, ID: "4150868000000624001"}},
	}
	now := start.Add(time.Hour)
	b.Run("calls", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(callRecord(a, "Enreach_Call_Id", now, time.UTC)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("custom", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(customRecord(a, time.UTC)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInsertBody encodes an insert of 100 Calls records as the client
// sends it, with marshalBody and with json.Marshal (`go test -bench
// InsertBody ./crm/zoho`).
func BenchmarkInsertBody(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	recs := make([]map[string]any, 100)
	for i := range recs {
		a := crm.Activity{
			Key: "bench/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
			Number: "+358401234567", DialledNumber: "+358201234567", Direction: crm.Inbound,
			Description: "Incoming queue call, answered\nCustomer: +358401234567",
			Start:       start.Add(time.Duration(i) * time.Second), Duration: 3 * time.Minute, Answered: true,
			OwnerID: "4150868000000225013", Regarding: &crm.Ref{Entity: crm.Contact, ID: "4150868000000624001"},
		}
		recs[i] = callRecord(a, "", start.Add(time.Hour), time.UTC)
	}
	body := map[string]any{"data": recs, "trigger": []string{}}
	for _, impl := range []struct {
		name    string
		marshal func(any) ([]byte, error)
	}{{"append", marshalBody}, {"marshal", json.Marshal}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.marshal(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
