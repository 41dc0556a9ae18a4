package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/go-co-op/gocron/v2"
)

func TestSyncTenantsFollowsTheRegistry(t *testing.T) {
	tenant := func(name string) *Tenant {
		c := config.DefaultTenant()
		c.Name, c.DefaultRegion = name, "FI"
		return NewTenant(c, nil, nil, nil)
	}
	reg := NewRegistry(tenant("a"), tenant("b"))
	s, err := NewScheduler(&Syncer{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.sched.Shutdown()
	names := func() []string {
		var out []string
		for _, j := range s.sched.Jobs() {
			out = append(out, j.Name())
		}
		sort.Strings(out)
		return out
	}
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	if got := len(names()); got != 2+2*len(s.perTenant) {
		t.Fatalf("jobs %v: want the 2 global ones and %d per tenant", names(), len(s.perTenant))
	}
	// A reload drops tenant b and adds c; global jobs stay.
	reg.Replace([]*Tenant{tenant("a"), tenant("c")})
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	got := names()
	for _, n := range got {
		if n == "calls/b" || n == "callbacks/b" || n == "retroactive/b" {
			t.Fatalf("tenant b's job %s survived its removal: %v", n, got)
		}
	}
	want := map[string]bool{"inbox": true, "purge": true, "calls/a": true, "calls/c": true, "callbacks/c": true}
	for _, n := range got {
		delete(want, n)
	}
	if len(want) != 0 {
		t.Fatalf("jobs %v lack %v", got, want)
	}

	// A held tenant (preflight failed) has no jobs until it is released.
	reg.Hold("c", "enreach auth: HTTP 401")
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names() {
		if strings.HasSuffix(n, "/c") {
			t.Fatalf("held tenant c kept job %s: %v", n, names())
		}
	}
	if got := len(names()); got != 2+len(s.perTenant) {
		t.Fatalf("jobs %v: want the global ones and tenant a's", names())
	}
	reg.Release("c")
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	if got := len(names()); got != 2+2*len(s.perTenant) {
		t.Fatalf("after release, jobs %v", names())
	}
	// A removed tenant's hold goes with it.
	reg.Hold("c", "x")
	reg.Replace([]*Tenant{tenant("a")})
	if held := reg.HeldNames(); len(held) != 0 {
		t.Fatalf("holds of removed tenants stayed: %v", held)
	}
}

// A webhook stored, or a lease taken, while callsync run starts wakes a
// job before the scheduler runs: gocron then blocked its scheduling loop
// on the executor that only Start starts, and Start never returned (the
// replica took leases but ran no job). Waking before Start is a no-op;
// Start runs the jobs at once anyway.
func TestWakeBeforeStartDoesNotBlockStart(t *testing.T) {
	c := config.DefaultTenant()
	c.Name, c.DefaultRegion = "a", "FI"
	s, err := NewScheduler(&Syncer{}, NewRegistry(NewTenant(c, nil, nil, nil)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	s.Wake("inbox")
	s.WakeTenant("a")
	done := make(chan error, 1)
	go func() { done <- s.Start() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return after a Wake before it")
	}
	s.Shutdown()
}

// fakeLeases ends the runs of a lease when told it is lost.
type fakeLeases struct {
	mu      sync.Mutex
	cancels map[string][]context.CancelCauseFunc
}

func (l *fakeLeases) JobContext(ctx context.Context, job string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	l.cancels[job] = append(l.cancels[job], cancel)
	l.mu.Unlock()
	return ctx, func() { cancel(nil) }
}

func (l *fakeLeases) lose(job string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.cancels[job] {
		c(errors.New("lease lost"))
	}
	return len(l.cancels[job])
}

// A tenant's job runs in the context its lease gives it: when the replica
// loses the lease, the running job's context ends (it stops writing),
// though shutdown alone does not end it.
func TestTenantJobEndsWithItsLease(t *testing.T) {
	c := config.DefaultTenant()
	c.Name, c.DefaultRegion = "a", "FI"
	s, err := NewScheduler(&Syncer{}, NewRegistry(NewTenant(c, nil, nil, nil)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	leases := &fakeLeases{cancels: map[string][]context.CancelCauseFunc{}}
	s.UseLeases(leases)
	started, ended := make(chan struct{}), make(chan error, 1)
	s.perTenant = []tenantJob{{name: "calls", def: func() gocron.JobDefinition { return gocron.CronJob("* * * * *", false) },
		fn: func(ctx context.Context, _ *Tenant, _ SyncOptions) error {
			close(started)
			select {
			case <-ctx.Done():
				ended <- context.Cause(ctx)
			case <-time.After(time.Minute):
				ended <- nil
			}
			return nil
		}}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("calls/a did not start")
	}
	if n := leases.lose("calls/a"); n != 1 {
		t.Fatalf("%d runs of calls/a asked for their lease's context, want 1", n)
	}
	if err := <-ended; err == nil {
		t.Fatal("calls/a ran on for a minute after its lease was lost")
	}
}
