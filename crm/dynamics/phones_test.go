package dynamics_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/httpclient"
)

// recordingTransport keeps the Prefer header and URL of each GET.
type recordingTransport struct {
	mu     sync.Mutex
	base   http.RoundTripper
	prefer []string
	urls   []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		r.mu.Lock()
		r.prefer = append(r.prefer, req.Header.Get("Prefer"))
		r.urls = append(r.urls, req.URL.String())
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

func TestListPhonesPagesAndModifiedSince(t *testing.T) {
	ctx := context.Background()
	rt := &recordingTransport{base: http.DefaultTransport}
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{HTTP: httpclient.Options{Transport: rt}})
	clock := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	e.srv.SetClock(func() time.Time { return clock })
	var ids []string
	for i := range 5003 {
		ids = append(ids, e.srv.AddContact(dynamicstest.Record{Name: fmt.Sprint("c", i),
			Phones: map[string]string{"telephone1": fmt.Sprintf("040 1%06d", i)},
			Fields: map[string]any{"address1_country": "Finland"}}))
	}
	var got []crm.PhoneRecord
	page, pages := "", 0
	for {
		p, err := e.c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, p.Records...)
		if p.Next == "" {
			break
		}
		page = p.Next
	}
	// Dataverse answers at most 5,000 rows a page (odata.maxpagesize=5000).
	if pages != 2 || len(got) != 5003 {
		t.Fatalf("%d pages, %d records; want 2 pages of 5,003", pages, len(got))
	}
	if r := got[0]; r.ID != ids[0] || r.Phones["telephone1"] != "040 1000000" || r.Country != "Finland" || !r.Modified.Equal(clock) || r.OwnerID == "" {
		t.Fatalf("first record %+v", r)
	}
	// Incremental: only rows modified at or after since.
	clock = clock.Add(time.Hour)
	e.srv.UpdateRecord("contacts", ids[7], map[string]any{"telephone1": "+46 8 123 456 02", "address1_country": "Sverige"})
	p, err := e.c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Since: clock.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != ids[7] || p.Records[0].Phones["telephone1"] != "+46 8 123 456 02" || p.Records[0].Country != "Sverige" {
		t.Fatalf("modified since: %+v", p.Records)
	}
	if _, err := e.c.DeletedRecords(ctx, crm.DeletedRequest{Entity: crm.Contact, Since: clock}); err != crm.ErrNoDeleted {
		t.Fatalf("deleted records: %v, want crm.ErrNoDeleted", err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	last := len(rt.urls) - 1
	if !strings.Contains(rt.prefer[last], "odata.maxpagesize=5000") || !strings.Contains(rt.urls[last], "modifiedon%20ge%202026-12-01T08:59:00Z") {
		t.Fatalf("last request %s with Prefer %q", rt.urls[last], rt.prefer[last])
	}
}
