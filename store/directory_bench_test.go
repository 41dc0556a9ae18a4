//go:build unix

package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// BenchmarkDirectoryLookup is a Smart Routing caller's read of the phone
// directory on SQLite: one number of a tenant's 5,500 contacts (one phone
// field each, as the routing bench's directory holds), a different number
// each time, with a context that can end as a request's does, as process
// CPU per read (cpu-us/op; `go test -run '^$' -bench DirectoryLookup
// -benchtime 20000x ./store`).
func BenchmarkDirectoryLookup(b *testing.B) {
	const records = 5500
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := benchStore(ctx, b)
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	recs := make([]store.DirectoryRecord, records)
	for i := range recs {
		id := fmt.Sprintf("%08x-0000-0000-0000-%012x", i, i)
		recs[i] = store.DirectoryRecord{ID: id, Numbers: []store.DirectoryNumber{{Entity: "contact", RecordID: id,
			Field: "mobilephone", E164: benchE164(i), Raw: benchE164(i), Region: "FI", OwnerID: fmt.Sprintf("owner-%d", i%50), Modified: now}}}
	}
	if err := s.ReplaceDirectoryRecords(ctx, "bench", "contact", 1, recs, now); err != nil {
		b.Fatal(err)
	}
	numbers := make([][]string, records)
	for i := range numbers {
		numbers[i] = []string{benchE164(i)}
	}
	b.ReportAllocs()
	n, c0 := 0, cputime.Self()
	for b.Loop() {
		got, err := s.DirectoryLookup(ctx, "bench", numbers[n%records])
		if err != nil || len(got) != 1 {
			b.Fatalf("lookup %d: %v %v", n, got, err)
		}
		n++
	}
	b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
}

func benchE164(i int) string { return fmt.Sprintf("+35850%07d", i) }
