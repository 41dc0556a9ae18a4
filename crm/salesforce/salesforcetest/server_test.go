package salesforcetest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

const (
	clientID = "3MVG9.key"
	secret   = "s3cret"
	username = "integration@contoso.example"
	password = "pass"
	secToken = "TOKEN123"
	v        = "/services/data/v62.0"
)

func newOrg(t *testing.T, mod ...func(*salesforcetest.Config)) *salesforcetest.Server {
	t.Helper()
	cfg := salesforcetest.Config{ClientID: clientID, ClientSecret: secret, Username: username,
		Password: password, SecurityToken: secToken}
	for _, m := range mod {
		m(&cfg)
	}
	srv := salesforcetest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

func postToken(t *testing.T, srv *salesforcetest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func session(t *testing.T, srv *salesforcetest.Server) string {
	t.Helper()
	status, m := postToken(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if status != 200 {
		t.Fatalf("token: %d %v", status, m)
	}
	return m["access_token"].(string)
}

func call(t *testing.T, srv *salesforcetest.Server, tok, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var errs []struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(body, &errs); err != nil || len(errs) == 0 {
		t.Fatalf("not a Salesforce error array: %s", body)
	}
	return errs[0].ErrorCode
}

func TestTokenGrants(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := newOrg(t, func(c *salesforcetest.Config) { c.JWTPublicKey = &key.PublicKey })
	assertion := func(k *rsa.PrivateKey, mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"iss": clientID, "sub": username, "aud": srv.URL, "exp": time.Now().Add(2 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	jwtForm := func(a string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}
	}
	tests := []struct {
		name      string
		form      url.Values
		wantError string
	}{
		{"client credentials", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}, ""},
		{"client credentials bad secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {"x"}}, "invalid_client"},
		{"client credentials unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {secret}}, "invalid_client_id"},
		{"password with token", url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {secret},
			"username": {username}, "password": {password + secToken}}, ""},
		{"password without token", url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {secret},
			"username": {username}, "password": {password}}, "invalid_grant"},
		{"jwt", jwtForm(assertion(key, nil)), ""},
		{"jwt other key", jwtForm(assertion(other, nil)), "invalid_grant"},
		{"jwt wrong audience", jwtForm(assertion(key, func(c jwt.MapClaims) { c["aud"] = "https://login.salesforce.com" })), "invalid_grant"},
		{"jwt wrong issuer", jwtForm(assertion(key, func(c jwt.MapClaims) { c["iss"] = "other" })), "invalid_client_id"},
		{"jwt wrong subject", jwtForm(assertion(key, func(c jwt.MapClaims) { c["sub"] = "other@x" })), "invalid_grant"},
		{"jwt expired", jwtForm(assertion(key, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), "invalid_grant"},
		{"jwt exp over 3 minutes", jwtForm(assertion(key, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(10 * time.Minute).Unix() })), "invalid_grant"},
		{"jwt audience as an array", jwtForm(assertion(key, func(c jwt.MapClaims) { c["aud"] = []string{srv.URL} })), "invalid_grant"},
		{"jwt without exp", jwtForm(assertion(key, func(c jwt.MapClaims) { delete(c, "exp") })), "invalid_grant"},
		{"unknown grant", url.Values{"grant_type": {"authorization_code"}}, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := postToken(t, srv, tt.form)
			if tt.wantError != "" {
				if status != 400 || m["error"] != tt.wantError {
					t.Fatalf("got %d %v, want 400 %s", status, m, tt.wantError)
				}
				return
			}
			if status != 200 {
				t.Fatalf("got %d %v", status, m)
			}
			if m["instance_url"] != srv.URL || m["token_type"] != "Bearer" || m["access_token"] == "" {
				t.Errorf("token answer %v", m)
			}
			if _, ok := m["expires_in"]; ok {
				t.Errorf("Salesforce sends no expires_in: %v", m)
			}
			if _, ok := m["refresh_token"]; ok {
				t.Errorf("no refresh token for these grants: %v", m)
			}
		})
	}
	// Credentials in a Basic header instead of the form are refused.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/services/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("basic auth: %d, want 400", resp.StatusCode)
	}
	if n := srv.TokenRequests(); n != len(tests)+1 {
		t.Errorf("TokenRequests = %d, want %d", n, len(tests)+1)
	}
}

func TestSessionsAndLimits(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	status, h, body := call(t, srv, tok, "GET", v+"/limits", nil)
	if status != 200 || h.Get("Sforce-Limit-Info") != "api-usage=1/100000" {
		t.Fatalf("limits: %d %q %s", status, h.Get("Sforce-Limit-Info"), body)
	}
	status, _, body = call(t, srv, "bogus", "GET", v+"/limits", nil)
	if status != 401 || errorCode(t, body) != "INVALID_SESSION_ID" {
		t.Fatalf("bad token: %d %s", status, body)
	}
	srv.ExpireSessionsAfter(1)
	if status, _, _ = call(t, srv, tok, "GET", v+"/limits", nil); status != 200 {
		t.Fatalf("request before expiry: %d", status)
	}
	status, _, body = call(t, srv, tok, "GET", v+"/limits", nil)
	if status != 401 || !strings.Contains(string(body), "Session expired or invalid") {
		t.Fatalf("after expiry: %d %s", status, body)
	}
	tok = session(t, srv)
	srv.ExceedLimitNext(1)
	status, h, body = call(t, srv, tok, "GET", v+"/limits", nil)
	if status != 403 || errorCode(t, body) != "REQUEST_LIMIT_EXCEEDED" || h.Get("Sforce-Limit-Info") == "" {
		t.Fatalf("exceeded: %d %s", status, body)
	}
	srv.SetAPIUsage(10, 10)
	if status, _, _ = call(t, srv, tok, "GET", v+"/limits", nil); status != 403 {
		t.Fatalf("at the daily limit: %d", status)
	}
	srv.SetAPIUsage(10, 20)
	if status, h, _ = call(t, srv, tok, "GET", v+"/limits", nil); status != 200 || h.Get("Sforce-Limit-Info") != "api-usage=11/20" {
		t.Fatalf("below the limit: %d %q", status, h.Get("Sforce-Limit-Info"))
	}
	srv.Fail(salesforcetest.Fault{Status: 503, RetryAfter: time.Second})
	status, h, _ = call(t, srv, tok, "GET", v+"/limits", nil)
	if status != 503 || h.Get("Retry-After") != "1" {
		t.Fatalf("injected 503: %d %q", status, h.Get("Retry-After"))
	}
}

func search(t *testing.T, srv *salesforcetest.Server, tok, q string) (int, []map[string]any, []byte) {
	t.Helper()
	status, _, body := call(t, srv, tok, "GET", v+"/search/?q="+url.QueryEscape(q), nil)
	var ans struct {
		SearchRecords []map[string]any `json:"searchRecords"`
	}
	if status == 200 {
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatal(err)
		}
	}
	return status, ans.SearchRecords, body
}

func TestSOSL(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	c1 := srv.Add("Contact", map[string]any{"LastName": "Aalto", "Phone": "+358 40 100 0001"})
	c2 := srv.Add("Contact", map[string]any{"LastName": "Berg", "MobilePhone": "040-1000002"})
	a1 := srv.Add("Account", map[string]any{"Name": "Corp", "Phone": "(0)40 1000003"})
	srv.Add("Lead", map[string]any{"LastName": "Other", "Company": "X", "Phone": "+46 40 100 0001"})
	ret := " IN PHONE FIELDS RETURNING Contact(Id,Name,Phone,MobilePhone),Account(Id,Name,Phone),Lead(Id,Phone)"
	ids := func(recs []map[string]any) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r["Id"].(string))
		}
		return out
	}
	tests := []struct {
		name   string
		q      string
		status int
		want   []string
		code   string
	}{
		{"digits of E.164", "FIND {358401000001}" + ret, 200, []string{c1}, ""},
		{"OR terms across objects", "FIND {358401000001 OR 0401000002 OR 401000003}" + ret, 200, []string{c1, c2, a1}, ""},
		{"escaped plus and dash", `FIND {\+358\-40\-100\-0001}` + ret, 200, []string{c1}, ""},
		{"unescaped plus", "FIND {+358401000001}" + ret, 400, nil, "MALFORMED_SEARCH"},
		{"unescaped paren", "FIND {(0)401000003}" + ret, 400, nil, "MALFORMED_SEARCH"},
		{"implicit AND", "FIND {358401000001 0401000002}" + ret, 200, nil, ""},
		{"no match", "FIND {0409999999}" + ret, 200, nil, ""},
		{"one-character term", "FIND {5}" + ret, 400, nil, "MALFORMED_SEARCH"},
		{"unknown field", "FIND {0401000002} IN PHONE FIELDS RETURNING Contact(Id,Bogus__c)", 400, nil, "INVALID_FIELD"},
		{"unknown object", "FIND {0401000002} IN PHONE FIELDS RETURNING Widget(Id)", 400, nil, "INVALID_TYPE"},
		{"no braces", "FIND 0401000002" + ret, 400, nil, "MALFORMED_SEARCH"},
		{"limit", "FIND {358401000001 OR 0401000002}" + ret + " LIMIT 1", 200, []string{c1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, recs, body := search(t, srv, tok, tt.q)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != "" {
				if got := errorCode(t, body); got != tt.code {
					t.Fatalf("error %s, want %s", got, tt.code)
				}
				return
			}
			if got := ids(recs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("ids %v, want %v", got, tt.want)
			}
		})
	}
	// Shape: attributes first, requested fields, raw stored values.
	_, recs, _ := search(t, srv, tok, "FIND {0401000002}"+ret)
	if len(recs) != 1 || recs[0]["MobilePhone"] != "040-1000002" || recs[0]["Phone"] != nil {
		t.Fatalf("record %v", recs)
	}
	attrs := recs[0]["attributes"].(map[string]any)
	if attrs["type"] != "Contact" || !strings.HasSuffix(attrs["url"].(string), "/sobjects/Contact/"+c2) {
		t.Errorf("attributes %v", attrs)
	}
	// Over 4,000 characters the ORs are dropped (terms ANDed): nothing matches.
	long := []string{"358401000001"}
	for len(strings.Join(long, " OR ")) <= 4000 {
		long = append(long, fmt.Sprintf("0501%06d", len(long)))
	}
	if status, recs, _ := search(t, srv, tok, "FIND {"+strings.Join(long, " OR ")+"}"+ret); status != 200 || len(recs) != 0 {
		t.Errorf("search text over 4,000 characters: %d, %d records, want the ORs dropped", status, len(recs))
	}
	if status, recs, _ := search(t, srv, tok, "FIND {"+strings.Join(long[:len(long)-1], " OR ")+"}"+ret); status != 200 || len(recs) != 1 {
		t.Errorf("search text under 4,000 characters: %d, %d records, want 1", status, len(recs))
	}
	// The 2,000-record cap.
	for i := range 2001 {
		srv.Add("Lead", map[string]any{"LastName": fmt.Sprint(i), "Company": "Y", "Phone": "0501234567"})
	}
	if _, recs, _ := search(t, srv, tok, "FIND {0501234567}"+ret); len(recs) != 2000 {
		t.Errorf("capped search returned %d, want 2000", len(recs))
	}
}

func query(t *testing.T, srv *salesforcetest.Server, tok, q string) (int, map[string]any, []byte) {
	t.Helper()
	status, _, body := call(t, srv, tok, "GET", v+"/query/?q="+url.QueryEscape(q), nil)
	var ans map[string]any
	if status == 200 {
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatal(err)
		}
	}
	return status, ans, body
}

func TestSOQL(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.QueryPageSize = 3 })
	tok := session(t, srv)
	srv.DefineField("User", "Enreach_User_Id__c", salesforcetest.FieldString)
	alice := srv.AddUser("Alice", "Alice@Contoso.example", true, map[string]any{"Enreach_User_Id__c": "e-1"})
	srv.AddUser("Bob", "bob@contoso.example", false, map[string]any{"Enreach_User_Id__c": "e-2"})
	start := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	var tasks []string
	for i := range 7 {
		tasks = append(tasks, srv.Add("Task", map[string]any{"Subject": fmt.Sprint("t", i), "TaskSubtype": "Call",
			"Enreach_Number__c": "+358401000001", "Enreach_Call_Start__c": start.Add(time.Duration(i) * time.Hour),
			"ActivityDate": start, "Description": "long"}))
	}
	tests := []struct {
		name  string
		q     string
		total int
		code  string
	}{
		{"email IN, case-insensitive", "SELECT Id, Name, Email FROM User WHERE IsActive = true AND Email IN ('alice@contoso.example','bob@contoso.example')", 1, ""},
		{"custom field", "SELECT Id FROM User WHERE Enreach_User_Id__c IN ('e-1','e-2') AND IsActive = true", 1, ""},
		{"escaped quote", `SELECT Id FROM User WHERE Email = 'o\'brien@x'`, 0, ""},
		{"datetime range", "SELECT Id, Enreach_Call_Start__c FROM Task WHERE TaskSubtype = 'Call' AND Enreach_Number__c IN ('+358401000001') AND Enreach_Call_Start__c >= 2026-01-02T11:00:00Z AND Enreach_Call_Start__c <= 2026-01-02T13:00:00Z", 3, ""},
		{"date", "SELECT Id FROM Task WHERE ActivityDate = 2026-01-02", 7, ""},
		{"quoted dateTime", "SELECT Id FROM Task WHERE Enreach_Call_Start__c >= '2026-01-02T11:00:00Z'", 0, "INVALID_FIELD"},
		{"unquoted string", "SELECT Id FROM Task WHERE Subject = t1", 0, "INVALID_FIELD"},
		{"long text area filter", "SELECT Id FROM Task WHERE Description = 'long'", 0, "INVALID_FIELD"},
		{"unknown column", "SELECT Id, Nope__c FROM Task", 0, "INVALID_FIELD"},
		{"unknown object", "SELECT Id FROM Widget", 0, "INVALID_TYPE"},
		{"not a query", "SELEC Id FROM Task", 0, "MALFORMED_QUERY"},
		{"id IN", fmt.Sprintf("SELECT Id FROM Task WHERE Id IN ('%s','%s')", tasks[0], alice), 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ans, body := query(t, srv, tok, tt.q)
			if tt.code != "" {
				if status != 400 || errorCode(t, body) != tt.code {
					t.Fatalf("%d %s, want 400 %s", status, body, tt.code)
				}
				return
			}
			if status != 200 || int(ans["totalSize"].(float64)) != tt.total {
				t.Fatalf("%d %s, want totalSize %d", status, body, tt.total)
			}
		})
	}
	// Paging: 7 records, pages of 3.
	_, ans, _ := query(t, srv, tok, "SELECT Id FROM Task ORDER BY Enreach_Call_Start__c DESC")
	var got []string
	for {
		for _, r := range ans["records"].([]any) {
			got = append(got, r.(map[string]any)["Id"].(string))
		}
		if ans["done"].(bool) {
			break
		}
		status, _, body := call(t, srv, tok, "GET", ans["nextRecordsUrl"].(string), nil)
		if status != 200 {
			t.Fatalf("next page: %d %s", status, body)
		}
		ans = nil
		_ = json.Unmarshal(body, &ans)
	}
	if len(got) != 7 || got[0] != tasks[6] || got[6] != tasks[0] {
		t.Errorf("paged ids %v", got)
	}
	// dateTime values come back in Salesforce's format.
	_, ans, _ = query(t, srv, tok, "SELECT Enreach_Call_Start__c FROM Task WHERE Subject = 'T0'")
	if r := ans["records"].([]any)[0].(map[string]any); r["Enreach_Call_Start__c"] != "2026-01-02T10:00:00.000+0000" {
		t.Errorf("dateTime rendered %v", r["Enreach_Call_Start__c"])
	}
}

type result struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created bool   `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func upsert(t *testing.T, srv *salesforcetest.Server, tok string, allOrNone bool, recs ...map[string]any) (int, []result, []byte) {
	t.Helper()
	for _, r := range recs {
		r["attributes"] = map[string]string{"type": "Task"}
	}
	status, _, body := call(t, srv, tok, "PATCH", v+"/composite/sobjects/Task/Enreach_Call_Id__c",
		map[string]any{"allOrNone": allOrNone, "records": recs})
	var res []result
	if status == 200 {
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
	}
	return status, res, body
}

func TestCollections(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	contact := srv.Add("Contact", map[string]any{"LastName": "C", "AccountId": srv.Add("Account", map[string]any{"Name": "A"})})
	lead := srv.Add("Lead", map[string]any{"LastName": "L", "Company": "X"})
	account := srv.Add("Account", map[string]any{"Name": "B"})
	inactive := srv.AddUser("Gone", "gone@x", false, nil)
	queue := srv.AddQueue("Callbacks")
	task := func(ext string) map[string]any {
		return map[string]any{"Enreach_Call_Id__c": ext, "Subject": "Call", "TaskSubtype": "Call", "Status": "Completed",
			"CallType": "Inbound", "CallDurationInSeconds": 42, "ActivityDate": "2026-01-02", "WhoId": contact,
			"Enreach_Call_Start__c": "2026-01-02T10:00:00.250Z"}
	}

	status, res, body := upsert(t, srv, tok, false, task("k1"), task("k2"))
	if status != 200 || len(res) != 2 || !res[0].Success || !res[0].Created || !res[1].Created {
		t.Fatalf("create: %d %s", status, body)
	}
	created, _ := srv.Get(res[0].ID)
	if created.String("AccountId") == "" || !created.Bool("IsClosed") || created.String("OwnerId") != srv.RunAsUserID() ||
		created.Time("Enreach_Call_Start__c").Nanosecond() != 250e6 || created.Int("CallDurationInSeconds") != 42 {
		t.Errorf("stored task %v", created)
	}
	// Replay with TaskSubtype: the update refuses the create-only field and changes nothing.
	replay := task("K1") // external ids match case-insensitively
	replay["Subject"] = "changed"
	_, res, _ = upsert(t, srv, tok, false, replay)
	if res[0].Success || res[0].Errors[0].StatusCode != "INVALID_FIELD_FOR_INSERT_UPDATE" || res[0].Errors[0].Fields[0] != "TaskSubtype" {
		t.Fatalf("replay with TaskSubtype: %+v", res)
	}
	if got, _ := srv.Get(created.String("Id")); got.String("Subject") != "Call" {
		t.Errorf("refused update changed the task: %v", got)
	}
	// Without it the upsert updates: created false.
	_, res, _ = upsert(t, srv, tok, false, map[string]any{"Enreach_Call_Id__c": "k1", "Status": "Not Started"})
	if !res[0].Success || res[0].Created || res[0].ID != created.String("Id") {
		t.Fatalf("update by external id: %+v", res)
	}
	if got, _ := srv.Get(res[0].ID); got.Bool("IsClosed") {
		t.Errorf("IsClosed not derived from Status")
	}

	perRecord := []struct {
		name  string
		rec   map[string]any
		code  string
		field string
	}{
		{"lead with what", map[string]any{"Enreach_Call_Id__c": "p1", "WhoId": lead, "WhatId": account}, "FIELD_INTEGRITY_EXCEPTION", "WhatId"},
		{"who is an account", map[string]any{"Enreach_Call_Id__c": "p2", "WhoId": account}, "FIELD_INTEGRITY_EXCEPTION", "WhoId"},
		{"malformed id", map[string]any{"Enreach_Call_Id__c": "p3", "WhatId": "nope"}, "MALFORMED_ID", "WhatId"},
		{"missing record", map[string]any{"Enreach_Call_Id__c": "p4", "WhoId": "003000000009999AAA"}, "INVALID_CROSS_REFERENCE_KEY", "WhoId"},
		{"inactive owner", map[string]any{"Enreach_Call_Id__c": "p5", "OwnerId": inactive}, "INACTIVE_OWNER_OR_USER", ""},
		{"restricted picklist", map[string]any{"Enreach_Call_Id__c": "p6", "CallType": "Sideways"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "CallType"},
		{"too long", map[string]any{"Enreach_Call_Id__c": "p7", "Subject": strings.Repeat("x", 256)}, "STRING_TOO_LONG", "Subject"},
		{"read-only", map[string]any{"Enreach_Call_Id__c": "p8", "AccountId": account}, "INVALID_FIELD_FOR_INSERT_UPDATE", "AccountId"},
		{"no external id", map[string]any{"Subject": "x"}, "MISSING_ARGUMENT", ""},
	}
	for _, tt := range perRecord {
		t.Run(tt.name, func(t *testing.T) {
			_, res, body := upsert(t, srv, tok, false, tt.rec)
			if len(res) != 1 || res[0].Success || res[0].Errors[0].StatusCode != tt.code ||
				(tt.field != "" && (len(res[0].Errors[0].Fields) == 0 || res[0].Errors[0].Fields[0] != tt.field)) {
				t.Fatalf("got %s, want %s on %s", body, tt.code, tt.field)
			}
		})
	}
	// A queue may own a task.
	if _, res, body := upsert(t, srv, tok, false, map[string]any{"Enreach_Call_Id__c": "q1", "OwnerId": queue}); !res[0].Success {
		t.Errorf("queue owner: %s", body)
	}
	before := len(srv.Tasks())
	// Same external id twice in one request.
	_, res, _ = upsert(t, srv, tok, false, task("d1"), task("d1"))
	if res[0].Success || res[1].Success || res[0].Errors[0].StatusCode != "DUPLICATE_VALUE" {
		t.Errorf("duplicate ids in one request: %+v", res)
	}
	// allOrNone: one bad record rolls back the rest.
	_, res, _ = upsert(t, srv, tok, true, task("r1"), map[string]any{"Enreach_Call_Id__c": "r2", "CallType": "Sideways"})
	if res[0].Success || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
		t.Errorf("allOrNone: %+v", res)
	}
	// Several tasks carrying the external id.
	srv.Add("Task", map[string]any{"Enreach_Call_Id__c": "twice"})
	srv.Add("Task", map[string]any{"Enreach_Call_Id__c": "twice"})
	_, res, _ = upsert(t, srv, tok, false, task("twice"))
	if res[0].Success || res[0].Errors[0].StatusCode != "DUPLICATE_EXTERNAL_ID" {
		t.Errorf("several matches: %+v", res)
	}
	if n := len(srv.Tasks()); n != before+2 {
		t.Errorf("failed upserts wrote tasks: %d, want %d", n, before+2)
	}

	// Whole-request errors.
	if status, _, body := upsert(t, srv, tok, false, map[string]any{"Enreach_Call_Id__c": "u1", "Bogus__c": "x"}); status != 400 || errorCode(t, body) != "INVALID_FIELD" {
		t.Errorf("unknown field: %d %s", status, body)
	}
	if status, _, body := upsert(t, srv, tok, false, map[string]any{"Enreach_Call_Id__c": "u2", "CallDurationInSeconds": "long"}); status != 400 || errorCode(t, body) != "JSON_PARSER_ERROR" {
		t.Errorf("wrong JSON type: %d %s", status, body)
	}
	var many []map[string]any
	for i := range 201 {
		many = append(many, task(fmt.Sprint("m", i)))
	}
	if status, _, body := upsert(t, srv, tok, false, many...); status != 400 || errorCode(t, body) != "EXCEEDED_ID_LIMIT" {
		t.Errorf("201 records: %d %s", status, body)
	}
	status, _, body = call(t, srv, tok, "PATCH", v+"/composite/sobjects/Task/Subject", map[string]any{"records": []any{}})
	if status != 404 {
		t.Errorf("upsert on a non-external-id field: %d %s", status, body)
	}

	// Update by id.
	status, _, body = call(t, srv, tok, "PATCH", v+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
		map[string]any{"attributes": map[string]string{"type": "Task"}, "id": created.String("Id"), "Status": "Completed"},
		map[string]any{"attributes": map[string]string{"type": "Task"}, "id": contact, "Status": "Completed"},
		map[string]any{"attributes": map[string]string{"type": "Task"}, "id": created.String("Id"), "TaskSubtype": "Call"},
	}})
	var upd []result
	_ = json.Unmarshal(body, &upd)
	if status != 200 || len(upd) != 3 || !upd[0].Success || upd[1].Success || upd[2].Success ||
		upd[2].Errors[0].StatusCode != "INVALID_FIELD_FOR_INSERT_UPDATE" {
		t.Errorf("update: %d %s", status, body)
	}
	if got, _ := srv.Get(created.String("Id")); !got.Bool("IsClosed") {
		t.Errorf("update did not complete the task")
	}
}

func TestTaskSubtypeNotCreateable(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.TaskSubtypeNotCreateable = true })
	tok := session(t, srv)
	_, res, _ := upsert(t, srv, tok, false, map[string]any{"Enreach_Call_Id__c": "k", "TaskSubtype": "Call"})
	if res[0].Success || res[0].Errors[0].StatusCode != "INVALID_FIELD_FOR_INSERT_UPDATE" || len(srv.Tasks()) != 0 {
		t.Fatalf("create with TaskSubtype: %+v", res)
	}
}

func TestCompositeBatch(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	srv.Add("Contact", map[string]any{"LastName": "C", "Phone": "0401000001"})
	sub := func(q string) map[string]any {
		return map[string]any{"method": "GET", "url": "v62.0/search?q=" + url.QueryEscape(q)}
	}
	good := "FIND {0401000001} IN PHONE FIELDS RETURNING Contact(Id)"
	bad := "FIND {+1} IN PHONE FIELDS RETURNING Contact(Id)"
	usedBefore, _ := srv.APIUsage()
	status, h, body := call(t, srv, tok, "POST", v+"/composite/batch", map[string]any{"haltOnError": true,
		"batchRequests": []any{sub(good), sub(bad), sub(good),
			map[string]any{"method": "GET", "url": "v62.0/query?q=" + url.QueryEscape("SELECT Id FROM User")}}})
	var ans struct {
		HasErrors bool `json:"hasErrors"`
		Results   []struct {
			StatusCode int             `json:"statusCode"`
			Result     json.RawMessage `json:"result"`
		} `json:"results"`
	}
	_ = json.Unmarshal(body, &ans)
	if status != 200 || !ans.HasErrors || len(ans.Results) != 4 || ans.Results[0].StatusCode != 200 ||
		ans.Results[1].StatusCode != 400 || ans.Results[2].StatusCode != 412 || ans.Results[3].StatusCode != 412 {
		t.Fatalf("batch with haltOnError: %d %s", status, body)
	}
	if !strings.Contains(string(ans.Results[0].Result), "searchRecords") || errorCode(t, ans.Results[2].Result) != "BATCH_PROCESSING_HALTED" {
		t.Errorf("results %s", body)
	}
	usedAfter, _ := srv.APIUsage()
	if usedAfter-usedBefore != 2 || h.Get("Sforce-Limit-Info") != fmt.Sprintf("api-usage=%d/100000", usedAfter) {
		t.Errorf("batch counted %d calls (header %q), want one per run subrequest", usedAfter-usedBefore, h.Get("Sforce-Limit-Info"))
	}
	var subs []any
	for range 26 {
		subs = append(subs, sub(good))
	}
	if status, _, body := call(t, srv, tok, "POST", v+"/composite/batch", map[string]any{"batchRequests": subs}); status != 400 {
		t.Errorf("26 subrequests: %d %s", status, body)
	}
	// A subrequest over the limit answers 403 inside the batch.
	srv.ExceedLimitNext(1)
	_, _, body = call(t, srv, tok, "POST", v+"/composite/batch", map[string]any{"batchRequests": []any{sub(good), sub(good)}})
	_ = json.Unmarshal(body, &ans)
	if ans.Results[0].StatusCode != 403 || errorCode(t, ans.Results[0].Result) != "REQUEST_LIMIT_EXCEEDED" || ans.Results[1].StatusCode != 200 {
		t.Errorf("limit inside a batch: %s", body)
	}
}

func TestConcurrentUse(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	send := func(method, path string, body any) error {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- send("PATCH", v+"/composite/sobjects/Task/Enreach_Call_Id__c", map[string]any{"records": []any{
				map[string]any{"attributes": map[string]string{"type": "Task"}, "Enreach_Call_Id__c": fmt.Sprint("c", i)}}})
			errs <- send("GET", v+"/search?q="+url.QueryEscape("FIND {0401000001} IN PHONE FIELDS RETURNING Contact(Id)"), nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Tasks()); n != 20 {
		t.Errorf("%d tasks, want 20", n)
	}
	if n := srv.Requests(); n != 41 {
		t.Errorf("Requests = %d, want 41", n)
	}
}
