package jobs_test

import (
	"context"
	"errors"
	"github.com/callsync/callsync/store"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
)

// A backfill reads its range in windows bounded by a number of calls: over
// a range with quiet hours, a dense minute (one call every second, so window
// edges fall exactly on call starts) and one second holding more calls than
// the cap, every processed window holds at most the cap (one second, the
// API's precision, excepted), the windows tile the range, and every call is
// seen once and written once.
func TestBackfillWindowsBoundedByCalls(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const limit = 5
	w.syncer.BackfillWindowCalls = limit
	want, unknown := seedWindows(w, limit)

	type win struct {
		from, to time.Duration
		seen     int
	}
	var wins []win
	var last jobs.Summary
	var at time.Duration
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, func(done, total time.Duration, s jobs.Summary) {
		wins = append(wins, win{at, done, s.Seen - last.Seen})
		at, last = done, s
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) == 0 || at != 24*time.Hour {
		t.Fatalf("progress ended at %v after %d windows, want the whole day", at, len(wins))
	}
	for _, x := range wins {
		if x.to <= x.from {
			t.Fatalf("window %v..%v is empty or goes back", x.from, x.to)
		}
		if x.seen > limit && x.to-x.from > time.Second {
			t.Errorf("window %v..%v held %d calls, more than the cap %d", x.from, x.to, x.seen, limit)
		}
	}
	if got := len(w.ours()); got != want { // ours fails on an activity written twice
		t.Fatalf("%d activities written, want %d (windows: %v)", got, want, wins)
	}
	// A queue call's agent leg starts after its service call, often in the
	// next window: the call is still seen (and decided) once.
	if sum.Written != want || sum.Seen != want+unknown || sum.Unresolved != unknown {
		t.Fatalf("summary: seen %d, written %d, unresolved %d; want %d, %d, %d", sum.Seen, sum.Written, sum.Unresolved, want+unknown, want, unknown)
	}
	// Run again: every call is recognised from the ledger, none is written.
	before := len(w.crm.Written())
	sum, err = w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.crm.Written()); n != before || sum.Written != 0 {
		t.Fatalf("the repeated backfill wrote %d (summary %d)", n-before, sum.Written)
	}
}

// seedWindows adds a day for windows of at most limit calls: quiet hours,
// a dense minute (one call every second, so window edges fall exactly on
// call starts) with queue calls whose agent leg starts after the service
// call, and one second holding more calls than the cap. It returns the
// calls to be written and the unknown callers' calls (unresolved).
func seedWindows(w *world, limit int) (want, unknown int) {
	customer := "+358401111111"
	add := func(at time.Time) {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, customer, false, at, 5*time.Second, time.Minute))
		want++
	}
	for h := 0; h < 24; h += 3 { // quiet: one call every three hours
		add(day.Add(time.Duration(h)*time.Hour + 17*time.Minute))
	}
	dense := day.Add(10 * time.Hour)
	for i := 0; i < 60; i++ { // one call every second for a minute
		add(dense.Add(time.Duration(i) * time.Second))
	}
	for i := 0; i < 3; i++ { // queue calls inside the dense minute (service call and agent leg)
		sc, leg := enreachtest.QueueCall(w.sales, &w.bob, customer, dense.Add(time.Duration(7+20*i)*time.Second), 2*time.Second, time.Minute)
		w.en.AddServiceCalls(sc)
		w.en.AddCalls(*leg)
		want++
	}
	for i := 0; i < 4; i++ { // unknown callers in queue: unresolved, counted once each
		sc, leg := enreachtest.QueueCall(w.sales, &w.bob, "+358409999999", dense.Add(time.Duration(3+13*i)*time.Second), 3*time.Second, time.Minute)
		w.en.AddServiceCalls(sc)
		w.en.AddCalls(*leg)
		unknown++
	}
	crowd := day.Add(15 * time.Hour)
	for i := 0; i < 2*limit+1; i++ { // more than the cap in one second
		add(crowd)
	}
	add(crowd.Add(time.Second))
	add(day.Add(24*time.Hour - time.Second)) // the last second of the range
	return want, unknown
}

// windowsRead records the windows of the Enreach calls listings asked.
type windowsRead struct {
	jobs.Enreach
	mu   sync.Mutex
	from []time.Time
	seen chan struct{} // a listing was asked
}

func (r *windowsRead) Calls(ctx context.Context, w enreach.Window) ([]enreach.Call, []enreach.Malformed, error) {
	r.mu.Lock()
	r.from = append(r.from, w.From)
	r.mu.Unlock()
	select {
	case r.seen <- struct{}{}:
	default:
	}
	return r.Enreach.Calls(ctx, w)
}

// askedAfter reports whether a listing starting after t was asked.
func (r *windowsRead) askedAfter(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.from {
		if f.After(t) {
			return true
		}
	}
	return false
}

// writesAfterRead holds each write until a listing of a later window than
// the first was asked (or 10 s passed, and the write then fails the test).
type writesAfterRead struct {
	crm.Client
	t    *testing.T
	read *windowsRead
	day  time.Time
}

func (g *writesAfterRead) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	deadline := time.After(10 * time.Second)
	for !g.read.askedAfter(g.day) {
		select {
		case <-g.read.seen:
		case <-deadline:
			g.t.Errorf("writing the first window's calls: the next window's calls were not asked meanwhile")
			return g.Client.WriteActivities(ctx, acts)
		}
	}
	return g.Client.WriteActivities(ctx, acts)
}

// A backfill reads the next window while it writes the one it holds: the
// write of the first window's call waits for the next window's listing.
func TestBackfillReadsTheNextWindowWhileWriting(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	customer := "+358401111111"
	w.en.AddCalls(enreachtest.DirectCall(w.alice, customer, false, day.Add(10*time.Minute), 5*time.Second, time.Minute))
	w.en.AddCalls(enreachtest.DirectCall(w.alice, customer, false, day.Add(5*time.Hour), 5*time.Second, time.Minute))
	read := &windowsRead{Enreach: w.tenant.Enreach, seen: make(chan struct{}, 1)}
	w.tenant.Enreach = read
	w.tenant.CRM = &writesAfterRead{Client: w.tenant.CRM, t: t, read: read, day: day}
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 2 || len(w.ours()) != 2 {
		t.Fatalf("written %d (in the CRM %d), want 2", sum.Written, len(w.ours()))
	}
}

// recordsRead counts the records each Enreach listing returned (by record,
// and per calls listing) and the listing requests. The calls listing also
// returns a malformed record at badAt when its window holds it.
type recordsRead struct {
	jobs.Enreach
	badAt    time.Time
	mu       sync.Mutex
	times    map[string]int // "calls|id|start", "servicecall|id|start" or "malformed"
	requests int
	sizes    []int // the calls each calls listing returned
}

func (r *recordsRead) Calls(ctx context.Context, w enreach.Window) ([]enreach.Call, []enreach.Malformed, error) {
	cs, bad, err := r.Enreach.Calls(ctx, w)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.sizes = append(r.sizes, len(cs))
	for _, c := range cs {
		r.times["calls|"+c.CallID+"|"+c.StartTime.String()]++
	}
	if !r.badAt.Before(w.From) && r.badAt.Before(w.To) {
		r.times["malformed"]++
		bad = append(bad, enreach.Malformed{ID: "bad-1", Reason: "Direction: missing",
			Raw: []byte(`{"CallId":"bad-1","StartTime":"` + r.badAt.Format("2006-01-02 15:04:05") + `"}`)})
	}
	return cs, bad, err
}

func (r *recordsRead) ServiceCalls(ctx context.Context, w enreach.Window) ([]enreach.ServiceCall, []enreach.Malformed, error) {
	scs, bad, err := r.Enreach.ServiceCalls(ctx, w)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	for _, c := range scs {
		r.times["servicecall|"+c.CallID+"|"+c.StartTime.String()]++
	}
	return scs, bad, err
}

// A backfill reads every Enreach record once: a window's margins (records
// starting BackfillCallSpan beyond its edges) and the records of a window
// taken again shorter are carried to the window that needs them, not asked
// again; every call is still decided once, with all its records, and a
// malformed record in a margin is quarantined once.
func TestBackfillReadsEveryRecordOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const limit = 5
	w.syncer.BackfillWindowCalls = limit
	want, unknown := seedWindows(w, limit)
	// A queue call whose agent leg starts 10 minutes after its service
	// call, across the edge of the dense minute's windows.
	customer := "+358401111111"
	sc, leg := enreachtest.QueueCall(w.sales, &w.bob, customer, day.Add(10*time.Hour+50*time.Second), 10*time.Minute, time.Minute)
	w.en.AddServiceCalls(sc)
	w.en.AddCalls(*leg)
	want++
	// The malformed record starts just after the dense minute's windows.
	read := &recordsRead{Enreach: w.tenant.Enreach, badAt: day.Add(10*time.Hour + 2*time.Minute), times: map[string]int{}}
	w.tenant.Enreach = read
	windows := 0
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, func(time.Duration, time.Duration, jobs.Summary) { windows++ })
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range read.times {
		if n != 1 {
			t.Errorf("record %s read %d times", k, n)
		}
	}
	if records := w.en.Records() + 1; len(read.times) != records {
		t.Errorf("%d records read, Enreach holds %d", len(read.times), records)
	}
	// One request per listing per window processed: none for a window
	// taken again shorter.
	if read.requests > 2*windows {
		t.Errorf("%d listing requests for %d windows", read.requests, windows)
	}
	if got := len(w.ours()); got != want || sum.Written != want || sum.Seen != want+unknown || sum.Unresolved != unknown {
		t.Fatalf("in the CRM %d; summary: seen %d, written %d, unresolved %d; want %d, %d, %d", got, sum.Seen, sum.Written, sum.Unresolved, want+unknown, want, unknown)
	}
	if sum.Quarantined != 1 {
		t.Fatalf("%d records quarantined, want the malformed one", sum.Quarantined)
	}
}

// writeSizes records the number of activities of each WriteActivities call.
type writeSizes struct {
	crm.Client
	mu    sync.Mutex
	sizes []int
}

func (g *writeSizes) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(acts))
	g.mu.Unlock()
	return g.Client.WriteActivities(ctx, acts)
}

// A backfill's windows send full write batches: the writes that would fill
// a last batch of a window only part-way are written with the next
// window's, so only the backfill's last batch may be short. Every call is
// still written once.
func TestBackfillFillsWriteBatchesAcrossWindows(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const limit = 5
	w.syncer.BackfillWindowCalls = limit
	w.syncer.WriteBatch = 4
	want, unknown := seedWindows(w, limit)
	sizes := &writeSizes{Client: w.tenant.CRM}
	w.tenant.CRM = sizes
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.ours()); got != want || sum.Written != want || sum.Unresolved != unknown {
		t.Fatalf("in the CRM %d, summary written %d, unresolved %d; want %d, %d", got, sum.Written, sum.Unresolved, want, unknown)
	}
	if n := len(sizes.sizes); n != (want+3)/4 {
		t.Errorf("%d write batches %v for %d calls, want %d", n, sizes.sizes, want, (want+3)/4)
	}
	for i, n := range sizes.sizes[:len(sizes.sizes)-1] {
		if n != 4 {
			t.Fatalf("write batch %d of %d held %d activities, want 4 (%v)", i, len(sizes.sizes), n, sizes.sizes)
		}
	}
}

// failAfter fails the calls listing of every window after the first
// failAfter ones.
type failAfter struct {
	jobs.Enreach
	mu   sync.Mutex
	left int
}

func (f *failAfter) Calls(ctx context.Context, w enreach.Window) ([]enreach.Call, []enreach.Malformed, error) {
	f.mu.Lock()
	f.left--
	fail := f.left < 0
	f.mu.Unlock()
	if fail {
		return nil, nil, errors.New("enreach is down")
	}
	return f.Enreach.Calls(ctx, w)
}

// When a backfill ends with an error (here Enreach failing), the writes it
// held back to fill a batch are still written: every call of the windows
// processed is in the CRM once, none is left pending.
func TestBackfillWritesHeldWritesOnError(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.syncer.BackfillWindowCalls = 5
	w.syncer.WriteBatch = 100
	customer := "+358401111111"
	for i := 0; i < 3; i++ { // the first window (an hour) holds three calls
		w.en.AddCalls(enreachtest.DirectCall(w.alice, customer, false, day.Add(time.Duration(10+i)*time.Minute), 5*time.Second, time.Minute))
	}
	w.tenant.Enreach = &failAfter{Enreach: w.tenant.Enreach, left: 1}
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err == nil {
		t.Fatal("the backfill did not report Enreach's error")
	}
	if got := len(w.ours()); got != 3 || sum.Written != 3 {
		t.Fatalf("in the CRM %d, summary written %d; want the first window's 3", got, sum.Written)
	}
	pending, err := w.store.LedgerByState(ctx, w.tenant.Name, jobs.KindCall, store.Pending, jobs.MaxAttempts, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Fatalf("%d calls left pending", len(pending))
	}
}

// A backfill's reads stay near the window cap after quiet hours: over two
// busy days with a silent night between, the windows grown over the night
// are no longer than hold the cap at the first day's rate, and those over
// the quiet hours before the first call no longer than 2 hours, so no
// listing reads a large part of a busy day at once (before, the doubled
// windows reached 8 hours into it). Every call is still written once.
func TestBackfillReadsBoundedAfterQuietHours(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const limit = 20
	w.syncer.BackfillWindowCalls = limit
	customer := "+358401111111"
	want := 0
	for _, d := range []time.Time{day, day.Add(24 * time.Hour)} {
		// 08:00-18:00, a call every 10 minutes: 60 a day.
		for at := d.Add(8 * time.Hour); at.Before(d.Add(18 * time.Hour)); at = at.Add(10 * time.Minute) {
			w.en.AddCalls(enreachtest.DirectCall(w.alice, customer, false, at, 5*time.Second, 30*time.Second))
			want++
		}
	}
	read := &recordsRead{Enreach: w.tenant.Enreach, times: map[string]int{}}
	w.tenant.Enreach = read
	sum, err := w.syncer.Backfill(ctx, w.tenant, day, day.Add(48*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != want || len(w.ours()) != want {
		t.Fatalf("written %d (in the CRM %d), want %d", sum.Written, len(w.ours()), want)
	}
	// A window at the cap and the calls of its read's margin
	// (BackfillCallSpan beyond its end: 2 calls at this rate).
	const most = limit + 2
	for i, n := range read.sizes {
		if n > most {
			t.Errorf("listing %d of %d returned %d calls, more than %d (cap %d): %v", i+1, len(read.sizes), n, most, limit, read.sizes)
			break
		}
	}
}
