package jobs_test

import (
	"context"
	"strings"
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

func (c *savesCounter) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	c.mu.Lock()
	c.saves = append(c.saves, len(entries))
	c.mu.Unlock()
	return c.Store.SaveLedger(ctx, entries, log...)
}

// Answered writes are recorded together across write batches: one ledger
// transaction per LedgerFlushRows rows, not one per batch. A write's row is
// saved once, with its result, without the payload (nothing retries a
// written call); the decisions saved before the CRM is asked hold no
// writes.
func TestLedgerRecordsWritesAcrossBatches(t *testing.T) {
	w := newWorld(t)
	const calls = 50
	var ids []string
	for i := 0; i < calls; i++ {
		c := enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute)
		w.en.AddCalls(c)
		ids = append(ids, strings.ToLower(c.CallID))
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
	total := 0
	for _, n := range counter.saves {
		if n > 0 {
			batches = append(batches, n)
			total += n
		}
	}
	// 50 answers in groups of >= 20: at most 3 transactions (one per batch
	// would be 5), each row once.
	if len(batches) > 3 || total != calls {
		t.Errorf("ledger saves %v: %d transactions, %d rows for %d calls in batches of 10; want at most 3, each call's row once", batches, len(batches), total, calls)
	}
	counts, err := w.store.LedgerCounts(context.Background(), "contoso", "call")
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Written] != calls {
		t.Errorf("ledger %v, want %d written", counts, calls)
	}
	for _, id := range ids {
		row, ok, err := w.store.LedgerItem(context.Background(), "contoso", "call", id)
		if err != nil || !ok || row.State != store.Written || len(row.Payload) != 0 {
			t.Fatalf("call %s: %+v (found %v, %v), want written without a payload", id, row, ok, err)
		}
	}
}
