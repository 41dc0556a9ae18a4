package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/internal/double"
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
			parts := p.batchParts(r)
			p.mu.Lock()
			p.byPath[k]++
			if parts != "" {
				p.byBatch[parts]++
			}
			p.mu.Unlock()
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

// batchParts reads the body of a multipart $batch request (and puts it
// back) and names the kinds of request it carries (batchKinds). Empty for
// any other request.
func (p *delayProxy) batchParts(r *http.Request) string {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "$batch") ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") || r.Body == nil {
		return ""
	}
	b, err := double.ReadBody(r)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	return batchKinds(b)
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
		set := u
		if strings.HasPrefix(u, "$") {
			set = "$n" // a reference to an earlier request of its changeset
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
		kinds[method+" "+set] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, "+")
}

// requestLine reads a line (without its LF) of a multipart $batch body as
// the request line of a part (OData 4.0 multipart batch format: each part
// an application/http request): "METHOD URL HTTP/1.1", optionally ended by
// CR, the URL without white space.
func requestLine(line []byte) (method, u string, ok bool) {
	if len(line) < 8 || (line[0] != 'G' && line[0] != 'P' && line[0] != 'D') {
		return "", "", false
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	rest, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok {
		return "", "", false
	}
	m, target, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(target) == 0 || bytes.ContainsAny(target, " \t\f\r\n") {
		return "", "", false
	}
	switch string(m) {
	case "GET", "POST", "PATCH", "PUT", "DELETE":
		return string(m), string(target), true
	}
	return "", "", false
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

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// rewrite replaces double URLs with proxy URLs in bodies and Location.
func (p *delayProxy) rewrite(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", p.replacer.Replace(loc))
	}
	ct := resp.Header.Get("Content-Type")
	if !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "multipart/") {
		return nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := io.Copy(buf, resp.Body); err != nil {
		return err
	}
	resp.Body.Close()
	out := replacePairs(buf.Bytes(), p.pairs)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}

// replacePairs returns b with each old string of pairs (old, new, old,
// new...; the old ones not empty) replaced by its new one as
// strings.NewReplacer(pairs...).Replace does (the leftmost match first; of
// those matching at one position, the pair given first), as a new slice of
// one allocation: the response bodies it rewrites are garbage the bench
// process collects on the cores callsync uses.
func replacePairs(b []byte, pairs []string) []byte {
	type match struct{ at, pair int }
	var ms []match
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
	out := make([]byte, 0, size)
	from := 0
	for _, m := range ms {
		out = append(out, b[from:m.at]...)
		out = append(out, pairs[m.pair+1]...)
		from = m.at + len(pairs[m.pair])
	}
	return append(out, b[from:]...)
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
