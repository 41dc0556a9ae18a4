package jobs

import (
	"errors"
	"fmt"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// batchResults checks a batch write's answer: one result per item sent, or
// an error for the whole batch.
func batchResults(results []crm.WriteResult, err error, n int, what string) error {
	if err == nil && len(results) != n {
		return fmt.Errorf("crm returned %d results for %d %s", len(results), n, what)
	}
	return err
}

// resultAt is item j's result of a batch write; a failed batch (err) fails
// every item with its error.
func resultAt(results []crm.WriteResult, err error, j int) crm.WriteResult {
	if err != nil {
		return crm.WriteResult{Status: crm.Failed, Err: err}
	}
	return results[j]
}

// applyWrite records the CRM's answer to one activity write, for calls and
// callback requests alike: in its ledger row e (Created or Existed: written
// with the CRM id; crm.ErrNotRecorded: skipped, reason not_recorded; any
// other failure: failed with the error, its attempts used up when the CRM
// refused for good (crm.ErrPermanent)) and in sum. The Outcome it returns
// carries State, Reason (the write status or not_recorded), CRMID and Err;
// the caller adds the item's id, number and detail. Reason of a written row
// is the caller's.
func applyWrite(e *store.LedgerEntry, r crm.WriteResult, sum *Summary) Outcome {
	switch r.Status {
	case crm.Created, crm.Existed:
		e.State, e.CRMID, e.LastError = store.Written, r.ID, ""
		sum.Written++
		return Outcome{State: store.Written, Reason: string(r.Status), CRMID: r.ID}
	case crm.Failed:
		if errors.Is(r.Err, crm.ErrNotRecorded) {
			e.State, e.Reason = store.Skipped, ReasonNotRecorded
			sum.Skipped[ReasonNotRecorded]++
			return Outcome{State: store.Skipped, Reason: ReasonNotRecorded}
		}
	}
	e.State, e.LastError = store.Failed, errText(r.Err)
	if errors.Is(r.Err, crm.ErrPermanent) {
		e.Attempts = MaxAttempts
	}
	sum.Failed++
	return Outcome{State: store.Failed, Err: r.Err}
}
