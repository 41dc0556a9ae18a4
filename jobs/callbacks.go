package jobs

// Callback requests: each Enreach callback request becomes one open
// phone-call activity in the CRM, addressed to the profile's queue, linked
// to the customer found by its number, written once (ledger kind "callback",
// idempotency key crm.Key(tenant, callback, id)) and completed when Enreach
// reports it closed.
//
// Decisions taken here:
//   - A request whose number matches no customer (or several, with neither
//     multiple_matches_pick_first nor enable_multiple_match_create) is still
//     written, unlinked, with the reason in its description: a callback
//     request must reach the queue even for an unknown caller. Unlike calls,
//     nothing waits as "unresolved".
//   - A request seen for the first time already closed is written once as a
//     completed activity (the customer's history shows it), unless
//     duplicate_handling: ignore finds an open request from the same number.
//   - duplicate_handling groups by (profile, customer number). bundle writes
//     every request; all requests of a bundle carry the same bundle key in
//     their description, and each names the other open requests: a new one
//     when it is written, the earlier open ones by an update (bundles.go)
//     with a CRM client that implements crm.Updater. ignore writes only the first open request
//     and records the others as ignored (reason duplicate_open_request); an
//     ignored request is decided again when seen again (a later poll or
//     webhook), so once the first is closed a still-open one is written.
//   - A request closed in Enreach after its activity was written: the ledger
//     row goes open -> close_pending (durable intent) -> closed once the CRM
//     confirms; unconfirmed closes are retried by RunCallbacks.
//   - Nothing else about a written request is sent again.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// CallbackSource is what the callbacks job needs from the Enreach client
// beyond Enreach. *enreach.Client implements it.
type CallbackSource interface {
	Callbacks(ctx context.Context, listID string, w enreach.Window) ([]enreach.Callback, []enreach.Malformed, error)
}

// ErrNoQueueOwners: a queue_owner rule is configured but the tenant's CRM
// client cannot tell who owns a queue.
var ErrNoQueueOwners = errors.New("queue_owner rule: the CRM client cannot resolve queue owners")

// CallbackStore is the state the callback jobs need beyond Store.
// *store.Store implements it.
type CallbackStore interface {
	SaveCallbacks(ctx context.Context, entries []store.LedgerEntry, infos []store.CallbackInfo) error
	OpenCallbacks(ctx context.Context, tenant, kind, profile string, numbers []string) ([]store.OpenCallback, error)
	SetWrittenReason(ctx context.Context, tenant, kind string, ids []string, reason string, attempts int, lastError string) error
	WrittenByReason(ctx context.Context, tenant, kind, reason string, maxAttempts, limit int) ([]store.LedgerEntry, error)
}

// Reasons recorded for callback requests and webhook deliveries.
const (
	// ReasonDuplicateOpen: ignored, an open request from the same number
	// is already in the profile's queue (duplicate_handling: ignore).
	ReasonDuplicateOpen = "duplicate_open_request"
	// Webhook deliveries recorded as ignored.
	ReasonPollingOnly   = "polling_only"          // the profile's sync_method is polling
	ReasonInactive      = "profile_inactive"      // the profile has active: false
	ReasonUnknownList   = "unknown_callback_list" // no profile has the delivery's callback list
	ReasonNotCallback   = "not_a_callback_event"  // an event callsync does not process
	ReasonUnknownTenant = "unknown_tenant"        // the tenant left the config before processing
	ReasonBadDelivery   = "invalid_delivery"      // the stored body no longer parses
)

// StreamCallbacks is the watermark stream of a callback profile.
func StreamCallbacks(profile string) string { return "callbacks/" + profile }

// defaultCallbackSubject is used when neither the profile nor the tenant
// sets a subject (the validator allows an empty default_subject).
const defaultCallbackSubject = "Callback request"

// defaultCallbackAge is the polling window of a profile without an age
// (webhook profiles polled by hand).
const defaultCallbackAge = time.Hour

// callbackPayload is what the ledger keeps to retry a request without asking
// Enreach again.
type callbackPayload struct {
	Profile  string           `json:"profile"`
	Callback enreach.Callback `json:"callback"`
}

func marshalPayload(profile string, cb enreach.Callback) ([]byte, error) {
	b, err := json.Marshal(callbackPayload{Profile: profile, Callback: cb})
	if err != nil {
		return nil, fmt.Errorf("callback %s payload: %w", cb.ID, err)
	}
	return b, nil
}

// callbackKey is the idempotency key of a request (id lower-case).
func callbackKey(tenant, id string) string { return crm.Key(tenant, crm.KindCallback, id) }

func (s *Syncer) callbackStore() (CallbackStore, error) {
	cs, ok := s.Store.(CallbackStore)
	if !ok {
		return nil, fmt.Errorf("jobs: the store (%T) does not keep callback requests", s.Store)
	}
	return cs, nil
}

// ProcessCallbacks decides and writes callback requests of one profile (from
// a poll or from webhook deliveries). Requests already written are not
// written again; closed ones complete their activity. Item failures are
// recorded in the ledger and retried by RunCallbacks; the error is for a
// failure of the whole pass (the CRM or the store unreachable).
func (s *Syncer) ProcessCallbacks(ctx context.Context, t *Tenant, p config.Profile, cbs []enreach.Callback, o SyncOptions) (Summary, error) {
	sum, _, err := s.processCallbacks(ctx, t, p, cbs, o)
	return sum, err
}

// cbItem is one callback request on its way to the CRM.
type cbItem struct {
	id     string // lower-case
	cb     enreach.Callback
	prev   store.LedgerEntry
	number string // E.164 when it parsed, else the raw value trimmed
	act    crm.Activity
	info   store.CallbackInfo
	// ignored is set when duplicate_handling: ignore keeps it out.
	ignored bool
	// matchNote is the customer line of the description.
	matchNote string
	// crmID is set once the activity is written open (writeCallbacks).
	crmID string
}

// closing is a written request whose CRM activity is to be completed.
type closing struct {
	id, key, crmID, number string
	attempts               int
}

// sibling is an open request of a duplicate group.
type sibling struct {
	id, crmID, bundle string
	// key and cb (from the stored payload, or the request of this pass)
	// let an earlier request's description be written again; item is set
	// for a request of this pass.
	key  string
	cb   *enreach.Callback
	item *cbItem
}

func (s *Syncer) processCallbacks(ctx context.Context, t *Tenant, p config.Profile, cbs []enreach.Callback, o SyncOptions) (Summary, map[string]Outcome, error) {
	t.callbacks.Lock()
	defer t.callbacks.Unlock()
	sum := Summary{Skipped: map[string]int{}}
	outs := map[string]Outcome{}
	list := latestCallbacks(cbs)
	sum.Seen = len(list)
	if len(list) == 0 {
		return sum, outs, nil
	}
	cst, err := s.callbackStore()
	if err != nil {
		return sum, outs, err
	}
	cfg := t.Config()
	ids := make([]string, len(list))
	for i, cb := range list {
		ids[i] = strings.ToLower(cb.ID)
	}
	prev, err := s.Store.Ledger(ctx, t.Name, KindCallback, ids)
	if err != nil {
		return sum, outs, err
	}

	var closes []closing
	closingIDs := map[string]bool{}
	var todo []*cbItem
	for i, cb := range list {
		id := ids[i]
		pr, seen := prev[id]
		switch {
		case seen && pr.State == store.Written:
			if cb.IsClosed && (pr.Reason == store.CallbackOpen || pr.Reason == store.CallbackClosePending) {
				closes = append(closes, closing{id: id, key: pr.Key, crmID: pr.CRMID, number: pr.Number, attempts: 0})
				closingIDs[id] = true
				continue
			}
			sum.Already++
			s.cbOutcome(t, outs, Outcome{CallID: cb.ID, State: "already", Reason: pr.Reason, CRMID: pr.CRMID, Number: pr.Number})
		case seen && pr.State == store.Ignored && cb.IsClosed:
			// An ignored duplicate that is now closed needs no work.
			sum.Already++
			s.cbOutcome(t, outs, Outcome{CallID: cb.ID, State: store.Ignored, Reason: pr.Reason, Number: pr.Number})
		default:
			it := &cbItem{id: id, cb: cb, prev: pr}
			it.number = s.callbackNumber(t, cb.ContactNumber)
			todo = append(todo, it)
		}
	}

	var errs []error
	if len(closes) > 0 {
		if o.DryRun {
			sum.WouldWrite += len(closes)
			for _, c := range closes {
				s.cbOutcome(t, outs, Outcome{CallID: c.id, State: "dry-run", Reason: "close", CRMID: c.crmID, Number: c.number})
			}
		} else if err := s.closeCallbacks(ctx, t, cst, closes, &sum, outs); err != nil {
			errs = append(errs, err)
		}
	}
	if len(todo) == 0 {
		return sum, outs, errors.Join(errs...)
	}

	groups, err := s.decideCallbacks(ctx, t, cfg, p, cst, todo, closingIDs)
	if err != nil {
		return sum, outs, errors.Join(append(errs, fmt.Errorf("callbacks %s: %w", p.Name, err))...)
	}

	var ledger []store.LedgerEntry
	var infos []store.CallbackInfo
	var write []*cbItem
	for _, it := range todo {
		payload, err := marshalPayload(p.Name, it.cb)
		if err != nil {
			return sum, outs, fmt.Errorf("callback %s: %w", it.cb.ID, err)
		}
		e := store.LedgerEntry{Tenant: t.Name, Kind: KindCallback, EnreachID: it.id, Key: it.act.Key,
			ItemTime: it.act.Start, Number: it.number, Attempts: it.prev.Attempts, Payload: payload}
		if it.ignored {
			e.State, e.Reason = store.Ignored, ReasonDuplicateOpen
			sum.Skipped[ReasonDuplicateOpen]++
			s.cbOutcome(t, outs, Outcome{CallID: it.cb.ID, State: store.Ignored, Reason: ReasonDuplicateOpen, Number: it.number})
		} else {
			e.State = store.Pending
			write = append(write, it)
		}
		ledger = append(ledger, e)
		infos = append(infos, it.info)
	}
	if o.DryRun {
		sum.WouldWrite += len(write)
		for _, it := range write {
			s.cbOutcome(t, outs, Outcome{CallID: it.cb.ID, State: "dry-run", Number: it.number})
		}
		return sum, outs, errors.Join(errs...)
	}
	// The decisions and payloads are durable before the CRM is asked: a
	// crash from here on is replayed from the ledger by RunCallbacks.
	if err := cst.SaveCallbacks(ctx, ledger, infos); err != nil {
		return sum, outs, errors.Join(append(errs, err)...)
	}
	if err := s.writeCallbacks(ctx, t, cst, write, o, &sum, outs); err != nil {
		errs = append(errs, err)
	}
	if p.DuplicateHandling != config.DuplicatesIgnore {
		if err := s.linkBundles(ctx, t, cst, p, todo, groups); err != nil {
			errs = append(errs, err)
		}
	}
	return sum, outs, errors.Join(errs...)
}

// latestCallbacks keeps one value per request id (the latest modified; on a
// tie a closed one, else the later one) and orders them by creation, so
// duplicate decisions follow the order the customer asked in.
func latestCallbacks(cbs []enreach.Callback) []enreach.Callback {
	idx := map[string]int{}
	var out []enreach.Callback
	for _, cb := range cbs {
		if strings.TrimSpace(cb.ID) == "" {
			continue
		}
		k := strings.ToLower(cb.ID)
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, cb)
			continue
		}
		old := out[i]
		if cb.ModifiedTime.After(old.ModifiedTime) ||
			(cb.ModifiedTime.Equal(old.ModifiedTime) && (cb.IsClosed || !old.IsClosed)) {
			out[i] = cb
		}
	}
	slices.SortStableFunc(out, func(a, b enreach.Callback) int {
		if c := a.CreatedTime.Compare(b.CreatedTime); c != 0 {
			return c
		}
		return cmp.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
	})
	return out
}

// callbackNumber is the customer number as written and grouped: E.164 when
// it parses, else the raw value.
func (s *Syncer) callbackNumber(t *Tenant, raw string) string {
	n, _ := t.Matcher.Normalize(raw)
	if n.E164() != "" {
		return n.E164()
	}
	return strings.TrimSpace(raw)
}

// decideCallbacks matches the customers, resolves owner and recipient, and
// applies duplicate_handling, filling each item's activity and info.
func (s *Syncer) decideCallbacks(ctx context.Context, t *Tenant, cfg config.Tenant, p config.Profile, cst CallbackStore, todo []*cbItem, closingIDs map[string]bool) (map[string][]sibling, error) {
	var raws, numbers []string
	seenNum := map[string]bool{}
	for _, it := range todo {
		if it.cb.ContactNumber != "" {
			raws = append(raws, it.cb.ContactNumber)
		}
		if it.number != "" && !seenNum[it.number] {
			seenNum[it.number] = true
			numbers = append(numbers, it.number)
		}
	}
	s.refreshPhones(ctx, t)
	matches, err := t.Matcher.Match(ctx, raws, false)
	if err != nil {
		return nil, err
	}
	owner, recipient, recipientIsQueue, err := s.callbackParties(ctx, t, cfg, p)
	if err != nil {
		return nil, err
	}
	open, err := cst.OpenCallbacks(ctx, t.Name, KindCallback, p.Name, numbers)
	if err != nil {
		return nil, err
	}
	groups := map[string][]sibling{}
	for _, oc := range open {
		if closingIDs[oc.EnreachID] {
			continue // closed in this pass
		}
		sib := sibling{id: oc.EnreachID, crmID: oc.CRMID, bundle: oc.BundleKey, key: oc.Key}
		var pl callbackPayload
		if len(oc.Payload) > 0 && json.Unmarshal(oc.Payload, &pl) == nil && pl.Callback.ID != "" {
			sib.cb = &pl.Callback
		}
		groups[oc.Number] = append(groups[oc.Number], sib)
	}

	pc := cfg.PhoneCalls
	subject := cfg.Callbacks.Subject(p)
	if strings.TrimSpace(subject) == "" {
		subject = defaultCallbackSubject
	}
	bundle := p.DuplicateHandling != config.DuplicatesIgnore
	for _, it := range todo {
		cb := it.cb
		it.info = store.CallbackInfo{Tenant: t.Name, Kind: KindCallback, EnreachID: it.id, Profile: p.Name, Number: it.number}
		group := groups[it.number]
		if it.number == "" {
			group = nil
		}
		if !bundle && len(group) > 0 {
			it.ignored = true
			it.act = crm.Activity{Key: callbackKey(t.Name, it.id), Start: callbackStart(cb, s.now())}
			continue
		}
		var linked []sibling
		if bundle && it.number != "" {
			if len(group) > 0 {
				it.info.BundleKey = group[0].bundle
				if it.info.BundleKey == "" {
					it.info.BundleKey = bundleKey(t.Name, group[0].id)
				}
				linked = group
			} else {
				it.info.BundleKey = bundleKey(t.Name, it.id)
			}
			it.info.Linked = len(linked)
		}
		m := matches[cb.ContactNumber]
		a := crm.Activity{
			Key:              callbackKey(t.Name, it.id),
			Kind:             crm.KindCallback,
			EnreachID:        cb.ID,
			Subject:          subject,
			Direction:        crm.Inbound,
			Number:           it.number,
			Start:            callbackStart(cb, s.now()),
			Open:             !cb.IsClosed,
			QueueID:          p.Queue,
			OwnerID:          owner,
			RecipientID:      recipient,
			RecipientIsQueue: recipientIsQueue,
		}
		a.End = a.Start
		if cb.DueDate != nil {
			d := cb.DueDate.UTC()
			a.Due = &d
		}
		if !recipientIsQueue {
			a.UserID = recipient
		}
		var matchNote string
		switch recs := m.Records; {
		case len(recs) == 0:
			matchNote = "Customer: no CRM record has this number."
		case len(recs) == 1 || pc.MultipleMatchesPickFirst:
			r := recs[0].Ref
			a.Regarding = &r
			a.Related = []crm.Ref{r}
		default:
			names := make([]string, len(recs))
			for i, r := range recs {
				names[i] = r.Ref.String()
			}
			matchNote = fmt.Sprintf("Customer: several CRM records have this number (%s); link the right one.", strings.Join(names, ", "))
			if pc.EnableMultipleMatchCreate {
				a.Related = refs(recs)
				if a.Open {
					a.StatusReason = pc.MultipleMatchPhoneCallStatus
				}
			}
		}
		a.Description = callbackDescription(cb, matchNote, it.info.BundleKey, linked)
		a.Audit = callbackAudit(cb, pc.EnableAudit)
		it.act, it.matchNote = a, matchNote
		if a.Open && it.number != "" {
			groups[it.number] = append(groups[it.number], sibling{id: it.id, bundle: it.info.BundleKey, key: a.Key, cb: &it.cb, item: it})
		}
	}
	return groups, nil
}

// callbackParties resolves the activity owner ("" = the integration user)
// and the recipient ("to") of a profile's requests.
func (s *Syncer) callbackParties(ctx context.Context, t *Tenant, cfg config.Tenant, p config.Profile) (owner, recipient string, recipientIsQueue bool, err error) {
	needOwner := p.OwnershipRule == config.OwnerQueueOwner || cfg.Callbacks.RecipientRule == config.RecipientQueueOwner
	var queueOwner string
	if needOwner {
		qo, ok := t.CRM.(crm.QueueOwners)
		if !ok {
			return "", "", false, ErrNoQueueOwners
		}
		if p.Queue == "" {
			return "", "", false, fmt.Errorf("queue_owner rule: profile %s has no queue", p.Name)
		}
		owners, err := qo.QueueOwners(ctx, []string{p.Queue})
		if err != nil {
			return "", "", false, fmt.Errorf("queue owner of %s: %w", p.Queue, err)
		}
		queueOwner = owners[p.Queue]
		if queueOwner == "" {
			return "", "", false, fmt.Errorf("queue_owner rule: queue %s has no owning user", p.Queue)
		}
	}
	if p.OwnershipRule == config.OwnerQueueOwner {
		owner = queueOwner
	}
	if cfg.Callbacks.RecipientRule == config.RecipientQueueOwner {
		return owner, queueOwner, false, nil
	}
	return owner, p.Queue, p.Queue != "", nil
}

func callbackStart(cb enreach.Callback, now time.Time) time.Time {
	switch {
	case !cb.CreatedTime.IsZero():
		return cb.CreatedTime.UTC()
	case !cb.ModifiedTime.IsZero():
		return cb.ModifiedTime.UTC()
	}
	return now
}

// bundleKey names a bundle after the request that started it.
func bundleKey(tenant, firstID string) string {
	return fmt.Sprintf("callsync/v1/%s/callback-bundle/%s", tenant, firstID)
}

// callbackDescription renders the activity text: the request's details, the
// match note and the bundle. The full Enreach record goes to Activity.Audit.
func callbackDescription(cb enreach.Callback, matchNote, bundle string, linked []sibling) string {
	var b strings.Builder
	line := func(label, v string) {
		if strings.TrimSpace(v) != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, v)
		}
	}
	fmt.Fprintf(&b, "Callback request %s\n", cb.ID)
	line("Contact", cb.ContactName)
	line("Number", cb.ContactNumber)
	line("Message", cb.ContactMessage)
	line("Note", cb.Note)
	if cb.DueDate != nil {
		line("Due", cb.DueDate.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if cb.IsClosed {
		st := cb.HandlingStatus
		if st == "" {
			st = "closed"
		}
		if cb.ClosedTime != nil {
			st += " at " + cb.ClosedTime.UTC().Format("2006-01-02 15:04 UTC")
		}
		line("Closed in Enreach", st)
	}
	line("Callback list", cb.CallbackListID)
	line("Recording", cb.RecordingID)
	if matchNote != "" {
		b.WriteString(matchNote + "\n")
	}
	if bundle != "" {
		line("Bundle", bundle)
		if len(linked) > 0 {
			parts := make([]string, len(linked))
			for i, l := range linked {
				parts[i] = l.id
				if l.crmID != "" {
					parts[i] += " (CRM " + l.crmID + ")"
				}
			}
			line("Other open requests from this number", strings.Join(parts, ", "))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// callbackAudit is the request's audit text: the full Enreach record as JSON
// with enable_audit, else "CallId is <id>" (as for calls).
func callbackAudit(cb enreach.Callback, enabled bool) string {
	if len(cb.Raw) == 0 {
		return Audit(Call{ID: cb.ID}, false)
	}
	return Audit(Call{ID: cb.ID, Raw: []json.RawMessage{cb.Raw}}, enabled)
}

// writeCallbacks writes the decided activities in batches and records each
// result. A closed request whose activity turned out to exist already (an
// earlier run wrote it open, then lost the answer) is closed as well.
func (s *Syncer) writeCallbacks(ctx context.Context, t *Tenant, cst CallbackStore, items []*cbItem, o SyncOptions, sum *Summary, outs map[string]Outcome) error {
	size := s.WriteBatch
	if size <= 0 {
		size = 200
	}
	var closeAfter []closing
	var errs []error
	for i := 0; i < len(items); i += size {
		if i > 0 && (stopped(o.Stop) || ctx.Err() != nil) {
			errs = append(errs, errors.New("stopped before all callback batches were written; the rest is retried"))
			break
		}
		batch := items[i:min(i+size, len(items))]
		acts := make([]crm.Activity, len(batch))
		for j, it := range batch {
			acts[j] = it.act
		}
		wctx, done := s.inFlight(ctx)
		results, err := t.CRM.WriteActivities(wctx, acts)
		done()
		if err == nil && len(results) != len(batch) {
			err = fmt.Errorf("crm returned %d results for %d activities", len(results), len(batch))
		}
		ledger := make([]store.LedgerEntry, len(batch))
		for j, it := range batch {
			e := store.LedgerEntry{Tenant: t.Name, Kind: KindCallback, EnreachID: it.id, Key: it.act.Key,
				ItemTime: it.act.Start, Number: it.number, Attempts: it.prev.Attempts + 1}
			r := crm.WriteResult{Status: crm.Failed, Err: err}
			if err == nil {
				r = results[j]
			}
			switch r.Status {
			case crm.Created, crm.Existed:
				e.State, e.CRMID, e.Reason = store.Written, r.ID, store.CallbackOpen
				if it.act.Open {
					it.crmID = r.ID
				}
				if !it.act.Open {
					e.Reason = store.CallbackClosed
					if r.Status == crm.Existed {
						// It may have been written open: close it to be sure.
						e.Reason = store.CallbackOpen
						closeAfter = append(closeAfter, closing{id: it.id, key: it.act.Key, crmID: r.ID, number: it.number})
					}
				}
				sum.Written++
				s.cbOutcome(t, outs, Outcome{CallID: it.cb.ID, State: store.Written, Reason: string(r.Status), CRMID: r.ID, Number: it.number})
			case crm.Failed:
				if errors.Is(r.Err, crm.ErrNotRecorded) {
					e.State, e.Reason = store.Skipped, ReasonNotRecorded
					sum.Skipped[ReasonNotRecorded]++
					s.cbOutcome(t, outs, Outcome{CallID: it.cb.ID, State: store.Skipped, Reason: ReasonNotRecorded, Number: it.number})
					break
				}
				fallthrough
			default:
				e.State, e.LastError = store.Failed, errText(r.Err)
				if errors.Is(r.Err, crm.ErrPermanent) {
					e.Attempts = MaxAttempts
				}
				sum.Failed++
				s.cbOutcome(t, outs, Outcome{CallID: it.cb.ID, State: store.Failed, Number: it.number, Err: r.Err})
				s.log().Warn("callback request not written", "tenant", t.Name, "callback", it.cb.ID, "err", r.Err)
			}
			ledger[j] = e
		}
		// Record results even when the context ended: the writes happened.
		if serr := cst.SaveCallbacks(context.WithoutCancel(ctx), ledger, nil); serr != nil {
			return errors.Join(append(errs, serr)...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write %d callback requests: %w", len(batch), err))
			break
		}
	}
	if len(closeAfter) > 0 {
		written := sum.Written
		if err := s.closeCallbacks(ctx, t, cst, closeAfter, sum, outs); err != nil {
			errs = append(errs, err)
		}
		sum.Written = written // these closes complete a write already counted
	}
	return errors.Join(errs...)
}

// closeCallbacks completes the CRM activities of requests closed in Enreach.
// The intent (close_pending) is durable first; confirmed closes become
// closed, refused ones close_failed, the rest stay close_pending for the
// retry in RunCallbacks.
func (s *Syncer) closeCallbacks(ctx context.Context, t *Tenant, cst CallbackStore, cs []closing, sum *Summary, outs map[string]Outcome) error {
	bg := context.WithoutCancel(ctx)
	byAttempts := map[int][]string{}
	for _, c := range cs {
		byAttempts[c.attempts] = append(byAttempts[c.attempts], c.id)
	}
	for n, ids := range byAttempts {
		if err := cst.SetWrittenReason(ctx, t.Name, KindCallback, ids, store.CallbackClosePending, n, ""); err != nil {
			return err
		}
	}
	size := s.WriteBatch
	if size <= 0 {
		size = 200
	}
	var errs []error
	for i := 0; i < len(cs); i += size {
		if i > 0 && ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("stopped before all batches were sent: %w", ctx.Err()))
			break
		}
		batch := cs[i:min(i+size, len(cs))]
		reqs := make([]crm.CloseRequest, len(batch))
		for j, c := range batch {
			reqs[j] = crm.CloseRequest{Key: c.key, ID: c.crmID}
		}
		wctx, done := s.inFlight(ctx)
		results, err := t.CRM.CloseActivities(wctx, reqs)
		done()
		if err == nil && len(results) != len(batch) {
			err = fmt.Errorf("crm returned %d results for %d closes", len(results), len(batch))
		}
		for j, c := range batch {
			r := crm.WriteResult{Status: crm.Failed, Err: err}
			if err == nil {
				r = results[j]
			}
			reason, attempts, lastErr := store.CallbackClosed, c.attempts, ""
			switch r.Status {
			case crm.Created, crm.Existed:
				sum.Written++
				s.cbOutcome(t, outs, Outcome{CallID: c.id, State: "closed", Reason: string(r.Status), CRMID: c.crmID, Number: c.number})
			default:
				reason, attempts, lastErr = store.CallbackClosePending, c.attempts+1, errText(r.Err)
				if errors.Is(r.Err, crm.ErrPermanent) {
					reason = store.CallbackCloseFailed
				}
				sum.Failed++
				s.cbOutcome(t, outs, Outcome{CallID: c.id, State: store.Failed, Reason: "close", CRMID: c.crmID, Number: c.number, Err: r.Err})
				s.log().Warn("callback activity not closed", "tenant", t.Name, "callback", c.id, "crm_id", c.crmID, "err", r.Err)
			}
			if serr := cst.SetWrittenReason(bg, t.Name, KindCallback, []string{c.id}, reason, attempts, lastErr); serr != nil {
				return errors.Join(append(errs, serr)...)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("close %d callback activities: %w", len(batch), err))
		}
	}
	return errors.Join(errs...)
}

func (s *Syncer) cbOutcome(t *Tenant, outs map[string]Outcome, o Outcome) {
	outs[strings.ToLower(o.CallID)] = o
	if o.State != "dry-run" {
		s.Metrics.callback(t.Name, o.State)
	}
	s.outcome(t, o)
}

// RunCallbacks is one run of the callbacks job for a tenant (every minute):
// every active profile's failed writes and unconfirmed closes are retried,
// then each active profile whose sync_method polls reads the requests
// modified in the last `age` (at least back to its watermark, less Overlap).
// Profile settings are read at each run, so a config change applies at the
// next one.
func (s *Syncer) RunCallbacks(ctx context.Context, t *Tenant, o SyncOptions) (Summary, error) {
	return s.recordRun(ctx, t, "callbacks", func(ctx context.Context) (Summary, error) {
		var errs []error
		// Earlier failures first, then what is new.
		sum, err := s.RetryCallbacks(ctx, t, o)
		if err != nil {
			errs = append(errs, err)
		}
		cfg := t.Config()
		for _, p := range cfg.ActiveProfiles() {
			if !p.Polls() {
				continue
			}
			if stopped(o.Stop) {
				break
			}
			got, err := s.pollProfile(ctx, t, p, o)
			sum.Add(got)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return sum, errors.Join(errs...)
	})
}

// SyncCallbacksOnce is `callsync sync callbacks`: one polling pass by hand
// for one profile, or for every active profile when profile is "" (webhook
// profiles too: a manual pass is how a gap is repaired). An inactive or
// unknown profile is an error.
func (s *Syncer) SyncCallbacksOnce(ctx context.Context, t *Tenant, profile string, o SyncOptions) (Summary, error) {
	cfg := t.Config()
	var ps []config.Profile
	if profile == "" {
		ps = cfg.ActiveProfiles()
	} else {
		p, ok := cfg.Profile(profile)
		if !ok {
			return Summary{}, fmt.Errorf("%s: no callback profile %q", t.Name, profile)
		}
		if !p.Active {
			return Summary{}, fmt.Errorf("%s: callback profile %q is not active", t.Name, profile)
		}
		ps = []config.Profile{*p}
	}
	job := "callbacks-manual"
	if o.DryRun {
		job = "callbacks-dry-run"
	}
	return s.recordRun(ctx, t, job, func(ctx context.Context) (Summary, error) {
		var sum Summary
		var errs []error
		for _, p := range ps {
			got, err := s.pollProfile(ctx, t, p, o)
			sum.Add(got)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return sum, errors.Join(errs...)
	})
}

// pollProfile reads one profile's callback list from max(watermark -
// Overlap, now - age) to now, in chunks that each advance the watermark.
func (s *Syncer) pollProfile(ctx context.Context, t *Tenant, p config.Profile, o SyncOptions) (Summary, error) {
	var sum Summary
	src, ok := t.Enreach.(CallbackSource)
	if !ok {
		return sum, fmt.Errorf("callbacks %s: the Enreach client (%T) cannot read callback lists", p.Name, t.Enreach)
	}
	stream := StreamCallbacks(p.Name)
	now := s.now().Truncate(time.Second)
	age := p.Age.D()
	if age <= 0 {
		age = defaultCallbackAge
	}
	from := now.Add(-age)
	wm, ok, err := s.Store.Watermark(ctx, t.Name, stream)
	if err != nil {
		return sum, err
	}
	if ok {
		if b := wm.Add(-Overlap); b.Before(from) {
			from = b
		}
	}
	for start := from; start.Before(now); {
		if stopped(o.Stop) {
			break
		}
		end := start.Add(CatchUpChunk)
		if end.After(now) {
			end = now
		}
		cbs, bad, err := src.Callbacks(ctx, p.CallbackListID, enreach.Window{From: start, To: end, ByModified: true})
		if err != nil {
			return sum, fmt.Errorf("enreach callbacks %s: %w", p.Name, err)
		}
		if len(bad) > 0 && !o.DryRun {
			n, err := s.quarantine(ctx, t, stream, bad)
			sum.Quarantined += n
			if err != nil {
				return sum, err
			}
		}
		got, err := s.ProcessCallbacks(ctx, t, p, cbs, o)
		sum.Add(got)
		if err != nil {
			return sum, err
		}
		if !o.DryRun {
			if err := s.Store.SetWatermark(ctx, t.Name, stream, end); err != nil {
				return sum, err
			}
			s.Metrics.watermark(t.Name, stream, s.now().Sub(end))
		}
		start = end
	}
	return sum, nil
}

// RetryCallbacks re-processes callback requests whose write failed or was
// interrupted, from their stored payload, for the profiles that are still
// active, and retries unconfirmed closes.
func (s *Syncer) RetryCallbacks(ctx context.Context, t *Tenant, o SyncOptions) (Summary, error) {
	var sum Summary
	cst, err := s.callbackStore()
	if err != nil {
		return sum, err
	}
	cfg := t.Config()
	byProfile := map[string][]enreach.Callback{}
	for _, st := range []string{store.Failed, store.Pending} {
		rows, err := s.Store.LedgerByState(ctx, t.Name, KindCallback, st, MaxAttempts, 5000)
		if err != nil {
			return sum, err
		}
		for _, r := range rows {
			var pl callbackPayload
			if len(r.Payload) == 0 || json.Unmarshal(r.Payload, &pl) != nil || pl.Callback.ID == "" {
				continue
			}
			byProfile[pl.Profile] = append(byProfile[pl.Profile], pl.Callback)
		}
	}
	var errs []error
	names := make([]string, 0, len(byProfile))
	for n := range byProfile {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		p, ok := cfg.Profile(name)
		if !ok || !p.Active {
			continue // waits until the profile is active again
		}
		got, err := s.ProcessCallbacks(ctx, t, *p, byProfile[name], o)
		sum.Add(got)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.DryRun {
		return sum, errors.Join(errs...)
	}
	rows, err := cst.WrittenByReason(ctx, t.Name, KindCallback, store.CallbackClosePending, MaxAttempts, 5000)
	if err != nil {
		return sum, errors.Join(append(errs, err)...)
	}
	if len(rows) > 0 {
		cs := make([]closing, len(rows))
		for i, r := range rows {
			cs[i] = closing{id: r.EnreachID, key: r.Key, crmID: r.CRMID, number: r.Number, attempts: r.Attempts}
		}
		got := Summary{Skipped: map[string]int{}}
		if err := s.closeCallbacks(ctx, t, cst, cs, &got, map[string]Outcome{}); err != nil {
			errs = append(errs, err)
		}
		sum.Add(got)
	}
	return sum, errors.Join(errs...)
}

// ClassifyDelivery says what to do with a webhook delivery under a tenant's
// current settings: state "pending" (process it for profile p) or "ignored"
// with the reason. The receiver records ignored deliveries at once; the
// inbox worker classifies again when it processes (settings may change).
func ClassifyDelivery(cfg config.Tenant, d enreach.Delivery) (p config.Profile, state, reason string) {
	if d.Callback == nil || !enreach.IsCallbackEvent(d.EventType) {
		return p, store.Ignored, ReasonNotCallback
	}
	found, active := false, false
	for _, pr := range cfg.Callbacks.Profiles {
		if !strings.EqualFold(pr.CallbackListID, d.Callback.CallbackListID) || pr.CallbackListID == "" {
			continue
		}
		if !found || (!active && pr.Active) {
			p, found, active = pr, true, pr.Active
		}
		if pr.Active && pr.TakesWebhooks() {
			return pr, InboxPending, ""
		}
	}
	switch {
	case !found:
		return p, store.Ignored, ReasonUnknownList
	case !active:
		return p, store.Ignored, ReasonInactive
	}
	return p, store.Ignored, ReasonPollingOnly
}
