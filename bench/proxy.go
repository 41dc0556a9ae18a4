package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// delayProxy puts simulated network latency in front of in-process doubles:
// one loopback reverse proxy per double listener, each request held for the
// latency before it is forwarded. Doubles that answer their own URL (OAuth
// instance_url / api_domain, OData nextLink) get it rewritten to the proxy's,
// so a client never bypasses the latency.
type delayProxy struct {
	latency time.Duration
	// urls maps a double's base URL to its proxy's base URL.
	urls     map[string]string
	servers  []*httptest.Server
	replacer *strings.Replacer
	// pairs are the replacer's (double URL, proxy URL) pairs.
	pairs []string
	// back turns proxy URLs in form bodies (an OAuth scope or audience
	// naming the resource) back into the double's, plain and URL-encoded.
	back *strings.Replacer

	requests atomic.Int64
	mu       sync.Mutex
	byPath   map[string]int
	// byBatch counts multipart $batch requests by what they carry.
	byBatch map[string]int
	// upstream is the time the doubles spent answering (ns), so the report
	// can tell double time from client time.
	upstream atomic.Int64
	// answers holds the buffers rewritten answers are written into, each
	// back in the pool once the answer was copied to the client
	// (pooledBody).
	answers sync.Pool
}

// newDelayProxy starts a proxy for each backend base URL ("http://127.0.0.1:port").
func newDelayProxy(latency time.Duration, backends ...string) *delayProxy {
	p := &delayProxy{latency: latency, urls: map[string]string{}, byPath: map[string]int{}, byBatch: map[string]int{}}
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	bufs := &bufferPool{}
	var pairs, backPairs []string
	for _, b := range backends {
		target, err := url.Parse(b)
		if err != nil {
			panic(err) // httptest URLs always parse
		}
		rp := &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Host = target.Host
				p.rewriteForm(r.Out)
			},
			Transport:      &timedTransport{rt: tr, total: &p.upstream},
			ModifyResponse: p.rewrite,
			ErrorLog:       nil,
			BufferPool:     bufs,
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.requests.Add(1)
			k := r.Method + " " + pathShape(r.URL.Path)
			p.mu.Lock()
			p.byPath[k]++
			p.mu.Unlock()
			p.countBatch(r)
			if p.latency > 0 {
				time.Sleep(p.latency)
			}
			rp.ServeHTTP(w, r)
		}))
		p.servers = append(p.servers, srv)
		p.urls[b] = srv.URL
		pairs = append(pairs, b, srv.URL)
		backPairs = append(backPairs, srv.URL, b, url.QueryEscape(srv.URL), url.QueryEscape(b))
	}
	p.replacer = strings.NewReplacer(pairs...)
	p.pairs = pairs
	p.back = strings.NewReplacer(backPairs...)
	return p
}

// bufferPool reuses the proxies' copy buffers. Without it every proxied
// response allocates a new 32 KB buffer (httputil.ReverseProxy), and the
// garbage collections that garbage causes run in the bench process whose
// in-process phases (steady) count the collector's CPU as callsync's.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32*1024)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// URL returns the proxy URL for a double's base URL.
func (p *delayProxy) URL(backend string) string { return p.urls[backend] }

// Requests is the number of requests that went through the proxy.
func (p *delayProxy) Requests() int64 { return p.requests.Load() }

// Upstream is the total time the doubles took to answer.
func (p *delayProxy) Upstream() time.Duration { return time.Duration(p.upstream.Load()) }

// ByPath counts requests by method and path shape (ids as {id}).
func (p *delayProxy) ByPath() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.byPath))
	for k, v := range p.byPath {
		out[k] = v
	}
	return out
}

// ByBatch counts the multipart $batch requests by the kinds of request
// they carry ("GET contacts+POST phonecalls"): a request of each kind
// counts once per $batch.
func (p *delayProxy) ByBatch() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.byBatch))
	for k, v := range p.byBatch {
		out[k] = v
	}
	return out
}

// countBatch counts a multipart $batch request in byBatch by the kinds of
// request it carries (batchKinds), read from its body as it is forwarded
// (kindsBody): the body is neither held whole nor copied once more.
func (p *delayProxy) countBatch(r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "$batch") ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") || r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = &kindsBody{rc: r.Body, done: func(kinds string) {
		p.mu.Lock()
		p.byBatch[kinds]++
		p.mu.Unlock()
	}}
}

// kindsBody reads a $batch request's body through a kindsWriter and hands
// the kinds it names to done once: at the end of the body, or at Close,
// which first reads what is left (as the body a client sent, it would be
// read whole). The transport reads it in its own goroutine and closes it
// when written; the reverse proxy closes it too, when it is done: mu
// keeps the two apart.
type kindsBody struct {
	mu     sync.Mutex
	rc     io.ReadCloser
	kinds  kindsWriter
	done   func(kinds string)
	closed bool
}

func (b *kindsBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.rc.Read(p)
	b.kinds.Write(p[:n])
	if err == io.EOF {
		b.finish()
	}
	return n, err
}

func (b *kindsBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.done != nil {
		io.Copy(&b.kinds, b.rc)
		b.finish()
	}
	return b.rc.Close()
}

// finish hands the kinds to done, the first time only.
func (b *kindsBody) finish() {
	if b.done != nil {
		b.done(b.kinds.String())
		b.done = nil
	}
}

// kindsWriter names the kinds of request of a multipart $batch body
// written to it in pieces of any size, as batchKinds does for the whole
// body (TestKindsWriterAsBatchKinds). Only a line that may be a request
// line (requestLine: it starts with G, P or D) is kept until its end, so
// a body line (an entity's JSON) costs no copy.
type kindsWriter struct {
	line []byte
	// skip says the line so far cannot be a request line.
	skip  bool
	kinds map[string]bool
	// kind is room for a request line's kind (appendKind).
	kind []byte
}

func (k *kindsWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(k.line) == 0 && !k.skip && p[0] != 'G' && p[0] != 'P' && p[0] != 'D' {
			k.skip = true
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !k.skip {
				k.line = append(k.line, p...)
			}
			break
		}
		if !k.skip {
			if len(k.line) == 0 {
				k.add(p[:i])
			} else {
				k.line = append(k.line, p[:i]...)
				k.add(k.line)
			}
		}
		k.line, k.skip = k.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

// add counts line (without its LF) if it is a request line. Its kind is
// named from the line's bytes (appendKind) and made a string only the
// first time it is seen: a lookup's URL holds a filter of hundreds of
// numbers, which requestLine would copy.
func (k *kindsWriter) add(line []byte) {
	method, u, ok := requestLineBytes(line)
	if !ok {
		return
	}
	k.kind = appendKind(k.kind[:0], method, u)
	if k.kinds[string(k.kind)] {
		return
	}
	if k.kinds == nil {
		k.kinds = map[string]bool{}
	}
	k.kinds[string(k.kind)] = true
}

// appendKind appends to dst the kind of request requestKind names for
// method and the URL u.
func appendKind(dst []byte, method string, u []byte) []byte {
	set := u
	if len(u) > 0 && u[0] == '$' {
		set = []byte("$n")
	}
	if i := bytes.Index(set, []byte("/api/data/")); i >= 0 {
		set = set[i+len("/api/data/"):]
		if j := bytes.IndexByte(set, '/'); j >= 0 {
			set = set[j+1:] // past the version
		}
	}
	if i := bytes.IndexAny(set, "(?"); i >= 0 {
		set = set[:i]
	}
	dst = append(append(append(dst, method...), ' '), set...)
	if bytes.Contains(u, []byte("deltatoken")) || bytes.Contains(u, []byte("trackchanges")) {
		dst = append(dst, "(delta)"...)
	}
	return dst
}

// String reads the last line (one without an LF) and names the kinds seen
// (batchKinds).
func (k *kindsWriter) String() string {
	if !k.skip && len(k.line) > 0 {
		k.add(k.line)
	}
	k.line, k.skip = k.line[:0], false
	names := make([]string, 0, len(k.kinds))
	for n := range k.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "+")
}

// batchKinds names the kinds of request a multipart $batch body carries:
// method and entity set, "(delta)" for a change-tracking read, joined with
// "+" in sorted order.
func batchKinds(b []byte) string {
	kinds := map[string]bool{}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		method, u, ok := requestLine(line)
		if !ok {
			continue
		}
		kinds[requestKind(method, u)] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, "+")
}

// requestKind names the kind of a $batch part's request: its method and
// entity set ("$n" for a reference to an earlier request of its
// changeset), "(delta)" added for a change-tracking read.
func requestKind(method, u string) string {
	set := u
	if strings.HasPrefix(u, "$") {
		set = "$n"
	}
	if i := strings.Index(set, "/api/data/"); i >= 0 {
		set = set[i+len("/api/data/"):]
		if j := strings.IndexByte(set, '/'); j >= 0 {
			set = set[j+1:] // past the version
		}
	}
	if i := strings.IndexAny(set, "(?"); i >= 0 {
		set = set[:i]
	}
	if strings.Contains(u, "deltatoken") || strings.Contains(u, "trackchanges") {
		set += "(delta)"
	}
	return method + " " + set
}

// requestLine reads a line (without its LF) of a multipart $batch body as
// the request line of a part (OData 4.0 multipart batch format: each part
// an application/http request): "METHOD URL HTTP/1.1", optionally ended by
// CR, the URL without white space.
func requestLine(line []byte) (method, u string, ok bool) {
	m, target, ok := requestLineBytes(line)
	return m, string(target), ok
}

// requestLineBytes is requestLine with the URL as a slice of line.
func requestLineBytes(line []byte) (method string, u []byte, ok bool) {
	if len(line) < 8 || (line[0] != 'G' && line[0] != 'P' && line[0] != 'D') {
		return "", nil, false
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	rest, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok {
		return "", nil, false
	}
	m, target, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(target) == 0 || bytes.ContainsAny(target, " \t\f\r\n") {
		return "", nil, false
	}
	for _, name := range [...]string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		if string(m) == name {
			return name, target, true
		}
	}
	return "", nil, false
}

// pathShape replaces id-like path segments and OData keys with {id}.
func pathShape(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, '('); j >= 0 {
			s = s[:j] + "({id})"
		}
		if len(s) >= 15 && strings.ContainsAny(s, "0123456789") && !strings.Contains(s, "({id})") {
			s = "{id}"
		}
		segs[i] = s
	}
	return strings.Join(segs, "/")
}

func (p *delayProxy) Close() {
	for _, s := range p.servers {
		s.Close()
	}
}

// rewriteForm turns proxy URLs in a form body back into the double's.
func (p *delayProxy) rewriteForm(r *http.Request) {
	if r.Body == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		b = nil
	}
	out := []byte(p.back.Replace(string(b)))
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	r.Header.Set("Content-Length", strconv.Itoa(len(out)))
}

// rewrite replaces double URLs with proxy URLs in bodies and Location.
// The answer is read into a buffer of the pool and rewritten into another,
// which the answer's body gives back when the reverse proxy closes it,
// having copied it to the client: a backfill's answers are otherwise
// garbage the bench process collects on the cores callsync uses.
func (p *delayProxy) rewrite(resp *http.Response) error {
	if b, ok := resp.Request.Body.(*kindsBody); ok {
		// The double has answered: the $batch is counted before the
		// client can see the answer, as when it was counted before it was
		// forwarded.
		b.Close()
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", p.replacer.Replace(loc))
	}
	ct := resp.Header.Get("Content-Type")
	if !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "multipart/") {
		return nil
	}
	a, _ := p.answers.Get().(*answerBufs)
	if a == nil {
		a = &answerBufs{}
	}
	a.in.Reset()
	if resp.ContentLength > 0 {
		a.in.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := a.in.ReadFrom(resp.Body); err != nil {
		p.answers.Put(a)
		return err
	}
	resp.Body.Close()
	a.out, a.ms = appendReplacedWith(a.out[:0], a.in.Bytes(), p.pairs, a.ms[:0])
	a.r.Reset(a.out)
	resp.Body = &pooledBody{a: a, pool: &p.answers}
	resp.ContentLength = int64(len(a.out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(a.out)))
	return nil
}

// answerBufs are the buffers of one rewritten answer: in as the double
// wrote it, out rewritten, r reading out.
type answerBufs struct {
	in  bytes.Buffer
	out []byte
	r   bytes.Reader
	// ms is room for the matches appendReplaced finds in one.
	ms []replaceMatch
}

// pooledBody is a rewritten answer, whose buffers Close puts back into
// pool (once): nothing reads the body after it is closed.
type pooledBody struct {
	a    *answerBufs
	pool *sync.Pool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	if b.a == nil {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.a.r.Read(p)
}

func (b *pooledBody) Close() error {
	if b.a != nil {
		b.pool.Put(b.a)
		b.a = nil
	}
	return nil
}

// replacePairs is appendReplaced into a new slice of one allocation.
func replacePairs(b []byte, pairs []string) []byte {
	return appendReplaced(nil, b, pairs)
}

// appendReplaced appends to dst b with each old string of pairs (old, new,
// old, new...; the old ones not empty) replaced by its new one as
// strings.NewReplacer(pairs...).Replace does (the leftmost match first; of
// those matching at one position, the pair given first), growing dst once
// at most.
func appendReplaced(dst, b []byte, pairs []string) []byte {
	out, _ := appendReplacedWith(dst, b, pairs, nil)
	return out
}

// replaceMatch is where appendReplaced found an old string (at) and which
// (pair, its index in pairs).
type replaceMatch struct{ at, pair int }

// appendReplacedWith is appendReplaced, with the matches it finds kept in
// ms (emptied), which it returns: a proxy rewrites every answer with the
// room of the one before.
func appendReplacedWith(dst, b []byte, pairs []string, ms []replaceMatch) ([]byte, []replaceMatch) {
	type match = replaceMatch
	size := len(b)
	// next[k/2] is where pair k next occurs at or after i, -1 if nowhere.
	next := make([]int, len(pairs)/2)
	for k := range next {
		next[k] = -2 // not searched yet
	}
	for i := 0; i < len(b); {
		best := match{at: -1}
		for k := range next {
			if next[k] == -2 || next[k] >= 0 && next[k] < i {
				next[k] = bytes.Index(b[i:], []byte(pairs[2*k]))
				if next[k] >= 0 {
					next[k] += i
				}
			}
			if next[k] >= 0 && (best.at < 0 || next[k] < best.at) {
				best = match{next[k], 2 * k}
			}
		}
		if best.at < 0 {
			break
		}
		ms = append(ms, best)
		size += len(pairs[best.pair+1]) - len(pairs[best.pair])
		i = best.at + len(pairs[best.pair])
	}
	var out []byte
	if dst == nil {
		out = make([]byte, 0, size)
	} else {
		out = slices.Grow(dst, size)
	}
	from := 0
	for _, m := range ms {
		out = append(out, b[from:m.at]...)
		out = append(out, pairs[m.pair+1]...)
		from = m.at + len(pairs[m.pair])
	}
	return append(out, b[from:]...), ms
}

// timedTransport adds the time to the response headers to a counter.
type timedTransport struct {
	rt    http.RoundTripper
	total *atomic.Int64
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.rt.RoundTrip(r)
	t.total.Add(int64(time.Since(start)))
	return resp, err
}
