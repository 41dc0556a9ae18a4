// Package zohotest is an in-memory Zoho CRM for tests, in the manner of
// net/http/httptest: an accounts server (OAuth2 refresh-token grant with the
// data centre's api_domain, the ten-grants-per-ten-minutes limit) and an API
// domain serving COQL, users, record insert/update and upsert, with Zoho's
// answer shapes, per-record 201/207 results, error bodies and limits (per
// https://www.zoho.com/crm/developer/docs/api/ and Zoho's OpenAPI, zoho/crm-oas). Tests seed and inspect the data, count
// requests and inject faults (429, 5xx, expired tokens, per-record errors).
package zohotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/internal/double"
	"github.com/callsync/callsync/internal/jsonw"
)

// Limits of the real service the double enforces
// (https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html).
const (
	GrantsPerWindow = 10               // access tokens per refresh token per window
	GrantWindow     = 10 * time.Minute // ≤ 10 per 10 min [doc]
	LiveTokens      = 30               // live access tokens per refresh token
	TokenLifetime   = time.Hour
	MaxRecords      = 100 // records per insert/update/upsert
	MaxInValues     = 100 // COQL in/not in values
	MaxCriteria     = 25  // COQL WHERE criteria
	MaxLimit        = 2000
	MaxOffset       = 100000
	UsersPerPage    = 200
	apiPrefix       = "/crm/v8"
)

// Server is the fake Zoho CRM. Exported fields are the credentials it
// accepts; change them before the first request only.
type Server struct {
	// URL is the API domain, reported as api_domain by the token endpoint.
	URL string
	// AccountsURL is the accounts server (token endpoint /oauth/v2/token).
	AccountsURL  string
	ClientID     string
	ClientSecret string
	RefreshToken string

	api      *httptest.Server
	accounts *httptest.Server
	// answers holds *[]byte buffers of API answers, reused once written
	// (writeAnswer).
	answers sync.Pool

	mu  sync.Mutex
	now func() time.Time
	tz  *time.Location
	// pageTokens are the next_page_tokens handed out; deleted the
	// deleted records per module.
	pageTokens map[string]pageToken
	deleted    map[string][]deletedRecord
	seq        int64
	modules    map[string]*module
	users      []*user
	adminID    string
	tokens     map[string]*accessToken
	grants     []time.Time
	granted    int
	rec        double.Recorder[Request]

	faults       double.Faults
	recordFaults []*recordFault

	creditsTotal     int64
	creditsRemaining int64

	noSettingsScope bool
}

// DenySettingsScope makes the issued tokens lack the settings scopes (a
// refresh token granted without ZohoCRM.settings.fields.READ and
// ZohoCRM.settings.modules.READ): every /settings/ request answers 401
// OAUTH_SCOPE_MISMATCH (body of the v8 records examples in zoho/crm-oas).
func (s *Server) DenySettingsScope() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noSettingsScope = true
}

type accessToken struct {
	value   string
	issued  time.Time
	expires time.Time
	revoked bool
}

type recordFault struct {
	match   func(module string, rec map[string]any) bool
	code    string
	message string
	times   int
}

// NewServer starts an accounts server and an API domain with the standard
// modules (Contacts, Accounts, Leads, Calls) and one active admin user, the
// owner of the refresh token.
func NewServer() *Server {
	s := &Server{
		ClientID:         "1000.TESTCLIENTID",
		ClientSecret:     "test-client-secret",
		RefreshToken:     "1000.test-refresh-token",
		now:              time.Now,
		tz:               time.UTC,
		seq:              0,
		modules:          map[string]*module{},
		tokens:           map[string]*accessToken{},
		creditsTotal:     50000,
		creditsRemaining: 50000,
	}
	s.addStandardModules()
	s.adminID = s.addUserLocked(User{Email: "admin@example.com", FullName: "Integration Admin", Active: true})
	s.api = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	s.accounts = httptest.NewServer(http.HandlerFunc(s.serveAccounts))
	s.URL = s.api.URL
	s.AccountsURL = s.accounts.URL
	return s
}

// Close shuts both listeners down.
func (s *Server) Close() {
	s.api.Close()
	s.accounts.Close()
}

// Config returns a client configuration for this server: Calls module,
// both directions recorded, api_domain left empty (taken from the token).
func (s *Server) Config() zoho.Config {
	return zoho.Config{
		AccountsURL:    s.AccountsURL,
		ClientID:       s.ClientID,
		ClientSecret:   s.ClientSecret,
		RefreshToken:   s.RefreshToken,
		Module:         "Calls",
		RecordIncoming: true,
		RecordOutgoing: true,
	}
}

// SetClock replaces the server's clock (token expiry, grant window,
// Created_Time, "future" start times).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetTimeZone sets the org time zone datetimes are rendered in (default UTC).
func (s *Server) SetTimeZone(loc *time.Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tz = loc
}

// AdminUserID is the id of the user owning the refresh token, the default
// owner of records written without Owner.
func (s *Server) AdminUserID() string { return s.adminID }

// Grants returns the number of access tokens issued.
func (s *Server) Grants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.granted
}

// ExpireTokens makes every issued access token invalid: the next API request
// gets 401 INVALID_TOKEN.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// FailRecords makes the next times records (insert, update or upsert) for
// which match returns true fail with code and message inside a 207/400
// answer. match sees the record as sent.
func (s *Server) FailRecords(match func(module string, rec map[string]any) bool, code, message string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordFaults = append(s.recordFaults, &recordFault{match: match, code: code, message: message, times: times})
}

// SetCredits sets the daily API credits; responses carry
// X-API-CREDITS-REMAINING once half of them are used [code].
func (s *Server) SetCredits(total, remaining int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creditsTotal, s.creditsRemaining = total, remaining
}

// Credits returns the credits remaining.
func (s *Server) Credits() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creditsRemaining
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("5725767%012d", s.seq)
}

// ---- accounts server ----

func (s *Server) serveAccounts(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth/v2/token" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	defer func() {
		s.rec.Record(Request{Request: double.Request{Method: r.Method, Path: r.URL.Path, Status: rec.status, Token: true}})
	}()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "invalid_request"})
		return
	}
	_ = r.ParseForm() // query and form body both count, as at Zoho
	p := func(k string) string { return r.Form.Get(k) }
	switch {
	case p("grant_type") != "refresh_token":
		writeJSON(w, http.StatusOK, map[string]any{"error": "unsupported_grant_type"})
		return
	case p("client_id") != s.ClientID || p("client_secret") != s.ClientSecret:
		writeJSON(w, http.StatusOK, map[string]any{"error": "invalid_client"})
		return
	case p("refresh_token") != s.RefreshToken:
		writeJSON(w, http.StatusOK, map[string]any{"error": "invalid_code"})
		return
	}
	now := s.now()
	live := s.grants[:0]
	for _, g := range s.grants {
		if now.Sub(g) < GrantWindow {
			live = append(live, g)
		}
	}
	s.grants = live
	if len(s.grants) >= GrantsPerWindow {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error_description": "You have made too many requests continuously. Please try again after some time.",
			"error":             "Access Denied",
			"status":            "failure",
		})
		return
	}
	s.grants = append(s.grants, now)
	s.granted++
	tok := &accessToken{value: fmt.Sprintf("1000.%032x", s.granted*7919+len(s.tokens)), issued: now, expires: now.Add(TokenLifetime)}
	s.tokens[tok.value] = tok
	s.pruneTokens()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok.value,
		"scope":        "ZohoCRM.modules.ALL ZohoCRM.users.READ ZohoCRM.coql.READ ZohoCRM.settings.fields.READ",
		"api_domain":   s.URL,
		"token_type":   "Bearer",
		"expires_in":   int(TokenLifetime / time.Second),
	})
}

// pruneTokens keeps at most LiveTokens live tokens: the oldest goes first.
func (s *Server) pruneTokens() {
	for len(s.tokens) > LiveTokens {
		var oldest *accessToken
		for _, t := range s.tokens {
			if oldest == nil || t.issued.Before(oldest.issued) {
				oldest = t
			}
		}
		delete(s.tokens, oldest.value)
	}
}

// ---- API domain ----

type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
}

func (e *apiError) body() map[string]any {
	d := e.details
	if d == nil {
		d = map[string]any{}
	}
	return map[string]any{"code": e.code, "details": d, "message": e.message, "status": "error"}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, _ := readLimited(r, 32<<20)
	// The body is decoded and the answer written outside the lock: only
	// what reads or changes the org holds it, so requests in flight at once
	// are not served one after the other, as they are not at Zoho.
	in := readBody(r, body)
	s.mu.Lock()
	entry := Request{Request: double.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}}
	if f, ok := s.faults.Take(r.Method, r.URL.Path); ok {
		entry.Status = s.writeFault(w, f)
		s.rec.Record(entry)
		s.mu.Unlock()
		return
	}
	status, out := s.route(w, r, in, &entry)
	entry.Status = status
	s.rec.Record(entry)
	s.mu.Unlock()
	if out == nil {
		w.WriteHeader(status)
		return
	}
	s.writeAnswer(w, status, out)
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// route answers one API request: it returns the status and the answer to
// write (nil: no body), headers set. The answer holds no value the org
// changes later, so it is written after the lock is let go.
func (s *Server) route(w http.ResponseWriter, r *http.Request, in input, entry *Request) (int, any) {
	if e := s.authenticate(r); e != nil {
		return e.status, e.body()
	}
	if s.noSettingsScope && strings.HasPrefix(r.URL.Path, apiPrefix+"/settings/") {
		e := &apiError{status: http.StatusUnauthorized, code: "OAUTH_SCOPE_MISMATCH", message: "Unauthorized"}
		return e.status, e.body()
	}
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	if path == r.URL.Path {
		e := invalidURL()
		return e.status, e.body()
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var (
		status int
		out    any
		e      *apiError
		cost   int64 = 1
	)
	switch {
	case len(parts) == 1 && parts[0] == "coql" && r.Method == http.MethodPost:
		status, out, cost, e = s.handleCOQL(in.coql, entry)
	case len(parts) == 2 && parts[0] == "settings" && parts[1] == "modules" && r.Method == http.MethodGet:
		status, out, e = s.handleModules()
	case len(parts) == 2 && parts[0] == "settings" && parts[1] == "fields" && r.Method == http.MethodGet:
		status, out, e = s.handleFields(r.URL.Query())
	case len(parts) == 1 && parts[0] == "users" && r.Method == http.MethodGet:
		status, out, e = s.handleUsers(r.URL.Query())
	case len(parts) == 1 && r.Method == http.MethodGet:
		status, out, e = s.handleList(parts[0], r.URL.Query())
	case len(parts) == 2 && parts[1] == "deleted" && r.Method == http.MethodGet:
		status, out, e = s.handleDeleted(parts[0], r.URL.Query(), r.Header.Get("If-Modified-Since"))
	case len(parts) == 1 && r.Method == http.MethodPost:
		status, out, e = s.handleWrite(parts[0], in.write, entry, writeInsert)
	case len(parts) == 1 && r.Method == http.MethodPut:
		status, out, e = s.handleWrite(parts[0], in.write, entry, writeUpdate)
	case len(parts) == 2 && parts[1] == "upsert" && r.Method == http.MethodPost:
		status, out, e = s.handleWrite(parts[0], in.write, entry, writeUpsert)
	default:
		e = invalidURL()
	}
	s.spend(w, cost)
	if e != nil {
		return e.status, e.body()
	}
	if status == http.StatusNoContent {
		return status, nil
	}
	return status, out
}

// input is a request body as the handlers read it, decoded before the lock
// is taken (readBody): a COQL query's or a write's, by method and path.
type input struct {
	coql  coqlInput
	write writeInput
}

// readBody decodes body as the handler route picks for r reads it.
// readLimited is io.ReadAll(io.LimitReader(r.Body, limit)), read into one
// buffer sized from the request's Content-Length when it gives one within
// the limit (double.ReadBody): a Calls insert's 100 records are not read
// into ever larger buffers, garbage the bench process collects on the
// cores the client under test uses.
func readLimited(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength < 0 || r.ContentLength > limit {
		return io.ReadAll(io.LimitReader(r.Body, limit))
	}
	buf := bytes.NewBuffer(make([]byte, 0, r.ContentLength+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit))
	return buf.Bytes(), err
}

func readBody(r *http.Request, body []byte) input {
	var in input
	path, api := strings.CutPrefix(r.URL.Path, apiPrefix)
	switch {
	case !api:
	case r.Method == http.MethodPost && strings.Trim(path, "/") == "coql":
		in.coql = readCOQL(body)
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		in.write = readWrite(body)
	}
	return in
}

func invalidURL() *apiError {
	return &apiError{status: http.StatusNotFound, code: "INVALID_URL_PATTERN", message: "Please check if the URL trying to access is a correct one"}
}

func (s *Server) fail(w http.ResponseWriter, e *apiError) int {
	writeJSON(w, e.status, e.body())
	return e.status
}

func (s *Server) spend(w http.ResponseWriter, cost int64) {
	s.creditsRemaining -= cost
	if s.creditsRemaining < 0 {
		s.creditsRemaining = 0
	}
	if s.creditsRemaining <= s.creditsTotal/2 {
		w.Header().Set("X-API-CREDITS-REMAINING", strconv.FormatInt(s.creditsRemaining, 10))
	}
}

func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	v, ok := strings.CutPrefix(h, "Zoho-oauthtoken ")
	if !ok || v == "" {
		return &apiError{status: http.StatusUnauthorized, code: "AUTHENTICATION_FAILURE", message: "Authentication failed"}
	}
	t := s.tokens[v]
	if t == nil || t.revoked || !s.now().Before(t.expires) {
		return &apiError{status: http.StatusUnauthorized, code: "INVALID_TOKEN", message: "invalid oauth token"}
	}
	return nil
}

// writeJSON writes v as json.Encoder writes it (Marshal's bytes and a
// newline), appended without reflection when jsonw.AppendValue takes it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if b, ok := jsonw.AppendValue(nil, v); ok {
		_, _ = w.Write(append(b, '\n'))
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// writeAnswer is writeJSON, with v appended into a buffer of s.answers,
// given back once written (Write copies it to the connection), instead of
// one grown from nothing per answer.
func (s *Server) writeAnswer(w http.ResponseWriter, status int, v any) {
	p, _ := s.answers.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	defer s.answers.Put(p)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if b, ok := jsonw.AppendValue((*p)[:0], v); ok {
		b = append(b, '\n')
		_, _ = w.Write(b)
		*p = b
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// handleUsers serves GET /users?type=...&page=...&per_page=... .
func (s *Server) handleUsers(q url.Values) (int, any, *apiError) {
	typ := q.Get("type")
	if typ == "" {
		typ = "AllUsers"
	}
	page, perPage := 1, UsersPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, nil, &apiError{status: 400, code: "INVALID_DATA", message: "invalid data", details: map[string]any{"param_name": "page"}}
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > UsersPerPage {
			return 0, nil, &apiError{status: 400, code: "INVALID_DATA", message: "invalid data", details: map[string]any{"param_name": "per_page", "maximum_length": UsersPerPage}}
		}
		perPage = n
	}
	var list []*user
	for _, u := range s.users {
		switch typ {
		case "AllUsers":
		case "ActiveUsers":
			if !u.Active {
				continue
			}
		case "DeactiveUsers":
			if u.Active {
				continue
			}
		case "CurrentUser":
			if u.ID != s.adminID {
				continue
			}
		default:
			return 0, nil, &apiError{status: 400, code: "INVALID_DATA", message: "invalid data", details: map[string]any{"param_name": "type"}}
		}
		list = append(list, u)
	}
	from := (page - 1) * perPage
	if from >= len(list) {
		return http.StatusNoContent, nil, nil
	}
	to := min(len(list), from+perPage)
	out := make([]map[string]any, 0, to-from)
	for _, u := range list[from:to] {
		out = append(out, u.json())
	}
	return http.StatusOK, map[string]any{
		"users": out,
		"info":  map[string]any{"per_page": perPage, "count": len(out), "page": page, "more_records": to < len(list)},
	}, nil
}
