package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
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
	d.Detail = det.appendJSON(make([]byte, 0, det.jsonSize()))
	return d, true
}

// appendJSON appends d as json.Marshal writes it (fields in declaration
// order, the omitempty ones left out when empty, a crm.Ref as
// {"Entity":...,"ID":...}, strings escaped as Marshal escapes them:
// jsonw.AppendString), without reflection: it is built for every call a
// backfill records. TestDetailJSONIsMarshal and FuzzDetailJSON compare the
// two.
func (d *Detail) appendJSON(b []byte) []byte {
	b = append(b, '{')
	n := len(b) // no member yet while len(b) == n
	b = appendMember(b, n, `"number":`, d.Number)
	if len(d.Matched) > 0 {
		b = appendKey(b, n, `"matched":[`)
		for i, r := range d.Matched {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRef(b, r)
		}
		b = append(b, ']')
	}
	b = appendMember(b, n, `"matched_by":`, d.MatchedBy)
	if d.Chosen != nil {
		b = appendRef(appendKey(b, n, `"chosen":`), *d.Chosen)
	}
	b = appendMember(b, n, `"why":`, d.Why)
	b = appendMember(b, n, `"owner":`, d.Owner)
	b = appendMember(b, n, `"user_party":`, d.UserParty)
	b = appendMember(b, n, `"unmapped_user":`, d.Unmapped)
	if d.Attempt != 0 {
		b = jsonw.AppendInt(appendKey(b, n, `"attempt":`), d.Attempt)
	}
	b = appendMember(b, n, `"crm_answer":`, d.Answer)
	return append(b, '}')
}

// appendKey appends key (quoted, with its colon) after a comma unless it is
// the object's first member (len(b) == n).
func appendKey(b []byte, n int, key string) []byte {
	if len(b) > n {
		b = append(b, ',')
	}
	return append(b, key...)
}

// appendMember appends an omitempty string member: nothing when v is "".
func appendMember(b []byte, n int, key, v string) []byte {
	if v == "" {
		return b
	}
	return jsonw.AppendString(appendKey(b, n, key), v)
}

// appendRef appends r as Marshal writes a crm.Ref (no tags, no methods).
func appendRef(b []byte, r crm.Ref) []byte {
	b = append(b, `{"Entity":`...)
	b = jsonw.AppendString(b, string(r.Entity))
	b = append(b, `,"ID":`...)
	b = jsonw.AppendString(b, r.ID)
	return append(b, '}')
}

// jsonSize is about the length of d's JSON when nothing needs escaping:
// the buffer appendJSON fills, sized once.
func (d *Detail) jsonSize() int {
	n := 128 + len(d.Number) + len(d.MatchedBy) + len(d.Why) + len(d.Owner) + len(d.UserParty) + len(d.Unmapped) + len(d.Answer)
	for _, r := range d.Matched {
		n += 24 + len(r.Entity) + len(r.ID)
	}
	if d.Chosen != nil {
		n += 24 + len(d.Chosen.Entity) + len(d.Chosen.ID)
	}
	return n
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
