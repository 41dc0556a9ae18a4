// Package salesforce owns callsync's Salesforce REST client: OAuth (client
// credentials, JWT bearer, username-password), caller lookup by SOSL phone
// search, user mapping by SOQL, and phone-call Tasks written idempotently by
// external-id upsert through the composite APIs, with the org's API usage read
// from Sforce-Limit-Info. It implements crm.Client; every Salesforce name and
// assumption lives in mapping.go.
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/httpclient"
)

// Options tune a Client beyond its configuration.
type Options struct {
	// HTTP is the retry policy and base transport for every request.
	HTTP httpclient.Options
	// Logger receives the client's logs (default slog.Default()).
	Logger *slog.Logger
	// OnRequest, when set, is told about every HTTP request the client
	// sends (token requests included), with the org's daily API usage when
	// the answer carries Sforce-Limit-Info (ReadLimitInfo).
	OnRequest crm.RequestHook
	// PhoneFields overrides the phone fields read per entity (e.g. to add
	// custom phone fields); entities absent keep DefaultPhoneFields.
	PhoneFields map[crm.Entity][]string
	// Doctor names what Doctor checks beyond the client's own fields.
	Doctor DoctorOptions
	// LimitBackoff is how long the client stops calling the org after
	// REQUEST_LIMIT_EXCEEDED (default 15 minutes).
	LimitBackoff time.Duration
	// Now is the clock for JWT claims and the limit back-off (default
	// time.Now).
	Now func() time.Time
}

// Client is a Salesforce REST client for one org. It is safe for concurrent use.
type Client struct {
	// limit bounds the requests in flight, adapting to throttling.
	limit   *httpclient.Adaptive
	http    *retryablehttp.Client
	maxBody int64 // response body limit (httpclient.LimitRecords)
	tokens  *httpclient.TokenCache
	log     *slog.Logger
	now     func() time.Time
	version string
	names   fieldNames
	phones  map[crm.Entity][]string
	backoff time.Duration

	// The org's describe (schema.go): nil until the first describe.
	schemaMu    sync.Mutex
	schema      map[string]sobjectSchema
	schemaAt    time.Time
	schemaStale bool
	schemaNotes string

	// doctor holds what Doctor checks beyond the client's own fields.
	doctor DoctorOptions

	// omitSubtype is set once the org refused TaskSubtype on create (Open
	// question 1); later writes leave it out.
	omitSubtype atomic.Bool

	mu          sync.Mutex
	usage       Usage
	pausedUntil time.Time
	pauseMsg    string
}

// fieldNames are the configurable Task field names; audit is empty when no
// audit field is configured.
type fieldNames struct {
	external, number, start, audit string
}

// Usage is the org's daily API usage as last reported by Sforce-Limit-Info.
type Usage struct {
	Used, Max int
	At        time.Time
}

var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// New returns a client for the org in cfg. It validates the configuration and
// reads the JWT private key, but does not authenticate until the first call.
func New(cfg Config, opts Options) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("salesforce: config: %w", err)
	}
	c := &Client{
		log:     opts.Logger,
		now:     opts.Now,
		version: cfg.APIVersion,
		names: fieldNames{
			external: cfg.ExternalIDField,
			number:   cfg.NumberField,
			start:    cfg.StartField,
			audit:    cfg.AuditField,
		},
		doctor:  opts.Doctor,
		backoff: opts.LimitBackoff,
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.backoff <= 0 {
		c.backoff = 15 * time.Minute
	}
	c.phones = DefaultPhoneFields()
	for e, fs := range opts.PhoneFields {
		if _, ok := sobjects[e]; !ok {
			return nil, fmt.Errorf("salesforce: phone fields for unknown entity %q", e)
		}
		for _, f := range fs {
			if !fieldName.MatchString(f) {
				return nil, fmt.Errorf("salesforce: phone field %q is not a field name", f)
			}
		}
		c.phones[e] = append([]string(nil), fs...)
	}

	// Every request, the token requests too, is told to the request hook.
	base := opts.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	base = crm.RequestTransport(base, "salesforce", func(r crm.Request) {
		if r.Quota.Known {
			c.mu.Lock()
			c.usage = Usage{Used: int(r.Quota.Limit - r.Quota.Remaining), Max: int(r.Quota.Limit), At: c.now().UTC()}
			c.mu.Unlock()
		}
		if opts.OnRequest != nil {
			opts.OnRequest(r)
		}
	}, ReadLimitInfo)
	opts.HTTP.Transport = base
	src, err := tokenSource(cfg, opts, c.now, c.log)
	if err != nil {
		return nil, err
	}
	c.tokens = &httpclient.TokenCache{
		Source: src,
		OnRenew: func(tok *oauth2.Token, err error) {
			if err != nil {
				c.log.Warn("salesforce: authentication failed", "err", err)
				return
			}
			c.log.Debug("salesforce: session started", "instance_url", instanceURL(tok))
		},
	}
	ho := opts.HTTP
	// Requests in flight adapt from 4 up to 25, Salesforce's cap on
	// concurrent long-running requests of a production org
	// (https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm),
	// halved on a 429 or 503 with Retry-After.
	c.limit = httpclient.NewAdaptive(httpclient.AdaptiveOptions{Initial: 4, Max: 25, Pause: opts.HTTP.WaitMin})
	ho.Transport = c.limit.Transport(&httpclient.AuthTransport{Tokens: c.tokens, Base: base})
	if ho.Logger == nil {
		ho.Logger = c.log
	}
	c.http = httpclient.New(ho)
	c.maxBody = opts.HTTP.Limit(httpclient.LimitRecords)

	return c, nil
}

// APIUsage returns the org's API usage from the last response that carried
// Sforce-Limit-Info; ok is false before the first one.
func (c *Client) APIUsage() (u Usage, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usage, !c.usage.At.IsZero()
}

// ErrRequestLimit matches errors caused by REQUEST_LIMIT_EXCEEDED.
var ErrRequestLimit = errors.New("salesforce: REQUEST_LIMIT_EXCEEDED")

// LimitError says the org is over an API limit. The client makes no request
// to the org until Until; the caller should leave the work for a later run.
type LimitError struct {
	Message string
	Until   time.Time
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("salesforce: org over its API limit (REQUEST_LIMIT_EXCEEDED: %s); not calling it again before %s",
		e.Message, e.Until.UTC().Format(time.RFC3339))
}

// Is reports ErrRequestLimit.
func (e *LimitError) Is(target error) bool { return target == ErrRequestLimit }

// APIError is an error answer of the REST API.
type APIError struct {
	Status int
	Errors []ErrorItem
	// Body is the raw answer when it was not the usual error array.
	Body string
}

// ErrorItem is one element of Salesforce's error array
// [{"message","errorCode","fields"}] (also the per-record
// {"statusCode","message","fields"}).
type ErrorItem struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

// Code returns the error code of either shape.
func (e ErrorItem) Code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.StatusCode
}

func (e ErrorItem) String() string {
	s := e.Code() + ": " + e.Message
	if len(e.Fields) > 0 {
		s += " (fields " + strings.Join(e.Fields, ", ") + ")"
	}
	return s
}

func (e *APIError) Error() string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
	}
	parts := make([]string, len(e.Errors))
	for i, it := range e.Errors {
		parts[i] = it.String()
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, strings.Join(parts, "; "))
}

// Is reports crm.ErrPermanent for answers a retry cannot fix (4xx other
// than an expired session or a limit).
func (e *APIError) Is(target error) bool {
	return target == crm.ErrPermanent && e.Status >= 300 && e.Status < 500 &&
		e.Status != http.StatusUnauthorized && e.Status != http.StatusTooManyRequests
}

// Code returns the first error code, if any.
func (e *APIError) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code()
}

// itemError is a per-record failure.
type itemError struct {
	errs []ErrorItem
}

func (e *itemError) Error() string {
	parts := make([]string, len(e.errs))
	for i, it := range e.errs {
		parts[i] = it.String()
	}
	return strings.Join(parts, "; ")
}

func (e *itemError) Is(target error) bool {
	if target != crm.ErrPermanent {
		return false
	}
	for _, it := range e.errs {
		if transientCodes[it.Code()] {
			return false
		}
	}
	return true
}

// apiURL returns the absolute URL of an API path ("/query?q=..." below the
// versioned base, or "/services/..." as given) on the session's instance.
func (c *Client) apiURL(path string) (string, error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	inst := instanceURL(tok)
	if inst == "" {
		return "", errors.New("auth: token response has no instance_url")
	}
	if strings.HasPrefix(path, "/services/") {
		return inst + path, nil
	}
	return inst + dataPath + c.version + path, nil
}

// relPath returns path below /services/data/ as composite/batch subrequests
// want it ("v62.0/query?q=...").
func (c *Client) relPath(path string) string {
	if rest, ok := strings.CutPrefix(path, "/services/data/"); ok {
		return rest
	}
	return "v" + c.version + path
}

// rawBody is a request body already encoded as JSON: do sends it as it is.
type rawBody []byte

// do sends one API request and decodes a 2xx JSON answer into out (a body
// other than a rawBody or a *collection is encoded with json.Marshal).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.paused(); err != nil {
		return err
	}
	u, err := c.apiURL(path)
	if err != nil {
		return err
	}
	var rb any
	switch b := body.(type) {
	case nil:
	case rawBody:
		rb = []byte(b)
	case *collection:
		// Read as it is sent, once per attempt.
		rb = b.reader
	default:
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rb = raw
	}
	req, err := retryablehttp.NewRequestWithContext(crm.WithPathOperation(ctx, method, path), method, u, rb)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if rb != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := httpclient.ReadResponse(resp, c.maxBody, "salesforce: "+method+" answer")
	if err != nil {
		return err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		return nil
	}
	return c.answerError(resp.StatusCode, data)
}

// answerError turns an error answer into an error; REQUEST_LIMIT_EXCEEDED
// pauses the client.
func (c *Client) answerError(status int, data []byte) error {
	e := &APIError{Status: status}
	if err := json.Unmarshal(data, &e.Errors); err != nil {
		e.Errors = nil
		e.Body = truncate(string(data), 500)
	}
	if status == http.StatusForbidden && e.Code() == codeRequestLimit {
		return c.pause(e.Errors[0].Message)
	}
	if status == http.StatusUnauthorized {
		return fmt.Errorf("session refused after re-authentication (check the connected app and run-as user): %w", e)
	}
	return e
}

// pause stops calls to the org for the back-off and returns the error.
func (c *Client) pause(msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	until := c.now().Add(c.backoff)
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
		c.pauseMsg = msg
	}
	c.log.Warn("salesforce: org over its API limit; pausing calls", "message", msg, "until", c.pausedUntil.UTC())
	return &LimitError{Message: c.pauseMsg, Until: c.pausedUntil}
}

func (c *Client) paused() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.pausedUntil) {
		return &LimitError{Message: c.pauseMsg, Until: c.pausedUntil}
	}
	return nil
}

// ReadLimitInfo reads the org's daily API usage from an answer's
// "Sforce-Limit-Info: api-usage=N/M" header (N used of M; other members
// such as api-bursts follow after ";" or ",")
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm).
func ReadLimitInfo(h http.Header) crm.Quota {
	for _, part := range strings.FieldsFunc(h.Get("Sforce-Limit-Info"), func(r rune) bool { return r == ',' || r == ';' }) {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !ok {
			continue
		}
		used, max, ok := strings.Cut(v, "/")
		if !ok {
			continue
		}
		u, err1 := strconv.ParseInt(strings.TrimSpace(used), 10, 64)
		m, err2 := strconv.ParseInt(strings.TrimSpace(max), 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		return crm.Quota{Known: true, Remaining: m - u, Limit: m}
	}
	return crm.Quota{}
}

// batchRequest and batchResult are /composite/batch shapes [Batching].
type batchRequest struct {
	Method    string `json:"method"`
	URL       string `json:"url"`
	RichInput any    `json:"richInput,omitempty"`
}

type batchResult struct {
	StatusCode int             `json:"statusCode"`
	Result     json.RawMessage `json:"result"`
}

// getAll GETs every path and returns the answers in order: one path with a
// plain request, several through /composite/batch, 25 per request. The
// batches are independent requests [Batching], so they are sent at once, up
// to the client's current concurrency (the adaptive limiter still bounds
// what is in flight); each answer is placed at its own paths' positions.
// The error is the first in path order, passing over the batches it
// cancelled after one failed.
func (c *Client) getAll(ctx context.Context, paths []string) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(paths))
	if len(paths) == 1 {
		var raw json.RawMessage
		if err := c.do(ctx, http.MethodGet, paths[0], nil, &raw); err != nil {
			return nil, err
		}
		out[0] = raw
		return out, nil
	}
	n := (len(paths) + maxBatch - 1) / maxBatch
	errs := make([]error, n)
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(1, c.limit.Stats().Limit))
	for b := range n {
		slots <- struct{}{}
		if bctx.Err() != nil {
			<-slots
			errs[b] = bctx.Err()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			start := b * maxBatch
			if errs[b] = c.batchGet(bctx, paths[start:min(start+maxBatch, len(paths))], start, out); errs[b] != nil {
				cancel() // the caller fails: the batches after it are not needed
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.Canceled)) {
			return nil, err
		}
	}
	return out, nil
}

// batchGet sends paths (at most maxBatch) as one /composite/batch and puts
// each subrequest's answer at out[start+i].
func (c *Client) batchGet(ctx context.Context, paths []string, start int, out []json.RawMessage) error {
	reqs := make([]batchRequest, 0, len(paths))
	for _, p := range paths {
		reqs = append(reqs, batchRequest{Method: http.MethodGet, URL: c.relPath(p)})
	}
	var ans struct {
		HasErrors bool          `json:"hasErrors"`
		Results   []batchResult `json:"results"`
	}
	body := map[string]any{"haltOnError": false, "batchRequests": reqs}
	if err := c.do(ctx, http.MethodPost, "/composite/batch", body, &ans); err != nil {
		return fmt.Errorf("composite batch: %w", err)
	}
	if len(ans.Results) != len(reqs) {
		return fmt.Errorf("composite batch: %d results for %d subrequests", len(ans.Results), len(reqs))
	}
	for i, r := range ans.Results {
		if r.StatusCode < 200 || r.StatusCode >= 300 {
			return fmt.Errorf("composite batch subrequest %d: %w", start+i, c.answerError(r.StatusCode, r.Result))
		}
		out[start+i] = r.Result
	}
	return nil
}

// queryPage is one page of a SOQL answer.
type queryPage struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// queryAll runs SOQL queries (batched) and follows nextRecordsUrl until each
// is done; it returns the records per query.
func (c *Client) queryAll(ctx context.Context, soqls []string) ([][]json.RawMessage, error) {
	out := make([][]json.RawMessage, len(soqls))
	paths := make([]string, len(soqls))
	owner := make([]int, len(soqls))
	for i, q := range soqls {
		paths[i] = "/query?q=" + url.QueryEscape(q)
		owner[i] = i
	}
	for len(paths) > 0 {
		answers, err := c.getAll(ctx, paths)
		if err != nil {
			return nil, err
		}
		var next []string
		var nextOwner []int
		for i, raw := range answers {
			var p queryPage
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("decode query answer: %w", err)
			}
			out[owner[i]] = append(out[owner[i]], p.Records...)
			if !p.Done && p.NextRecordsURL != "" {
				next = append(next, p.NextRecordsURL)
				nextOwner = append(nextOwner, owner[i])
			}
		}
		paths, owner = next, nextOwner
	}
	return out, nil
}

// soqlString quotes a SOQL string literal [Finding a caller by phone: SOQL
// alternative: escape ' and \].
func soqlString(s string) string {
	return string(appendSOQLString(make([]byte, 0, soqlLen(s)), s))
}

// soqlEscape is the escape sequence of a byte that a SOQL string literal
// escapes (\, ', newline, carriage return, tab, "), "" for any other byte.
func soqlEscape(b byte) string {
	switch b {
	case '\\':
		return `\\`
	case '\'':
		return `\'`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '"':
		return `\"`
	}
	return ""
}

// soqlLen is len(soqlString(s)) without building it.
func soqlLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		if soqlEscape(s[i]) != "" {
			n++
		}
	}
	return n
}

// appendSOQLString appends s quoted as soqlString quotes it.
func appendSOQLString(dst []byte, s string) []byte {
	dst = append(dst, '\'')
	last := 0
	for i := 0; i < len(s); i++ {
		if e := soqlEscape(s[i]); e != "" {
			dst = append(dst, s[last:i]...)
			dst = append(dst, e...)
			last = i + 1
		}
	}
	dst = append(dst, s[last:]...)
	return append(dst, '\'')
}

// chunkIN splits values into IN lists that keep the query below the limits.
func chunkIN(values []string, fixed int) [][]string {
	var out [][]string
	var cur []string
	size := fixed
	for _, v := range values {
		l := soqlLen(v) + 1
		if len(cur) > 0 && (len(cur) >= maxINValues || size+l > maxSOQLLength) {
			out = append(out, cur)
			cur, size = nil, fixed
		}
		cur = append(cur, v)
		size += l
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func inList(values []string) string {
	n := 2
	for _, v := range values {
		n += soqlLen(v) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '(')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSOQLString(b, v)
	}
	return string(append(b, ')'))
}

// str reads a field of a decoded record as text; field names match
// case-insensitively, as they do in SOQL and SOSL.
func str(m map[string]any, field string) string {
	v, ok := m[field]
	if !ok {
		for k, x := range m {
			if strings.EqualFold(k, field) {
				v = x
				break
			}
		}
	}
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

var _ crm.Client = (*Client)(nil)

// Concurrency reports the adaptive bound on requests in flight to the org.
func (c *Client) Concurrency() httpclient.AdaptiveStats { return c.limit.Stats() }
