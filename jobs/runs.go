package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// Stream names for watermarks.
const StreamCalls = "calls"

// Tuning of the calls job.
const (
	// Overlap is re-read below the watermark each run, for records Enreach
	// publishes late; the ledger makes the re-read free of duplicates.
	Overlap = 2 * time.Minute
	// CatchUpChunk is the window size when catching up after an outage; the
	// watermark advances after each chunk.
	CatchUpChunk = 6 * time.Hour
	// DebugLookback is how far back the first run looks with run_in_debug_mode.
	DebugLookback = 45 * 24 * time.Hour
	// BackfillChunk is the longest window of a manual backfill (and the
	// nightly re-sync): a stretch without calls is read a day at a time.
	BackfillChunk = 24 * time.Hour
	// BackfillFirstWindow is the first window of a backfill; the next ones
	// are sized from the calls a window held (backfillNext).
	BackfillFirstWindow = time.Hour
	// BackfillCallSpan is how far a backfill window reads records before
	// and after itself (a queue call's service call and its agent's leg, a
	// transferred call's legs); it processes the calls whose first record
	// starts inside it. A call whose records go on further is read on (see
	// BackfillLegGap).
	BackfillCallSpan = 15 * time.Minute
	// BackfillLegGap is how long after the latest end of a call's records
	// its next record may start: a queue call's agent leg starts when the
	// service call is answered, a transferred call's next leg when the one
	// before it is handed over [assumed: the API documentation does not
	// say; a minute covers the ringing of the next agent]. A backfill window
	// reads on until it sees this far past the latest end of its calls'
	// records.
	BackfillLegGap = time.Minute
	// DefaultBackfillWindowCalls is the default Syncer.BackfillWindowCalls.
	DefaultBackfillWindowCalls = 2000
)

// RunCalls is one run of the calls job for a tenant: from the watermark (less
// Overlap) to now in chunks of records modified in that time, advancing the
// watermark after each chunk, then a retry of failed writes. The first run
// looks back execution_interval (45 days with run_in_debug_mode).
//
// The last chunk's watermark is stored with the run's end (recordRunMark:
// one transaction), after the retry; a run that stops before that reads
// the chunk again next time, as a run that failed in it does (the ledger
// makes the re-read free of duplicates).
func (s *Syncer) RunCalls(ctx context.Context, t *Tenant, o SyncOptions) (Summary, error) {
	return s.recordRunMark(ctx, t, "calls", func(ctx context.Context, mark *runMark) (Summary, error) {
		var sum Summary
		now := s.now().Truncate(time.Second)
		cfg := t.Config()
		from, ok, err := s.Store.Watermark(ctx, t.Name, StreamCalls)
		if err != nil {
			return sum, err
		}
		if ok {
			from = from.Add(-Overlap)
		} else if cfg.PhoneCalls.RunInDebugMode {
			from = now.Add(-DebugLookback)
		} else {
			from = now.Add(-cfg.PhoneCalls.ExecutionInterval.D())
		}
		for start := from; start.Before(now); {
			if stopped(o.Stop) {
				break
			}
			end := start.Add(CatchUpChunk)
			if end.After(now) {
				end = now
			}
			got, err := s.SyncWindow(ctx, t, enreach.Window{From: start, To: end, ByModified: true}, o)
			sum.Add(got)
			if err != nil {
				return sum, err
			}
			if !end.Before(now) {
				mark.stream, mark.pos = StreamCalls, end
				break
			}
			if err := s.Store.SetWatermark(ctx, t.Name, StreamCalls, end); err != nil {
				return sum, err
			}
			s.Metrics.watermark(t.Name, StreamCalls, s.now().Sub(end))
			start = end
		}
		got, err := s.Retry(ctx, t, false, o)
		sum.Add(got)
		return sum, err
	})
}

// Backfill processes [from, to) by call start time in chunks, reporting
// progress after each. It does not move the watermark.
func (s *Syncer) Backfill(ctx context.Context, t *Tenant, from, to time.Time, o SyncOptions, progress func(done, total time.Duration, sum Summary)) (Summary, error) {
	job := "backfill"
	if o.DryRun {
		job = "backfill-dry-run"
	}
	o.CachedLookups = true
	return s.recordRun(ctx, t, job, func(ctx context.Context) (Summary, error) {
		return s.backfill(ctx, t, from, to, o, progress)
	})
}

// backfill reads [from, to) by call start time in windows bounded by a
// number of calls, not by a duration, so what one window holds in memory
// (records, decisions, ledger rows, writes in flight) is the same for a
// dense range as for a sparse one. Enreach cannot count the calls of a
// window before sending them, so each window is sized from the density the
// last one showed (backfillNext), and never longer than holds the cap at
// the densest rate seen so far (backfillLongest), so a window grown over
// quiet hours does not read the next busy ones whole; a window that still
// holds more than the cap is dropped unprocessed and taken again shorter. Window edges are
// whole seconds, the API's precision. A call belongs to the window its
// first record starts in ([start, end): a call starting exactly on an edge
// is in the later window only); a window sees the records starting up to
// BackfillCallSpan beyond both its edges, so a queue call whose agent leg
// starts in the next window, or a transferred call, is decided once with
// all its records; a call whose records start further on (a long queue
// wait, a long call transferred) is read on to its end, and a later window
// that sees only its later records does not decide them again
// (spilledCalls). A window of one second is processed whatever it holds.
//
// Every record is read once: the listings are read in consecutive spans,
// each from where the last one ended, and the records a later window still
// needs (its lower margin, and the records of a window taken again
// shorter) are carried over, not asked again (heldRecords).
func (s *Syncer) backfill(ctx context.Context, t *Tenant, from, to time.Time, o SyncOptions, progress func(done, total time.Duration, sum Summary)) (sum Summary, retErr error) {
	from, to = from.UTC(), to.UTC()
	total := to.Sub(from)
	limit := s.BackfillWindowCalls
	if limit <= 0 {
		limit = DefaultBackfillWindowCalls
	}
	size := BackfillFirstWindow
	// densest: the highest rate of calls (per second of a window's busy
	// part) seen so far in the range.
	var densest float64
	// The next window's records are read while this one is decided and
	// written (the read needs only this window's density), so a backfill
	// waits for neither Enreach's listings nor the CRM's writes in between.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type read struct {
		to   time.Time
		l    listings
		err  error
		done chan struct{}
	}
	readAt := func(from, to time.Time) *read {
		rd := &read{to: to, done: make(chan struct{})}
		go func() {
			defer close(rd.done)
			rd.l, rd.err = readListings(rctx, t, enreach.Window{From: from, To: to})
			rd.l.keepStarting(from, to)
		}()
		return rd
	}
	var (
		held    heldRecords
		spilled = spilledCalls{}
		ahead   *read
		// carry: writes decided in a window and held back to fill the
		// next one's write batches; written with the next window's, or at
		// the end.
		carry []*pending
		// writing: the windows whose writes are in flight, oldest first:
		// the last backfillWindowsInFlight windows' (of those with
		// writes), while the next window is read, decided and its other
		// ledger rows saved (a write's row is saved with its result), and
		// for a while also the one before them: a window's batches start
		// as soon as it is decided, in the write slots the earlier
		// windows' batches free (pipe), and the next window is decided
		// once all but the last backfillWindowsInFlight windows' writes
		// are recorded.
		writing []*windowWrites
		pipe    = s.newWritePipe(true)
		// earlier: the writes whose results may not be recorded yet (those
		// in flight and the carry), which the next window's decisions must
		// know (decideCalls).
		earlier *earlierWrites
		// failed: a window's writes failed; later windows' progress is
		// not reported.
		failed bool
	)
	// settle waits for the writes in flight of the oldest windows until
	// keep windows with writes are left, and reports the windows done in
	// order. It stops at the first that failed.
	settle := func(keep int) error {
		for len(writing) > 0 && (withWrites(writing) > keep || writing[0].finished()) {
			w := writing[0]
			<-w.done
			writing = writing[1:]
			sum.Add(w.sum)
			if w.err != nil {
				failed = true
				return w.err
			}
			if progress != nil && !failed {
				progress(w.end.Sub(from), total, sum)
			}
		}
		return nil
	}
	defer func() { // a window failed or the pass stopped
		errs := []error{retErr}
		for len(writing) > 0 {
			errs = append(errs, settle(0))
		}
		retErr = windowErrors(errs)
		var got Summary
		var err error
		if pipe.failed() {
			// No batch starts after a failed one: the carry waits,
			// pending with its payloads, for the next run.
			err = s.holdWrites(ctx, t, carry)
		} else {
			got, err = s.flushCarry(ctx, t, carry, o)
		}
		sum.Add(got)
		if err != nil {
			retErr = errors.Join(retErr, err)
		}
		s.flushDecisions(ctx, t, !o.DryRun)
	}()
	// Enreach filters by whole seconds: splitWindow widens a window to
	// them, so edges between windows are kept on whole seconds.
	for start := from.Truncate(time.Second); start.Before(to); {
		if stopped(o.Stop) {
			return sum, errors.New("stopped")
		}
		end := start.Add(size)
		if end.After(to) {
			end = to
		}
		if held.to.IsZero() {
			held.from, held.to = start.Add(-BackfillCallSpan), start.Add(-BackfillCallSpan)
		}
		if ahead != nil {
			<-ahead.done
			if ahead.err != nil {
				return sum, ahead.err
			}
			held.add(ahead.l, ahead.to)
			ahead = nil
		}
		if need := end.Add(BackfillCallSpan); held.to.Before(need) {
			rd := readAt(held.to, need)
			<-rd.done
			if rd.err != nil {
				return sum, rd.err
			}
			held.add(rd.l, rd.to)
		}
		held.drop(start.Add(-BackfillCallSpan))
		reach := end.Add(BackfillCallSpan)
		r := held.window(start, end, reach)
		d := end.Sub(start)
		busy := d // from the window's first call to its end
		if len(r.calls) > 0 {
			busy = min(max(end.Sub(r.calls[0].Start), time.Second), d)
		}
		if n := len(r.calls); n > 0 {
			densest = max(densest, float64(n)/busy.Seconds())
		}
		next := min(backfillNext(d, busy, len(r.calls), limit), backfillLongest(densest, limit))
		if len(r.calls) > limit && d > time.Second {
			size = next // taken again, shorter; nothing of it was processed
			continue
		}
		// A call whose records go on past what the window sees (a long
		// queue wait, a transferred call's later legs) is read on to its
		// end: the window reads on until it sees BackfillLegGap past the
		// latest end of its calls' records (at most BackfillChunk past the
		// window, whatever a record's end says).
		for {
			need := lastEnd(r.calls).Add(BackfillLegGap)
			if cap := end.Add(BackfillChunk); need.After(cap) {
				need = cap
			}
			if !need.After(reach) {
				break
			}
			if held.to.Before(need) {
				rd := readAt(held.to, need)
				<-rd.done
				if rd.err != nil {
					return sum, rd.err
				}
				held.add(rd.l, rd.to)
			}
			reach = need
			r = held.window(start, end, reach)
		}
		// A call an earlier window decided, one of whose later records
		// starts in this window after its first one was let go, is not
		// this window's.
		r.calls = spilled.without(r.calls, start)
		spilled.add(r.calls, end)
		last := !end.Before(to)
		r.bad1, r.bad2 = held.bad1, held.bad2
		held.bad1, held.bad2 = nil, nil
		if !last {
			// The next window is read while this one is decided and
			// written: the records of one window decided and one read
			// are held, and the writes of the windows in flight.
			nextEnd := end.Add(next)
			if nextEnd.After(to) {
				nextEnd = to
			}
			if need := nextEnd.Add(BackfillCallSpan); held.to.Before(need) {
				ahead = readAt(held.to, need)
			}
		}
		// Decided and saved while the last window's writes are in flight.
		ws, err := s.quarantineWindow(ctx, t, r, o)
		var dec decided
		if err == nil {
			var got Summary
			got, dec, err = s.decideCalls(ctx, t, r.calls, o, earlier)
			ws.Add(got)
		}
		r = windowRead{}
		if o.DryRun {
			s.flushDecisions(ctx, t, false)
		}
		if err != nil {
			sum.Add(ws)
			return sum, err
		}
		all := make([]*pending, 0, len(carry)+len(dec.write))
		all = append(append(all, carry...), dec.write...)
		n := len(all)
		if !last { // the last window writes all that is left
			n -= n % s.writeBatchSize()
		}
		dec.write, carry = all[:n], all[n:]
		if len(dec.write) > 0 || len(dec.links) > 0 {
			writing = append(writing, s.startWrites(ctx, t, dec, o, ws, end, pipe))
		} else {
			writing = append(writing, doneWrites(ws, end))
		}
		// This window's batches queue behind the earlier windows'; the
		// next window is decided once all but the last
		// backfillWindowsInFlight windows' writes are recorded.
		keep := backfillWindowsInFlight
		if last {
			keep = 0
		}
		if err := settle(keep); err != nil {
			return sum, err
		}
		// What the next window's decisions must know: the writes of the
		// windows still in flight and the carry.
		earlier = newEarlierWrites(inFlight(writing, carry))
		start, size = end, next
	}
	return sum, nil
}

// windowErrors joins the errors of a backfill's windows. A window whose
// writes stopped for another window's failure (errOtherWriteFailed, and
// nothing else) adds nothing to that failure when it is among them.
func windowErrors(errs []error) error {
	var kept []error
	other := false
	for _, err := range errs {
		if err == errOtherWriteFailed { // exactly: with a link error, it stays
			other = true
		} else if err != nil {
			kept = append(kept, err)
		}
	}
	if len(kept) == 0 && other {
		return errOtherWriteFailed
	}
	return errors.Join(kept...)
}

// backfillWindowsInFlight is how many windows' writes may be in flight
// (sent, or waiting for a write slot, and not yet recorded) while a
// backfill decides the next window.
const backfillWindowsInFlight = 2

// inFlight is the writes of the windows in writing and the carry.
func inFlight(writing []*windowWrites, carry []*pending) []*pending {
	n := len(carry)
	for _, w := range writing {
		n += len(w.write)
	}
	ps := make([]*pending, 0, n)
	for _, w := range writing {
		ps = append(ps, w.write...)
	}
	return append(ps, carry...)
}

// withWrites counts the windows in writing that have writes or links to
// send (a window without is done when it is added).
func withWrites(writing []*windowWrites) int {
	n := 0
	for _, w := range writing {
		if !w.none {
			n++
		}
	}
	return n
}

// windowWrites are a backfill window's writes in flight (startWrites).
type windowWrites struct {
	write []*pending // the writes sent
	none  bool       // nothing to send (doneWrites)
	end   time.Time  // the window's end
	sum   Summary    // the window's, with its writes' once done
	err   error
	done  chan struct{}
}

// startWrites sends a window's writes and links (sendCallsVia, in the
// slots of pipe, after the last window's batches) and records their outcomes, in the background; sum is the
// window's summary so far.
func (s *Syncer) startWrites(ctx context.Context, t *Tenant, d decided, o SyncOptions, sum Summary, end time.Time, pipe *writePipe) *windowWrites {
	w := &windowWrites{write: d.write, end: end, sum: sum, done: make(chan struct{})}
	turn := pipe.next() // in window order
	go func() {
		defer close(w.done)
		w.err = s.sendCallsVia(ctx, t, d, o, &w.sum, turn)
		s.Metrics.observe(t.Name, w.sum)
		s.flushDecisions(ctx, t, true)
	}()
	return w
}

// doneWrites is a window without writes, done (sum: its summary).
func doneWrites(sum Summary, end time.Time) *windowWrites {
	w := &windowWrites{none: true, end: end, sum: sum, done: make(chan struct{})}
	close(w.done)
	return w
}

// finished reports whether the window's writes are done and recorded.
func (w *windowWrites) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// heldRecords are the records a backfill has read and a window may still
// need: of the listings read over [from, to), those starting at or after
// from, and the malformed records of those reads not yet quarantined.
type heldRecords struct {
	from, to time.Time
	listings
}

// add appends the records of the read of [h.to, to).
func (h *heldRecords) add(l listings, to time.Time) {
	h.calls = append(h.calls, l.calls...)
	h.scs = append(h.scs, l.scs...)
	h.bad1 = append(h.bad1, l.bad1...)
	h.bad2 = append(h.bad2, l.bad2...)
	h.to = to
}

// drop lets go of the records starting before at: no later window sees
// them (windows only move forward).
func (h *heldRecords) drop(at time.Time) {
	if !at.After(h.from) {
		return
	}
	h.from = at
	// In place: the records are copies (add) that nothing else holds once
	// a window is merged (mergeKeep copies them again), DeleteFunc zeroes
	// the slots it frees, and the next add appends into them instead of
	// growing a new array for each read.
	h.calls = slices.DeleteFunc(h.calls, func(c enreach.Call) bool { return c.StartTime.Before(at) })
	h.scs = slices.DeleteFunc(h.scs, func(c enreach.ServiceCall) bool { return c.StartTime.Before(at) })
}

// window is the window [start, end): the calls whose first record starts
// in it, merged from the held records starting before upTo (at least end +
// BackfillCallSpan; the held records start at or after start -
// BackfillCallSpan). Its malformed records are left to the caller.
func (h *heldRecords) window(start, end, upTo time.Time) windowRead {
	calls := startingBefore(h.calls, upTo, func(c enreach.Call) time.Time { return c.StartTime })
	scs := startingBefore(h.scs, upTo, func(c enreach.ServiceCall) time.Time { return c.StartTime })
	return mergeKept(calls, scs, func(first time.Time) bool { return !first.Before(start) && first.Before(end) })
}

// lastEnd is the latest end of the records of calls (zero for none).
func lastEnd(calls []Call) time.Time {
	var t time.Time
	for _, c := range calls {
		if c.lastEnd.After(t) {
			t = c.lastEnd
		}
	}
	return t
}

// spilledCalls are the calls decided by a backfill window whose records
// may start in a later window, by lower-cased id, with the latest end of
// their records. Once a window has let go of such a call's first record,
// its later records would read as a call of their own starting there.
type spilledCalls map[string]time.Time

// add remembers the calls of the window ending at end whose records end
// at or after it.
func (s spilledCalls) add(calls []Call, end time.Time) {
	for _, c := range calls {
		if !c.lastEnd.Before(end) {
			s[strings.ToLower(c.ID)] = c.lastEnd
		}
	}
}

// without returns calls less those an earlier window decided, for the
// window starting at start, and forgets the calls none of whose records
// can start in it or later (BackfillLegGap).
func (s spilledCalls) without(calls []Call, start time.Time) []Call {
	if len(s) == 0 {
		return calls
	}
	for id, last := range s {
		if last.Add(BackfillLegGap).Before(start) {
			delete(s, id)
		}
	}
	return slices.DeleteFunc(calls, func(c Call) bool {
		_, ok := s[strings.ToLower(c.ID)]
		return ok
	})
}

// keepStarting keeps the records that start in [from, to): a read's records
// are then apart from the next read's, whatever the API does at the edges.
// Malformed records are kept (their start may be unknown).
func (l *listings) keepStarting(from, to time.Time) {
	l.calls = startingBefore(startingFrom(l.calls, from, func(c enreach.Call) time.Time { return c.StartTime }),
		to, func(c enreach.Call) time.Time { return c.StartTime })
	l.scs = startingBefore(startingFrom(l.scs, from, func(c enreach.ServiceCall) time.Time { return c.StartTime }),
		to, func(c enreach.ServiceCall) time.Time { return c.StartTime })
}

// startingFrom returns the records of rs starting at or after at, in
// order: rs itself when that is all of them, else a new slice (so the
// records let go of are not kept alive by it).
func startingFrom[T any](rs []T, at time.Time, startOf func(T) time.Time) []T {
	return filterRecords(rs, func(r T) bool { return !startOf(r).Before(at) })
}

// startingBefore returns the records of rs starting before at, in order,
// as startingFrom does.
func startingBefore[T any](rs []T, at time.Time, startOf func(T) time.Time) []T {
	return filterRecords(rs, func(r T) bool { return startOf(r).Before(at) })
}

func filterRecords[T any](rs []T, keep func(T) bool) []T {
	n := 0
	for _, r := range rs {
		if keep(r) {
			n++
		}
	}
	if n == len(rs) {
		return rs
	}
	out := make([]T, 0, n)
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// backfillNext sizes the window after one of length d that held n calls,
// the first of them busy before its end: at that density (n over busy, so
// a window that was quiet until a busy morning is not taken for a quiet
// one) the next would hold half of limit, so a window twice as dense still
// fits. It at most doubles, is whole seconds, at least one second and at
// most BackfillChunk. For n > limit it is shorter than d (when d > 1 s).
func backfillNext(d, busy time.Duration, n, limit int) time.Duration {
	next := 2 * d
	if n > 0 {
		next = min(next, time.Duration(float64(busy)*float64(limit)/2/float64(n)))
	}
	next = min(next.Truncate(time.Second), BackfillChunk)
	return max(next, time.Second)
}

// backfillLongest is the longest window that holds at most limit calls at
// the densest rate seen so far (calls per second), and twice the first
// window while no call has been seen. After quiet hours backfillNext
// doubles the window; without this bound a window grown over a night (or
// over the quiet hours a range starts with) reached into the next busy
// hours, and its read (a window's range is read at once) held many times
// the cap before the window was taken again shorter.
func backfillLongest(densest float64, limit int) time.Duration {
	if densest <= 0 {
		return 2 * BackfillFirstWindow
	}
	return max(time.Duration(float64(limit)/densest*float64(time.Second)).Truncate(time.Second), time.Second)
}

// Retroactive is the nightly re-sync: once a night per tenant at a random
// moment inside the configured UTC window it re-runs the last lookback, so
// calls whose caller was added to the CRM later get linked. The chosen moment
// is stored; a restart neither skips nor repeats it (a moment missed while
// the worker was down runs at the next check).
func (s *Syncer) Retroactive(ctx context.Context, t *Tenant, o SyncOptions) (ran bool, sum Summary, err error) {
	cfg := t.Config().Retroactive
	if !cfg.Enabled {
		return false, sum, nil
	}
	const job = "retroactive"
	now := s.now()
	next, _, ok, err := s.Store.Schedule(ctx, t.Name, job)
	if err != nil {
		return false, sum, err
	}
	if !ok {
		next = NextNightly(now, cfg.Window.Start, cfg.Window.End, rand.Float64())
		if err := s.Store.SetSchedule(ctx, t.Name, job, next, time.Time{}); err != nil {
			return false, sum, err
		}
	}
	if now.Before(next) {
		return false, sum, nil
	}
	sum, err = s.recordRun(ctx, t, job, func(ctx context.Context) (Summary, error) {
		got, err := s.backfill(ctx, t, now.Add(-cfg.Lookback.D()), now, o, nil)
		if err != nil {
			return got, err
		}
		more, err := s.Retry(ctx, t, true, o)
		got.Add(more)
		return got, err
	})
	if err != nil {
		return true, sum, err // the moment stays due: the next check tries again
	}
	// The next moment is in the window of the day after the one this run
	// belonged to (also when it ran late, catching up after downtime).
	nextDay := time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	n := NextNightly(nextDay, cfg.Window.Start, cfg.Window.End, rand.Float64())
	return true, sum, s.Store.SetSchedule(ctx, t.Name, job, n, now)
}

// NextNightly returns the first moment at or after t that lies at fraction r
// (0..1) of the daily UTC window [start, end) (offsets from midnight), on the
// day t is in if that moment has not passed, else on the next day.
func NextNightly(t time.Time, start, end time.Duration, r float64) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	at := start + time.Duration(r*float64(end-start))
	m := day.Add(at).Truncate(time.Second)
	if m.Before(t) {
		m = day.AddDate(0, 0, 1).Add(at).Truncate(time.Second)
	}
	return m
}

// Purge removes finished history: payloads (webhook deliveries, quarantine,
// job runs, stored records of finished calls) older than p.Retention and
// finished ledger rows older than p.LedgerRetention.
func (s *Syncer) Purge(ctx context.Context, tenants []string, p config.Purge) (store.PurgeResult, error) {
	now := s.now()
	return s.Store.Purge(ctx, tenants, store.PurgeCutoffs{Payloads: now.Add(-p.Retention.D()), Ledger: now.Add(-p.LedgerRetention.D())})
}

// recordRun keeps the run history of a job in the store.
func (s *Syncer) recordRun(ctx context.Context, t *Tenant, job string, fn func(context.Context) (Summary, error)) (Summary, error) {
	return s.recordRunMark(ctx, t, job, func(ctx context.Context, _ *runMark) (Summary, error) { return fn(ctx) })
}

// runMark is a watermark a run stores with its end.
type runMark struct {
	stream string // "": none
	pos    time.Time
}

// recordRunMark is recordRun whose fn may set a watermark (mark) that is
// stored with the run's end, in the same transaction (store.Run.Stream),
// whether fn failed or not.
func (s *Syncer) recordRunMark(ctx context.Context, t *Tenant, job string, fn func(context.Context, *runMark) (Summary, error)) (Summary, error) {
	start := s.now()
	id, err := s.Store.StartRun(ctx, t.Name, job, start)
	if err != nil {
		return Summary{}, err
	}
	var mark runMark
	sum, runErr := fn(ctx, &mark)
	r := store.Run{ID: id, Tenant: t.Name, Job: job, FinishedAt: s.now(), Status: "ok", Seen: sum.Seen, Written: sum.Written,
		Skipped: sum.SkippedTotal(), Unresolved: sum.Unresolved, Failed: sum.Failed, Stream: mark.stream, Position: mark.pos}
	if runErr != nil {
		r.Status, r.Error = "error", runErr.Error()
	}
	if err := s.Store.FinishRun(context.WithoutCancel(ctx), r); err != nil {
		if runErr == nil {
			runErr = err
		}
	} else if mark.stream != "" {
		s.Metrics.watermark(t.Name, mark.stream, s.now().Sub(mark.pos))
	}
	s.Metrics.run(t.Name, job, r.Status, s.now().Sub(start))
	if runErr != nil {
		return sum, fmt.Errorf("%s %s: %w", t.Name, job, runErr)
	}
	return sum, nil
}

func stopped(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
