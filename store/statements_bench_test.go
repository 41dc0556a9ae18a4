//go:build unix

package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// SaveLedger's statement per row on SQLite, measured as process CPU per call
// (a pending row with its ~1 KB payload, then its written row, each batch
// of 200 in one transaction, random call ids as Enreach's UUIDs are;
// `go test -bench LedgerShape -benchtime 200x ./store`). Before the
// payloads had a table of their own (migration 16), a multi-row VALUES
// statement per 50 rows and one INSERT ... SELECT FROM json_each(?) per
// batch were measured beside it and did not cost less: SQLite's cost is the
// pages each row touches (B-tree inserts into the indexes at random keys,
// WAL frames, checkpoints), not the statement.

func benchShape(b *testing.B, save func(b *testing.B, s *store.Store, rows []store.LedgerEntry)) {
	s, payload, at := ledgerBenchStore(b)
	const batch = 200
	rows := make([]store.LedgerEntry, batch)
	n := 0
	c0 := cputime.Self()
	for b.Loop() {
		for i := range rows {
			id := fmt.Sprintf("%08x-9f7a-4f6e-8d52-1b2a3c4d5e6f", uint32((n*batch+i)*2654435761))
			rows[i] = store.LedgerEntry{Tenant: "bench", Kind: "call", EnreachID: id, Key: "bench/call/" + id,
				State: store.Pending, ItemTime: at, Number: "+358401234567", Payload: payload}
		}
		save(b, s, rows)
		for i := range rows {
			rows[i].State, rows[i].CRMID, rows[i].Attempts, rows[i].Payload = store.Written, "crm-"+rows[i].EnreachID, 1, nil
		}
		save(b, s, rows)
		n++
	}
	b.ReportMetric(float64((cputime.Self()-c0).Nanoseconds())/float64(b.N*batch), "cpu-ns/call")
	var written int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM ledger l JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.state = 'written' AND l.crm_id LIKE 'crm-%' AND length(p.payload) > 900`).Scan(&written); err != nil || written != b.N*batch {
		b.Fatalf("%d written rows with payload, want %d (%v)", written, b.N*batch, err)
	}
}

func BenchmarkLedgerShapePerRow(b *testing.B) {
	benchShape(b, func(b *testing.B, s *store.Store, rows []store.LedgerEntry) {
		if err := s.SaveLedger(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	})
}
