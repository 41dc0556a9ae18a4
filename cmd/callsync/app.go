package main

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/routing"
	"github.com/callsync/callsync/statuspage"
	"github.com/callsync/callsync/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// app is what every long-running subcommand shares: the store, the tenants
// with their clients, the syncer and the metrics.
type app struct {
	cfg      *config.Config
	store    *store.Store
	log      *slog.Logger
	reg      *prometheus.Registry
	metrics  *jobs.Metrics
	syncer   *jobs.Syncer
	registry *jobs.Registry
	http     httpclient.Options
	// crms is the registry of CRM types the tenants' clients come from
	// (crmTypes).
	crms map[string]crmType

	// credits is the CRM quota each answer reports (crm.RequestHook).
	credits *prometheus.GaugeVec
	// requests counts each tenant's CRM requests per hour (status page).
	requests *statuspage.RequestCounter
	// crmRequests is callsync_crm_requests_total.
	crmRequests *prometheus.CounterVec
	// gateMetrics: each tenant's preflight (ready, checks by status).
	gateMetrics *gateMetrics
	// countries reads address countries for every tenant's phone directory.
	countries *phonedir.Countries
}

// openStore opens the configured store engine: the SQLite file, or the
// PostgreSQL database several replicas share.
func openStore(ctx context.Context, c config.Store) (*store.Store, error) {
	if c.Driver == config.DriverPostgres {
		return store.OpenPostgres(ctx, c.URL.Value(), store.PoolOptions{
			MaxConns: int32(c.MaxConns), ConnectTimeout: time.Duration(c.ConnectTimeout),
			StatementTimeout: statementTimeout(c),
		})
	}
	return store.Open(ctx, c.Path)
}

// statementTimeout is store.statement_timeout, DefaultStatementTimeout
// when unset.
func statementTimeout(c config.Store) time.Duration {
	if c.StatementTimeout > 0 {
		return time.Duration(c.StatementTimeout)
	}
	return config.DefaultStatementTimeout
}

// storeFile is the SQLite file of the store ("" on PostgreSQL).
func storeFile(c config.Store) string {
	if c.Driver == config.DriverPostgres {
		return ""
	}
	return c.Path
}

// openApp opens the store and builds every tenant. Nothing is contacted yet.
func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger, httpOpts httpclient.Options) (*app, error) {
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	httpOpts.Logger = log
	a := &app{cfg: cfg, store: st, log: log, reg: reg, metrics: jobs.NewMetrics(reg), http: httpOpts, crms: crmTypes,
		credits: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "callsync_crm_quota_remaining", Help: "API quota left as the CRM's last answer said: Zoho credits today, Salesforce daily API requests, Dynamics requests in the service protection window.",
		}, []string{"tenant", "crm"})}
	reg.MustRegister(a.credits)
	a.crmRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callsync_crm_requests_total", Help: "HTTP requests to the CRM (every attempt, retries and token requests included) by CRM type and status class; code 429 is counted on its own.",
	}, []string{"tenant", "crm", "code"})
	reg.MustRegister(a.crmRequests)
	a.requests = statuspage.NewRequestCounter(st, nil)
	a.gateMetrics = newGateMetrics(reg)
	a.countries = phonedir.NewCountries()
	a.syncer = &jobs.Syncer{Store: st, Log: log, Metrics: a.metrics, Decisions: st}
	var ts []*jobs.Tenant
	for _, tc := range cfg.Tenants {
		t, err := a.buildTenant(tc)
		if err != nil {
			st.Close()
			return nil, err
		}
		ts = append(ts, t)
	}
	a.registry = jobs.NewRegistry(ts...)
	return a, nil
}

func (a *app) Close() error { return a.store.Close() }

// buildTenant creates a tenant's Enreach and CRM clients.
func (a *app) buildTenant(tc config.Tenant) (*jobs.Tenant, error) {
	log := a.log.With("tenant", tc.Name)
	ec, err := enreach.New(enreach.Config{
		APIURL: tc.Enreach.APIURL, DiscoveryURL: tc.Enreach.DiscoveryURL,
		User: tc.Enreach.User, SecretKey: tc.Enreach.SecretKey.Value(),
		HTTP: a.http, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tc.Name, err)
	}
	cc, err := newCRM(a.crms, tc, log, a.http, a.requestHook(tc.Name))
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tc.Name, err)
	}
	mo := match.Options{
		Region:       tc.DefaultRegion,
		NumbersToCut: tc.PhoneCalls.NumbersToCut,
		TTL:          tc.Routing.CacheTTL.D(),
		Fields:       routing.Fields(tc.Routing.Rules),
	}
	var dir *phonedir.Directory
	if l, ok := cc.(crm.PhoneLister); ok && tc.CRM.Directory == config.DirectoryMirror {
		dir = phonedir.New(a.store, l, phonedir.Options{Tenant: tc.Name, Region: tc.DefaultRegion,
			FullResync: tc.CRM.DirectoryFullResync.D(), Countries: a.countries})
		mo.Directory = dir
	}
	t := jobs.NewTenant(tc, ec, cc, match.New(cc, mo))
	if dir != nil {
		t.Phones = dir
	}
	return t, nil
}

// requestHook is the one path of the tenant's CRM requests into the
// metrics and the status page: each request the client sends (every
// attempt, token requests included) counts in callsync_crm_requests_total
// and the status page's hourly counts, and sets
// callsync_crm_quota_remaining when the answer reports a quota.
func (a *app) requestHook(tenant string) crm.RequestHook {
	return func(r crm.Request) {
		a.requests.Add(tenant, r.Status)
		a.crmRequests.WithLabelValues(tenant, r.CRM, statusClass(r.Status)).Inc()
		if r.Quota.Known {
			a.credits.WithLabelValues(tenant, r.CRM).Set(float64(r.Quota.Remaining))
		}
	}
}

// newCRM builds the tenant's CRM client through the registry of CRM types
// (crmTypes). onRequest is told about each request of the client.
func newCRM(types map[string]crmType, tc config.Tenant, log *slog.Logger, httpOpts httpclient.Options, onRequest crm.RequestHook) (crm.Client, error) {
	t, ok := types[tc.CRM.Type]
	if !ok {
		return nil, fmt.Errorf("crm.type %q is not supported", tc.CRM.Type)
	}
	return t.new(tc, crmEnv{log: log, http: httpOpts, onRequest: onRequest})
}

// apply makes a new, valid config take effect: tenants whose Enreach or CRM
// connection settings (or what the matcher fetches) changed get new clients,
// the others keep theirs (with their token caches and lookup cache) and just
// see the new settings at their next cycle; a kept client whose CRM type has
// an update hook gets the new settings through it.
// Tenants added or removed are added or removed.
func (a *app) apply(cfg *config.Config) error {
	var ts []*jobs.Tenant
	for _, tc := range cfg.Tenants {
		old, ok := a.registry.Get(tc.Name)
		if ok {
			oc := old.Config()
			if reflect.DeepEqual(oc.Enreach, tc.Enreach) && reflect.DeepEqual(oc.CRM, tc.CRM) &&
				oc.DefaultRegion == tc.DefaultRegion && oc.PhoneCalls.NumbersToCut == tc.PhoneCalls.NumbersToCut &&
				oc.Routing.CacheTTL == tc.Routing.CacheTTL &&
				reflect.DeepEqual(routing.Fields(oc.Routing.Rules), routing.Fields(tc.Routing.Rules)) {
				old.SetConfig(tc)
				if update := a.crms[tc.CRM.Type].update; update != nil {
					update(old.CRM, tc)
				}
				ts = append(ts, old)
				continue
			}
		}
		t, err := a.buildTenant(tc)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	a.registry.Replace(ts)
	a.cfg = cfg
	return nil
}
