package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/match"
)

const (
	apiKey    = "s3cret-routing-key"
	tenantID  = "contoso"
	caller    = "+358501112222" // a known customer
	stranger  = "+358405556666" // no CRM record
	queueNum  = "+358201234567" // the dialled service number
	vipTarget = "+358401234567"
)

// env is one tenant behind a real ServeMux, as the lead mounts it.
type env struct {
	t   *testing.T
	crm *fakeCRM
	cli crm.Client
	m   *match.Matcher
	dir *fakeDirectory
	reg *prometheus.Registry
	mux *http.ServeMux

	mu  sync.Mutex
	cfg config.Tenant
}

func newEnv(t *testing.T, rules ...config.RoutingRule) *env {
	t.Helper()
	cfg := config.DefaultTenant()
	cfg.Name = tenantID
	cfg.DefaultRegion = "FI"
	cfg.Routing.APIKey = apiKey
	cfg.Routing.Rules = rules
	e := &env{t: t, crm: &fakeCRM{}, dir: &fakeDirectory{targets: map[string]string{}}, reg: prometheus.NewRegistry(), cfg: cfg}
	e.cli = e.crm
	e.rebuild()
	return e
}

// rebuild makes the matcher and handler from the current settings and client.
func (e *env) rebuild() {
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	e.m = match.New(e.cli, match.Options{Region: cfg.DefaultRegion, TTL: cfg.Routing.CacheTTL.D(), Fields: Fields(cfg.Routing.Rules)})
	e.reg = prometheus.NewRegistry()
	h := NewHandler(TenantsFunc(func(name string) (Tenant, bool) {
		if name != tenantID {
			return Tenant{}, false
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return Tenant{Name: name, Config: e.cfg, Matcher: e.m, CRM: e.cli}, true
	}), Options{Directory: e.dir, Metrics: NewMetrics(e.reg)})
	e.mux = http.NewServeMux()
	e.mux.Handle("POST /routing/{tenant}", h)
}

func (e *env) setConfig(f func(*config.Tenant)) {
	e.mu.Lock()
	f(&e.cfg)
	e.mu.Unlock()
}

func withKey(r *http.Request) { r.Header.Set("X-Benemen-APIKey", apiKey) }

func (e *env) post(path, body string, auth func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if auth != nil {
		auth(r)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

// call posts a lookup for anum → bnum with the right key.
func (e *env) call(anum, bnum string) *httptest.ResponseRecorder {
	b, _ := json.Marshal(map[string]any{"anum": anum, "bnum": bnum, "targetid": "SALES_QUEUE"})
	return e.post("/routing/"+tenantID, string(b), withKey)
}

// counter returns a counter's value by name and labels (0 when absent).
func (e *env) counter(name string, labels map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsEqual(m.GetLabel(), labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// histogramCount returns how many observations a histogram series holds.
func (e *env) histogramCount(name string, labels map[string]string) uint64 {
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsEqual(m.GetLabel(), labels) {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func (e *env) outcomes(outcome string) float64 {
	tenant := tenantID
	if outcome == OutcomeUnknownTenant {
		tenant = ""
	}
	return e.counter("callsync_routing_lookups_total", map[string]string{"tenant": tenant, "outcome": outcome})
}

func boolp(b bool) *bool { return &b }

// targetOf decodes a 200 answer.
func targetOf(t *testing.T, w *httptest.ResponseRecorder) response {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %q", w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("answer %q: %v", w.Body.String(), err)
	}
	var r response
	_ = json.Unmarshal(w.Body.Bytes(), &r)
	for k := range raw {
		if k != "InitialTarget" && k != "FailTarget" {
			t.Errorf("unexpected answer key %q", k)
		}
	}
	return r
}

func wantNoContent(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204; body %q", w.Code, w.Body.String())
	}
	if w.Body.Len() != 0 {
		t.Errorf("204 with a body %q", w.Body.String())
	}
}

// matchedRule routes every known customer to vipTarget.
var matchedRule = config.RoutingRule{Name: "known", When: config.RoutingWhen{Matched: boolp(true)}, Target: vipTarget}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": "050 111 2222"}})
	good := `{"anum":"` + caller + `","bnum":"` + queueNum + `"}`
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	cases := []struct {
		name    string
		path    string
		body    string
		auth    func(*http.Request)
		status  int
		outcome string
	}{
		{"header key", "/routing/contoso", good, withKey, 200, OutcomeTarget},
		{"basic auth, user ignored", "/routing/contoso", good, basic("enreach", apiKey), 200, OutcomeTarget},
		{"basic auth, empty user", "/routing/contoso", good, basic("", apiKey), 200, OutcomeTarget},
		{"missing key", "/routing/contoso", good, nil, 401, OutcomeUnauthorized},
		{"wrong key", "/routing/contoso", good, func(r *http.Request) { r.Header.Set("X-Benemen-APIKey", "nope") }, 401, OutcomeUnauthorized},
		{"key prefix", "/routing/contoso", good, func(r *http.Request) { r.Header.Set("X-Benemen-APIKey", apiKey[:5]) }, 401, OutcomeUnauthorized},
		{"wrong basic password", "/routing/contoso", good, basic("enreach", "nope"), 401, OutcomeUnauthorized},
		{"key as basic user", "/routing/contoso", good, basic(apiKey, ""), 401, OutcomeUnauthorized},
		{"unknown tenant", "/routing/fabrikam", good, withKey, 401, OutcomeUnknownTenant},
		{"unknown tenant without key", "/routing/fabrikam", good, nil, 401, OutcomeUnknownTenant},
		{"bad JSON", "/routing/contoso", `{"anum":`, withKey, 400, OutcomeBadRequest},
		{"not an object", "/routing/contoso", `["+358501112222"]`, withKey, 400, OutcomeBadRequest},
		{"anum not a string", "/routing/contoso", `{"anum":358501112222}`, withKey, 400, OutcomeBadRequest},
		{"missing anum", "/routing/contoso", `{"bnum":"` + queueNum + `"}`, withKey, 400, OutcomeBadRequest},
		{"empty anum", "/routing/contoso", `{"anum":" ","bnum":"` + queueNum + `"}`, withKey, 400, OutcomeBadRequest},
		{"empty body", "/routing/contoso", ``, withKey, 400, OutcomeBadRequest},
		{"too large", "/routing/contoso", `{"anum":"` + caller + `","extradata":{"DYN_X":"` + strings.Repeat("x", MaxBody) + `"}}`, withKey, 413, OutcomeBadRequest},
		{"unknown fields accepted", "/routing/contoso", `{"anum":"` + caller + `","bnum":"` + queueNum + `","targetid":"SALES_QUEUE","extradata":{"CallId":"1b6f0c1e-0000-4000-8000-000000000001","LegId":"x","CurrQueueId":"2b6f0c1e-0000-4000-8000-000000000002","CurrUserId":"","IsInternalCaller":false,"DYN_PAR_Culture":"fi-FI"},"future":[1,2]}`, withKey, 200, OutcomeTarget},
		{"default routing", "/routing/contoso", `{"anum":"` + stranger + `","bnum":"` + queueNum + `"}`, withKey, 204, OutcomeDefault},
	}
	want := map[string]float64{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.post(c.path, c.body, c.auth)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d; body %q", w.Code, c.status, w.Body.String())
			}
			if c.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if c.status == 200 {
				if got := targetOf(t, w); got.InitialTarget != vipTarget || got.FailTarget != "" {
					t.Errorf("answer %+v", got)
				}
			}
			if c.status == 204 && w.Body.Len() != 0 {
				t.Errorf("204 with body %q", w.Body.String())
			}
		})
		want[c.outcome]++
	}
	for outcome, n := range want {
		if got := e.outcomes(outcome); got != n {
			t.Errorf("lookups{outcome=%s} = %v, want %v", outcome, got, n)
		}
	}
	if n := e.histogramCount("callsync_routing_lookup_seconds", map[string]string{"outcome": OutcomeTarget}); n != uint64(want[OutcomeTarget]) {
		t.Errorf("latency observations for target = %d, want %v", n, want[OutcomeTarget])
	}
	if n := e.crm.lookups.Load(); n == 0 {
		t.Error("no CRM lookup at all")
	}
}

func TestRefusedRequestsNeverReachTheCRM(t *testing.T) {
	e := newEnv(t, matchedRule)
	good := `{"anum":"` + caller + `","bnum":"` + queueNum + `"}`
	e.post("/routing/contoso", good, nil)
	e.post("/routing/contoso", good, func(r *http.Request) { r.Header.Set("X-Benemen-APIKey", "nope") })
	e.post("/routing/contoso", `{"bnum":"x"}`, withKey)
	if n := e.crm.lookups.Load(); n != 0 {
		t.Fatalf("%d CRM lookups for refused requests", n)
	}
}

func TestTenantWithoutKeyRefusesEverything(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.setConfig(func(c *config.Tenant) { c.Routing.APIKey = "" })
	good := `{"anum":"` + caller + `","bnum":"` + queueNum + `"}`
	for _, auth := range []func(*http.Request){
		nil,
		func(r *http.Request) { r.Header.Set("X-Benemen-APIKey", "") },
		func(r *http.Request) { r.SetBasicAuth("", "") },
	} {
		if w := e.post("/routing/contoso", good, auth); w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, matchedRule)
	r := httptest.NewRequest(http.MethodGet, "/routing/contoso", nil)
	withKey(r)
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET through the mux: %d", w.Code)
	}
	// Mounted without a method in the pattern, the handler refuses itself.
	mux := http.NewServeMux()
	mux.Handle("/routing/{tenant}", NewHandler(TenantsFunc(func(string) (Tenant, bool) {
		return Tenant{Name: tenantID, Config: e.cfg, Matcher: e.m}, true
	}), Options{}))
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("GET on the bare handler: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestSlowCRMAnswersDefaultWithinBudget(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": caller}})
	// The budget runs out while the CRM blocks; it is long enough that on a
	// loaded machine the lookup has usually started by then.
	e.setConfig(func(c *config.Tenant) { c.Routing.Budget = config.Duration(300 * time.Millisecond) })
	release := make(chan struct{})
	e.crm.block = release // ignores ctx, like a client stuck in a read
	e.crm.entered = make(chan struct{}, 1)
	e.crm.answered = make(chan struct{}, 1)

	defer close(release)
	answer := make(chan *httptest.ResponseRecorder, 1)
	go func() { answer <- e.call(caller, queueNum) }()
	var w *httptest.ResponseRecorder
	select {
	case w = <-answer:
	case <-e.crm.answered:
		t.Fatal("the CRM answered before the handler did")
	case <-time.After(10 * time.Second): // a hang guard, not a latency assertion
		t.Fatal("the handler waits for a CRM that does not answer")
	}
	wantNoContent(t, w)
	// The lookup runs in the background: on a loaded machine it may start
	// only after the budget ran out and the handler answered.
	select {
	case <-e.crm.entered:
	case <-time.After(10 * time.Second): // a hang guard, not a latency assertion
		t.Fatal("the CRM was never asked")
	}
	select {
	case <-e.crm.answered:
		t.Fatal("the handler waited for the CRM to answer")
	default:
	}
	if got := e.outcomes(OutcomeTimeout); got != 1 {
		t.Errorf("timeout outcomes = %v", got)
	}
	release <- struct{}{}
	<-e.crm.answered // the lookup finishes in the background
}

func TestSlowCRMHonouringContext(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.setConfig(func(c *config.Tenant) { c.Routing.Budget = config.Duration(20 * time.Millisecond) })
	e.crm.delay = time.Hour // returns only through ctx
	e.crm.answered = make(chan struct{}, 1)
	wantNoContent(t, e.call(caller, queueNum))
	<-e.crm.answered // the lookup was cancelled: the CRM call returned
	if got := e.outcomes(OutcomeTimeout); got != 1 {
		t.Errorf("timeout outcomes = %v", got)
	}
}

func TestFailingCRMAnswersDefault(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.crm.fail = errors.New("503 service unavailable")
	wantNoContent(t, e.call(caller, queueNum))
	if got := e.outcomes(OutcomeError); got != 1 {
		t.Errorf("error outcomes = %v", got)
	}
	// A failure is not cached: the next call asks again and now succeeds.
	e.crm.fail = nil
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": caller}})
	if got := targetOf(t, e.call(caller, queueNum)); got.InitialTarget != vipTarget {
		t.Fatalf("after recovery: %+v", got)
	}
}

func TestCachedRepeatCallerMakesNoCRMRequest(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": "+358 50 111 2222"}})
	first := targetOf(t, e.call(caller, queueNum))
	if n := e.crm.lookups.Load(); n != 1 {
		t.Fatalf("first call: %d lookups", n)
	}
	second := targetOf(t, e.call(caller, queueNum))
	if n := e.crm.lookups.Load(); n != 1 {
		t.Fatalf("repeat caller: %d lookups, want still 1", n)
	}
	if first != second {
		t.Errorf("answers differ: %+v vs %+v", first, second)
	}
	// An unknown caller is cached too (negative answer).
	wantNoContent(t, e.call(stranger, queueNum))
	wantNoContent(t, e.call(stranger, queueNum))
	if n := e.crm.lookups.Load(); n != 2 {
		t.Fatalf("unknown repeat caller: %d lookups, want 2", n)
	}
	hits := e.counter("callsync_routing_cache_total", map[string]string{"tenant": tenantID, "result": "hit"})
	misses := e.counter("callsync_routing_cache_total", map[string]string{"tenant": tenantID, "result": "miss"})
	if hits != 2 || misses != 2 {
		t.Errorf("cache hits %v misses %v, want 2 and 2", hits, misses)
	}
}

func TestCacheWarmedByTheJobs(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": caller}})
	// The calls job matches without the cache, which refreshes it.
	if _, err := e.m.Match(context.Background(), []string{caller}, false); err != nil {
		t.Fatal(err)
	}
	targetOf(t, e.call(caller, queueNum))
	if n := e.crm.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups, want only the job's", n)
	}
}

func TestCacheTTLZeroAlwaysAsks(t *testing.T) {
	e := newEnv(t, matchedRule)
	e.setConfig(func(c *config.Tenant) { c.Routing.CacheTTL = 0 })
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": caller}})
	targetOf(t, e.call(caller, queueNum))
	targetOf(t, e.call(caller, queueNum))
	if n := e.crm.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2", n)
	}
}

func TestAnswerIsExactJSON(t *testing.T) {
	e := newEnv(t, config.RoutingRule{Name: "all", When: config.RoutingWhen{Matched: boolp(true)}, Target: "QUEUE:sales", FailTarget: "+358409999999"})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": caller}})
	w := e.call(caller, queueNum)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	want := `{"InitialTarget":"QUEUE:sales","FailTarget":"+358409999999"}`
	if got := string(bytes.TrimSpace(w.Body.Bytes())); got != want {
		t.Fatalf("body %s, want %s", got, want)
	}
}

func newPost(path, body string) *http.Request {
	return httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// Tenant names cannot be probed: an unknown tenant and a known one without
// a valid key get the very same answer, whatever the method.
func TestUnknownTenantLooksLikeWrongKey(t *testing.T) {
	e := newEnv(t, matchedRule)
	body := `{"anum":"` + caller + `"}`
	for _, auth := range []func(*http.Request){nil, func(r *http.Request) { r.Header.Set("X-Benemen-APIKey", "guess") }} {
		known, unknown := e.post("/routing/contoso", body, auth), e.post("/routing/fabrikam", body, auth)
		if known.Code != http.StatusUnauthorized || known.Code != unknown.Code || known.Body.String() != unknown.Body.String() ||
			known.Header().Get("WWW-Authenticate") != unknown.Header().Get("WWW-Authenticate") {
			t.Errorf("known tenant %d %q, unknown tenant %d %q; want the same 401", known.Code, known.Body, unknown.Code, unknown.Body)
		}
	}
}
