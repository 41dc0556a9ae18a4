package jobs_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// rowsSaved closes saved once a ledger row of a call starting at or after
// after has been saved. A window's decisions other than its writes are
// saved when it is decided (a write's row only with its result), so the
// tests give the later window a call that is skipped: its row saved means
// the window was decided.
type rowsSaved struct {
	jobs.Store
	after time.Time
	once  sync.Once
	saved chan struct{}
}

func newRowsSaved(st jobs.Store, after time.Time) *rowsSaved {
	return &rowsSaved{Store: st, after: after, saved: make(chan struct{})}
}

func (r *rowsSaved) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	err := r.Store.SaveLedger(ctx, entries, log...)
	for _, e := range entries {
		if err == nil && !e.ItemTime.Before(r.after) {
			r.once.Do(func() { close(r.saved) })
		}
	}
	return err
}

// heldAnswers writes each batch, then holds the answer of the first one
// until release is closed (10 s at most: the test then fails, the next
// window was not decided meanwhile), and calls after, if set, before
// answering it. It records the calls' start times per write, and how many
// writes were asked after stopped was closed.
type heldAnswers struct {
	crm.Client
	t       *testing.T
	release <-chan struct{}
	after   func()
	stopped <-chan struct{}
	wrote   chan struct{} // closed once the first write was made, when set

	mu        sync.Mutex
	first     bool
	lateWrite int
	starts    [][]time.Time
}

func (h *heldAnswers) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	h.mu.Lock()
	first := !h.first
	h.first = true
	if h.stopped != nil {
		select {
		case <-h.stopped:
			h.lateWrite++
		default:
		}
	}
	var st []time.Time
	for _, a := range acts {
		st = append(st, a.Start)
	}
	h.starts = append(h.starts, st)
	h.mu.Unlock()
	res, err := h.Client.WriteActivities(ctx, acts)
	if first {
		if h.wrote != nil {
			close(h.wrote)
		}
		select {
		case <-h.release:
		case <-time.After(10 * time.Second):
			h.t.Errorf("the first window's write was answered without the next window decided meanwhile")
		}
		if h.after != nil {
			h.after()
		}
	}
	return res, err
}

// privateCall is a call of w's alice at at that the rules skip (not_work):
// its ledger row is saved when its window is decided.
func privateCall(w *world, at time.Time) enreach.Call {
	c := enreachtest.DirectCall(w.alice, "+358402222222", false, at, 5*time.Second, time.Minute)
	c.Privacy = enreach.PrivacyPrivate
	return c
}

// A backfill decides the next window, and saves its ledger rows, while the
// last window's writes are in flight: the answer to the first window's
// write waits for the row of the second window's skipped call. Every call
// is written once, and a window's writes start only after the last
// window's results are recorded.
func TestBackfillDecidesTheNextWindowWhileWriting(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.WriteBatch = 1
	customer := "+358401111111"
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute)
	b := enreachtest.DirectCall(w.alice, customer, false, day.Add(90*time.Minute), 5*time.Second, time.Minute)
	w.en.AddCalls(a, b, privateCall(w, day.Add(100*time.Minute)))
	saved := newRowsSaved(w.store, day.Add(time.Hour)) // the first window is an hour
	w.syncer.Store = saved
	held := &heldAnswers{Client: w.tenant.CRM, t: t, release: saved.saved}
	// When the second window's write is asked, the first window's result
	// is in the ledger.
	var bWrittenAfterA bool
	check := &beforeWrite{Client: held, at: b.StartTime, fn: func() {
		rows, err := w.store.Ledger(ctx, w.tenant.Name, jobs.KindCall, []string{strings.ToLower(a.CallID)})
		bWrittenAfterA = err == nil && rows[strings.ToLower(a.CallID)].State == store.Written
	}}
	w.tenant.CRM = check
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 2 || len(w.ours()) != 2 {
		t.Fatalf("written %d (in the CRM %d), want 2", sum.Written, len(w.ours()))
	}
	if !bWrittenAfterA {
		t.Fatal("the second window's write was asked before the first window's result was recorded")
	}
}

// beforeWrite calls fn before writing a batch holding an activity that
// starts at at.
type beforeWrite struct {
	crm.Client
	at time.Time
	fn func()
}

func (b *beforeWrite) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	for _, a := range acts {
		if a.Start.Equal(b.at) {
			b.fn()
		}
	}
	return b.Client.WriteActivities(ctx, acts)
}

// Stopped (SIGINT) while the first window's write is in flight and the
// second window has been decided: the write in flight is answered and
// recorded, no write starts after the stop (neither the first window's
// next batch nor the second window's), the second window's calls are left
// pending with their payloads, and the next backfill writes every call
// once.
func TestBackfillStoppedMidPipelineLosesAndDoublesNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.WriteBatch = 1
	w.syncer.WriteConcurrency = 1
	customer := "+358401111111"
	var starts []time.Time
	for _, at := range []time.Duration{10, 20, 30, 70, 80, 90, 200} { // minutes: windows of 1 h, 2 h, ...
		c := enreachtest.DirectCall(w.alice, customer, false, day.Add(at*time.Minute), 5*time.Second, time.Minute)
		w.en.AddCalls(c)
		starts = append(starts, c.StartTime)
	}
	w.en.AddCalls(privateCall(w, day.Add(100*time.Minute)))
	saved := newRowsSaved(w.store, day.Add(time.Hour))
	w.syncer.Store = saved
	stop := make(chan struct{})
	held := &heldAnswers{Client: w.tenant.CRM, t: t, release: saved.saved, stopped: stop, after: func() { close(stop) }}
	w.tenant.CRM = held
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{Stop: stop}, nil)
	if err == nil {
		t.Error("a stopped backfill reports no error")
	}
	if held.lateWrite != 0 {
		t.Errorf("%d writes asked after the stop (writes %v)", held.lateWrite, held.starts)
	}
	if sum.Written != 1 || len(w.ours()) != 1 {
		t.Fatalf("stopped backfill: written %d, in the CRM %d; want the write in flight only", sum.Written, len(w.ours()))
	}
	pending, err := w.store.LedgerByState(ctx, w.tenant.Name, jobs.KindCall, store.Pending, jobs.MaxAttempts, 100)
	if err != nil {
		t.Fatal(err)
	}
	var decided []time.Time
	for _, e := range pending {
		if len(e.Payload) == 0 {
			t.Errorf("call at %v pending without its payload", e.ItemTime)
		}
		decided = append(decided, e.ItemTime)
	}
	if len(pending) != 5 {
		t.Errorf("pending after the stop: %v, want the first window's other 2 and the second window's 3", decided)
	}

	w.syncer.Store = w.store
	w.tenant.CRM = held.Client
	sum, err = w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.ours()); got != len(starts) || sum.Written != len(starts)-1 || sum.Already != 1 { // ours fails on a double
		t.Fatalf("next backfill: written %d, already %d, in the CRM %d; want %d, 1, %d", sum.Written, sum.Already, got, len(starts)-1, len(starts))
	}
	counts, err := w.store.LedgerCounts(ctx, w.tenant.Name, jobs.KindCall)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Written] != len(starts) || counts[store.Skipped] != 1 || len(counts) != 2 {
		t.Fatalf("ledger %v, want %d written and the private call skipped", counts, len(starts))
	}
}

// keysOfQueries reports an existing activity's key only for the activity
// written for a query's key, as the Dynamics client does (a phonecall holds
// only its activityid, derived from the key). A search for the call with
// key waitFor waits until wrote is closed (10 s at most).
type keysOfQueries struct {
	crm.Client
	waitFor string
	wrote   <-chan struct{}
}

func (k keysOfQueries) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	for _, q := range qs {
		if q.Key == k.waitFor {
			select {
			case <-k.wrote:
			case <-time.After(10 * time.Second):
			}
			break
		}
	}
	found, err := k.Client.FindActivities(ctx, qs)
	for i := range found {
		own := false
		for _, q := range qs {
			own = own || (q.Key != "" && q.Key == found[i].Key)
		}
		if !own {
			found[i].Key = ""
		}
	}
	return found, err
}

// The existing-activity check (call_start_margin) of a window decided
// while the last window's writes are in flight does not take the activity
// just written for a call of that window, whose CRM id the ledger does not
// hold yet, for one logged by a person: two calls of the same caller 10 s
// apart across a window edge are both written.
func TestBackfillMarginKnowsWritesInFlight(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t) // call_start_margin 15 s
	w.syncer.WriteBatch = 1
	customer := "+358401111111"
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(time.Hour-5*time.Second), 5*time.Second, time.Minute)
	b := enreachtest.DirectCall(w.alice, customer, false, day.Add(time.Hour+5*time.Second), 5*time.Second, time.Minute)
	w.en.AddCalls(a, b, privateCall(w, day.Add(time.Hour+30*time.Minute)))
	saved := newRowsSaved(w.store, day.Add(time.Hour))
	w.syncer.Store = saved
	wrote := make(chan struct{})
	w.tenant.CRM = keysOfQueries{Client: &heldAnswers{Client: w.tenant.CRM, t: t, release: saved.saved, wrote: wrote},
		waitFor: crm.Key(w.tenant.Name, crm.KindCall, strings.ToLower(b.CallID)), wrote: wrote}
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.ours()); got != 2 || sum.Written != 2 || sum.Skipped[jobs.ReasonExistingActivity] != 0 {
		t.Fatalf("in the CRM %d, written %d, skipped %v; want both calls written", got, sum.Written, sum.Skipped)
	}
}
