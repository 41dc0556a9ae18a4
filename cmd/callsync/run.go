package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/callsync/callsync/cluster"
	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/server"
	"github.com/callsync/callsync/store"
	"github.com/go-co-op/gocron/v2"
)

// RunCommand is `callsync run`: the scheduler plus the HTTP server.
type RunCommand struct{ *Main }

// Run starts the worker and blocks until ctx ends (SIGINT/SIGTERM).
func (c *RunCommand) Run(ctx context.Context, args []string) error {
	fs, path := c.configFlags("run", "callsync run --config FILE")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(c.Stderr, cfg.Log.Format, cfg.Log.Level)
	w := &worker{log: log, configPath: *path, getenv: c.Getenv}
	return w.run(ctx, cfg, httpclient.Options{}, nil)
}

// worker is a running callsync: app, scheduler, HTTP server, config watcher.
type worker struct {
	log        *slog.Logger
	configPath string
	getenv     func(string) (string, bool)
	app        *app
	sched      *jobs.Scheduler
	// ready, when set, receives the public HTTP address once listening.
	ready func(addr string)
	// adminReady, when set, receives the admin HTTP address once
	// listening (not called when http.admin_listen is empty).
	adminReady func(addr string)
	// pollConfig is how often the config file is checked for changes
	// (default 2s).
	pollConfig time.Duration
	// recheck is how often a tenant not started is checked again
	// (default RecheckEvery).
	recheck time.Duration
	gate    *gate
	// coord shares the tenants with other replicas (PostgreSQL store).
	coord *cluster.Coordinator
}

func (w *worker) run(ctx context.Context, cfg *config.Config, httpOpts httpclient.Options, onCall func(string, jobs.Outcome)) error {
	a, err := openApp(ctx, cfg, w.log, httpOpts)
	if err != nil {
		return err
	}
	defer a.Close()
	a.syncer.OnCall = onCall
	w.app = a
	// Replicas on one PostgreSQL store share the tenants through leases:
	// gocron asks the coordinator before each run of a tenant's job.
	var coord *cluster.Coordinator
	var schedOpts []gocron.SchedulerOption
	if cfg.Store.Driver == config.DriverPostgres {
		// The leases go through connections of their own: renewals must
		// not wait behind the jobs for one of the pool's (store.max_conns),
		// or a lease runs out while its tenant's job still runs here.
		ls, err := store.OpenPostgres(ctx, cfg.Store.URL.Value(), store.PoolOptions{
			MaxConns: leaseConns, ConnectTimeout: time.Duration(cfg.Store.ConnectTimeout), StatementTimeout: statementTimeout(cfg.Store),
		})
		if err != nil {
			return err
		}
		defer ls.Close()
		coord = w.newCoordinator(a, cfg, ls)
		schedOpts = append(schedOpts, gocron.WithDistributedLocker(coord))
	}
	sched, err := jobs.NewScheduler(a.syncer, a.registry, w.log, schedOpts...)
	if err != nil {
		return err
	}
	w.sched = sched
	if coord != nil {
		// A job stops when this replica stops holding its lease.
		sched.UseLeases(coord)
	}
	// Every tenant starts held: its jobs are scheduled once its preflight
	// (callsync doctor's checks) has no failing check.
	w.gate = newGate(a, sched, w.log, w.recheck)
	if coord != nil {
		w.gate.exclude = coord.Exclude
	}
	w.gate.holdNew(nil)
	if err := sched.SetPurge(cfg.Purge); err != nil {
		return err
	}
	// The public listener: webhooks, Smart Routing and a bare liveness
	// answer that tells nothing about the store.
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health(a.store.Ping, false))
	mux.Handle("POST /routing/{tenant}", a.routingHandler())
	// Webhook deliveries are stored before the 2xx; storing one wakes the
	// inbox drain so it reaches the CRM before the next tick.
	wake := make(chan struct{}, 1)
	server.NewWebhook(a.registry, a.store, server.WebhookOptions{Log: w.log, Notify: func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}}).Register(mux)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
				sched.Wake("inbox")
			}
		}
	}()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	// WriteTimeout stays above the largest routing budget (4.5 s).
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go srv.Serve(ln)
	adminSrv := &http.Server{Handler: newAdmin(a, cfg.HTTP), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	if cfg.HTTP.AdminListen != "" {
		aln, err := net.Listen("tcp", cfg.HTTP.AdminListen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("http.admin_listen %s: %w", cfg.HTTP.AdminListen, err)
		}
		go adminSrv.Serve(aln)
		w.log.Info("admin endpoints listening", "http", aln.Addr().String())
		if w.adminReady != nil {
			w.adminReady(aln.Addr().String())
		}
	}
	// The file as it is now counts as applied: an edit from here on reloads.
	loaded := fileHash(w.configPath)
	w.log.Info("callsync started", "http", ln.Addr().String(), "tenants", len(cfg.Tenants), "store", cfg.Store.Driver, "path", storeFile(cfg.Store))
	if w.ready != nil {
		w.ready(ln.Addr().String())
	}
	if coord != nil {
		// The first preflight of every tenant comes before the first round:
		// the first heartbeat already names the tenants this replica cannot
		// run, so it takes none of their leases and a replica running one
		// does not hand it over.
		w.gate.checkAll(ctx, tenantNames(cfg))
		// Take this replica's share before the first (immediate) runs.
		if err := coord.Tick(ctx); err != nil {
			w.log.Warn("replica heartbeat failed", "err", err)
		}
		go coord.Run(ctx)
	}
	if err := sched.Start(); err != nil {
		srv.Close()
		adminSrv.Close()
		return err
	}
	go w.gate.loop(ctx)
	if coord == nil {
		w.gate.request()
	}
	if w.configPath != "" {
		go w.watchConfig(ctx, loaded)
	}
	go a.flushRequests(ctx, 30*time.Second)
	<-ctx.Done()
	w.log.Info("stopping: finishing the running batches")
	shutdownErr := sched.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if coord != nil {
		// Nothing runs here any more: the others take the tenants now.
		coord.Stop(sctx)
	}
	srv.Shutdown(sctx)
	adminSrv.Shutdown(sctx)
	if err := a.requests.Flush(sctx); err != nil {
		w.log.Warn("storing CRM request counts", "err", err)
	}
	w.log.Info("stopped")
	return shutdownErr
}

// leaseConns is the size of the lease coordinator's own pool: one round
// at a time, one spare for the release on stop.
const leaseConns = 2

// newCoordinator makes this replica's lease coordinator (on the store
// leases): an id unique per
// process (host, pid, random), the tenants of the config, the lease gauges
// on /metrics, and the registry told which tenants run elsewhere.
func (w *worker) newCoordinator(a *app, cfg *config.Config, leases cluster.Store) *cluster.Coordinator {
	host, _ := os.Hostname()
	var rnd [4]byte
	rand.Read(rnd[:])
	id := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(rnd[:]))
	a.store.SetReplica(id)
	ttl := time.Duration(cfg.Store.LeaseTTL)
	if ttl <= 0 {
		ttl = cluster.DefaultTTL
	}
	coord := cluster.New(leases, cluster.Options{ID: id, Host: host, TTL: ttl, Every: ttl / 3, Log: w.log,
		OnAcquire: func(name string) {
			if w.sched != nil {
				w.sched.WakeTenant(name)
			}
		}})
	coord.SetTenants(tenantNames(cfg))
	a.registry.SetElsewhere(coord.Elsewhere)
	a.reg.MustRegister(coord)
	w.coord = coord
	w.log.Info("replica joined", "replica", id, "lease_ttl", ttl.String())
	return coord
}

func tenantNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		out[i] = t.Name
	}
	return out
}

// flushRequests stores the CRM request counts every interval.
func (a *app) flushRequests(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.requests.Flush(ctx); err != nil {
				a.log.Warn("storing CRM request counts", "err", err)
			}
		}
	}
}

// watchConfig re-reads the config on SIGHUP and when the file changes on
// disk. A valid config takes effect at the next cycle; an invalid one is
// rejected with the reason and the running one stays.
func (w *worker) watchConfig(ctx context.Context, last [32]byte) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	every := w.pollConfig
	if every <= 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			w.reload("SIGHUP")
			last = fileHash(w.configPath)
		case <-tick.C:
			if h := fileHash(w.configPath); h != last {
				last = h
				w.reload("file changed")
			}
		}
	}
}

func (w *worker) reload(why string) {
	cfg, err := config.Load(w.configPath, w.getenv, configTypes())
	if err != nil {
		w.log.Error("config reload rejected; keeping the running config", "why", why, "err", err)
		return
	}
	prev := tenantsByName(w.app.registry)
	if err := w.app.apply(cfg); err != nil {
		w.log.Error("config reload failed; keeping the running config", "why", why, "err", err)
		return
	}
	// New and rebuilt tenants wait for their preflight; every tenant is
	// checked again with the new settings.
	w.gate.holdNew(prev)
	w.gate.forget(prev)
	if err := w.sched.SetPurge(cfg.Purge); err != nil {
		w.log.Error("config reload: scheduling the purge", "err", err)
	}
	if w.coord != nil {
		w.coord.SetTenants(tenantNames(cfg))
	}
	if err := w.sched.SyncTenants(); err != nil {
		w.log.Error("config reload: scheduling", "err", err)
	}
	w.gate.request()
	w.log.Info("config reloaded", "why", why, "tenants", len(cfg.Tenants))
}

func fileHash(path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}
