package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// link updates calls written unlinked (write_unmatched) whose caller now has
// one CRM record: the same activity, found by the CRM id the ledger holds
// (or its idempotency key), gets the link; no second activity is written.
// The ledger row stays written and moves from reason unlinked to linked; a
// failed update counts an attempt and is tried again by a later run.
func (s *Syncer) link(ctx context.Context, t *Tenant, ps []*pending, sum *Summary) error {
	if len(ps) == 0 {
		return nil
	}
	up, ok := t.CRM.(crm.Updater)
	if !ok {
		s.log().Warn("the CRM client cannot update activities: calls written unlinked stay unlinked", "tenant", t.Name, "calls", len(ps))
		sum.Already += len(ps)
		return nil
	}
	size := s.WriteBatch
	if size <= 0 {
		size = 200
	}
	var errs []error
	for i := 0; i < len(ps); i += size {
		if i > 0 && ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("stopped before all batches were sent: %w", ctx.Err()))
			break
		}
		batch := ps[i:min(i+size, len(ps))]
		ups := make([]crm.ActivityUpdate, len(batch))
		for j, p := range batch {
			a := p.dec.Activity
			ups[j] = crm.ActivityUpdate{Key: p.prev.Key, ID: p.prev.CRMID, Kind: crm.KindCall, Direction: a.Direction,
				Regarding: a.Regarding, Related: a.Related, Completed: !a.Open}
			if ups[j].Key == "" {
				ups[j].Key = a.Key
			}
		}
		wctx, done := s.inFlight(ctx)
		results, err := up.UpdateActivities(wctx, ups)
		done()
		if err == nil && len(results) != len(batch) {
			err = fmt.Errorf("crm returned %d results for %d updates", len(results), len(batch))
		}
		bg := context.WithoutCancel(ctx)
		for j, p := range batch {
			r := crm.WriteResult{Status: crm.Failed, Err: err}
			if err == nil {
				r = results[j]
			}
			reason, attempts, lastErr := ReasonLinked, p.prev.Attempts, ""
			if r.Status != crm.Updated {
				reason, attempts, lastErr = ReasonUnlinked, p.prev.Attempts+1, errText(r.Err)
				if errors.Is(r.Err, crm.ErrPermanent) || errors.Is(r.Err, crm.ErrNotFound) {
					attempts = MaxAttempts // deleted in the CRM, say: no more tries
				}
				sum.Failed++
				s.callOutcome(t, Outcome{CallID: p.call.ID, State: store.Failed, Reason: "link", CRMID: p.prev.CRMID, Number: p.number, Err: r.Err})
				s.log().Warn("call written unlinked not linked", "tenant", t.Name, "call", p.call.ID, "crm_id", p.prev.CRMID, "err", r.Err)
			} else {
				sum.Linked++
				s.callOutcome(t, Outcome{CallID: p.call.ID, State: store.Written, Reason: ReasonLinked, CRMID: p.prev.CRMID, Number: p.number})
			}
			if serr := s.Store.SetWrittenReason(bg, t.Name, KindCall, []string{p.prev.EnreachID}, reason, attempts, lastErr); serr != nil {
				return errors.Join(append(errs, serr)...)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("link %d calls: %w", len(batch), err))
			break
		}
	}
	return errors.Join(errs...)
}
