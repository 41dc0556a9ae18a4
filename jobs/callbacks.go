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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

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
			s.cbOutcome(t, outs, Outcome{CallID: cb.ID, State: OutcomeAlready, Reason: pr.Reason, CRMID: pr.CRMID, Number: pr.Number})
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
				s.cbOutcome(t, outs, Outcome{CallID: c.id, State: OutcomeDryRun, Reason: "close", CRMID: c.crmID, Number: c.number})
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
			s.cbOutcome(t, outs, Outcome{CallID: it.cb.ID, State: OutcomeDryRun, Number: it.number})
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
