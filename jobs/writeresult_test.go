package jobs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// applyWrite is the one place calls and callback requests turn a CRM write
// answer into their ledger row: each answer's row, summary and outcome.
func TestApplyWrite(t *testing.T) {
	refused := fmt.Errorf("zoho: record: %w", crm.ErrPermanent)
	notRecorded := fmt.Errorf("zoho: %w", crm.ErrNotRecorded)
	busy := errors.New("503 busy")
	for _, tc := range []struct {
		name     string
		r        crm.WriteResult
		state    store.LedgerState
		reason   string
		crmID    string
		lastErr  string
		attempts int
		written  int
		failed   int
		skipped  int
	}{
		{"created", crm.WriteResult{Status: crm.Created, ID: "A"}, store.Written, "mine", "A", "", 2, 1, 0, 0},
		{"existed", crm.WriteResult{Status: crm.Existed, ID: "B"}, store.Written, "mine", "B", "", 2, 1, 0, 0},
		{"retryable failure", crm.WriteResult{Status: crm.Failed, Err: busy}, store.Failed, "mine", "", "503 busy", 2, 0, 1, 0},
		{"refused for good", crm.WriteResult{Status: crm.Failed, Err: refused}, store.Failed, "mine", "", refused.Error(), MaxAttempts, 0, 1, 0},
		{"not recorded", crm.WriteResult{Status: crm.Failed, Err: notRecorded}, store.Skipped, ReasonNotRecorded, "", "old", 2, 0, 0, 1},
		{"no status", crm.WriteResult{}, store.Failed, "mine", "", "unknown error", 2, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := store.LedgerEntry{Reason: "mine", Attempts: 2, LastError: "old"}
			sum := Summary{Skipped: map[string]int{}}
			o := applyWrite(&e, tc.r, &sum)
			if e.State != tc.state || e.Reason != tc.reason || e.CRMID != tc.crmID || e.LastError != tc.lastErr || e.Attempts != tc.attempts {
				t.Errorf("row = %+v, want state %s reason %s crm id %q last error %q attempts %d", e, tc.state, tc.reason, tc.crmID, tc.lastErr, tc.attempts)
			}
			if sum.Written != tc.written || sum.Failed != tc.failed || sum.Skipped[ReasonNotRecorded] != tc.skipped {
				t.Errorf("summary = %+v", sum)
			}
			if o.State != tc.state || o.CRMID != tc.crmID {
				t.Errorf("outcome = %+v", o)
			}
			if want := map[bool]error{true: tc.r.Err}[tc.state == store.Failed]; o.Err != want {
				t.Errorf("outcome error = %v for state %s", o.Err, tc.state)
			}
		})
	}
}
