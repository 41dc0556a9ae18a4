// Package jobs owns what runs when: the calls job (every minute, from the
// tenant's watermark), the nightly retroactive re-sync, manual backfills, the
// callbacks job and webhook inbox, and the purge of old history. It holds the
// per-call decision rules of the original product and drives the Enreach
// client, the matcher, the CRM client and the store through small interfaces.
package jobs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phone"
)

// Enreach is what the jobs need from the Enreach client.
type Enreach interface {
	Calls(ctx context.Context, w enreach.Window) ([]enreach.Call, []enreach.Malformed, error)
	ServiceCalls(ctx context.Context, w enreach.Window) ([]enreach.ServiceCall, []enreach.Malformed, error)
	Users(ctx context.Context) ([]enreach.User, error)
	Queues(ctx context.Context) ([]enreach.Queue, error)
}

// Tenant is one Enreach organisation plus one CRM, as the jobs see it. Its
// settings can be replaced while it runs (config reload); clients stay.
type Tenant struct {
	Name    string
	Enreach Enreach
	CRM     crm.Client
	Matcher *match.Matcher
	// Phones is the tenant's phone directory (crm.directory: mirror), nil
	// when callers are looked up live; the matcher reads it, the jobs keep
	// it current.
	Phones PhoneDirectory

	cfg atomic.Pointer[config.Tenant]

	// callbacks serialises callback processing of the tenant: the polling
	// job and the webhook inbox decide duplicates (bundle/ignore) from the
	// same ledger rows.
	callbacks sync.Mutex

	dirMu      sync.Mutex
	dir        directory
	dirFetched time.Time
}

type directory struct {
	users map[string]enreach.User // by lower-case id
}

// NewTenant builds a tenant runtime. The matcher is created from the
// settings unless m is given.
func NewTenant(cfg config.Tenant, e Enreach, c crm.Client, m *match.Matcher) *Tenant {
	if m == nil {
		m = match.New(c, match.Options{
			Region:       cfg.DefaultRegion,
			NumbersToCut: cfg.PhoneCalls.NumbersToCut,
			TTL:          cfg.Routing.CacheTTL.D(),
		})
	}
	t := &Tenant{Name: cfg.Name, Enreach: e, CRM: c, Matcher: m}
	t.cfg.Store(&cfg)
	return t
}

// Config returns the tenant's current settings.
func (t *Tenant) Config() config.Tenant { return *t.cfg.Load() }

// SetConfig replaces the settings; the next cycle uses them.
func (t *Tenant) SetConfig(c config.Tenant) { t.cfg.Store(&c) }

// directoryTTL is how long the Enreach user and queue lists are reused.
const directoryTTL = time.Hour

// refreshDirectory loads Enreach users and queues (at most once an hour) and
// gives the matcher the organisation's own numbers.
func (t *Tenant) refreshDirectory(ctx context.Context, now time.Time) (directory, error) {
	t.dirMu.Lock()
	defer t.dirMu.Unlock()
	if t.dir.users != nil && now.Sub(t.dirFetched) < directoryTTL {
		return t.dir, nil
	}
	users, err := t.Enreach.Users(ctx)
	if err != nil {
		return directory{}, fmt.Errorf("users: %w", err)
	}
	queues, err := t.Enreach.Queues(ctx)
	if err != nil {
		return directory{}, fmt.Errorf("queues: %w", err)
	}
	cfg := t.Config()
	own := append([]string(nil), cfg.InternalNumbers...)
	d := directory{users: make(map[string]enreach.User, len(users))}
	for _, u := range users {
		d.users[strings.ToLower(u.ID)] = u
		own = append(own, u.WorkNumber, u.MobileNumber)
	}
	for _, q := range queues {
		own = append(own, q.Numbers...)
	}
	t.Matcher.SetInternal(phone.NewInternal(cfg.DefaultRegion, own...))
	t.dir, t.dirFetched = d, now
	return d, nil
}
