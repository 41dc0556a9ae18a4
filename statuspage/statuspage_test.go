package statuspage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/statuspage"
	"github.com/callsync/callsync/store"
)

var now = time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)

const customerNumber = "+358401234567"

type fixture struct {
	st *store.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h8 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	row := func(id string, state store.LedgerState, reason string, at time.Time) store.LedgerEntry {
		return store.LedgerEntry{Tenant: "acme", Kind: "call", EnreachID: id, Key: id, State: state, Reason: reason,
			ItemTime: at, Number: customerNumber, Payload: []byte(`{"Number":"` + customerNumber + `"}`)}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.SaveLedger(ctx, []store.LedgerEntry{
		row("c1", store.Written, "", h8.Add(10*time.Minute)),
		row("c2", store.Written, "", h8.Add(20*time.Minute)),
		row("c3", store.Skipped, "private", h8.Add(40*time.Minute)),
		row("c4", store.Skipped, "internal_number", h8.Add(65*time.Minute)),
		row("c5", store.Unresolved, "", h8.Add(70*time.Minute)),
		row("c6", store.Failed, "", h8.Add(-time.Hour)),
		row("c7", store.Written, "", now.Add(-50*time.Hour)), // older than the chart
	}))
	must(st.AddCRMRequests(ctx, "acme", h8.Add(5*time.Minute), 10, 2))
	must(st.AddCRMRequests(ctx, "acme", h8.Add(70*time.Minute), 4, 0))
	_, err = st.Quarantine(ctx, []store.Quarantined{{Tenant: "acme", Source: "calls", RecordID: "bad-1", Reason: "missing timestamp", Raw: []byte(`{"x":1}`), At: h8}})
	must(err)
	_, err = st.AddInbox(ctx, store.InboxItem{Tenant: "acme", DeliveryID: "d1", EventType: "callback", ReceivedAt: h8, Payload: []byte(`{}`)})
	must(err)
	must(st.SetWatermark(ctx, "acme", "calls", now.Add(-2*time.Minute)))
	id, err := st.StartRun(ctx, "acme", "calls", now.Add(-time.Minute))
	must(err)
	must(st.FinishRun(ctx, store.Run{ID: id, FinishedAt: now.Add(-50 * time.Second), Status: "ok", Seen: 6, Written: 2}))
	return &fixture{st: st}
}

// wantBars is every bar the charts of tenant acme must show, as
// "series hour value", sorted.
func (f *fixture) wantBars() []string {
	out := []string{
		"written 2026-12-05T08:00:00Z 2",
		"skipped: private 2026-12-05T08:00:00Z 1",
		"skipped: internal_number 2026-12-05T09:00:00Z 1",
		"unresolved 2026-12-05T09:00:00Z 1",
		"failed 2026-12-05T07:00:00Z 1",
		"requests 2026-12-05T08:00:00Z 8",
		"429 2026-12-05T08:00:00Z 2",
		"requests 2026-12-05T09:00:00Z 4",
	}
	sort.Strings(out)
	return out
}

func (f *fixture) handler(token string) http.Handler {
	return statuspage.New(statuspage.Options{
		Store: f.st,
		Tenants: func() []statuspage.Tenant {
			return []statuspage.Tenant{{Name: "acme", CRM: "dynamics"}, {Name: "globex", CRM: "zoho"}}
		},
		Token: token,
		Now:   func() time.Time { return now },
	})
}

func get(t *testing.T, h http.Handler, target string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b), w.Result().Header
}

func TestPageTokenIsRequiredWhenSet(t *testing.T) {
	h := newFixture(t).handler("s3cret-token")
	for _, c := range []struct {
		name   string
		target string
		hdr    map[string]string
		want   int
	}{
		{"none", "/", nil, 401},
		{"wrong query", "/?token=s3cret", nil, 401},
		{"wrong bearer", "/", map[string]string{"Authorization": "Bearer s3cret-token-x"}, 401},
		{"query", "/?token=s3cret-token", nil, 200},
		{"bearer", "/", map[string]string{"Authorization": "Bearer s3cret-token"}, 200},
	} {
		code, body, _ := get(t, h, c.target, c.hdr)
		if code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
		if code == 401 && strings.Contains(body, "acme") {
			t.Errorf("%s: a refused request shows tenant data", c.name)
		}
	}
	if code, _, _ := get(t, newFixture(t).handler(""), "/", nil); code != 200 {
		t.Errorf("no token configured: %d, want 200", code)
	}
}

func TestPageContent(t *testing.T) {
	code, body, hdr := get(t, newFixture(t).handler(""), "/", nil)
	if code != 200 {
		t.Fatalf("%d: %s", code, body)
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="30">`,
		`id="calls-acme"`, `id="requests-acme"`, `id="calls-globex"`,
		"missing timestamp", "bad-1", // the quarantine with its reason
		`data-inbox="pending">1<`,
		"2m00s", // calls watermark lag
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Nothing from elsewhere: no scripts, no external URLs.
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", customerNumber} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

type failingStore struct{ statuspage.Store }

func (failingStore) LastRuns(context.Context, string) ([]store.Run, error) {
	return nil, errors.New("disk on fire at /secret/path")
}

func TestPageStoreErrorIsGeneric(t *testing.T) {
	f := newFixture(t)
	h := statuspage.New(statuspage.Options{Store: failingStore{f.st}, Tenants: func() []statuspage.Tenant { return []statuspage.Tenant{{Name: "acme"}} }})
	code, body, _ := get(t, h, "/", nil)
	if code != 500 || strings.Contains(body, "/secret/path") {
		t.Errorf("%d %q", code, body)
	}
}

type memRequests struct {
	got  map[string][2]int
	fail bool
}

func (m *memRequests) AddCRMRequests(_ context.Context, tenant string, at time.Time, n, t429 int) error {
	if m.fail {
		return errors.New("locked")
	}
	k := tenant + " " + at.Format(time.RFC3339)
	v := m.got[k]
	m.got[k] = [2]int{v[0] + n, v[1] + t429}
	return nil
}

type statusTransport int

func (s statusTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: int(s), Body: http.NoBody, Header: http.Header{}}, nil
}

func TestRequestCounterCountsAttemptsAndThrottles(t *testing.T) {
	at := now
	st := &memRequests{got: map[string][2]int{}, fail: true}
	c := statuspage.NewRequestCounter(st, func() time.Time { return at })
	for _, status := range []int{200, 200, 429} {
		c.Add("acme", status)
	}
	// A failed flush keeps the counts for the next one.
	if err := c.Flush(context.Background()); err == nil {
		t.Fatal("flush into a failing store: no error")
	}
	st.fail = false
	at = now.Add(time.Hour)
	c.Add("acme", 0)
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"acme 2026-12-05T10:00:00Z": {3, 1}, "acme 2026-12-05T11:00:00Z": {1, 0}}
	if len(st.got) != 2 || st.got["acme 2026-12-05T10:00:00Z"] != want["acme 2026-12-05T10:00:00Z"] || st.got["acme 2026-12-05T11:00:00Z"] != want["acme 2026-12-05T11:00:00Z"] {
		t.Errorf("stored %v, want %v", st.got, want)
	}
	if err := c.Flush(context.Background()); err != nil || len(st.got) != 2 {
		t.Errorf("second flush added again: %v %v", err, st.got)
	}
}
