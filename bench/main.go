// Command bench is callsync's benchmark suite (`make bench`): what users pay
// in CRM requests, time and memory, measured against the in-process
// httptest doubles behind a reverse proxy that adds a simulated network
// latency to every request. It prints one table and writes the numbers as
// JSON (bench/out/results.json) for tracking.
//
//   - backfill: the real binary (`callsync sync calls --from --to`) as a
//     child process, one tenant, each CRM; wall time, calls/s, CRM requests
//     per written call, Enreach requests, the child's peak RSS; the CRM
//     double's activities are counted against the expected writes.
//   - steady: many tenants in-process, one jobs.Syncer, one scheduler cycle
//     (RunCalls for every tenant); CPU per cycle, requests per call, p99 time
//     from a call's end to its CRM record.
//   - steady-pg, steady-pg3: the steady phase on PostgreSQL (a throwaway
//     server started by the bench, store/pglocal) with one and with three
//     replicas sharing the tenants through leases; the PostgreSQL server's
//     CPU is reported beside the process's.
//   - failover: three `callsync run` processes on PostgreSQL; the one
//     holding the most tenants killed with SIGKILL; kill to another
//     replica's first calls cycle of each of its tenants (job runs).
//   - webhooks: the server/ receiver storing deliveries in a SQLite store;
//     deliveries/s and p99 ack latency with concurrent senders on loopback.
//   - routing: routing.Handler over HTTP with the Dynamics client; p50/p99
//     of cached and uncached lookups.
//   - fidelity: the phone directory's fidelity corpus (match/matchcorpus)
//     matched in-process against the in-memory CRM; precision and recall
//     per storage format, from the directory and by live lookups.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// options are the suite's knobs (flags).
type options struct {
	Latency   time.Duration
	Calls     int
	Days      int
	Customers int
	CRMs      []string

	Tenants           int
	CallsPerMinute    int
	Cycles            int
	SteadyConcurrency int
	// SteadyDirectory is the steady tenants' crm.directory.
	SteadyDirectory string
	// PGMaxConns is each PostgreSQL replica's pool size (steady-pg*).
	PGMaxConns int
	// LeaseTTL, FailoverReplicas, FailoverTenants: the failover phase.
	LeaseTTL         time.Duration
	FailoverReplicas int
	FailoverTenants  int

	Webhooks       int
	WebhookSenders int
	WebhookRate    float64

	RoutingCached   int
	RoutingUncached int
	RoutingWorkers  int
	RoutingRate     float64

	// Throughput: a Dynamics backfill of ThroughputCalls at each latency.
	ThroughputLatencies []time.Duration
	ThroughputCalls     int
	// Scale: the Dynamics backfill of ScaleCalls over ScaleDays beside the
	// -calls one, for peak RSS in the size of the range (-scale).
	Scale      bool
	ScaleCalls int
	ScaleDays  int
	// DirectoryRecords: CRM records of the phone directory's full load;
	// ScaleDirectoryRecords the large one of -scale.
	DirectoryRecords      int
	ScaleDirectoryRecords int

	Only       map[string]bool
	Out        string
	CPUProfile string
	// MemProfile, when set, receives the bench process's allocation
	// profile (every allocation since it started) when the phases end.
	MemProfile string
	// ProfileDir, when set, receives each backfill child's CPU profile, heap
	// profile at exit and heap profile at its peak RSS
	// (backfill-<crm>.cpu.pprof, .mem.pprof, .peak.pprof), each directory
	// load's (directory-<records>.cpu.pprof, .mem.pprof, .peak.pprof), and
	// each steady phase's measured cycles (steady-<store>-<replicas>.cpu.pprof;
	// .allocs.pprof, and .allocs0.pprof before the measured cycles).
	ProfileDir string
	// ChildLog, when set, receives the backfill child's stderr.
	ChildLog string
	// Progress receives the backfill child's progress (the bench's stderr).
	Progress io.Writer
}

// Results is the JSON file.
type Results struct {
	StartedAt time.Time        `json:"started_at"`
	Machine   Machine          `json:"machine"`
	Command   string           `json:"command"`
	Backfill  []BackfillResult `json:"backfill,omitempty"`
	Steady    *SteadyResult    `json:"steady,omitempty"`
	// SteadyPG is the steady phase on PostgreSQL, one and three replicas.
	SteadyPG []SteadyResult  `json:"steady_postgres,omitempty"`
	Failover *FailoverResult `json:"failover,omitempty"`
	Webhooks *WebhookResult  `json:"webhooks,omitempty"`
	Routing  *RoutingResult  `json:"routing,omitempty"`
	// Throughput is a Dynamics backfill per simulated latency.
	Throughput []ThroughputResult `json:"throughput,omitempty"`
	// Scale compares a large backfill's peak RSS with the -calls one.
	Scale *ScaleResult `json:"scale,omitempty"`
	// Directory is the phone directory's full load at -directory-records
	// (and, with -scale, at -scale-directory-records).
	Directory []DirectoryResult `json:"directory,omitempty"`
	// Fidelity is the phone directory's precision and recall per storage
	// format.
	Fidelity *FidelityResult `json:"fidelity,omitempty"`
	Failures []string        `json:"failures,omitempty"`
}

// Machine names where the numbers came from.
type Machine struct {
	GOOS, GOARCH string
	CPUs         int    `json:"cpus"`
	GoVersion    string `json:"go_version"`
	CPUModel     string `json:"cpu_model,omitempty"`
	Hostname     string `json:"hostname,omitempty"`
}

var phases = []string{"backfill", "throughput", "directory", "steady", "steady-pg", "steady-pg3", "failover", "webhooks", "routing", "fidelity"}

// ThroughputResult is one latency of the throughput phase.
type ThroughputResult struct {
	CRM       string  `json:"crm"`
	Latency   string  `json:"latency"`
	Calls     int     `json:"calls"`
	WallSec   float64 `json:"wall_seconds"`
	CallsPerS float64 `json:"calls_per_second"`
	Requests  int     `json:"requests"`
	FloorSec  float64 `json:"request_floor_seconds"`
	CPUSec    float64 `json:"child_cpu_seconds"`
}

// ScaleResult is the -scale run: the same Dynamics backfill at -calls and
// at -scale-calls.
type ScaleResult struct {
	Small BackfillResult `json:"small"`
	Big   BackfillResult `json:"big"`
}

func main() {
	maybeLauncher()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Latency, "latency", 20*time.Millisecond, "simulated network latency added to every request to a double")
	fs.IntVar(&o.Calls, "calls", 100_000, "backfill: calls in the range")
	fs.IntVar(&o.Days, "days", 30, "backfill: days in the range")
	fs.IntVar(&o.Customers, "customers", 5_000, "backfill: CRM contacts the calls come from")
	crms := fs.String("crm", strings.Join(crmNames, ","), "backfill: CRMs to run")
	fs.IntVar(&o.Tenants, "tenants", 500, "steady: tenants")
	fs.IntVar(&o.CallsPerMinute, "calls-per-minute", 3, "steady: calls per tenant in the minute before a cycle")
	fs.IntVar(&o.Cycles, "cycles", 3, "steady: measured scheduler cycles (after one warm-up cycle)")
	fs.StringVar(&o.SteadyDirectory, "steady-directory", "mirror", "steady: the tenants' crm.directory (mirror: numbers answered from the phone directory; live: searched in the CRM)")
	fs.IntVar(&o.SteadyConcurrency, "steady-concurrency", 0, "steady: tenants run at once (0: all, as gocron starts every tenant's job at the minute)")
	fs.IntVar(&o.PGMaxConns, "pg-max-conns", 10, "steady-pg, steady-pg3: each replica's PostgreSQL pool size (store.max_conns)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", 30*time.Second, "failover: the replicas' store.lease_ttl")
	fs.IntVar(&o.FailoverReplicas, "failover-replicas", 3, "failover: callsync run processes")
	fs.IntVar(&o.FailoverTenants, "failover-tenants", 6, "failover: tenants they share")
	fs.IntVar(&o.Webhooks, "webhooks", 20_000, "webhooks: deliveries per pass (back to back, then paced)")
	fs.IntVar(&o.WebhookSenders, "webhook-senders", 32, "webhooks: concurrent senders of the back-to-back pass")
	fs.Float64Var(&o.WebhookRate, "webhook-rate", 2000, "webhooks: deliveries per second offered in the paced pass")
	fs.IntVar(&o.RoutingCached, "routing-cached", 5_000, "routing: cached lookups")
	fs.IntVar(&o.RoutingUncached, "routing-uncached", 500, "routing: uncached lookups")
	fs.IntVar(&o.RoutingWorkers, "routing-workers", 8, "routing: concurrent callers")
	fs.Float64Var(&o.RoutingRate, "routing-rate", 500, "routing: lookups offered per second in the paced pass from the phone directory")
	lats := fs.String("throughput-latencies", "20ms,100ms", "throughput: simulated latencies of the Dynamics backfill")
	fs.IntVar(&o.ThroughputCalls, "throughput-calls", 20_000, "throughput: calls in each backfill (over -days)")
	fs.BoolVar(&o.Scale, "scale", false, "also run the Dynamics backfill of -scale-calls over -scale-days and compare its peak RSS with the -calls one (minutes)")
	fs.IntVar(&o.ScaleCalls, "scale-calls", 1_000_000, "scale: calls in the large backfill")
	fs.IntVar(&o.ScaleDays, "scale-days", 90, "scale: days of the large backfill")
	fs.IntVar(&o.DirectoryRecords, "directory-records", 100_000, "directory: CRM records of the phone directory's full load")
	fs.IntVar(&o.ScaleDirectoryRecords, "scale-directory-records", 1_000_000, "scale: CRM records of the large phone directory load")
	only := fs.String("only", strings.Join(phases, ","), "phases to run: "+strings.Join(phases, ","))
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the bench process (the doubles, and the in-process phases) to this file")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile of the bench process (the doubles, and the in-process phases) to this file when the phases end")
	fs.StringVar(&o.ProfileDir, "profile-dir", "", "write each backfill child's and directory load's CPU profile, heap profile at exit and heap profile at its peak RSS (backfill-<crm>.{cpu,mem,peak}.pprof, directory-<records>.{cpu,mem,peak}.pprof), and each steady phase's measured cycles' profiles (steady-<store>-<replicas>.{cpu,allocs,allocs0}.pprof) to this folder; read them with go tool pprof")
	fs.StringVar(&o.ChildLog, "child-log", "", "append the backfill child's stderr (progress, warnings; GODEBUG output) to this file")
	fs.StringVar(&o.Out, "out", "", "results JSON file (default bench/out/results.json in the module)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.Only = map[string]bool{}
	for _, p := range splitList(*only) {
		if !contains(phases, p) {
			return o, fmt.Errorf("-only: unknown phase %q (want %s)", p, strings.Join(phases, ","))
		}
		o.Only[p] = true
	}
	for _, l := range splitList(*lats) {
		d, err := time.ParseDuration(l)
		if err != nil || d < 0 {
			return o, fmt.Errorf("-throughput-latencies: %q is not a duration", l)
		}
		o.ThroughputLatencies = append(o.ThroughputLatencies, d)
	}
	for _, c := range splitList(*crms) {
		if !contains(crmNames, c) {
			return o, fmt.Errorf("-crm: unknown CRM %q (want %s)", c, strings.Join(crmNames, ","))
		}
		o.CRMs = append(o.CRMs, c)
	}
	switch {
	case o.DirectoryRecords <= 0 || o.ScaleDirectoryRecords <= 0:
		return o, fmt.Errorf("-directory-records and -scale-directory-records must be positive")
	case o.ThroughputCalls <= 0 || o.ScaleCalls <= 0 || o.ScaleDays <= 0:
		return o, fmt.Errorf("-throughput-calls, -scale-calls and -scale-days must be positive")
	case o.Calls <= 0 || o.Days <= 0 || o.Customers <= 0:
		return o, fmt.Errorf("-calls, -days and -customers must be positive")
	case o.Tenants <= 0 || o.CallsPerMinute <= 0 || o.Cycles <= 0:
		return o, fmt.Errorf("-tenants, -calls-per-minute and -cycles must be positive")
	case o.Webhooks <= 0 || o.WebhookSenders <= 0 || o.WebhookRate <= 0:
		return o, fmt.Errorf("-webhooks, -webhook-senders and -webhook-rate must be positive")
	case o.RoutingCached <= 0 || o.RoutingUncached <= 0 || o.RoutingWorkers <= 0 || o.RoutingRate <= 0:
		return o, fmt.Errorf("-routing-cached, -routing-uncached, -routing-workers and -routing-rate must be positive")
	case o.SteadyDirectory != "mirror" && o.SteadyDirectory != "live":
		return o, fmt.Errorf("-steady-directory: want mirror or live, not %q", o.SteadyDirectory)
	case o.PGMaxConns <= 0 || o.FailoverReplicas < 2 || o.FailoverTenants <= 0:
		return o, fmt.Errorf("-pg-max-conns and -failover-tenants must be positive, -failover-replicas at least 2")
	case o.LeaseTTL < 3*time.Second || o.LeaseTTL > 45*time.Second:
		return o, fmt.Errorf("-lease-ttl: want 3s..45s (store.lease_ttl), not %s", o.LeaseTTL)
	case o.Latency < 0:
		return o, fmt.Errorf("-latency must not be negative")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// run is the program; the test drives it at tiny sizes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	o.Progress = stderr
	if o.Out == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			return err
		}
		o.Out = filepath.Join(root, "bench", "out", "results.json")
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.MemProfile != "" {
		defer func() {
			if err := writeAllocProfile(o.MemProfile); err != nil {
				fmt.Fprintln(stderr, "bench: -memprofile:", err)
			}
		}()
	}
	res := Results{StartedAt: time.Now().UTC(), Machine: machine(), Command: strings.TrimSpace("go run ./bench " + strings.Join(args, " "))}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	fail := func(phase string, err error) {
		res.Failures = append(res.Failures, fmt.Sprintf("%s: %v", phase, err))
		logf("%s failed: %v", phase, err)
	}

	// The PostgreSQL phases share one throwaway server.
	pg := &pgDatabases{}
	defer pg.stop()
	var bin string
	if (o.Only["backfill"] && len(o.CRMs) > 0) || o.Only["throughput"] || o.Only["directory"] || o.Only["failover"] || o.Scale {
		tmp, err := os.MkdirTemp("", "callsync-bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		logf("building ./cmd/callsync")
		if bin, err = buildCallsync(ctx, tmp); err != nil {
			return err
		}
	}
	if o.Only["backfill"] && len(o.CRMs) > 0 {
		for _, c := range o.CRMs {
			logf("backfill %s: %d calls over %d days, %s latency", c, o.Calls, o.Days, o.Latency)
			r, err := runBackfill(ctx, o, bin, c)
			if err != nil {
				fail("backfill "+c, err)
				continue
			}
			for _, p := range r.Problems {
				fail("backfill "+c, fmt.Errorf("%s", p))
			}
			res.Backfill = append(res.Backfill, r)
		}
	}
	if o.Only["throughput"] {
		for _, l := range o.ThroughputLatencies {
			to := o
			to.Latency, to.Calls, to.ProfileDir = l, o.ThroughputCalls, ""
			logf("throughput dynamics: %d calls over %d days, %s latency", to.Calls, to.Days, l)
			r, err := runBackfill(ctx, to, bin, "dynamics")
			if err != nil {
				fail("throughput "+l.String(), err)
				continue
			}
			for _, p := range r.Problems {
				fail("throughput "+l.String(), fmt.Errorf("%s", p))
			}
			res.Throughput = append(res.Throughput, ThroughputResult{CRM: r.CRM, Latency: l.String(), Calls: r.Calls, WallSec: r.WallSec,
				CallsPerS: r.CallsPerS, Requests: r.CRMRequests + r.EnreachRequests, FloorSec: r.FloorSec(), CPUSec: r.ChildCPUSec})
		}
	}
	if o.Only["directory"] || o.Scale {
		sizes := []int{}
		if o.Only["directory"] {
			sizes = append(sizes, o.DirectoryRecords)
		}
		if o.Scale {
			sizes = append(sizes, o.ScaleDirectoryRecords)
		}
		for _, n := range sizes {
			logf("directory: full load of %d Dynamics records, %s latency", n, o.Latency)
			r, err := runDirectory(ctx, o, bin, n)
			if err != nil {
				fail("directory", err)
				continue
			}
			for _, p := range r.Problems {
				fail("directory", fmt.Errorf("%s", p))
			}
			res.Directory = append(res.Directory, r)
		}
	}
	if o.Scale {
		var sc ScaleResult
		found := false
		for _, b := range res.Backfill {
			if b.CRM == "dynamics" {
				sc.Small, found = b, true
			}
		}
		var err error
		if !found {
			logf("scale: dynamics backfill of %d calls over %d days", o.Calls, o.Days)
			sc.Small, err = runBackfill(ctx, o, bin, "dynamics")
		}
		if err == nil {
			so := o
			so.Calls, so.Days, so.ProfileDir = o.ScaleCalls, o.ScaleDays, ""
			logf("scale: dynamics backfill of %d calls over %d days", so.Calls, so.Days)
			sc.Big, err = runBackfill(ctx, so, bin, "dynamics")
		}
		if err != nil {
			fail("scale", err)
		} else {
			for _, p := range sc.Big.Problems {
				fail("scale", fmt.Errorf("%s", p))
			}
			res.Scale = &sc
		}
	}
	if o.Only["steady"] {
		logf("steady: %d tenants, %d calls/min each, %d cycles", o.Tenants, o.CallsPerMinute, o.Cycles)
		r, err := runSteady(ctx, o, steadyEngine{})
		if err != nil {
			fail("steady", err)
		} else {
			for _, p := range r.Problems {
				fail("steady", fmt.Errorf("%s", p))
			}
			res.Steady = &r
		}
	}
	for _, ph := range []struct {
		name     string
		replicas int
	}{{"steady-pg", 1}, {"steady-pg3", 3}} {
		if !o.Only[ph.name] {
			continue
		}
		logf("%s: %d tenants, %d calls/min each, %d cycles, PostgreSQL, %d replica(s)", ph.name, o.Tenants, o.CallsPerMinute, o.Cycles, ph.replicas)
		r, err := runSteady(ctx, o, steadyEngine{postgres: true, replicas: ph.replicas, pg: pg})
		if err != nil {
			fail(ph.name, err)
			continue
		}
		for _, p := range r.Problems {
			fail(ph.name, fmt.Errorf("%s", p))
		}
		res.SteadyPG = append(res.SteadyPG, r)
	}
	if o.Only["failover"] {
		logf("failover: %d replicas, %d tenants, lease_ttl %s, SIGKILL of the busiest", o.FailoverReplicas, o.FailoverTenants, o.LeaseTTL)
		r, err := runFailover(ctx, o, bin, pg)
		if err != nil {
			fail("failover", err)
		} else {
			for _, p := range r.Problems {
				fail("failover", fmt.Errorf("%s", p))
			}
			res.Failover = &r
		}
	}
	if o.Only["webhooks"] {
		logf("webhooks: %d deliveries back to back with %d senders, %d offered at %.0f/s", o.Webhooks, o.WebhookSenders, o.Webhooks, o.WebhookRate)
		r, err := runWebhooks(ctx, o)
		if err != nil {
			fail("webhooks", err)
		} else {
			for _, p := range r.Problems {
				fail("webhooks", fmt.Errorf("%s", p))
			}
			res.Webhooks = &r
		}
	}
	if o.Only["routing"] {
		logf("routing: %d cached, %d uncached lookups, %d callers", o.RoutingCached, o.RoutingUncached, o.RoutingWorkers)
		r, err := runRouting(ctx, o)
		if err != nil {
			fail("routing", err)
		} else {
			for _, p := range r.Problems {
				fail("routing", fmt.Errorf("%s", p))
			}
			res.Routing = &r
		}
	}
	if o.Only["fidelity"] {
		logf("fidelity: the directory corpus, mirror and live")
		r, err := runFidelity(ctx)
		if err != nil {
			fail("fidelity", err)
		} else {
			for _, p := range r.Problems {
				fail("fidelity", fmt.Errorf("%s", p))
			}
			res.Fidelity = &r
		}
	}

	printTable(stdout, o, res)
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(o.Out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", o.Out)
	if len(res.Failures) > 0 {
		return fmt.Errorf("%d problem(s): %s", len(res.Failures), strings.Join(res.Failures, "; "))
	}
	return ctx.Err()
}

func machine() Machine {
	m := Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// writeAllocProfile writes the process's allocation profile to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
