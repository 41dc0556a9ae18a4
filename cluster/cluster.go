// Package cluster shares the tenants among callsync replicas on one
// PostgreSQL store. Each replica heartbeats a row of its own; each tenant
// (and the daily purge) is a lease row with an expiry that one replica holds
// and renews. A tenant's preferred replica is chosen by rendezvous hashing
// over the live replicas (highest random weight, Thaler and Ravishankar,
// https://en.wikipedia.org/wiki/Rendezvous_hashing), so tenants spread and a
// joining or leaving replica moves only its share.
//
// Invariants:
//   - A job of a tenant runs only while this replica holds the tenant's
//     lease with at least a sixth of the TTL left by its own clock (Lock refuses
//     otherwise; gocron then skips the run). The local expiry counts from
//     before the renewal was sent, so it ends before the row's. A job
//     already running is stopped (its context ends, JobContext) as soon as
//     that no longer holds: the lease found taken at a round, or renewals
//     failing or late until less than a sixth of the TTL is left, which a
//     timer notices without waiting for a round; so it has stopped before
//     the lease expires in the store and another replica can take it.
//   - A lease is renewed while a job of its tenant runs here, and released
//     only when none runs; it is taken by another replica only once it has
//     expired in the store (AcquireLease's condition), so two replicas never
//     run a tenant's job at the same time while clocks agree within the
//     margin.
//   - A replica that cannot run a tenant now (its preflight failed there:
//     the CRM unreachable from it, a token fetch failing) says so in its
//     heartbeat row (Exclude); the tenant's preferred replica is then
//     chosen among the live replicas that do not exclude it, so it moves
//     through the usual release and acquire. When every live replica
//     excludes it, it stays where hashing over all of them puts it: a
//     failure that is the tenant's own (CRM permissions, configuration)
//     does not make it move. An exclusion changes only with a preflight
//     result, so a tenant moves at most once per re-check.
//   - A replica that stops heartbeating (killed, cut off) drops out of the
//     live set after TTL; its leases expire after TTL; the others take them
//     at their next round: within TTL + Every.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsync/callsync/store"
)

// Store is what the coordinator needs from the store.
type Store interface {
	Heartbeat(ctx context.Context, r store.Replica) error
	Replicas(ctx context.Context) ([]store.Replica, error)
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	RenewLeases(ctx context.Context, names []string, holder string, now time.Time, ttl time.Duration) ([]string, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	RemoveReplica(ctx context.Context, id string) error
}

// Defaults: a dead replica's tenants move within TTL + Every (40 s).
const (
	DefaultTTL   = 30 * time.Second
	DefaultEvery = 10 * time.Second
	// PurgeLease is the lease of the daily retention purge.
	PurgeLease = "~purge"
)

// Options configure a Coordinator.
type Options struct {
	ID, Host   string
	TTL, Every time.Duration
	Log        *slog.Logger
	// OnAcquire is called (outside the lock) for each lease this replica
	// newly holds, so the tenant's jobs run now rather than at the next tick.
	OnAcquire func(name string)
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Coordinator holds this replica's leases.
type Coordinator struct {
	st Store
	o  Options

	mu    sync.Mutex
	names []string
	// excluded are the tenants this replica cannot run now (Exclude).
	excluded map[string]bool
	held     map[string]time.Time // lease name -> local expiry
	running  map[string]int       // lease name -> jobs running here
	// runs end the jobs running here under a lease (JobContext) once it
	// is no longer surely held.
	runs    map[string]*leaseRun
	live    []string
	started time.Time

	leaseDesc, liveDesc *prometheus.Desc
}

// New returns a coordinator for the given lease names (tenants).
func New(st Store, o Options) *Coordinator {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Coordinator{st: st, o: o, held: map[string]time.Time{}, excluded: map[string]bool{}, running: map[string]int{}, runs: map[string]*leaseRun{}, started: o.Now().UTC(),
		leaseDesc: prometheus.NewDesc("callsync_lease_held", "1 when this replica holds the lease of the tenant (or ~purge), 0 otherwise.", []string{"lease"}, nil),
		liveDesc:  prometheus.NewDesc("callsync_replicas_live", "Replicas with a heartbeat within the lease TTL, as this replica last saw.", nil, nil),
	}
}

// ID is this replica's id.
func (c *Coordinator) ID() string { return c.o.ID }

// Exclude records whether this replica cannot run the tenant now (its
// preflight failed here). The next heartbeat publishes it; from then no
// replica prefers this one for the tenant, so it moves to the replica that
// hashes next. It lasts until Exclude(name, false): the caller decides the
// cool-down (callsync run re-checks a failing tenant every RecheckEvery).
func (c *Coordinator) Exclude(name string, excluded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if excluded {
		c.excluded[name] = true
	} else {
		delete(c.excluded, name)
	}
}

// Excluded returns the tenants this replica excludes itself from, sorted.
func (c *Coordinator) Excluded() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.excludedLocked()
}

func (c *Coordinator) excludedLocked() []string {
	out := make([]string, 0, len(c.excluded))
	for n := range c.excluded {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetTenants sets the tenants to share (after a config reload too).
func (c *Coordinator) SetTenants(tenants []string) {
	names := append([]string{PurgeLease}, tenants...)
	sort.Strings(names)
	c.mu.Lock()
	c.names = names
	for n := range c.excluded {
		if !slices.Contains(names, n) {
			delete(c.excluded, n)
		}
	}
	c.mu.Unlock()
}

// Run renews and balances the leases every Every until ctx ends, then
// releases them (a stopping replica hands its tenants over at once).
func (c *Coordinator) Run(ctx context.Context) {
	t := time.NewTicker(c.o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Tick(ctx); err != nil {
				c.o.Log.Warn("replica heartbeat failed; tenants stop here when their leases run out", "replica", c.o.ID, "err", err)
			}
		}
	}
}

// Tick is one round: heartbeat, the live replicas, then each lease taken,
// renewed or released.
func (c *Coordinator) Tick(ctx context.Context) error {
	// Whatever the round's outcome, the jobs of the leases it did not keep
	// (found taken, handed over, or not renewed in time) end now.
	defer c.endRuns()
	start := c.o.Now().UTC()
	c.mu.Lock()
	mineExcluded := c.excludedLocked()
	c.mu.Unlock()
	if err := c.st.Heartbeat(ctx, store.Replica{ID: c.o.ID, Host: c.o.Host, StartedAt: c.started, HeartbeatAt: start, Excluded: mineExcluded}); err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	reps, err := c.st.Replicas(ctx)
	if err != nil {
		return fmt.Errorf("cluster: replicas: %w", err)
	}
	live := []string{c.o.ID}
	// excludedBy maps a tenant to the live replicas that cannot run it.
	excludedBy := map[string][]string{}
	for _, n := range mineExcluded {
		excludedBy[n] = append(excludedBy[n], c.o.ID)
	}
	for _, r := range reps {
		if r.ID != c.o.ID && r.HeartbeatAt.After(start.Add(-c.o.TTL)) {
			live = append(live, r.ID)
			for _, n := range r.Excluded {
				excludedBy[n] = append(excludedBy[n], r.ID)
			}
		}
	}
	sort.Strings(live)
	c.mu.Lock()
	c.live = live
	names := append([]string(nil), c.names...)
	c.mu.Unlock()
	var acquired []string
	var errs []error
	renewed := c.renew(ctx, names, live, excludedBy)
	for _, name := range names {
		c.mu.Lock()
		_, mine := c.held[name]
		busy := c.running[name] > 0
		c.mu.Unlock()
		if Preferred(name, eligible(live, excludedBy[name])) == c.o.ID || busy {
			if until, ok := renewed[name]; ok {
				c.mu.Lock()
				c.held[name] = until
				c.mu.Unlock()
				continue
			}
			// The expiry counts from this request, not from the start of
			// the round: a round slowed down (a busy machine, a busy
			// database) must not write leases that run out early while
			// a job of the tenant still runs here.
			sent := c.o.Now().UTC()
			ok, err := c.st.AcquireLease(ctx, name, c.o.ID, sent, c.o.TTL)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			c.mu.Lock()
			if ok {
				c.held[name] = sent.Add(c.o.TTL)
			} else {
				delete(c.held, name)
			}
			c.mu.Unlock()
			if ok && !mine {
				acquired = append(acquired, name)
			}
			continue
		}
		if mine {
			// Another replica is preferred and nothing runs here: hand over.
			c.mu.Lock()
			busy = c.running[name] > 0
			if !busy {
				delete(c.held, name)
			}
			c.mu.Unlock()
			if !busy {
				if err := c.st.ReleaseLease(ctx, name, c.o.ID); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for _, name := range acquired {
		c.o.Log.Info("lease taken", "replica", c.o.ID, "lease", name)
		if c.o.OnAcquire != nil {
			c.o.OnAcquire(name)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cluster: leases: %w", errors.Join(errs...))
	}
	return nil
}

// renew renews together the leases held here that the round keeps (this
// replica is preferred or a job of the tenant runs here) and returns their
// new local expiries, counted from before the request was sent. With
// hundreds of tenants a round was as many statements, one after the other;
// it is now one. A lease it did not renew (gone, or taken after it expired,
// or the request failed) is left to AcquireLease in the round, as before.
func (c *Coordinator) renew(ctx context.Context, names, live []string, excludedBy map[string][]string) map[string]time.Time {
	var keep []string
	c.mu.Lock()
	for _, name := range names {
		if _, mine := c.held[name]; mine && (c.running[name] > 0 || Preferred(name, eligible(live, excludedBy[name])) == c.o.ID) {
			keep = append(keep, name)
		}
	}
	c.mu.Unlock()
	if len(keep) == 0 {
		return nil
	}
	sent := c.o.Now().UTC()
	got, err := c.st.RenewLeases(ctx, keep, c.o.ID, sent, c.o.TTL)
	if err != nil {
		c.o.Log.Warn("renewing leases together failed; renewing one by one", "replica", c.o.ID, "leases", len(keep), "err", err)
	}
	out := make(map[string]time.Time, len(got))
	for _, name := range got {
		out[name] = sent.Add(c.o.TTL)
	}
	return out
}

// eligible is live without the excluded replicas, or all of live when
// every one is excluded: a tenant no replica can run stays on its usual
// replica (held and reported there) instead of moving round after round.
func eligible(live, excluded []string) []string {
	if len(excluded) == 0 {
		return live
	}
	out := make([]string, 0, len(live))
	for _, id := range live {
		if !slices.Contains(excluded, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return live
	}
	return out
}

// Preferred is the replica that should hold a lease: the highest
// rendezvous weight among the live replicas.
func Preferred(name string, live []string) string {
	best, bestW := "", uint64(0)
	for _, id := range live {
		h := fnv.New64a()
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write([]byte(id))
		if w := h.Sum64(); best == "" || w > bestW {
			best, bestW = id, w
		}
	}
	return best
}

// Holds reports whether this replica holds a lease with a sixth of the TTL
// (5 s by default) left: a job starts only then.
func (c *Coordinator) Holds(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holds(name)
}

func (c *Coordinator) holds(name string) bool {
	exp, ok := c.held[name]
	return ok && c.o.Now().Add(c.o.TTL/6).Before(exp)
}

// Elsewhere reports whether a tenant is not run by this replica now (its
// webhook deliveries are left to the replica holding it).
func (c *Coordinator) Elsewhere(tenant string) bool { return !c.Holds(tenant) }

// Held returns the names of the leases held, sorted.
func (c *Coordinator) Held() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n := range c.held {
		if c.holds(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// leaseOf maps a gocron job name to its lease: "<job>/<tenant>" to the
// tenant, "purge" to PurgeLease; "" (no lease: any replica may run it) for
// the rest, e.g. the webhook inbox drain, which takes only the deliveries
// of the tenants held here.
func leaseOf(job string) string {
	if _, tenant, ok := strings.Cut(job, "/"); ok {
		return tenant
	}
	if job == "purge" {
		return PurgeLease
	}
	return ""
}

// Lock implements gocron.Locker (gocron.WithDistributedLocker): a job of a
// tenant runs only on the replica holding the tenant's lease; while it
// runs the lease is renewed and not handed over.
func (c *Coordinator) Lock(_ context.Context, key string) (gocron.Lock, error) {
	name := leaseOf(key)
	if name == "" {
		return unlock(func() {}), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holds(name) {
		return nil, fmt.Errorf("cluster: %s runs on another replica (lease %s not held by %s)", key, name, c.o.ID)
	}
	c.running[name]++
	return unlock(func() {
		c.mu.Lock()
		c.running[name]--
		c.mu.Unlock()
	}), nil
}

// JobContext returns the context of a run of the gocron job key (named as
// for Lock): ctx, also ended as soon as this replica can no longer be sure
// it holds the job's lease, that is when a round finds it taken or hands
// it over, or when less than a sixth of the TTL is left by its local
// expiry (renewals failing or late: the database unreachable, a round
// hanging). A timer ends it then even when no round runs, so the job is
// stopped before the lease expires in the store and another replica can
// take it. A job without a lease gets ctx alone. Call the returned
// CancelFunc when the run is over.
func (c *Coordinator) JobContext(ctx context.Context, key string) (context.Context, context.CancelFunc) {
	jctx, cancel := context.WithCancelCause(ctx)
	name := leaseOf(key)
	if name == "" {
		return jctx, func() { cancel(nil) }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holds(name) {
		cancel(fmt.Errorf("cluster: %s: lease %s not held by %s", key, name, c.o.ID))
		return jctx, func() {}
	}
	r, ok := c.runs[name]
	if !ok {
		r = &leaseRun{jobs: map[int]context.CancelCauseFunc{}}
		// The timer's func takes c.mu, held here until r.timer is set.
		r.timer = time.AfterFunc(c.sureForLocked(name), func() { c.watch(name, r) })
		c.runs[name] = r
	}
	id := r.next
	r.next++
	r.jobs[id] = cancel
	return jctx, func() {
		c.mu.Lock()
		delete(r.jobs, id)
		if len(r.jobs) == 0 && c.runs[name] == r {
			r.timer.Stop()
			delete(c.runs, name)
		}
		c.mu.Unlock()
		cancel(nil)
	}
}

// leaseRun is the jobs running here under one lease (JobContext) and the
// timer that ends them when the lease's local expiry comes within a sixth
// of the TTL.
type leaseRun struct {
	jobs  map[int]context.CancelCauseFunc
	next  int
	timer *time.Timer
}

// sureForLocked is how long the lease is still surely held (holds) by its
// local expiry as it is now.
func (c *Coordinator) sureForLocked(name string) time.Duration {
	return c.held[name].Add(-c.o.TTL / 6).Sub(c.o.Now())
}

// watch ends the jobs of a lease at its cut-off, unless the lease was
// renewed meanwhile: then it waits for the new one.
func (c *Coordinator) watch(name string, r *leaseRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs[name] != r {
		return
	}
	if c.holds(name) {
		r.timer.Reset(c.sureForLocked(name))
		return
	}
	c.endRunLocked(name)
}

// endRuns ends the jobs of the leases no longer surely held.
func (c *Coordinator) endRuns() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.runs {
		if !c.holds(name) {
			c.endRunLocked(name)
		}
	}
}

func (c *Coordinator) endRunLocked(name string) {
	r := c.runs[name]
	r.timer.Stop()
	err := fmt.Errorf("cluster: lease %s no longer surely held by %s: its jobs stop here", name, c.o.ID)
	for _, cancel := range r.jobs {
		cancel(err)
	}
	delete(c.runs, name)
	c.o.Log.Warn("lease lost while its jobs ran; they are stopped", "replica", c.o.ID, "lease", name, "jobs", len(r.jobs))
}

type unlock func()

func (u unlock) Unlock(context.Context) error { u(); return nil }

// Stop releases every lease and removes this replica's row, so the others
// take its tenants at their next round. Call it after the scheduler stopped.
func (c *Coordinator) Stop(ctx context.Context) {
	c.mu.Lock()
	names := make([]string, 0, len(c.held))
	for n := range c.held {
		names = append(names, n)
	}
	c.held = map[string]time.Time{}
	c.mu.Unlock()
	c.endRuns()
	for _, n := range names {
		if err := c.st.ReleaseLease(ctx, n, c.o.ID); err != nil {
			c.o.Log.Warn("releasing lease", "lease", n, "err", err)
		}
	}
	if err := c.st.RemoveReplica(ctx, c.o.ID); err != nil {
		c.o.Log.Warn("removing replica row", "err", err)
	}
}

// Describe and Collect export callsync_lease_held{lease} (1 when this
// replica holds it) and callsync_replicas_live.
func (c *Coordinator) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.leaseDesc
	ch <- c.liveDesc
}

func (c *Coordinator) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.names {
		v := 0.0
		if c.holds(n) {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.leaseDesc, prometheus.GaugeValue, v, n)
	}
	ch <- prometheus.MustNewConstMetric(c.liveDesc, prometheus.GaugeValue, float64(len(c.live)))
}
