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

// markStore records the watermark writes of a run and can fail the
// retry pass's ledger reads.
type markStore struct {
	*store.Store
	setWatermark int
	finished     []store.Run
	failRetry    bool
}

func (m *markStore) SetWatermark(ctx context.Context, tenant, stream string, pos time.Time) error {
	m.setWatermark++
	return m.Store.SetWatermark(ctx, tenant, stream, pos)
}

func (m *markStore) FinishRun(ctx context.Context, r store.Run) error {
	m.finished = append(m.finished, r)
	return m.Store.FinishRun(ctx, r)
}

func (m *markStore) HasLedgerInStates(ctx context.Context, tenant, kind string, states []store.LedgerState, maxAttempts int) (bool, error) {
	if m.failRetry {
		return false, errors.New("ledger unavailable")
	}
	return m.Store.HasLedgerInStates(ctx, tenant, kind, states, maxAttempts)
}

func (m *markStore) LedgerByState(ctx context.Context, tenant, kind string, state store.LedgerState, maxAttempts, limit int) ([]store.LedgerEntry, error) {
	if m.failRetry {
		return nil, errors.New("ledger unavailable")
	}
	return m.Store.LedgerByState(ctx, tenant, kind, state, maxAttempts, limit)
}

// A steady calls run (one chunk) stores its watermark with the run's end,
// in one transaction, not in a statement of its own: on SQLite each commit
// is a synced WAL write.
func TestCallsRunStoresItsWatermarkWithItsEnd(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	ms := &markStore{Store: w.store}
	w.syncer.Store = ms
	w.runCalls(ctx) // the first run reads back execution_interval in chunks
	w.now = w.now.Add(time.Minute)
	w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(-30*time.Second), time.Second, 10*time.Second))
	ms.setWatermark, ms.finished = 0, nil
	if sum := w.runCalls(ctx); sum.Written != 1 {
		t.Fatalf("run %+v, want the call written", sum)
	}
	now := w.now.Truncate(time.Second)
	if ms.setWatermark != 0 || len(ms.finished) != 1 || ms.finished[0].Stream != jobs.StreamCalls || !ms.finished[0].Position.Equal(now) {
		t.Fatalf("%d watermark statements, runs finished %+v; want none, and the run's end with calls at %s", ms.setWatermark, ms.finished, now)
	}
	if wm, ok, err := w.store.Watermark(ctx, "contoso", jobs.StreamCalls); err != nil || !ok || !wm.Equal(now) {
		t.Fatalf("watermark %s (%v, %v), want %s", wm, ok, err, now)
	}
}

// A run whose retry pass fails after its window was processed still moves
// the watermark (as when it was stored before the retry), with the run
// recorded as failed.
func TestCallsRunMovesItsWatermarkWhenTheRetryFails(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	ms := &markStore{Store: w.store}
	w.syncer.Store = ms
	w.runCalls(ctx)
	w.now = w.now.Add(time.Minute)
	ms.failRetry = true
	if _, err := w.syncer.RunCalls(ctx, w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("a run whose retry failed reported success")
	}
	now := w.now.Truncate(time.Second)
	if wm, ok, err := w.store.Watermark(ctx, "contoso", jobs.StreamCalls); err != nil || !ok || !wm.Equal(now) {
		t.Fatalf("watermark %s (%v, %v), want %s", wm, ok, err, now)
	}
	runs, err := w.store.LastRuns(ctx, "contoso")
	if err != nil || len(runs) != 1 || runs[0].Status != "error" {
		t.Fatalf("last runs %+v (%v), want the calls run failed", runs, err)
	}
}
