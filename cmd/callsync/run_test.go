package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
	addr := make(chan string, 1)
	w := &worker{log: newLogger(io.Discard, "text", "error"), ready: func(a string) { addr <- a }}
	done := make(chan error, 1)
	go func() { done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond}, nil) }()
	base := "http://" + <-addr
	get := func(path string) string {
		resp, err := http.Get(base + path)
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
