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
	// Each tenant's token endpoint comes from the environment, so one
	// replica can be given one that refuses it, as an egress proxy on that
	// replica's host would.
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(b)
	bad := map[string]string{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "blocked by the egress proxy", http.StatusForbidden)
	}))
	t.Cleanup(proxy.Close)
	dead := proxy.URL
	for i, td := range ts {
		key := fmt.Sprintf("DYN_AUTHORITY_%d", i)
		auth := td.dyn.Config().AuthorityURL
		yaml = strings.Replace(yaml, "authority_url: "+auth+"\n", "authority_url: ${"+key+"}\n", 1)
		d.env[key] = auth
		bad[key] = dead
	}
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
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
