package store

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkLedgerByStateEmpty is what a jobs retry pass asks of the store
// per tenant and state when it has nothing to retry: an empty
// LedgerByState, with a context that can end, as a job's does
// (`go test -run '^$' -bench LedgerByStateEmpty -benchtime 20000x ./store`).
func BenchmarkLedgerByStateEmpty(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.LedgerByState(ctx, "t", "call", Failed, 5, 5000); err != nil {
			b.Fatal(err)
		}
	}
}
