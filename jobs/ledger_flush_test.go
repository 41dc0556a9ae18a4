package jobs_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
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

// flushedWrites is a CRM whose k-th write (counting from 0) waits until
// the ledger has saved k/2 flushes of written rows (saved), so that with
// two batches per flush the slices of a saved flush are given back before
// the next flush's rows are added, and are reused.
type flushedWrites struct {
	crm.Client
	mu     sync.Mutex
	writes int
	saved  func() int
}

func (f *flushedWrites) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	f.mu.Lock()
	k := f.writes
	f.writes++
	f.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for f.saved() < k/2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return f.Client.WriteActivities(ctx, acts)
}

// savesCopier keeps a copy of every row and decision log entry at the
// moment SaveLedger is called with it.
type savesCopier struct {
	*store.Store
	mu    sync.Mutex
	saves [][]store.LedgerEntry
	logs  [][]store.Decision
}

func (c *savesCopier) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	err := c.Store.SaveLedger(ctx, entries, log...)
	rows := make([]store.LedgerEntry, len(entries))
	for i, e := range entries {
		e.Payload = bytes.Clone(e.Payload)
		rows[i] = e
	}
	ds := make([]store.Decision, len(log))
	for i, d := range log {
		d.Detail = bytes.Clone(d.Detail)
		ds[i] = d
	}
	c.mu.Lock()
	c.saves, c.logs = append(c.saves, rows), append(c.logs, ds)
	c.mu.Unlock()
	return err
}

// flushes is the number of saves with written rows so far.
func (c *savesCopier) flushes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, rows := range c.saves {
		if slices.ContainsFunc(rows, func(e store.LedgerEntry) bool { return e.State == store.Written }) {
			n++
		}
	}
	return n
}

// A pass's answered writes are saved each once, with their decision log
// entries in the same transaction, across flushes that reuse the slices of
// the flushes before (giveBack): 95 calls in batches of 10, 8 at once,
// flushes of 20 rows. Every row saved is a call's, written, and no row or
// entry of a flush is one of another's (a slice given back before its save
// ended, or not cleared, would show as a missing, doubled or empty row).
func TestLedgerFlushesSaveEachRowOnceWithItsDecision(t *testing.T) {
	w := newWorld(t)
	const calls = 95
	want := map[string]bool{}
	for i := 0; i < calls; i++ {
		c := enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute)
		w.en.AddCalls(c)
		want[strings.ToLower(c.CallID)] = true
	}
	copier := &savesCopier{Store: w.store}
	w.syncer.Store = copier
	w.tenant.CRM = &flushedWrites{Client: w.tenant.CRM, saved: copier.flushes}
	w.syncer.Decisions = w.store
	w.syncer.WriteBatch = 10
	w.syncer.WriteConcurrency = 4
	w.syncer.LedgerFlushRows = 20
	w.runCalls(context.Background())

	rowsSeen := map[string]int{}
	logSeen := map[string]int{}
	flushes := 0
	for i, rows := range copier.saves {
		inSave := map[string]bool{}
		for _, e := range rows {
			if e.EnreachID == "" {
				t.Fatalf("save %d: an empty row", i)
			}
			if e.State != store.Written || !want[e.EnreachID] || e.CRMID == "" {
				continue // the decisions' rows saved before the CRM is asked
			}
			rowsSeen[e.EnreachID]++
			inSave[e.EnreachID] = true
		}
		if len(inSave) > 0 {
			flushes++
		}
		for _, d := range copier.logs[i] {
			if d.EnreachID == "" {
				t.Fatalf("save %d: an empty decision log entry", i)
			}
			if d.State != store.Written {
				continue
			}
			logSeen[d.EnreachID]++
			if !inSave[d.EnreachID] || d.CRMID == "" || len(d.Detail) == 0 {
				t.Errorf("save %d: written entry %+v without its row in the same save", i, d)
			}
		}
	}
	for id := range want {
		if rowsSeen[id] != 1 || logSeen[id] != 1 {
			t.Errorf("call %s: written row saved %d times, its entry %d times; want once each", id, rowsSeen[id], logSeen[id])
		}
	}
	if len(rowsSeen) != calls || flushes < 5 {
		t.Errorf("%d calls' written rows in %d saves; want %d in at least 5 (flushes of 20)", len(rowsSeen), flushes, calls)
	}
	if n := len(w.ours()); n != calls {
		t.Fatalf("%d written in the CRM, want %d", n, calls)
	}
}
