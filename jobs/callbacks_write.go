package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

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
		err = batchResults(results, err, len(batch), "activities")
		ledger := make([]store.LedgerEntry, len(batch))
		for j, it := range batch {
			e := store.LedgerEntry{Tenant: t.Name, Kind: KindCallback, EnreachID: it.id, Key: it.act.Key,
				ItemTime: it.act.Start, Number: it.number, Attempts: it.prev.Attempts + 1}
			r := resultAt(results, err, j)
			o := applyWrite(&e, r, sum)
			switch o.State {
			case store.Written:
				e.Reason = store.CallbackOpen
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
			case store.Failed:
				s.log().Warn("callback request not written", "tenant", t.Name, "callback", it.cb.ID, "err", r.Err)
			}
			o.CallID, o.Number = it.cb.ID, it.number
			s.cbOutcome(t, outs, o)
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
		err = batchResults(results, err, len(batch), "closes")
		for j, c := range batch {
			r := resultAt(results, err, j)
			reason, attempts, lastErr := store.CallbackClosed, c.attempts, ""
			switch r.Status {
			case crm.Created, crm.Existed:
				sum.Written++
				s.cbOutcome(t, outs, Outcome{CallID: c.id, State: OutcomeClosed, Reason: string(r.Status), CRMID: c.crmID, Number: c.number})
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
	if o.State != OutcomeDryRun {
		s.Metrics.callback(t.Name, o.State)
	}
	s.outcome(t, o)
}
