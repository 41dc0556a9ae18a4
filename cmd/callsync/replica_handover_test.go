package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/cluster"
	"github.com/callsync/callsync/store"
)

// A replica that cannot reach the CRM's token endpoint holds every tenant
// while it is alone (each held by its failing preflight, reported); a
// second replica that can reach it joins and takes every tenant, those the
// hashing prefers on the failing replica too, and writes their calls once.
func TestReplicaFailingPreflightHandsTenantsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two callsync processes")
	}
	const nt, perTenant = 6, 2
	d, ts := newTenantsDoubles(t, nt)
	bad := refusedTokens(t, d, ts, 0)
	for _, td := range ts {
		for j := 0; j < perTenant; j++ {
			td.en.AddCalls(td.callOf(time.Minute + time.Duration(j)*time.Second))
		}
	}
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, d.env["DATABASE_URL"], store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	failing := startReplicaEnv(t, d, bad)
	waitFor(t, 90*time.Second, "every tenant held on the failing replica", func() bool {
		return strings.Count(failing.log(), "tenant not started: a preflight check failed") >= nt
	})
	var badID string
	waitFor(t, 30*time.Second, "the failing replica holding every tenant", func() bool {
		ls, err := st.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range ls {
			if l.Name != cluster.PurgeLease && l.ExpiresAt.After(time.Now()) {
				badID = l.Holder
				n++
			}
		}
		return n == nt
	})
	for _, td := range ts {
		if n := len(td.dyn.PhoneCalls()); n != 0 {
			t.Fatalf("%s: %d calls written by a replica whose preflight fails", td.name, n)
		}
	}

	startReplica(t, d)
	var goodID string
	waitFor(t, 30*time.Second, "the second replica's heartbeat", func() bool {
		reps, err := st.Replicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reps {
			if r.ID != badID {
				goodID = r.ID
			}
		}
		return goodID != ""
	})
	var onBad []string
	for _, td := range ts {
		if cluster.Preferred(td.name, []string{badID, goodID}) == badID {
			onBad = append(onBad, td.name)
		}
	}
	t.Logf("tenants the hashing prefers on the failing replica: %v", onBad)
	waitFor(t, 90*time.Second, "every tenant's calls written", func() bool {
		for _, td := range ts {
			if len(td.dyn.PhoneCalls()) < perTenant {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // anything written twice would show by now
	for _, td := range ts {
		if n := len(td.dyn.PhoneCalls()); n != perTenant {
			t.Errorf("%s: %d phone calls, want %d (each once)", td.name, n, perTenant)
		}
		runs, err := st.JobRuns(ctx, td.name, "calls")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Replica != goodID {
				t.Errorf("%s: calls ran on %s, whose preflight fails", td.name, r.Replica)
			}
		}
	}
	// status names the tenants the failing replica cannot run.
	out, _, err := run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(regexp.QuoteMeta(badID) + `.*cannot run ` + fmt.Sprint(nt) + `: .*` + ts[0].name).MatchString(out) {
		t.Errorf("status does not show %s unable to run the tenants:\n%s", badID, out)
	}
}

// refusedTokens makes each tenant's token endpoint come from the
// environment and returns the environment of a replica whose token
// requests are refused (HTTP 403 after delay), as an egress proxy on that
// replica's host would.
func refusedTokens(t *testing.T, d *doubles, ts []*tenantDoubles, delay time.Duration) map[string]string {
	t.Helper()
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(b)
	bad := map[string]string{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		http.Error(w, "blocked by the egress proxy", http.StatusForbidden)
	}))
	t.Cleanup(proxy.Close)
	for i, td := range ts {
		key := fmt.Sprintf("DYN_AUTHORITY_%d", i)
		auth := td.dyn.Config().AuthorityURL
		yaml = strings.Replace(yaml, "authority_url: "+auth+"\n", "authority_url: ${"+key+"}\n", 1)
		d.env[key] = auth
		bad[key] = proxy.URL
	}
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return bad
}

// A replica joining while another runs every tenant, whose preflight of
// the tenants fails (slowly: its token requests are refused after 2 s,
// longer than a lease round of lease_ttl/3), takes no tenant's lease and
// makes the running replica hand none over: its first heartbeat already
// says it cannot run them, so each tenant stays held, without a gap, by the
// replica that can.
func TestJoiningReplicaTakesNoTenantItFailsPreflightFor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two callsync processes")
	}
	const nt = 6
	d, ts := newTenantsDoubles(t, nt)
	bad := refusedTokens(t, d, ts, 2*time.Second)
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, d.env["DATABASE_URL"], store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// holders maps each tenant's lease to its holder now ("" once expired).
	holders := func() map[string]string {
		ls, err := st.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, l := range ls {
			if l.Name != cluster.PurgeLease && l.ExpiresAt.After(time.Now()) {
				out[l.Name] = l.Holder
			}
		}
		return out
	}
	startReplica(t, d)
	var goodID string
	waitFor(t, 60*time.Second, "the first replica holding every tenant", func() bool {
		h := holders()
		for _, id := range h {
			goodID = id
		}
		return len(h) == nt
	})

	failing := startReplicaEnv(t, d, bad)
	var badID string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, td := range ts {
			if id := holders()[td.name]; id != goodID {
				t.Fatalf("%s held by %q while the second replica starts, want %s all along (the second one cannot run it)", td.name, id, goodID)
			}
		}
		reps, err := st.Replicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reps {
			if r.ID != goodID && len(r.Excluded) == nt {
				badID = r.ID
			}
		}
		if badID != "" && strings.Count(failing.log(), "tenant not started: a preflight check failed") >= nt {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the second replica to publish the tenants it cannot run")
		}
	}
	var onBad []string
	for _, td := range ts {
		if cluster.Preferred(td.name, []string{badID, goodID}) == badID {
			onBad = append(onBad, td.name)
		}
	}
	// A few more rounds: nothing moves.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, td := range ts {
			if id := holders()[td.name]; id != goodID {
				t.Fatalf("%s held by %q after the second replica published its exclusions, want %s", td.name, id, goodID)
			}
		}
	}
	t.Logf("tenants the hashing over both would put on the failing replica: %v; all stayed on %s", onBad, goodID)
}
