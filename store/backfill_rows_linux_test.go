package store_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// BenchmarkLedgerBackfillRowByRow is BenchmarkLedgerBackfill's windows
// saved by two SQLite stores in turn, one with the multi-row statements
// and one with a statement per row (store.SaveRowByRow), each window's
// turn started by each store in turn: the CPU the two spend is measured
// under the same load, which on a shared machine varies more between two
// runs than the difference between the two. Reported per call: the CPU
// time of the thread the store's calls ran on (getrusage(2)'s
// RUSAGE_THREAD: user and system time, the SQLite work and its system
// calls included, the Go runtime's background work not), of each store,
// and the percentage the multi-row statements saved.
func BenchmarkLedgerBackfillRowByRow(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx := context.Background()
	var stores [2]*store.Store // multi-row, row by row
	for i := range stores {
		s, err := store.Open(ctx, filepath.Join(b.TempDir(), "t.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	store.SaveRowByRow(stores[1])
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var cpu [2]time.Duration
	n := 0
	for b.Loop() {
		w := newBackfillWindow(r, at, n, false)
		for k := range 2 {
			i := (n + k) % 2
			c0 := threadCPU(b)
			w.save(ctx, b, stores[i], false)
			cpu[i] += threadCPU(b) - c0
		}
		n++
	}
	calls := float64(b.N * backfillWindowCalls)
	b.ReportMetric(float64(cpu[0].Nanoseconds())/calls, "rows-ns/call")
	b.ReportMetric(float64(cpu[1].Nanoseconds())/calls, "row-by-row-ns/call")
	b.ReportMetric(100*float64(cpu[1]-cpu[0])/float64(cpu[1]), "saved-%")
}

// threadCPU is the user and system CPU time of the calling thread
// (getrusage(2) with RUSAGE_THREAD, 1 on Linux).
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
