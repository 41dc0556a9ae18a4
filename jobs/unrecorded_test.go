package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// resultsLost is a store that loses every write's result: the process dies
// after the CRM answered and before the ledger recorded it.
type resultsLost struct {
	jobs.Store
}

func (r resultsLost) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	for _, e := range entries {
		if e.State == store.Written {
			return errors.New("killed before the result was recorded")
		}
	}
	return r.Store.SaveLedger(ctx, entries, log...)
}

// A write's row is saved only with its result. When the CRM wrote the
// calls and their results were never recorded, the calls job's watermark
// does not move past their window, and the next run reads them again and
// writes them with the same idempotency keys: each call is in the CRM once
// and recorded written.
func TestWritesWhoseResultsWereLostAreNotDoubled(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const calls = 12
	for i := range calls {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute))
	}
	w.syncer.WriteBatch = 5
	w.syncer.Store = resultsLost{w.store}
	if _, err := w.syncer.RunCalls(ctx, w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("a run whose results were not recorded reported success")
	}
	if n := len(w.ours()); n != calls {
		t.Fatalf("CRM holds %d activities, want all %d written before the results were lost", n, calls)
	}
	if wm, ok, _ := w.store.Watermark(ctx, "contoso", jobs.StreamCalls); ok && wm.After(day) {
		t.Fatalf("watermark moved to %v past the window whose results were lost", wm)
	}
	counts, err := w.store.LedgerCounts(ctx, "contoso", "call")
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Written] != 0 {
		t.Fatalf("ledger %v: written rows although every result was lost", counts)
	}

	w.syncer.Store = w.store
	w.now = w.now.Add(time.Minute)
	sum := w.runCalls(ctx)
	if n := len(w.ours()); n != calls || sum.Written != calls { // ours fails on a double
		t.Fatalf("next run: %+v, CRM holds %d; want each of the %d calls written once", sum, n, calls)
	}
	if counts, err = w.store.LedgerCounts(ctx, "contoso", "call"); err != nil || counts[store.Written] != calls {
		t.Fatalf("ledger %v (%v), want %d written", counts, err, calls)
	}
}
