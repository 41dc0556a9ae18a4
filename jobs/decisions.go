package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/store"
)

// DecisionLog keeps the run-time decision log that `callsync explain`
// reads. *store.Store implements it. With a decision log set, the entries
// of outcomes recorded with a ledger row are saved with the row, in the
// same transaction (Store.SaveLedger), the others (links) by AddDecisions.
type DecisionLog interface {
	AddDecisions(ctx context.Context, ds []store.Decision) error
}

// Detail is what led to an outcome, stored as JSON in the decision log. It
// holds ids, never customer names.
type Detail struct {
	// Number is the customer's number as normalised (E.164).
	Number string `json:"number,omitempty"`
	// Matched are the CRM records with that number, in CRM order.
	Matched []crm.Ref `json:"matched,omitempty"`
	// MatchedBy says where the match came from: "directory" (the local
	// phone directory, no CRM request), "cache" (a live lookup's answer
	// reused within its TTL) or "crm" (a live lookup in this cycle).
	MatchedBy string `json:"matched_by,omitempty"`
	// Chosen is the record the activity is regarding (nil: unlinked).
	Chosen *crm.Ref `json:"chosen,omitempty"`
	// Why says how Chosen was picked, or why none was.
	Why string `json:"why,omitempty"`
	// Owner is the CRM user owning the activity; UserParty the user
	// party (from for outbound, to for inbound).
	Owner     string `json:"owner,omitempty"`
	UserParty string `json:"user_party,omitempty"`
	// Unmapped is the Enreach user with no CRM user (the default
	// assignee stood in).
	Unmapped string `json:"unmapped_user,omitempty"`
	// Attempt is the write attempt (1 = first).
	Attempt int `json:"attempt,omitempty"`
	// Answer is the CRM's answer to the write (created, existed, or the
	// error).
	Answer string `json:"crm_answer,omitempty"`
}

// detail describes a pending call's match and activity.
func (p *pending) detail(pickFirst bool) *Detail {
	d := &Detail{Number: p.number, MatchedBy: p.source, Chosen: p.dec.Activity.Regarding, Owner: p.dec.Activity.OwnerID,
		UserParty: p.dec.Activity.UserID, Unmapped: p.dec.Unmapped}
	for _, r := range p.records {
		d.Matched = append(d.Matched, r.Ref)
	}
	d.Why = whyChosen(len(p.records), p.dec.Reason, d.Chosen, pickFirst)
	return d
}

// matchSource names where a match result came from (Detail.MatchedBy).
func matchSource(r match.Result) string {
	switch {
	case r.Directory:
		return "directory"
	case r.Cached:
		return "cache"
	default:
		return "crm"
	}
}

func whyChosen(n int, reason string, chosen *crm.Ref, pickFirst bool) string {
	switch {
	case reason == ReasonExistingActivity:
		return "a CRM phone call with this number inside call_start_margin counts as this call"
	case n == 0 && reason == ReasonUnlinked:
		return "no record has this number: written unlinked (write_unmatched)"
	case n == 0:
		return "no record has this number"
	case n == 1 && chosen != nil:
		return "the only record with this number"
	case chosen != nil && pickFirst:
		return fmt.Sprintf("first of %d records in CRM order (multiple_matches_pick_first)", n)
	case reason == ReasonMultipleMatchOpen:
		return fmt.Sprintf("%d records: written unlinked and open for a person (enable_multiple_match_create)", n)
	default:
		return fmt.Sprintf("%d records and no rule picks one: not written, so never the wrong record", n)
	}
}

// decide records an outcome in the tenant's pending decision log entries;
// flushDecisions stores them. An outcome recorded with its ledger row is
// saved with it instead (decision, Store.SaveLedger).
func (s *Syncer) decide(t *Tenant, o Outcome) {
	d, ok := s.decision(t, o)
	if !ok {
		return
	}
	s.decMu.Lock()
	if s.decBuf == nil {
		s.decBuf = map[string][]store.Decision{}
	}
	s.decBuf[t.Name] = append(s.decBuf[t.Name], d)
	s.decMu.Unlock()
}

// decision is the decision log entry of an outcome; ok is false when none
// is kept (no decision log, a dry run).
func (s *Syncer) decision(t *Tenant, o Outcome) (d store.Decision, ok bool) {
	if s.Decisions == nil || o.State == OutcomeDryRun {
		return d, false
	}
	d = store.Decision{Tenant: t.Name, Kind: KindCall, EnreachID: strings.ToLower(o.CallID), At: s.now(),
		State: o.State, Reason: o.Reason, CRMID: o.CRMID}
	if o.Err != nil {
		d.Error = o.Err.Error()
	}
	det := o.Detail
	if det == nil {
		det = &Detail{}
	}
	if det.Number == "" {
		det.Number = o.Number
	}
	d.Detail = mustJSON(det)
	return d, true
}

// flushDecisions stores the tenant's pending entries (keep is false for a
// dry run: they are dropped). A failure is logged: the log explains, the
// ledger decides.
func (s *Syncer) flushDecisions(ctx context.Context, t *Tenant, keep bool) {
	s.decMu.Lock()
	ds := s.decBuf[t.Name]
	delete(s.decBuf, t.Name)
	s.decMu.Unlock()
	if !keep || len(ds) == 0 || s.Decisions == nil {
		return
	}
	if err := s.Decisions.AddDecisions(context.WithoutCancel(ctx), ds); err != nil {
		s.log().Warn("storing the decision log", "tenant", t.Name, "err", err)
	}
}
