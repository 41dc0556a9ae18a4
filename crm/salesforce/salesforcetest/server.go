// Package salesforcetest is an httptest double of the Salesforce org callsync
// talks to: the OAuth token endpoint (client credentials, JWT bearer with
// signature check, username-password; instance_url is the server, no
// expires_in) and the REST subset the client uses: SOSL /search (FIND {...}
// with OR terms and escapes IN PHONE FIELDS RETURNING ...), SOQL /query (a
// SELECT ... WHERE ... AND ... subset with paging), sObject Collections
// upsert by external id and update (200 records, per-record results,
// create-only TaskSubtype), and /composite/batch (25 subrequests). Sessions
// expire and limits run out on demand; every response carries
// Sforce-Limit-Info; requests are counted and logged; the org's records can
// be seeded and inspected. It is safe for concurrent use.
package salesforcetest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/internal/double"
	"github.com/callsync/callsync/internal/jsonw"
)

// Config sets up the org.
type Config struct {
	// ClientID and ClientSecret of the connected app / external client app.
	ClientID     string
	ClientSecret string
	// Username, Password and SecurityToken of the integration user (JWT
	// subject; password grant with Password+SecurityToken).
	Username      string
	Password      string
	SecurityToken string
	// JWTPublicKey verifies JWT bearer assertions (RS256); nil refuses them.
	JWTPublicKey *rsa.PublicKey
	// JWTAudience is the required aud claim (default: the server URL, the
	// org's My Domain).
	JWTAudience string
	// ExternalIDField is the Task's External ID + Unique field (default
	// Enreach_Call_Id__c).
	ExternalIDField string
	// TaskFields are extra custom Task fields (default Enreach_Number__c
	// text and Enreach_Call_Start__c dateTime, as callsync writes them).
	TaskFields map[string]FieldType
	// MinimalOrg shapes the org as the README's minimum leaves it: the Task
	// has the external id field only (no number or start field), unless
	// TaskFields names others.
	MinimalOrg bool
	// HiddenFields hides fields from the integration user by field-level
	// security, per object (e.g. {"Contact": {"MobilePhone"}}).
	HiddenFields map[string][]string
	// NoAPIAccess: the integration user lacks the "API Enabled" permission;
	// tokens are issued, every REST request answers 403
	// API_DISABLED_FOR_ORG.
	NoAPIAccess bool
	// TaskSubtypeNotCreateable makes the org refuse TaskSubtype on create too
	// (field-level security or an org without it).
	TaskSubtypeNotCreateable bool
	// QueryPageSize is the SOQL batch size (default 2000).
	QueryPageSize int
	// DailyLimit is the daily API request limit (default 100000).
	DailyLimit int
	// Now is the clock for JWT checks and CreatedDate (default time.Now).
	Now func() time.Time
}

// Server is the double. URL is the org's My Domain and instance URL.
type Server struct {
	URL string

	srv *httptest.Server
	cfg Config
	// bodies holds *bytes.Buffer for request bodies, reused once the
	// request is answered (ServeHTTP).
	bodies sync.Pool

	mu          sync.Mutex
	schema      map[string]*object
	records     map[string][]map[string]any // object name -> records in insertion order
	byID        map[string]map[string]any
	nextID      int
	runAs       string
	tokens      map[string]bool
	cursors     map[string]*cursorState
	nextCursor  int
	rec         double.Recorder[Request]
	used        int
	limit       int
	expireAfter int
	exceedNext  int
	faults      double.Faults
	deleted     map[string][]deletion   // object name -> delete log
	index       map[string]*recordIndex // object name -> value indexes (index.go)
	seq         map[string]int          // record id -> creation sequence
	nextSeq     int
}

// NewServer starts a double; Close it when done.
func NewServer(cfg Config) *Server {
	if cfg.ExternalIDField == "" {
		cfg.ExternalIDField = "Enreach_Call_Id__c"
	}
	if cfg.TaskFields == nil && cfg.MinimalOrg {
		cfg.TaskFields = map[string]FieldType{}
	}
	if cfg.TaskFields == nil {
		cfg.TaskFields = map[string]FieldType{"Enreach_Number__c": FieldString, "Enreach_Call_Start__c": FieldDateTime}
	}
	if cfg.QueryPageSize <= 0 {
		cfg.QueryPageSize = 2000
	}
	if cfg.DailyLimit <= 0 {
		cfg.DailyLimit = 100000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:         cfg,
		schema:      newSchema(cfg),
		records:     map[string][]map[string]any{},
		byID:        map[string]map[string]any{},
		tokens:      map[string]bool{},
		cursors:     map[string]*cursorState{},
		index:       map[string]*recordIndex{},
		seq:         map[string]int{},
		limit:       cfg.DailyLimit,
		expireAfter: -1,
	}
	s.runAs = s.Add("User", map[string]any{"Name": "Integration User", "Email": "integration@example.invalid",
		"Username": cfg.Username, "IsActive": true})
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	if s.cfg.JWTAudience == "" {
		s.cfg.JWTAudience = s.URL
	}
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// RunAsUserID is the integration user every session runs as (default Task owner).
func (s *Server) RunAsUserID() string { return s.runAs }

// ExpireSessions invalidates every issued access token now: the next API
// request answers 401 INVALID_SESSION_ID.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
}

// ExpireSessionsAfter lets n more authenticated API requests through, then
// invalidates every session (an expiry in the middle of a run).
func (s *Server) ExpireSessionsAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAfter = n
}

// ExceedLimitNext answers the next n API requests (or batch subrequests)
// with 403 REQUEST_LIMIT_EXCEEDED.
func (s *Server) ExceedLimitNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exceedNext = n
}

// SetAPIUsage sets the daily usage counter and limit; at the limit every API
// request answers 403 REQUEST_LIMIT_EXCEEDED.
func (s *Server) SetAPIUsage(used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used, s.limit = used, limit
}

// APIUsage returns the daily usage counter and limit (what Sforce-Limit-Info reports).
func (s *Server) APIUsage() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.limit
}

// ServeHTTP implements http.Handler. An API request's body is decoded and
// its answer encoded outside s.mu: only what reads or changes the org holds
// it, so requests in flight at once are not served one after the other
// while one of them is parsed or written (a client sends up to 25 at once,
// salesforce.go). The token and identity endpoints and faults answer under
// the lock.
//
// The body is read into a buffer the server reuses once the request is
// answered (bodies): what a request keeps of its body is copied (the JSON
// decoders' strings, json.RawMessage's bytes).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf, _ := s.bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer s.bodies.Put(buf)
	body, _ := double.ReadBodyInto(buf, r)
	var in *collectionInput
	if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/composite/sobjects") {
		c := readCollection(body)
		in = &c
	}
	var batch []string
	if strings.HasPrefix(r.URL.Path, "/services/data/") && strings.HasSuffix(r.URL.Path, "/composite/batch") {
		batch = batchURLs(body)
	}
	s.mu.Lock()
	entry := Request{Request: double.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}}
	rec := &recorder{ResponseWriter: w}
	if r.URL.Path == "/services/oauth2/token" {
		entry.Token = true
	} else if f, ok := s.faults.Take(r.Method, r.URL.Path); ok {
		writeFault(rec, f)
		entry.Status = rec.status
		s.rec.Record(entry)
		s.mu.Unlock()
		return
	}
	var ans *apiAnswer
	switch {
	case entry.Token:
		s.token(rec, r, body)
	case strings.HasPrefix(r.URL.Path, "/id/"):
		s.identity(rec, r)
	case strings.HasPrefix(r.URL.Path, "/services/data/"):
		a := s.api(w.Header(), r, body, in)
		ans = &a
		entry.Subrequests = a.subrequests
		entry.Batch = batch
		rec.status = a.status
	default:
		writeJSON(rec, http.StatusNotFound, errArray("NOT_FOUND", "The requested resource does not exist"))
	}
	entry.Status = rec.status
	s.rec.Record(entry)
	s.mu.Unlock()
	if ans != nil {
		writeJSON(w, ans.status, ans.out)
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// writeJSON writes v as json.Encoder writes it (Marshal's bytes and a
// newline), appended without reflection when jsonw.AppendValue takes it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	if b, ok := jsonw.AppendValue(nil, v); ok {
		_, _ = w.Write(append(b, '\n'))
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// errArray is Salesforce's error body [{"message","errorCode"}].
func errArray(code, msg string) []map[string]any {
	return []map[string]any{{"message": msg, "errorCode": code}}
}

var versionPath = regexp.MustCompile(`^/services/data/v(\d+\.\d)(/.*)?$`)

// apiAnswer is a REST request's answer, written after s.mu is let go: its
// status, the body to encode, and the request's subrequest count for the
// log. The body holds no value the org changes later (records' values are
// replaced on a write, never changed in place).
type apiAnswer struct {
	status      int
	out         any
	subrequests int
}

// api serves one REST request; its headers go to h. in is the request's
// collection body when ServeHTTP decoded it (readCollection), else nil.
func (s *Server) api(h http.Header, r *http.Request, body []byte, in *collectionInput) apiAnswer {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if s.expireAfter == 0 {
		s.tokens = map[string]bool{}
		s.expireAfter = -1
	}
	if !ok || !s.tokens[tok] {
		h.Set("WWW-Authenticate", `Token`)
		return apiAnswer{status: http.StatusUnauthorized, out: errArray("INVALID_SESSION_ID", "Session expired or invalid")}
	}
	if s.expireAfter > 0 {
		s.expireAfter--
	}
	if s.cfg.NoAPIAccess {
		return apiAnswer{status: http.StatusForbidden, out: errArray("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")}
	}
	m := versionPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return apiAnswer{status: http.StatusNotFound, out: errArray("NOT_FOUND", "The requested resource does not exist")}
	}
	version, rest := m[1], m[2]
	if rest == "/composite/batch" {
		status, out, n := s.batch(r.Method, version, body)
		s.limitHeader(h)
		return apiAnswer{status: status, out: out, subrequests: n}
	}
	if err := s.spend(); err != nil {
		s.limitHeader(h)
		return apiAnswer{status: err.status, out: errArray(err.code, err.msg)}
	}
	status, out := s.dispatch(r.Method, version, rest, r.URL.Query(), body, in)
	s.limitHeader(h)
	n := 0
	if in != nil && in.ok {
		n = len(in.recs) // what subrequests counts in a body decodeRecords reads
	} else {
		n = subrequests(body)
	}
	return apiAnswer{status: status, out: out, subrequests: n}
}

func batchURLs(body []byte) []string {
	var b struct {
		BatchRequests []struct{ Method, URL string } `json:"batchRequests"`
	}
	_ = json.Unmarshal(body, &b)
	out := make([]string, len(b.BatchRequests))
	for i, r := range b.BatchRequests {
		out[i] = r.Method + " " + r.URL
	}
	return out
}

func subrequests(body []byte) int {
	var b struct {
		Records []json.RawMessage `json:"records"`
	}
	if json.Unmarshal(body, &b) == nil {
		return len(b.Records)
	}
	return 0
}

// spend counts one API call against the daily limit.
func (s *Server) spend() *requestError {
	if s.exceedNext > 0 {
		s.exceedNext--
		return &requestError{status: http.StatusForbidden, code: "REQUEST_LIMIT_EXCEEDED", msg: "TotalRequests Limit exceeded."}
	}
	if s.used >= s.limit {
		return &requestError{status: http.StatusForbidden, code: "REQUEST_LIMIT_EXCEEDED", msg: "TotalRequests Limit exceeded."}
	}
	s.used++
	return nil
}

func (s *Server) limitHeader(h http.Header) {
	h.Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.used, s.limit))
}

// dispatch routes one API call (also a batch subrequest).
// in is the collection body ServeHTTP decoded (nil: decode body here).
func (s *Server) dispatch(method, version, rest string, q url.Values, body []byte, in *collectionInput) (int, any) {
	v, _ := strconv.ParseFloat(version, 64)
	notAllowed := func(allowed string) (int, any) {
		return http.StatusMethodNotAllowed, errArray("METHOD_NOT_ALLOWED",
			fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", method, allowed))
	}
	switch {
	case rest == "/search" || rest == "/search/":
		if method != http.MethodGet {
			return notAllowed("GET,HEAD")
		}
		return s.search(version, q.Get("q"))
	case rest == "/query" || rest == "/query/":
		if method != http.MethodGet {
			return notAllowed("GET,HEAD")
		}
		return s.query(version, q.Get("q"))
	case strings.HasPrefix(rest, "/query/"):
		if method != http.MethodGet {
			return notAllowed("GET,HEAD")
		}
		return s.queryMore(version, strings.TrimPrefix(rest, "/query/"))
	case rest == "/composite/sobjects" || rest == "/composite/sobjects/":
		if v < 42 {
			break
		}
		if method != http.MethodPatch {
			return notAllowed("PATCH")
		}
		return s.updateCollection(version, body, in)
	case strings.HasPrefix(rest, "/composite/sobjects/"):
		if v < 46 {
			break
		}
		parts := strings.Split(strings.TrimPrefix(rest, "/composite/sobjects/"), "/")
		if len(parts) != 2 {
			break
		}
		if method != http.MethodPatch {
			return notAllowed("PATCH")
		}
		return s.upsertCollection(version, parts[0], parts[1], body, in)
	case strings.HasPrefix(rest, "/sobjects/") && (strings.HasSuffix(rest, "/describe") || strings.HasSuffix(rest, "/describe/")):
		if method != http.MethodGet {
			return notAllowed("GET,HEAD")
		}
		name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(rest, "/sobjects/"), "/"), "/describe")
		return s.describe(version, name)
	case strings.HasPrefix(rest, "/sobjects/") && strings.HasSuffix(strings.TrimSuffix(rest, "/"), "/deleted"):
		if method != http.MethodGet {
			return notAllowed("GET,HEAD")
		}
		return s.getDeleted(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(rest, "/"), "/sobjects/"), "/deleted"), q)
	case rest == "/limits" || rest == "/limits/":
		return http.StatusOK, map[string]any{"DailyApiRequests": map[string]int{"Max": s.limit, "Remaining": s.limit - s.used}}
	}
	return http.StatusNotFound, errArray("NOT_FOUND", "The requested resource does not exist")
}

// batch serves /composite/batch: at most 25 independent subrequests, each
// counted against the limits; haltOnError stops at the first failure.
func (s *Server) batch(method, version string, body []byte) (int, any, int) {
	if method != http.MethodPost {
		return http.StatusMethodNotAllowed, errArray("METHOD_NOT_ALLOWED",
			fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are POST", method)), 0
	}
	var req struct {
		HaltOnError   bool `json:"haltOnError"`
		BatchRequests []struct {
			Method    string          `json:"method"`
			URL       string          `json:"url"`
			RichInput json.RawMessage `json:"richInput"`
		} `json:"batchRequests"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return http.StatusBadRequest, errArray("JSON_PARSER_ERROR", err.Error()), 0
	}
	if len(req.BatchRequests) == 0 {
		return http.StatusBadRequest, errArray("INVALID_BATCH_REQUEST", "batchRequests is required"), 0
	}
	if len(req.BatchRequests) > 25 {
		return http.StatusBadRequest, errArray("INVALID_BATCH_REQUEST",
			"A batch request may contain at most 25 subrequests"), len(req.BatchRequests)
	}
	type result struct {
		StatusCode int `json:"statusCode"`
		Result     any `json:"result"`
	}
	results := make([]result, 0, len(req.BatchRequests))
	hasErrors, halted := false, false
	for _, sub := range req.BatchRequests {
		if halted {
			results = append(results, result{StatusCode: http.StatusPreconditionFailed,
				Result: errArray("BATCH_PROCESSING_HALTED", "Batch processing halted per request")})
			continue
		}
		status, out := s.subrequest(sub.Method, sub.URL, sub.RichInput)
		if status >= 400 {
			hasErrors = true
			halted = req.HaltOnError
		}
		results = append(results, result{StatusCode: status, Result: out})
	}
	return http.StatusOK, map[string]any{"hasErrors": hasErrors, "results": results}, len(req.BatchRequests)
}

var subPath = regexp.MustCompile(`^(?:/services/data/)?v(\d+\.\d)(/[^?]*)(?:\?(.*))?$`)

func (s *Server) subrequest(method, rawURL string, input json.RawMessage) (int, any) {
	m := subPath.FindStringSubmatch(rawURL)
	if m == nil {
		return http.StatusNotFound, errArray("NOT_FOUND", "The requested resource does not exist")
	}
	q, err := url.ParseQuery(m[3])
	if err != nil {
		return http.StatusBadRequest, errArray("MALFORMED_QUERY", err.Error())
	}
	if m[2] == "/composite/batch" || strings.HasPrefix(m[2], "/composite/sobjects") {
		return http.StatusBadRequest, errArray("INVALID_BATCH_REQUEST", "resource not supported in a batch: "+m[2])
	}
	if err := s.spend(); err != nil {
		return err.status, errArray(err.code, err.msg)
	}
	return s.dispatch(strings.ToUpper(method), m[1], m[2], q, input, nil)
}

// newID returns a fresh 18-character id with the object's key prefix.
func (s *Server) newID(o *object) string {
	s.nextID++
	return formatID(o.prefix, s.nextID)
}

// formatID is fmt.Sprintf("%s%012dAAA", prefix, n) for n >= 0, in one
// allocation.
func formatID(prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+15)
	b = append(b, prefix...)
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	for range 12 - len(d) {
		b = append(b, '0')
	}
	b = append(b, d...)
	b = append(b, "AAA"...)
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) sobjectURL(version, object, id string) string {
	return "/services/data/v" + version + "/sobjects/" + object + "/" + id
}

// render returns a record with the chosen fields (all when nil), as the API shows it.
func (s *Server) render(version string, o *object, rec map[string]any, fields []*field) map[string]any {
	out := map[string]any{"attributes": map[string]string{"type": o.name, "url": s.sobjectURL(version, o.name, rec["Id"].(string))}}
	if fields == nil {
		fields = o.fields
	}
	for _, f := range fields {
		out[f.name] = outValue(f, rec[f.name])
	}
	return out
}

// orderedJSON keeps "attributes" first and fields in query order, like the API.
type orderedJSON struct {
	keys []string
	vals map[string]any
}

func (o orderedJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (s *Server) renderOrdered(version string, o *object, rec map[string]any, fields []*field) orderedJSON {
	m := s.render(version, o, rec, fields)
	keys := []string{"attributes"}
	for _, f := range fields {
		keys = append(keys, f.name)
	}
	return orderedJSON{keys: keys, vals: m}
}
