package jobs

import (
	"context"
	"fmt"
	"github.com/callsync/callsync/config"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
)

// Registry holds the running tenants by name; config reloads replace
// entries, and jobs look their tenant up at each run.
//
// A tenant can be held (not started): its jobs are not scheduled and its
// webhook deliveries wait in the inbox, until it is released. callsync run
// holds a tenant whose preflight has not passed.
type Registry struct {
	mu      sync.RWMutex
	tenants map[string]*Tenant
	holds   map[string]string // reason by tenant name
	// elsewhere, when set, reports the tenants another replica runs now
	// (SetElsewhere); their webhook deliveries are left to it.
	elsewhere func(name string) bool
}

// SetElsewhere tells the registry which tenants another replica sharing
// the store runs now.
func (r *Registry) SetElsewhere(f func(name string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.elsewhere = f
}

// Waiting returns the tenants whose webhook deliveries this process leaves
// in the inbox: the held ones and those another replica runs, sorted.
func (r *Registry) Waiting() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.holds))
	for name := range r.holds {
		out = append(out, name)
	}
	if r.elsewhere != nil {
		for name := range r.tenants {
			if _, held := r.holds[name]; !held && r.elsewhere(name) {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// NewRegistry returns a registry of the given tenants, none held.
func NewRegistry(ts ...*Tenant) *Registry {
	r := &Registry{tenants: map[string]*Tenant{}, holds: map[string]string{}}
	for _, t := range ts {
		r.tenants[t.Name] = t
	}
	return r
}

// Get returns a tenant by name.
func (r *Registry) Get(name string) (*Tenant, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tenants[name]
	return t, ok
}

// All returns the tenants sorted by name.
func (r *Registry) All() []*Tenant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Replace swaps the whole set. Holds of tenants still present stay.
func (r *Registry) Replace(ts []*Tenant) {
	m := make(map[string]*Tenant, len(ts))
	for _, t := range ts {
		m[t.Name] = t
	}
	r.mu.Lock()
	r.tenants = m
	for name := range r.holds {
		if _, ok := m[name]; !ok {
			delete(r.holds, name)
		}
	}
	r.mu.Unlock()
}

// Hold stops a tenant from being started (SyncTenants removes its jobs)
// until Release; reason says why.
func (r *Registry) Hold(name, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holds[name] = reason
}

// Release lets a held tenant start at the next SyncTenants.
func (r *Registry) Release(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.holds, name)
}

// Held reports whether a tenant is held, and why.
func (r *Registry) Held(name string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	reason, ok := r.holds[name]
	return reason, ok
}

// HeldNames returns the held tenants' names, sorted.
func (r *Registry) HeldNames() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.holds))
	for name := range r.holds {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Running returns the tenants not held, sorted by name.
func (r *Registry) Running() []*Tenant {
	var out []*Tenant
	for _, t := range r.All() {
		if _, held := r.Held(t.Name); !held {
			out = append(out, t)
		}
	}
	return out
}

// Scheduler runs the jobs with gocron: one scheduler in UTC, each job a
// singleton per tenant (an overlapping tick is dropped, not queued).
type Scheduler struct {
	sched    gocron.Scheduler
	syncer   *Syncer
	registry *Registry
	log      *slog.Logger
	stop     chan struct{}
	// perTenant are the jobs every tenant gets (calls, retroactive,
	// callbacks); global ones (inbox, purge) are added with AddJob.
	mu        sync.Mutex
	perTenant []tenantJob
	jobs      map[string]gocron.Job // global jobs by name
	// tenantJobs are the per-tenant jobs by "<job>/<tenant>".
	tenantJobs map[string]gocron.Job
	// started is set once Start returned: gocron hands a RunNow to its
	// executor, which runs only from Start on, so a RunNow before it
	// blocks gocron's scheduling loop and Start then never returns.
	started bool
	// leases, when set (UseLeases), ends a job's run when this replica
	// stops holding the job's lease.
	leases Leases
}

// Leases gives a run of a job its context: one that ends as soon as this
// replica can no longer be sure it holds the job's lease
// (cluster.Coordinator, also the scheduler's gocron locker).
type Leases interface {
	JobContext(ctx context.Context, job string) (context.Context, context.CancelFunc)
}

// UseLeases makes each run of a job end when this replica stops holding
// its lease (replicas sharing the tenants). Call it before Start.
func (s *Scheduler) UseLeases(l Leases) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases = l
}

// runContext is the context of one run of the job name: shutdown does not
// end it (I/O is not cut: the batch being written finishes, and Stop ends
// the run between batches), losing the job's lease does.
func (s *Scheduler) runContext(ctx context.Context, name string) (context.Context, context.CancelFunc) {
	ctx = context.WithoutCancel(ctx)
	s.mu.Lock()
	l := s.leases
	s.mu.Unlock()
	if l == nil {
		return ctx, func() {}
	}
	return l.JobContext(ctx, name)
}

type tenantJob struct {
	name string
	// def makes the job's definition; each job gets its own, because
	// gocron keeps the parsed cron schedule inside the definition and a
	// shared one would be rewritten by every NewJob while others run.
	def func() gocron.JobDefinition
	fn  func(ctx context.Context, t *Tenant, o SyncOptions) error
}

// NewScheduler prepares the calls, retroactive and purge jobs.
func NewScheduler(syncer *Syncer, reg *Registry, log *slog.Logger, opts ...gocron.SchedulerOption) (*Scheduler, error) {
	opts = append([]gocron.SchedulerOption{gocron.WithLocation(time.UTC), gocron.WithStopTimeout(time.Minute)}, opts...)
	gs, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("jobs: scheduler: %w", err)
	}
	s := &Scheduler{sched: gs, syncer: syncer, registry: reg, log: log, stop: make(chan struct{}), jobs: map[string]gocron.Job{}, tenantJobs: map[string]gocron.Job{}}
	everyMinute := func() gocron.JobDefinition { return gocron.CronJob("* * * * *", false) }
	s.perTenant = []tenantJob{
		{name: "calls", def: everyMinute, fn: func(ctx context.Context, t *Tenant, o SyncOptions) error {
			_, err := syncer.RunCalls(ctx, t, o)
			return err
		}},
		{name: "retroactive", def: everyMinute, fn: func(ctx context.Context, t *Tenant, o SyncOptions) error {
			_, _, err := syncer.Retroactive(ctx, t, o)
			return err
		}},
		{name: "callbacks", def: everyMinute, fn: func(ctx context.Context, t *Tenant, o SyncOptions) error {
			if cfg := t.Config(); len(cfg.ActiveProfiles()) == 0 {
				return nil
			}
			_, err := syncer.RunCallbacks(ctx, t, o)
			return err
		}},
	}
	// The webhook inbox: drained at start (nothing received before a crash
	// is lost) and every few seconds; Wake drains it early.
	if err := s.AddJob("inbox", gocron.DurationJob(InboxEvery), func(ctx context.Context) error {
		_, err := syncer.DrainInbox(ctx, reg, DefaultInboxBatch)
		return err
	}, gocron.WithStartAt(gocron.WithStartImmediately())); err != nil {
		return nil, err
	}
	d := config.Defaults()
	if err := s.SetPurge(d.Purge); err != nil {
		return nil, err
	}
	return s, nil
}

// SetPurge (re)schedules the daily retention purge at p.RunAt (UTC) with
// p's retentions (the original Zoho connector's purge job: a time to run and
// a retention, 14 days by default). Each run logs and stores its counts
// (callsync status shows the last). Call it again after a config reload.
func (s *Scheduler) SetPurge(p config.Purge) error {
	at, err := config.ParseTimeOfDay(p.RunAt)
	if err != nil {
		return fmt.Errorf("jobs: purge: %w", err)
	}
	s.mu.Lock()
	old, ok := s.jobs["purge"]
	s.mu.Unlock()
	if ok {
		if err := s.sched.RemoveJob(old.ID()); err != nil {
			return fmt.Errorf("jobs: purge: %w", err)
		}
	}
	h, m := uint(at/time.Hour), uint(at%time.Hour/time.Minute)
	return s.AddJob("purge", gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(h, m, 0))), func(ctx context.Context) error {
		names := []string{}
		for _, t := range s.registry.All() {
			names = append(names, t.Name)
		}
		r, err := s.syncer.Purge(ctx, names, p)
		if err == nil {
			s.log.Info("purged old history", "ledger_rows", r.Ledger, "payloads", r.Payloads, "runs", r.Runs, "inbox", r.Inbox,
				"quarantine", r.Quarantine, "retention", p.Retention.String(), "ledger_retention", p.LedgerRetention.String())
		}
		return err
	})
}

// InboxEvery is how often the webhook inbox is drained.
const InboxEvery = 5 * time.Second

// AddJob adds a global singleton job.
func (s *Scheduler) AddJob(name string, def gocron.JobDefinition, fn func(ctx context.Context) error, opts ...gocron.JobOption) error {
	j, err := s.sched.NewJob(def, gocron.NewTask(func(ctx context.Context) {
		ctx, done := s.runContext(ctx, name)
		defer done()
		if err := fn(ctx); err != nil {
			s.log.Error("job failed", "job", name, "err", err)
		}
	}), append(s.options(name), opts...)...)
	if err != nil {
		return fmt.Errorf("jobs: add %s: %w", name, err)
	}
	s.mu.Lock()
	s.jobs[name] = j
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) options(name string) []gocron.JobOption {
	return []gocron.JobOption{
		gocron.WithName(name),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithEventListeners(gocron.AfterJobRunsWithPanic(func(_ uuid.UUID, _ string, p any) {
			s.log.Error("job panicked", "job", name, "panic", p)
		})),
	}
}

// SyncTenants makes the per-tenant jobs match the registry: jobs of new
// and released tenants are added, those of removed and held tenants
// removed. Call it after a config reload and after holding or releasing.
func (s *Scheduler) SyncTenants() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, t := range s.registry.Running() {
		for _, tj := range s.perTenant {
			name := tj.name + "/" + t.Name
			want[name] = true
			if _, ok := s.tenantJobs[name]; ok {
				continue
			}
			tenant, fn := t.Name, tj.fn
			j, err := s.sched.NewJob(tj.def(), gocron.NewTask(func(ctx context.Context) {
				t, ok := s.registry.Get(tenant)
				if !ok {
					return
				}
				ctx, done := s.runContext(ctx, name)
				defer done()
				if err := fn(ctx, t, SyncOptions{Stop: s.stop}); err != nil {
					s.log.Error("job failed", "job", name, "tenant", tenant, "err", err)
				}
			}), append(s.options(name), gocron.WithStartAt(gocron.WithStartImmediately()))...)
			if err != nil {
				return fmt.Errorf("jobs: add %s: %w", name, err)
			}
			s.tenantJobs[name] = j
		}
	}
	for name, j := range s.tenantJobs {
		if !want[name] {
			if err := s.sched.RemoveJob(j.ID()); err != nil {
				return err
			}
			delete(s.tenantJobs, name)
		}
	}
	return nil
}

// TenantJobs returns the names ("<job>/<tenant>") of the scheduled
// per-tenant jobs, sorted.
func (s *Scheduler) TenantJobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tenantJobs))
	for name := range s.tenantJobs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Start adds the tenants' jobs and starts the scheduler.
func (s *Scheduler) Start() error {
	if err := s.SyncTenants(); err != nil {
		return err
	}
	s.sched.Start()
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	return nil
}

// Shutdown asks running jobs to stop after their current batch and waits for
// them (up to a minute).
func (s *Scheduler) Shutdown() error {
	close(s.stop)
	return s.sched.Shutdown()
}

// WakeTenant runs a tenant's jobs now (a replica that just took the
// tenant over runs its cycle at once, not at the next minute). Before Start
// it does nothing: Start runs every job at once anyway.
func (s *Scheduler) WakeTenant(tenant string) {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return
	}
	var js []gocron.Job
	for name, j := range s.tenantJobs {
		if strings.HasSuffix(name, "/"+tenant) {
			js = append(js, j)
		}
	}
	s.mu.Unlock()
	for _, j := range js {
		j.RunNow()
	}
}

// Wake runs a global job now (e.g. the inbox after a webhook arrived); a
// run already under way is not doubled (singleton). Before Start it does
// nothing (a webhook stored while the replica starts): Start drains the
// inbox at once.
func (s *Scheduler) Wake(name string) {
	s.mu.Lock()
	j, ok := s.jobs[name]
	ok = ok && s.started
	s.mu.Unlock()
	if ok {
		j.RunNow()
	}
}
