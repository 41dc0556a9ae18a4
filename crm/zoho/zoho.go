// Package zoho is callsync's Zoho CRM client. It owns the OAuth2 refresh-token
// grant against the account's data centre (tokens cached: Zoho mints only ten
// per refresh token in ten minutes), caller lookup with COQL, user resolution,
// and phone-call activities written either to the standard Calls module
// (pre-checked by the Enreach id, no upsert exists for Calls) or to a custom
// activity module in the original integration's format (upsert on CCSPCallID,
// RelatesTo<Module> links). Field mappings live in mapping.go.
package zoho

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
	// HTTP is the retry policy (429 and 5xx back off; Zoho sends no
	// Retry-After, so the exponential backoff applies).
	HTTP httpclient.Options
	// Logger receives debug and warning logs (default slog.Default()).
	Logger *slog.Logger
	// OnRequest, when set, is told about every HTTP request the client
	// sends (grants included), with the remaining daily API credits when
	// the answer carries them (ReadCredits).
	OnRequest crm.RequestHook
	// OnTokenRenew, when set, is told after every token grant (for metrics).
	OnTokenRenew func(err error)
	// Doctor names what Doctor checks beyond the configuration.
	Doctor DoctorOptions
	// Now is the clock (default time.Now); used for callbacks without a due
	// date and for closing them.
	Now func() time.Time
	// GrantCooldown is how long a failed token grant is reported again
	// without asking Zoho (default 30s), so retries cannot burn the ten
	// grants per ten minutes.
	GrantCooldown time.Duration
}

// Client talks to one Zoho CRM org. It is safe for concurrent use.
type Client struct {
	// limit bounds the requests in flight, adapting to throttling.
	limit   *httpclient.Adaptive
	cfg     Config
	module  string // "" (off), "Calls" or a custom module
	search  []searchModule
	cleanup *regexp.Regexp
	http    *retryablehttp.Client
	insert  *retryablehttp.Client // retries 429 only: a retried insert could double records
	maxBody int64                 // response body limit (httpclient.LimitRecords)
	tokens  *httpclient.TokenCache
	log     *slog.Logger
	now     func() time.Time

	mu        sync.Mutex
	apiDomain string

	meta   schemas
	doctor DoctorOptions
	loc    *time.Location // subject_time_zone

	credits      atomic.Int64
	creditsKnown atomic.Bool
}

var _ crm.Client = (*Client)(nil)

// apiName matches the field API names callers pass at run time (the users
// match field, routing fields): letters, digits, _, $ and ".". The zoho
// block's own names are checked by Config.Validate.
var apiName = regexp.MustCompile(`^[A-Za-z$][A-Za-z0-9_$.]*$`)

// New returns a client for the org cfg describes.
func New(cfg Config, opts Options) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("zoho: config: %w", err)
	}
	c := &Client{cfg: cfg, module: cfg.Module, now: opts.Now, log: opts.Logger, doctor: opts.Doctor}
	if c.now == nil {
		c.now = time.Now
	}
	c.loc = time.UTC
	if cfg.SubjectTimeZone != "" {
		loc, err := time.LoadLocation(cfg.SubjectTimeZone)
		if err != nil {
			return nil, fmt.Errorf("zoho: subject_time_zone: %w", err)
		}
		c.loc = loc
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	for _, m := range cfg.SearchModules {
		sm, _ := standardSearchModule(m) // Validate accepts only these
		c.search = append(c.search, sm)
	}
	if cfg.NumberCleanupRegexp != "" {
		re, err := regexp.Compile(cfg.NumberCleanupRegexp)
		if err != nil {
			return nil, fmt.Errorf("zoho: number_cleanup_regexp: %w", err)
		}
		c.cleanup = re
	}

	base := opts.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	base = crm.RequestTransport(base, "zoho", func(r crm.Request) {
		if r.Quota.Known {
			c.credits.Store(r.Quota.Remaining)
			c.creditsKnown.Store(true)
		}
		if opts.OnRequest != nil {
			opts.OnRequest(r)
		}
	}, ReadCredits)
	// Grants retry on 5xx and connection errors only; a refusal (HTTP 200
	// or 400 with an "error" member) is final and remembered for cooldown.
	grantHTTP := opts.HTTP
	grantHTTP.Transport = base
	cooldown := opts.GrantCooldown
	if cooldown == 0 {
		cooldown = 30 * time.Second
	}
	src := &grantSource{
		conf: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				TokenURL:  strings.TrimRight(cfg.AccountsURL, "/") + "/oauth/v2/token",
				AuthStyle: oauth2.AuthStyleInParams, // no header/params probing: it would cost a grant
			},
		},
		refresh:  cfg.RefreshToken,
		ctx:      context.WithValue(crm.WithOperation(context.Background(), "token"), oauth2.HTTPClient, httpclient.New(grantHTTP).StandardClient()),
		now:      c.now,
		cooldown: cooldown,
	}
	src.onGrant = func(err error) {
		if err != nil {
			c.log.Warn("zoho: token grant failed", "accounts_url", cfg.AccountsURL, "err", err)
		}
		if opts.OnTokenRenew != nil {
			opts.OnTokenRenew(err)
		}
	}
	c.tokens = &httpclient.TokenCache{Source: src, OnRenew: func(tok *oauth2.Token, _ error) {
		if tok != nil {
			if d, ok := tok.Extra("api_domain").(string); ok && d != "" {
				c.mu.Lock()
				c.apiDomain = strings.TrimRight(d, "/")
				c.mu.Unlock()
			}
		}
	}}
	apiHTTP := opts.HTTP
	// Requests in flight adapt to the org's answers: from 4 up to 10, the
	// sub-concurrency limit of heavy calls (COQL, inserts of more than ten
	// records), halved on a 429, which Zoho sends over its concurrency limit
	// and when the API credits run out, without Retry-After
	// (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html).
	c.limit = httpclient.NewAdaptive(httpclient.AdaptiveOptions{Initial: 4, Max: 10, Pause: opts.HTTP.WaitMin})
	apiHTTP.Transport = c.limit.Transport(&httpclient.AuthTransport{
		Tokens: c.tokens,
		Base:   base,
		Header: func(tok *oauth2.Token) string { return "Zoho-oauthtoken " + tok.AccessToken },
		// A 401 OAUTH_SCOPE_MISMATCH is not a stale token: a new one has
		// the same scopes, and each grant counts against ten per ten
		// minutes. Only other 401s renew the token.
		Unauthorized: tokenRefused,
	})
	if apiHTTP.Logger == nil {
		apiHTTP.Logger = opts.Logger
	}
	c.http = httpclient.New(apiHTTP)
	c.maxBody = opts.HTTP.Limit(httpclient.LimitRecords)
	check := c.http.CheckRetry
	c.http.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		var ge *grantError
		if err != nil && errors.As(err, &ge) {
			return false, err // a refused grant is not fixed by asking again
		}
		return check(ctx, resp, err)
	}
	// Inserts are not idempotent: a 5xx or a broken connection may come after
	// Zoho stored the records, so only a 429 (nothing stored) is retried here;
	// anything else fails the items and the next run's pre-check decides.
	c.insert = httpclient.New(apiHTTP)
	checkInsert := c.insert.CheckRetry
	c.insert.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if err != nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, nil
		}
		return checkInsert(ctx, resp, err)
	}
	return c, nil
}

// CreditsRemaining returns the API credits Zoho last reported remaining
// (X-API-CREDITS-REMAINING), and whether any response carried the header.
func (c *Client) CreditsRemaining() (int64, bool) {
	return c.credits.Load(), c.creditsKnown.Load()
}

// grantError marks a failed token grant.
type grantError struct{ err error }

func (e *grantError) Error() string { return "zoho: token grant: " + e.err.Error() }
func (e *grantError) Unwrap() error { return e.err }

// grantSource mints an access token from the refresh token on every call
// (httpclient.TokenCache does the caching) and remembers a failure for a
// cooldown so that retries never hammer the accounts server.
type grantSource struct {
	conf     *oauth2.Config
	refresh  string
	ctx      context.Context
	now      func() time.Time
	cooldown time.Duration
	onGrant  func(err error) // told about every grant request made

	mu       sync.Mutex
	failedAt time.Time
	lastErr  error
}

func (s *grantSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr != nil && s.now().Sub(s.failedAt) < s.cooldown {
		return nil, s.lastErr
	}
	// A fresh reuse source around a token without an access token refreshes
	// at once and caches nothing.
	tok, err := s.conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
	if s.onGrant != nil {
		s.onGrant(err)
	}
	if err != nil {
		s.failedAt, s.lastErr = s.now(), &grantError{err: err}
		return nil, s.lastErr
	}
	s.lastErr = nil
	return tok, nil
}

// ReadCredits reads the remaining daily API credits from an answer's
// X-API-CREDITS-REMAINING header, which Zoho sends once half of the day's
// credits are used (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html).
// Zoho documents no header with the allowance itself.
func ReadCredits(h http.Header) crm.Quota {
	v := h.Get("X-API-CREDITS-REMAINING")
	if v == "" {
		return crm.Quota{}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return crm.Quota{}
	}
	return crm.Quota{Known: true, Remaining: n}
}

// baseURL returns {api_domain}/crm/{version}; without a configured api_domain
// it takes the one of the token response (fetching a token if needed).
func (c *Client) baseURL() (string, error) {
	if c.cfg.APIDomain != "" {
		return strings.TrimRight(c.cfg.APIDomain, "/") + "/crm/" + apiVersion, nil
	}
	c.mu.Lock()
	d := c.apiDomain
	c.mu.Unlock()
	if d == "" {
		if _, err := c.tokens.Token(); err != nil {
			return "", err
		}
		c.mu.Lock()
		d = c.apiDomain
		c.mu.Unlock()
		if d == "" {
			return "", errors.New("zoho: the token response carried no api_domain; set api_domain")
		}
	}
	return d + "/crm/" + apiVersion, nil
}

// APIError is an error answer of the Zoho API ({"code","details","message",
// "status"}: Zoho's OpenAPI, zoho/crm-oas v8.0/record.json).
type APIError struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap reports client errors other than throttling as crm.ErrPermanent.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return nil
	case e.Status >= 400:
		return crm.ErrPermanent
	}
	return nil
}

// RecordError is a per-record error inside a data[] answer (201/207/400).
type RecordError struct {
	Code    string
	Message string
	Details map[string]any
}

func (e *RecordError) Error() string {
	s := e.Code + ": " + e.Message
	if f, ok := e.Details["api_name"].(string); ok && f != "" {
		s += " (" + f + ")"
	}
	return s
}

// Unwrap classifies validation errors as permanent; anything else (internal
// errors, limits) is left to the next run.
func (e *RecordError) Unwrap() error {
	switch e.Code {
	case "INVALID_DATA", "MANDATORY_NOT_FOUND", "DEPENDENT_MISMATCH", "DUPLICATE_DATA", "INVALID_MODULE",
		"NO_PERMISSION", "NOT_SUPPORTED", "RECORD_NOT_FOUND", "ID_ALREADY_CONVERTED", "CANNOT_PROCESS":
		return crm.ErrPermanent
	}
	return nil
}

// response is a raw API answer.
type response struct {
	status int
	body   []byte
}

// do sends one API request (retried per the team policy) and returns the
// answer; any status outside 2xx becomes an *APIError unless keep allows it.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, keep ...int) (*response, error) {
	return c.send(ctx, c.http, method, path, query, body, keep...)
}

// doHeader is do for a body-less request with extra request headers.
func (c *Client) doHeader(ctx context.Context, method, path string, query url.Values, h http.Header) (*response, error) {
	return c.sendHeader(ctx, c.http, method, path, query, nil, h)
}

func (c *Client) send(ctx context.Context, hc *retryablehttp.Client, method, path string, query url.Values, body any, keep ...int) (*response, error) {
	return c.sendHeader(ctx, hc, method, path, query, body, nil, keep...)
}

func (c *Client) sendHeader(ctx context.Context, hc *retryablehttp.Client, method, path string, query url.Values, body any, h http.Header, keep ...int) (*response, error) {
	base, err := c.baseURL()
	if err != nil {
		return nil, err
	}
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rdr io.Reader
	if body != nil {
		b, err := marshalBody(body)
		if err != nil {
			return nil, err
		}
		rdr = bytes.NewReader(b)
	}
	req, err := retryablehttp.NewRequestWithContext(crm.WithPathOperation(ctx, method, path), method, u, rdr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := httpclient.ReadResponse(resp, c.maxBody, "zoho: "+method+" answer")
	if err != nil {
		return nil, err
	}
	r := &response{status: resp.StatusCode, body: b}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return r, nil
	}
	for _, k := range keep {
		if k == resp.StatusCode {
			return r, nil
		}
	}
	return nil, apiError(resp.StatusCode, b)
}

func apiError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var v struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	}
	if json.Unmarshal(body, &v) == nil {
		e.Code, e.Message, e.Details = v.Code, v.Message, v.Details
	}
	if e.Code == "" && e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
	}
	return e
}

// rowString renders a JSON value of a COQL row as text: strings as they are,
// numbers and booleans in JSON, lookups by their "name" or "id".
func rowString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		if n, ok := obj["name"].(string); ok && n != "" {
			return n
		}
		if id, ok := obj["id"].(string); ok {
			return id
		}
		return ""
	}
	return string(raw)
}

// rowID returns the id of a lookup value ({"id": ...}) or of a plain string.
func rowID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.ID != nil {
		return rowString(obj.ID)
	}
	return rowString(raw)
}

// tokenRefused says whether a response means the access token was refused
// (401 other than OAUTH_SCOPE_MISMATCH, e.g. INVALID_TOKEN or
// AUTHENTICATION_FAILURE: https://github.com/zoho/crm-oas v8.0 records
// examples). It reads the body and puts it back.
func tokenRefused(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Code != "OAUTH_SCOPE_MISMATCH"
}

// Concurrency reports the adaptive bound on requests in flight to the org.
func (c *Client) Concurrency() httpclient.AdaptiveStats { return c.limit.Stats() }
