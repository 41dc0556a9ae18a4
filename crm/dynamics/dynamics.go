// Package dynamics owns callsync's Microsoft Dynamics 365 client: a crm.Client
// over the Dataverse Web API v9.2. It authenticates with Entra ID client
// credentials, finds callers with batched exact-match $filter queries, resolves
// system users, and writes phone-call activities through $batch changesets
// whose client-chosen activityid makes every write idempotent. It adapts to
// the org's table definitions (schema.go) and checks the org read-only
// (Doctor, doctor.go).
//
// Every Dataverse name, code and working assumption lives in mapping.go.
package dynamics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/httpclient"
)

// DefaultAuthorityURL is used when Config.AuthorityURL is empty.
const DefaultAuthorityURL = "https://login.microsoftonline.com"

// Options tune a Client beyond its configuration. Zero values take defaults.
type Options struct {
	// HTTP is the retry policy and base transport for both the token
	// endpoint and the Web API.
	HTTP   httpclient.Options
	Logger *slog.Logger
	// Metrics receives optional hooks.
	Metrics Metrics
	// OnRequest, when set, is told about every HTTP request the client
	// sends (each attempt, token requests included), with its operation
	// ("lookup", "users", "find", "write", "close", "definitions", ...) and
	// the requests left in the org's service protection window when the
	// answer says (ReadRateLimit).
	OnRequest crm.RequestHook
	// Org is what the tenant asks of the org, for Doctor.
	Org OrgNeeds
	// Now is the clock (UTC); nil means time.Now.
	Now func() time.Time
}

// Metrics are optional observation hooks (e.g. Prometheus counters).
type Metrics struct {
	// OnToken is told about every token request.
	OnToken func(err error)
}

// Client is a crm.Client for one Dataverse organisation. It is safe for
// concurrent use.
type Client struct {
	org         string // https://org.crm.dynamics.com
	api         string // org + APIPath
	http        *retryablehttp.Client
	maxBody     int64 // response body limit (httpclient.LimitRecords)
	tokens      *httpclient.TokenCache
	phoneFields map[crm.Entity][]string
	batchSize   int
	// limit bounds the requests in flight to the org, adapting to its
	// throttling answers (Stats for the bench and tests).
	limit   *httpclient.Adaptive
	log     *slog.Logger
	metrics Metrics
	// queuePartyOff is set once the org refused a queue as a phone call
	// party: callback requests then name their queue in the description.
	queuePartyOff atomic.Bool
	auditField    string
	now           func() time.Time

	needsMu sync.Mutex
	needs   OrgNeeds

	schemaMu       sync.Mutex
	sch            *orgSchema // nil until read
	schemaFailedAt time.Time
	refreshing     bool // a background re-read is running
	// warned holds the keys of warnings already logged (warnOnce).
	warned sync.Map
	// userID caches the application user's systemuserid (WhoAmI).
	userID atomic.Value
}

var _ crm.Doctor = (*Client)(nil)

// SetOrgNeeds replaces what Doctor checks beyond the dynamics section (after
// a configuration reload that kept this client).
func (c *Client) SetOrgNeeds(n OrgNeeds) {
	c.needsMu.Lock()
	defer c.needsMu.Unlock()
	c.needs = n
}

func (c *Client) orgNeeds() OrgNeeds {
	c.needsMu.Lock()
	defer c.needsMu.Unlock()
	return c.needs
}

// OrgNeeds is what a tenant's configuration asks of the org beyond the
// dynamics section; Doctor checks each item.
type OrgNeeds struct {
	// UserMatch is how Enreach users map to systemusers (users.match).
	UserMatch crm.UserMatch
	// UserOverrides maps Enreach user ids to systemuserids (users.overrides).
	UserOverrides map[string]string
	// RoutingFields are the columns Smart Routing rules read, per entity.
	RoutingFields map[crm.Entity][]string
	// CallbackQueues maps each callback profile name to its queue id.
	CallbackQueues map[string]string
	// DefaultAssignee is the Enreach user id of default_crm_assignee.
	DefaultAssignee string
}

var _ crm.Client = (*Client)(nil)

// New returns a Client for cfg. It does not contact the org.
func New(cfg Config, opts Options) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dynamics: config: %w", err)
	}
	org := cfg.URL
	u, err := url.Parse(org)
	if err != nil {
		return nil, fmt.Errorf("dynamics: url: %w", err)
	}
	authority := cfg.AuthorityURL
	phoneFields := make(map[crm.Entity][]string, len(crm.Entities))
	for _, e := range crm.Entities {
		phoneFields[e] = cfg.PhoneFields[string(e)]
	}
	batchSize := cfg.BatchSize
	conc := cfg.Concurrency
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("crm", "dynamics", "org", u.Host)

	// Every request, the token requests too, is told to the request hook.
	if opts.HTTP.Transport == nil {
		opts.HTTP.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	opts.HTTP.Transport = crm.RequestTransport(opts.HTTP.Transport, "dynamics", opts.OnRequest, ReadRateLimit)
	tokenHTTP := opts.HTTP
	if tokenHTTP.Logger == nil {
		tokenHTTP.Logger = log
	}
	cc := clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     authority + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		Scopes:       []string{org + "/.default"},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	tctx := context.WithValue(crm.WithOperation(context.Background(), "token"), oauth2.HTTPClient, httpclient.New(tokenHTTP).StandardClient())
	c := &Client{
		org:         org,
		api:         org + APIPath,
		phoneFields: phoneFields,
		batchSize:   batchSize,
		limit:       httpclient.NewAdaptive(httpclient.AdaptiveOptions{Initial: min(initialConcurrency, conc), Max: conc, Pause: opts.HTTP.WaitMin}),
		log:         log,
		metrics:     opts.Metrics,
		auditField:  cfg.AuditField,
		needs:       opts.Org,
		now:         opts.Now,
	}
	if c.now == nil {
		c.now = func() time.Time { return time.Now().UTC() }
	}
	c.tokens = &httpclient.TokenCache{
		// cc.TokenSource would wrap the grant in oauth2.ReuseTokenSource,
		// which hands back the refused token after a 401; the cache needs
		// a source that asks Entra ID every time.
		Source: tokenFunc(func() (*oauth2.Token, error) { return cc.Token(tctx) }),
		OnRenew: func(_ *oauth2.Token, err error) {
			if err != nil {
				c.log.Warn("dynamics: token request failed", "err", err)
			} else {
				c.log.Debug("dynamics: token renewed")
			}
			if c.metrics.OnToken != nil {
				c.metrics.OnToken(err)
			}
		},
	}
	apiHTTP := opts.HTTP
	if apiHTTP.Logger == nil {
		apiHTTP.Logger = log
	}
	base := opts.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	apiHTTP.Transport = c.limit.Transport(&httpclient.AuthTransport{Tokens: c.tokens, Base: base})
	c.http = httpclient.New(apiHTTP)
	c.maxBody = opts.HTTP.Limit(httpclient.LimitRecords)
	return c, nil
}

// Concurrency reports the adaptive bound on requests in flight to the org.
func (c *Client) Concurrency() httpclient.AdaptiveStats { return c.limit.Stats() }

// tokenFunc adapts a function to oauth2.TokenSource.
type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// Error is an error answered by the Web API: {"error":{"code","message"}}
// [Errors].
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" && e.Message == "" {
		return fmt.Sprintf("dataverse: HTTP %d", e.Status)
	}
	return fmt.Sprintf("dataverse: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Is makes errors.Is(err, crm.ErrPermanent) true for errors a retry cannot
// fix: bad request, forbidden, not found, payload too large.
func (e *Error) Is(target error) bool {
	if target != crm.ErrPermanent {
		return false
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong, http.StatusMethodNotAllowed:
		return true
	}
	return false
}

func parseError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 300 {
			s = s[:300]
		}
		e.Message = s
	}
	return e
}

// send makes one HTTP request to the Web API (within the adaptive
// concurrency bound, see New) and returns the status, headers and body.
// body, when set, returns a reader of the request's body from its start,
// once per attempt; its Len is the Content-Length.
func (c *Client) send(ctx context.Context, operation, method, rawURL string, header http.Header, body func() (io.Reader, error), ops int) (int, http.Header, []byte, error) {
	var rb any
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(crm.WithOperation(ctx, operation), method, rawURL, rb)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := httpclient.ReadResponse(resp, c.maxBody, "dynamics: "+operation+" answer")
	// URLs carry phone numbers: log the shape of the request only.
	c.log.Debug("dynamics: request", "operation", operation, "method", method, "status", resp.StatusCode, "ops", ops)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, fmt.Errorf("reading response: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// batch posts one $batch and returns the responses per part.
func (c *Client) batch(ctx context.Context, operation string, parts []part) ([][]opResponse, error) {
	body := newBatchBody(parts)
	n := 0
	for _, p := range parts {
		n += p.ops()
	}
	h := http.Header{
		"Content-Type": {body.contentType()},
		"Prefer":       {"odata.continue-on-error"},
	}
	status, rh, rb, err := c.send(ctx, operation, http.MethodPost, c.api+"/$batch", h, body.reader, n)
	if err != nil {
		return nil, err
	}
	if rct := rh.Get("Content-Type"); strings.HasPrefix(rct, "multipart/") {
		return decodeBatch(rct, rb)
	}
	if status >= 300 {
		return nil, parseError(status, rb)
	}
	return nil, fmt.Errorf("$batch answered %d with %q, not multipart", status, rh.Get("Content-Type"))
}

// query is one GET of a collection; its rows arrive across pages.
type query struct {
	url string
}

// page is one decoded collection response.
type page struct {
	Value     []row  `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

func decodePage(body []byte) (page, error) {
	var p page
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		return p, fmt.Errorf("decoding collection: %w", err)
	}
	return p, nil
}

// getAll runs every query and follows @odata.nextLink, returning the rows
// of each query in order. It sends one GET when there is one short query,
// otherwise $batch requests of up to maxBatchOps GETs, one round per page
// depth.
func (c *Client) getAll(ctx context.Context, operation string, qs []query) ([][]row, error) {
	out := make([][]row, len(qs))
	pending := make([]int, len(qs))
	urls := make([]string, len(qs))
	for i, q := range qs {
		pending[i] = i
		urls[i] = q.url
	}
	getHeader := [][2]string{{"Accept", "application/json"}, {"Prefer", preferAnnotations}}
	for len(pending) > 0 {
		if len(pending) == 1 && len(urls[pending[0]]) <= maxURL {
			i := pending[0]
			h := http.Header{"Prefer": {preferAnnotations}}
			status, _, body, err := c.send(ctx, operation, http.MethodGet, urls[i], h, nil, 1)
			if err != nil {
				return nil, err
			}
			if status != http.StatusOK {
				return nil, parseError(status, body)
			}
			p, err := decodePage(body)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], p.Value...)
			if p.NextLink == "" {
				break
			}
			if urls[i], err = c.sameOrigin(p.NextLink); err != nil {
				return nil, err
			}
			continue
		}
		var chunks [][]int
		for len(pending) > 0 {
			n := min(len(pending), maxBatchOps)
			chunks = append(chunks, pending[:n])
			pending = pending[n:]
		}
		var (
			mu   sync.Mutex
			next []int
			errs []error
			wg   sync.WaitGroup
		)
		for _, chunk := range chunks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				parts := make([]part, len(chunk))
				for j, i := range chunk {
					parts[j] = part{single: &op{method: http.MethodGet, url: urls[i], header: getHeader}}
				}
				res, err := c.batch(ctx, operation, parts)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if len(res) != len(chunk) {
					errs = append(errs, fmt.Errorf("$batch answered %d of %d requests", len(res), len(chunk)))
					return
				}
				for j, i := range chunk {
					r := res[j][len(res[j])-1]
					if r.status != http.StatusOK {
						errs = append(errs, parseError(r.status, r.body))
						return
					}
					p, err := decodePage(r.body)
					if err != nil {
						errs = append(errs, err)
						return
					}
					out[i] = append(out[i], p.Value...)
					if p.NextLink != "" {
						u, err := c.sameOrigin(p.NextLink)
						if err != nil {
							errs = append(errs, err)
							return
						}
						urls[i] = u
						next = append(next, i)
					}
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			return nil, errs[0]
		}
		pending = next
	}
	return out, nil
}

// sameOrigin accepts a server-supplied link only on the org's own Web API,
// so the bearer token never travels elsewhere.
func (c *Client) sameOrigin(link string) (string, error) {
	if strings.HasPrefix(link, c.api+"/") {
		return link, nil
	}
	if strings.HasPrefix(link, APIPath+"/") {
		return c.org + link, nil
	}
	return "", fmt.Errorf("@odata.nextLink %q is outside %s", link, c.api)
}

// csResult is the outcome of one changeset.
type csResult struct {
	// err is set when the changeset failed: an *Error from Dataverse or a
	// transport/whole-batch error.
	err error
	// failedCID is the Content-ID of the failing request, when known.
	failedCID int
	responses []opResponse
}

// runChangesets sends the changesets in $batch requests of at most
// c.batchSize changesets and maxBatchOps requests, concurrently within the
// bound, and returns one result per changeset in order. The error is set only
// when every $batch request failed as a whole.
func (c *Client) runChangesets(ctx context.Context, operation string, sets [][]op) ([]csResult, error) {
	out := make([]csResult, len(sets))
	var groups [][2]int // [start, end)
	start, ops := 0, 0
	for i, s := range sets {
		if i > start && (i-start >= c.batchSize || ops+len(s) > maxBatchOps) {
			groups = append(groups, [2]int{start, i})
			start, ops = i, 0
		}
		ops += len(s)
	}
	if start < len(sets) {
		groups = append(groups, [2]int{start, len(sets)})
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures int
		firstErr error
	)
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Content-IDs are unique within the whole batch: shift each
			// changeset's local ids (1..n) and its $n references.
			parts := make([]part, 0, g[1]-g[0])
			offsets := make([]int, 0, g[1]-g[0])
			off := 0
			for _, s := range sets[g[0]:g[1]] {
				cs := make([]op, len(s))
				for k, o := range s {
					if o.cid > 0 {
						o.cid += off
					}
					if ref, ok := strings.CutPrefix(o.url, "$"); ok {
						if n, err := strconv.Atoi(ref); err == nil {
							o.url = "$" + strconv.Itoa(n+off)
						}
					}
					cs[k] = o
				}
				parts = append(parts, part{changeset: cs})
				offsets = append(offsets, off)
				off += len(s)
			}
			res, err := c.batch(ctx, operation, parts)
			if err != nil {
				err = fmt.Errorf("$batch: %w", err)
				for i := g[0]; i < g[1]; i++ {
					out[i] = csResult{err: err}
				}
				mu.Lock()
				failures++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			for j := range g[1] - g[0] {
				i := g[0] + j
				if j >= len(res) {
					out[i] = csResult{err: errors.New("$batch: not processed (the batch stopped before this changeset)")}
					continue
				}
				r := csResult{responses: res[j]}
				for _, or := range res[j] {
					if or.status >= 300 {
						r.err = parseError(or.status, or.body)
						if or.cid > 0 {
							r.failedCID = or.cid - offsets[j]
						}
						break
					}
				}
				out[i] = r
			}
		}()
	}
	wg.Wait()
	if len(groups) > 0 && failures == len(groups) {
		return out, firstErr
	}
	return out, nil
}

// ReadRateLimit reads the requests left in the org's service protection
// window (five minutes, per user and web server) from an answer's
// x-ms-ratelimit-burst-remaining-xrm-requests header. Dataverse names no
// header with the limit itself; x-ms-ratelimit-time-remaining-xrm-requests
// is execution time, not requests, and is not read. Microsoft intends both
// for debugging, not for pacing
// (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#http-response-headers).
func ReadRateLimit(h http.Header) crm.Quota {
	v := h.Get("x-ms-ratelimit-burst-remaining-xrm-requests")
	if v == "" {
		return crm.Quota{}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return crm.Quota{}
	}
	return crm.Quota{Known: true, Remaining: n}
}
