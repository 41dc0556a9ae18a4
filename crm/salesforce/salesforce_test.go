package salesforce_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/phone"
)

const (
	testPassword = "hunter2-password"
	testSecToken = "SECTOKEN42"
)

func newOrg(t *testing.T, mod ...func(*salesforcetest.Config)) *salesforcetest.Server {
	t.Helper()
	cfg := salesforcetest.Config{ClientID: testClientID, ClientSecret: testClientSecret, Username: testUsername,
		Password: testPassword, SecurityToken: testSecToken}
	for _, m := range mod {
		m(&cfg)
	}
	srv := salesforcetest.NewServer(cfg)
	t.Cleanup(srv.Close)
	srv.DefineField("User", userField, salesforcetest.FieldString)
	return srv
}

func ccConfig(srv *salesforcetest.Server) salesforce.Config {
	return salesforce.Config{LoginURL: srv.URL, Grant: "client_credentials", ClientID: testClientID,
		ClientSecret: testClientSecret}
}

func newClient(t *testing.T, cfg salesforce.Config, opts salesforce.Options) *salesforce.Client {
	t.Helper()
	c, err := salesforce.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logBuffer is a goroutine-safe slog sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeKey(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "server.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// activity builds the i-th call of a test day.
func activity(i int, regarding *crm.Ref) crm.Activity {
	start := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC).Add(time.Duration(i) * 41 * time.Second)
	id := fmt.Sprintf("call-%05d", i)
	a := crm.Activity{
		Key: crm.Key("acme", crm.KindCall, id), Kind: crm.KindCall, EnreachID: id,
		Subject: "Incoming queue call", Description: "CallId " + id, Direction: crm.Inbound,
		Number: fmt.Sprintf("+3584011%05d", i), Start: start, End: start.Add(90 * time.Second),
		Duration: 90 * time.Second, Answered: i%5 != 0, Regarding: regarding,
	}
	if regarding != nil {
		a.Related = []crm.Ref{*regarding}
	}
	return a
}

func TestGrants(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile, otherFile := writeKey(t, key), writeKey(t, other)
	tests := []struct {
		name    string
		org     func(*salesforcetest.Config)
		cfg     func(srv *salesforcetest.Server) salesforce.Config
		now     func() time.Time
		wantErr string
		wantLog string
	}{
		{name: "client credentials", cfg: ccConfig},
		{name: "client credentials bad secret", cfg: func(srv *salesforcetest.Server) salesforce.Config {
			c := ccConfig(srv)
			c.ClientSecret = "wrong-secret"
			return c
		}, wantErr: "invalid_client"},
		{name: "jwt", org: func(c *salesforcetest.Config) { c.JWTPublicKey = &key.PublicKey },
			cfg: func(srv *salesforcetest.Server) salesforce.Config {
				return salesforce.Config{LoginURL: srv.URL, Grant: "jwt", ClientID: testClientID, Username: testUsername, PrivateKeyFile: keyFile}
			}},
		{name: "jwt unknown key", org: func(c *salesforcetest.Config) { c.JWTPublicKey = &key.PublicKey },
			cfg: func(srv *salesforcetest.Server) salesforce.Config {
				return salesforce.Config{LoginURL: srv.URL, Grant: "jwt", ClientID: testClientID, Username: testUsername, PrivateKeyFile: otherFile}
			}, wantErr: "invalid_grant"},
		{name: "jwt audience is the My Domain", org: func(c *salesforcetest.Config) {
			c.JWTPublicKey = &key.PublicKey
			c.JWTAudience = "https://login.salesforce.com"
		}, cfg: func(srv *salesforcetest.Server) salesforce.Config {
			return salesforce.Config{LoginURL: srv.URL, Grant: "jwt", ClientID: testClientID, Username: testUsername, PrivateKeyFile: keyFile}
		}, wantErr: "audience is invalid"},
		{name: "jwt clock behind (exp in the past)", org: func(c *salesforcetest.Config) { c.JWTPublicKey = &key.PublicKey },
			cfg: func(srv *salesforcetest.Server) salesforce.Config {
				return salesforce.Config{LoginURL: srv.URL, Grant: "jwt", ClientID: testClientID, Username: testUsername, PrivateKeyFile: keyFile}
			}, now: func() time.Time { return time.Now().Add(-10 * time.Minute) }, wantErr: "expired"},
		{name: "password and security token", cfg: func(srv *salesforcetest.Server) salesforce.Config {
			return salesforce.Config{LoginURL: srv.URL, Grant: "password", ClientID: testClientID, ClientSecret: testClientSecret,
				Username: testUsername, Password: testPassword, SecurityToken: testSecToken}
		}, wantLog: "level=WARN msg=\"salesforce: the username-password OAuth flow is deprecated and being retired"},
		{name: "password without security token", cfg: func(srv *salesforcetest.Server) salesforce.Config {
			return salesforce.Config{LoginURL: srv.URL, Grant: "password", ClientID: testClientID, ClientSecret: testClientSecret,
				Username: testUsername, Password: testPassword}
		}, wantErr: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var org []func(*salesforcetest.Config)
			if tt.org != nil {
				org = append(org, tt.org)
			}
			srv := newOrg(t, org...)
			alice := srv.AddUser("Alice", "alice@contoso.example", true, nil)
			logs := &logBuffer{}
			opts := testOptions()
			opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
			opts.Now = tt.now
			c := newClient(t, tt.cfg(srv), opts)
			got, err := c.Users(context.Background(), crm.UserMatch{By: "email"}, []crm.UserQuery{{EnreachUserID: "e1", Email: "alice@contoso.example"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got["e1"].ID != alice {
					t.Fatalf("Users = %v", got)
				}
				if n := srv.TokenRequests(); n != 1 {
					t.Errorf("%d token requests, want 1", n)
				}
				// The session is cached: no expires_in, no renewal.
				if _, err := c.Users(context.Background(), crm.UserMatch{By: "email"}, []crm.UserQuery{{EnreachUserID: "e1", Email: "alice@contoso.example"}}); err != nil {
					t.Fatal(err)
				}
				if n := srv.TokenRequests(); n != 1 {
					t.Errorf("%d token requests after a second call, want 1", n)
				}
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logs)
			}
			for _, s := range []string{testClientSecret, testPassword, testSecToken, "wrong-secret"} {
				if strings.Contains(logs.String(), s) || (err != nil && strings.Contains(err.Error(), s)) {
					t.Errorf("secret %q leaked:\n%s\n%v", s, logs, err)
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	good := salesforce.Config{LoginURL: "https://contoso.my.salesforce.com", ClientID: "id", ClientSecret: "s"}
	tests := []struct {
		name string
		mod  func(*salesforce.Config)
		want string
	}{
		{"no login url", func(c *salesforce.Config) { c.LoginURL = "" }, "login_url"},
		{"login url not a URL", func(c *salesforce.Config) { c.LoginURL = "contoso" }, "login_url"},
		{"unknown grant", func(c *salesforce.Config) { c.Grant = "implicit" }, "grant"},
		{"no client id", func(c *salesforce.Config) { c.ClientID = "" }, "client_id"},
		{"client credentials without secret", func(c *salesforce.Config) { c.ClientSecret = "" }, "client_secret"},
		{"jwt without key", func(c *salesforce.Config) { c.Grant = "jwt"; c.Username = "u" }, "private_key_file"},
		{"jwt key missing", func(c *salesforce.Config) { c.Grant = "jwt"; c.Username = "u"; c.PrivateKeyFile = "/nonexistent.key" }, "private_key_file"},
		{"password without password", func(c *salesforce.Config) { c.Grant = "password"; c.Username = "u" }, "password"},
		{"bad api version", func(c *salesforce.Config) { c.APIVersion = "latest" }, "api_version"},
		{"bad external id field", func(c *salesforce.Config) { c.ExternalIDField = "x; DROP" }, "field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			if _, err := salesforce.New(cfg, testOptions()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error about %s", err, tt.want)
			}
		})
	}
	if _, err := salesforce.New(good, testOptions()); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestSessionExpiresMidRun(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	ctx := context.Background()
	contact := srv.Add("Contact", map[string]any{"LastName": "Aalto", "Phone": "+358401100001"})
	acts := make([]crm.Activity, 1000)
	for i := range acts {
		acts[i] = activity(i, &crm.Ref{Entity: crm.Contact, ID: contact})
	}
	// The session dies after two of the five upsert requests.
	srv.ExpireSessionsAfter(2)
	res, err := c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created || r.ID == "" {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	if n := len(srv.Tasks()); n != 1000 {
		t.Fatalf("%d tasks, want 1000 (nothing lost, nothing doubled)", n)
	}
	if n := srv.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2 (one renewal)", n)
	}
	// Expired between runs: renewed on the next call.
	srv.ExpireSessions()
	got, err := c.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401100001", Forms: []string{"+358401100001"}}}})
	if err != nil || len(got["+358401100001"]) != 1 {
		t.Fatalf("Lookup after expiry: %v %v", got, err)
	}
	if n := srv.TokenRequests(); n != 3 {
		t.Errorf("%d token requests, want 3", n)
	}
	// A session refused right after renewal is a hard failure, not a loop.
	srv.Fail(salesforcetest.Fault{Status: 401, Times: 2})
	_, err = c.Users(ctx, crm.UserMatch{}, []crm.UserQuery{{EnreachUserID: "x", Email: "x@contoso.example"}})
	if err == nil || !strings.Contains(err.Error(), "INVALID_SESSION_ID") || !strings.Contains(err.Error(), "session refused") {
		t.Fatalf("second 401: %v", err)
	}
	if n := srv.TokenRequests(); n != 4 {
		t.Errorf("%d token requests, want 4 (renew once)", n)
	}
}

func TestRequestLimit(t *testing.T) {
	srv := newOrg(t)
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	opts := testOptions()
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	opts.LimitBackoff = 10 * time.Minute
	var seen []crm.Request
	opts.OnRequest = func(r crm.Request) { mu.Lock(); defer mu.Unlock(); seen = append(seen, r) }
	c := newClient(t, ccConfig(srv), opts)
	ctx := context.Background()

	srv.SetAPIUsage(500, 15000)
	if _, err := c.Users(ctx, crm.UserMatch{}, []crm.UserQuery{{EnreachUserID: "x", Email: "x@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	if u, ok := c.APIUsage(); !ok || u.Used != 501 || u.Max != 15000 || !u.At.Equal(now) {
		t.Errorf("APIUsage = %+v %v, want 501/15000", u, ok)
	}
	mu.Lock()
	if n := len(seen); n != srv.Requests() || seen[n-1].CRM != "salesforce" || seen[n-1].Status != http.StatusOK ||
		seen[n-1].Quota != (crm.Quota{Known: true, Remaining: 14499, Limit: 15000}) {
		t.Errorf("hook saw %+v; the org %d requests (token requests included)", seen, srv.Requests())
	}
	mu.Unlock()

	// Over the limit: a whole-batch error that says so, nothing written.
	srv.ExceedLimitNext(1)
	res, err := c.WriteActivities(ctx, []crm.Activity{activity(1, nil), activity(2, nil)})
	var le *salesforce.LimitError
	if !errors.Is(err, salesforce.ErrRequestLimit) || !errors.As(err, &le) || !strings.Contains(err.Error(), "REQUEST_LIMIT_EXCEEDED") ||
		!le.Until.Equal(now.Add(10*time.Minute)) || res != nil {
		t.Fatalf("write over the limit: %v %v", res, err)
	}
	if len(srv.Tasks()) != 0 {
		t.Fatal("wrote over the limit")
	}
	// Backing off: no request reaches the org until the pause ends.
	before := srv.Requests()
	for range 3 {
		if _, err := c.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401100001", Forms: []string{"+358401100001"}}}}); !errors.Is(err, salesforce.ErrRequestLimit) {
			t.Fatalf("during the pause: %v", err)
		}
	}
	if n := srv.Requests() - before; n != 0 {
		t.Errorf("%d requests during the pause, want 0", n)
	}
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	res, err = c.WriteActivities(ctx, []crm.Activity{activity(1, nil), activity(2, nil)})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("after the pause: %v %v", res, err)
	}

	// A subrequest of a composite batch over the limit stops the lookup too.
	var numbers []crm.NumberQuery
	for i := range 300 {
		n := fmt.Sprintf("+3584012%05d", i)
		numbers = append(numbers, crm.NumberQuery{Number: n, Forms: []string{n, "0" + n[4:]}})
	}
	srv.ExceedLimitNext(1)
	if _, err := c.Lookup(ctx, crm.LookupRequest{Numbers: numbers}); !errors.Is(err, salesforce.ErrRequestLimit) {
		t.Fatalf("limit inside a batch: %v", err)
	}
	// The daily limit itself.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	srv.SetAPIUsage(15000, 15000)
	if _, err := c.FindActivities(ctx, []crm.ActivityQuery{{Number: "+358401100001", From: now, To: now}}); !errors.Is(err, salesforce.ErrRequestLimit) {
		t.Fatalf("daily limit reached: %v", err)
	}
}

// forms returns the query for an E.164 number as the engine builds it.
func forms(t *testing.T, e164 string) crm.NumberQuery {
	t.Helper()
	n, ok := phone.Normalize(e164, "FI")
	if !ok {
		t.Fatalf("%s does not parse", e164)
	}
	return crm.NumberQuery{Number: e164, Forms: phone.Forms(n)}
}

// fiForms builds the common forms of a Finnish mobile number +35840xxxxxxx
// without libphonenumber (fast enough for thousands of numbers under -race).
func fiForms(e164 string) crm.NumberQuery {
	nat := "0" + e164[4:]
	return crm.NumberQuery{Number: e164, Forms: []string{
		e164, "+358 " + nat[1:3] + " " + nat[3:], nat[:3] + " " + nat[3:], nat, e164[1:], "00" + e164[1:],
		"+358-" + nat[1:3] + "-" + nat[3:], nat[:3] + "-" + nat[3:],
	}}
}

// searches returns the FIND texts sent so far (plain and batched).
func searches(t *testing.T, srv *salesforcetest.Server) (finds []string, batches int) {
	t.Helper()
	for _, r := range srv.Log() {
		var urls []string
		switch {
		case strings.HasSuffix(r.Path, "/search") || strings.HasSuffix(r.Path, "/search/"):
			urls = []string{"GET x?" + r.Query}
		case strings.HasSuffix(r.Path, "/composite/batch"):
			batches++
			if len(r.Batch) > 25 {
				t.Errorf("batch of %d subrequests", len(r.Batch))
			}
			urls = r.Batch
		}
		for _, u := range urls {
			_, q, _ := strings.Cut(u, "?")
			v, _ := url.ParseQuery(q)
			if s := v.Get("q"); strings.HasPrefix(s, "FIND") {
				finds = append(finds, s)
			}
		}
	}
	return finds, batches
}

func TestLookupManyNumbers(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	// 1,000 callers stored in assorted formats over the phone fields.
	var req crm.LookupRequest
	want := map[string]string{}
	fields := salesforce.DefaultPhoneFields()
	for i := range 1000 {
		e164 := fmt.Sprintf("+3584012%05d", i)
		q := fiForms(e164)
		req.Numbers = append(req.Numbers, q)
		stored := q.Forms[i%len(q.Forms)]
		e := crm.Entities[i%3]
		f := fields[e][i%len(fields[e])]
		obj := map[crm.Entity]string{crm.Contact: "Contact", crm.Account: "Account", crm.Lead: "Lead"}[e]
		want[e164] = srv.Add(obj, map[string]any{"Name": fmt.Sprint("N", i), "LastName": fmt.Sprint("N", i), "Company": "C", f: stored})
	}
	before := srv.Requests()
	res, err := c.Lookup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	n := srv.Requests() - before
	for e164, id := range want {
		if got := res[e164]; len(got) != 1 || got[0].ID != id {
			t.Errorf("%s: got %v, want only %s", e164, got, id)
		}
	}
	finds, batches := searches(t, srv)
	for _, f := range finds {
		body := f[strings.Index(f, "{")+1 : strings.Index(f, "}")]
		if len(body) >= 4000 {
			t.Errorf("search text of %d characters (limit 4,000)", len(body))
		}
	}
	t.Logf("1,000 numbers: %d SOSL searches in %d composite batches, %d HTTP requests (token included)", len(finds), batches, n)
	if n > 4 {
		t.Errorf("lookup of 1,000 numbers made %d requests, want <= 4", n)
	}
}

func TestLookupSplitsCappedSearch(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	// 40 numbers x 51 records: one search would return the first 2,000 only.
	var req crm.LookupRequest
	for i := range 40 {
		e164 := fmt.Sprintf("+3584013%05d", i)
		req.Numbers = append(req.Numbers, crm.NumberQuery{Number: e164, Forms: []string{e164}})
		for j := range 51 {
			srv.Add("Lead", map[string]any{"LastName": fmt.Sprint(i, "-", j), "Company": "C", "Phone": e164})
		}
	}
	res, err := c.Lookup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range req.Numbers {
		if len(res[q.Number]) != 51 {
			t.Errorf("%s: %d records, want 51", q.Number, len(res[q.Number]))
		}
	}
	if finds, _ := searches(t, srv); len(finds) != 3 {
		t.Errorf("%d searches, want 3 (one capped, then two halves)", len(finds))
	}
}

func TestLookupAttribution(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	trunk := srv.Add("Contact", map[string]any{"LastName": "Trunk", "Phone": "+358 (0)40 110 0077"})
	both := srv.Add("Contact", map[string]any{"LastName": "Both", "Phone": "040 110 0078", "MobilePhone": "+358-40-110-0079"})
	swede := srv.Add("Account", map[string]any{"Name": "Swede", "Phone": "+46 40 110 0077"})
	local := srv.Add("Lead", map[string]any{"LastName": "Local", "Company": "L", "Phone": "401100080"})
	res, err := c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{
		forms(t, "+358401100077"), forms(t, "+358401100078"), forms(t, "+358401100079"),
		{Number: "+358401100080", Suffix: phone.Cut("+358401100080", 4)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(number string, ids ...string) {
		t.Helper()
		var got []string
		for _, r := range res[number] {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s: %v, want %v", number, got, ids)
		}
	}
	check("+358401100077", trunk)
	check("+358401100078", both)
	check("+358401100079", both)
	check("+358401100080", local)
	for _, r := range res["+358401100078"] {
		if r.Phones["Phone"] != "040 110 0078" || r.Phones["MobilePhone"] != "+358-40-110-0079" || len(r.Phones) != 2 {
			t.Errorf("phones %v, want the raw stored values", r.Phones)
		}
	}
	_ = swede
}

func TestWriteOneThousandCalls(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	ctx := context.Background()
	agent := srv.AddUser("Agent", "agent@contoso.example", true, nil)
	var customers []*crm.Ref
	for i := range 50 {
		id := srv.Add("Contact", map[string]any{"LastName": fmt.Sprint("C", i), "Phone": fmt.Sprintf("+3584011%05d", i)})
		customers = append(customers, &crm.Ref{Entity: crm.Contact, ID: id})
	}
	acts := make([]crm.Activity, 1000)
	var finds []crm.ActivityQuery
	for i := range acts {
		acts[i] = activity(i, customers[i%len(customers)])
		acts[i].OwnerID = agent
		finds = append(finds, crm.ActivityQuery{Number: acts[i].Number, From: acts[i].Start.Add(-time.Minute), To: acts[i].Start.Add(time.Minute)})
	}
	count := func(step string, f func() error) int {
		t.Helper()
		before := srv.Requests()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return srv.Requests() - before
	}
	var total int
	total += count("users", func() error {
		_, err := c.Users(ctx, crm.UserMatch{By: "email"}, []crm.UserQuery{{EnreachUserID: "a", Email: "agent@contoso.example"}})
		return err
	})
	var calls []crm.NumberQuery
	for i := range 1000 {
		calls = append(calls, fiForms(acts[i].Number))
	}
	lookup := count("lookup", func() error { _, err := c.Lookup(ctx, crm.LookupRequest{Numbers: calls}); return err })
	find := count("find", func() error { _, err := c.FindActivities(ctx, finds); return err })
	var res []crm.WriteResult
	write := count("write", func() (err error) { res, err = c.WriteActivities(ctx, acts); return err })
	total += lookup + find + write
	for i, r := range res {
		if r.Status != crm.Created {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	t.Logf("1,000 calls: lookup %d, find %d, write %d requests; %d in all (token included)", lookup, find, write, total)
	if total > 24 {
		t.Errorf("1,000 calls took %d requests, want at most two dozen", total)
	}
	if write > 5 {
		t.Errorf("writing 1,000 took %d requests, want 5 (200 per request)", write)
	}
	// Replay the whole day: every item Existed with the same id, no duplicate.
	var again []crm.WriteResult
	replay := count("replay", func() (err error) { again, err = c.WriteActivities(ctx, acts); return err })
	for i, r := range again {
		if r.Status != crm.Existed || r.ID != res[i].ID {
			t.Fatalf("replay item %d: %+v, want Existed %s", i, r, res[i].ID)
		}
	}
	if n := len(srv.Tasks()); n != 1000 {
		t.Errorf("%d tasks after the replay, want 1000", n)
	}
	t.Logf("replay of 1,000: %d requests", replay)
	if replay > 7 {
		t.Errorf("replay took %d requests, want <= 7", replay)
	}
	// What the Task holds.
	task, _ := srv.Get(res[5].ID)
	wantFields := map[string]string{
		"Subject": "Incoming queue call", "Status": "Completed", "TaskSubtype": "Call", "CallType": "Inbound",
		"CallDisposition": "Not answered", "CallObject": "call-00005", "WhoId": customers[5].ID, "OwnerId": agent,
		"ActivityDate": "2026-03-02", "Description": "CallId call-00005", "Enreach_Number__c": "+358401100005",
		"Enreach_Call_Id__c": crm.Key("acme", crm.KindCall, "call-00005"),
	}
	for f, v := range wantFields {
		if got := task.String(f); got != v {
			t.Errorf("Task.%s = %q, want %q", f, got, v)
		}
	}
	if task.Int("CallDurationInSeconds") != 90 || !task.Time("Enreach_Call_Start__c").Equal(acts[5].Start) || task.String("WhatId") != "" {
		t.Errorf("Task %v", task)
	}
}

func TestReplayKeepsAgentEdits(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	ctx := context.Background()
	queue := srv.AddQueue("Callbacks")
	due := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	cb := crm.Activity{Key: crm.Key("acme", crm.KindCallback, "cb-1"), Kind: crm.KindCallback, EnreachID: "cb-1",
		Subject: "Callback request", Direction: crm.Inbound, Number: "+358401100001",
		Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Open: true, Due: &due, OwnerID: queue}
	res, err := c.WriteActivities(ctx, []crm.Activity{cb})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("write: %v %v", res, err)
	}
	task, _ := srv.Get(res[0].ID)
	if task.String("Status") != "Not Started" || task.String("ActivityDate") != "2026-03-04" || task.String("OwnerId") != queue ||
		task.String("CallDisposition") != "" {
		t.Fatalf("callback task %v", task)
	}
	srv.Update(res[0].ID, map[string]any{"Status": "Completed", "Subject": "Called back, sold two"})
	res, err = c.WriteActivities(ctx, []crm.Activity{cb, cb})
	if err != nil || res[0].Status != crm.Existed || res[1].Status != crm.Existed || res[1].ID != res[0].ID {
		t.Fatalf("replay: %v %v", res, err)
	}
	task, _ = srv.Get(res[0].ID)
	if task.String("Status") != "Completed" || task.String("Subject") != "Called back, sold two" {
		t.Errorf("replay overwrote the agent's edits: %v", task)
	}
	if n := len(srv.Tasks()); n != 1 {
		t.Errorf("%d tasks", n)
	}
}

func TestTaskSubtypeRefusedOnCreate(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.TaskSubtypeNotCreateable = true })
	logs := &logBuffer{}
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c := newClient(t, ccConfig(srv), opts)
	ctx := context.Background()
	acts := make([]crm.Activity, 300)
	for i := range acts {
		acts[i] = activity(i, nil)
	}
	res, err := c.WriteActivities(ctx, acts[:250])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	for _, task := range srv.Tasks() {
		if task.String("Subject") == "" || task.String("TaskSubtype") != "" {
			t.Fatalf("task %v: blank, or TaskSubtype set", task)
		}
	}
	if !strings.Contains(logs.String(), "refuses TaskSubtype") {
		t.Errorf("no warning about TaskSubtype:\n%s", logs)
	}
	// Later batches skip TaskSubtype and still never duplicate.
	res, err = c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		want := crm.Existed
		if i >= 250 {
			want = crm.Created
		}
		if r.Status != want {
			t.Fatalf("item %d: %+v, want %s", i, r, want)
		}
	}
	if n := len(srv.Tasks()); n != 300 {
		t.Errorf("%d tasks, want 300", n)
	}
	found, err := c.FindActivities(ctx, []crm.ActivityQuery{{Number: acts[3].Number, From: acts[3].Start, To: acts[3].Start}})
	if err != nil || len(found) != 1 || found[0].ID != res[3].ID {
		t.Errorf("FindActivities without TaskSubtype: %v %v", found, err)
	}
}

func TestDuplicateExternalIDFails(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	a := activity(7, nil)
	srv.Add("Task", map[string]any{"Enreach_Call_Id__c": a.Key, "Subject": "one"})
	srv.Add("Task", map[string]any{"Enreach_Call_Id__c": a.Key, "Subject": "two"})
	res, err := c.WriteActivities(context.Background(), []crm.Activity{a, activity(8, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != crm.Failed || !errors.Is(res[0].Err, crm.ErrPermanent) || !strings.Contains(res[0].Err.Error(), "DUPLICATE_EXTERNAL_ID") {
		t.Errorf("item on two tasks: %+v", res[0])
	}
	if res[1].Status != crm.Created {
		t.Errorf("other item: %+v", res[1])
	}
	if n := len(srv.Tasks()); n != 3 {
		t.Errorf("%d tasks, want 3", n)
	}
}

func TestWriteAdaptsToAMissingNumberField(t *testing.T) {
	// A configured number field the org does not have: the upsert is
	// refused as a whole with INVALID_FIELD, the client describes the Task
	// and writes without the number and start fields.
	srv := newOrg(t)
	cfg := ccConfig(srv)
	cfg.NumberField = "Missing_Number__c"
	c := newClient(t, cfg, testOptions())
	res, err := c.WriteActivities(context.Background(), []crm.Activity{activity(1, nil)})
	if err != nil || len(res) != 1 || res[0].Status != crm.Created {
		t.Fatalf("write: %v %v", res, err)
	}
	tasks := srv.Tasks()
	if len(tasks) != 1 || tasks[0].String("Enreach_Call_Start__c") != "" {
		t.Fatalf("tasks: %v", tasks)
	}
	before := srv.Requests()
	if res, err := c.WriteActivities(context.Background(), []crm.Activity{activity(2, nil)}); err != nil || res[0].Status != crm.Created {
		t.Fatalf("second write: %v %v", res, err)
	}
	if n := srv.Requests() - before; n != 1 {
		t.Errorf("second write took %d requests, want 1 (no refused upsert, no describe)", n)
	}
}

func TestWriteRetries5xx(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	if _, err := c.Users(context.Background(), crm.UserMatch{}, []crm.UserQuery{{EnreachUserID: "x", Email: "x@y"}}); err != nil {
		t.Fatal(err)
	}
	srv.Fail(salesforcetest.Fault{Status: 503, Times: 2})
	res, err := c.WriteActivities(context.Background(), []crm.Activity{activity(1, nil), activity(2, nil)})
	if err != nil || res[0].Status != crm.Created || res[1].Status != crm.Created {
		t.Fatalf("%v %v", res, err)
	}
	if n := len(srv.Tasks()); n != 2 {
		t.Errorf("%d tasks", n)
	}
}

func TestUsers(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	var qs []crm.UserQuery
	want := map[string]string{}
	for i := range 450 {
		email := fmt.Sprintf("agent.%03d@contoso.example", i)
		id := srv.AddUser(fmt.Sprint("Agent ", i), email, i%10 != 0, map[string]any{userField: fmt.Sprint("e-", i)})
		qs = append(qs, crm.UserQuery{EnreachUserID: fmt.Sprint("e-", i), Email: strings.ToUpper(email)})
		if i%10 != 0 {
			want[fmt.Sprint("e-", i)] = id
		}
	}
	for _, match := range []crm.UserMatch{{By: "email"}, {By: "field", Field: userField}} {
		before := srv.Requests()
		got, err := c.Users(context.Background(), match, qs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d users, want %d", match.By, len(got), len(want))
		}
		for k, id := range want {
			if got[k].ID != id {
				t.Errorf("%s: %s = %+v, want %s", match.By, k, got[k], id)
			}
		}
		if n := srv.Requests() - before; n > 2 {
			t.Errorf("%s: %d requests for 450 users", match.By, n)
		}
	}
	if _, err := c.Users(context.Background(), crm.UserMatch{By: "field", Field: "Nope__c"}, qs[:1]); err == nil || !strings.Contains(err.Error(), "INVALID_FIELD") {
		t.Errorf("unknown user field: %v", err)
	}
}

func TestFindActivitiesPages(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.QueryPageSize = 50 })
	c := newClient(t, ccConfig(srv), testOptions())
	acts := make([]crm.Activity, 120)
	for i := range acts {
		acts[i] = activity(i, nil)
		acts[i].Number = "+358401100001"
	}
	if _, err := c.WriteActivities(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	found, err := c.FindActivities(context.Background(), []crm.ActivityQuery{
		{Number: "+358401100001", From: acts[0].Start, To: acts[119].Start},
		{Number: "+358401100001", From: acts[10].Start, To: acts[20].Start}, // overlaps: no duplicates
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 120 {
		t.Errorf("found %d, want 120", len(found))
	}
	if n := srv.Requests() - before; n != 3 {
		t.Errorf("%d requests, want 3 (a query and two more pages)", n)
	}
}

func TestCloseByKey(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	ctx := context.Background()
	cb := activity(1, nil)
	cb.Kind, cb.Open = crm.KindCallback, true
	cb.Key = crm.Key("acme", crm.KindCallback, "cb-1")
	res, err := c.WriteActivities(ctx, []crm.Activity{cb})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []crm.CloseRequest{{Key: cb.Key}, {Key: crm.Key("acme", crm.KindCallback, "never")}}
	got, err := c.CloseActivities(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != crm.Created || got[0].ID != res[0].ID || got[1].Status != crm.Failed || !errors.Is(got[1].Err, crm.ErrPermanent) {
		t.Fatalf("close by key: %+v", got)
	}
	if task, _ := srv.Get(res[0].ID); task.String("Status") != "Completed" {
		t.Errorf("task %v", task)
	}
	got, err = c.CloseActivities(ctx, reqs[:1])
	if err != nil || got[0].Status != crm.Existed {
		t.Errorf("closing twice: %+v %v", got, err)
	}
}
