// Package routing owns answering Enreach Smart Routing lookups from CRM data:
// the POST /routing/{tenant} endpoint (auth, limits, the time budget), the
// tenant's ordered routing rules evaluated against the caller's verified CRM
// records (found through the shared match.Matcher and its number cache), the
// record-owner-to-Enreach-user directory, the bnum loop guard, and the
// routing metrics.
package routing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/match"
)

// DefaultBudget is the answer budget when the tenant sets none.
const DefaultBudget = 1500 * time.Millisecond

// Matcher finds the CRM records of caller numbers (*match.Matcher).
type Matcher interface {
	Match(ctx context.Context, raws []string, useCache bool) (map[string]match.Result, error)
}

// Tenant is what routing needs of one running tenant. Build it from a
// jobs.Tenant: {Name: t.Name, Config: t.Config(), Matcher: t.Matcher, CRM: t.CRM}.
type Tenant struct {
	Name   string
	Config config.Tenant
	// Matcher must be the tenant's shared matcher, built with
	// match.Options.Fields = Fields(Config.Routing.Rules).
	Matcher Matcher
	// CRM is only used when it also implements crm.ParentFetcher (account
	// rules over a matched contact's parent account); it may be nil.
	CRM crm.Client
}

// Tenants finds a running tenant by name.
type Tenants interface {
	RoutingTenant(name string) (Tenant, bool)
}

// TenantsFunc adapts a function to Tenants.
type TenantsFunc func(name string) (Tenant, bool)

// RoutingTenant implements Tenants.
func (f TenantsFunc) RoutingTenant(name string) (Tenant, bool) { return f(name) }

// Options configure a Handler.
type Options struct {
	// Directory resolves "owner" targets; nil: owner rules never hit.
	Directory Directory
	// Metrics may be nil.
	Metrics *Metrics
	Log     *slog.Logger
	// MaxBody bounds the request body (default MaxBody).
	MaxBody int64
	Now     func() time.Time
}

// Handler answers POST /routing/{tenant}. Mount it with a Go 1.22 pattern:
//
//	mux.Handle("POST /routing/{tenant}", h)
//
// It is safe for concurrent use.
type Handler struct {
	tenants Tenants
	o       Options
	parents *parentCache
	numbers *numberMemo
	// dummy is the key an unknown tenant's request is compared with, so
	// it is answered like a known tenant's with a wrong key, in the same
	// time (no tenant enumeration).
	dummy config.Secret
}

// NewHandler returns the Smart Routing handler.
func NewHandler(tenants Tenants, o Options) *Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = MaxBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{tenants: tenants, o: o, parents: newParentCache(o.Now), numbers: &numberMemo{}, dummy: config.Secret(rand.Text())}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := r.PathValue("tenant")
	t, ok := h.tenants.RoutingTenant(name)
	key := h.dummy
	if ok && name != "" {
		key = t.Config.Routing.APIKey
	}
	// An unknown tenant is answered exactly like a known one without a
	// valid key, after the same comparison.
	if !authorized(r, key) || !ok || name == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="callsync routing"`)
		if !ok || name == "" {
			// The tenant label stays empty: the path is the caller's choice.
			h.finish(w, "", OutcomeUnknownTenant, start, http.StatusUnauthorized, "missing or wrong API key")
			return
		}
		h.finish(w, t.Name, OutcomeUnauthorized, start, http.StatusUnauthorized, "missing or wrong API key")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.finish(w, t.Name, OutcomeBadRequest, start, http.StatusMethodNotAllowed, "use POST")
		return
	}
	rc := t.Config.Routing
	budget := rc.Budget.D()
	if budget <= 0 {
		budget = DefaultBudget
	}
	ctx, cancel := context.WithTimeout(r.Context(), budget-time.Since(start))
	defer cancel()

	req, status, reason := h.decode(w, r)
	if status != 0 {
		h.finish(w, t.Name, OutcomeBadRequest, start, status, reason)
		return
	}

	// The evaluation runs aside so the answer leaves in time even when a
	// CRM client (or the directory) does not honour ctx; its late result
	// is dropped.
	done := make(chan decision, 1)
	go func() { done <- h.decide(ctx, t, req) }()
	var d decision
	select {
	case d = <-done:
	case <-ctx.Done():
		d = decision{outcome: OutcomeTimeout, err: ctx.Err()}
	}
	if d.err != nil && (errors.Is(d.err, context.DeadlineExceeded) || errors.Is(d.err, context.Canceled) || ctx.Err() != nil) {
		d.outcome = OutcomeTimeout
	}
	h.answer(w, t.Name, req, d, start, budget)
}

// decision is the result of evaluating a tenant's rules for one call.
type decision struct {
	outcome       string
	rule          string
	initial, fail string
	err           error
}

func (h *Handler) answer(w http.ResponseWriter, tenant string, req request, d decision, start time.Time, budget time.Duration) {
	took := time.Since(start)
	level, msg, extra := slog.LevelDebug, "routing: answered", []any(nil)
	switch d.outcome {
	case OutcomeTimeout:
		level, msg, extra = slog.LevelWarn, "routing: CRM lookup did not finish within the budget; default routing", []any{"budget", budget, "err", d.err}
	case OutcomeError:
		level, msg, extra = slog.LevelError, "routing: CRM lookup failed; default routing", []any{"err", d.err}
	case OutcomeLoopGuard:
		level, msg = slog.LevelWarn, "routing: rule target is the dialled number; default routing"
	}
	// The attributes are built only for a record that is written: most
	// answers are Debug, off in production, and this runs per call.
	if h.o.Log.Enabled(context.Background(), level) {
		args := []any{"tenant", tenant, "outcome", d.outcome, "took", took}
		if d.rule != "" {
			args = append(args, "rule", d.rule)
		}
		if req.TargetID != "" {
			args = append(args, "targetid", req.TargetID)
		}
		h.o.Log.Log(context.Background(), level, msg, append(args, extra...)...)
	}
	h.o.Metrics.lookup(tenant, d.outcome, took)
	if d.outcome != OutcomeTarget {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, err := json.Marshal(response{InitialTarget: d.initial, FailTarget: d.fail})
	if err != nil { // cannot happen for two strings
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}

// finish answers a request that never reached the rules.
func (h *Handler) finish(w http.ResponseWriter, tenant, outcome string, start time.Time, status int, reason string) {
	h.o.Metrics.lookup(tenant, outcome, time.Since(start))
	h.o.Log.Info("routing: request refused", "tenant", tenant, "status", status, "reason", reason)
	http.Error(w, reason, status)
}

// authorized compares the X-Benemen-APIKey header, or else the Basic auth
// password (the user is ignored), with the tenant's key in constant time.
// Both sides are hashed first so the comparison does not leak the length.
// A tenant without a key refuses everything.
func authorized(r *http.Request, key config.Secret) bool {
	if !key.IsSet() {
		return false
	}
	got := r.Header.Get(headerAPIKey)
	if got == "" {
		if _, pass, ok := r.BasicAuth(); ok {
			got = pass
		}
	}
	if got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(key.Value()))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// decode reads the body; a non-zero status says why it was refused.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request) (request, int, string) {
	var req request
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return req, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit)
		}
		return req, http.StatusBadRequest, "cannot read body"
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return req, http.StatusBadRequest, "empty body: want a JSON object with anum"
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, http.StatusBadRequest, "invalid JSON: " + err.Error()
	}
	if req.ANum == nil {
		return req, http.StatusBadRequest, "missing anum"
	}
	if strings.TrimSpace(*req.ANum) == "" {
		return req, http.StatusBadRequest, "empty anum"
	}
	return req, 0, ""
}

// parentCache keeps contacts' parent accounts fetched for account rules,
// per tenant, for the tenant's cache TTL. Absent parents are cached too.
type parentCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[parentKey]parentEntry
}

type parentKey struct{ tenant, id string }

type parentEntry struct {
	rec     *crm.Record // nil: the CRM has no such account
	expires time.Time
}

// maxParents bounds the parent cache.
const maxParents = 10_000

func newParentCache(now func() time.Time) *parentCache {
	return &parentCache{now: now, m: map[parentKey]parentEntry{}}
}

func (c *parentCache) get(tenant, id string) (*crm.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[parentKey{tenant, id}]
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e.rec, true
}

func (c *parentCache) put(tenant string, recs map[string]*crm.Record, ttl time.Duration) {
	if ttl <= 0 || len(recs) == 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(recs) > maxParents {
		for k, e := range c.m {
			if now.After(e.expires) || len(c.m)+len(recs) > maxParents {
				delete(c.m, k)
			}
		}
	}
	for id, r := range recs {
		c.m[parentKey{tenant, id}] = parentEntry{rec: r, expires: now.Add(ttl)}
	}
}
