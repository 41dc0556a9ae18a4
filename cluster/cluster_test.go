package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/cluster"
	"github.com/callsync/callsync/store"
	"github.com/callsync/callsync/store/pgtest"
)

var pg = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

func eachEngine(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("postgres", func(t *testing.T) {
		st, err := store.OpenPostgres(context.Background(), pg.NewDatabase(t), store.PoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// clock is a shared fake clock: the test moves time, not the machine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func tenants(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("t%02d", i))
	}
	return out
}

// holders maps each tenant to the replicas that may run it now; the test
// fails when any tenant has two.
func holders(t *testing.T, names []string, cs map[string]*cluster.Coordinator) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		for id, c := range cs {
			if c.Holds(n) {
				if prev, ok := out[n]; ok {
					t.Fatalf("tenant %s runnable on %s and %s at once", n, prev, id)
				}
				out[n] = id
			}
		}
	}
	return out
}

// Three replicas share 20 tenants: each tenant on exactly one, spread over
// all three; one killed (no more heartbeats) has its tenants taken over
// within 60 s; back again, no tenant is runnable twice at any moment.
func TestLeasesSpreadFailoverAndReturn(t *testing.T) {
	eachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
		names := tenants(20)
		taken := map[string][]string{}
		var mu sync.Mutex
		mk := func(id string) *cluster.Coordinator {
			c := cluster.New(st, cluster.Options{ID: id, Host: "host-" + id, Now: clk.Now, OnAcquire: func(n string) {
				mu.Lock()
				taken[id] = append(taken[id], n)
				mu.Unlock()
			}})
			c.SetTenants(names)
			return c
		}
		cs := map[string]*cluster.Coordinator{"a": mk("a"), "b": mk("b"), "c": mk("c")}
		round := func(ids ...string) map[string]string {
			for _, id := range ids {
				if err := cs[id].Tick(ctx); err != nil {
					t.Fatal(err)
				}
				holders(t, names, cs)
			}
			return holders(t, names, cs)
		}
		// Start together: the first round gives each what it sees; later
		// rounds hand tenants to their preferred replica.
		var h map[string]string
		for i := 0; i < 4; i++ {
			h = round("a", "b", "c")
			clk.Add(10 * time.Second)
		}
		per := map[string]int{}
		for _, n := range names {
			id, ok := h[n]
			if !ok {
				t.Fatalf("tenant %s held by no replica: %v", n, h)
			}
			if want := cluster.Preferred(n, []string{"a", "b", "c"}); id != want {
				t.Errorf("tenant %s on %s, preferred %s", n, id, want)
			}
			per[id]++
		}
		if len(per) != 3 {
			t.Fatalf("tenants not spread over the three replicas: %v", per)
		}

		// A job running on a holder keeps its tenant while it runs.
		var onC string
		for _, n := range names {
			if h[n] == "c" {
				onC = n
				break
			}
		}
		if _, err := cs["a"].Lock(ctx, "calls/"+onC); err == nil {
			t.Fatalf("replica a may run calls/%s held by c", onC)
		}
		lock, err := cs["c"].Lock(ctx, "calls/"+onC)
		if err != nil {
			t.Fatalf("holder c may not run calls/%s: %v", onC, err)
		}
		lock.Unlock(ctx)

		// Kill c: it stops heartbeating. Its tenants move within 60 s.
		var wasOnC []string
		for _, n := range names {
			if h[n] == "c" {
				wasOnC = append(wasOnC, n)
			}
		}
		killed := clk.Now()
		var moved time.Duration
		for moved == 0 {
			clk.Add(5 * time.Second)
			h = round("a", "b")
			onAB := 0
			for _, n := range names {
				if h[n] == "a" || h[n] == "b" {
					onAB++
				}
			}
			if onAB == len(names) {
				moved = clk.Now().Sub(killed)
			}
			if clk.Now().Sub(killed) > 2*time.Minute {
				t.Fatalf("tenants of the dead replica not taken over: %v", h)
			}
		}
		mu.Lock()
		for _, n := range wasOnC {
			if !slices.Contains(taken["a"], n) && !slices.Contains(taken["b"], n) {
				t.Errorf("taking over %s did not call OnAcquire (a's cycle would wait for the next minute)", n)
			}
		}
		mu.Unlock()
		if moved > 60*time.Second {
			t.Errorf("failover took %s, want under 60 s", moved)
		}
		t.Logf("failover after %s of fake time", moved)

		// c comes back under a new id (a restarted process): tenants move to
		// it again, never runnable twice on the way (holders checks).
		cs["c2"] = mk("c2")
		delete(cs, "c")
		for i := 0; i < 6; i++ {
			h = round("a", "b", "c2")
			clk.Add(5 * time.Second)
		}
		per = map[string]int{}
		for _, n := range names {
			per[h[n]]++
		}
		if per["c2"] == 0 || len(h) != len(names) {
			t.Fatalf("restarted replica got no tenant or some are unheld: %v", per)
		}
	})
}

// A stopping replica releases its leases at once: another takes them at
// its next round, not after the TTL.
func TestStopHandsOver(t *testing.T) {
	eachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
		names := tenants(5)
		a := cluster.New(st, cluster.Options{ID: "a", Now: clk.Now})
		a.SetTenants(names)
		if err := a.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(a.Held()); got != len(names)+1 {
			t.Fatalf("alone, a holds %d leases, want %d", got, len(names)+1)
		}
		a.Stop(ctx)
		b := cluster.New(st, cluster.Options{ID: "b", Now: clk.Now})
		b.SetTenants(names)
		clk.Add(time.Second)
		if err := b.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(b.Held()); got != len(names)+1 {
			t.Fatalf("after a stopped, b holds %d leases, want %d", got, len(names)+1)
		}
	})
}

// A tenant whose preflight fails on the replica holding it (that replica
// excludes itself) moves to the replica hashing next, never runnable on two
// at once; when every replica excludes it, it stays on its usual replica
// and does not move round after round; once the exclusion ends there, it
// returns.
func TestExcludedTenantHandedOver(t *testing.T) {
	eachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
		names := tenants(6)
		ids := []string{"a", "b", "c"}
		cs := map[string]*cluster.Coordinator{}
		for _, id := range ids {
			cs[id] = cluster.New(st, cluster.Options{ID: id, Now: clk.Now})
			cs[id].SetTenants(names)
		}
		rounds := func(n int) map[string]string {
			var h map[string]string
			for i := 0; i < n; i++ {
				for _, id := range ids {
					if err := cs[id].Tick(ctx); err != nil {
						t.Fatal(err)
					}
					holders(t, names, cs)
				}
				h = holders(t, names, cs)
				clk.Add(10 * time.Second)
			}
			return h
		}
		before := rounds(4)
		tenant := names[0]
		home := cluster.Preferred(tenant, ids)
		if before[tenant] != home {
			t.Fatalf("%s on %q, want its preferred replica %s", tenant, before[tenant], home)
		}
		var others []string
		for _, id := range ids {
			if id != home {
				others = append(others, id)
			}
		}
		next := cluster.Preferred(tenant, others)

		cs[home].Exclude(tenant, true)
		h := rounds(3)
		if h[tenant] != next {
			t.Fatalf("after %s excluded itself, %s is on %q, want %s", home, tenant, h[tenant], next)
		}
		for _, n := range names[1:] {
			if h[n] != before[n] {
				t.Errorf("%s moved from %s to %s though only %s was excluded", n, before[n], h[n], tenant)
			}
		}

		// Every replica fails it: it goes back to its usual replica once the
		// exclusions are known and stays there, round after round.
		for _, id := range others {
			cs[id].Exclude(tenant, true)
		}
		rounds(2)
		for i := 0; i < 6; i++ {
			if h = rounds(1); h[tenant] != home {
				t.Fatalf("round %d with every replica excluded: %s on %q, want it to stay on %s", i, tenant, h[tenant], home)
			}
		}

		// Passes on the others again: it goes to the next one, then home
		// when the exclusion ends there.
		for _, id := range others {
			cs[id].Exclude(tenant, false)
		}
		if h = rounds(3); h[tenant] != next {
			t.Fatalf("%s on %q, want %s", tenant, h[tenant], next)
		}
		cs[home].Exclude(tenant, false)
		if h = rounds(3); h[tenant] != home {
			t.Fatalf("after the exclusion ended, %s on %q, want %s", tenant, h[tenant], home)
		}
	})
}

// slowStore answers AcquireLease late (each request waits 200 ms for a
// connection, as in a pool busy with jobs) and records when each was sent
// and the time it was asked to count from.
type slowStore struct {
	*store.Store
	clk   *clock
	mu    sync.Mutex
	calls [][2]time.Time // sent, now argument
}

func (s *slowStore) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	s.calls = append(s.calls, [2]time.Time{s.clk.Now(), now})
	s.mu.Unlock()
	s.clk.Add(200 * time.Millisecond)
	return s.Store.AcquireLease(ctx, name, holder, now, ttl)
}

// A slow round (21 leases at 200 ms each, longer than the TTL) renews each
// lease for a TTL from its own request, not from the round's start: else
// the later leases are written already (nearly) run out, another replica
// takes them while a job of the tenant still runs here.
func TestSlowRoundCountsEachLeaseFromItsRequest(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	slow := &slowStore{Store: st, clk: clk}
	c := cluster.New(slow, cluster.Options{ID: "a", TTL: 3 * time.Second, Now: clk.Now})
	c.SetTenants(tenants(20))
	if err := c.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(slow.calls) != 21 {
		t.Fatalf("%d lease requests, want 21", len(slow.calls))
	}
	for i, call := range slow.calls {
		if call[1].Before(call[0]) {
			t.Fatalf("lease request %d sent at %s counts its TTL from %s", i, call[0].Format("15:04:05.000"), call[1].Format("15:04:05.000"))
		}
	}
	// The last one taken is held here for its full TTL less the margin.
	if !c.Holds("t19") {
		t.Fatal("t19, taken last in a slow round, is not held here right after it")
	}
}

// countingStore counts the coordinator's lease requests.
type countingStore struct {
	*store.Store
	mu              sync.Mutex
	acquire, renews int
	renewed         int // names in RenewLeases requests
}

func (s *countingStore) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	s.acquire++
	s.mu.Unlock()
	return s.Store.AcquireLease(ctx, name, holder, now, ttl)
}

func (s *countingStore) RenewLeases(ctx context.Context, names []string, holder string, now time.Time, ttl time.Duration) ([]string, error) {
	s.mu.Lock()
	s.renews++
	s.renewed += len(names)
	s.mu.Unlock()
	return s.Store.RenewLeases(ctx, names, holder, now, ttl)
}

// A round renews the leases held here in one request (a round of 500
// tenants was 500 statements, one after the other), each until a TTL
// from before that request.
func TestRoundRenewsHeldLeasesInOneRequest(t *testing.T) {
	eachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
		cs := &countingStore{Store: st}
		c := cluster.New(cs, cluster.Options{ID: "a", TTL: 30 * time.Second, Now: clk.Now})
		names := tenants(20)
		c.SetTenants(names)
		if err := c.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if cs.acquire != 21 || cs.renews != 0 {
			t.Fatalf("first round: %d acquire, %d renew requests; want 21 (20 tenants and the purge), 0", cs.acquire, cs.renews)
		}
		clk.Add(10 * time.Second)
		cs.acquire, cs.renews, cs.renewed = 0, 0, 0
		if err := c.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if cs.acquire != 0 || cs.renews != 1 || cs.renewed != 21 {
			t.Fatalf("second round: %d acquire, %d renew requests for %d leases; want 0, 1 for 21", cs.acquire, cs.renews, cs.renewed)
		}
		leases, err := st.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leases {
			if l.Holder != "a" || !l.ExpiresAt.Equal(clk.Now().Add(30*time.Second)) {
				t.Errorf("lease %+v, want held by a until %s", l, clk.Now().Add(30*time.Second))
			}
		}
		for _, n := range names {
			if !c.Holds(n) {
				t.Errorf("%s not held after its renewal", n)
			}
		}
	})
}

// A lease held here that another replica took after it expired (this one
// stalled past its TTL) is not renewed: the round asks for it as before
// and no longer holds it.
func TestRoundDoesNotRenewALeaseTakenMeanwhile(t *testing.T) {
	eachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
		c := cluster.New(st, cluster.Options{ID: "a", TTL: 30 * time.Second, Now: clk.Now})
		c.SetTenants(tenants(3))
		if err := c.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(31 * time.Second)
		if ok, err := st.AcquireLease(ctx, "t01", "b", clk.Now(), 30*time.Second); err != nil || !ok {
			t.Fatalf("b taking the expired lease: %v, %v", ok, err)
		}
		if err := c.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if c.Holds("t01") {
			t.Error("t01 held here after b took it")
		}
		if !c.Holds("t00") || !c.Holds("t02") {
			t.Error("t00 and t02 not held after the round")
		}
		leases, err := st.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leases {
			if want := map[bool]string{true: "b", false: "a"}[l.Name == "t01"]; l.Holder != want {
				t.Errorf("lease %s held by %s, want %s", l.Name, l.Holder, want)
			}
		}
	})
}

// failingStore fails every request once its flag is set, as a database
// that became unreachable (or a round that hangs).
type failingStore struct {
	*store.Store
	mu   sync.Mutex
	down bool
}

func (s *failingStore) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

func (s *failingStore) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("dial tcp: connection refused")
	}
	return nil
}

func (s *failingStore) Heartbeat(ctx context.Context, r store.Replica) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Heartbeat(ctx, r)
}

func (s *failingStore) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if err := s.err(); err != nil {
		return false, err
	}
	return s.Store.AcquireLease(ctx, name, holder, now, ttl)
}

func (s *failingStore) RenewLeases(ctx context.Context, names []string, holder string, now time.Time, ttl time.Duration) ([]string, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.RenewLeases(ctx, names, holder, now, ttl)
}

// A job running on a replica that can no longer renew its tenant's lease
// (the database unreachable; no round gets through, or none runs at all)
// has its context ended once less than a sixth of the TTL is left by the
// replica's clock, before the lease expires in the store, so it has stopped
// before another replica can take the tenant. Real clock: the cut-off must
// come from the coordinator itself, not from a round.
func TestJobStopsBeforeItsLeaseCanBeTaken(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	fs := &failingStore{Store: st}
	const ttl = 3 * time.Second
	a := cluster.New(fs, cluster.Options{ID: "a", TTL: ttl})
	a.SetTenants([]string{"t00"})
	if err := a.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	lock, err := a.Lock(ctx, "calls/t00")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock(ctx)
	jctx, done := a.JobContext(ctx, "calls/t00")
	defer done()
	leases, err := st.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var expires time.Time
	for _, l := range leases {
		if l.Name == "t00" && l.Holder == "a" {
			expires = l.ExpiresAt
		}
	}
	if expires.IsZero() {
		t.Fatalf("leases %+v: t00 not held by a", leases)
	}
	fs.setDown(true)
	// A round that fails changes nothing by itself; the job goes on while
	// the lease is surely held.
	if err := a.Tick(ctx); err == nil {
		t.Fatal("a round with the database down did not fail")
	}
	if err := jctx.Err(); err != nil {
		t.Fatalf("job ended %s before its lease's expiry (%s) with the lease still held: %v", time.Until(expires), expires.Format("15:04:05.000"), err)
	}
	select {
	case <-jctx.Done():
	case <-time.After(2 * ttl):
		t.Fatalf("job still running %s after its lease expired in the store", time.Since(expires))
	}
	stoppedAt := time.Now()
	if !stoppedAt.Before(expires) {
		t.Fatalf("job stopped at %s, after its lease expired in the store at %s", stoppedAt.Format("15:04:05.000"), expires.Format("15:04:05.000"))
	}
	// Another replica cannot take the lease yet: the job stopped first.
	if ok, err := st.AcquireLease(ctx, "t00", "b", time.Now(), ttl); err != nil || ok {
		t.Fatalf("b took t00 right after a's job stopped (%v, %v): it had not expired yet", ok, err)
	}
	if a.Holds("t00") {
		t.Error("a still holds t00 after its job was stopped for it")
	}
	t.Logf("job stopped %s before the lease's expiry (TTL %s): %v", expires.Sub(stoppedAt).Round(time.Millisecond), ttl, context.Cause(jctx))
}

// A lease found taken by another replica at a round (this one stalled past
// its TTL) ends the jobs of that tenant still running here; the others'
// go on.
func TestJobStopsWhenItsLeaseIsFoundTaken(t *testing.T) {
	eachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
		a := cluster.New(st, cluster.Options{ID: "a", TTL: 30 * time.Second, Now: clk.Now})
		a.SetTenants(tenants(2))
		if err := a.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		run := func(key string) context.Context {
			lock, err := a.Lock(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lock.Unlock(ctx) })
			jctx, done := a.JobContext(ctx, key)
			t.Cleanup(done)
			return jctx
		}
		lost, kept := run("calls/t00"), run("calls/t01")
		clk.Add(31 * time.Second)
		if ok, err := st.AcquireLease(ctx, "t00", "b", clk.Now(), 30*time.Second); err != nil || !ok {
			t.Fatalf("b taking the expired lease: %v, %v", ok, err)
		}
		if err := a.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if lost.Err() == nil {
			t.Fatal("the job of t00 still runs on a after b took its lease")
		}
		if err := kept.Err(); err != nil {
			t.Fatalf("the job of t01, whose lease a renewed, ended: %v", context.Cause(kept))
		}
	})
}
