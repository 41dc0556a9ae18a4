// Package statuspage serves callsync's HTML status page: per tenant, the
// health of its jobs and watermarks, calls per hour over the last 48 hours
// and CRM requests per hour as inline SVG charts, the quarantine and the
// webhook inbox. The page is rendered on the server, loads nothing from
// elsewhere (its Content-Security-Policy forbids it) and refreshes itself
// every 30 seconds. It shows counts, ids and reasons: never a secret, a
// phone number or a customer's name.
package statuspage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/callsync/callsync/store"
)

// Store is what the page reads.
type Store interface {
	LastRuns(ctx context.Context, tenant string) ([]store.Run, error)
	Watermarks(ctx context.Context, tenant string) (map[string]time.Time, error)
	CallsPerHour(ctx context.Context, tenant string, since time.Time) ([]store.HourCount, error)
	CRMRequests(ctx context.Context, tenant string, since time.Time) ([]store.RequestCount, error)
	ListQuarantine(ctx context.Context, tenant string, limit int) ([]store.QuarantineItem, error)
	QuarantineCount(ctx context.Context, tenant string) (int, error)
	InboxCounts(ctx context.Context, tenant string) (map[store.InboxState]int, error)
}

// Tenant is a tenant as the page names it.
type Tenant struct {
	Name string
	CRM  string // dynamics | salesforce | zoho
}

// Options configure the page.
type Options struct {
	Store Store
	// Tenants lists the tenants at the time of the request (the config may
	// be reloaded).
	Tenants func() []Tenant
	// Token, when set, must come as "Authorization: Bearer <token>" or as
	// ?token=<token>; it is compared in constant time.
	Token string
	// Flush, when set, runs before rendering (stores pending counters).
	Flush func(ctx context.Context) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Hours is the span of the charts.
const Hours = 48

// RefreshSeconds is how often the page reloads itself.
const RefreshSeconds = 30

// quarantineShown is how many quarantined records the page lists.
const quarantineShown = 20

// Handler serves the page.
type Handler struct {
	o     Options
	token [sha256.Size]byte
}

// New returns the page's handler.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o}
	if o.Token != "" {
		h.token = sha256.Sum256([]byte(o.Token))
	}
	return h
}

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"dur": humanDuration,
}).Parse(pageHTML))

func (h *Handler) authorized(r *http.Request) bool {
	if h.o.Token == "" {
		return true
	}
	got := r.URL.Query().Get("token")
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		got = strings.TrimPrefix(auth, "Bearer ")
	}
	// Hashing first makes the comparison constant-time in the length too.
	sum := sha256.Sum256([]byte(got))
	return got != "" && subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1
}

// ServeHTTP renders the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callsync status"`)
		http.Error(w, "status page: a valid token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)", http.StatusUnauthorized)
		return
	}
	ctx := r.Context()
	if h.o.Flush != nil {
		if err := h.o.Flush(ctx); err != nil {
			h.o.Log.Warn("status page: storing request counts", "err", err)
		}
	}
	data, err := h.build(ctx)
	if err != nil {
		h.o.Log.Error("status page", "err", err)
		http.Error(w, "status page: reading the store failed; see the log", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		h.o.Log.Error("status page: render", "err", err)
		http.Error(w, "status page: render failed; see the log", http.StatusInternalServerError)
		return
	}
	// Nothing is loaded from elsewhere: no scripts at all, styles and
	// images only inline.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

type pageData struct {
	Now     time.Time
	Refresh int
	Hours   int
	Tenants []tenantData
}

type tenantData struct {
	Name, CRM      string
	Runs           []store.Run
	Watermarks     []watermark
	CallsChart     template.HTML
	CallSeries     []Series
	RequestsChart  template.HTML
	RequestSeries  []Series
	Quarantine     []store.QuarantineItem
	QuarantineN    int
	InboxPending   int
	InboxProcessed int
	InboxIgnored   int
	Problem        bool
}

type watermark struct {
	Stream string
	At     time.Time
	Lag    time.Duration
	Late   bool
}

// lateAfter marks a watermark whose lag suggests the job is not running.
const lateAfter = 15 * time.Minute

// Colours of the call states; skip reasons take the palette in turn.
const (
	colorWritten    = "#2e7d32"
	colorUnresolved = "#f9a825"
	colorFailed     = "#c62828"
	colorRequests   = "#1565c0"
	colorThrottled  = "#ef6c00"
)

var skipPalette = []string{"#78909c", "#8d6e63", "#7e57c2", "#26a69a", "#5c6bc0", "#bdbdbd", "#a1887f", "#90a4ae"}

func (h *Handler) build(ctx context.Context) (pageData, error) {
	now := h.o.Now().UTC()
	first := now.Truncate(time.Hour).Add(-(Hours - 1) * time.Hour)
	hours := make([]time.Time, Hours)
	index := map[int64]int{}
	for i := range hours {
		hours[i] = first.Add(time.Duration(i) * time.Hour)
		index[hours[i].UnixMilli()] = i
	}
	d := pageData{Now: now, Refresh: RefreshSeconds, Hours: Hours}
	for _, t := range h.o.Tenants() {
		td := tenantData{Name: t.Name, CRM: t.CRM}
		var err error
		if td.Runs, err = h.o.Store.LastRuns(ctx, t.Name); err != nil {
			return d, err
		}
		for _, r := range td.Runs {
			if r.Status == "error" {
				td.Problem = true
			}
		}
		wms, err := h.o.Store.Watermarks(ctx, t.Name)
		if err != nil {
			return d, err
		}
		for stream, at := range wms {
			lag := now.Sub(at).Truncate(time.Second)
			wm := watermark{Stream: stream, At: at, Lag: lag, Late: lag > lateAfter}
			td.Problem = td.Problem || wm.Late
			td.Watermarks = append(td.Watermarks, wm)
		}
		sort.Slice(td.Watermarks, func(i, j int) bool { return td.Watermarks[i].Stream < td.Watermarks[j].Stream })

		calls, err := h.o.Store.CallsPerHour(ctx, t.Name, first)
		if err != nil {
			return d, err
		}
		td.CallSeries = callSeries(calls, index)
		td.CallsChart = barChart("calls-"+t.Name, "Calls per hour, "+t.Name, hours, td.CallSeries)

		reqs, err := h.o.Store.CRMRequests(ctx, t.Name, first)
		if err != nil {
			return d, err
		}
		ok := Series{Name: "requests", Color: colorRequests, Values: make([]int, Hours)}
		thr := Series{Name: "429", Color: colorThrottled, Values: make([]int, Hours)}
		for _, rc := range reqs {
			if i, in := index[rc.Hour.UnixMilli()]; in {
				ok.Values[i] += rc.Requests - rc.Throttled
				thr.Values[i] += rc.Throttled
			}
		}
		td.RequestSeries = []Series{ok, thr}
		td.RequestsChart = barChart("requests-"+t.Name, "CRM requests per hour, "+t.Name, hours, td.RequestSeries)

		if td.Quarantine, err = h.o.Store.ListQuarantine(ctx, t.Name, quarantineShown); err != nil {
			return d, err
		}
		if td.QuarantineN, err = h.o.Store.QuarantineCount(ctx, t.Name); err != nil {
			return d, err
		}
		inbox, err := h.o.Store.InboxCounts(ctx, t.Name)
		if err != nil {
			return d, err
		}
		td.InboxPending, td.InboxProcessed, td.InboxIgnored = inbox[store.InboxPending], inbox[store.InboxProcessed], inbox[store.InboxIgnored]
		d.Tenants = append(d.Tenants, td)
	}
	return d, nil
}

// callSeries turns ledger counts into stacked series: written, each skip
// reason, unresolved, failed (pending counts as not yet written: failed
// ones are retried, pending ones are being written).
func callSeries(rows []store.HourCount, index map[int64]int) []Series {
	written := Series{Name: "written", Color: colorWritten, Values: make([]int, Hours)}
	unresolved := Series{Name: "unresolved", Color: colorUnresolved, Values: make([]int, Hours)}
	failed := Series{Name: "failed", Color: colorFailed, Values: make([]int, Hours)}
	skipped := map[string]*Series{}
	for _, r := range rows {
		i, in := index[r.Hour.UnixMilli()]
		if !in {
			continue
		}
		switch r.State {
		case store.Written:
			written.Values[i] += r.N
		case store.Unresolved:
			unresolved.Values[i] += r.N
		case store.Failed, store.Pending:
			failed.Values[i] += r.N
		case store.Skipped, store.Ignored:
			reason := r.Reason
			if reason == "" {
				reason = string(r.State)
			}
			s := skipped[reason]
			if s == nil {
				s = &Series{Name: "skipped: " + reason, Values: make([]int, Hours)}
				skipped[reason] = s
			}
			s.Values[i] += r.N
		}
	}
	out := []Series{written}
	reasons := make([]string, 0, len(skipped))
	for k := range skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for i, k := range reasons {
		s := skipped[k]
		s.Color = skipPalette[i%len(skipPalette)]
		out = append(out, *s)
	}
	return append(out, unresolved, failed)
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
