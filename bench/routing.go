package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/routing"
	"github.com/callsync/callsync/store"
)

// RoutingResult is the Smart Routing phase: routing.Handler over HTTP on
// loopback, the tenant's matcher over the Dynamics client and double (with
// the simulated latency), owner targets from routing.UserDirectory.
type RoutingResult struct {
	Workers int `json:"concurrent_callers"`
	// Cached: callers the calls job has already looked up (the matcher's
	// cache answers). Uncached: first-time callers (one CRM lookup each).
	Cached   RoutingLatency `json:"cached"`
	Uncached RoutingLatency `json:"uncached"`
	// CRMRequestsCached must be 0: a cached lookup does not reach the CRM.
	CRMRequestsCached   int `json:"crm_requests_cached"`
	CRMRequestsUncached int `json:"crm_requests_uncached"`
	// Directory: every customer, once, from a tenant whose phone
	// directory holds them (none cached), the callers back to back (the
	// machine saturated: the latency is mostly queueing for its cores).
	Directory            RoutingLatency `json:"directory"`
	CRMRequestsDirectory int            `json:"crm_requests_directory"`
	// DirectoryPaced: every customer, once, new to a third tenant's
	// matcher over the same phone directory, lookup i due at start +
	// i/DirectoryOfferedPerS (Enreach asks as calls arrive; the latency
	// counts as paced says).
	DirectoryPaced       RoutingLatency `json:"directory_paced"`
	DirectoryOfferedPerS float64        `json:"directory_offered_per_second"`
	CRMRequestsPaced     int            `json:"crm_requests_directory_paced"`
	// DoubleMSPerUncached is the mean time the CRM double took to answer
	// per uncached lookup (the simulated latency comes on top).
	DoubleMSPerUncached float64  `json:"crm_double_ms_per_uncached_lookup"`
	Problems            []string `json:"problems,omitempty"`
}

// RoutingLatency is one set of lookups as the caller (Enreach) sees them.
type RoutingLatency struct {
	N       int     `json:"lookups"`
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
	MaxMS   float64 `json:"max_ms"`
	Targets int     `json:"owner_targets"` // answered with the owner's number
}

const (
	routingKey   = "bench-routing-key"
	routingQueue = "+358201230000"
	routingFail  = "+358201239999"
)

func runRouting(ctx context.Context, o options) (RoutingResult, error) {
	r := RoutingResult{Workers: o.RoutingWorkers, DirectoryOfferedPerS: o.RoutingRate}
	st, remove, err := tempStore(ctx, "routing")
	if err != nil {
		return r, err
	}
	defer remove()
	defer st.Close()
	log := slog.New(slog.DiscardHandler)

	dyn := dynamicstest.NewServer(dynamicstest.Options{})
	defer dyn.Close()
	proxy := newDelayProxy(o.Latency, dyn.URL)
	defer proxy.Close()

	// Customers 0..cached-1 are warm (the calls job saw them), the next
	// uncached ones are not. Each contact is owned by one of the agents.
	w := newCompany(o.RoutingCached + o.RoutingUncached)
	var maps []store.UserMapping
	owners := make([]string, len(w.agents))
	for i, a := range w.agents {
		owners[i] = dyn.AddUser(dynamicstest.User{Name: a.FirstName + " " + a.LastName, Email: a.UserName})
		maps = append(maps, store.UserMapping{EnreachUserID: a.ID, CRMUserID: owners[i], Email: a.UserName, FetchedAt: time.Now().UTC()})
	}
	for i, n := range w.customers {
		dyn.AddContact(dynamicstest.Record{Name: fmt.Sprintf("Customer %d", i), OwnerID: owners[i%len(owners)],
			Phones: map[string]string{"mobilephone": storedForm(n, i)}})
	}

	cfg := config.DefaultTenant()
	cfg.Name, cfg.DefaultRegion = "bench", "FI"
	cfg.Routing.APIKey = routingKey
	yes, no := true, false
	cfg.Routing.Rules = []config.RoutingRule{
		{Name: "account-manager", When: config.RoutingWhen{Matched: &yes}, Target: "owner", FailTarget: routingFail},
		{Name: "new-caller", When: config.RoutingWhen{Matched: &no, BNum: routingQueue}, Target: routing.TargetDisconnect},
	}
	dc := dyn.Config()
	d := dynamics.DefaultConfig()
	dc.URL, dc.AuthorityURL = proxy.URL(dc.URL), proxy.URL(dc.AuthorityURL)
	d.URL, d.AuthorityURL, d.TenantID, d.ClientID, d.ClientSecret = dc.URL, dc.AuthorityURL, dc.TenantID, dc.ClientID, dc.ClientSecret
	cfg.CRM.Type, cfg.CRM.Options = "dynamics", config.NewCRMOptions(&d)
	cc, err := dynamics.New(dc, dynamics.Options{Logger: log, HTTP: httpclient.Options{Logger: log}})
	if err != nil {
		return r, err
	}
	m := match.New(cc, match.Options{Region: cfg.DefaultRegion, TTL: cfg.Routing.CacheTTL.D(), Fields: routing.Fields(cfg.Routing.Rules)})
	if err := st.SaveUserMap(ctx, cfg.Name, maps); err != nil {
		return r, err
	}
	directory := routing.NewUserDirectory(st, func(context.Context, string) ([]enreach.User, error) { return w.agents, nil },
		routing.DirectoryOptions{Log: log})
	if err := directory.Refresh(ctx, cfg.Name); err != nil {
		return r, err
	}
	// A second tenant on the same org answers from its phone directory
	// (crm.directory: mirror), loaded in full first.
	dirCfg := cfg
	dirCfg.Name = cfg.Name + "-directory"
	phones := phonedir.New(st, cc, phonedir.Options{Tenant: dirCfg.Name, Region: cfg.DefaultRegion, Countries: phonedir.NewCountries()})
	if _, err := phones.Sync(ctx, true, nil); err != nil {
		return r, fmt.Errorf("loading the phone directory: %w", err)
	}
	mDir := match.New(cc, match.Options{Region: cfg.DefaultRegion, TTL: cfg.Routing.CacheTTL.D(), Fields: routing.Fields(cfg.Routing.Rules), Directory: phones})
	if err := st.SaveUserMap(ctx, dirCfg.Name, maps); err != nil {
		return r, err
	}
	if err := directory.Refresh(ctx, dirCfg.Name); err != nil {
		return r, err
	}
	// A third tenant over the same phone directory, its matcher new to
	// every number, for the paced lookups.
	pacedCfg := dirCfg
	pacedCfg.Name = cfg.Name + "-directory-paced"
	mPaced := match.New(cc, match.Options{Region: cfg.DefaultRegion, TTL: cfg.Routing.CacheTTL.D(), Fields: routing.Fields(cfg.Routing.Rules), Directory: phones})
	if err := st.SaveUserMap(ctx, pacedCfg.Name, maps); err != nil {
		return r, err
	}
	if err := directory.Refresh(ctx, pacedCfg.Name); err != nil {
		return r, err
	}
	h := routing.NewHandler(routing.TenantsFunc(func(name string) (routing.Tenant, bool) {
		switch name {
		case cfg.Name:
			return routing.Tenant{Name: cfg.Name, Config: cfg, Matcher: m, CRM: cc}, true
		case dirCfg.Name:
			return routing.Tenant{Name: dirCfg.Name, Config: dirCfg, Matcher: mDir, CRM: cc}, true
		case pacedCfg.Name:
			return routing.Tenant{Name: pacedCfg.Name, Config: pacedCfg, Matcher: mPaced, CRM: cc}, true
		}
		return routing.Tenant{}, false
	}), routing.Options{Directory: directory, Log: log})
	mux := http.NewServeMux()
	mux.Handle("POST /routing/{tenant}", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/routing/" + cfg.Name

	// The calls job has looked up the warm callers (and the token is cached).
	if _, err := m.Match(ctx, w.customers[:o.RoutingCached], false); err != nil {
		return r, fmt.Errorf("warming the matcher: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.RoutingWorkers}, Timeout: 10 * time.Second}
	// lookups sends one lookup per number from the workers; with rate > 0
	// lookup i is due at start + i/rate (paced).
	lookups := func(url string, numbers []string, rate float64) (RoutingLatency, int, []string) {
		before := dyn.Requests()
		start := time.Now()
		var (
			next     atomic.Int64
			targets  atomic.Int64
			mu       sync.Mutex
			lat      []time.Duration
			problems []string
			wg       sync.WaitGroup
		)
		for range o.RoutingWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(numbers) || ctx.Err() != nil {
						return
					}
					due := time.Now()
					if rate > 0 {
						due = paced(start, i, rate)
					}
					body := fmt.Sprintf(`{"anum":%q,"bnum":%q,"targetid":"SALES_QUEUE"}`, numbers[i], routingQueue)
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Benemen-APIKey", routingKey)
					resp, err := client.Do(req)
					if err != nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					took := time.Since(due)
					mu.Lock()
					lat = append(lat, took)
					switch {
					case resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"+35820100`)):
						targets.Add(1)
					case resp.StatusCode != http.StatusOK:
						problems = append(problems, fmt.Sprintf("%s: status %d %s", numbers[i], resp.StatusCode, bytes.TrimSpace(b)))
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		rl := RoutingLatency{N: len(lat), P50MS: ms(quantile(lat, 0.5)), P99MS: ms(quantile(lat, 0.99)), MaxMS: ms(quantile(lat, 1)), Targets: int(targets.Load())}
		return rl, dyn.Requests() - before, problems
	}
	var problems []string
	r.Cached, r.CRMRequestsCached, problems = lookups(url, w.customers[:o.RoutingCached], 0)
	r.Problems = append(r.Problems, problems...)
	up0 := proxy.Upstream()
	r.Uncached, r.CRMRequestsUncached, problems = lookups(url, w.customers[o.RoutingCached:], 0)
	r.DoubleMSPerUncached = ms((proxy.Upstream() - up0) / time.Duration(max(1, r.Uncached.N)))
	r.Problems = append(r.Problems, problems...)
	// Every caller is new to the directory tenant: none is cached.
	r.Directory, r.CRMRequestsDirectory, problems = lookups(srv.URL+"/routing/"+dirCfg.Name, w.customers, 0)
	r.Problems = append(r.Problems, problems...)
	r.DirectoryPaced, r.CRMRequestsPaced, problems = lookups(srv.URL+"/routing/"+pacedCfg.Name, w.customers, o.RoutingRate)
	r.Problems = append(r.Problems, problems...)
	if r.DirectoryPaced.Targets != len(w.customers) {
		r.Problems = append(r.Problems, fmt.Sprintf("owner targets: %d of %d paced lookups from the directory", r.DirectoryPaced.Targets, len(w.customers)))
	}
	if r.CRMRequestsPaced != 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("paced lookups from the directory made %d CRM requests", r.CRMRequestsPaced))
	}
	if r.Directory.Targets != len(w.customers) {
		r.Problems = append(r.Problems, fmt.Sprintf("owner targets: %d of %d lookups from the directory", r.Directory.Targets, len(w.customers)))
	}
	if r.CRMRequestsDirectory != 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("lookups from the directory made %d CRM requests", r.CRMRequestsDirectory))
	}
	if len(r.Problems) > 5 {
		r.Problems = append(r.Problems[:5], fmt.Sprintf("... %d more", len(r.Problems)-5))
	}
	if r.Cached.Targets != o.RoutingCached || r.Uncached.Targets != o.RoutingUncached {
		r.Problems = append(r.Problems, fmt.Sprintf("owner targets: %d of %d cached, %d of %d uncached lookups",
			r.Cached.Targets, o.RoutingCached, r.Uncached.Targets, o.RoutingUncached))
	}
	if r.CRMRequestsCached != 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("cached lookups made %d CRM requests", r.CRMRequestsCached))
	}
	return r, nil
}
