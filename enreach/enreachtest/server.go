// Package enreachtest provides an in-memory Enreach Voice API for tests, in
// the manner of net/http/httptest: discovery, Basic auth, GET /users,
// /users/me, /queues, /calls, /servicecall, /callbacklists and /callbacks
// with the filters and the 31-day rule of the client (see enreach.MaxWindow)
// and the wire shapes of enreach/fields.go, fault injection (429 with Retry-After, 401, 5xx), a request log,
// and a webhook sender. It is safe for concurrent use.
package enreachtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/internal/double"
	"github.com/google/uuid"
)

// MaxWindow is the longest filter window the double accepts (31 days).
const MaxWindow = 31 * 24 * time.Hour

// Server is a running double. Its exported fields are set by NewServer and
// must not be changed afterwards.
type Server struct {
	// URL is the API base URL (no trailing slash).
	URL string
	// DiscoveryURL serves GET/POST /api/user on the same server; discovery
	// answers apiEndpoint URL + "/".
	DiscoveryURL string
	// User and Secret are the Basic auth credentials accepted (Secret until
	// SetSecret replaces it).
	User   string
	Secret string
	// UserID and OrganizationID are the API user's ids (GET /users/me, the
	// webhook RootEntityId).
	UserID         string
	OrganizationID string

	srv *httptest.Server

	mu           sync.Mutex
	users        []enreach.User
	queues       []enreach.Queue
	calls        []enreach.Call
	serviceCalls []enreach.ServiceCall
	// The calls' and service calls' positions by StartTime and by
	// Modified (timeindex.go).
	callsByStart, callsByModified     timeIndex
	serviceByStart, serviceByModified timeIndex
	lists                             []enreach.CallbackList
	callbacks                         []enreach.Callback
	raw                               map[string][]json.RawMessage
	faults                            double.Faults
	rec                               double.Recorder[Request]
	// secret is the accepted secret key (Secret, or SetSecret's).
	secret string
	// denied paths and callback lists answer 403 (an API user without the
	// right on them).
	denied      map[string]bool
	deniedLists map[string]bool
	// listBufs holds *[]byte buffers of /calls and /servicecall answers,
	// reused once written (listBuf).
	listBufs sync.Pool
}

// NewServer starts a double on a loopback port with fresh credentials. The
// API user is not in the /users list unless added.
func NewServer() *Server {
	s := &Server{
		User:           "api.user@contoso.example",
		Secret:         "sk-" + uuid.NewString(),
		UserID:         uuid.NewString(),
		OrganizationID: uuid.NewString(),
		raw:            map[string][]json.RawMessage{},
		denied:         map[string]bool{},
		deniedLists:    map[string]bool{},
	}
	s.secret = s.Secret
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.DiscoveryURL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an *http.Client for the server (plain, no retries).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddUsers adds users to GET /users.
func (s *Server) AddUsers(us ...enreach.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, us...)
}

// AddQueues adds queues to GET /queues.
func (s *Server) AddQueues(qs ...enreach.Queue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues = append(s.queues, qs...)
}

// AddCalls adds user call events to GET /calls. A zero Modified is set to
// EndTime (or StartTime). Raw is ignored: records are serialised from the
// fields.
func (s *Server) AddCalls(cs ...enreach.Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.Modified.IsZero() {
			c.Modified = firstSet(c.EndTime, c.StartTime)
		}
		s.calls = append(s.calls, c)
	}
}

// AddServiceCalls adds queue calls to GET /servicecall (Modified as AddCalls).
func (s *Server) AddServiceCalls(cs ...enreach.ServiceCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.Modified.IsZero() {
			c.Modified = firstSet(c.EndTime, c.StartTime)
		}
		s.serviceCalls = append(s.serviceCalls, c)
	}
}

// Records is the number of user call events and service calls held.
func (s *Server) Records() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls) + len(s.serviceCalls)
}

// AddCallbackLists adds lists to GET /callbacklists.
func (s *Server) AddCallbackLists(ls ...enreach.CallbackList) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists = append(s.lists, ls...)
}

// AddCallbacks adds callback requests. A zero CreatedTime is set to now; a
// zero ModifiedTime to CreatedTime.
func (s *Server) AddCallbacks(cbs ...enreach.Callback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Second)
	for _, cb := range cbs {
		if cb.CreatedTime.IsZero() {
			cb.CreatedTime = now
		}
		if cb.ModifiedTime.IsZero() {
			cb.ModifiedTime = cb.CreatedTime
		}
		s.callbacks = append(s.callbacks, cb)
	}
}

// UpdateCallback replaces the callback request with cb.ID. A ModifiedTime
// not after the stored one is set to now, as the API bumps it on every
// change. It returns the stored value.
func (s *Server) UpdateCallback(cb enreach.Callback) (enreach.Callback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.callbacks {
		if old.ID != cb.ID {
			continue
		}
		if !cb.ModifiedTime.After(old.ModifiedTime) {
			cb.ModifiedTime = time.Now().UTC().Truncate(time.Second)
			if !cb.ModifiedTime.After(old.ModifiedTime) {
				cb.ModifiedTime = old.ModifiedTime.Add(time.Second)
			}
		}
		if cb.CreatedTime.IsZero() {
			cb.CreatedTime = old.CreatedTime
		}
		s.callbacks[i] = cb
		return cb, nil
	}
	return enreach.Callback{}, fmt.Errorf("enreachtest: no callback %s", cb.ID)
}

// CloseCallback marks a callback request closed with a handling status.
func (s *Server) CloseCallback(id, handlingStatus string) (enreach.Callback, error) {
	cb, ok := s.Callback(id)
	if !ok {
		return enreach.Callback{}, fmt.Errorf("enreachtest: no callback %s", id)
	}
	now := time.Now().UTC().Truncate(time.Second)
	cb.IsClosed = true
	cb.ClosedTime = &now
	cb.HandlingStatus = handlingStatus
	cb.ModifiedTime = time.Time{}
	return s.UpdateCallback(cb)
}

// Callback returns the stored callback request with id.
func (s *Server) Callback(id string) (enreach.Callback, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cb := range s.callbacks {
		if cb.ID == id {
			return cb, true
		}
	}
	return enreach.Callback{}, false
}

// AddRaw appends a raw JSON element to every answer of path ("/calls",
// "/servicecall", "/callbacks", "/users", ...), whatever the filters, to
// inject malformed or oddly cased records.
func (s *Server) AddRaw(path string, raw json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := normPath(path)
	s.raw[p] = append(s.raw[p], append(json.RawMessage(nil), raw...))
}

// SetSecret makes the double accept only secret from now on, as when an
// admin creates a new secret key for the API user: clients configured with
// the old one get 401. SetSecret(s.Secret) restores the original.
func (s *Server) SetSecret(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = secret
}

// Deny takes the API user's right to read path away ("/users", "/queues",
// "/callbacklists"): it answers 403 until Allow. The status and body of a
// denial are assumed (not publicly documented): 403 with a .NET Web API
// {"Message": ...} body, as the API's other errors.
func (s *Server) Deny(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[normPath(path)] = true
}

// DenyCallbackList takes the API user's right on one callback list away:
// GET /callbacks of that list answers 403 until Allow; the list is still
// shown by GET /callbacklists.
func (s *Server) DenyCallbackList(listID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deniedLists[strings.ToLower(listID)] = true
}

// Allow gives back every right taken by Deny and DenyCallbackList.
func (s *Server) Allow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied = map[string]bool{}
	s.deniedLists = map[string]bool{}
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func normPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
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

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	entry := Request{Request: double.Request{Method: r.Method, Path: normPath(r.URL.Path), Query: r.URL.RawQuery}, At: time.Now()}
	defer func() {
		entry.Status = rec.status
		s.rec.Record(entry)
	}()
	if f, ok := s.faults.Take(entry.Method, entry.Path); ok {
		writeFault(rec, f)
		return
	}
	if entry.Path == "/api/user" {
		s.discovery(rec, r)
		return
	}
	if r.Method != http.MethodGet {
		writeError(rec, http.StatusMethodNotAllowed, fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
		return
	}
	if !s.authorized(r) {
		rec.Header().Set("WWW-Authenticate", `Basic realm="BeneAPI"`)
		writeError(rec, http.StatusUnauthorized, "Authorization has been denied for this request.")
		return
	}
	// The API serialises JSON or XML (https://doc.enreachvoice.com/beneapi); callsync must ask for JSON.
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeError(rec, http.StatusNotAcceptable, "this double only answers Accept: application/json")
		return
	}
	q := r.URL.Query()
	if s.isDenied(entry.Path, q) {
		writeError(rec, http.StatusForbidden, "The API user has no permission for this resource.")
		return
	}
	switch {
	case entry.Path == "/users":
		s.list(rec, entry.Path, func() []any { return mapAll(s.users, toWireUser) })
	case entry.Path == "/users/me":
		writeJSON(rec, http.StatusOK, wireMe{Id: s.UserID, UserName: s.User, OrganizationID: s.OrganizationID})
	case strings.HasPrefix(entry.Path, "/users/"):
		s.userByID(rec, strings.TrimPrefix(entry.Path, "/users/"))
	case entry.Path == "/queues":
		s.list(rec, entry.Path, func() []any { return mapAll(s.queues, toWireQueue) })
	case entry.Path == "/callbacklists":
		s.list(rec, entry.Path, func() []any { return mapAll(s.lists, toWireCallbackList) })
	case entry.Path == "/calls":
		s.handleCalls(rec, q)
	case entry.Path == "/servicecall":
		s.handleServiceCalls(rec, q)
	case entry.Path == "/callbacks":
		s.handleCallbacks(rec, q)
	default:
		writeError(rec, http.StatusNotFound, fmt.Sprintf("No HTTP resource was found that matches the request URI '%s'.", r.URL.Path))
	}
}

func (s *Server) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok && strings.EqualFold(u, s.User) && p == s.secret
}

func (s *Server) isDenied(path string, q url.Values) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[path] {
		return true
	}
	return path == "/callbacks" && s.deniedLists[strings.ToLower(qget(q, "CallbackListId"))]
}

// discovery answers GET /api/user?user=<email> (the clients' form) and
// POST /api/user {"user": "<email>"} (the documented form) with a JSON
// array: one element for the double's user, empty for anyone else.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	var user string
	switch r.Method {
	case http.MethodGet:
		user = r.URL.Query().Get("user")
	case http.MethodPost:
		var body struct{ User string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "body must be {\"user\": \"<email>\"}")
			return
		}
		user = body.User
	default:
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
		return
	}
	if user == "" {
		writeError(w, http.StatusBadRequest, "user is required")
		return
	}
	out := []wireDiscovery{}
	if strings.EqualFold(user, s.User) {
		out = append(out, wireDiscovery{
			SiloName: "test", Username: s.User, APIEndpoint: s.URL + "/",
			UIEndpoint: s.URL + "/ui/", Authority: s.URL + "/auth", BasicAuthEndpoint: s.URL + "/",
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) list(w http.ResponseWriter, path string, items func() []any) {
	s.mu.Lock()
	out := append(items(), s.rawFor(path)...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) userByID(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.ID, id) {
			writeJSON(w, http.StatusOK, toWireUser(u))
			return
		}
	}
	writeError(w, http.StatusNotFound, "User not found")
}

// rawFor returns the injected raw elements of path; s.mu must be held.
func (s *Server) rawFor(path string) []any {
	var out []any
	for _, r := range s.raw[path] {
		out = append(out, r)
	}
	return out
}

func mapAll[T, W any](in []T, f func(T) W) []any {
	out := make([]any, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// window is a parsed [from, to) filter.
type window struct {
	set      bool
	from, to time.Time
}

func (w window) has(t time.Time) bool {
	return !w.set || (!t.Before(w.from) && t.Before(w.to))
}

// parseWindow reads a pair of time parameters: both or neither, strictly
// "yyyy-MM-dd HH:mm:ss" UTC, end not before start, at most 31 days apart.
func parseWindow(q url.Values, startName, endName string) (window, error) {
	a, b := qget(q, startName), qget(q, endName)
	if a == "" && b == "" {
		return window{}, nil
	}
	if a == "" || b == "" {
		return window{}, fmt.Errorf("%s and %s must be given together", startName, endName)
	}
	from, err := time.Parse(wireTime, a)
	if err != nil {
		return window{}, fmt.Errorf("%s %q is not a valid time (yyyy-MM-dd HH:mm:ss)", startName, a)
	}
	to, err := time.Parse(wireTime, b)
	if err != nil {
		return window{}, fmt.Errorf("%s %q is not a valid time (yyyy-MM-dd HH:mm:ss)", endName, b)
	}
	if to.Before(from) {
		return window{}, fmt.Errorf("%s is before %s", endName, startName)
	}
	if to.Sub(from) > MaxWindow {
		return window{}, fmt.Errorf("the time window between %s and %s must not exceed 31 days", startName, endName)
	}
	return window{set: true, from: from, to: to}, nil
}

// qget reads a query parameter case-insensitively (ASP.NET binding).
func qget(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// callFilters are the /calls and /servicecall filters (StartTime/EndTime or
// ModifiedAfter/ModifiedBefore, as mokso/enreachvoice sends them).
type callFilters struct {
	start, modified window
	callID          string
	userIDs         map[string]bool
}

func parseCallFilters(q url.Values) (callFilters, error) {
	var f callFilters
	var err error
	if f.start, err = parseWindow(q, "StartTime", "EndTime"); err != nil {
		return f, err
	}
	if f.modified, err = parseWindow(q, "ModifiedAfter", "ModifiedBefore"); err != nil {
		return f, err
	}
	f.callID = qget(q, "CallId")
	if !f.start.set && !f.modified.set && f.callID == "" {
		return f, fmt.Errorf("a filter is required: StartTime and EndTime, ModifiedAfter and ModifiedBefore, or CallId")
	}
	if u := qget(q, "UserIDs"); u != "" {
		f.userIDs = map[string]bool{}
		for _, id := range strings.Split(u, ",") {
			f.userIDs[strings.ToLower(strings.TrimSpace(id))] = true
		}
	}
	return f, nil
}

func (f callFilters) match(callID, userID string, start, modified time.Time) bool {
	return f.start.has(start) && f.modified.has(modified) &&
		(f.callID == "" || strings.EqualFold(f.callID, callID)) &&
		(f.userIDs == nil || f.userIDs[strings.ToLower(userID)])
}

// candidates returns, in list order, the positions of the n records the
// filters test: those in the StartTime window, else in the Modified
// window, from the time indexes; every position when neither is set.
func (f callFilters) candidates(n int, byStart *timeIndex, start func(int) time.Time, byModified *timeIndex, modified func(int) time.Time) []int {
	switch {
	case f.start.set:
		return byStart.within(n, start, f.start)
	case f.modified.set:
		return byModified.within(n, modified, f.modified)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}

func (s *Server) handleCalls(w http.ResponseWriter, q url.Values) {
	f, err := parseCallFilters(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	cands := f.candidates(len(s.calls), &s.callsByStart, func(i int) time.Time { return s.calls[i].StartTime },
		&s.callsByModified, func(i int) time.Time { return s.calls[i].Modified })
	b := s.listBuf(1 + len(cands)*listBytesPerCall)
	for _, i := range cands {
		if c := s.calls[i]; f.match(c.CallID, c.UserID, c.StartTime, c.Modified) {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendCall(b, c)
		}
	}
	raw := s.rawFor("/calls")
	s.mu.Unlock()
	s.putListBuf(writeList(w, b, raw))
}

// listBytesPerCall sizes a listing's buffer: a call's JSON is about 400
// bytes (its ids, numbers, user name and four times).
const listBytesPerCall = 448

// listBuf returns a listing's buffer: '[' with room for n more bytes, in
// a buffer of an answer written before when listBufs holds one (Write
// copies an answer to the connection, so its buffer is free once written)
// instead of a new one per listing.
func (s *Server) listBuf(n int) []byte {
	var b []byte
	if p, ok := s.listBufs.Get().(*[]byte); ok {
		b = (*p)[:0]
	}
	return append(slices.Grow(b, 1+n), '[')
}

// putListBuf gives b, written, back to listBufs.
func (s *Server) putListBuf(b []byte) {
	s.listBufs.Put(&b)
}

// writeList answers 200 with the JSON array whose elements' encoding b
// holds after its '[', followed by the raw elements: as writeJSON writes
// the []any of them all (json.Marshal of an array writes each element as
// Marshal of it, separated by commas). A raw element Marshal refuses
// answers 500, as writeJSON does.
//
// It returns b as grown, written.
func writeList(w http.ResponseWriter, b []byte, raw []any) []byte {
	for _, r := range raw {
		e, err := json.Marshal(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return b
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	b = append(b, ']')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return b
}

func (s *Server) handleServiceCalls(w http.ResponseWriter, q url.Values) {
	f, err := parseCallFilters(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	cands := f.candidates(len(s.serviceCalls), &s.serviceByStart, func(i int) time.Time { return s.serviceCalls[i].StartTime },
		&s.serviceByModified, func(i int) time.Time { return s.serviceCalls[i].Modified })
	b := s.listBuf(1 + len(cands)*listBytesPerCall)
	for _, i := range cands {
		if c := s.serviceCalls[i]; f.match(c.CallID, c.AnsweredByUserID, c.StartTime, c.Modified) {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = appendServiceCall(b, c)
		}
	}
	raw := s.rawFor("/servicecall")
	s.mu.Unlock()
	s.putListBuf(writeList(w, b, raw))
}

// handleCallbacks answers GET /callbacks?CallbackListId=..&ModifiedAfter=..&ModifiedBefore=..
// (all three required [assumed]).
func (s *Server) handleCallbacks(w http.ResponseWriter, q url.Values) {
	listID := qget(q, "CallbackListId")
	if listID == "" {
		writeError(w, http.StatusBadRequest, "CallbackListId is required")
		return
	}
	win, err := parseWindow(q, "ModifiedAfter", "ModifiedBefore")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !win.set {
		writeError(w, http.StatusBadRequest, "ModifiedAfter and ModifiedBefore are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	known := false
	for _, l := range s.lists {
		known = known || strings.EqualFold(l.ID, listID)
	}
	if !known {
		writeError(w, http.StatusNotFound, "Callback list not found")
		return
	}
	out := []any{}
	for _, cb := range s.callbacks {
		if strings.EqualFold(cb.CallbackListID, listID) && win.has(cb.ModifiedTime) {
			out = append(out, toWireCallback(cb))
		}
	}
	out = append(out, s.rawFor("/callbacks")...)
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wireError{Message: msg})
}
