package routing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/phone"
)

// UsesCases reports whether a rule tests the caller's open Cases.
func UsesCases(rules []config.RoutingRule) bool {
	return slices.ContainsFunc(rules, func(r config.RoutingRule) bool { return r.When.Cases != nil })
}

// Fields returns the extra record fields the rules compare, per entity, for
// match.Options.Fields (and so crm.LookupRequest.Fields). Nil when no rule
// compares a field.
func Fields(rules []config.RoutingRule) map[crm.Entity][]string {
	var out map[crm.Entity][]string
	for _, r := range rules {
		w := r.When
		if w.Entity == "" || w.Field == "" {
			continue
		}
		if out == nil {
			out = map[crm.Entity][]string{}
		}
		e := crm.Entity(w.Entity)
		if !slices.Contains(out[e], w.Field) {
			out[e] = append(out[e], w.Field)
		}
	}
	for e := range out {
		slices.Sort(out[e])
	}
	return out
}

// evaluation holds what one routing request has learnt so far; the caller
// lookup and the parent accounts are fetched lazily, once, and only when a
// rule needs them.
type evaluation struct {
	h    *Handler
	t    Tenant
	req  request
	bnum string // E.164, or the trimmed raw value when it does not parse

	looked  bool
	records []crm.Record
	// cases memoises open Cases per set of records.
	cases map[string][]crm.Record
}

// decide evaluates the tenant's rules in order; the first rule whose
// conditions all hold and whose target resolves wins.
func (h *Handler) decide(ctx context.Context, t Tenant, req request) decision {
	ev := &evaluation{h: h, t: t, req: req}
	ev.bnum = ev.normalise(req.BNum)
	for i, rule := range t.Config.Routing.Rules {
		name := rule.Name
		if name == "" {
			name = fmt.Sprintf("rules[%d]", i)
		}
		holds, recs, err := ev.holds(ctx, rule.When)
		if err != nil {
			return decision{outcome: OutcomeError, rule: name, err: err}
		}
		if !holds {
			continue
		}
		if w := rule.When; w.Matched == nil && w.Entity == "" && w.Cases == nil &&
			(rule.Target == config.RoutingTargetOwner || rule.FailTarget == config.RoutingTargetOwner) {
			// An owner target on a rule that did not need the caller's
			// records (e.g. bnum only): the caller's records it is.
			if recs, err = ev.caller(ctx); err != nil {
				return decision{outcome: OutcomeError, rule: name, err: err}
			}
		}
		initial, ok := ev.target(ctx, rule.Target, recs)
		if !ok {
			// An owner without an Enreach user or work number: the rule
			// gives no target, so the next one is tried.
			continue
		}
		if ev.isBNum(initial) {
			return decision{outcome: OutcomeLoopGuard, rule: name}
		}
		d := decision{outcome: OutcomeTarget, rule: name, initial: initial}
		if rule.FailTarget != "" {
			// A fail target that cannot be resolved, or would send the
			// overflow back to the dialled number, is left out: Enreach
			// keeps its default overflow target.
			if f, ok := ev.target(ctx, rule.FailTarget, recs); ok && !ev.isBNum(f) {
				d.fail = f
			}
		}
		return d
	}
	return decision{outcome: OutcomeDefault}
}

// holds reports whether every set condition of w holds. recs are the records
// the rule is about (for an owner target): those satisfying the entity
// condition, or else every matched record.
func (ev *evaluation) holds(ctx context.Context, w config.RoutingWhen) (bool, []crm.Record, error) {
	// The cheap condition first: no CRM request for a call to another number.
	if w.BNum != "" && ev.normalise(w.BNum) != ev.bnum {
		return false, nil, nil
	}
	if w.Matched == nil && w.Entity == "" && w.Cases == nil {
		return true, nil, nil
	}
	recs, err := ev.caller(ctx)
	if err != nil {
		return false, nil, err
	}
	if w.Matched != nil && *w.Matched != (len(recs) > 0) {
		return false, nil, nil
	}
	sat := recs
	if w.Entity != "" {
		if sat, err = ev.entity(ctx, w, recs); err != nil {
			return false, nil, err
		}
		if len(sat) == 0 {
			return false, nil, nil
		}
	}
	if w.Cases == nil {
		return true, sat, nil
	}
	cases, err := ev.openCases(ctx, sat)
	if err != nil {
		return false, nil, err
	}
	var hits []crm.Record
	for _, c := range cases {
		if (w.Cases.Priority == "" || strings.EqualFold(c.Fields["Priority"], w.Cases.Priority)) &&
			(w.Cases.Owner == "" || sameID(c.OwnerID, w.Cases.Owner)) {
			hits = append(hits, c)
		}
	}
	// The rule is about the Cases: an owner target is a Case owner.
	return len(hits) >= max(w.Cases.Min, 1), hits, nil
}

// openCases returns the open Cases of the records' contacts and accounts
// (and the contacts' parent accounts), with one crm.CaseFetcher request per
// set of records in a routing request. Without a crm.CaseFetcher there are none.
func (ev *evaluation) openCases(ctx context.Context, recs []crm.Record) ([]crm.Record, error) {
	cf, ok := ev.t.CRM.(crm.CaseFetcher)
	if !ok {
		return nil, nil
	}
	var contacts, accounts []string
	for _, r := range recs {
		switch r.Entity {
		case crm.Contact:
			contacts = append(contacts, r.ID)
			if r.ParentAccountID != "" && !slices.Contains(accounts, r.ParentAccountID) {
				accounts = append(accounts, r.ParentAccountID)
			}
		case crm.Account:
			if !slices.Contains(accounts, r.ID) {
				accounts = append(accounts, r.ID)
			}
		}
	}
	if len(contacts) == 0 && len(accounts) == 0 {
		return nil, nil
	}
	key := strings.Join(contacts, ",") + "|" + strings.Join(accounts, ",")
	if c, ok := ev.cases[key]; ok {
		return c, nil
	}
	cases, err := cf.OpenCases(ctx, contacts, accounts)
	if err != nil {
		return nil, fmt.Errorf("routing: open cases: %w", err)
	}
	if ev.cases == nil {
		ev.cases = map[string][]crm.Record{}
	}
	ev.cases[key] = cases
	return cases, nil
}

// caller looks the caller up once (through the number cache unless the
// tenant's cache_ttl is 0) and returns the verified records.
func (ev *evaluation) caller(ctx context.Context) ([]crm.Record, error) {
	if ev.looked {
		return ev.records, nil
	}
	anum := *ev.req.ANum
	res, err := ev.t.Matcher.Match(ctx, []string{anum}, ev.t.Config.Routing.CacheTTL.D() > 0)
	if err != nil {
		return nil, fmt.Errorf("routing: look up caller: %w", err)
	}
	r := res[anum]
	if r.Reason == "" {
		ev.h.o.Metrics.cacheResult(ev.t.Name, r.Cached)
	}
	ev.looked, ev.records = true, r.Records
	return r.Records, nil
}

// entity returns the records of w's entity that satisfy its field condition:
// the directly matched ones, or for accounts when none does, the parent
// accounts of matched contacts.
func (ev *evaluation) entity(ctx context.Context, w config.RoutingWhen, recs []crm.Record) ([]crm.Record, error) {
	e := crm.Entity(w.Entity)
	var out []crm.Record
	for _, r := range recs {
		if r.Entity == e && fieldHolds(r, w) {
			out = append(out, r)
		}
	}
	if len(out) > 0 || e != crm.Account {
		return out, nil
	}
	parents, err := ev.parents(ctx, recs)
	if err != nil {
		return nil, err
	}
	for _, r := range parents {
		if fieldHolds(r, w) {
			out = append(out, r)
		}
	}
	return out, nil
}

func fieldHolds(r crm.Record, w config.RoutingWhen) bool {
	if w.Field == "" {
		return true
	}
	v, ok := r.Fields[w.Field]
	return ok && v == w.Equals
}

// parents returns the parent accounts of the matched contacts (in contact
// order, each once) that did not match directly, from the parent cache or
// with one crm.ParentFetcher request. Without a crm.ParentFetcher there are none.
func (ev *evaluation) parents(ctx context.Context, recs []crm.Record) ([]crm.Record, error) {
	var ids []string
	direct := map[string]bool{}
	for _, r := range recs {
		if r.Entity == crm.Account {
			direct[r.ID] = true
		}
	}
	for _, r := range recs {
		if r.Entity == crm.Contact && r.ParentAccountID != "" && !direct[r.ParentAccountID] && !slices.Contains(ids, r.ParentAccountID) {
			ids = append(ids, r.ParentAccountID)
		}
	}
	pf, ok := ev.t.CRM.(crm.ParentFetcher)
	if len(ids) == 0 || !ok {
		return nil, nil
	}
	useCache := ev.t.Config.Routing.CacheTTL.D() > 0
	got := map[string]*crm.Record{}
	var need []string
	for _, id := range ids {
		if r, ok := ev.h.parents.get(ev.t.Name, id); ok && useCache {
			got[id] = r
			continue
		}
		need = append(need, id)
	}
	if len(need) > 0 {
		fields := Fields(ev.t.Config.Routing.Rules)[crm.Account]
		found, err := pf.Accounts(ctx, need, fields)
		if err != nil {
			return nil, fmt.Errorf("routing: parent accounts: %w", err)
		}
		fresh := map[string]*crm.Record{}
		for _, id := range need {
			if r, ok := found[id]; ok {
				fresh[id] = &r
			} else {
				fresh[id] = nil
			}
			got[id] = fresh[id]
		}
		ev.h.parents.put(ev.t.Name, fresh, ev.t.Config.Routing.CacheTTL.D())
	}
	var out []crm.Record
	for _, id := range ids {
		if r := got[id]; r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// target resolves a rule's target: "owner" is the work number of the
// Enreach user of the first record (in order) whose owner has one; anything
// else is literal.
func (ev *evaluation) target(ctx context.Context, target string, recs []crm.Record) (string, bool) {
	target = strings.TrimSpace(target)
	if target == "" {
		return "", false
	}
	if target != config.RoutingTargetOwner {
		return target, true
	}
	if ev.h.o.Directory == nil {
		return "", false
	}
	for _, r := range recs {
		if r.OwnerID == "" {
			continue
		}
		if n, ok := ev.h.o.Directory.OwnerTarget(ctx, ev.t.Name, r.OwnerID); ok && strings.TrimSpace(n) != "" {
			return ev.normalise(n), true
		}
	}
	return "", false
}

// isBNum reports whether a target is the request's own dialled number.
func (ev *evaluation) isBNum(target string) bool {
	if ev.bnum == "" || !phoneLike(target) {
		return false
	}
	return ev.normalise(target) == ev.bnum
}

// normalise returns a number in E.164 with the tenant's region, or the
// trimmed input when it is not a phone number. Results are memoised: the
// same rule, work and dialled numbers come back on every call, and parsing
// is most of a cached answer's cost.
func (ev *evaluation) normalise(raw string) string {
	raw = strings.TrimSpace(raw)
	if !phoneLike(raw) {
		return raw
	}
	return ev.h.numbers.normalise(raw, ev.t.Config.DefaultRegion)
}

// numberMemo memoises phone normalisation, bounded (it is emptied when full).
type numberMemo struct {
	mu sync.Mutex
	m  map[[2]string]string
}

const maxMemo = 10_000

func (nm *numberMemo) normalise(raw, region string) string {
	k := [2]string{raw, region}
	nm.mu.Lock()
	v, ok := nm.m[k]
	nm.mu.Unlock()
	if ok {
		return v
	}
	v = raw
	if n, ok := phone.Normalize(raw, region); ok {
		v = n.E164()
	}
	nm.mu.Lock()
	if nm.m == nil || len(nm.m) >= maxMemo {
		nm.m = make(map[[2]string]string)
	}
	nm.m[k] = v
	nm.mu.Unlock()
	return v
}

// phoneLike reports whether s reads as a phone number rather than a queue or
// user target or DISCONNECT: an optional "tel:" and only digits, '+',
// spaces and the usual separators.
func phoneLike(s string) bool {
	s = strings.TrimPrefix(strings.TrimSpace(s), "tel:")
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case strings.ContainsRune("+ -./()", c):
		default:
			return false
		}
	}
	return digits > 0
}

// sameID compares record ids: Salesforce's 15-character ids are
// case-sensitive and an 18-character id is its 15-character form plus a
// case checksum
// (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm#i1435616);
// other ids (GUIDs) compare case-insensitively.
func sameID(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch {
	case len(a) == 15 && len(b) == 15:
		return a == b
	case len(a) == 18 && len(b) == 15:
		return a[:15] == b
	case len(a) == 15 && len(b) == 18:
		return b[:15] == a
	}
	return strings.EqualFold(a, b)
}
