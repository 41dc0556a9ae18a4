package routing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/crm"
)

// fakeCRM is an in-memory crm.Client for routing tests, behaving like a CRM
// behind a batch search API: one Lookup is one request (counted); a record is
// a candidate when one of its stored phone values equals a query form
// exactly (or ends with the suffix digits); only the requested extra fields
// come back. Latency, blocking and failures can be injected. Safe for
// concurrent use. (crm/crmtest.Memory was not buildable yet when this was
// written; swap it in once it is, wrapping it for latency.)
type fakeCRM struct {
	mu      sync.Mutex
	records []crm.Record
	delay   time.Duration // simulated latency; honours ctx
	fail    error         // every Lookup fails with it while set
	// block, when set, makes Lookup wait for it to close, ignoring ctx (a
	// client that does not honour cancellation). entered receives once per
	// Lookup on entry, answered once per Lookup on return (both optional).
	block    chan struct{}
	entered  chan struct{}
	answered chan struct{}

	lookups    atomic.Int64
	lastFields map[crm.Entity][]string
}

func (f *fakeCRM) add(r crm.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, r)
}

func (f *fakeCRM) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	if len(req.Numbers) == 0 {
		return crm.LookupResult{}, nil
	}
	f.lookups.Add(1)
	f.mu.Lock()
	block, entered, answered, delay, fail := f.block, f.entered, f.answered, f.delay, f.fail
	f.lastFields = req.Fields
	f.mu.Unlock()
	if answered != nil {
		defer func() { answered <- struct{}{} }()
	}
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		<-block
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("fakecrm: lookup: %w", ctx.Err())
		}
	}
	if fail != nil {
		return nil, fmt.Errorf("fakecrm: lookup: %w", fail)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res := crm.LookupResult{}
	for _, q := range req.Numbers {
		if q.Number == "" {
			return nil, fmt.Errorf("fakecrm: query without a number: %w", crm.ErrPermanent)
		}
		for _, e := range crm.Entities {
			for _, r := range f.records {
				if r.Entity != e || !holds(r, q) {
					continue
				}
				out := r
				out.Phones = maps.Clone(r.Phones)
				out.Fields = pick(r.Fields, req.Fields[e])
				res[q.Number] = append(res[q.Number], out)
			}
		}
	}
	return res, nil
}

func holds(r crm.Record, q crm.NumberQuery) bool {
	for _, v := range r.Phones {
		if q.Suffix != "" && strings.HasSuffix(digits(v), digits(q.Suffix)) {
			return true
		}
		if slices.Contains(q.Forms, v) || (len(q.Forms) == 0 && v == q.Number) {
			return true
		}
	}
	return false
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func pick(fields map[string]string, want []string) map[string]string {
	var out map[string]string
	for _, k := range want {
		if v, ok := fields[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

var errUnused = errors.New("fakecrm: not used by routing")

func (f *fakeCRM) Users(context.Context, crm.UserMatch, []crm.UserQuery) (map[string]crm.User, error) {
	return nil, errUnused
}
func (f *fakeCRM) FindActivities(context.Context, []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	return nil, errUnused
}
func (f *fakeCRM) WriteActivities(context.Context, []crm.Activity) ([]crm.WriteResult, error) {
	return nil, errUnused
}
func (f *fakeCRM) CloseActivities(context.Context, []crm.CloseRequest) ([]crm.WriteResult, error) {
	return nil, errUnused
}

// parentCRM is a fakeCRM that also fetches accounts by id (ParentFetcher).
type parentCRM struct {
	*fakeCRM
	accountCalls atomic.Int64
}

func (p *parentCRM) Accounts(ctx context.Context, ids []string, fields []string) (map[string]crm.Record, error) {
	p.accountCalls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakecrm: accounts: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]crm.Record{}
	for _, r := range p.records {
		if r.Entity == crm.Account && slices.Contains(ids, r.ID) {
			r.Phones = maps.Clone(r.Phones)
			r.Fields = pick(r.Fields, fields)
			out[r.ID] = r
		}
	}
	return out, nil
}

var (
	_ crm.Client        = (*fakeCRM)(nil)
	_ crm.ParentFetcher = (*parentCRM)(nil)
)

// fakeDirectory resolves owners from a fixed map and counts requests.
type fakeDirectory struct {
	targets map[string]string
	calls   atomic.Int64
}

func (d *fakeDirectory) OwnerTarget(_ context.Context, _ string, crmUserID string) (string, bool) {
	d.calls.Add(1)
	t, ok := d.targets[crmUserID]
	return t, ok
}
