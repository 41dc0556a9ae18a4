package main

import (
	"context"
	"io"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/httpclient"
)

// The request hook a tenant's CRM client gets is the one path of its
// requests into callsync_crm_requests_total (by CRM type and status class)
// and the status page's hourly counts, whether or not the client's
// requests pass through the HTTP options it was given.
func TestRequestHookCountsRequests(t *testing.T) {
	d := newDoubles(t)
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, newLogger(io.Discard, "text", "error"), httpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hook := a.requestHook("contoso")
	for _, r := range []crm.Request{{CRM: "zoho", Status: 200}, {CRM: "zoho", Status: 429}, {CRM: "zoho", Status: 201}, {CRM: "zoho"}} {
		hook(r)
	}
	for code, want := range map[string]float64{"2xx": 2, "429": 1, "none": 1} {
		var m dto.Metric
		if err := a.crmRequests.WithLabelValues("contoso", "zoho", code).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("callsync_crm_requests_total{crm=zoho,code=%s} = %v, want %v", code, got, want)
		}
	}
	if err := a.requests.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := a.store.CRMRequests(ctx, "contoso", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	total, throttled := 0, 0
	for _, c := range counts {
		total, throttled = total+c.Requests, throttled+c.Throttled
	}
	if total != 4 || throttled != 1 {
		t.Errorf("status page counts %d requests, %d throttled; want 4, 1", total, throttled)
	}
}
