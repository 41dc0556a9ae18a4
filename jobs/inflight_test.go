package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// jobsOptions are the options `callsync sync calls` passes: stop when the
// signal context ends.
func jobsOptions(ctx context.Context) jobs.SyncOptions { return jobs.SyncOptions{Stop: ctx.Done()} }

// SIGTERM (the context ends) while a batch is being written: the batch in
// flight is finished and recorded written, no later batch starts, and the
// next run writes the rest once.
func TestStopLetsInFlightBatchFinish(t *testing.T) {
	w := newWorld(t)
	w.syncer.WriteBatch = 5
	w.syncer.WriteConcurrency = 1
	t0 := w.now.Add(-3 * time.Hour)
	for i := range 12 {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, t0.Add(time.Duration(i)*time.Minute), time.Second, 30*time.Second))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.crm.OnWrite(func(crm.Activity) { cancel() }) // the signal arrives during the first write
	sum, err := w.syncer.RunCalls(ctx, w.tenant, jobsOptions(ctx))
	if err == nil {
		t.Error("a stopped run reports no error; want one saying the rest waits")
	}
	if sum.Written != 5 || sum.Failed != 0 {
		t.Errorf("stopped run: %+v, want the in-flight batch of 5 written and nothing failed", sum)
	}
	if n := len(w.ours()); n != 5 {
		t.Errorf("CRM holds %d activities after the stop, want 5", n)
	}
	counts, err := w.store.LedgerCounts(context.Background(), "contoso", "call")
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Written] != 5 || counts[store.Failed] != 0 {
		t.Errorf("ledger after the stop: %v, want 5 written, none failed", counts)
	}

	w.crm.OnWrite(nil)
	w.now = w.now.Add(time.Minute)
	if sum := w.runCalls(context.Background()); sum.Written != 7 {
		t.Errorf("next run: %+v, want the other 7 written", sum)
	}
	if n := len(w.ours()); n != 12 {
		t.Errorf("CRM holds %d activities, want 12", n)
	}
}

// With several batches in flight at the stop, every one finishes and is
// recorded written, none starts after it, and the next run writes the rest:
// each call once.
func TestStopLetsConcurrentBatchesFinish(t *testing.T) {
	w := newWorld(t)
	w.syncer.WriteBatch = 2
	w.syncer.WriteConcurrency = 3
	t0 := w.now.Add(-3 * time.Hour)
	for i := range 20 {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, t0.Add(time.Duration(i)*time.Minute), time.Second, 30*time.Second))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.crm.OnWrite(func(crm.Activity) { cancel() })
	sum, err := w.syncer.RunCalls(ctx, w.tenant, jobsOptions(ctx))
	if err == nil {
		t.Error("a stopped run reports no error; want one saying the rest waits")
	}
	if sum.Written == 0 || sum.Written > 6 || sum.Failed != 0 {
		t.Errorf("stopped run: %+v, want the batches in flight (at most 3 of 2) written and nothing failed", sum)
	}
	counts, err := w.store.LedgerCounts(context.Background(), "contoso", "call")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.ours()); n != sum.Written || counts[store.Written] != n || counts[store.Failed] != 0 {
		t.Errorf("CRM holds %d, ledger %v, summary %d written: want all equal, none failed", n, counts, sum.Written)
	}
	w.crm.OnWrite(nil)
	w.now = w.now.Add(time.Minute)
	if next := w.runCalls(context.Background()); next.Written != 20-sum.Written {
		t.Errorf("next run: %+v, want the other %d written", next, 20-sum.Written)
	}
	if n := len(w.ours()); n != 20 {
		t.Errorf("CRM holds %d activities, want 20", n)
	}
}

// hangingCRM never answers a write until its context ends.
type hangingCRM struct {
	*crmtest.Memory
	onWrite func()
}

func (h hangingCRM) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	h.onWrite()
	<-ctx.Done()
	return nil, ctx.Err()
}

// The in-flight grace has a deadline: a CRM that never answers does not
// keep a stopping process alive; the batch is recorded failed.
func TestStopGraceHasADeadline(t *testing.T) {
	w := newWorld(t)
	w.syncer.WriteGrace = 50 * time.Millisecond
	w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(-time.Hour), time.Second, 30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.tenant = jobs.NewTenant(w.tenant.Config(), w.tenant.Enreach, hangingCRM{Memory: w.crm, onWrite: cancel}, nil)
	done := make(chan jobs.Summary)
	go func() {
		sum, _ := w.syncer.RunCalls(ctx, w.tenant, jobsOptions(ctx))
		done <- sum
	}()
	select {
	case sum := <-done:
		if sum.Failed != 1 {
			t.Errorf("summary %+v, want the hanging write recorded failed", sum)
		}
	case <-time.After(time.Minute):
		t.Fatal("the run did not end after the grace deadline")
	}
}
