package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/httpclient"
)

func TestRunServesHealthAndMetricsAndSyncsThenStopsCleanly(t *testing.T) {
	d := newDoubles(t)
	d.addCalls(0)
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	// A call that ended a minute ago: the first (immediate) run picks it up.
	d.en.AddCalls(callEndedAgo(d, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	addr, adminAddr := make(chan string, 1), make(chan string, 1)
	w := &worker{log: newLogger(io.Discard, "text", "error"), ready: func(a string) { addr <- a }, adminReady: func(a string) { adminAddr <- a }}
	done := make(chan error, 1)
	go func() { done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond}, nil) }()
	admin := "http://" + <-adminAddr
	base := "http://" + <-addr
	get := func(path string) string {
		u := admin + path
		if path == "/healthz" {
			u = base + path
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if got := get("/healthz"); !strings.Contains(got, "ok") {
		t.Fatalf("/healthz = %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(d.dyn.PhoneCalls()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(d.dyn.PhoneCalls()) != 1 {
		t.Fatalf("the worker wrote %d phonecalls, want 1", len(d.dyn.PhoneCalls()))
	}
	// The metric is recorded just after the write: wait for it.
	const written = `callsync_calls_total{outcome="written",tenant="contoso"} 1`
	m := get("/metrics")
	for !strings.Contains(m, written) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		m = get("/metrics")
	}
	if !strings.Contains(m, written) {
		t.Fatalf("/metrics lacks the written call:\n%s", m)
	}
	// Smart Routing is mounted: unknown tenant and missing key alike 401.
	for path, want := range map[string]int{"/routing/nope": 401, "/routing/contoso": 401} {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(`{"anum":"+358401234567","bnum":"+358201234567"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

// The public listener serves webhooks, routing and a bare liveness answer
// only; /metrics, the detailed /healthz and the status page are on the
// admin listener, behind a bearer token when one is set.
func TestAdminEndpointsAreNotPublic(t *testing.T) {
	d := newDoubles(t)
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.StatusPage = true
	cfg.HTTP.AdminToken = config.Secret("admin-s3cret")
	ctx, cancel := context.WithCancel(context.Background())
	addr, adminAddr := make(chan string, 1), make(chan string, 1)
	w := &worker{log: newLogger(io.Discard, "text", "error"), ready: func(a string) { addr <- a }, adminReady: func(a string) { adminAddr <- a }}
	done := make(chan error, 1)
	go func() { done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond}, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	admin, public := "http://"+<-adminAddr, "http://"+<-addr
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/metrics", "/"} {
		if code, body := get(public+p, "admin-s3cret"); code != http.StatusNotFound || strings.Contains(body, "callsync_") {
			t.Errorf("public %s: %d, want 404", p, code)
		}
	}
	if code, body := get(public+"/healthz", ""); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("public /healthz: %d %q, want a bare ok", code, body)
	}
	for _, tok := range []string{"", "wrong"} {
		if code, _ := get(admin+"/metrics", tok); code != http.StatusUnauthorized {
			t.Errorf("admin /metrics with token %q: %d, want 401", tok, code)
		}
	}
	if code, body := get(admin+"/metrics", "admin-s3cret"); code != http.StatusOK || !strings.Contains(body, "callsync_") {
		t.Errorf("admin /metrics with the token: %d", code)
	}
	if code, _ := get(admin+"/healthz", "admin-s3cret"); code != http.StatusOK {
		t.Errorf("admin /healthz with the token: %d", code)
	}
}
