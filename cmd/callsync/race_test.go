package main

import (
	"strings"
	"sync"
	"testing"
)

// Split brain: two processes on one PostgreSQL store backfill the same
// calls at the same time (as two replicas would after a lease expired under
// one of them). Each call is in the CRM once: the ledger's primary key and
// the CRM idempotency key (Dynamics activityid, a UUIDv5 of the call's key).
func TestConcurrentBackfillsOnPostgresWriteEachCallOnce(t *testing.T) {
	d := newDoubles(t)
	d.onPostgres(t)
	d.addCalls(40)
	args := []string{"sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"}
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _, errs[i] = run(t, d.env, args...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("backfill %d: %v\n%s", i, err, outs[i])
		}
	}
	if n := len(d.dyn.PhoneCalls()); n != 40 {
		t.Fatalf("%d phone calls in the CRM after two racing backfills, want 40:\n%s\n%s", n, outs[0], outs[1])
	}
	out, _, err := run(t, d.env, args...)
	if err != nil || !strings.Contains(out, "written 0, already written 40") {
		t.Fatalf("the ledger does not hold the 40 calls as written: %v\n%s", err, out)
	}
}
