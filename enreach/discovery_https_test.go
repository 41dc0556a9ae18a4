package enreach_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
)

// The discovery answer decides where the Basic-auth secret goes: only an
// https endpoint (or a loopback one, for tests and the sandbox) is used.
func TestDiscoveredEndpointMustBeHTTPS(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"http://api-sedna.enreachvoice.com/", false},
		{"HTTP://api.example.com", false},
		{"ftp://api.example.com/", false},
		{"https://api-sedna.enreachvoice.com/", true},
		{"http://127.0.0.1:9/", true},
		{"http://localhost:9", true},
		{"http://[::1]:9/", true},
	} {
		disc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `[{"apiEndpoint": %q}]`, tc.endpoint)
		}))
		c, err := enreach.New(enreach.Config{User: "api@contoso.example", SecretKey: "s3cret-key", DiscoveryURL: disc.URL})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.APIURL(context.Background())
		disc.Close()
		if tc.ok {
			if err != nil || got != strings.TrimRight(tc.endpoint, "/") {
				t.Errorf("%s: APIURL = %q, %v; want it accepted", tc.endpoint, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "https") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: APIURL = %q, %v; want an error asking for https (without the secret)", tc.endpoint, got, err)
		}
	}
}

// A configured API URL follows the same rule.
func TestConfiguredAPIURLMustBeHTTPS(t *testing.T) {
	if _, err := enreach.New(enreach.Config{User: "api@contoso.example", SecretKey: "k", APIURL: "http://api.example.com"}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http API URL: err = %v, want refused", err)
	}
}

// An API answer past the body limit is an error naming the limit, not an
// unbounded stream.
func TestResponseBodyLimit(t *testing.T) {
	srv := newServer(t)
	for i := range 50 {
		srv.AddUsers(enreach.User{ID: enreachtest.NewID(), UserName: fmt.Sprintf("user%02d@contoso.example", i)})
	}
	c := newClient(t, srv, func(c *enreach.Config) { c.HTTP.BodyLimit = 2048 })
	_, err := c.Users(context.Background())
	if !errors.Is(err, httpclient.ErrBodyTooLarge) || !strings.Contains(err.Error(), "2048-byte limit") {
		t.Fatalf("err = %v, want the 2048-byte limit named", err)
	}
}
