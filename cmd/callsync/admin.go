package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/callsync/callsync/config"
)

// newAdmin returns the handler of the admin listener (http.admin_listen):
// /metrics, the detailed /healthz and the status page. Admin endpoints are
// added here and nowhere on the public listener. With an admin token every
// request needs it as "Authorization: Bearer <token>" or ?token=<token>
// (compared in constant time), except the status page when it has its own
// http.status_token, which it checks itself.
func newAdmin(a *app, hc config.HTTP) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health(a.store.Ping, true))
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	if !hc.AdminToken.IsSet() {
		mountStatusPage(mux, a.statusPage())
		return mux
	}
	guarded := requireToken(hc.AdminToken.Value(), mux)
	if !hc.StatusToken.IsSet() {
		mountStatusPage(mux, a.statusPage())
		return guarded
	}
	outer := http.NewServeMux()
	mountStatusPage(outer, a.statusPage())
	outer.Handle("/", guarded)
	return outer
}

// health answers /healthz: "ok", or 503 when the store does not answer
// ping. detail adds the store's error text (admin listener only: the public
// one says "unavailable" and nothing about the store).
func health(ping func(context.Context) error, detail bool) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// A replica whose database does not answer within 5 s is unhealthy.
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := ping(ctx); err != nil {
			msg := "unavailable"
			if detail {
				msg = "store: " + err.Error()
			}
			http.Error(rw, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
}

// requireToken answers 401 unless the request carries token as a bearer
// token or as ?token=, compared in constant time.
func requireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			got = r.URL.Query().Get("token")
		}
		g := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(g[:], want[:]) != 1 || got == "" {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="callsync admin"`)
			http.Error(rw, "admin endpoint: a valid token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(rw, r)
	})
}
