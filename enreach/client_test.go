package enreach_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
)

var day = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

func fastHTTP() httpclient.Options {
	return httpclient.Options{RetryMax: 3, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, RetryAfterCap: 3 * time.Second}
}

func newClient(t *testing.T, srv *enreachtest.Server, mod ...func(*enreach.Config)) *enreach.Client {
	t.Helper()
	cfg := enreach.Config{APIURL: srv.URL, User: srv.User, SecretKey: srv.Secret, HTTP: fastHTTP()}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := enreach.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newServer(t *testing.T) *enreachtest.Server {
	srv := enreachtest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

var (
	alice = enreach.User{ID: "0b6f1a38-0000-4000-8000-00000000000a", UserName: "alice@contoso.example", FirstName: "Alice", LastName: "A", WorkNumber: "+358401000001", MobileNumber: "+358401000011"}
	bob   = enreach.User{ID: "0b6f1a38-0000-4000-8000-00000000000b", UserName: "bob@contoso.example", FirstName: "Bob", LastName: "B", WorkNumber: "+358401000002"}
	sales = enreach.Queue{ID: "9c0e0000-0000-4000-8000-000000000001", Name: "Sales", Numbers: []string{"+358201000100"}}
)

func dayWindow() enreach.Window { return enreach.Window{From: day, To: day.Add(24 * time.Hour)} }

func TestDiscoveryOnceAndCached(t *testing.T) {
	srv := newServer(t)
	srv.AddUsers(alice)
	c := newClient(t, srv, func(c *enreach.Config) { c.APIURL = ""; c.DiscoveryURL = srv.DiscoveryURL + "/" })
	ctx := context.Background()
	for range 3 {
		us, err := c.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 1 || us[0].ID != alice.ID {
			t.Fatalf("users = %+v", us)
		}
	}
	if n := srv.RequestsTo("", "/api/user"); n != 1 {
		t.Fatalf("discovery requests = %d, want 1 (cached)", n)
	}
	got, err := c.APIURL(ctx)
	if err != nil || got != srv.URL {
		t.Fatalf("APIURL = %q, %v; want %q (trailing slash stripped)", got, err, srv.URL)
	}
	for _, r := range srv.Log() {
		if r.Path == "/api/user" && r.Values().Get("user") != srv.User {
			t.Fatalf("discovery asked for user %q", r.Values().Get("user"))
		}
	}
}

func TestDiscoveryUnknownUserIsNotCached(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(c *enreach.Config) {
		c.APIURL = ""
		c.DiscoveryURL = srv.DiscoveryURL
		c.User = "nobody@contoso.example"
	})
	for range 2 {
		_, err := c.Users(context.Background())
		if err == nil || !strings.Contains(err.Error(), `no Enreach user "nobody@contoso.example"`) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := srv.RequestsTo("", "/api/user"); n != 2 {
		t.Fatalf("discovery requests = %d, want 2 (failures are not cached)", n)
	}
	if n := srv.RequestsTo("", "/users"); n != 0 {
		t.Fatalf("/users requested %d times without an API URL", n)
	}
}

func TestDiscoveryRecoversAfterServerErrors(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(c *enreach.Config) { c.APIURL = ""; c.DiscoveryURL = srv.DiscoveryURL })
	for range 4 { // RetryMax 3: four attempts, all fail
		srv.Fail(enreachtest.Fault{Path: "/api/user", Status: http.StatusInternalServerError})
	}
	_, err := c.Me(context.Background())
	var se *enreach.StatusError
	if !errors.As(err, &se) || se.Status != 500 || !strings.Contains(err.Error(), "enreach: discovery for "+srv.User) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Me(context.Background()); err != nil {
		t.Fatalf("second try: %v", err)
	}
	if n := srv.RequestsTo("", "/api/user"); n != 5 {
		t.Fatalf("discovery requests = %d, want 5", n)
	}
}

func TestAPIURLOverridesDiscovery(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(c *enreach.Config) { c.APIURL = srv.URL + "/"; c.DiscoveryURL = "http://127.0.0.1:1" })
	if _, err := c.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := srv.RequestsTo("", "/api/user"); n != 0 {
		t.Fatalf("discovery requests = %d", n)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []enreach.Config{
		{SecretKey: "k"},
		{User: "a@b.example"},
		{User: "a@b.example", SecretKey: "k", APIURL: "api.example.com"},
	} {
		if _, err := enreach.New(cfg); err == nil {
			t.Errorf("New(%v) accepted", cfg)
		}
	}
}

func TestConfigNeverPrintsSecret(t *testing.T) {
	cfg := enreach.Config{User: "a@b.example", SecretKey: "s3cr3t-value"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "enreach", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), buf.String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("secret printed: %s", s)
		}
		if !strings.Contains(s, "a@b.example") {
			t.Fatalf("user missing: %s", s)
		}
	}
}

func TestMe(t *testing.T) {
	srv := newServer(t)
	id, err := newClient(t, srv).Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := enreach.Identity{ID: srv.UserID, UserName: srv.User, OrganizationID: srv.OrganizationID}
	if id != want {
		t.Fatalf("Me = %+v, want %+v", id, want)
	}
}

func TestUnauthorizedIsClearAndNotRetried(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, func(c *enreach.Config) { c.SecretKey = "wrong-secret-123" })
	_, _, err := c.Calls(context.Background(), dayWindow())
	var se *enreach.StatusError
	if !errors.As(err, &se) || !se.Unauthorized() {
		t.Fatalf("err = %v, want a 401 StatusError", err)
	}
	msg := err.Error()
	for _, want := range []string{"enreach: calls 2026-01-10..2026-01-11", "GET /calls", "401", "secret key is wrong", srv.User} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "wrong-secret-123") {
		t.Fatalf("error leaks the secret: %s", msg)
	}
	if n := srv.RequestsTo("", "/calls"); n != 1 {
		t.Fatalf("requests = %d, want 1 (a 401 is not retried)", n)
	}
	if _, err := c.Me(context.Background()); err == nil {
		t.Fatal("Me accepted a wrong secret")
	}
}

func TestRateLimitRetryAfterHonoured(t *testing.T) {
	srv := newServer(t)
	call := enreachtest.DirectCall(alice, "+358501234567", false, day.Add(9*time.Hour), 5*time.Second, time.Minute)
	srv.AddCalls(call)
	srv.Fail(enreachtest.Fault{Path: "/calls", Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	calls, bad, err := newClient(t, srv).Calls(context.Background(), dayWindow())
	if err != nil || len(bad) != 0 {
		t.Fatalf("err = %v, malformed %v", err, bad)
	}
	if len(calls) != 1 || calls[0].CallID != call.CallID {
		t.Fatalf("calls = %+v", calls)
	}
	log := srv.Log()
	if len(log) != 2 || log[0].Status != 429 || log[1].Status != 200 {
		t.Fatalf("log = %+v", log)
	}
	// The backoff alone is 1-5 ms: a gap of a second means Retry-After was used.
	if gap := log[1].At.Sub(log[0].At); gap < time.Second-10*time.Millisecond {
		t.Fatalf("retried after %v, want >= 1s (Retry-After)", gap)
	}
}

func TestRateLimitRetryAfterOverCapGivesUp(t *testing.T) {
	srv := newServer(t)
	srv.Fail(enreachtest.Fault{Path: "/calls", Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Minute})
	_, _, err := newClient(t, srv).Calls(context.Background(), dayWindow())
	var rae *httpclient.RetryAfterError
	if !errors.As(err, &rae) || rae.Wait != 2*time.Minute {
		t.Fatalf("err = %v, want a RetryAfterError", err)
	}
	if !strings.HasPrefix(err.Error(), "enreach: calls 2026-01-10..2026-01-11: GET /calls: ") ||
		!strings.Contains(err.Error(), "giving up") {
		t.Fatalf("unclear error: %v", err)
	}
	if n := srv.RequestsTo("", "/calls"); n != 1 {
		t.Fatalf("requests = %d, want 1", n)
	}
}

func TestRateLimitPersistentGivesUp(t *testing.T) {
	srv := newServer(t)
	for range 4 {
		srv.Fail(enreachtest.Fault{Path: "/calls", Status: http.StatusTooManyRequests})
	}
	_, _, err := newClient(t, srv).Calls(context.Background(), dayWindow())
	var se *enreach.StatusError
	if !errors.As(err, &se) || se.Status != 429 || !strings.Contains(err.Error(), "rate limited") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.RequestsTo("", "/calls"); n != 4 {
		t.Fatalf("requests = %d, want 4 (1 + RetryMax 3)", n)
	}
}

func TestServerErrorsRetried(t *testing.T) {
	srv := newServer(t)
	sc, leg := enreachtest.QueueCall(sales, &bob, "+358501234567", day.Add(10*time.Hour), 20*time.Second, 2*time.Minute)
	srv.AddServiceCalls(sc)
	srv.AddCalls(*leg)
	srv.Fail(enreachtest.Fault{Path: "/servicecall", Status: http.StatusServiceUnavailable})
	srv.Fail(enreachtest.Fault{Path: "/servicecall", Status: http.StatusInternalServerError})
	scs, _, err := newClient(t, srv).ServiceCalls(context.Background(), dayWindow())
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 1 || scs[0].CallID != sc.CallID {
		t.Fatalf("service calls = %+v", scs)
	}
	if n := srv.RequestsTo("", "/servicecall"); n != 3 {
		t.Fatalf("requests = %d, want 3", n)
	}

	for range 4 {
		srv.Fail(enreachtest.Fault{Path: "/servicecall", Status: http.StatusBadGateway})
	}
	_, _, err = newClient(t, srv).ServiceCalls(context.Background(), dayWindow())
	var se *enreach.StatusError
	if !errors.As(err, &se) || se.Status != 502 || !strings.Contains(err.Error(), "enreach: service calls 2026-01-10..2026-01-11: GET /servicecall: HTTP 502") {
		t.Fatalf("err = %v", err)
	}
}

func TestLongWindowIsSplit(t *testing.T) {
	srv := newServer(t)
	from := day
	to := day.Add(40 * 24 * time.Hour)
	var want []string
	for _, d := range []int{0, 20, 30, 31, 39} {
		c := enreachtest.DirectCall(alice, "+358501234567", d%2 == 0, from.Add(time.Duration(d)*24*time.Hour+time.Hour), 0, time.Minute)
		srv.AddCalls(c)
		want = append(want, c.CallID)
	}
	srv.AddCalls(enreachtest.DirectCall(alice, "+358501234567", false, to.Add(time.Hour), 0, time.Minute)) // outside
	srv.AddCalls(enreachtest.DirectCall(alice, "+358501234567", false, from.Add(-time.Hour), 0, time.Minute))

	calls, _, err := newClient(t, srv).Calls(context.Background(), enreach.Window{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, c.CallID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	log := srv.Log()
	if len(log) != 2 {
		t.Fatalf("requests = %d, want 2", len(log))
	}
	mid := from.Add(enreach.MaxWindow)
	wantQ := [][2]string{
		{"2026-01-10 00:00:00", mid.Format("2006-01-02 15:04:05")},
		{mid.Format("2006-01-02 15:04:05"), "2026-02-19 00:00:00"},
	}
	for i, r := range log {
		if r.Values().Get("StartTime") != wantQ[i][0] || r.Values().Get("EndTime") != wantQ[i][1] || r.Status != 200 {
			t.Errorf("request %d = %v (%d), want %v", i, r.Query, r.Status, wantQ[i])
		}
	}
}

func TestWindowOfExactly31DaysIsOneRequest(t *testing.T) {
	srv := newServer(t)
	_, _, err := newClient(t, srv).Calls(context.Background(), enreach.Window{From: day, To: day.Add(enreach.MaxWindow)})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.RequestsTo("", "/calls"); n != 1 {
		t.Fatalf("requests = %d, want 1", n)
	}
}

func TestWindowEdges(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	ctx := context.Background()
	// Sub-second bounds widen to whole seconds, so nothing falls between windows.
	w := enreach.Window{From: day.Add(10*time.Hour + 500*time.Millisecond), To: day.Add(10*time.Hour + 10*time.Second + 200*time.Millisecond)}
	if _, _, err := c.Calls(ctx, w); err != nil {
		t.Fatal(err)
	}
	q := srv.Log()[0].Values()
	if q.Get("StartTime") != "2026-01-10 10:00:00" || q.Get("EndTime") != "2026-01-10 10:00:11" {
		t.Fatalf("query = %v", q)
	}
	// An empty window asks nothing.
	if calls, _, err := c.Calls(ctx, enreach.Window{From: day, To: day}); err != nil || calls != nil {
		t.Fatalf("empty window: %v, %v", calls, err)
	}
	if n := srv.RequestsTo("", "/calls"); n != 1 {
		t.Fatalf("requests = %d", n)
	}
	if _, _, err := c.Calls(ctx, enreach.Window{From: day, To: day.Add(-time.Hour)}); err == nil || !strings.Contains(err.Error(), "before its start") {
		t.Fatalf("reversed window: %v", err)
	}
	if _, _, err := c.Calls(ctx, enreach.Window{To: day}); err == nil {
		t.Fatal("window without start accepted")
	}
}

func TestByModifiedWindow(t *testing.T) {
	srv := newServer(t)
	early := enreachtest.DirectCall(alice, "+358501234567", false, day.Add(-48*time.Hour), 0, time.Minute)
	early.Modified = day.Add(2 * time.Hour) // started long ago, changed today
	today := enreachtest.DirectCall(alice, "+358501234567", false, day.Add(time.Hour), 0, time.Minute)
	today.Modified = day.Add(50 * time.Hour)
	srv.AddCalls(early, today)
	calls, _, err := newClient(t, srv).Calls(context.Background(), enreach.Window{From: day, To: day.Add(24 * time.Hour), ByModified: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].CallID != early.CallID {
		t.Fatalf("calls = %+v", calls)
	}
	q := srv.Log()[0].Values()
	if q.Get("ModifiedAfter") != "2026-01-10 00:00:00" || q.Get("ModifiedBefore") != "2026-01-11 00:00:00" || q.Has("StartTime") {
		t.Fatalf("query = %v", q)
	}
}

func TestCallsRoundTrip(t *testing.T) {
	srv := newServer(t)
	in := enreachtest.DirectCall(alice, "+358501234567", true, day.Add(9*time.Hour), 7*time.Second, 3*time.Minute)
	in.RecordingIDs = []string{"rec-1", "rec-2"}
	missed := enreachtest.DirectCall(bob, "0501234567", false, day.Add(11*time.Hour), 30*time.Second, 0)
	missed.Privacy = enreach.PrivacyPrivate
	srv.AddCalls(in, missed)
	calls, bad, err := newClient(t, srv).Calls(context.Background(), dayWindow())
	if err != nil || len(bad) != 0 {
		t.Fatalf("err %v, malformed %v", err, bad)
	}
	if len(calls) != 2 {
		t.Fatalf("calls = %+v", calls)
	}
	for i, want := range []enreach.Call{in, missed} {
		got := calls[i]
		if len(got.Raw) == 0 || !json.Valid(got.Raw) || !strings.Contains(string(got.Raw), `"CallId":"`+want.CallID+`"`) {
			t.Fatalf("raw = %s", got.Raw)
		}
		got.Raw = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("call %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func TestMalformedRecordsQuarantined(t *testing.T) {
	srv := newServer(t)
	good1 := enreachtest.DirectCall(alice, "+358501234567", false, day.Add(8*time.Hour), 0, time.Minute)
	good2 := enreachtest.DirectCall(bob, "+358501234568", true, day.Add(9*time.Hour), 0, time.Minute)
	srv.AddCalls(good1, good2)
	raws := []struct{ raw, id, reason string }{
		{`42`, "", "not a JSON object"},
		{`"text"`, "", "not a JSON object"},
		{`{"StartTime":"2026-01-10 10:00:00","Direction":0}`, "", "CallId: missing"},
		{`{"CallId":"bad-time","StartTime":"yesterday","Direction":1}`, "bad-time", `StartTime: unreadable time "yesterday"`},
		{`{"CallId":"no-time","Direction":1}`, "no-time", "StartTime: missing"},
		{`{"CallId":"bad-dur","StartTime":"2026-01-10 10:00:00","Direction":1,"Duration":"long"}`, "bad-dur", "Duration: not a number"},
		{`{"CallId":"bad-dir","StartTime":"2026-01-10 10:00:00","Direction":"sideways"}`, "bad-dir", "Direction: unknown direction"},
		{`{"CallId":"bad-rec","StartTime":"2026-01-10 10:00:00","Direction":0,"RecordingIds":{"a":1}}`, "bad-rec", "RecordingIds: expected a list"},
		{`{"CallId":"x","CallID":"y","StartTime":"2026-01-10 10:00:00","Direction":0}`, "", "different values"},
	}
	for _, r := range raws {
		srv.AddRaw("/calls", json.RawMessage(r.raw))
	}
	calls, bad, err := newClient(t, srv).Calls(context.Background(), dayWindow())
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].CallID != good1.CallID || calls[1].CallID != good2.CallID {
		t.Fatalf("calls = %+v", calls)
	}
	if len(bad) != len(raws) {
		t.Fatalf("malformed = %d, want %d: %+v", len(bad), len(raws), bad)
	}
	for i, r := range raws {
		m := bad[i]
		if !strings.Contains(m.Reason, r.reason) {
			t.Errorf("malformed %d reason %q, want %q", i, m.Reason, r.reason)
		}
		if r.id != "" && m.ID != r.id {
			t.Errorf("malformed %d id %q, want %q", i, m.ID, r.id)
		}
		if string(m.Raw) != r.raw {
			t.Errorf("malformed %d raw %s, want %s", i, m.Raw, r.raw)
		}
	}
}

func TestTolerantReader(t *testing.T) {
	srv := newServer(t)
	raw1 := `{"CALLID":"c1","userid":"u1","USERNAME":"alice@contoso.example","Direction":"Out","anum":"+358401000001","bNum":"0501234567",` +
		`"StartTime":"2026-01-10T10:00:00Z","AnswerTime":"2026-01-10T12:00:05.123+02:00","EndTime":"2026-01-10 10:05:00.1234567",` +
		`"Duration":"295","EndResult":0,"privacy":"work","QueueId":null,"RecordingIds":"r1, r2","modified":"/Date(1768039500000+0200)/","Extra":{"x":1}}`
	raw2 := `{"CallID":"c2","Direction":true,"StartTime":"2026-01-10 11:00:00","AnswerTime":null,"Duration":12.6,"EndResult":"3","Privacy":"Weird","RecordingIds":[1234,null,"r9"]}`
	raw3 := `{"callid":"c3","direction":0,"starttime":"2026-01-10T11:30:00.5","endtime":"","modified":"2026-01-10 11:31:00+0000"}`
	for _, r := range []string{raw1, raw2, raw3} {
		srv.AddRaw("/calls", json.RawMessage(r))
	}
	calls, bad, err := newClient(t, srv).Calls(context.Background(), dayWindow())
	if err != nil || len(bad) != 0 {
		t.Fatalf("err %v malformed %+v", err, bad)
	}
	if len(calls) != 3 {
		t.Fatalf("calls = %+v", calls)
	}
	at := time.Date(2026, 1, 10, 10, 0, 5, 123e6, time.UTC)
	want := []enreach.Call{{
		CallID: "c1", UserID: "u1", UserName: "alice@contoso.example", Outbound: true, ANum: "+358401000001", BNum: "0501234567",
		StartTime: day.Add(10 * time.Hour), AnswerTime: &at, EndTime: time.Date(2026, 1, 10, 10, 5, 0, 123456700, time.UTC),
		Duration: 295, Privacy: enreach.PrivacyWork, RecordingIDs: []string{"r1", "r2"}, Modified: time.UnixMilli(1768039500000).UTC(),
	}, {
		CallID: "c2", Outbound: true, StartTime: day.Add(11 * time.Hour), Duration: 13, EndResult: 3, Privacy: "Weird", RecordingIDs: []string{"1234", "r9"},
	}, {
		CallID: "c3", StartTime: day.Add(11*time.Hour + 30*time.Minute + 500*time.Millisecond), Modified: day.Add(11*time.Hour + 31*time.Minute),
	}}
	for i := range want {
		if string(calls[i].Raw) != []string{raw1, raw2, raw3}[i] {
			t.Errorf("call %d raw = %s", i, calls[i].Raw)
		}
		calls[i].Raw = nil
		if !reflect.DeepEqual(calls[i], want[i]) {
			t.Errorf("call %d:\n got %+v\nwant %+v", i, calls[i], want[i])
		}
	}
}

func TestUsersQueuesCallbackLists(t *testing.T) {
	srv := newServer(t)
	srv.AddUsers(alice, bob)
	srv.AddRaw("/users", json.RawMessage(`{"UserName":"ghost@contoso.example"}`))
	srv.AddRaw("/users", json.RawMessage(`{"ID":"u-raw","userName":"carol@contoso.example"}`))
	support := enreach.Queue{ID: "9c0e0000-0000-4000-8000-000000000002", Name: "Support", Numbers: []string{"+358201000200", "+358201000201"}}
	srv.AddQueues(sales, support)
	srv.AddRaw("/queues", json.RawMessage(`{"Id":"q-raw","Name":"Old","Numbers":[{"Number":"+358201000300"}]}`))
	lists := []enreach.CallbackList{{ID: "l1", Name: "Sales callbacks", QueueID: sales.ID}, {ID: "l2", Name: "Manual"}}
	srv.AddCallbackLists(lists...)

	var logBuf bytes.Buffer
	c := newClient(t, srv, func(c *enreach.Config) { c.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	ctx := context.Background()
	us, err := c.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := []enreach.User{alice, bob, {ID: "u-raw", UserName: "carol@contoso.example"}}
	if !reflect.DeepEqual(us, wantUsers) {
		t.Fatalf("users = %+v", us)
	}
	if !strings.Contains(logBuf.String(), "Id: missing") {
		t.Fatalf("skipped user not logged: %s", logBuf.String())
	}
	qs, err := c.Queues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantQueues := []enreach.Queue{sales, support, {ID: "q-raw", Name: "Old", Numbers: []string{"+358201000300"}}}
	if !reflect.DeepEqual(qs, wantQueues) {
		t.Fatalf("queues = %+v", qs)
	}
	ls, err := c.CallbackLists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ls, lists) {
		t.Fatalf("lists = %+v", ls)
	}
}

func TestCallbacks(t *testing.T) {
	srv := newServer(t)
	srv.AddCallbackLists(enreach.CallbackList{ID: "l1", Name: "Sales", QueueID: sales.ID}, enreach.CallbackList{ID: "l2", Name: "Other"})
	due := day.Add(30 * time.Hour)
	cb1 := enreach.Callback{ID: "cb1", CallbackListID: "l1", ContactNumber: "+358501234567", ContactName: "Matti", ContactMessage: "call me",
		QueueID: sales.ID, CreatedTime: day.Add(time.Hour), DueDate: &due, RecordingID: "vm-1"}
	cb2 := enreach.Callback{ID: "cb2", CallbackListID: "l1", ContactNumber: "+358501234568", CreatedTime: day.Add(-40 * 24 * time.Hour)}
	cb3 := enreach.Callback{ID: "cb3", CallbackListID: "l2", ContactNumber: "+358501234569", CreatedTime: day.Add(2 * time.Hour)}
	srv.AddCallbacks(cb1, cb2, cb3)
	c := newClient(t, srv)
	ctx := context.Background()

	got, bad, err := c.Callbacks(ctx, "l1", dayWindow())
	if err != nil || len(bad) != 0 {
		t.Fatalf("err %v malformed %v", err, bad)
	}
	want := cb1
	want.ModifiedTime = cb1.CreatedTime
	if len(got) != 1 {
		t.Fatalf("callbacks = %+v", got)
	}
	got[0].Raw = nil
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("callback:\n got %+v\nwant %+v", got[0], want)
	}
	q := srv.Log()[0].Values()
	if q.Get("CallbackListId") != "l1" || q.Get("ModifiedAfter") != "2026-01-10 00:00:00" || q.Get("ModifiedBefore") != "2026-01-11 00:00:00" {
		t.Fatalf("query = %v", q)
	}

	// Closing bumps ModifiedTime: a later window sees it closed.
	closed, err := srv.CloseCallback("cb1", "Closed successfully")
	if err != nil {
		t.Fatal(err)
	}
	later := enreach.Window{From: closed.ModifiedTime.Add(-time.Minute), To: closed.ModifiedTime.Add(time.Minute)}
	got, _, err = c.Callbacks(ctx, "l1", later)
	if err != nil || len(got) != 1 || !got[0].IsClosed || got[0].ClosedTime == nil || got[0].HandlingStatus != "Closed successfully" {
		t.Fatalf("after close: %+v, %v", got, err)
	}

	// 45 days back: split into two requests, finds the old one too.
	before := srv.RequestsTo("", "/callbacks")
	got, _, err = c.Callbacks(ctx, "l1", enreach.Window{From: day.Add(-45 * 24 * time.Hour), To: day.Add(-time.Hour)})
	if err != nil || len(got) != 1 || got[0].ID != "cb2" {
		t.Fatalf("long window: %+v, %v", got, err)
	}
	if n := srv.RequestsTo("", "/callbacks") - before; n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}

	if _, _, err := c.Callbacks(ctx, "", dayWindow()); err == nil {
		t.Fatal("empty list id accepted")
	}
	_, _, err = c.Callbacks(ctx, "nope", dayWindow())
	var se *enreach.StatusError
	if !errors.As(err, &se) || se.Status != 404 || !strings.Contains(err.Error(), "enreach: callbacks of list nope") {
		t.Fatalf("unknown list: %v", err)
	}
}

func TestNonArrayResponse(t *testing.T) {
	bodies := map[string]string{
		`{"Items":[]}`: "not a JSON array",
		`<xml/>`:       "not JSON",
		``:             "empty response body",
	}
	for body, want := range bodies {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })
		srv := httptestServer(t, h)
		c, err := enreach.New(enreach.Config{APIURL: srv, User: "a@b.example", SecretKey: "k", HTTP: fastHTTP()})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Calls(context.Background(), dayWindow())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("body %q: err = %v, want %q", body, err, want)
		}
	}
}
