package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
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
// is written once. (A window's writes no longer wait for the last
// window's results to be recorded: TestBackfillSendsTheNextWindowWhileTheLastIsInFlight.)
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
	w.tenant.CRM = &heldAnswers{Client: w.tenant.CRM, t: t, release: saved.saved}
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 2 || len(w.ours()) != 2 {
		t.Fatalf("written %d (in the CRM %d), want 2", sum.Written, len(w.ours()))
	}
}

// gatedWrites runs the gate of an activity's start, if it has one, before
// writing a batch holding that activity; a gate's error fails the batch
// unwritten. asked(at) is closed once a batch holding an activity starting
// at at was asked, anyAsked once the first of those was. It records the starts of the activities of every batch
// asked after failed was closed (when set).
type gatedWrites struct {
	crm.Client
	gates    map[time.Time]func() error
	asks     map[time.Time]chan struct{}
	anyAsked chan struct{}
	failed   chan struct{}

	mu    sync.Mutex
	once  map[time.Time]bool
	after []time.Time
}

func newGatedWrites(c crm.Client, at ...time.Time) *gatedWrites {
	g := &gatedWrites{Client: c, gates: map[time.Time]func() error{}, asks: map[time.Time]chan struct{}{}, anyAsked: make(chan struct{}), once: map[time.Time]bool{}}
	for _, t := range at {
		g.asks[t] = make(chan struct{})
	}
	return g
}

func (g *gatedWrites) asked(at time.Time) <-chan struct{} { return g.asks[at] }

func (g *gatedWrites) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	var gates []func() error
	g.mu.Lock()
	if g.failed != nil {
		select {
		case <-g.failed:
			for _, a := range acts {
				g.after = append(g.after, a.Start)
			}
		default:
		}
	}
	for _, a := range acts {
		if ch, ok := g.asks[a.Start]; ok && !g.once[a.Start] {
			if len(g.once) == 0 {
				close(g.anyAsked)
			}
			g.once[a.Start] = true
			close(ch)
		}
		if gate, ok := g.gates[a.Start]; ok {
			gates = append(gates, gate)
		}
	}
	g.mu.Unlock()
	for _, gate := range gates {
		if err := gate(); err != nil {
			return nil, err
		}
	}
	return g.Client.WriteActivities(ctx, acts)
}

// waitOr waits for ch for at most d and reports whether it was closed.
func waitOr(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// The write slots stay full across windows: a window's batches are sent
// as soon as it is decided, while the last window's final batch is still
// in flight (the first window's only write is answered once the second
// window's write was asked; before, the second window's writes waited for
// the first window's to be recorded). Every call is written once.
func TestBackfillSendsTheNextWindowWhileTheLastIsInFlight(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.WriteBatch = 1
	w.syncer.WriteConcurrency = 2
	customer := "+358401111111"
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute) // the first window (1 h)
	b := enreachtest.DirectCall(w.alice, customer, false, day.Add(90*time.Minute), 5*time.Second, time.Minute) // the second
	w.en.AddCalls(a, b)
	g := newGatedWrites(w.tenant.CRM, b.StartTime)
	g.gates[a.StartTime] = func() error {
		if !waitOr(g.asked(b.StartTime), 10*time.Second) {
			t.Error("the second window's write was not asked while the first window's was in flight")
		}
		return nil
	}
	w.tenant.CRM = g
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 2 || len(w.ours()) != 2 { // ours fails on a double
		t.Fatalf("written %d (in the CRM %d), want 2", sum.Written, len(w.ours()))
	}
}

// decidedCheck runs check when a ledger row of a call starting at or after
// after is first saved (a window's decisions are saved when it is decided),
// and then closes saved.
type decidedCheck struct {
	jobs.Store
	after time.Time
	check func()
	once  sync.Once
	saved chan struct{}
}

func (d *decidedCheck) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	for _, e := range entries {
		if !e.ItemTime.Before(d.after) {
			d.once.Do(func() { d.check(); close(d.saved) })
		}
	}
	return d.Store.SaveLedger(ctx, entries, log...)
}

// A backfill decides a window only once the writes of all but the last
// two windows are recorded: while the first window's write is in flight
// the second and third windows are decided and their writes sent, but the
// fourth is not decided (at most two windows' writes in flight while the
// next is decided, and its decisions know every write not recorded: the
// last two windows' and the carry). The first window's write is held
// until the second's and third's were asked, then until the fourth window
// is decided or half a second passed; the fourth window's decisions then
// find the first window's call recorded.
func TestBackfillDecidesOnceAllButTheLastTwoWindowsAreRecorded(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.WriteBatch = 1
	customer := "+358401111111"
	// Windows of 1 h, 2 h, 4 h and 8 h.
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute)
	b := enreachtest.DirectCall(w.alice, customer, false, day.Add(90*time.Minute), 5*time.Second, time.Minute)
	c := enreachtest.DirectCall(w.alice, customer, false, day.Add(200*time.Minute), 5*time.Second, time.Minute)
	d := enreachtest.DirectCall(w.alice, customer, false, day.Add(480*time.Minute), 5*time.Second, time.Minute)
	w.en.AddCalls(a, b, c, d, privateCall(w, day.Add(490*time.Minute)))
	aID := strings.ToLower(a.CallID)
	var aRecorded bool
	fourth := &decidedCheck{Store: w.store, after: day.Add(7 * time.Hour), saved: make(chan struct{}), check: func() {
		rows, err := w.store.Ledger(ctx, w.tenant.Name, jobs.KindCall, []string{aID})
		aRecorded = err == nil && rows[aID].State == store.Written
	}}
	w.syncer.Store = fourth
	g := newGatedWrites(w.tenant.CRM, b.StartTime, c.StartTime)
	g.gates[a.StartTime] = func() error {
		for _, at := range []time.Time{b.StartTime, c.StartTime} {
			if !waitOr(g.asked(at), 10*time.Second) {
				t.Errorf("the write of the call at %v was not asked while the first window's was in flight", at)
			}
		}
		waitOr(fourth.saved, 500*time.Millisecond)
		return nil
	}
	w.tenant.CRM = g
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !aRecorded {
		t.Error("the fourth window was decided before the first window's write was recorded")
	}
	if sum.Written != 4 || len(w.ours()) != 4 {
		t.Fatalf("written %d (in the CRM %d), want 4", sum.Written, len(w.ours()))
	}
}

// rowSaved closes saved once the ledger row of call id (lower case) was
// saved in state.
type rowSaved struct {
	jobs.Store
	id    string
	state store.LedgerState
	once  sync.Once
	saved chan struct{}
}

func (r *rowSaved) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	err := r.Store.SaveLedger(ctx, entries, log...)
	for _, e := range entries {
		if err == nil && e.EnreachID == r.id && e.State == r.state {
			r.once.Do(func() { close(r.saved) })
		}
	}
	return err
}

// When a batch fails while the next window's batches are in flight, no
// batch starts after it, in either window: the batch in flight is answered
// and recorded, the next window's batch not sent is kept pending with its
// payload, the failed call is recorded failed with its payload, and the
// backfill reports the CRM's error (not the next window's writes stopping
// for it). The next backfill writes every call once.
func TestBackfillWriteFailureStopsTheNextWindowsWrites(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.WriteBatch = 1
	w.syncer.WriteConcurrency = 2
	customer := "+358401111111"
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute)  // the first window
	b1 := enreachtest.DirectCall(w.alice, customer, false, day.Add(70*time.Minute), 5*time.Second, time.Minute) // the second
	b2 := enreachtest.DirectCall(w.alice, customer, false, day.Add(80*time.Minute), 5*time.Second, time.Minute)
	w.en.AddCalls(a, b1, b2)
	aID := strings.ToLower(a.CallID)
	aFailed := &rowSaved{Store: w.store, id: aID, state: store.Failed, saved: make(chan struct{})}
	w.syncer.Store = aFailed
	g := newGatedWrites(w.tenant.CRM, b1.StartTime, b2.StartTime)
	g.failed = make(chan struct{})
	// The second window's first batch (of b1 or b2) is answered once a's
	// failure is recorded (its slot is then free for the other batch,
	// which must not be sent).
	for _, b := range []time.Time{b1.StartTime, b2.StartTime} {
		g.gates[b] = func() error {
			if !waitOr(aFailed.saved, 10*time.Second) {
				t.Error("the first window's failed write was not recorded")
			}
			return nil
		}
	}
	g.gates[a.StartTime] = func() error {
		if !waitOr(g.anyAsked, 10*time.Second) {
			t.Error("the second window's write was not asked while the first window's was in flight")
		}
		close(g.failed)
		return errors.New("the CRM is down")
	}
	w.tenant.CRM = g
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "the CRM is down") || strings.Contains(err.Error(), "another window") {
		t.Fatalf("backfill error %v, want the CRM's only", err)
	}
	if len(g.after) != 0 {
		t.Errorf("writes of calls starting %v asked after the failure", g.after)
	}
	if sum.Written != 1 || sum.Failed != 1 || len(w.ours()) != 1 {
		t.Fatalf("written %d, failed %d, in the CRM %d; want one of the second window's written, a failed", sum.Written, sum.Failed, len(w.ours()))
	}
	states := map[store.LedgerState]int{}
	for _, id := range []string{a.CallID, b1.CallID, b2.CallID} {
		r, _, err := w.store.LedgerItem(ctx, w.tenant.Name, jobs.KindCall, strings.ToLower(id))
		if err != nil {
			t.Fatal(err)
		}
		states[r.State]++
		if id == a.CallID && r.State != store.Failed {
			t.Errorf("the failed call: %s, want failed", r.State)
		}
		if r.State != store.Written && !payloadWithRecords(r.Payload) {
			t.Errorf("call %s %s without its payload and Enreach records: %.80q", id, r.State, r.Payload)
		}
	}
	if states[store.Failed] != 1 || states[store.Written] != 1 || states[store.Pending] != 1 {
		t.Errorf("ledger states %v, want a failed, one of the second window's written and the other pending", states)
	}

	w.tenant.CRM, w.syncer.Store = g.Client, w.store
	w.backfillAgain(t, 2, 1)
}

// pipelineWorld is a world whose backfill writes batches of batch calls in
// slots write slots, with a call from one customer to Alice at each of the
// minutes after day.
func pipelineWorld(t *testing.T, batch, slots int, minutes ...time.Duration) (*world, []enreach.Call) {
	w := newWorld(t)
	w.syncer.WriteBatch = batch
	w.syncer.WriteConcurrency = slots
	var calls []enreach.Call
	for _, at := range minutes {
		c := enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(at*time.Minute), 5*time.Second, time.Minute)
		w.en.AddCalls(c)
		calls = append(calls, c)
	}
	return w, calls
}

// Stopped (SIGINT) while the first window's write is in flight and the
// second window has been decided: the write in flight is answered and
// recorded, no write starts after the stop (neither the first window's
// next batch nor the second window's), the second window's calls are left
// pending with their payloads, and the next backfill writes every call
// once.
func TestBackfillStoppedMidPipelineLosesAndDoublesNothing(t *testing.T) {
	ctx := context.Background()
	w, calls := pipelineWorld(t, 1, 1, 10, 20, 30, 70, 80, 90, 200) // minutes: windows of 1 h, 2 h, ...
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
		if !payloadWithRecords(e.Payload) {
			t.Errorf("call at %v pending without its payload and Enreach records: %.80q", e.ItemTime, e.Payload)
		}
		decided = append(decided, e.ItemTime)
	}
	// With two windows' writes in flight, a third window (the call at
	// 200 minutes) may be decided before the loop sees the stop; nothing
	// after it is.
	third := day.Add(200 * time.Minute)
	want := map[time.Time]bool{}
	for _, c := range calls[1:6] {
		want[c.StartTime] = true
	}
	got := map[time.Time]bool{}
	for _, at := range decided {
		got[at] = true
	}
	for at := range want {
		if !got[at] {
			t.Errorf("call at %v not pending after the stop (pending %v)", at, decided)
		}
	}
	for at := range got {
		if !want[at] && !at.Equal(third) {
			t.Errorf("call at %v pending after the stop, want the first window's other 2, the second window's 3 and at most the third's (pending %v)", at, decided)
		}
	}

	w.syncer.Store = w.store
	w.tenant.CRM = held.Client
	w.backfillAgain(t, len(calls)-1, 1)
	counts, err := w.store.LedgerCounts(ctx, w.tenant.Name, jobs.KindCall)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.Written] != len(calls) || counts[store.Skipped] != 1 || len(counts) != 2 {
		t.Fatalf("ledger %v, want %d written and the private call skipped", counts, len(calls))
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

// With two windows' writes in flight, the existing-activity check of the
// window decided next knows the writes of both, not only the last
// window's: three calls of one caller 4 s apart, a window each (a window
// holds one call), the first's activity written but its answer held until
// the third call is recorded; the third call's check (call_start_margin
// 15 s) finds the first call's activity and must not take it for one
// logged by a person. All three are written.
func TestBackfillMarginKnowsTheWritesOfBothWindowsInFlight(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t) // call_start_margin 15 s
	w.syncer.WriteBatch = 1
	w.syncer.BackfillWindowCalls = 1
	customer := "+358401111111"
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute)
	b := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute+4*time.Second), 5*time.Second, time.Minute)
	c := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute+8*time.Second), 5*time.Second, time.Minute)
	w.en.AddCalls(a, b, c)
	cID := strings.ToLower(c.CallID)
	recorded := &rowSaved{Store: w.store, id: cID, state: store.Written, saved: make(chan struct{})}
	w.syncer.Store = recorded
	wrote := make(chan struct{})
	w.tenant.CRM = keysOfQueries{Client: &heldAnswers{Client: w.tenant.CRM, t: t, release: recorded.saved, wrote: wrote},
		waitFor: crm.Key(w.tenant.Name, crm.KindCall, cID), wrote: wrote}
	// A short range: after the calls, windows stay as short as their
	// density made them.
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(15*time.Minute), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.ours()); got != 3 || sum.Written != 3 || sum.Skipped[jobs.ReasonExistingActivity] != 0 {
		t.Fatalf("in the CRM %d, written %d, skipped %v; want the three calls written", got, sum.Written, sum.Skipped)
	}
}

// decidedAfterRead holds the first save of a ledger row of a call starting
// before before (a window's decisions are saved when it is decided) until
// a listing starting at or after before was asked (10 s at most: the test
// then fails).
type decidedAfterRead struct {
	jobs.Store
	t      *testing.T
	read   *windowsRead
	before time.Time
	once   sync.Once
}

func (d *decidedAfterRead) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	for _, e := range entries {
		if e.ItemTime.Before(d.before) {
			d.once.Do(func() {
				deadline := time.After(10 * time.Second)
				for !d.read.askedAfter(d.before.Add(-time.Second)) {
					select {
					case <-d.read.seen:
					case <-deadline:
						d.t.Errorf("deciding the first window: the next window's calls were not asked meanwhile")
						return
					}
				}
			})
		}
	}
	return d.Store.SaveLedger(ctx, entries, log...)
}

// A backfill reads the next window while it decides the one it holds (the
// next window's bounds need only this one's density): the first window's
// decisions are saved once the next window's listing was asked. Before,
// the next window was read only once this one's writes had started.
func TestBackfillReadsTheNextWindowWhileDeciding(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	customer := "+358401111111"
	w.en.AddCalls(privateCall(w, day.Add(10*time.Minute))) // the first window (1 h): skipped, saved when decided
	w.en.AddCalls(enreachtest.DirectCall(w.alice, customer, false, day.Add(5*time.Hour), 5*time.Second, time.Minute))
	read := &windowsRead{Enreach: w.tenant.Enreach, seen: make(chan struct{}, 1)}
	w.tenant.Enreach = read
	w.syncer.Store = &decidedAfterRead{Store: w.store, t: t, read: read, before: day.Add(time.Hour)}
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 1 || len(w.ours()) != 1 || sum.SkippedTotal() != 1 {
		t.Fatalf("written %d (in the CRM %d), skipped %v; want 1 and the private call", sum.Written, len(w.ours()), sum.Skipped)
	}
}

// A window's progress is reported once its writes are recorded, in window
// order, though a later window's writes are answered first: the first
// window's only write is answered once the second window's write was
// recorded. At each report, every call starting before it is recorded
// written.
func TestBackfillReportsProgressInWindowOrder(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.WriteBatch = 1
	w.syncer.WriteConcurrency = 2
	customer := "+358401111111"
	a := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute) // the first window (1 h)
	b := enreachtest.DirectCall(w.alice, customer, false, day.Add(90*time.Minute), 5*time.Second, time.Minute) // the second
	w.en.AddCalls(a, b)
	bWritten := &rowSaved{Store: w.store, id: strings.ToLower(b.CallID), state: store.Written, saved: make(chan struct{})}
	w.syncer.Store = bWritten
	g := newGatedWrites(w.tenant.CRM)
	g.gates[a.StartTime] = func() error {
		if !waitOr(bWritten.saved, 10*time.Second) {
			t.Error("the second window's write was not recorded while the first window's was in flight")
		}
		return nil
	}
	w.tenant.CRM = g
	starts := map[string]time.Time{strings.ToLower(a.CallID): a.StartTime, strings.ToLower(b.CallID): b.StartTime}
	var last time.Duration
	reports := 0
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, func(done, total time.Duration, s jobs.Summary) {
		reports++
		if done <= last {
			t.Errorf("progress %v reported after %v", done, last)
		}
		last = done
		var ids []string
		for id, at := range starts {
			if at.Before(day.Add(done)) {
				ids = append(ids, id)
			}
		}
		rows, err := w.store.Ledger(ctx, w.tenant.Name, jobs.KindCall, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if rows[id].State != store.Written {
				t.Errorf("progress %v reported with the call at %v %q", done, starts[id].Sub(day), rows[id].State)
			}
		}
		if s.Written != len(ids) {
			t.Errorf("progress %v reported with %d written, want %d", done, s.Written, len(ids))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if reports == 0 || last != 24*time.Hour {
		t.Errorf("progress ended at %v after %d reports, want the whole day", last, reports)
	}
	if sum.Written != 2 || len(w.ours()) != 2 {
		t.Fatalf("written %d (in the CRM %d), want 2", sum.Written, len(w.ours()))
	}
}

// After a failed batch no batch starts, not even the writes held back to
// fill the next batch (the carry), which are kept pending with their
// payloads: of the first window's three calls, the batch of two fails
// while the second window's batch (the third call and the second window's
// first) is in flight, held until the failure is recorded (the windows
// after it are decided meanwhile: two windows' writes may be in flight);
// the second window's other call, the carry, is not sent. The next
// backfill writes every call once.
func TestBackfillWriteFailureKeepsTheCarryPending(t *testing.T) {
	ctx := context.Background()
	w, calls := pipelineWorld(t, 2, 2, 10, 20, 30, 70, 80) // minutes: the first window (1 h) and the second
	firstFailed := &rowSaved{Store: w.store, id: strings.ToLower(calls[0].CallID), state: store.Failed, saved: make(chan struct{})}
	w.syncer.Store = firstFailed
	g := newGatedWrites(w.tenant.CRM, calls[3].StartTime)
	g.failed = make(chan struct{})
	g.gates[calls[0].StartTime] = func() error {
		if !waitOr(g.anyAsked, 10*time.Second) {
			t.Error("the second window's batch was not asked while the first window's was in flight")
		}
		close(g.failed)
		return errors.New("the CRM is down")
	}
	g.gates[calls[3].StartTime] = func() error {
		if !waitOr(firstFailed.saved, 10*time.Second) {
			t.Error("the first window's failed batch was not recorded")
		}
		return nil
	}
	w.tenant.CRM = g
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "the CRM is down") {
		t.Fatalf("backfill error %v, want the CRM's", err)
	}
	if len(g.after) != 0 {
		t.Errorf("writes of calls starting %v asked after the failure", g.after)
	}
	if sum.Written != 2 || sum.Failed != 2 || len(w.ours()) != 2 {
		t.Fatalf("written %d, failed %d, in the CRM %d; want 2, 2, 2", sum.Written, sum.Failed, len(w.ours()))
	}
	want := []store.LedgerState{store.Failed, store.Failed, store.Written, store.Written, store.Pending}
	for i, c := range calls {
		r, _, err := w.store.LedgerItem(ctx, w.tenant.Name, jobs.KindCall, strings.ToLower(c.CallID))
		if err != nil {
			t.Fatal(err)
		}
		if r.State != want[i] {
			t.Errorf("the call at %v: %q, want %q", c.StartTime.Sub(day), r.State, want[i])
		}
		if r.State != store.Written && len(r.Payload) == 0 {
			t.Errorf("the call at %v %q without its payload", c.StartTime.Sub(day), r.State)
		}
	}

	w.tenant.CRM, w.syncer.Store = g.Client, w.store
	w.backfillAgain(t, 3, 2)
}

// A window's batches take the write slots only once the last window has
// handed out all of its, so the last window is recorded first (the next
// window is decided once it is): with one slot, the first window's three
// batches are sent before the second window's, though the second window
// was decided, and its batches waiting, while the first window's first
// batch was in flight (held until then, and a fifth of a second more for
// the waiting to begin).
func TestBackfillSendsAWindowsBatchesBeforeTheNextWindows(t *testing.T) {
	ctx := context.Background()
	w, calls := pipelineWorld(t, 1, 1, 10, 20, 30, 70, 80) // minutes: the first window (1 h) and the second
	w.en.AddCalls(privateCall(w, day.Add(100*time.Minute)))
	saved := newRowsSaved(w.store, day.Add(time.Hour))
	w.syncer.Store = saved
	held := &heldAnswers{Client: w.tenant.CRM, t: t, release: saved.saved, after: func() { time.Sleep(200 * time.Millisecond) }}
	w.tenant.CRM = held
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != len(calls) || len(w.ours()) != len(calls) {
		t.Fatalf("written %d (in the CRM %d), want %d", sum.Written, len(w.ours()), len(calls))
	}
	var order []time.Duration
	for _, st := range held.starts {
		for _, at := range st {
			order = append(order, at.Sub(day))
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Fatalf("writes asked in the order %v, want the first window's before the second's", order)
		}
	}
}

// lookupAfterFind is a CRM client whose caller lookups (matching) wait
// until an existing-activity search was asked (10 s at most: the test then
// fails).
type lookupAfterFind struct {
	crm.Client
	t     *testing.T
	once  sync.Once
	asked chan struct{}
}

func (l *lookupAfterFind) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	l.once.Do(func() { close(l.asked) })
	return l.Client.FindActivities(ctx, qs)
}

func (l *lookupAfterFind) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	if !waitOr(l.asked, 10*time.Second) {
		l.t.Error("the callers were looked up before the existing activities were asked")
	}
	return l.Client.Lookup(ctx, req)
}

// A pass whose directory sync did not find the existing activities asks
// for them while its callers are matched (the search needs the calls'
// numbers only), not after: the callers' lookup waits for the search. The
// search still applies call_start_margin: of two calls of the same caller,
// the one 5 s from an activity a person logged is not written, the other
// is.
func TestExistingActivitiesAskedWhileMatching(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	customer := "+358401111111"
	near := enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute)
	far := enreachtest.DirectCall(w.alice, customer, false, day.Add(2*time.Hour), 5*time.Second, time.Minute)
	w.en.AddCalls(near, far)
	w.crm.AddManualCall(customer, near.StartTime.Add(5*time.Second), time.Minute)
	c := &lookupAfterFind{Client: w.crm, t: t, asked: make(chan struct{})}
	w.tenant = jobs.NewTenant(w.tenant.Config(), w.tenant.Enreach, c, nil)
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 1 || sum.Skipped[jobs.ReasonExistingActivity] != 1 || len(w.ours()) != 1 {
		t.Fatalf("written %d, skipped %v, in the CRM %d; want the far call written, the near one existing", sum.Written, sum.Skipped, len(w.ours()))
	}
}

// backfillAgain runs the day's backfill again and fails unless it wrote
// written calls, found already written already, and the CRM holds both
// (each once: ours fails on a double).
func (w *world) backfillAgain(t *testing.T, written, already int) {
	t.Helper()
	sum, err := w.syncer.Backfill(context.Background(), w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.ours()); got != written+already || sum.Written != written || sum.Already != already {
		t.Fatalf("next backfill: written %d, already %d, in the CRM %d; want %d, %d, %d", sum.Written, sum.Already, got, written, already, written+already)
	}
}

// payloadWithRecords reports whether a ledger payload is a call with its
// Enreach records (the audit text of a write retried from it).
func payloadWithRecords(payload []byte) bool {
	var c jobs.Call
	return json.Unmarshal(payload, &c) == nil && c.ID != "" && len(c.Raw) > 0
}
