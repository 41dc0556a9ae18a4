//go:build unix

package store_test

import (
	"context"
	"testing"

	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// BenchmarkRetryReadEmpty is what a calls run's retry pass asks of the
// store when it has nothing to retry (a steady run's usual case), with a
// context that can end as a job's does: a read of each state (failed,
// pending: LedgerByState twice, as before) against one probe for both
// (HasLedgerInStates), as process CPU per pass (cpu-us/op;
// `go test -run '^$' -bench RetryReadEmpty -benchtime 20000x ./store`).
func BenchmarkRetryReadEmpty(b *testing.B) {
	states := []store.LedgerState{store.Failed, store.Pending}
	for _, name := range []string{"read-each", "probe"} {
		b.Run(name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := benchStore(ctx, b)
			b.ReportAllocs()
			n, c0 := 0, cputime.Self()
			for b.Loop() {
				if name == "probe" {
					if some, err := s.HasLedgerInStates(ctx, "t", "call", states, 10); err != nil || some {
						b.Fatal(some, err)
					}
				} else {
					for _, st := range states {
						if rows, err := s.LedgerByState(ctx, "t", "call", st, 10, 5000); err != nil || len(rows) > 0 {
							b.Fatal(len(rows), err)
						}
					}
				}
				n++
			}
			b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
		})
	}
}
