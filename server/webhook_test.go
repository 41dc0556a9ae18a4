package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/server"
	"github.com/callsync/callsync/store"
)

const token = "s3cret-webhook-token"

type fixture struct {
	t        *testing.T
	st       *store.Store
	en       *enreachtest.Server
	url      string // base URL of the receiver
	notified atomic.Int32
	webList  string
	pollList string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, en: enreachtest.NewServer(), webList: enreachtest.NewID(), pollList: enreachtest.NewID()}
	t.Cleanup(f.en.Close)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st

	cfg := config.DefaultTenant()
	cfg.Name = "contoso"
	cfg.Enreach.WebhookToken = token
	web, poll := config.DefaultProfile(), config.DefaultProfile()
	web.Name, web.CallbackListID, web.SyncMethod = "web", f.webList, config.SyncWebhook
	poll.Name, poll.CallbackListID, poll.SyncMethod = "poll", f.pollList, config.SyncPolling
	cfg.Callbacks.Profiles = []config.Profile{web, poll}
	notoken := config.DefaultTenant()
	notoken.Name = "fabrikam" // no webhook_token: nothing can authenticate
	reg := jobs.NewRegistry(jobs.NewTenant(cfg, nil, nil, nil), jobs.NewTenant(notoken, nil, nil, nil))

	mux := http.NewServeMux()
	server.NewWebhook(reg, st, server.WebhookOptions{Notify: func() { f.notified.Add(1) }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/webhooks/enreach/"
	return f
}

func (f *fixture) delivery(list string) enreach.Delivery {
	return enreachtest.NewCallbackDelivery(enreach.EventCallbackCreated, enreach.Callback{
		ID: enreachtest.NewID(), CallbackListID: list, ContactNumber: "+358401111111",
		CreatedTime: time.Now().UTC().Truncate(time.Second),
	})
}

// post sends a raw request; tok "" sends no token header.
func (f *fixture) post(tenant, tok string, body io.Reader, contentLength int64) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+tenant, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if contentLength >= 0 {
		req.ContentLength = contentLength
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(enreach.HeaderEvent, enreach.EventCallbackCreated)
	if tok != "" {
		req.Header.Set(enreach.HeaderToken, tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stored counts every inbox row of every tenant.
func (f *fixture) stored() int {
	f.t.Helper()
	var n int
	if err := f.st.DB().QueryRow(`SELECT COUNT(*) FROM webhook_inbox`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestValidDeliveryIsStoredBeforeTheAnswer(t *testing.T) {
	f := newFixture(t)
	d := f.delivery(f.webList)
	status, body, err := f.en.SendWebhook(context.Background(), f.url+"contoso", token, d)
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), `"accepted"`) {
		t.Fatalf("%d %s %v", status, body, err)
	}
	items, err := f.st.PendingInbox(context.Background(), 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("pending %v %v", items, err)
	}
	it := items[0]
	if it.Tenant != "contoso" || it.DeliveryID != strings.ToLower(d.ID) || it.EventType != enreach.EventCallbackCreated ||
		!bytes.Equal(it.Payload, enreachtest.MarshalDelivery(withRoot(d, f.en))) || it.ReceivedAt.IsZero() {
		t.Errorf("stored %+v", it)
	}
	if f.notified.Load() != 1 {
		t.Errorf("notify called %d times", f.notified.Load())
	}

	// A repeated Id answers 200 and is not stored again.
	status, body, _ = f.en.SendWebhook(context.Background(), f.url+"contoso", token, d)
	if status != http.StatusOK || !strings.Contains(string(body), `"duplicate"`) {
		t.Fatalf("replay: %d %s", status, body)
	}
	if f.stored() != 1 || f.notified.Load() != 1 {
		t.Errorf("replay stored %d rows, notified %d", f.stored(), f.notified.Load())
	}
}

// withRoot fills the root entity as SendWebhook does.
func withRoot(d enreach.Delivery, s *enreachtest.Server) enreach.Delivery {
	d.RootEntityType, d.RootEntityID = "Organization", s.OrganizationID
	return d
}

func TestPollingProfileAndUnknownEventsAreRecordedIgnored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	status, body, _ := f.en.SendWebhook(ctx, f.url+"contoso", token, f.delivery(f.pollList))
	if status != http.StatusOK || !strings.Contains(string(body), jobs.ReasonPollingOnly) {
		t.Fatalf("polling profile: %d %s", status, body)
	}
	other := enreach.Delivery{ID: enreachtest.NewID(), EventType: "QueueCallInConnected", Timestamp: time.Now()}
	status, body, _ = f.en.SendWebhook(ctx, f.url+"contoso", token, other)
	if status != http.StatusOK || !strings.Contains(string(body), jobs.ReasonNotCallback) {
		t.Fatalf("other event: %d %s", status, body)
	}
	counts, err := f.st.InboxCounts(ctx, "contoso")
	if err != nil || counts[store.InboxIgnored] != 2 || counts[store.InboxPending] != 0 {
		t.Fatalf("counts %v %v", counts, err)
	}
	if f.notified.Load() != 0 {
		t.Error("ignored deliveries woke the worker")
	}
}

func TestBadInputsStoreNothing(t *testing.T) {
	f := newFixture(t)
	good := enreachtest.MarshalDelivery(f.delivery(f.webList))
	missingID := []byte(`{"EventType":"CallbackCreated","EntityId":"` + f.webList + `","Data":{"Id":"x"}}`)
	noData := []byte(`{"Id":"` + enreachtest.NewID() + `","EventType":"CallbackCreated"}`)
	big := append([]byte(`{"Id":"`+enreachtest.NewID()+`","EventType":"CallbackCreated","Pad":"`), bytes.Repeat([]byte("x"), server.MaxWebhookBody)...)
	big = append(big, `"}`...)
	for _, tc := range []struct {
		name, tenant, token string
		body                []byte
		chunked             bool
		status              int
		reason              string
	}{
		{"missing token", "contoso", "", good, false, http.StatusUnauthorized, enreach.HeaderToken},
		{"wrong token", "contoso", "s3cret-webhook-tokeN", good, false, http.StatusUnauthorized, enreach.HeaderToken},
		{"tenant without token", "fabrikam", token, good, false, http.StatusUnauthorized, enreach.HeaderToken},
		{"unknown tenant", "nobody", token, good, false, http.StatusUnauthorized, enreach.HeaderToken},
		{"unknown tenant without token", "nobody", "", good, false, http.StatusUnauthorized, enreach.HeaderToken},
		{"too large", "contoso", token, big, false, http.StatusRequestEntityTooLarge, "1 MiB"},
		{"too large without length", "contoso", token, big, true, http.StatusRequestEntityTooLarge, "1 MiB"},
		{"not JSON", "contoso", token, []byte(`Id=1&EventType=CallbackCreated`), false, http.StatusBadRequest, "not valid JSON"},
		{"JSON array", "contoso", token, []byte(`[{"Id":"1"}]`), false, http.StatusBadRequest, "not a JSON object"},
		{"missing Id", "contoso", token, missingID, false, http.StatusBadRequest, "missing Id"},
		{"callback without Data", "contoso", token, noData, false, http.StatusBadRequest, "Data"},
		{"empty body", "contoso", token, nil, false, http.StatusBadRequest, "empty body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			length := int64(len(tc.body))
			if tc.chunked {
				body, length = io.MultiReader(bytes.NewReader(tc.body)), 0
			}
			status, answer := f.post(tc.tenant, tc.token, body, length)
			if status != tc.status || !strings.Contains(answer, tc.reason) {
				t.Errorf("%d %s, want %d with %q", status, answer, tc.status, tc.reason)
			}
			if n := f.stored(); n != 0 {
				t.Errorf("%d deliveries stored", n)
			}
		})
	}
	if f.notified.Load() != 0 {
		t.Error("a rejected delivery woke the worker")
	}
	// Only POST is served.
	resp, err := http.Get(f.url + "contoso")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

type failingInbox struct{}

func (failingInbox) AddInbox(context.Context, store.InboxItem) (bool, error) {
	return false, errors.New("disk full")
}

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	cfg := config.DefaultTenant()
	cfg.Name = "contoso"
	cfg.Enreach.WebhookToken = token
	p := config.DefaultProfile()
	p.Name, p.CallbackListID, p.SyncMethod = "web", enreachtest.NewID(), config.SyncWebhook
	cfg.Callbacks.Profiles = []config.Profile{p}
	h := server.NewWebhook(jobs.NewRegistry(jobs.NewTenant(cfg, nil, nil, nil)), failingInbox{}, server.WebhookOptions{})
	d := enreachtest.NewCallbackDelivery(enreach.EventCallbackCreated, enreach.Callback{ID: enreachtest.NewID(), CallbackListID: p.CallbackListID})
	// Served without a mux: the tenant comes from the path.
	req := httptest.NewRequest(http.MethodPost, "/webhooks/enreach/contoso", bytes.NewReader(enreachtest.MarshalDelivery(d)))
	req.Header.Set(enreach.HeaderToken, token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "disk full") {
		t.Error("internal error text leaked to the sender")
	}
}

// Tenant names cannot be probed: an unknown tenant and a known one without
// a valid token get the very same answer.
func TestWebhookUnknownTenantLooksLikeWrongToken(t *testing.T) {
	f := newFixture(t)
	good := enreachtest.MarshalDelivery(f.delivery(f.webList))
	for _, token := range []string{"", "some-guess"} {
		s1, a1 := f.post("contoso", token, bytes.NewReader(good), int64(len(good)))
		s2, a2 := f.post("nobody", token, bytes.NewReader(good), int64(len(good)))
		if s1 != http.StatusUnauthorized || s1 != s2 || a1 != a2 {
			t.Errorf("token %q: known tenant %d %q, unknown tenant %d %q; want the same 401", token, s1, a1, s2, a2)
		}
	}
}

// A sender that hangs up before the delivery is committed gets no 2xx and
// nothing is stored; callsync logs it as a warning, not as its own error.
func TestWebhookSenderGoneIsNotAnError(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	reg := jobs.NewRegistry(jobs.NewTenant(func() config.Tenant {
		c := config.DefaultTenant()
		c.Name = "contoso"
		c.Enreach.WebhookToken = token
		p := config.DefaultProfile()
		p.Name, p.CallbackListID, p.SyncMethod = "web", f.webList, config.SyncWebhook
		c.Callbacks.Profiles = []config.Profile{p}
		return c
	}(), nil, nil, nil))
	mux := http.NewServeMux()
	server.NewWebhook(reg, f.st, server.WebhookOptions{Log: slog.New(slog.NewTextHandler(&logs, nil))}).Register(mux)
	body := enreachtest.MarshalDelivery(f.delivery(f.webList))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/enreach/contoso", bytes.NewReader(body)).WithContext(ctx)
	req.Header.Set("X-Benemen-Token", token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code < 300 {
		t.Errorf("answered %d to a sender that went away", rec.Code)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("logs:\n%s", logs.String())
	}
}
