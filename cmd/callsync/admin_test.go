package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The public /healthz says only "unavailable" when the store fails; the
// admin one names the store's error.
func TestHealthDetailOnlyOnAdmin(t *testing.T) {
	fail := func(context.Context) error { return errors.New("unable to open /var/lib/callsync/callsync.db") }
	for _, tc := range []struct {
		detail bool
		want   string
	}{{false, "unavailable\n"}, {true, "store: unable to open /var/lib/callsync/callsync.db\n"}} {
		rec := httptest.NewRecorder()
		health(fail, tc.detail).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != tc.want {
			t.Errorf("detail %v: %d %q, want 503 %q", tc.detail, rec.Code, rec.Body.String(), tc.want)
		}
	}
	rec := httptest.NewRecorder()
	health(func(context.Context) error { return nil }, false).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("healthy: %d %q", rec.Code, rec.Body.String())
	}
}

// The admin token is accepted as a bearer token or as ?token= (a browser
// opening the status page), and nothing else passes.
func TestAdminTokenForms(t *testing.T) {
	h := requireToken("admin-s3cret", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "inside") }))
	for _, tc := range []struct {
		name, url, auth string
		want            int
	}{
		{"bearer", "/metrics", "Bearer admin-s3cret", http.StatusOK},
		{"query", "/?token=admin-s3cret", "", http.StatusOK},
		{"none", "/metrics", "", http.StatusUnauthorized},
		{"wrong bearer", "/metrics", "Bearer admin-s3cre", http.StatusUnauthorized},
		{"basic", "/metrics", "Basic admin-s3cret", http.StatusUnauthorized},
		{"empty query", "/?token=", "", http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.url, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want || (tc.want == http.StatusOK) != strings.Contains(rec.Body.String(), "inside") {
			t.Errorf("%s: %d %q, want %d", tc.name, rec.Code, rec.Body.String(), tc.want)
		}
	}
}
