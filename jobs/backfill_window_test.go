package jobs_test

import (
	"context"
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
	customer := "+358401111111"
	want := 0
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
	unknown := 0
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
