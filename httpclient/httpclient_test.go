package httpclient_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsync/callsync/httpclient"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
)

func TestRetryAfterHonouredThenSuccess(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c := httpclient.New(httpclient.Options{WaitMin: time.Millisecond, WaitMax: time.Millisecond})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("status %d after %d requests, want 200 after 2", resp.StatusCode, n.Load())
	}
}

func TestRetryAfterOverTheCapGivesUpAtOnce(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := httpclient.New(httpclient.Options{RetryAfterCap: time.Second})
	start := time.Now()
	_, err := c.Get(srv.URL)
	var rae *httpclient.RetryAfterError
	if !errors.As(err, &rae) || rae.Wait != time.Hour {
		t.Fatalf("err = %v, want a RetryAfterError of 1h", err)
	}
	if n.Load() != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("%d requests: it waited instead of giving up", n.Load())
	}
}

func TestLastResponseKeptAfterRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream says no")
	}))
	defer srv.Close()
	c := httpclient.New(httpclient.Options{RetryMax: 2, WaitMin: time.Millisecond, WaitMax: time.Millisecond})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("err = %v, want the last response", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || string(b) != "upstream says no" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
}

// tokens hands out tok-1, tok-2, ... and counts how often it was asked.
type tokens struct {
	mu sync.Mutex
	n  int
}

func (s *tokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return &oauth2.Token{AccessToken: "tok-" + string(rune('0'+s.n)), Expiry: time.Now().Add(time.Hour)}, nil
}

func TestAuthTransportRenewsOnceOn401AndReplaysTheBody(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	src := &tokens{}
	cache := &httpclient.TokenCache{Source: src}
	c := httpclient.New(httpclient.Options{Transport: &httpclient.AuthTransport{Tokens: cache}, WaitMin: time.Millisecond})
	req, _ := retryablehttp.NewRequest("POST", srv.URL, strings.NewReader("payload"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || src.n != 2 {
		t.Fatalf("status %d with %d token requests, want 200 with 2", resp.StatusCode, src.n)
	}
	if len(bodies) != 2 || bodies[1] != "Bearer tok-2 payload" {
		t.Fatalf("requests %q: the body was not replayed", bodies)
	}
	// The renewed token is cached: the next request asks for none.
	resp, _ = c.Get(srv.URL)
	resp.Body.Close()
	if src.n != 2 {
		t.Fatalf("%d token requests after a second call, want 2", src.n)
	}
}

func TestAuthTransportSecond401IsReturned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	src := &tokens{}
	c := httpclient.New(httpclient.Options{Transport: &httpclient.AuthTransport{Tokens: &httpclient.TokenCache{Source: src}}})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || src.n != 2 {
		t.Fatalf("status %d after %d token requests, want 401 after exactly one renewal", resp.StatusCode, src.n)
	}
}

func TestTokenCacheRenewsBeforeExpiryAndSerialises(t *testing.T) {
	var calls, inflight, most atomic.Int32
	cache := &httpclient.TokenCache{ExpiryDelta: time.Minute, Source: httpclient.TokenFunc(func() (*oauth2.Token, error) {
		calls.Add(1)
		if n := inflight.Add(1); n > most.Load() {
			most.Store(n)
		}
		defer inflight.Add(-1)
		time.Sleep(10 * time.Millisecond)
		return &oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(30 * time.Second)}, nil // inside the delta
	})}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); cache.Token() }()
	}
	wg.Wait()
	// Each caller found the token expiring (30s < 1m delta) and renewed it,
	// one at a time: 8 renewals, never concurrent.
	if calls.Load() != 8 || most.Load() != 1 {
		t.Fatalf("%d renewals, at most %d at once; want 8, one at a time", calls.Load(), most.Load())
	}
	fresh := &httpclient.TokenCache{Source: httpclient.TokenFunc(func() (*oauth2.Token, error) {
		calls.Add(1)
		return &oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)}, nil
	})}
	calls.Store(0)
	for i := 0; i < 5; i++ {
		fresh.Token()
	}
	if calls.Load() != 1 {
		t.Fatalf("%d token requests for a fresh token, want 1", calls.Load())
	}
}
