package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/phone"
	"github.com/callsync/callsync/store"
)

// Store is the state the jobs keep. *store.Store implements it; a PostgreSQL
// store for several replicas implements the same methods.
type Store interface {
	Watermark(ctx context.Context, tenant, stream string) (time.Time, bool, error)
	SetWatermark(ctx context.Context, tenant, stream string, pos time.Time) error
	Ledger(ctx context.Context, tenant, kind string, ids []string) (map[string]store.LedgerEntry, error)
	// SaveLedger saves rows and the decision log entries of log in one
	// transaction (store.Store.SaveLedger). It keeps neither slice once it
	// returns: a write pass reuses them for its next rows.
	SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error
	LedgerByState(ctx context.Context, tenant, kind string, state store.LedgerState, maxAttempts, limit int) ([]store.LedgerEntry, error)
	HasLedgerInStates(ctx context.Context, tenant, kind string, states []store.LedgerState, maxAttempts int) (bool, error)
	ClaimedActivities(ctx context.Context, tenant string, crmIDs []string) (map[string]string, error)
	Quarantine(ctx context.Context, items []store.Quarantined) (int, error)
	UserMap(ctx context.Context, tenant string) (map[string]store.UserMapping, error)
	UserMapFor(ctx context.Context, tenant string, ids []string) (map[string]store.UserMapping, error)
	SaveUserMap(ctx context.Context, tenant string, ms []store.UserMapping) error
	StartRun(ctx context.Context, tenant, job string, at time.Time) (int64, error)
	FinishRun(ctx context.Context, r store.Run) error
	Schedule(ctx context.Context, tenant, job string) (next, last time.Time, ok bool, err error)
	SetSchedule(ctx context.Context, tenant, job string, next, last time.Time) error
	AddInbox(ctx context.Context, it store.InboxItem) (bool, error)
	PendingInbox(ctx context.Context, limit int, except ...string) ([]store.InboxItem, error)
	FinishInbox(ctx context.Context, tenant, deliveryID string, state store.InboxState, reason string) error
	Purge(ctx context.Context, tenants []string, cut store.PurgeCutoffs) (store.PurgeResult, error)
	WrittenWithPayload(ctx context.Context, tenant, kind, reason string, maxAttempts, limit int) ([]store.LedgerEntry, error)
	CallbackStore
}

// Kinds of ledger rows.
const (
	KindCall     = "call"
	KindCallback = "callback"
)

// MaxAttempts is how often a failed write is retried before it waits for a
// person (callsync status shows it).
const MaxAttempts = 10

// Syncer processes calls for tenants. It is safe for concurrent use across
// tenants; each tenant's jobs run one at a time (singleton jobs).
type Syncer struct {
	Store   Store
	Log     *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
	// WriteBatch is the number of activities per WriteActivities call
	// (default 200; clients split further at their CRM's limits).
	WriteBatch int
	// WriteConcurrency is the number of write batches of one pass in
	// flight at once (default DefaultWriteConcurrency); the CRM client's
	// adaptive limiter bounds the requests they make.
	WriteConcurrency int
	// LedgerFlushRows is how many answered writes are recorded in the ledger
	// together, across batches (default DefaultLedgerFlushRows); the rest
	// are recorded when the pass ends.
	LedgerFlushRows int
	// OnCall, when set, is told the outcome of every call processed (the
	// sandbox prints one line per call).
	OnCall func(tenant string, o Outcome)
	// WriteGrace is how long a CRM write already in flight may go on after
	// the context ends (SIGTERM), so its outcome is known and recorded
	// (default DefaultWriteGrace). No new batch starts once it ended.
	WriteGrace time.Duration
	// BackfillWindowCalls is the most calls one window of a manual
	// backfill or the nightly re-sync processes (default
	// DefaultBackfillWindowCalls): windows are sized by the calls they
	// hold, so memory does not grow with the density of the range.
	BackfillWindowCalls int
	// Decisions, when set, stores each call's outcome and what led to it
	// (callsync explain).
	Decisions DecisionLog

	decMu  sync.Mutex
	decBuf map[string][]store.Decision
}

// DefaultWriteGrace is the default Syncer.WriteGrace: well inside the 90 s a
// service manager gives a stopping process by default.
const DefaultWriteGrace = 20 * time.Second

// inFlight returns the context for one CRM write request: it outlives the
// end of ctx by the write grace, then ends too. Call the returned func when
// the write returned.
func (s *Syncer) inFlight(ctx context.Context) (context.Context, func()) {
	grace := s.WriteGrace
	if grace <= 0 {
		grace = DefaultWriteGrace
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-wctx.Done():
		}
	})
	return wctx, func() {
		stop()
		cancel()
	}
}

// errStopped ends a pass that stopped between batches.
var errStopped = errors.New("stopped before all batches were written; the rest waits for the next run")

// errOtherWriteFailed ends a backfill window's writes that were not all
// sent because a batch of another window failed (writePipe); that window
// reports the failure.
var errOtherWriteFailed = errors.New("not all batches were written: a batch of another window failed; the rest waits for the next run")

// Outcome states that are not ledger states: a dry run's decision (nothing
// written), a callback request already handled, a callback activity closed.
const (
	OutcomeDryRun  store.LedgerState = "dry-run"
	OutcomeAlready store.LedgerState = "already"
	OutcomeClosed  store.LedgerState = "closed"
)

// Outcome is what happened to one call.
type Outcome struct {
	CallID string
	State  store.LedgerState // a ledger state, or OutcomeDryRun, OutcomeAlready, OutcomeClosed
	Reason string
	CRMID  string
	Number string
	Err    error
	// Detail is what led to the outcome (decision log), when known.
	Detail *Detail
}

// SyncOptions tune one processing pass.
type SyncOptions struct {
	// DryRun decides but writes nothing (neither the CRM nor the ledger).
	DryRun bool
	// Stop, when done, ends the pass between batches (graceful shutdown):
	// the batch being written finishes, the rest waits for the next run.
	Stop <-chan struct{}
	// CachedLookups lets the matcher answer numbers looked up within its
	// TTL from its cache (a manual backfill: the same callers recur in
	// every window). The calls job and the nightly re-sync ask the CRM.
	CachedLookups bool
}

// Summary counts what a pass did.
type Summary struct {
	Seen        int
	Written     int
	Already     int // written by an earlier run (ledger)
	Skipped     map[string]int
	Unresolved  int
	Failed      int
	Quarantined int
	// WouldWrite counts activities a dry run would write.
	WouldWrite int
	// Linked counts calls written unlinked earlier whose activity was now
	// linked to the caller (write_unmatched).
	Linked int
}

// Add accumulates another summary.
func (s *Summary) Add(o Summary) {
	s.Seen += o.Seen
	s.Written += o.Written
	s.Already += o.Already
	s.Unresolved += o.Unresolved
	s.Failed += o.Failed
	s.Quarantined += o.Quarantined
	s.WouldWrite += o.WouldWrite
	s.Linked += o.Linked
	for k, v := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[k] += v
	}
}

// SkippedTotal sums the skip reasons.
func (s Summary) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Syncer) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// SyncWindow reads one window of calls from Enreach and processes them.
// Malformed records are quarantined and the rest go on. An error means the
// window was not completely processed and must be read again.
func (s *Syncer) SyncWindow(ctx context.Context, t *Tenant, w enreach.Window, o SyncOptions) (Summary, error) {
	r, err := readWindow(ctx, t, w)
	if err != nil {
		return Summary{}, err
	}
	return s.processWindow(ctx, t, r, o)
}

// windowRead is one window as read from Enreach: its calls merged, and the
// records that could not be read.
type windowRead struct {
	calls      []Call
	bad1, bad2 []enreach.Malformed
}

// readWindow reads the user call events and service calls of w.
func readWindow(ctx context.Context, t *Tenant, w enreach.Window) (windowRead, error) {
	return readCalls(ctx, t, w, nil)
}

// readCalls reads the user call events and service calls of w and merges
// them; with keep set, only the calls whose first record (the earliest
// StartTime of the records sharing its CallId) keep accepts.
func readCalls(ctx context.Context, t *Tenant, w enreach.Window, keep func(first time.Time) bool) (windowRead, error) {
	l, err := readListings(ctx, t, w)
	if err != nil {
		return windowRead{}, err
	}
	r := mergeKept(l.calls, l.scs, keep)
	r.bad1, r.bad2 = l.bad1, l.bad2
	return r, nil
}

// listings are records of both Enreach listings as read, and the records
// of those reads that could not be read.
type listings struct {
	calls      []enreach.Call
	scs        []enreach.ServiceCall
	bad1, bad2 []enreach.Malformed
}

// readListings asks the user call events and the service calls of w.
func readListings(ctx context.Context, t *Tenant, w enreach.Window) (listings, error) {
	// The two listings are independent requests: asked at once, a window
	// waits for the slower one, not for both in turn.
	var (
		scs   []enreach.ServiceCall
		bad2  []enreach.Malformed
		scErr error
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		scs, bad2, scErr = t.Enreach.ServiceCalls(ctx, w)
	}()
	calls, bad1, err := t.Enreach.Calls(ctx, w)
	<-done
	if err != nil {
		return listings{}, fmt.Errorf("enreach calls: %w", err)
	}
	if scErr != nil {
		return listings{}, fmt.Errorf("enreach service calls: %w", scErr)
	}
	return listings{calls: calls, scs: scs, bad1: bad1, bad2: bad2}, nil
}

// mergeKept merges records into calls; with keep set, only the calls whose
// first record (the earliest StartTime of the records sharing its CallId)
// keep accepts.
func mergeKept(calls []enreach.Call, scs []enreach.ServiceCall, keep func(first time.Time) bool) windowRead {
	return windowRead{calls: mergeKeep(calls, scs, keep)}
}

// processWindow quarantines a window's malformed records and processes its
// calls.
func (s *Syncer) processWindow(ctx context.Context, t *Tenant, r windowRead, o SyncOptions) (Summary, error) {
	sum, err := s.quarantineWindow(ctx, t, r, o)
	if err != nil {
		return sum, err
	}
	got, err := s.processCalls(ctx, t, r.calls, o)
	sum.Add(got)
	return sum, err
}

// quarantineWindow stores a window's malformed records (not in a dry run).
func (s *Syncer) quarantineWindow(ctx context.Context, t *Tenant, r windowRead, o SyncOptions) (Summary, error) {
	var sum Summary
	if o.DryRun {
		return sum, nil
	}
	for _, q := range []struct {
		source string
		bad    []enreach.Malformed
	}{{SourceCalls, r.bad1}, {SourceServiceCalls, r.bad2}} {
		n, err := s.quarantine(ctx, t, q.source, q.bad)
		if err != nil {
			return sum, err
		}
		sum.Quarantined += n
	}
	return sum, nil
}

// quarantine stores malformed records and returns how many were new.
func (s *Syncer) quarantine(ctx context.Context, t *Tenant, source string, bad []enreach.Malformed) (int, error) {
	if len(bad) == 0 {
		return 0, nil
	}
	items := make([]store.Quarantined, len(bad))
	for i, b := range bad {
		items[i] = store.Quarantined{Tenant: t.Name, Source: source, RecordID: b.ID, Reason: b.Reason, Raw: b.Raw, At: s.now()}
	}
	n, err := s.Store.Quarantine(ctx, items)
	if n > 0 {
		s.log().Warn("quarantined malformed Enreach records", "tenant", t.Name, "source", source, "new", n, "first_reason", bad[0].Reason)
		s.Metrics.quarantined(t.Name, n)
	}
	return n, err
}

// pending is one call on its way to the CRM.
type pending struct {
	call Call
	// id is the call's id in lower case, ckey its idempotency key.
	id, ckey string

	number string
	prev   store.LedgerEntry
	// records are the verified CRM matches of the customer number.
	records []crm.Record
	// source says where records came from (matchSource).
	source string
	dec    Decision
	// existing is the CRM activity found inside call_start_margin; own
	// says it carries this call's key (written by an earlier run).
	existing string
	// link: the call was written unlinked (write_unmatched); a match now
	// updates that activity with the link.
	link bool
	own  bool
}

// payload is the call's ledger payload (callPayload). A write's row is
// saved with its result and keeps the payload only when a later run needs
// it (failed, written unlinked, not sent), so it is built then: most writes
// succeed and never need it.
func (p *pending) payload() []byte { return mustPayload(p.call) }

// newPending is call c (id: its id in lower case; prev: its ledger row) on
// its way to the CRM.
func newPending(tenant string, c Call, id string, prev store.LedgerEntry, link bool) *pending {
	return &pending{call: c, id: id, ckey: crm.Key(tenant, crm.KindCall, id), prev: prev, link: link}
}

// ProcessCalls decides and writes a set of calls (already merged). Calls
// already written are not touched; everything else is decided again with the
// current settings, so a settings change applies on the next re-sync.
func (s *Syncer) ProcessCalls(ctx context.Context, t *Tenant, calls []Call, o SyncOptions) (Summary, error) {
	return s.processCalls(ctx, t, calls, o)
}

// processCalls is ProcessCalls: the calls decided, their ledger rows saved,
// then their writes sent.
func (s *Syncer) processCalls(ctx context.Context, t *Tenant, calls []Call, o SyncOptions) (Summary, error) {
	defer s.flushDecisions(ctx, t, !o.DryRun)
	sum, d, err := s.decideCalls(ctx, t, calls, o, nil)
	if err != nil || o.DryRun || len(calls) == 0 {
		return sum, err
	}
	err = s.sendCalls(ctx, t, d, o, &sum)
	s.Metrics.observe(t.Name, sum)
	return sum, err
}

// decided are the calls of a pass whose CRM writes are still to be sent:
// the new activities (write), whose ledger rows are saved with their
// results, and the activities written unlinked to be linked (links).
type decided struct {
	write, links []*pending
}

// sendCalls sends a pass's writes and links (decideCalls) and records
// their outcomes; sum gets the counts. The caller flushes the decision log.
func (s *Syncer) sendCalls(ctx context.Context, t *Tenant, d decided, o SyncOptions, sum *Summary) error {
	return s.sendCallsVia(ctx, t, d, o, sum, nil)
}

// sendCallsVia is sendCalls whose writes take their turn on a shared
// writePipe (writeVia); nil: slots of their own.
func (s *Syncer) sendCallsVia(ctx context.Context, t *Tenant, d decided, o SyncOptions, sum *Summary, turn *writeTurn) error {
	err := s.writeVia(ctx, t, d.write, o, sum, turn)
	if lerr := s.link(ctx, t, d.links, sum); lerr != nil {
		err = errors.Join(err, lerr)
	}
	return err
}

// decideCalls decides the calls of a pass and saves their ledger rows but
// the writes' (in a dry run only decides): every outcome but the writes'
// and links' is known when it returns; those are sendCalls', which saves
// the writes' rows with their results. Its outcomes' decision log entries
// are saved with their rows, and the outcomes reported (OnCall) when it
// returns.
//
// earlier, when set (a backfill's pipeline), are the writes of earlier
// passes not yet recorded in the ledger (earlierWrites): a call among them
// is not decided again (it counts as already written: its write is in
// flight), and the existing-activity check tells their activities apart
// from ones logged by a person.
func (s *Syncer) decideCalls(ctx context.Context, t *Tenant, calls []Call, o SyncOptions, earlier *earlierWrites) (Summary, decided, error) {
	sum := Summary{Seen: len(calls), Skipped: map[string]int{}}
	if len(calls) == 0 {
		return sum, decided{}, nil
	}
	var outs []Outcome
	defer func() {
		for _, out := range outs {
			s.outcome(t, out)
		}
	}()
	cfg := t.Config()
	pc := cfg.PhoneCalls
	now := s.now()
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = strings.ToLower(c.ID)
	}
	prev, err := s.Store.Ledger(ctx, t.Name, KindCall, ids)
	if err != nil {
		return sum, decided{}, err
	}
	dir, err := t.refreshDirectory(ctx, now)
	if err != nil {
		return sum, decided{}, fmt.Errorf("enreach %w", err)
	}

	var ledger []store.LedgerEntry
	skip := func(c Call, id string, prev store.LedgerEntry, reason string) {
		e := callRow(t.Name, id, "", c, c.CustomerNumber(), prev)
		e.State, e.Reason = store.Skipped, reason
		ledger = append(ledger, e)
		sum.Skipped[reason]++
		outs = append(outs, Outcome{CallID: c.ID, State: store.Skipped, Reason: reason, Number: c.CustomerNumber()})
	}
	var todo []*pending
	var numbers []string
	// pre: the existing activities found along with the directory sync,
	// or asked while the callers are matched (find).
	var pre *[]crm.ExistingActivity
	var find <-chan foundActivities
	fctx, cancelFind := context.WithCancel(ctx)
	defer cancelFind() // a pass that failed first does not wait for it
	for i, c := range calls {
		id := ids[i]
		if earlier.has(id) {
			sum.Already++
			continue
		}
		p := prev[id]
		if p.State == store.Written && p.Reason == ReasonUnlinked && !o.DryRun {
			// Written unlinked (write_unmatched): match it again, to link
			// the same activity once its caller is in the CRM.
			todo = append(todo, newPending(t.Name, c, id, p, true))
			numbers = append(numbers, c.CustomerNumber())
			continue
		}
		if p.State == store.Written {
			sum.Already++
			continue
		}
		if reason := Filter(c, pc); reason != "" {
			skip(c, id, p, reason)
			continue
		}
		if reason := NotRecorded(c, cfg.CRM); reason != "" {
			skip(c, id, p, reason)
			continue
		}
		todo = append(todo, newPending(t.Name, c, id, p, false))
		numbers = append(numbers, c.CustomerNumber())
	}
	if len(todo) > 0 {
		// One pass normalises every number (unmatchable and internal ones
		// never reach the CRM) and looks the rest up in batches. The
		// directory sync before it can find the existing activities of the
		// calls (call_start_margin) in its own request.
		qs := s.marginQueries(t, todo, pc.CallStartMargin.D(), earlier)
		if found, ok := s.refreshPhones(ctx, t, qs); ok {
			pre = &found
		} else if len(qs) > 0 {
			// The existing activities are asked while the callers are
			// matched: the queries need the calls' numbers, not their
			// matches (a superset of those checkExisting asks about),
			// so the search is not a round trip of its own after
			// matching on every pass's path.
			find = findActivities(fctx, t, qs)
		}
		matches, err := t.Matcher.Match(ctx, numbers, o.CachedLookups)
		if err != nil {
			return sum, decided{}, fmt.Errorf("match callers: %w", err)
		}
		userIDs := []string{pc.DefaultCRMAssignee}
		kept := todo[:0]
		for _, p := range todo {
			m := matches[p.call.CustomerNumber()]
			if m.Reason != "" && p.link {
				sum.Already++
				continue
			}
			if m.Reason != "" {
				skip(p.call, p.id, p.prev, m.Reason)
				continue
			}
			p.number, p.records, p.source = m.Number.E164(), m.Records, matchSource(m)
			kept = append(kept, p)
			userIDs = append(userIDs, p.call.UserID)
		}
		todo = kept
		if len(todo) > 0 {
			users, err := s.resolveUsers(ctx, t, dir, userIDs, now)
			if err != nil {
				return sum, decided{}, fmt.Errorf("map users: %w", err)
			}
			def := users[strings.ToLower(pc.DefaultCRMAssignee)]
			dpc := AuditSettings(pc, cfg.CRM)
			for _, p := range todo {
				p.dec = Decide(t.Name, p.call, p.number, p.records, Owners{User: users[strings.ToLower(p.call.UserID)], Default: def}, dpc)
			}
		}
	}
	var links []*pending
	kept := todo[:0]
	for _, p := range todo {
		switch {
		case !p.link:
			kept = append(kept, p)
		case p.dec.State == store.Pending && p.dec.Activity.Regarding != nil:
			links = append(links, p)
		default:
			sum.Already++ // still no single caller: stays unlinked
		}
	}
	todo = kept
	if find != nil && slices.ContainsFunc(todo, func(p *pending) bool { return p.dec.State == store.Pending }) {
		// Only a pass with a call to check needs the answer (checkExisting).
		f := <-find
		if f.err != nil {
			return sum, decided{}, fmt.Errorf("existing activities: %w", f.err)
		}
		pre = &f.found
	}
	if err := s.checkExisting(ctx, t, todo, pc.CallStartMargin.D(), pre, earlier); err != nil {
		return sum, decided{}, err
	}

	var write []*pending
	for _, p := range todo {
		entry := callRow(t.Name, p.id, p.ckey, p.call, p.number, p.prev)
		entry.State, entry.Reason, entry.UnmappedUser = p.dec.State, p.dec.Reason, p.dec.Unmapped
		switch p.dec.State {
		case store.Written: // found inside call_start_margin
			entry.CRMID = p.existing
			if p.own {
				// Written by an earlier run that did not record it.
				if entry.Reason == "" && p.dec.Activity.Open {
					entry.Reason = "open"
				}
				ledger = append(ledger, entry)
				sum.Written++
				outs = append(outs, Outcome{CallID: p.call.ID, State: store.Written, Reason: string(crm.Existed), CRMID: entry.CRMID, Number: p.number})
				continue
			}
			ledger = append(ledger, entry)
			sum.Skipped[ReasonExistingActivity]++
			outs = append(outs, Outcome{CallID: p.call.ID, State: store.Written, Reason: ReasonExistingActivity, CRMID: entry.CRMID, Number: p.number, Detail: p.detail(pc.MultipleMatchesPickFirst)})
		case store.Unresolved:
			entry.Payload = mustPayload(p.call)
			ledger = append(ledger, entry)
			sum.Unresolved++
			outs = append(outs, Outcome{CallID: p.call.ID, State: store.Unresolved, Reason: p.dec.Reason, Number: p.number, Detail: p.detail(pc.MultipleMatchesPickFirst)})
		default:
			// A write's row is saved once, with its result (writeBatch),
			// or pending if it is not sent (holdWrites); the call keeps
			// its records until then, for the rows that keep a payload
			// (pending.payload).
			write = append(write, p)
		}
	}
	if o.DryRun {
		sum.WouldWrite = len(write)
		for _, p := range write {
			outs = append(outs, Outcome{CallID: p.call.ID, State: OutcomeDryRun, Reason: p.dec.Reason, Number: p.number})
		}
		return sum, decided{}, nil
	}
	// The other decisions are durable before the writes are sent. A write
	// needs no row before the CRM is asked: it carries the call's
	// idempotency key, and a crash before its result is recorded leaves
	// the call to be read and decided again (the calls job's watermark
	// moves only past a window whose writes are all recorded, a backfill
	// keeps no cursor), so the write is asked again with the same key and
	// the CRM answers that it exists (or call_start_margin finds it).
	var log []store.Decision
	for _, out := range outs {
		if d, ok := s.decision(t, out); ok {
			log = append(log, d)
		}
	}
	if err := s.Store.SaveLedger(ctx, ledger, log...); err != nil {
		return sum, decided{}, err
	}
	return sum, decided{write: write, links: links}, nil
}

// callRow is the ledger row of a call, keyed like its CRM write: id is the
// call's id in lower case, key its idempotency key (made when empty); prev
// is its row as read (attempts and first-seen time).
func callRow(tenant, id, key string, c Call, number string, prev store.LedgerEntry) store.LedgerEntry {
	if key == "" {
		key = crm.Key(tenant, crm.KindCall, id)
	}
	return store.LedgerEntry{Tenant: tenant, Kind: KindCall, EnreachID: id, Key: key,
		ItemTime: c.Start, Number: number, Attempts: prev.Attempts, FirstSeen: prev.FirstSeen}
}

// pendingRow is the ledger row of a write not sent (the pass stopped or
// failed first): pending, with its payload, for the next run (Retry).
func pendingRow(tenant string, p *pending) store.LedgerEntry {
	e := callRow(tenant, p.id, p.ckey, p.call, p.number, p.prev)
	e.State, e.Reason, e.UnmappedUser, e.Payload = store.Pending, p.dec.Reason, p.dec.Unmapped, p.payload()
	return e
}

// holdWrites saves the ledger rows of writes decided and not sent, pending
// with their payloads (pendingRow), even when the context ended: the next
// run retries them from the ledger.
func (s *Syncer) holdWrites(ctx context.Context, t *Tenant, ps []*pending) error {
	if len(ps) == 0 {
		return nil
	}
	rows := make([]store.LedgerEntry, len(ps))
	for i, p := range ps {
		rows[i] = pendingRow(t.Name, p)
	}
	if err := s.Store.SaveLedger(context.WithoutCancel(ctx), rows); err != nil {
		return fmt.Errorf("keep %d writes not sent pending: %w", len(ps), err)
	}
	return nil
}

// marginQueries are the existing-activity queries of checkExisting for every
// call of todo that may be written (a superset of those it asks about:
// decisions come after matching); none without a margin.
func (s *Syncer) marginQueries(t *Tenant, todo []*pending, margin time.Duration, earlier *earlierWrites) []crm.ActivityQuery {
	if margin <= 0 {
		return nil
	}
	var qs []crm.ActivityQuery
	for _, p := range todo {
		if p.link {
			continue
		}
		if n, reason := t.Matcher.Normalize(p.call.CustomerNumber()); reason == "" {
			qs = append(qs, marginQuery(t, p, n.E164(), margin))
		}
	}
	return earlier.queries(t, qs, margin)
}

// marginQuery asks for the CRM phone-call activities of number starting
// within margin of p's call.
func marginQuery(t *Tenant, p *pending, number string, margin time.Duration) crm.ActivityQuery {
	return crm.ActivityQuery{Number: number, From: p.call.Start.Add(-margin), To: p.call.Start.Add(margin), Key: p.ckey}
}

// foundActivities is the answer of findActivities.
type foundActivities struct {
	found []crm.ExistingActivity
	err   error
}

// findActivities asks the CRM for the existing activities of qs in the
// background; the channel gets the answer.
func findActivities(ctx context.Context, t *Tenant, qs []crm.ActivityQuery) <-chan foundActivities {
	ch := make(chan foundActivities, 1)
	go func() {
		found, err := t.CRM.FindActivities(ctx, qs)
		ch <- foundActivities{found, err}
	}()
	return ch
}

// checkExisting applies call_start_margin. A CRM phone-call activity with the
// same number starting within the margin is this call when it carries this
// call's key (an earlier run wrote it and stopped before recording that). An
// activity without a callsync key (logged by a person or a softphone) stands
// for one call: the nearest one not yet written, unless a ledger row already
// points at it. An activity carrying another item's key is never this call.
// pre, when set, holds the activities already found for a superset of the
// queries (marginQueries), so no request is made. earlier's queries are
// asked too (earlierWrites.queries).
func (s *Syncer) checkExisting(ctx context.Context, t *Tenant, todo []*pending, margin time.Duration, pre *[]crm.ExistingActivity, earlier *earlierWrites) error {
	if margin <= 0 {
		return nil
	}
	var qs []crm.ActivityQuery
	var cands []*pending
	for _, p := range todo {
		if p.dec.State != store.Pending {
			continue
		}
		qs = append(qs, marginQuery(t, p, p.number, margin))
		cands = append(cands, p)
	}
	if len(qs) == 0 {
		return nil
	}
	var found []crm.ExistingActivity
	if pre != nil {
		found = *pre
	} else {
		var err error
		if found, err = t.CRM.FindActivities(ctx, earlier.queries(t, qs, margin)); err != nil {
			return fmt.Errorf("existing activities: %w", err)
		}
	}
	byNumber := map[string][]crm.ExistingActivity{}
	var ids []string
	region := t.Config().DefaultRegion
	for _, a := range found {
		n, ok := phone.Normalize(a.Number, region)
		if !ok {
			continue
		}
		byNumber[n.E164()] = append(byNumber[n.E164()], a)
		ids = append(ids, a.ID)
	}
	claimed, err := s.Store.ClaimedActivities(ctx, t.Name, ids)
	if err != nil {
		return fmt.Errorf("existing activities: %w", err)
	}
	type pair struct {
		p *pending
		a crm.ExistingActivity
		d time.Duration
	}
	var pairs []pair
	for _, p := range cands {
		key := p.ckey
		var near []pair
		own := false
		for _, a := range byNumber[p.number] {
			if a.Key == key || claimed[a.ID] == key {
				p.dec.State, p.existing, p.own = store.Written, a.ID, true
				own = true
				break
			}
			if a.Key != "" || claimed[a.ID] != "" {
				continue
			}
			if d := a.Start.Sub(p.call.Start).Abs(); d <= margin {
				near = append(near, pair{p, a, d})
			}
		}
		if !own {
			pairs = append(pairs, near...)
		}
	}
	// Nearest first; ties by call start, then activity id, so the outcome
	// does not depend on the order Enreach or the CRM listed them.
	sort.SliceStable(pairs, func(i, j int) bool {
		x, y := pairs[i], pairs[j]
		if x.d != y.d {
			return x.d < y.d
		}
		if !x.p.call.Start.Equal(y.p.call.Start) {
			return x.p.call.Start.Before(y.p.call.Start)
		}
		return x.a.ID < y.a.ID
	})
	used := map[string]bool{}
	for _, pr := range pairs {
		if used[pr.a.ID] || pr.p.dec.State != store.Pending {
			continue
		}
		used[pr.a.ID] = true
		pr.p.dec.State = store.Written
		pr.p.dec.Reason = ReasonExistingActivity
		pr.p.existing = pr.a.ID
	}
	return nil
}

// earlierWrites are the writes of a backfill's earlier windows whose
// results may not be recorded in the ledger yet: the window whose writes
// are in flight while the next one is decided, and the writes held to fill
// the next write batch (backfill). Their ledger rows are saved with their
// results (or pending, if they are not sent).
type earlierWrites struct {
	ids      map[string]bool       // lower-cased call ids
	byNumber map[string][]*pending // by E.164 number
}

func newEarlierWrites(ps []*pending) *earlierWrites {
	e := &earlierWrites{ids: make(map[string]bool, len(ps)), byNumber: map[string][]*pending{}}
	for _, p := range ps {
		e.ids[p.id] = true
		e.byNumber[p.number] = append(e.byNumber[p.number], p)
	}
	return e
}

// has reports whether the call with this id (lower case) is one of the
// earlier writes.
func (e *earlierWrites) has(id string) bool {
	return e != nil && e.ids[id]
}

// queries returns qs, a pass's existing-activity queries, and the queries
// of the earlier writes of the same number whose range meets one of qs,
// each with its call's key. The activity written for one of those calls,
// whose CRM id the ledger may not hold yet (ClaimedActivities does not
// know it), is then reported with that call's key (crm.ActivityQuery.Key:
// the activity written for a query's key is reported with it), so it is
// never taken for one of this pass's calls as an activity logged by a
// person. An activity of an earlier write can only be near a call of this
// pass when their ranges meet: it starts at its call's start.
func (e *earlierWrites) queries(t *Tenant, qs []crm.ActivityQuery, margin time.Duration) []crm.ActivityQuery {
	if e == nil || len(e.byNumber) == 0 {
		return qs
	}
	var more []crm.ActivityQuery
	asked := map[string]bool{}
	for _, q := range qs {
		for _, p := range e.byNumber[q.Number] {
			a := marginQuery(t, p, p.number, margin)
			if a.To.Before(q.From) || a.From.After(q.To) || asked[a.Key] {
				continue
			}
			asked[a.Key] = true
			more = append(more, a)
		}
	}
	return append(qs, more...)
}

// writePipe is what the write passes of a backfill's windows share: the
// batch slots, so WriteConcurrency batches are in flight across windows (a
// window's batches take the slots its predecessor's last batches free, not
// waiting for all of them), the order in which the passes hand out their
// batches (writeTurn), and the first failure, after which no pass starts
// another batch.
type writePipe struct {
	slots chan struct{}
	// shared: the pipe outlives one pass; a pass's first batch waits for
	// the stop like its others (a pass of its own sends its first batch
	// once its caller decided to write).
	shared bool
	// last: closed once the pass that took the last turn has handed out
	// all its batches (nil: no pass yet).
	last chan struct{}

	mu  sync.Mutex
	err error
	// spareRows and spareLog are slices saved in the ledger, cleared, for
	// the next flush of rows and decision log entries (giveBack).
	spareRows [][]store.LedgerEntry
	spareLog  [][]store.Decision
}

// maxSpare is the number of saved slices of each kind a writePipe keeps:
// one flush being saved while the next fills.
const maxSpare = 2

// giveBack keeps rows and log, saved in the ledger, for a later flush;
// they are cleared, so they hold no call's data meanwhile.
func (p *writePipe) giveBack(rows []store.LedgerEntry, log []store.Decision) {
	clear(rows)
	clear(log)
	p.mu.Lock()
	defer p.mu.Unlock()
	if cap(rows) > 0 && len(p.spareRows) < maxSpare {
		p.spareRows = append(p.spareRows, rows[:0])
	}
	if cap(log) > 0 && len(p.spareLog) < maxSpare {
		p.spareLog = append(p.spareLog, log[:0])
	}
}

// rowsSlice is an empty slice for at least room rows: a spare one when it
// has the room, else a new one.
func (p *writePipe) rowsSlice(room int) []store.LedgerEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return takeSpare(&p.spareRows, room)
}

// logSlice is rowsSlice for decision log entries.
func (p *writePipe) logSlice(room int) []store.Decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	return takeSpare(&p.spareLog, room)
}

// takeSpare removes and returns the first of spares with room for room
// elements, or returns a new empty slice of that capacity.
func takeSpare[T any](spares *[][]T, room int) []T {
	for i, r := range *spares {
		if cap(r) >= room {
			*spares = slices.Delete(*spares, i, i+1)
			return r
		}
	}
	return make([]T, 0, room)
}

// newWritePipe returns a pipe with WriteConcurrency slots (or the
// default).
func (s *Syncer) newWritePipe(shared bool) *writePipe {
	conc := s.WriteConcurrency
	if conc <= 0 {
		conc = DefaultWriteConcurrency
	}
	return &writePipe{slots: make(chan struct{}, conc), shared: shared}
}

// writeTurn is a pass's place on a writePipe: its batches take slots once
// the pass before it has handed out all of its (after is closed), so an
// older window's batches are sent first and it is recorded as early as
// it can be (the next window is decided once it is); done is closed when
// this pass has handed out its own.
type writeTurn struct {
	pipe  *writePipe
	after <-chan struct{}
	done  chan struct{}
}

// next returns the turn after the last one taken. Turns are taken in the
// order the passes are to send, by their caller (not by their goroutines).
func (p *writePipe) next() *writeTurn {
	t := &writeTurn{pipe: p, after: p.last, done: make(chan struct{})}
	p.last = t.done
	return t
}

func (p *writePipe) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

func (p *writePipe) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// write sends the activities in batches, up to WriteConcurrency batches at
// once (the CRM client's adaptive limiter decides how many requests really
// run), and records each batch's results as soon as it returns. A failed
// batch (the CRM down, the context ended) marks its items failed and ends
// the pass with the error, so the window is read again: no batch starts
// after it, the ones in flight finish and are recorded.
func (s *Syncer) write(ctx context.Context, t *Tenant, ps []*pending, o SyncOptions, sum *Summary) error {
	return s.writeVia(ctx, t, ps, o, sum, nil)
}

// writeVia is write with the batch slots of turn's pipe, once the pass
// before it has handed out its batches (nil: a pipe of its own). A failure
// of another pass on the pipe ends this one as its own does
// (errOtherWriteFailed): the batches in flight finish and are recorded,
// the rest are kept pending.
func (s *Syncer) writeVia(ctx context.Context, t *Tenant, ps []*pending, o SyncOptions, sum *Summary, turn *writeTurn) error {
	size := s.writeBatchSize()
	if turn == nil {
		turn = s.newWritePipe(false).next()
	}
	pipe := turn.pipe
	flushAt := s.LedgerFlushRows
	if flushAt <= 0 {
		flushAt = DefaultLedgerFlushRows
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // sum, outcomes, firstErr, unsaved
		saveMu   sync.Mutex // one ledger transaction at a time
		firstErr error
		// unsaved are the answered writes not yet in the ledger. Its
		// slices are sized for a flush: up to flushAt rows, and a batch
		// past them, instead of growing by doubling.
		unsaved = answered{pipe: pipe, flushAt: flushAt, room: min(flushAt, len(ps)) + size}
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		pipe.fail(err)
	}
	// save records answered writes. Rows are grouped across batches: one
	// transaction per LedgerFlushRows rows, not per batch, because SQLite's
	// cost is per commit and per page a commit touches. Grouping is safe: a
	// call whose result is not recorded yet has no row for it (or its row
	// from an earlier run), and the pass is not complete until it is, so a
	// crash leaves it to be read, decided and written again with the same
	// idempotency key, and the CRM answers that it exists. The writes not
	// sent (the pass stopped or a batch failed) are saved pending with
	// their payloads (holdWrites). The rows' decision log entries are
	// saved with them.
	// The slices saved are given back to the pipe for the next flush (the
	// store does not keep them).
	save := func(rows []store.LedgerEntry, log []store.Decision) {
		if len(rows) == 0 && len(log) == 0 {
			return
		}
		saveMu.Lock()
		defer saveMu.Unlock()
		// Record results even when the context ended: the writes happened.
		if err := s.Store.SaveLedger(context.WithoutCancel(ctx), rows, log...); err != nil {
			fail(err)
		}
		pipe.giveBack(rows, log)
	}
	slots := pipe.slots
	var stopErr error
	// sent: the writes handed to a batch; the rest are kept pending.
	sent := 0
	if turn.after != nil {
		<-turn.after
	}
	for i := 0; i < len(ps); i += size {
		slots <- struct{}{}
		if pipe.failed() {
			<-slots
			stopErr = errOtherWriteFailed // or this pass's own failure
			break
		}
		if (i > 0 || pipe.shared) && (stopped(o.Stop) || ctx.Err() != nil) {
			<-slots
			stopErr = errStopped
			break
		}
		sent = min(i+size, len(ps))
		batch := ps[i:min(i+size, len(ps))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			full, fullLog, err := s.writeBatch(ctx, t, batch, sum, &mu, &unsaved)
			if err != nil {
				fail(err) // before the slot is free: no batch starts after it
			}
			// The slot is the CRM's: the ledger save below waits for
			// its lock, not for the CRM.
			<-slots
			save(full, fullLog)
		}()
	}
	close(turn.done) // the next pass's batches may take the slots
	wg.Wait()
	save(unsaved.rows, unsaved.log)
	if err := s.holdWrites(ctx, t, ps[sent:]); err != nil {
		fail(err)
	}
	if firstErr != nil {
		return firstErr
	}
	return stopErr
}

// writeBatchSize is Syncer.WriteBatch or its default.
func (s *Syncer) writeBatchSize() int {
	if s.WriteBatch <= 0 {
		return DefaultWriteBatch
	}
	return s.WriteBatch
}

// DefaultWriteBatch is the default Syncer.WriteBatch.
const DefaultWriteBatch = 200

// flushCarry writes the writes a backfill held back (its carry) and
// records their outcomes. None are written once the pass was told to stop
// or its context ended: their ledger rows are saved pending with their
// payloads (holdWrites), for the next run.
func (s *Syncer) flushCarry(ctx context.Context, t *Tenant, carry []*pending, o SyncOptions) (Summary, error) {
	sum := Summary{Skipped: map[string]int{}}
	if len(carry) == 0 {
		return sum, nil
	}
	if stopped(o.Stop) || ctx.Err() != nil {
		return sum, s.holdWrites(ctx, t, carry)
	}
	defer s.flushDecisions(ctx, t, true)
	err := s.write(ctx, t, carry, o, &sum)
	s.Metrics.observe(t.Name, sum)
	return sum, err
}

// DefaultWriteConcurrency is the default Syncer.WriteConcurrency.
const DefaultWriteConcurrency = 8

// DefaultLedgerFlushRows is the default Syncer.LedgerFlushRows.
const DefaultLedgerFlushRows = 2000

// answered are a write pass's ledger rows with their results and their
// decision log entries, not yet saved (guarded by the pass's lock).
type answered struct {
	rows []store.LedgerEntry
	log  []store.Decision
	pipe *writePipe
	// flushAt is the number of rows saved together; room the capacity of
	// a new rows or log slice.
	flushAt, room int
}

func (a *answered) addRow(e store.LedgerEntry) {
	if a.rows == nil {
		a.rows = a.pipe.rowsSlice(a.room)
	}
	a.rows = append(a.rows, e)
}

func (a *answered) addLog(d store.Decision) {
	if a.log == nil {
		a.log = a.pipe.logSlice(max(a.room, cap(a.rows)))
	}
	a.log = append(a.log, d)
}

// full returns the rows and log entries to save once there are flushAt
// rows (none before), and starts new ones.
func (a *answered) full() ([]store.LedgerEntry, []store.Decision) {
	if len(a.rows) < a.flushAt {
		return nil, nil
	}
	rows, log := a.rows, a.log
	a.rows, a.log = nil, nil
	return rows, log
}

// writeBatch writes one batch and adds its ledger rows with the results,
// and their decision log entries, to unsaved; it returns unsaved's rows
// and entries to save when they are a flush's. mu guards sum, the outcomes
// and unsaved.
func (s *Syncer) writeBatch(ctx context.Context, t *Tenant, batch []*pending, sum *Summary, mu *sync.Mutex, unsaved *answered) ([]store.LedgerEntry, []store.Decision, error) {
	acts := make([]crm.Activity, len(batch))
	for j, p := range batch {
		acts[j] = p.dec.Activity
	}
	wctx, done := s.inFlight(ctx)
	results, err := t.CRM.WriteActivities(wctx, acts)
	done()
	err = batchResults(results, err, len(batch), "activities")
	pickFirst := t.Config().PhoneCalls.MultipleMatchesPickFirst
	mu.Lock()
	for j, p := range batch {
		e := callRow(t.Name, p.id, p.ckey, p.call, p.number, p.prev)
		e.Attempts++
		det := p.detail(pickFirst)
		det.Attempt = e.Attempts
		e.Reason, e.UnmappedUser = p.dec.Reason, p.dec.Unmapped
		r := resultAt(results, err, j)
		o := applyWrite(&e, r, sum)
		switch o.State {
		case store.Written:
			if p.dec.Reason == "" && p.dec.Activity.Open {
				e.Reason = "open"
			}
			if e.Reason == ReasonUnlinked {
				e.Payload = p.payload() // matched again (Retry), to link it
			}
			det.Answer = string(r.Status)
		case store.Failed:
			e.Payload = p.payload() // retried from it (Retry)
			det.Answer = errText(r.Err)
		default:
			det.Answer = errText(r.Err)
		}
		p.call.Raw = nil // its row is recorded: the records are not needed again
		o.CallID, o.Number, o.Detail = p.call.ID, p.number, det
		s.outcome(t, o)
		unsaved.addRow(e)
		if d, ok := s.decision(t, o); ok {
			unsaved.addLog(d)
		}
	}
	full, fullLog := unsaved.full()
	mu.Unlock()
	if err != nil {
		return full, fullLog, fmt.Errorf("write %d activities: %w", len(batch), err)
	}
	return full, fullLog, nil
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// callOutcome reports a call's outcome and adds it to the decision log.
func (s *Syncer) callOutcome(t *Tenant, o Outcome) {
	s.decide(t, o)
	s.outcome(t, o)
}

func (s *Syncer) outcome(t *Tenant, o Outcome) {
	if s.OnCall != nil {
		s.OnCall(t.Name, o)
	}
}

// mustPayload is callPayload(c); Call has only marshalable fields (its times
// come from Enreach's, whose years are four digits).
func mustPayload(c Call) []byte {
	b, err := callPayload(c)
	if err != nil {
		panic(err)
	}
	return b
}

// Retry re-processes calls whose write failed (or was interrupted) from their
// stored payload, without asking Enreach again. With unresolved, calls that
// had no CRM match are tried again too (the nightly run).
func (s *Syncer) Retry(ctx context.Context, t *Tenant, unresolved bool, o SyncOptions) (Summary, error) {
	states := []store.LedgerState{store.Failed, store.Pending}
	if unresolved {
		states = append(states, store.Unresolved)
	}
	// A pass usually has nothing to retry: one probe for all the states
	// before a read of each.
	some, err := s.Store.HasLedgerInStates(ctx, t.Name, KindCall, states, MaxAttempts)
	if err != nil {
		return Summary{}, err
	}
	var calls []Call
	for _, st := range states {
		var rows []store.LedgerEntry
		if some {
			if rows, err = s.Store.LedgerByState(ctx, t.Name, KindCall, st, MaxAttempts, 5000); err != nil {
				return Summary{}, err
			}
		}
		if st == store.Unresolved {
			// Calls written unlinked (write_unmatched) are matched again
			// with the unresolved ones.
			more, err := s.Store.WrittenWithPayload(ctx, t.Name, KindCall, ReasonUnlinked, MaxAttempts, 5000)
			if err != nil {
				return Summary{}, err
			}
			rows = append(rows, more...)
		}
		for _, r := range rows {
			var c Call
			if len(r.Payload) == 0 || json.Unmarshal(r.Payload, &c) != nil {
				continue
			}
			calls = append(calls, c)
		}
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].Start.Before(calls[j].Start) })
	return s.ProcessCalls(ctx, t, calls, o)
}
