package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
	"github.com/prometheus/client_golang/prometheus"
)

// RecheckEvery is how often callsync run checks a tenant that is not
// started again: an admin who fixes the org needs no restart.
const RecheckEvery = 10 * time.Minute

// gateParallel bounds the tenants checked at the same time.
const gateParallel = 4

// gate runs the preflight of tenants for callsync run and starts only those
// with no failing check: a failing tenant is held in the registry (no jobs,
// webhook deliveries wait), its result stored for callsync status, exported
// on /metrics and logged, and checked again every RecheckEvery until it
// passes. Among replicas, each checks every tenant, and one failing here is
// left to a replica where it passes (cluster.Coordinator.Exclude).
type gate struct {
	app       *app
	sched     *jobs.Scheduler
	log       *slog.Logger
	every     time.Duration
	storePath string // store changes need a restart
	// exclude, when set (replicas on PostgreSQL), is told after each
	// preflight whether this replica can run the tenant, so a tenant
	// failing here moves to a replica where it passes.
	exclude func(name string, excluded bool)

	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{}
}

// gateMetrics are the preflight's series on /metrics.
type gateMetrics struct {
	ready  *prometheus.GaugeVec
	checks *prometheus.GaugeVec
}

func newGateMetrics(reg prometheus.Registerer) *gateMetrics {
	m := &gateMetrics{
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callsync_tenant_ready",
			Help: "1 when the tenant's preflight passed and its jobs run, 0 when it is not started (a check failed or has not run yet).",
		}, []string{"tenant"}),
		checks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callsync_tenant_checks",
			Help: "Check lines of the tenant's last preflight, by status (ok, warn, fail).",
		}, []string{"tenant", "status"}),
	}
	reg.MustRegister(m.ready, m.checks)
	return m
}

func newGate(a *app, sched *jobs.Scheduler, log *slog.Logger, every time.Duration) *gate {
	if every <= 0 {
		every = RecheckEvery
	}
	return &gate{app: a, sched: sched, log: log, every: every, storePath: storeFile(a.cfg.Store),
		pending: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// holdNew holds every tenant of the registry that is not in prev (new, or
// rebuilt with new clients) until its preflight passes.
func (g *gate) holdNew(prev map[string]*jobs.Tenant) {
	for _, t := range g.app.registry.All() {
		if prev[t.Name] != t {
			g.app.registry.Hold(t.Name, "preflight not run yet")
			g.app.gateMetrics.ready.WithLabelValues(t.Name).Set(0)
		}
	}
}

// request asks for the preflight of the named tenants (all when none).
func (g *gate) request(names ...string) {
	if len(names) == 0 {
		for _, t := range g.app.registry.All() {
			names = append(names, t.Name)
		}
	}
	g.mu.Lock()
	for _, n := range names {
		g.pending[n] = true
	}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// loop runs requested checks, and re-checks held tenants every g.every,
// until ctx ends.
func (g *gate) loop(ctx context.Context) {
	tick := time.NewTicker(g.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if held := g.app.registry.HeldNames(); len(held) > 0 {
				g.request(held...)
			}
		case <-g.wake:
			g.mu.Lock()
			names := make([]string, 0, len(g.pending))
			for n := range g.pending {
				names = append(names, n)
			}
			g.pending = map[string]bool{}
			g.mu.Unlock()
			g.checkAll(ctx, names)
		}
	}
}

// checkAll checks the named tenants, a few at a time; each result applies
// as soon as it is known.
func (g *gate) checkAll(ctx context.Context, names []string) {
	sem := make(chan struct{}, gateParallel)
	var wg sync.WaitGroup
	for _, name := range names {
		t, ok := g.app.registry.Get(name)
		if !ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g.apply(ctx, t, g.preflight(ctx, t))
		}()
	}
	wg.Wait()
}

// preflight runs callsync doctor's checks for a running tenant's clients.
func (g *gate) preflight(ctx context.Context, t *jobs.Tenant) []crm.Check {
	ec, ok := t.Enreach.(enreachDoctor)
	if !ok {
		return []crm.Check{{Area: "enreach", Name: "client", Status: crm.CheckFail, Detail: "the Enreach client cannot be checked"}}
	}
	return preflight(ctx, g.storePath, t.Config(), ec, t.CRM)
}

// apply holds or releases the tenant after its preflight, reschedules, and
// records the result (store, metrics, log).
func (g *gate) apply(ctx context.Context, t *jobs.Tenant, checks []crm.Check) {
	if cur, ok := g.app.registry.Get(t.Name); !ok || cur != t {
		return // removed or rebuilt meanwhile: its own check follows
	}
	now := time.Now().UTC()
	worst := crm.WorstStatus(checks)
	_, wasHeld := g.app.registry.Held(t.Name)
	rec := store.TenantCheck{Tenant: t.Name, CheckedAt: now, Status: string(worst)}
	log := g.log.With("tenant", t.Name)
	for _, c := range checks {
		switch c.Status {
		case crm.CheckFail:
			log.Error("preflight check failed", "check", c.Area+" "+c.Name, "detail", c.Detail, "fix", c.Fix)
		case crm.CheckWarn:
			log.Warn("preflight warning", "check", c.Area+" "+c.Name, "detail", c.Detail, "fix", c.Fix)
		}
	}
	if g.exclude != nil {
		g.exclude(t.Name, worst == crm.CheckFail)
	}
	if worst == crm.CheckFail {
		g.app.registry.Hold(t.Name, holdReason(checks))
		rec.NextCheck = now.Add(g.every)
		log.Error("tenant not started: a preflight check failed; it is checked again, no restart needed", "next_check", rec.NextCheck.Format(time.RFC3339))
	} else {
		g.app.registry.Release(t.Name)
		rec.Started = true
		if wasHeld {
			log.Info("tenant started: preflight passed", "status", string(worst))
		}
	}
	if err := g.sched.SyncTenants(); err != nil {
		log.Error("scheduling after the preflight", "err", err)
	}
	rec.Checks, _ = json.Marshal(checks)
	if err := g.app.store.SaveTenantCheck(context.WithoutCancel(ctx), rec); err != nil {
		log.Error("storing the preflight", "err", err)
	}
	m := g.app.gateMetrics
	ready := 0.0
	if rec.Started {
		ready = 1
	}
	m.ready.WithLabelValues(t.Name).Set(ready)
	n := map[crm.CheckStatus]int{}
	for _, c := range checks {
		n[c.Status]++
	}
	for _, st := range []crm.CheckStatus{crm.CheckOK, crm.CheckWarn, crm.CheckFail} {
		m.checks.WithLabelValues(t.Name, string(st)).Set(float64(n[st]))
	}
}

// forget drops the series of tenants no longer configured.
func (g *gate) forget(prev map[string]*jobs.Tenant) {
	for name := range prev {
		if _, ok := g.app.registry.Get(name); !ok {
			g.app.gateMetrics.ready.DeleteLabelValues(name)
			for _, st := range []crm.CheckStatus{crm.CheckOK, crm.CheckWarn, crm.CheckFail} {
				g.app.gateMetrics.checks.DeleteLabelValues(name, string(st))
			}
		}
	}
}

// holdReason is the first failing check, and how many more there are.
func holdReason(checks []crm.Check) string {
	var first *crm.Check
	n := 0
	for i := range checks {
		if checks[i].Status == crm.CheckFail {
			if first == nil {
				first = &checks[i]
			}
			n++
		}
	}
	if first == nil {
		return ""
	}
	r := fmt.Sprintf("%s %s: %s", first.Area, first.Name, first.Detail)
	if n > 1 {
		r += fmt.Sprintf(" (and %d more failed checks)", n-1)
	}
	return r
}

// tenantsByName snapshots the registry.
func tenantsByName(r *jobs.Registry) map[string]*jobs.Tenant {
	m := map[string]*jobs.Tenant{}
	for _, t := range r.All() {
		m[t.Name] = t
	}
	return m
}
