package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsync/callsync/cluster"
	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

// SteadyResult is the steady-state phase: many tenants, one scheduler cycle
// at a time, in-process (one jobs.Syncer per replica, a Dynamics double and
// an Enreach double per tenant). The store is SQLite (one replica), or
// PostgreSQL with one or more replicas sharing the tenants through leases
// (each replica its own pool, syncer and cluster.Coordinator, in this one
// process).
type SteadyResult struct {
	// Store is sqlite or postgres; Replicas share the tenants.
	Store    string `json:"store"`
	Replicas int    `json:"replicas"`
	// MaxConns is each replica's PostgreSQL pool size.
	MaxConns       int `json:"max_conns,omitempty"`
	Tenants        int `json:"tenants"`
	CallsPerMinute int `json:"calls_per_tenant_per_minute"`
	Cycles         int `json:"measured_cycles"`
	Concurrency    int `json:"concurrency"` // 0: every tenant at once
	// Directory is the tenants' crm.directory (mirror: the phone
	// directory answers known numbers; live: every number is searched).
	Directory string `json:"directory"`
	// Per measured cycle, averaged.
	CallsPerCycle float64 `json:"calls_per_cycle"`
	CycleWallMS   float64 `json:"cycle_wall_ms"`
	// CallsPerSecond is the calls of a cycle over its wall time.
	CallsPerSecond float64 `json:"calls_per_second"`
	// CPUPerCycleMS is getrusage(RUSAGE_SELF) user+system over a cycle: the
	// syncer, the SQLite store, and the in-process doubles and latency
	// proxies serving its requests (an upper bound for callsync alone).
	CPUPerCycleMS float64 `json:"cpu_per_cycle_ms"`
	CPUPerCallMS  float64 `json:"cpu_per_call_ms"`
	// DBCPUPerCallMS is the PostgreSQL server's CPU (its processes, not
	// this one) per call over the measured cycles; zero on SQLite, whose
	// CPU is in the process.
	DBCPUPerCallMS float64 `json:"db_cpu_per_call_ms,omitempty"`
	// CallsyncCPUShare is the share of the process's CPU samples in the
	// measured cycles that were not the doubles' or the bench's own (a
	// CPU profile with goroutine labels); CallsyncCPUPerCallMS is
	// CPUPerCallMS times that share. Zero when -cpuprofile was given.
	CallsyncCPUShare     float64 `json:"callsync_cpu_share"`
	CallsyncCPUPerCallMS float64 `json:"callsync_cpu_per_call_ms"`
	CRMRequestsPerCall   float64 `json:"crm_requests_per_call"`
	// CRMRequestsFloor is the requests no cycle can avoid over the calls
	// written (unavoidableRequests per tenant-cycle): the least
	// CRMRequestsPerCall can be at this rate of calls.
	CRMRequestsFloor float64 `json:"crm_requests_per_call_floor"`
	// CRMRequestsByPath: the measured cycles' CRM requests by method and
	// path shape.
	CRMRequestsByPath  map[string]int `json:"crm_requests_by_path"`
	EnreachReqPerCycle float64        `json:"enreach_requests_per_cycle"`
	// End-to-record: the CRM record's creation time minus the call's end
	// (as Enreach reports it), with calls ending uniformly over the minute
	// before the cycle starts. p99 of all measured calls.
	EndToRecordP50MS float64 `json:"end_to_record_p50_ms"`
	EndToRecordP99MS float64 `json:"end_to_record_p99_ms"`
	// Cycle start to each tenant's last record written (the part callsync
	// controls; the rest is waiting for the cycle).
	CycleToRecordP99MS float64  `json:"cycle_to_record_p99_ms"`
	Written            int      `json:"written"`
	Expected           int      `json:"expected_written"`
	Problems           []string `json:"problems,omitempty"`
}

type steadyTenant struct {
	t   *jobs.Tenant
	en  *enreachtest.Server
	rep int // index of the replica holding it
}

// steadyReplica is one callsync replica of the steady phase.
type steadyReplica struct {
	st     *store.Store
	syncer *jobs.Syncer
	coord  *cluster.Coordinator // nil on SQLite
}

// steadyEngine is the steady phase's store: SQLite, or replicas on a new
// PostgreSQL database of pg.
type steadyEngine struct {
	postgres bool
	replicas int
	pg       *pgDatabases
}

func runSteady(ctx context.Context, o options, eng steadyEngine) (SteadyResult, error) {
	r := SteadyResult{Store: "sqlite", Replicas: 1, Tenants: o.Tenants, CallsPerMinute: o.CallsPerMinute, Cycles: o.Cycles, Concurrency: o.SteadyConcurrency, Directory: o.SteadyDirectory}
	log := slog.New(slog.DiscardHandler)
	var reps []*steadyReplica
	defer func() {
		for _, rp := range reps {
			rp.st.Close()
		}
	}()
	names := make([]string, o.Tenants)
	for i := range names {
		names[i] = fmt.Sprintf("tenant%03d", i)
	}
	owner := map[string]int{}
	if eng.postgres {
		r.Store, r.Replicas, r.MaxConns = "postgres", eng.replicas, o.PGMaxConns
		url, drop, err := eng.pg.create(ctx, fmt.Sprintf("bench_steady_%d", eng.replicas))
		if err != nil {
			return r, err
		}
		defer drop()
		for i := range eng.replicas {
			st, err := store.OpenPostgres(ctx, url, store.PoolOptions{MaxConns: int32(o.PGMaxConns)})
			if err != nil {
				return r, err
			}
			c := cluster.New(st, cluster.Options{ID: fmt.Sprintf("replica%d", i), Host: "bench", Log: log})
			c.SetTenants(names)
			reps = append(reps, &steadyReplica{st: st, coord: c})
		}
		// Rounds until every tenant has one holder, as `callsync run`
		// replicas settle after starting together.
		for round := 0; ; round++ {
			for _, rp := range reps {
				if err := rp.coord.Tick(ctx); err != nil {
					return r, err
				}
			}
			owner = map[string]int{}
			for i, rp := range reps {
				for _, n := range rp.coord.Held() {
					owner[n] = i
				}
			}
			if len(owner) == len(names)+1 {
				break
			}
			if round == 5 {
				return r, fmt.Errorf("leases: %d of %d tenants held after %d rounds", len(owner)-1, len(names), round+1)
			}
		}
	} else {
		st, remove, err := tempStore(ctx, "steady")
		if err != nil {
			return r, err
		}
		defer remove()
		reps = append(reps, &steadyReplica{st: st})
	}
	for _, rp := range reps {
		rp.syncer = &jobs.Syncer{Store: rp.st, Log: log, Metrics: jobs.NewMetrics(prometheus.NewRegistry())}
	}
	// renew is what the replicas do for their leases in a minute: a round
	// every cluster.DefaultEvery (heartbeat, live replicas, each held lease
	// renewed), as `callsync run` does with the default lease_ttl.
	renew := func() error {
		for _, rp := range reps {
			if rp.coord == nil {
				continue
			}
			for range int(time.Minute / cluster.DefaultEvery) {
				if err := rp.coord.Tick(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	}

	// Every tenant has its own CRM org (a Dynamics double) with its own
	// customers, as in production, and each call of a measured cycle comes
	// from a customer not heard from before (two calls of one number within
	// call_start_margin, 15 s, would rightly count as one).
	perTenant := o.CallsPerMinute * (o.Cycles + 1)
	w := newCompany(o.Tenants * perTenant)
	countries := phonedir.NewCountries()
	// The cycles run back to back; the phone directory sees a minute pass
	// between them (it syncs at most every 30 s), as in production.
	var simulated atomic.Int64 // minutes
	dirNow := func() time.Time { return time.Now().Add(time.Duration(simulated.Load()) * time.Minute) }

	var (
		tenants  []steadyTenant
		backends []string
		dyns     []*dynamicstest.Server
		crmURLs  []string
	)
	defer func() {
		for _, t := range tenants {
			t.en.Close()
		}
		for _, d := range dyns {
			d.Close()
		}
	}()
	// The doubles and proxies run in this process: their goroutines
	// carry a profiler label (inherited by every goroutine they start), so
	// the CPU profile of the measured cycles separates callsync's CPU
	// from theirs.
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels(benchPart, partDouble)))
	for i := range o.Tenants {
		en := enreachtest.NewServer()
		w.seedEnreach(en)
		tenants = append(tenants, steadyTenant{en: en, rep: owner[names[i]]})
		backends = append(backends, en.URL)
		dyn := dynamicstest.NewServer(dynamicstest.Options{})
		org := &dynamicsOrg{srv: dyn}
		for _, a := range w.agents {
			org.AddUser(a.UserName, a.FirstName+" "+a.LastName)
		}
		for k := i * perTenant; k < (i+1)*perTenant; k++ {
			org.AddCustomer(fmt.Sprintf("Customer %d", k), storedForm(w.customers[k], k))
		}
		dyns = append(dyns, dyn)
		crmURLs = append(crmURLs, dyn.URL)
	}
	enProxy := newDelayProxy(o.Latency, backends...)
	defer enProxy.Close()
	crmProxy := newDelayProxy(o.Latency, crmURLs...)
	defer crmProxy.Close()
	pprof.SetGoroutineLabels(ctx)
	crmRequests := func() (n int) {
		for _, d := range dyns {
			n += d.Requests()
		}
		return n
	}
	phoneCalls := func() (out []dynamicstest.PhoneCall) {
		for _, d := range dyns {
			out = append(out, d.PhoneCalls()...)
		}
		return out
	}
	for i := range tenants {
		en := tenants[i].en
		dc := dyns[i].Config()
		dc.URL, dc.AuthorityURL = crmProxy.URL(dc.URL), crmProxy.URL(dc.AuthorityURL)
		cfg := config.DefaultTenant()
		cfg.Name = names[i]
		cfg.DefaultRegion = "FI"
		cfg.Enreach = config.Enreach{APIURL: enProxy.URL(en.URL), User: en.User, SecretKey: config.Secret(en.Secret)}
		cfg.CRM.Type = "dynamics"
		cfg.CRM.Directory = o.SteadyDirectory
		d := dynamics.DefaultConfig()
		d.URL, d.AuthorityURL, d.TenantID, d.ClientID, d.ClientSecret = dc.URL, dc.AuthorityURL, dc.TenantID, dc.ClientID, dc.ClientSecret
		cfg.CRM.Options = config.NewCRMOptions(&d)
		cfg.PhoneCalls.DefaultCRMAssignee = w.agents[0].ID
		cfg.PhoneCalls.ProcessServiceCalls = true
		cfg.Retroactive.Enabled = false
		ec, err := enreach.New(enreach.Config{APIURL: cfg.Enreach.APIURL, User: en.User, SecretKey: en.Secret, Logger: log})
		if err != nil {
			return r, err
		}
		cc, err := dynamics.New(dc, dynamics.Options{Logger: log, HTTP: httpclient.Options{Logger: log}})
		if err != nil {
			return r, err
		}
		// As `callsync run` wires a tenant: the phone directory
		// (crm.directory: mirror, the default) answers known numbers.
		mo := match.Options{Region: cfg.DefaultRegion, NumbersToCut: cfg.PhoneCalls.NumbersToCut, TTL: cfg.Routing.CacheTTL.D()}
		var dir *phonedir.Directory
		if cfg.CRM.Directory == config.DirectoryMirror {
			dir = phonedir.New(reps[tenants[i].rep].st, cc, phonedir.Options{Tenant: cfg.Name, Region: cfg.DefaultRegion,
				FullResync: cfg.CRM.DirectoryFullResync.D(), Countries: countries, Now: dirNow})
			mo.Directory = dir
		}
		tenants[i].t = jobs.NewTenant(cfg, ec, cc, match.New(cc, mo))
		if dir != nil {
			tenants[i].t.Phones = dir
		}
	}

	rng := rand.New(rand.NewPCG(3, 4))
	ends := map[string]time.Time{} // activity id -> call end
	minute := 0
	addMinute := func() (expected int) {
		at := time.Now().UTC().Truncate(time.Second)
		for i, t := range tenants {
			cs := &callSet{}
			for k := range o.CallsPerMinute {
				end := at.Add(-time.Duration(rng.Int64N(int64(time.Minute))))
				w.genCall(rng, cs, end, true, w.customers[i*perTenant+minute*o.CallsPerMinute+k])
			}
			cs.add(t.en)
			expected += cs.known
			for _, c := range cs.calls {
				ends[dynamics.ActivityID(crm.Key(t.t.Name, crm.KindCall, strings.ToLower(c.CallID)))] = c.EndTime
			}
		}
		minute++
		simulated.Add(1)
		return expected
	}
	cycle := func() (time.Time, map[string]time.Time, jobs.Summary, int, error) {
		start := time.Now()
		done := map[string]time.Time{}
		var (
			mu     sync.Mutex
			sum    jobs.Summary
			errs   []string
			wg     sync.WaitGroup
			needed int // unavoidable CRM requests
		)
		conc := o.SteadyConcurrency
		if conc <= 0 {
			conc = len(tenants)
		}
		// Each replica runs up to conc of its tenants at once.
		sems := make([]chan struct{}, len(reps))
		for i := range sems {
			sems[i] = make(chan struct{}, conc)
		}
		for _, t := range tenants {
			wg.Add(1)
			sem := sems[t.rep]
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s, err := reps[t.rep].syncer.RunCalls(ctx, t.t, jobs.SyncOptions{})
				mu.Lock()
				defer mu.Unlock()
				done[t.t.Name] = time.Now()
				sum.Add(s)
				needed += unavoidableRequests(s)
				if err != nil {
					errs = append(errs, err.Error())
				}
			}()
		}
		wg.Wait()
		var err error
		if len(errs) > 0 {
			err = fmt.Errorf("%d tenant(s) failed, first: %s", len(errs), errs[0])
		}
		return start, done, sum, needed, err
	}

	// Warm-up: first runs fetch tokens, directories and user maps.
	addMinute()
	if _, _, _, _, err := cycle(); err != nil {
		return r, fmt.Errorf("warm-up cycle: %w", err)
	}
	seen := map[string]bool{}
	for _, pc := range phoneCalls() {
		seen[strings.ToLower(pc.ID)] = true
	}

	var (
		lat, cycleLat          []time.Duration
		cpu, wall              time.Duration
		crmReqs, enReqs, calls int
		floorReqs              int
		dbCPU                  time.Duration
	)
	var prof, allocs0 bytes.Buffer
	if o.ProfileDir != "" {
		if err := pprof.Lookup("allocs").WriteTo(&allocs0, 0); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("allocation profile: %v", err))
		}
	}
	profiling := o.CPUProfile == "" // one CPU profile at a time
	if profiling {
		if err := pprof.StartCPUProfile(&prof); err != nil {
			profiling = false
		}
	}
	byPath0 := crmProxy.ByPath()
	for c := 0; c < o.Cycles; c++ {
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels(benchPart, partBench)))
		expected := addMinute()
		pprof.SetGoroutineLabels(ctx)
		calls += o.Tenants * o.CallsPerMinute
		r.Expected += expected
		crm0, en0 := crmRequests(), enProxy.Requests()
		cpu0, db0 := rusageSelf(), eng.pgCPU()
		if err := renew(); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("cycle %d: leases: %v", c+1, err))
		}
		start, done, sum, needed, err := cycle()
		floorReqs += needed
		cpu += rusageSelf() - cpu0
		dbCPU += eng.pgCPU() - db0
		wall += time.Since(start)
		// Counting the cycle's requests and records is the bench's work.
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels(benchPart, partBench)))
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("cycle %d: %v", c+1, err))
		}
		crmReqs += crmRequests() - crm0
		enReqs += int(enProxy.Requests() - en0)
		r.Written += sum.Written
		if sum.Written != expected {
			r.Problems = append(r.Problems, fmt.Sprintf("cycle %d wrote %d, expected %d", c+1, sum.Written, expected))
		}
		for _, d := range done {
			cycleLat = append(cycleLat, d.Sub(start))
		}
		for _, pc := range phoneCalls() {
			id := strings.ToLower(pc.ID)
			if seen[id] {
				continue
			}
			seen[id] = true
			end, ok := ends[id]
			if !ok {
				r.Problems = append(r.Problems, fmt.Sprintf("phone call %s does not belong to a generated call", id))
				continue
			}
			lat = append(lat, pc.CreatedOn.Sub(end))
		}
	}
	pprof.SetGoroutineLabels(ctx)
	if profiling {
		pprof.StopCPUProfile()
		if o.ProfileDir != "" {
			if err := writeSteadyProfiles(o.ProfileDir, r, prof.Bytes(), allocs0.Bytes()); err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("CPU profile: %v", err))
			}
		}
		if own, all, err := unlabelledCPU(&prof); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("CPU profile: %v", err))
		} else if all > 0 {
			r.CallsyncCPUShare = round2(float64(own) / float64(all))
			r.CallsyncCPUPerCallMS = round2(float64(cpu) * r.CallsyncCPUShare / float64(time.Millisecond) / float64(calls))
		}
	}
	r.CRMRequestsByPath = map[string]int{}
	for k, v := range crmProxy.ByPath() {
		if n := v - byPath0[k]; n > 0 {
			r.CRMRequestsByPath[k] = n
		}
	}
	if len(lat) != r.Expected {
		r.Problems = append(r.Problems, fmt.Sprintf("the CRM gained %d phone calls in the measured cycles, expected %d", len(lat), r.Expected))
	}
	n := float64(o.Cycles)
	r.CallsPerCycle = float64(calls) / n
	r.CycleWallMS = ms(wall / time.Duration(o.Cycles))
	r.CPUPerCycleMS = ms(cpu / time.Duration(o.Cycles))
	r.CPUPerCallMS = round2(float64(cpu) / float64(time.Millisecond) / float64(calls))
	r.DBCPUPerCallMS = round2(float64(dbCPU) / float64(time.Millisecond) / float64(calls))
	if wall > 0 {
		r.CallsPerSecond = round2(float64(calls) / wall.Seconds())
	}
	if r.Written > 0 {
		r.CRMRequestsPerCall = round2(float64(crmReqs) / float64(r.Written))
		r.CRMRequestsFloor = round2(float64(floorReqs) / float64(r.Written))
	}
	r.EnreachReqPerCycle = float64(enReqs) / n
	r.EndToRecordP50MS = ms(quantile(lat, 0.50))
	r.EndToRecordP99MS = ms(quantile(lat, 0.99))
	r.CycleToRecordP99MS = ms(quantile(cycleLat, 0.99))
	return r, nil
}

// unavoidableRequests is the CRM requests one tenant's cycle cannot do
// without, given what it did (s): with calls not yet written, the phone
// directory's incremental sync before matching (one request: the tables'
// changes in one Dataverse $batch), and with calls written, one write
// request (one $batch of up to 1,000 operations). Everything else a cycle
// asks is avoidable in principle.
func unavoidableRequests(s jobs.Summary) int {
	n := 0
	if s.Seen > s.Already {
		n++
	}
	if s.Written > 0 {
		n++
	}
	return n
}

// writeSteadyProfiles writes the measured cycles' CPU profile to dir as
// steady-<store>-<replicas>.cpu.pprof, and the process's allocations as
// .allocs.pprof, with those before the measured cycles (allocs0) as
// .allocs0.pprof: go tool pprof -diff_base X.allocs0.pprof X.allocs.pprof
// shows the measured cycles' own. The doubles' and the bench's own CPU
// samples carry the benchPart label (go tool pprof -tagignore bench=.
// leaves callsync's); allocation samples carry no labels (-focus
// jobs.\(\*Syncer\).RunCalls keeps the cycles').
func writeSteadyProfiles(dir string, r SteadyResult, cpu, allocs0 []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, fmt.Sprintf("steady-%s-%d", r.Store, r.Replicas))
	var allocs bytes.Buffer
	if err := pprof.Lookup("allocs").WriteTo(&allocs, 0); err != nil {
		return err
	}
	for name, b := range map[string][]byte{".cpu.pprof": cpu, ".allocs.pprof": allocs.Bytes(), ".allocs0.pprof": allocs0} {
		if err := os.WriteFile(base+name, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pgCPU is the PostgreSQL server's CPU so far (zero on SQLite).
func (e steadyEngine) pgCPU() time.Duration {
	if !e.postgres {
		return 0
	}
	return e.pg.cpu()
}

// Profiler labels of the steady phase's goroutines that are not callsync.
const (
	benchPart  = "bench"
	partDouble = "double" // the CRM and Enreach doubles and the latency proxies
	partBench  = "bench"  // generating the next minute's calls, counting a cycle's requests and records
)

// unlabelledCPU sums a CPU profile's samples: those without a benchPart
// label (callsync's own goroutines, and the runtime's, such as the garbage
// collector's background workers) and all of them.
func unlabelledCPU(r io.Reader) (own, all time.Duration, err error) {
	p, err := profile.Parse(r)
	if err != nil {
		return 0, 0, err
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return 0, 0, fmt.Errorf("no cpu/nanoseconds samples")
	}
	for _, s := range p.Sample {
		d := time.Duration(s.Value[idx])
		all += d
		if len(s.Label[benchPart]) == 0 {
			own += d
		}
	}
	return own, all, nil
}

// rusageSelf is the process's user+system CPU time so far.
func rusageSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration((tv(ru.Utime) + tv(ru.Stime)) * float64(time.Second))
}
