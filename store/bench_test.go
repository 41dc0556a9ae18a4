package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// benchStore opens a SQLite store in a temporary folder for a benchmark,
// closed when the benchmark ends.
func benchStore(ctx context.Context, b *testing.B) *store.Store {
	b.Helper()
	s, err := store.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// ledgerBenchStore opens a store in a temporary folder for the ledger
// benchmarks, closed when the benchmark ends, and returns it with a call's
// ~1 KB payload and a call time.
func ledgerBenchStore(b *testing.B) (*store.Store, []byte, time.Time) {
	b.Helper()
	s := benchStore(context.Background(), b)
	payload := []byte(`{"id":"x","anum":"+358401234567","bnum":"+358201234567","raw":[` + strings.Repeat(`{"k":"v"},`, 90) + `{}]}`)
	return s, payload, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
}

// BenchmarkSaveLedger is one write batch of the calls job recorded in the
// ledger: 200 rows with their ~1 KB payloads, saved as pending before the
// CRM write and again as written after it (`go test -bench SaveLedger ./store`).
// Reported per row.
func BenchmarkSaveLedger(b *testing.B) {
	ctx := context.Background()
	s, payload, at := ledgerBenchStore(b)
	const batch = 200
	rows := make([]store.LedgerEntry, batch)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range rows {
			id := fmt.Sprintf("call-%09d", n*batch+i)
			rows[i] = store.LedgerEntry{Tenant: "bench", Kind: "call", EnreachID: id, Key: "bench/call/" + id,
				State: store.Pending, ItemTime: at, Number: "+358401234567", Payload: payload}
		}
		if err := s.SaveLedger(ctx, rows); err != nil {
			b.Fatal(err)
		}
		for i := range rows {
			rows[i].State, rows[i].CRMID, rows[i].Attempts, rows[i].Payload = store.Written, "crm-"+rows[i].EnreachID, 1, nil
		}
		if err := s.SaveLedger(ctx, rows); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
}
