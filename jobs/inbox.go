package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// ReasonDeferred marks a delivery whose requests could not be processed now
// (CRM or lookup failure): they are parked in the ledger as failed and
// RunCallbacks retries them, so the delivery itself is done.
const ReasonDeferred = "deferred_to_retry"

// DefaultInboxBatch is the number of deliveries DrainInbox reads at a time.
const DefaultInboxBatch = 500

// inboxGroup is the deliveries of one tenant and profile in one batch.
type inboxGroup struct {
	t     *Tenant
	p     config.Profile
	cbs   []enreach.Callback
	items []store.InboxItem
	ids   []string // callback id per item (lower-case)
}

// DrainInbox processes pending webhook deliveries in batches of limit
// (DefaultInboxBatch when <= 0) until none is left: each is classified with
// its tenant's current settings (ignored ones are recorded with the reason),
// the rest grouped per tenant and profile so the CRM sees one batch each,
// processed like polled requests, and finished. Run it at start (a crash
// between receipt and processing loses nothing: the deliveries are in the
// store) and every few seconds. It returns the number of deliveries
// finished. Deliveries whose requests fail are parked in the ledger as
// failed and retried by RunCallbacks; only a store failure leaves a delivery
// pending.
func (s *Syncer) DrainInbox(ctx context.Context, reg *Registry, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultInboxBatch
	}
	total := 0
	for {
		// Deliveries of held tenants wait until the tenant starts; those of
		// tenants another replica runs are that replica's to process.
		items, err := s.Store.PendingInbox(ctx, limit, reg.Waiting()...)
		if err != nil {
			return total, err
		}
		if len(items) == 0 {
			return total, nil
		}
		n, err := s.drainBatch(ctx, reg, items)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 || len(items) < limit {
			return total, nil
		}
	}
}

func (s *Syncer) drainBatch(ctx context.Context, reg *Registry, items []store.InboxItem) (int, error) {
	done := 0
	finish := func(it store.InboxItem, state store.InboxState, reason string) error {
		if err := s.Store.FinishInbox(context.WithoutCancel(ctx), it.Tenant, it.DeliveryID, state, reason); err != nil {
			return err
		}
		done++
		return nil
	}
	groups := map[[2]string]*inboxGroup{}
	for _, it := range items {
		t, ok := reg.Get(it.Tenant)
		if !ok {
			if err := finish(it, store.InboxIgnored, ReasonUnknownTenant); err != nil {
				return done, err
			}
			continue
		}
		d, err := enreach.ParseDelivery(it.Payload)
		if err != nil {
			if err := finish(it, store.InboxIgnored, ReasonBadDelivery+": "+err.Error()); err != nil {
				return done, err
			}
			continue
		}
		p, state, reason := ClassifyDelivery(t.Config(), d)
		if state == store.InboxIgnored {
			if err := finish(it, store.InboxIgnored, reason); err != nil {
				return done, err
			}
			continue
		}
		k := [2]string{t.Name, p.Name}
		g := groups[k]
		if g == nil {
			g = &inboxGroup{t: t, p: p}
			groups[k] = g
		}
		g.cbs = append(g.cbs, *d.Callback)
		g.items = append(g.items, it)
		g.ids = append(g.ids, strings.ToLower(d.Callback.ID))
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	var errs []error
	for _, k := range keys {
		g := groups[k]
		_, outs, err := s.processCallbacks(ctx, g.t, g.p, g.cbs, SyncOptions{})
		reason := ""
		if err != nil {
			s.log().Warn("webhook deliveries deferred to the callbacks retry", "tenant", g.t.Name, "profile", g.p.Name,
				"deliveries", len(g.items), "err", err)
			if perr := s.parkCallbacks(ctx, g.t, g.p, g.cbs, err); perr != nil {
				// Nothing is lost: the deliveries stay pending.
				errs = append(errs, fmt.Errorf("%s: park callbacks %s: %w", g.t.Name, g.p.Name, errors.Join(err, perr)))
				continue
			}
			reason = ReasonDeferred
		}
		now := s.now()
		for i, it := range g.items {
			if o, ok := outs[g.ids[i]]; ok && (o.State == store.Written || o.State == OutcomeClosed) {
				s.Metrics.webhookToCRM(g.t.Name, now.Sub(it.ReceivedAt))
			}
			if err := finish(it, store.InboxProcessed, reason); err != nil {
				return done, errors.Join(append(errs, err)...)
			}
		}
	}
	return done, errors.Join(errs...)
}

// parkCallbacks makes sure every request of a failed group is in the ledger
// for RunCallbacks to retry: requests not written yet become failed with
// their payload; closed ones whose activity is open become close_pending.
func (s *Syncer) parkCallbacks(ctx context.Context, t *Tenant, p config.Profile, cbs []enreach.Callback, cause error) error {
	cst, err := s.callbackStore()
	if err != nil {
		return err
	}
	list := latestCallbacks(cbs)
	ids := make([]string, len(list))
	for i, cb := range list {
		ids[i] = strings.ToLower(cb.ID)
	}
	ctx = context.WithoutCancel(ctx)
	prev, err := s.Store.Ledger(ctx, t.Name, KindCallback, ids)
	if err != nil {
		return err
	}
	var entries []store.LedgerEntry
	var infos []store.CallbackInfo
	var closeIDs []string
	for i, cb := range list {
		id := ids[i]
		pr, seen := prev[id]
		if seen && pr.State == store.Written {
			if cb.IsClosed && pr.Reason == store.CallbackOpen {
				closeIDs = append(closeIDs, id)
			}
			continue
		}
		if seen && pr.State == store.Ignored && cb.IsClosed {
			continue // needs no work (as in processCallbacks)
		}
		attempts := pr.Attempts + 1
		if seen && pr.State == store.Failed {
			attempts = pr.Attempts // the failed write counted it; keep the newer payload
		}
		payload, err := marshalPayload(p.Name, cb)
		if err != nil {
			return err
		}
		number := s.callbackNumber(t, cb.ContactNumber)
		entries = append(entries, store.LedgerEntry{Tenant: t.Name, Kind: KindCallback, EnreachID: id,
			Key: callbackKey(t.Name, id), State: store.Failed, LastError: errText(cause), Attempts: attempts,
			ItemTime: callbackStart(cb, s.now()), Number: number, Payload: payload})
		if !seen {
			infos = append(infos, store.CallbackInfo{Tenant: t.Name, Kind: KindCallback, EnreachID: id, Profile: p.Name, Number: number})
		}
	}
	if err := cst.SaveCallbacks(ctx, entries, infos); err != nil {
		return err
	}
	return cst.SetWrittenReason(ctx, t.Name, KindCallback, closeIDs, store.CallbackClosePending, 0, errText(cause))
}

// ClassifyDelivery says what to do with a webhook delivery under a tenant's
// current settings: state "pending" (process it for profile p) or "ignored"
// with the reason. The receiver records ignored deliveries at once; the
// inbox worker classifies again when it processes (settings may change).
func ClassifyDelivery(cfg config.Tenant, d enreach.Delivery) (p config.Profile, state store.InboxState, reason string) {
	if d.Callback == nil || !enreach.IsCallbackEvent(d.EventType) {
		return p, store.InboxIgnored, ReasonNotCallback
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
			return pr, store.InboxPending, ""
		}
	}
	switch {
	case !found:
		return p, store.InboxIgnored, ReasonUnknownList
	case !active:
		return p, store.InboxIgnored, ReasonInactive
	}
	return p, store.InboxIgnored, ReasonPollingOnly
}
