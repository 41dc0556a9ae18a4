package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
)

// TestRunStartsOnlyTenantsWhosePreflightPasses: two tenants, fabrikam's
// Enreach secret is wrong. contoso syncs; fabrikam is not started, and says
// why in status (another process), /metrics and the log; once the org
// accepts the secret again it starts at the next check, without a restart.
func TestRunStartsOnlyTenantsWhosePreflightPasses(t *testing.T) {
	d := newDoubles(t)
	enB := enreachtest.NewServer()
	t.Cleanup(enB.Close)
	agentB := enreach.User{ID: enreachtest.NewID(), UserName: "bea@fabrikam.example", WorkNumber: "+358202000001"}
	enB.AddUsers(agentB)
	d.dyn.AddUser(dynamicstest.User{Name: "Bea", Email: agentB.UserName})
	d.dyn.AddContact(dynamicstest.Record{Name: "Liisa", Phones: map[string]string{"mobilephone": "050 765 4321"}})
	d.env["FAB_SECRET"] = enB.Secret
	b, _ := os.ReadFile(d.config)
	dc := d.dyn.Config()
	fabrikam := fmt.Sprintf(`  - name: fabrikam
    default_region: FI
    enreach:
      api_url: %s
      user: %s
      secret_key: ${FAB_SECRET}
    crm:
      type: dynamics
      dynamics:
        url: %s
        authority_url: %s
        tenant_id: %s
        client_id: %s
        client_secret: ${DYN_SECRET}
    phone_calls:
      default_crm_assignee: %s
    retroactive: {enabled: false}
`, enB.URL, enB.User, dc.URL, dc.AuthorityURL, dc.TenantID, dc.ClientID, agentB.ID)
	if err := os.WriteFile(d.config, append(b, fabrikam...), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }
	cfg, err := (&Main{Getenv: getenv}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	// An admin made a new secret key: the configured one is refused.
	enB.SetSecret("sk-new-key-not-in-the-config")
	d.en.AddCalls(callEndedAgo(d, time.Minute))
	callB := enreachtest.DirectCall(agentB, "+358507654321", false, time.Now().Add(-2*time.Minute), time.Second, time.Minute)
	callB.Modified = time.Now().UTC().Add(-time.Minute)
	enB.AddCalls(callB)

	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	w := &worker{log: newLogger(&logs, "text", "info"), configPath: d.config, getenv: getenv,
		adminReady: func(a string) { addr <- a }, recheck: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond, WaitMax: time.Millisecond}, nil)
	}()
	base := "http://" + <-addr
	metrics := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var status func() string
	status = func() string {
		out, _, err := run(t, d.env, "status", "--config", d.config)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; logs:\n%s\n%s", what, logs.String(), status())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("contoso's call", func() bool { return len(d.dyn.PhoneCalls()) == 1 })
	// Each tenant's preflight is stored by its own goroutine: wait until
	// both are, not just the first.
	waitFor("both preflights in the store", func() bool {
		out := status()
		i := strings.Index(out, "tenant fabrikam")
		return strings.Contains(out, "NOT STARTED") && i > 0 && strings.Contains(out[:i], ": started")
	})
	out := status()
	fab := out[strings.Index(out, "tenant fabrikam"):]
	if !strings.Contains(fab, "fail enreach auth") || !strings.Contains(fab, "create a new secret key") {
		t.Fatalf("status does not say why fabrikam is not started:\n%s", out)
	}
	if con := out[:strings.Index(out, "tenant fabrikam")]; !strings.Contains(con, ": started") {
		t.Fatalf("status of contoso:\n%s", out)
	}
	m := metrics()
	for _, want := range []string{`callsync_tenant_ready{tenant="contoso"} 1`, `callsync_tenant_ready{tenant="fabrikam"} 0`,
		`callsync_tenant_checks{status="fail",tenant="fabrikam"} 1`} {
		if !strings.Contains(m, want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, grepLines(m, "callsync_tenant"))
		}
	}
	if l := logs.String(); !strings.Contains(l, "tenant not started") || !strings.Contains(l, "tenant=fabrikam") {
		t.Fatalf("the log does not say fabrikam is not started:\n%s", l)
	}
	if n := enB.RequestsTo("", "/calls"); n != 0 {
		t.Fatalf("fabrikam's calls job ran %d times while not started", n)
	}
	if len(d.dyn.PhoneCalls()) != 1 {
		t.Fatalf("%d phone calls, want only contoso's", len(d.dyn.PhoneCalls()))
	}

	// The admin puts the key back: fabrikam starts at its next check.
	enB.SetSecret(enB.Secret)
	waitFor("fabrikam's call", func() bool { return len(d.dyn.PhoneCalls()) == 2 })
	waitFor("fabrikam ready on /metrics", func() bool { return strings.Contains(metrics(), `callsync_tenant_ready{tenant="fabrikam"} 1`) })
	if out := status(); strings.Contains(out, "NOT STARTED") {
		t.Fatalf("status after the fix:\n%s", out)
	}
	if !strings.Contains(logs.String(), "tenant started: preflight passed") {
		t.Fatalf("no start line in the log:\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
