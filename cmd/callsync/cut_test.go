package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// cutProxy forwards loopback TCP to a PostgreSQL server until Cut, which
// closes every connection and each new one at once until Restore (the port
// stays bound, so no other process takes it meanwhile): a replica's
// network path to its database, cut.
type cutProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	go p.serve(ln)
	t.Cleanup(func() {
		p.Cut()
		ln.Close()
	})
	return p
}

// serve forwards each accepted connection to the target; while cut, it
// closes each at once. The listener stays open while cut, so its port is
// not given up and taken by another process before Restore.
func (p *cutProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut { // cut while dialling
			p.mu.Unlock()
			c.Close()
			u.Close()
			continue
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

// Cut drops every connection, and closes each new one until Restore.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Restore forwards new connections again.
func (p *cutProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// A replica whose database connection is cut reports unhealthy, loses its
// tenant to a replica that still reaches the database within 60 s, and
// once reconnected does not run the tenant a second time; every call is
// written once.
func TestReplicaCutFromDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two callsync processes")
	}
	d := newDoubles(t)
	d.onPostgres(t)
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(b), "  max_conns: 4\n", "  max_conns: 4\n  lease_ttl: 3s\n  connect_timeout: 2s\n", 1)
	yaml = strings.Replace(yaml, "http: {listen: 127.0.0.1:0}", "http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}", 1)
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	direct := d.env["DATABASE_URL"]
	m := regexp.MustCompile(`@([0-9.]+:[0-9]+)/`).FindStringSubmatch(direct)
	if m == nil {
		t.Fatalf("no host:port in %s", direct)
	}
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, direct, store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const first, second = 4, 3
	for i := 0; i < first; i++ {
		d.en.AddCalls(callEndedAgo(d, time.Minute+time.Duration(i)*time.Second))
	}
	// Each replica reaches the database through its own proxy.
	proxies := map[int]*cutProxy{}
	reps := map[int]*replica{}
	for i := 0; i < 2; i++ {
		p := newCutProxy(t, m[1])
		env := map[string]string{}
		for k, v := range d.env {
			env[k] = v
		}
		env["DATABASE_URL"] = strings.Replace(direct, m[1], p.addr, 1)
		r := startReplica(t, &doubles{config: d.config, env: env})
		reps[r.cmd.Process.Pid] = r
		proxies[r.cmd.Process.Pid] = p
	}
	waitFor(t, 90*time.Second, "the first calls written", func() bool { return len(d.dyn.PhoneCalls()) == first })
	holder := func() string {
		ls, err := st.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Name == "contoso" && l.ExpiresAt.After(time.Now()) {
				return l.Holder
			}
		}
		return ""
	}
	var victim string
	waitFor(t, 30*time.Second, "a holder of tenant contoso", func() bool { victim = holder(); return victim != "" })
	pid := pidOf(victim)
	r, ok := reps[pid]
	if !ok {
		t.Fatalf("lease holder %q is none of the replicas", victim)
	}
	admin := regexp.MustCompile(`msg="admin endpoints listening" http=(\S+)`)
	var adminAddr string
	waitFor(t, 10*time.Second, "the victim's admin address", func() bool {
		if m := admin.FindStringSubmatch(r.log()); m != nil {
			adminAddr = m[1]
		}
		return adminAddr != ""
	})
	for i := 0; i < second; i++ {
		d.en.AddCalls(callEndedAgo(d, time.Minute+time.Duration(first+i)*time.Second))
	}
	cut := time.Now().UTC()
	proxies[pid].Cut()
	waitFor(t, 30*time.Second, "/healthz of the cut replica to answer 503", func() bool {
		resp, err := http.Get("http://" + adminAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	waitFor(t, 60*time.Second, "the calls after the cut written by the other replica", func() bool { return len(d.dyn.PhoneCalls()) == first+second })
	now := holder()
	if now == "" || now == victim {
		t.Fatalf("contoso held by %q after the cut, want the other replica", now)
	}
	if took := time.Since(cut); took > 60*time.Second {
		t.Errorf("takeover took %s", took)
	}
	// Reconnected: healthy again, and no second run of the tenant.
	time.Sleep(10*time.Second - time.Since(cut))
	proxies[pid].Restore()
	waitFor(t, 30*time.Second, "/healthz of the reconnected replica to answer 200", func() bool {
		resp, err := http.Get("http://" + adminAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	time.Sleep(3 * time.Second)
	if n := len(d.dyn.PhoneCalls()); n != first+second {
		t.Fatalf("%d phone calls in the CRM, want %d (each call once)", n, first+second)
	}
	runs, err := st.JobRuns(ctx, "contoso", "calls")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(runs); i++ {
		prev, run := runs[i-1], runs[i]
		end := prev.FinishedAt
		if end.IsZero() {
			end = cut // cut off before it could record its end
		}
		if prev.Replica != run.Replica && run.StartedAt.Before(end) {
			t.Errorf("calls of contoso ran on %s (%s–%s) and %s (from %s) at once", prev.Replica, prev.StartedAt, end, run.Replica, run.StartedAt)
		}
	}
	t.Logf("holder %s cut at %s; %d calls runs on %d replicas", victim, cut.Format(time.RFC3339), len(runs), countReplicas(runs))
}
