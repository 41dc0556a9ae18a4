// Package dynamicstest owns an in-memory double of Microsoft Entra ID's token
// endpoint and of the Dataverse Web API v9.2 subset callsync uses, in the style
// of net/http/httptest: NewServer starts it on loopback, the Add methods seed it,
// inspection methods read what clients wrote, and fault injection (expired
// tokens, 429 with Retry-After, 5xx) happens on demand.
//
// It follows the Dataverse Web API documentation
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/overview): OData $filter with
// eq/ne/gt/ge/lt/le, and/or/not, contains/startswith/endswith and
// Microsoft.Dynamics.CRM.In; $select; $top; @odata.nextLink paging;
// $batch with changesets (Content-ID references, atomic rollback,
// odata.continue-on-error); phonecall create with @odata.bind and activity
// parties; duplicate activityid (412, 0x80040237); state/status validation;
// "Cannot update Closed or Cancelled Activity"; AddToQueue; queue parties
// (refused on demand); table definitions (EntityDefinitions Attributes, String
// and Memo casts) and RetrieveUserPrivileges; the URL (32,768, 65,536 in a
// batch) and 1,000-request batch limits. Shapes of real orgs: MinimalOrg (no
// lead table), AddColumn, DropColumn, SecureColumn (column-level security),
// DenyPrivilege (403 0x80040220), inactive queues. Where the reference does
// not say what Dataverse answers, the double's choice is marked [assumed].
package dynamicstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/internal/double"
)

// APIPath is the Web API root.
const APIPath = "/api/data/v9.2"

// Options configure a Server. Zero values take the defaults.
type Options struct {
	TenantID     string // default "00000000-0000-0000-0000-0000000000aa"
	ClientID     string // default "callsync-client"
	ClientSecret string // default "callsync-secret"
	// TokenLifetime is the expires_in of issued tokens (default 1h).
	TokenLifetime time.Duration
	// PageSize is the default page size (Dataverse: 5000); a small value
	// exercises @odata.nextLink paging.
	PageSize int
	// MaxURL and MaxBatchURL are the URL limits (32,768 and 65,536);
	// MaxBatchOps the requests per $batch (1,000).
	MaxURL      int
	MaxBatchURL int
	MaxBatchOps int
	// MinimalOrg shapes an environment without Dynamics 365 Sales and
	// nothing custom: no lead table (lead comes with Sales), only the
	// standard columns.
	MinimalOrg bool
	// NoChangeTracking shapes an org whose contact, account and lead
	// tables do not have "Track changes" enabled: odata.track-changes is
	// ignored and no delta link is given.
	NoChangeTracking bool
}

// Server is the double. All methods are safe for concurrent use.
type Server struct {
	// URL is the org URL (http://127.0.0.1:port); the Web API is at URL +
	// APIPath and the token endpoint at URL/{tenant}/oauth2/v2.0/token.
	URL string

	srv  *httptest.Server
	opts Options

	mu          sync.Mutex
	tables      map[string]*table
	parties     map[string][]Party // activityid -> parties
	statusCodes map[int][]int      // statecode -> valid statuscodes
	tokens      map[string]time.Time
	appUserID   string
	faults      double.Faults
	rec         double.Recorder[Request]
	now         func() time.Time
	// rejectQueueParties makes a queue as a phone call party fail.
	rejectQueueParties bool
	// denied privileges of the application user (lower case).
	denied map[string]bool
	// answers holds *bytes.Buffer for $batch answers, reused once written.
	answers sync.Pool
	// bodies holds *bytes.Buffer for request bodies, reused once the
	// request is served: what a request keeps of its body is copied (the
	// JSON Decoder's strings share a copy of the bytes decoded, a $batch
	// part's request line and header are read from a string of their own).
	bodies sync.Pool
}

// NewServer starts a double on a loopback port.
func NewServer(o Options) *Server {
	if o.TenantID == "" {
		o.TenantID = "00000000-0000-0000-0000-0000000000aa"
	}
	if o.ClientID == "" {
		o.ClientID = "callsync-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "callsync-secret"
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = time.Hour
	}
	if o.PageSize <= 0 {
		o.PageSize = 5000
	}
	if o.MaxURL == 0 {
		o.MaxURL = 32768
	}
	if o.MaxBatchURL == 0 {
		o.MaxBatchURL = 65536
	}
	if o.MaxBatchOps == 0 {
		o.MaxBatchOps = 1000
	}
	s := &Server{
		opts:    o,
		tables:  newTables(),
		parties: map[string][]Party{},
		// [Writing: Closing as completed] states 0 Open, 1 Completed,
		// 2 Canceled; status 1 Open, 2 Made, 4 Received, 3 Canceled.
		statusCodes: map[int][]int{0: {1}, 1: {2, 4}, 2: {3}},
		tokens:      map[string]time.Time{},
		now:         func() time.Time { return time.Now().UTC() },
		denied:      map[string]bool{},
		answers:     sync.Pool{New: func() any { return new(bytes.Buffer) }},
		bodies:      sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	if o.MinimalOrg {
		delete(s.tables, "leads")
	}
	for _, set := range []string{"contacts", "accounts", "leads"} {
		if tb := s.tables[set]; tb != nil {
			tb.tracked = !o.NoChangeTracking
		}
	}
	// The application user the client authenticates as; owns what it
	// creates without an owner [Auth: Identity].
	s.appUserID = s.AddUser(User{Name: "# callsync", Email: "", Application: true})
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Config returns a dynamics.Config pointing at the double.
func (s *Server) Config() dynamics.Config {
	return dynamics.Config{
		URL:          s.URL,
		AuthorityURL: s.URL,
		TenantID:     s.opts.TenantID,
		ClientID:     s.opts.ClientID,
		ClientSecret: s.opts.ClientSecret,
	}
}

// AppUserID is the systemuserid of the application user.
func (s *Server) AppUserID() string { return s.appUserID }

// --- seeding ---

// Record seeds a contact, account or lead.
type Record struct {
	ID   string // generated when empty
	Name string // fullname (contact, lead) or name (account)
	// Phones maps a phone column (telephone1, telephone2, telephone3,
	// mobilephone) to its stored value.
	Phones  map[string]string
	OwnerID string
	// ParentAccountID is a contact's parentcustomerid (an account) or a
	// lead's parentaccountid.
	ParentAccountID string
	// Fields are extra columns (custom ones are added to the table);
	// values are string, bool, int or time.Time.
	Fields map[string]any
}

// AddContact seeds a contact and returns its id.
func (s *Server) AddContact(r Record) string { return s.addRecord("contacts", r) }

// AddAccount seeds an account and returns its id.
func (s *Server) AddAccount(r Record) string { return s.addRecord("accounts", r) }

// AddLead seeds a lead and returns its id.
func (s *Server) AddLead(r Record) string { return s.addRecord("leads", r) }

func (s *Server) addRecord(set string, r Record) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[set]
	id := r.ID
	if id == "" {
		id = uuid.NewString()
	}
	rw := row{t.key: id}
	if set == "accounts" {
		rw["name"] = r.Name
	} else {
		rw["fullname"] = r.Name
	}
	for col, v := range r.Phones {
		if ct, ok := t.cols[col]; !ok || ct != tString || !isPhoneColumn(col) {
			panic(fmt.Sprintf("dynamicstest: %s has no phone column %q", t.logical, col))
		}
		rw[col] = v
	}
	owner := r.OwnerID
	if owner == "" {
		owner = s.appUserID
	}
	rw["_ownerid_value"], rw["_ownerid_value"+lookupSuffix] = owner, "systemuser"
	if r.ParentAccountID != "" {
		col := "_parentaccountid_value"
		if set == "contacts" {
			col = "_parentcustomerid_value"
		}
		rw[col], rw[col+lookupSuffix] = r.ParentAccountID, "account"
	}
	rw["statecode"] = 0
	s.setFields(t, rw, r.Fields)
	t.insert(rw, s.now())
	return id
}

func isPhoneColumn(c string) bool {
	return c == "telephone1" || c == "telephone2" || c == "telephone3" || c == "mobilephone"
}

func (s *Server) setFields(t *table, rw row, fields map[string]any) {
	for k, v := range fields {
		ct, val, err := typeOf(v)
		if err != nil {
			panic(fmt.Sprintf("dynamicstest: %s.%s: %v", t.logical, k, err))
		}
		if have, ok := t.cols[k]; ok && have != ct {
			panic(fmt.Sprintf("dynamicstest: %s.%s is %s, not %s", t.logical, k, have.edm(), ct.edm()))
		}
		t.cols[k] = ct
		rw[k] = val
	}
}

// User seeds a systemuser.
type User struct {
	ID       string
	Name     string
	Email    string // internalemailaddress
	Disabled bool
	// Application marks an application user (applicationid set, accessmode 4).
	Application bool
	// Fields are extra columns, e.g. a custom Enreach user id column.
	Fields map[string]any
}

// AddUser seeds a systemuser and returns its id.
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["systemusers"]
	id := u.ID
	if id == "" {
		id = uuid.NewString()
	}
	rw := row{t.key: id, "fullname": u.Name, "internalemailaddress": u.Email, "domainname": u.Email,
		"isdisabled": u.Disabled, "accessmode": 0}
	if u.Application {
		rw["applicationid"], rw["accessmode"] = uuid.NewString(), 4
	}
	s.setFields(t, rw, u.Fields)
	t.insert(rw, s.now())
	return id
}

// Queue seeds a queue.
type Queue struct {
	ID      string
	Name    string
	OwnerID string
	// Inactive queues have statecode 1 [Finding users and queues].
	Inactive bool
}

// AddQueue seeds a queue and returns its id.
func (s *Server) AddQueue(q Queue) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["queues"]
	id := q.ID
	if id == "" {
		id = uuid.NewString()
	}
	owner := q.OwnerID
	if owner == "" {
		owner = s.appUserID
	}
	state := 0
	if q.Inactive {
		state = 1
	}
	t.insert(row{t.key: id, "name": q.Name, "_ownerid_value": owner, "_ownerid_value" + lookupSuffix: "systemuser",
		"queueviewtype": 0, "statecode": state}, s.now())
	return id
}

// AddStatusReason adds a custom phonecall status reason valid for state.
func (s *Server) AddStatusReason(state, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statusCodes[state] = append(s.statusCodes[state], status)
}

// --- inspection ---

// Ref points at a record.
type Ref struct {
	Entity string // logical name: contact, account, lead, systemuser
	ID     string
}

// Party is one activity party of a phone call.
type Party struct {
	Mask int // 1 sender (from), 2 to recipient
	Ref
}

// PhoneCall is a stored phonecall activity.
type PhoneCall struct {
	ID              string
	Subject         string
	PhoneNumber     string
	Description     string
	Outbound        bool // directioncode
	ActualStart     time.Time
	ActualEnd       time.Time
	DurationMinutes int
	ScheduledEnd    time.Time
	OwnerID         string
	Regarding       *Ref
	Parties         []Party
	StateCode       int
	StatusCode      int
	// Queues lists the queues the call was added to.
	Queues    []string
	CreatedOn time.Time
}

// From returns the sender party, if any.
func (p PhoneCall) From() *Ref { return p.party(1) }

// To returns the first "to" party, if any.
func (p PhoneCall) To() *Ref { return p.party(2) }

func (p PhoneCall) party(mask int) *Ref {
	for _, x := range p.Parties {
		if x.Mask == mask {
			r := x.Ref
			return &r
		}
	}
	return nil
}

// PhoneCalls returns every stored phone call in creation order.
func (s *Server) PhoneCalls() []PhoneCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["phonecalls"]
	queues := map[string][]string{}
	qi := s.tables["queueitems"]
	for _, id := range qi.order {
		r := qi.rows[id]
		obj, _ := r["_objectid_value"].(string)
		q, _ := r["_queueid_value"].(string)
		queues[obj] = append(queues[obj], q)
	}
	out := make([]PhoneCall, 0, len(t.order))
	for _, id := range t.order {
		r := t.rows[id]
		pc := PhoneCall{
			ID:          id,
			Subject:     str(r["subject"]),
			PhoneNumber: str(r["phonenumber"]),
			Description: str(r["description"]),
			Outbound:    r["directioncode"] == true,
			OwnerID:     str(r["_ownerid_value"]),
			Parties:     append([]Party(nil), s.parties[id]...),
			Queues:      queues[id],
		}
		pc.ActualStart, _ = r["actualstart"].(time.Time)
		pc.ActualEnd, _ = r["actualend"].(time.Time)
		pc.ScheduledEnd, _ = r["scheduledend"].(time.Time)
		pc.CreatedOn, _ = r["createdon"].(time.Time)
		pc.DurationMinutes, _ = r["actualdurationminutes"].(int)
		pc.StateCode, _ = r["statecode"].(int)
		pc.StatusCode, _ = r["statuscode"].(int)
		if reg := str(r["_regardingobjectid_value"]); reg != "" {
			pc.Regarding = &Ref{Entity: str(r["_regardingobjectid_value"+lookupSuffix]), ID: reg}
		}
		out = append(out, pc)
	}
	return out
}

// PhoneCall returns one stored phone call.
func (s *Server) PhoneCall(id string) (PhoneCall, bool) {
	for _, pc := range s.PhoneCalls() {
		if strings.EqualFold(pc.ID, id) {
			return pc, true
		}
	}
	return PhoneCall{}, false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// --- fault injection ---

// RejectQueueParties makes the org refuse a queue as a phone call party
// (partyid_queue), as an org whose platform does not take queue parties
// would; by default they are accepted.
func (s *Server) RejectQueueParties(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectQueueParties = on
}

// ExpireTokens makes every token issued so far expired: the next API
// request with one gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.tokens {
		s.tokens[tok] = time.Time{}
	}
}

// --- HTTP ---

type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errBody(code, message string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		s.serveToken(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	ops := 1
	defer func() {
		s.rec.Record(Request{Request: double.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status}, Ops: ops})
	}()
	// Every answer says how many requests are left in the service
	// protection window (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#http-response-headers);
	// the double counts every Web API request it served against one window
	// of BurstLimit requests.
	remaining := func() {
		rec.Header().Set("x-ms-ratelimit-burst-remaining-xrm-requests", strconv.Itoa(max(0, BurstLimit-s.rec.APIRequests()-1)))
	}
	if f, ok := s.faults.Take(r.Method, r.URL.Path); ok {
		remaining()
		s.writeFault(rec, f)
		return
	}
	if !strings.HasPrefix(r.URL.Path, APIPath+"/") {
		writeJSON(rec, http.StatusNotFound, errBody("0x80060888", "Resource not found for the segment '"+strings.TrimPrefix(r.URL.Path, "/")+"'."))
		return
	}
	if !s.authorized(rec, r) {
		return
	}
	remaining()
	if full := len(s.URL) + len(r.URL.RequestURI()); full > s.opts.MaxURL {
		// [Finding a caller by phone: URL limit 32,768]; status [assumed].
		writeJSON(rec, http.StatusRequestURITooLong, errBody("0x80060888", fmt.Sprintf("The request URL is %d characters long; the limit is %d.", full, s.opts.MaxURL)))
		return
	}
	buf := s.bodies.Get().(*bytes.Buffer)
	defer s.bodies.Put(buf)
	body, err := double.ReadBodyInto(buf, r)
	if err != nil {
		writeJSON(rec, http.StatusBadRequest, errBody("0x80060888", "Cannot read the request body."))
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, APIPath+"/")
	if rel == "$batch" && r.Method == http.MethodPost {
		ops = s.serveBatch(rec, r, body)
		return
	}
	resp := s.execLocked(apiRequest{method: r.Method, path: rel, query: r.URL.RawQuery, header: r.Header, body: body})
	for k, v := range resp.header {
		rec.Header()[k] = v
	}
	if resp.body == nil {
		rec.WriteHeader(resp.status)
		return
	}
	writeJSON(rec, resp.status, resp.body)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// authorized checks the bearer token; an unknown or expired one gets 401
// with the WWW-Authenticate challenge and an empty body [Auth; the body is
// assumed].
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	valid := ok && known && s.now().Before(exp)
	s.mu.Unlock()
	if valid {
		return true
	}
	desc := "The access token is missing or invalid"
	if known {
		desc = "The access token expired"
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", error_description=%q, authorization_uri="%s/%s/oauth2/authorize", resource_id="%s"`,
		desc, s.URL, s.opts.TenantID, s.URL))
	w.WriteHeader(http.StatusUnauthorized)
	return false
}

// serveToken is Entra ID's v2.0 token endpoint for the client credentials
// grant [Auth: Token endpoint, Grant].
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	defer func() {
		s.rec.Record(Request{Request: double.Request{Method: r.Method, Path: r.URL.Path, Status: rec.status, Token: true}, Ops: 1})
	}()
	aad := func(status int, errCode, desc string) {
		b, _ := json.Marshal(map[string]any{"error": errCode, "error_description": desc,
			"timestamp": s.now().Format("2006-01-02 15:04:05Z"), "trace_id": uuid.NewString(), "correlation_id": uuid.NewString()})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		w.Write(b)
	}
	if r.Method != http.MethodPost {
		aad(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if tenant != s.opts.TenantID {
		aad(http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant))
		return
	}
	if err := r.ParseForm(); err != nil {
		aad(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		aad(http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'.", g))
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.ClientID {
		aad(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", id))
		return
	}
	if secret != s.opts.ClientSecret {
		aad(http.StatusUnauthorized, "invalid_client", fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", id))
		return
	}
	if scope := r.PostForm.Get("scope"); scope != s.URL+"/.default" {
		aad(http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(s.opts.TokenLifetime)
	s.mu.Unlock()
	secs := int(s.opts.TokenLifetime / time.Second)
	out, _ := json.Marshal(map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(out)
}

// apiRequest is one Web API request, top level or inside a $batch.
type apiRequest struct {
	method string
	path   string // below APIPath/, e.g. "contacts" or "phonecalls(<id>)"
	query  string // raw query
	header http.Header
	body   []byte
	// entity is body already read as an entity, or nil: read it then.
	entity *entityBody
}

// entityBody is what decodeEntity made of a request's header and body.
type entityBody struct {
	m   map[string]any
	err error
}

// decodedEntity is decodeEntity(r.header, r.body), read before if it was.
func (r apiRequest) decodedEntity() (map[string]any, error) {
	if r.entity != nil {
		return r.entity.m, r.entity.err
	}
	return decodeEntity(nil, r.header, r.body)
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func errResponse(status int, code, message string) apiResponse {
	return apiResponse{status: status, header: http.Header{}, body: errBody(code, message)}
}

func fromErr(err error) apiResponse {
	switch e := err.(type) {
	case *apiError:
		return errResponse(e.status, e.code, e.message)
	case *filterError:
		return errResponse(http.StatusBadRequest, "0x80060888", e.msg)
	}
	return errResponse(http.StatusInternalServerError, "0x80040216", err.Error())
}

// tx collects undo steps of a changeset and its Content-ID results.
type tx struct {
	undo []func()
	// refs maps a Content-ID to the path of the entity it created.
	refs map[string]string
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

// rollbackAfterBug is rollback after a panic in the double: the steps
// recorded are undone; a step that panics in turn is skipped, as the
// answer is a 500 for a bug already.
func (t *tx) rollbackAfterBug() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		func() {
			defer func() { recover() }()
			t.undo[i]()
		}()
	}
	t.undo = nil
}

// execLocked runs one top-level request under s.mu; a bug in the double
// answers 500 instead of leaving the lock held.
func (s *Server) execLocked(r apiRequest) (resp apiResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			resp = errResponse(http.StatusInternalServerError, "0x80040216", fmt.Sprintf("dynamicstest bug: %v", p))
		}
	}()
	return s.exec(r, nil)
}

// exec runs one request with s.mu held. t is nil outside a changeset.
func (s *Server) exec(r apiRequest, t *tx) apiResponse {
	if strings.HasPrefix(r.path, "EntityDefinitions(") && r.method == http.MethodGet {
		return s.serveMetadata(r)
	}
	set, key, action, err := parsePath(r.path)
	if err != nil {
		return fromErr(err)
	}
	if set == "WhoAmI" && r.method == http.MethodGet {
		b, _ := json.Marshal(map[string]any{"@odata.context": s.URL + APIPath + "/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
			"BusinessUnitId": "00000000-0000-0000-0000-0000000000b0", "UserId": s.appUserID, "OrganizationId": "00000000-0000-0000-0000-0000000000c0"})
		return apiResponse{status: http.StatusOK, header: http.Header{}, body: b}
	}
	if set == "systemusers" && key != "" && r.method == http.MethodGet && action == "Microsoft.Dynamics.CRM.RetrieveUserPrivileges()" {
		return s.retrieveUserPrivileges(key)
	}
	if set == "systemusers" && key != "" && r.method == http.MethodGet && action == "Microsoft.Dynamics.CRM.RetrievePrincipalAttributePrivileges()" {
		return s.retrievePrincipalAttributePrivileges(key)
	}
	tb, ok := s.tables[set]
	if !ok {
		return errResponse(http.StatusNotFound, "0x80060888", fmt.Sprintf("Resource not found for the segment '%s'.", set))
	}
	if r.method == http.MethodGet {
		if resp, denied := s.privilegeDenied(readPrivilege[set], tb.logical); denied {
			return resp
		}
	}
	switch {
	case r.method == http.MethodGet && key == "" && action == "":
		return s.query(tb, r)
	case r.method == http.MethodGet && key != "" && action == "":
		return s.getOne(tb, key, r)
	case r.method == http.MethodPost && set == "phonecalls" && key == "" && action == "":
		return s.createPhoneCall(r, t)
	case r.method == http.MethodPatch && set == "phonecalls" && key != "" && action == "":
		return s.patchPhoneCall(key, r, t)
	case r.method == http.MethodPost && set == "queues" && key != "" && action == "Microsoft.Dynamics.CRM.AddToQueue":
		return s.addToQueue(key, r, t)
	}
	return errResponse(http.StatusMethodNotAllowed, "0x80060888", fmt.Sprintf("The double does not support %s %s.", r.method, r.path))
}

// parsePath splits "set", "set(key)" or "set(key)/action".
func parsePath(p string) (set, key, action string, err error) {
	p = strings.TrimSuffix(p, "/")
	seg, rest, _ := strings.Cut(p, "/")
	action = rest
	set = seg
	if i := strings.IndexByte(seg, '('); i >= 0 {
		if !strings.HasSuffix(seg, ")") {
			return "", "", "", &apiError{http.StatusBadRequest, "0x80060888", fmt.Sprintf("Bad Request - Error in query syntax: '%s'.", seg)}
		}
		set, key = seg[:i], seg[i+1:len(seg)-1]
		if _, perr := uuid.Parse(key); perr != nil {
			return "", "", "", &apiError{http.StatusBadRequest, "0x80060888", fmt.Sprintf("Unrecognized 'Edm.Guid' literal '%s' at '%d' in '%s'.", key, i+1, seg)}
		}
		key = strings.ToLower(key)
	}
	return set, key, action, nil
}

// preferences parses the Prefer header(s).
func preferences(h http.Header) map[string]string {
	out := map[string]string{}
	for _, v := range h.Values("Prefer") {
		for _, p := range splitOutsideQuotes(v) {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k != "" {
				out[strings.ToLower(k)] = strings.Trim(val, `"`)
			}
		}
	}
	return out
}

// splitOutsideQuotes splits a header value at commas outside double quotes.
func splitOutsideQuotes(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// render turns a row into its JSON object with the selected columns.
func (s *Server) render(t *table, r row, sel []string, annotations bool) map[string]any {
	id := r[t.key].(string)
	out := map[string]any{"@odata.etag": fmt.Sprintf(`W/"%d"`, 1000+t.meta[id].version)}
	cols := sel
	if len(cols) == 0 {
		for c := range t.cols {
			cols = append(cols, c)
		}
		sort.Strings(cols)
	}
	r = t.visible(r)
	for _, c := range cols {
		v := r[c]
		if d, ok := v.(time.Time); ok {
			v = d.UTC().Format("2006-01-02T15:04:05Z")
		}
		out[c] = v
		if annotations && strings.HasPrefix(c, "_") && strings.HasSuffix(c, "_value") && v != nil {
			out[c+lookupSuffix] = r[c+lookupSuffix]
		}
	}
	// The primary key is always returned.
	out[t.key] = id
	return out
}

func wantsLookupNames(prefs map[string]string) bool {
	v, ok := prefs["odata.include-annotations"]
	if !ok {
		return false
	}
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimSpace(a)
		if a == "*" || a == "Microsoft.Dynamics.CRM.*" || a == "Microsoft.Dynamics.CRM.lookuplogicalname" {
			return true
		}
	}
	return false
}

func (s *Server) parseSelect(t *table, v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var sel []string
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		if _, ok := t.cols[c]; !ok {
			return nil, &apiError{http.StatusBadRequest, "0x80060888", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", c, t.logical)}
		}
		sel = append(sel, c)
	}
	return sel, nil
}

// query serves GET {set}?$select&$filter&$top&$skiptoken [Finding a caller
// by phone: $filter, paging; $skip, $search, $format unsupported].
func (s *Server) query(t *table, r apiRequest) apiResponse {
	q, err := url.ParseQuery(r.query)
	if err != nil {
		return errResponse(http.StatusBadRequest, "0x80060888", "The query string is malformed: "+err.Error())
	}
	_, track := preferences(r.header)[trackChangesPref]
	if c, ok := parseCookie(q.Get("$skiptoken")); ok && c.tracking {
		track = true // the next page of a tracked listing
	}
	if (track || q.Has("$deltatoken")) && t.tracked {
		return s.trackedQuery(t, r, q)
	}
	if q.Has("$deltatoken") {
		return errResponse(http.StatusBadRequest, "0x80060888", fmt.Sprintf("Change tracking is not enabled for the entity '%s'.", t.logical))
	}
	for k := range q {
		switch k {
		case "$select", "$filter", "$top", "$skiptoken":
		case "$skip", "$search", "$format":
			// [Finding a caller by phone: not supported by Dataverse]
			return errResponse(http.StatusBadRequest, "0x80060888", fmt.Sprintf("The query parameter %s is not supported", k))
		default:
			if strings.HasPrefix(k, "$") {
				// Supported by Dataverse ($orderby, $expand, $count, $apply)
				// but not by the double: refuse rather than ignore.
				return errResponse(http.StatusNotImplemented, "0x80060888", fmt.Sprintf("dynamicstest does not implement the query option %s", k))
			}
		}
	}
	sel, err := s.parseSelect(t, q.Get("$select"))
	if err != nil {
		return fromErr(err)
	}
	var filter expr
	if f := q.Get("$filter"); f != "" {
		if filter, _, err = parseFilter(t, f); err != nil {
			return fromErr(err)
		}
	}
	prefs := preferences(r.header)
	pageSize := s.opts.PageSize
	applied := ""
	if v, ok := prefs["odata.maxpagesize"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			pageSize = min(n, 5000)
			applied = "odata.maxpagesize=" + v
		}
	}
	top := -1
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errResponse(http.StatusBadRequest, "0x80060888", fmt.Sprintf("Invalid value '%s' for $top query option found.", v))
		}
		if applied == "" { // $top is ignored with odata.maxpagesize
			top = n
		}
	}
	cur := pageCookie{page: 1}
	if v := q.Get("$skiptoken"); v != "" {
		c, ok := parseCookie(v)
		if !ok || c.tracking {
			return errResponse(http.StatusBadRequest, "0x80060888", "The $skiptoken is not valid.")
		}
		cur = c
	}
	limit := pageSize
	if top >= 0 {
		if top <= 5000 {
			limit = top // $top up to 5000 is one page
		} else {
			limit = min(pageSize, top-cur.count)
		}
	}
	ann := wantsLookupNames(prefs)
	value := make([]map[string]any, 0, min(limit, 64))
	more := false
	for _, id := range t.candidates(filter, cur.pos) {
		rw := t.rows[id]
		if filter != nil && !filter.eval(t.visible(rw)) {
			continue
		}
		if len(value) >= limit {
			more = true
			break
		}
		value = append(value, s.render(t, rw, sel, ann))
		cur.last, cur.pos = id, t.meta[id].pos
	}
	cur.count += len(value)
	if top >= 0 && (top <= 5000 || cur.count >= top) {
		more = false
	}
	ctx := s.URL + APIPath + "/$metadata#" + t.set
	if len(sel) > 0 {
		ctx += "(" + strings.Join(sel, ",") + ")"
	}
	out := map[string]any{"@odata.context": ctx, "value": value}
	if more {
		cur.page++
		q.Set("$skiptoken", cur.String())
		out["@odata.nextLink"] = s.URL + APIPath + "/" + t.set + "?" + encodeQuery(q)
	}
	b, _ := json.Marshal(out)
	h := http.Header{}
	var pa []string
	if applied != "" {
		pa = append(pa, applied)
	}
	if ann {
		pa = append(pa, `odata.include-annotations="`+prefs["odata.include-annotations"]+`"`)
	}
	if len(pa) > 0 {
		h.Set("Preference-Applied", strings.Join(pa, ","))
	}
	return apiResponse{status: http.StatusOK, header: h, body: b}
}

// encodeQuery re-encodes query options the way Dataverse writes nextLinks
// (%20 for spaces, $ kept).
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}

func (s *Server) getOne(t *table, key string, r apiRequest) apiResponse {
	q, _ := url.ParseQuery(r.query)
	sel, err := s.parseSelect(t, q.Get("$select"))
	if err != nil {
		return fromErr(err)
	}
	rw, ok := t.rows[key]
	if !ok {
		return errResponse(http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Id = %s Does Not Exist", t.logical, key))
	}
	out := s.render(t, rw, sel, wantsLookupNames(preferences(r.header)))
	out["@odata.context"] = s.URL + APIPath + "/$metadata#" + t.set + "/$entity"
	b, _ := json.Marshal(out)
	return apiResponse{status: http.StatusOK, header: http.Header{}, body: b}
}
