package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/store"
)

// savesCounter counts the ledger transactions a pass makes.
type savesCounter struct {
	*store.Store
	mu    sync.Mutex
	saves []int // rows per SaveLedger
}

func (c *savesCounter) SaveLedger(ctx context.Context, entries []store.LedgerEntry) error {
	c.mu.Lock()
	c.saves = append(c.saves, len(entries))
	c.mu.Unlock()
	return c.Store.SaveLedger(ctx, entries)
}

// Answered writes are recorded together across write batches: one ledger
// transaction per LedgerFlushRows rows (plus the one recording the decisions
// before the CRM is asked), not one per batch.
func TestLedgerRecordsWritesAcrossBatches(t *testing.T) {
	w := newWorld(t)
	const calls = 50
	for i := 0; i < calls; i++ {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute))
	}
	counter := &savesCounter{Store: w.store}
	w.syncer.Store = counter
	w.syncer.WriteBatch = 10
	w.syncer.LedgerFlushRows = 20
	w.runCalls(context.Background())

	if n := len(w.ours()); n != calls {
		t.Fatalf("%d written, want %d", n, calls)
	}
	var batches []int
	for _, n := range counter.saves {
		if n > 0 {
			batches = append(batches, n)
		}
	}
	// 1 save of the 50 decisions, then 50 answers in groups of >= 20: at
	// most 3 transactions (one per batch would be 5).
	if len(batches) > 4 {
		t.Errorf("ledger saves %v: %d transactions for %d calls in batches of 10, want at most 4", batches, len(batches), calls)
	}
	total := 0
	for _, n := range batches[1:] {
		total += n
	}
	if total != calls {
		t.Errorf("answers recorded %d rows, want %d (saves %v)", total, calls, batches)
	}
	counts, err := w.store.LedgerCounts(context.Background(), "contoso", "call")
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Written] != calls {
		t.Errorf("ledger %v, want %d written", counts, calls)
	}
}
