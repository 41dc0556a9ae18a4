package httpclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// TokenCache caches the tokens of a source that asks the server every time
// it is called, renews them ExpiryDelta before they expire, serialises
// renewals (one request in flight, however many callers), and can drop a
// token the server refused. A token without an expiry is kept until
// invalidated. The source must not cache itself: clientcredentials'
// Config.TokenSource does (it returns the same refused token after a 401),
// so wrap Config.Token in TokenFunc instead.
type TokenCache struct {
	Source      oauth2.TokenSource
	ExpiryDelta time.Duration // default 2 minutes
	// OnRenew, when set, is told after every token request (for metrics,
	// persistence). It must not log the token.
	OnRenew func(tok *oauth2.Token, err error)

	mu  sync.Mutex
	tok *oauth2.Token
	now func() time.Time
}

// TokenFunc adapts a function that fetches a new token on every call (for
// example clientcredentials.Config.Token) to oauth2.TokenSource.
type TokenFunc func() (*oauth2.Token, error)

// Token implements oauth2.TokenSource.
func (f TokenFunc) Token() (*oauth2.Token, error) { return f() }

// Token returns the cached token or fetches a new one.
func (c *TokenCache) Token() (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && !c.expiring(c.tok) {
		return c.tok, nil
	}
	tok, err := c.Source.Token()
	if c.OnRenew != nil {
		c.OnRenew(tok, err)
	}
	if err != nil {
		return nil, err
	}
	c.tok = tok
	return tok, nil
}

// Invalidate drops bad if it is still the cached token, so the next Token
// call fetches a new one. Tokens renewed meanwhile by another caller stay.
func (c *TokenCache) Invalidate(bad *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && bad != nil && c.tok.AccessToken == bad.AccessToken {
		c.tok = nil
	}
}

func (c *TokenCache) expiring(t *oauth2.Token) bool {
	if t.Expiry.IsZero() {
		return false
	}
	delta := c.ExpiryDelta
	if delta == 0 {
		delta = 2 * time.Minute
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	return !now().Add(delta).Before(t.Expiry)
}

// AuthTransport sets the Authorization header from a TokenCache and, on a 401,
// drops the token, fetches a new one and replays the request once. A second
// 401 is returned to the caller: it is a configuration problem, not a race.
type AuthTransport struct {
	Tokens *TokenCache
	Base   http.RoundTripper
	// Header formats the Authorization value (default "Bearer <token>";
	// Zoho uses "Zoho-oauthtoken <token>").
	Header func(tok *oauth2.Token) string
	// Unauthorized decides whether a response means "token refused" (default:
	// status 401).
	Unauthorized func(resp *http.Response) bool
}

// RoundTrip implements http.RoundTripper.
func (t *AuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// Buffer the body once so a 401 can be replayed.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.Body, _ = req.GetBody()
	}
	resp, err := t.send(req, tok)
	if err != nil || !t.unauthorized(resp) {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.Tokens.Invalidate(tok)
	tok, err = t.Tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("token after 401: %w", err)
	}
	return t.send(req, tok)
}

func (t *AuthTransport) send(req *http.Request, tok *oauth2.Token) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	h := "Bearer " + tok.AccessToken
	if t.Header != nil {
		h = t.Header(tok)
	}
	r.Header.Set("Authorization", h)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

func (t *AuthTransport) unauthorized(resp *http.Response) bool {
	if t.Unauthorized != nil {
		return t.Unauthorized(resp)
	}
	return resp.StatusCode == http.StatusUnauthorized
}
