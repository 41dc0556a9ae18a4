// Package double holds what the vendor doubles (enreachtest, dynamicstest,
// salesforcetest, zohotest) share so that they count requests and inject
// faults the same way: the Request log entry, the request Recorder and the
// Fault queue. It does not import testing: the sandbox runs the doubles in
// the production binary.
package double

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one HTTP request a double served.
type Request struct {
	Method string
	// Path is the URL path as the double routes it.
	Path string
	// Query is the raw URL query.
	Query string
	// Status is the status answered (a fault's status for a faulted request).
	Status int
	// Token is set for a request to the vendor's token endpoint.
	Token bool
}

// Base returns r; every double's Request embeds a Request and so has it.
func (r Request) Base() Request { return r }

// Values is the parsed URL query.
func (r Request) Values() url.Values {
	v, _ := url.ParseQuery(r.Query)
	return v
}

// Matches reports whether a request with method and path is one that
// method and path select: "" selects any method or path; a path ending in
// "*" selects every path with that prefix, any other path only itself.
func Matches(method, path, reqMethod, reqPath string) bool {
	if method != "" && !strings.EqualFold(method, reqMethod) {
		return false
	}
	if prefix, ok := strings.CutSuffix(path, "*"); ok {
		return strings.HasPrefix(reqPath, prefix)
	}
	return path == "" || path == reqPath
}

// Entry is a double's log entry: its Request with the double's own details.
type Entry interface{ Base() Request }

// Recorder counts and logs the requests a double serves. It is safe for
// concurrent use; the zero value is ready.
type Recorder[R Entry] struct {
	mu     sync.Mutex
	log    []R // requests other than token requests
	tokens int
}

// Record logs one served request.
func (c *Recorder[R]) Record(r R) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Base().Token {
		c.tokens++
		return
	}
	c.log = append(c.log, r)
}

// Requests is the number of HTTP requests served: token requests, API
// requests, and the refused and faulted ones.
func (c *Recorder[R]) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log) + c.tokens
}

// APIRequests is the number of HTTP requests served other than token
// requests (refused and faulted ones included).
func (c *Recorder[R]) APIRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log)
}

// TokenRequests is the number of requests to the token endpoint.
func (c *Recorder[R]) TokenRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// RequestsTo is the number of API requests that method and path select
// (see Matches).
func (c *Recorder[R]) RequestsTo(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.log {
		if b := r.Base(); Matches(method, path, b.Method, b.Path) {
			n++
		}
	}
	return n
}

// Log returns the API requests served, in order (token requests are
// counted, not logged).
func (c *Recorder[R]) Log() []R {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]R(nil), c.log...)
}

// ResetLog clears the log and every counter.
func (c *Recorder[R]) ResetLog() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log, c.tokens = nil, 0
}

// Fault is an answer a double gives instead of serving an API request:
// the next Times requests that Method and Path select (see Matches) get
// Status with the vendor's documented error body for it, and nothing of
// them is processed. Token requests are never faulted.
type Fault struct {
	Method string
	Path   string
	Status int
	// RetryAfter is sent as a Retry-After header in whole seconds (rounded
	// up) when > 0; a double whose vendor always sends one on 429 sends 0.
	RetryAfter time.Duration
	// Times is the number of requests answered (0 means 1).
	Times int
}

// Faults is a queue of faults. It is safe for concurrent use; the zero
// value is ready.
type Faults struct {
	mu sync.Mutex
	q  []Fault
}

// Add queues f behind the faults already queued.
func (fs *Faults) Add(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.q = append(fs.q, f)
}

// Take returns the first queued fault that selects the request and uses
// one of its Times.
func (fs *Faults) Take(method, path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.q {
		f := &fs.q[i]
		if !Matches(f.Method, f.Path, method, path) {
			continue
		}
		out := *f
		if f.Times--; f.Times == 0 {
			fs.q = append(fs.q[:i], fs.q[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// SetRetryAfter sets h's Retry-After to d in whole seconds, rounded up.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}
