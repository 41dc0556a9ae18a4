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
	c := &Client{cfg: Config{CallIDField: "Enreach_Call_Id"}, loc: time.UTC}
	b.Run("calls", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(c.appendCallRecord(nil, a, now, callsShape{callIDField: "Enreach_Call_Id"})) == 0 {
				b.Fatal("empty record")
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
		recs[i] = refCallFields(a, "", start.Add(time.Hour), time.UTC)
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

// BenchmarkCallsBody builds and encodes the body of an insert of 100 Calls
// records as the client does (callsBody, "append") and as it did before
// (refCallRecord's maps and marshalBody, "map"), with call_id_field,
// Telephony_External_ID__s and audit_field written (`go test -bench
// CallsBody ./crm/zoho`).
func BenchmarkCallsBody(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	acts := make([]crm.Activity, 100)
	chunk := make([]int, len(acts))
	contact := &crm.Ref{Entity: crm.Contact, ID: "4150868000000624001"}
	for i := range acts {
		acts[i] = crm.Activity{
			Key: "bench/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
			Number: "+358401234567", DialledNumber: "+358201234567", Direction: crm.Inbound,
			Description: "Incoming queue call, answered\nCustomer: +358401234567", QueueName: "Support",
			Start: start.Add(time.Duration(i) * time.Second), Duration: 3 * time.Minute, Answered: i%4 != 0,
			OwnerID: "4150868000000225013", Regarding: contact,
			Audit: `{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f","QueueName":"Support"}`,
		}
		chunk[i] = i
	}
	rw := crm.FieldInfo{Type: "text", MaxLength: 255, Creatable: true, Updatable: true}
	s := crm.Schema{Fields: map[string]crm.FieldInfo{fTelephonyID: rw, "Enreach_Audit": {Type: "textarea", MaxLength: 32000, Creatable: true, Updatable: true}}}
	c := &Client{cfg: Config{CallIDField: "Enreach_Call_Id", AuditField: "Enreach_Audit"}, loc: time.UTC}
	now := start.Add(time.Hour)
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalBody(c.callsBody(acts, chunk, now, c.callsShape(s, true))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recs := make([]map[string]any, len(chunk))
			for k, i := range chunk {
				recs[k] = refCallRecord(c, acts[i], now, s, true)
			}
			if _, err := marshalBody(map[string]any{"data": recs, "trigger": []string{}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
