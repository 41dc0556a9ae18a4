// Package enreach owns the Enreach Voice REST client and webhook parsing:
// service discovery, Basic auth, the call, service call, user, queue and
// callback endpoints read with a tolerant reader (malformed records are
// quarantined, never fatal), and the webhook delivery envelope.
//
// The API is documented by Enreach at https://doc.enreachvoice.com/beneapi (REST),
// https://doc.enreachvoice.com/webhooks and https://doc.enreachvoice.com/smartrouting; what those pages
// leave open is the team's working assumption, and every assumed wire field
// name lives in fields.go.
package enreach

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/httpclient"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/hashicorp/go-retryablehttp"
)

// DefaultDiscoveryURL is Enreach's service discovery host
// (https://doc.enreachvoice.com/beneapi, "Service discovery").
const DefaultDiscoveryURL = "https://discover.enreachvoice.com"

// MaxWindow is the longest time window one /calls, /servicecall or
// /callbacks request may cover (enforced by Enreach's Python client,
// mokso/enreachvoice, which says the API requires it). Longer windows are split.
const MaxWindow = 31 * 24 * time.Hour

// timeLayout is the UTC query parameter format "yyyy-MM-dd HH:mm:ss".
const timeLayout = "2006-01-02 15:04:05"

// Config configures a Client.
type Config struct {
	// APIURL overrides discovery when set (e.g. https://api-sedna.enreachvoice.com).
	APIURL string
	// DiscoveryURL is the discovery host (default DefaultDiscoveryURL).
	DiscoveryURL string
	// User is the API user's e-mail (Basic auth user name).
	User string
	// SecretKey is the API user's secret key (Basic auth password). It is
	// never logged and never part of an error.
	SecretKey string
	// HTTP tunes the retry policy (httpclient defaults when zero).
	HTTP   httpclient.Options
	Logger *slog.Logger
}

// String redacts the secret key, so a Config can be printed or logged.
func (c Config) String() string {
	return fmt.Sprintf("enreach.Config{APIURL:%q DiscoveryURL:%q User:%q SecretKey:%s}",
		c.APIURL, c.DiscoveryURL, c.User, redact(c.SecretKey))
}

// GoString keeps %#v redacted too.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_url", c.APIURL),
		slog.String("user", c.User),
		slog.String("secret_key", redact(c.SecretKey)),
	)
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// Client talks to one Enreach Voice organisation as one API user. It is safe
// for concurrent use.
type Client struct {
	user      string
	secret    string
	discovery string
	maxBody   int64 // response body limit (httpclient.LimitRecords)
	http      *retryablehttp.Client
	log       *slog.Logger

	// apiURLSet: the API base URL comes from the config, not discovery.
	apiURLSet bool

	mu   sync.Mutex
	base string // API base URL without trailing slash; empty until discovered
}

// New returns a client. It does no I/O: discovery runs on the first request.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.User) == "" {
		return nil, errors.New("enreach: config: user (the API user's e-mail) is required")
	}
	if cfg.SecretKey == "" {
		return nil, errors.New("enreach: config: secret key is required")
	}
	c := &Client{
		user:      strings.TrimSpace(cfg.User),
		secret:    cfg.SecretKey,
		discovery: strings.TrimRight(cfg.DiscoveryURL, "/"),
		log:       cfg.Logger,
	}
	if c.discovery == "" {
		c.discovery = DefaultDiscoveryURL
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.APIURL != "" {
		base, err := checkBaseURL(cfg.APIURL)
		if err != nil {
			return nil, fmt.Errorf("enreach: config: api url: %w", err)
		}
		c.base = base
		c.apiURLSet = true
	}
	opts := cfg.HTTP
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	c.http = httpclient.New(opts)
	c.maxBody = cfg.HTTP.Limit(httpclient.LimitRecords)
	return c, nil
}

// checkBaseURL validates an API base URL and strips its trailing slashes.
func checkBaseURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && !(scheme == "http" && loopback(u.Hostname())) || u.Host == "" {
		// The API is sent the Basic-auth secret: never in cleartext over a
		// network (plain http only to this machine, for tests and the sandbox).
		return "", fmt.Errorf("%q is not an https URL (plain http only on a loopback host)", s)
	}
	return s, nil
}

// loopback says whether host is this machine (localhost or a loopback IP).
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// APIURL returns the API base URL, discovering it on first use.
func (c *Client) APIURL(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base != "" {
		return c.base, nil
	}
	base, err := c.discover(ctx)
	if err != nil {
		return "", fmt.Errorf("enreach: discovery for %s: %w", c.user, err)
	}
	c.base = base
	c.log.Debug("enreach: discovered API endpoint", "user", c.user, "api_url", base)
	return base, nil
}

// discover asks the discovery service for the user's API endpoint
// (https://doc.enreachvoice.com/beneapi documents POST; this is the GET form the known
// clients use, e.g. mokso/enreachvoice). A failure is not
// cached: the next request tries again.
func (c *Client) discover(ctx context.Context) (string, error) {
	u := c.discovery + "/api/user?" + url.Values{"user": {c.user}}.Encode()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /api/user: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", newStatusError(resp, "/api/user", "")
	}
	raws, err := decodeArray(httpclient.LimitBody(resp.Body, httpclient.LimitToken, "enreach: discovery answer"))
	if err != nil {
		return "", fmt.Errorf("GET /api/user: %w", err)
	}
	if len(raws) == 0 {
		return "", fmt.Errorf("no Enreach user %q is known to the discovery service", c.user)
	}
	endpoint, err := discoveredEndpoint(raws[0])
	if err != nil {
		return "", fmt.Errorf("GET /api/user: %w", err)
	}
	base, err := checkBaseURL(endpoint)
	if err != nil {
		return "", fmt.Errorf("GET /api/user: apiEndpoint: %w", err)
	}
	return base, nil
}

// get sends GET {api}{path}?{q} with the API user's credentials and hands the
// 2xx body to read. Other statuses become a *StatusError.
func (c *Client) get(ctx context.Context, path string, q url.Values, read func(io.Reader) error) error {
	base, err := c.APIURL(ctx)
	if err != nil {
		return err
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.SetBasicAuth(c.user, c.secret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	// Sent by the Python client (mokso/enreachvoice); meaning not documented.
	req.Header.Set("X-Json-Serializer", "2")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return newStatusError(resp, path, c.user)
	}
	if err := read(httpclient.LimitBody(resp.Body, c.maxBody, "enreach: GET "+path+" answer")); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// getArray fetches a JSON array and returns its elements undecoded.
func (c *Client) getArray(ctx context.Context, path string, q url.Values) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	err := c.get(ctx, path, q, func(r io.Reader) error {
		var err error
		raws, err = decodeArray(r)
		return err
	})
	return raws, err
}

// StatusError is a non-2xx answer from Enreach (after retries, for 429 and
// 5xx).
type StatusError struct {
	Method string
	Path   string // without the query
	Status int
	// Body is the start of the response body.
	Body string
	// User is the API user, named in the 401 message. Never the secret.
	User string
}

func (e *StatusError) Error() string {
	head := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusUnauthorized:
		if e.User != "" {
			return fmt.Sprintf("%s: the API user name or secret key is wrong (user %q; check enreach.user and enreach.secret_key)", head, e.User)
		}
		return head + ": unauthorized"
	case http.StatusTooManyRequests:
		return fmt.Sprintf("%s: still rate limited after retries: %s", head, e.Body)
	}
	if e.Body == "" {
		return head
	}
	return head + ": " + e.Body
}

// Unauthorized reports whether Enreach refused the credentials.
func (e *StatusError) Unauthorized() bool { return e.Status == http.StatusUnauthorized }

const maxErrorBody = 512

func newStatusError(resp *http.Response, path, user string) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	body := strings.TrimSpace(string(b))
	// .NET Web API errors are {"Message": "..."}: keep just the message.
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) == nil {
		for k, v := range m {
			var s string
			if strings.EqualFold(k, "message") && json.Unmarshal(v, &s) == nil && s != "" {
				body = s
			}
		}
	}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody] + "…"
	}
	method := http.MethodGet
	if resp.Request != nil {
		method = resp.Request.Method
	}
	return &StatusError{Method: method, Path: path, Status: resp.StatusCode, Body: body, User: user}
}

// decodeArray reads a JSON array (null counts as empty) and returns its
// elements undecoded, so one bad element cannot spoil the rest. It reads as
// encoding/json's Decoder did (Token, then Decode into a json.RawMessage per
// element): each element is checked for syntax and copied as sent, names
// given twice and invalid UTF-8 inside strings are kept, and nothing after
// the closing bracket is read. jsontext (github.com/go-json-experiment/json,
// the syntax layer of encoding/json/v2) reads an element in one pass; the
// Decoder scanned it again to unmarshal it into its RawMessage.
func decodeArray(r io.Reader) ([]json.RawMessage, error) {
	dec := jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err == io.EOF {
		return nil, errors.New("empty response body, expected a JSON array")
	}
	if err != nil {
		return nil, fmt.Errorf("response is not JSON: %w", err)
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case '[':
	case '0':
		return nil, fmt.Errorf("response is not a JSON array (starts with %v)", tok.Float())
	default:
		return nil, fmt.Errorf("response is not a JSON array (starts with %v)", tok.String())
	}
	var out []json.RawMessage
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("response array element %d: %w", len(out), err)
		}
		out = append(out, bytes.Clone(v))
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, fmt.Errorf("response array: %w", err)
	}
	return out, nil
}
