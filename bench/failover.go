package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/callsync/callsync/cluster"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/store"
)

// FailoverResult is the failover phase: `callsync run` replicas on one
// PostgreSQL database, the one holding the most tenants killed with
// SIGKILL; the time until another replica starts each of its tenants'
// calls cycle (job run history).
type FailoverResult struct {
	Replicas    int     `json:"replicas"`
	Tenants     int     `json:"tenants"`
	LeaseTTLSec float64 `json:"lease_ttl_seconds"`
	// Moved is how many tenants the killed replica held.
	Moved int `json:"moved_tenants"`
	// FirstSec and WorstSec: kill to the first and to the last of those
	// tenants' first calls cycle on another replica.
	FirstSec float64  `json:"first_takeover_seconds"`
	WorstSec float64  `json:"worst_takeover_seconds"`
	Problems []string `json:"problems,omitempty"`
}

// targetFailoverSec: kill -9 of a tenant's holder to another replica's
// first cycle of it.
const targetFailoverSec = 60.0

// syncBuf is a bytes buffer safe for a child's output and a reader.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runFailover starts o.FailoverReplicas `callsync run` processes (bin) on a
// new database of srv sharing o.FailoverTenants tenants (one Enreach and
// one Dynamics double), waits until every tenant's calls cycle ran, kills
// the replica holding the most tenants with SIGKILL and measures, from the
// job runs in the database, when another replica started each of them.
func runFailover(ctx context.Context, o options, bin string, db *pgDatabases) (FailoverResult, error) {
	r := FailoverResult{Replicas: o.FailoverReplicas, Tenants: o.FailoverTenants, LeaseTTLSec: o.LeaseTTL.Seconds()}
	url, drop, err := db.create(ctx, "bench_failover")
	if err != nil {
		return r, err
	}
	defer drop()
	dir, err := os.MkdirTemp("", "callsync-bench-failover-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	w := newCompany(10)
	crmOrg := &dynamicsOrg{srv: dynamicstest.NewServer(dynamicstest.Options{})}
	defer crmOrg.Close()
	w.seedCRM(crmOrg)
	en := enreachtest.NewServer()
	defer en.Close()
	w.seedEnreach(en)

	var b strings.Builder
	fmt.Fprintf(&b, "store:\n  driver: postgres\n  url: ${DATABASE_URL}\n  lease_ttl: %s\n", o.LeaseTTL)
	b.WriteString("http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}\nlog: {format: text, level: info}\ntenants:\n")
	var names []string
	for i := range o.FailoverTenants {
		name := fmt.Sprintf("tenant%02d", i)
		names = append(names, name)
		fmt.Fprintf(&b, `  - name: %s
    default_region: FI
    enreach:
      api_url: %s
      user: %s
      secret_key: ${EN_SECRET}
%s    phone_calls:
      default_crm_assignee: %s
    retroactive: {enabled: false}
`, name, en.URL, en.User, crmOrg.CRMYAML(func(u string) string { return u }), w.agents[0].ID)
	}
	cfg := filepath.Join(dir, "callsync.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return r, err
	}
	env := append(os.Environ(), "DATABASE_URL="+url, "EN_SECRET="+en.Secret)
	for k, v := range crmOrg.Env() {
		env = append(env, k+"="+v)
	}
	type child struct {
		cmd *exec.Cmd
		out *syncBuf
	}
	var children []child
	defer func() {
		for _, c := range children {
			if c.cmd.ProcessState == nil {
				c.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, c := range children {
			if c.cmd.ProcessState == nil {
				done := make(chan struct{})
				go func() { c.cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					c.cmd.Process.Kill()
					<-done
				}
			}
		}
	}()
	for range o.FailoverReplicas {
		c := child{cmd: exec.Command(bin, "run", "--config", cfg), out: &syncBuf{}}
		c.cmd.Env = env
		c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
		if err := c.cmd.Start(); err != nil {
			return r, fmt.Errorf("starting a replica: %w", err)
		}
		children = append(children, c)
	}
	st, err := store.OpenPostgres(ctx, url, store.PoolOptions{MaxConns: 2})
	if err != nil {
		return r, err
	}
	defer st.Close()
	logs := func() string {
		var s []string
		for _, c := range children {
			s = append(s, lastLines(c.out.String(), 5))
		}
		return strings.Join(s, "\n--\n")
	}
	// Every replica heartbeats, every tenant's calls cycle ran, and every
	// tenant is held by the replica the hashing prefers (settled).
	held := map[string][]string{}
	if err := poll(ctx, 2*time.Minute, func() (bool, error) {
		for _, c := range children {
			if c.cmd.ProcessState != nil {
				return false, fmt.Errorf("a replica exited: %s", c.cmd.ProcessState)
			}
		}
		now := time.Now()
		reps, err := st.Replicas(ctx)
		if err != nil {
			return false, err
		}
		var live []string
		for _, rp := range reps {
			if rp.HeartbeatAt.After(now.Add(-o.LeaseTTL)) {
				live = append(live, rp.ID)
			}
		}
		if len(live) != len(children) {
			return false, nil
		}
		for _, n := range names {
			runs, err := st.JobRuns(ctx, n, "calls")
			if err != nil || len(runs) == 0 {
				return false, err
			}
		}
		ls, err := st.Leases(ctx)
		if err != nil {
			return false, err
		}
		held = map[string][]string{}
		n := 0
		for _, l := range ls {
			if l.Name != cluster.PurgeLease && l.ExpiresAt.After(now) && l.Holder == cluster.Preferred(l.Name, live) {
				held[l.Holder] = append(held[l.Holder], l.Name)
				n++
			}
		}
		return n == len(names), nil
	}); err != nil {
		return r, fmt.Errorf("waiting for every tenant to run on its replica: %w\n%s", err, logs())
	}
	var victim string
	for h, ns := range held {
		if victim == "" || len(ns) > len(held[victim]) {
			victim = h
		}
	}
	var vc *child
	for i, c := range children {
		if strings.Contains(victim, fmt.Sprintf("-%d-", c.cmd.Process.Pid)) {
			vc = &children[i]
		}
	}
	if vc == nil {
		return r, fmt.Errorf("lease holder %q is none of the replicas", victim)
	}
	r.Moved = len(held[victim])
	killed := time.Now().UTC()
	if err := vc.cmd.Process.Kill(); err != nil {
		return r, fmt.Errorf("killing %s: %w", victim, err)
	}
	vc.cmd.Wait()
	takeover := map[string]time.Duration{}
	err = poll(ctx, 3*o.LeaseTTL+time.Minute, func() (bool, error) {
		for _, n := range held[victim] {
			if _, ok := takeover[n]; ok {
				continue
			}
			runs, err := st.JobRuns(ctx, n, "calls")
			if err != nil {
				return false, err
			}
			for _, run := range runs {
				if run.Replica != victim && !run.StartedAt.Before(killed) {
					takeover[n] = run.StartedAt.Sub(killed)
					break
				}
			}
		}
		return len(takeover) == len(held[victim]), nil
	})
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("%d of %d tenants taken over: %v; the replicas' last lines:\n%s", len(takeover), len(held[victim]), err, logs()))
	}
	var ds []time.Duration
	for _, d := range takeover {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if len(ds) > 0 {
		r.FirstSec = round2(ds[0].Seconds())
		r.WorstSec = round2(ds[len(ds)-1].Seconds())
	}
	return r, nil
}

// poll calls cond every 200 ms until it holds, fails or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
