package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/httpclient"
)

// startWorker runs a worker on cfg and returns the base URL of its admin
// listener (status page, /metrics); it stops at the end of the test.
func startWorker(t *testing.T, cfg *config.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	w := &worker{log: newLogger(io.Discard, "text", "error"), adminReady: func(a string) { addr <- a }}
	done := make(chan error, 1)
	go func() { done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond}, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return ""
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStatusPageIsOffByDefault(t *testing.T) {
	d := newDoubles(t)
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	base := startWorker(t, cfg)
	if code, _ := fetch(t, base+"/"); code != http.StatusNotFound {
		t.Errorf("GET / with the page off: %d, want 404", code)
	}
}

// With a token the page is on, refuses a request without it, and charts the
// CRM requests the worker made (told by the CRM client's request hook).
func TestStatusPageWithTokenShowsCRMRequests(t *testing.T) {
	d := newDoubles(t)
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.StatusToken = config.Secret("page-token")
	d.en.AddCalls(callEndedAgo(d, time.Minute))
	base := startWorker(t, cfg)
	if code, body := fetch(t, base+"/"); code != http.StatusUnauthorized || strings.Contains(body, "contoso") {
		t.Fatalf("GET / without token: %d %q", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(d.dyn.PhoneCalls()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	bar := regexp.MustCompile(`data-series="requests" data-hour="[^"]+" data-value="([1-9][0-9]*)"`)
	var body string
	for time.Now().Before(deadline) {
		var code int
		code, body = fetch(t, base+"/?token=page-token")
		if code != 200 {
			t.Fatalf("GET / with token: %d %s", code, body)
		}
		if bar.MatchString(body) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !bar.MatchString(body) || !strings.Contains(body, `id="tenant-contoso"`) {
		t.Fatalf("the page charts no CRM request for contoso:\n%s", body)
	}
	if _, m := fetch(t, base+"/metrics"); !strings.Contains(m, `callsync_crm_requests_total{code="2xx",crm="dynamics",tenant="contoso"}`) {
		t.Errorf("/metrics lacks callsync_crm_requests_total")
	}
}
