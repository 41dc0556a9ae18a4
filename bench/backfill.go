package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callsync/callsync/enreach/enreachtest"
)

// BackfillResult is one CRM's backfill run.
type BackfillResult struct {
	CRM       string  `json:"crm"`
	Calls     int     `json:"calls"`
	Days      int     `json:"days"`
	Customers int     `json:"customers"`
	WallSec   float64 `json:"wall_seconds"`
	CallsPerS float64 `json:"calls_per_second"`
	// Expected is the number of calls from CRM customers; Written what
	// callsync reported; Activities what the CRM double holds after.
	Expected   int `json:"expected_written"`
	Written    int `json:"written"`
	Unresolved int `json:"unresolved"`
	Failed     int `json:"failed"`
	Activities int `json:"crm_activities"`
	Linked     int `json:"crm_activities_linked"`
	// CRMRequests counts every HTTP request the CRM double served (API and
	// token); per written call is the quota users pay.
	CRMRequests      int     `json:"crm_requests"`
	CRMReqPerWritten float64 `json:"crm_requests_per_written_call"`
	// CRMRequestsByPath is every CRM request by method and path shape, as
	// the proxy saw it (token requests included).
	CRMRequestsByPath map[string]int `json:"crm_requests_by_path"`
	// CRMBatchesByParts counts the multipart $batch requests among them by
	// the kinds of request each carries (the proxy's ByBatch).
	CRMBatchesByParts map[string]int `json:"crm_batches_by_parts,omitempty"`
	EnreachRequests   int            `json:"enreach_requests"`
	PeakRSSMiB        float64        `json:"peak_rss_mib"`
	ChildCPUSec       float64        `json:"child_cpu_seconds"`
	CRMDoubleSec      float64        `json:"crm_double_seconds"`
	// BenchCPUSec is the bench process's own CPU (user+sys) while callsync
	// ran: the doubles, the latency proxies and their garbage collection,
	// which share the machine's cores with callsync.
	BenchCPUSec float64 `json:"bench_cpu_seconds"`
	// BenchGCs is the garbage collections the bench process ran in that
	// time, BenchAllocMiB the bytes it allocated (the doubles', the
	// proxies'): figures that, unlike CPU time, do not depend on the load.
	BenchGCs           uint32   `json:"bench_gcs"`
	BenchAllocMiB      float64  `json:"bench_alloc_mib"`
	EnreachDoubleSec   float64  `json:"enreach_double_seconds"`
	SimulatedLatencyMS float64  `json:"simulated_latency_ms"`
	OK                 bool     `json:"ok"`
	Problems           []string `json:"problems,omitempty"`
}

// buildCallsync compiles ./cmd/callsync into dir once.
func buildCallsync(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "callsync")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/callsync")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/callsync: %v\n%s", err, out)
	}
	return bin, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the callsync module")
	}
	return filepath.Dir(mod), nil
}

var summaryRE = regexp.MustCompile(`seen (\d+), written (\d+), already written (\d+), skipped (\d+), unresolved (\d+), failed (\d+)`)

// runBackfill backfills o.Calls calls over o.Days days for one tenant with
// the real binary against the doubles behind the latency proxy.
func runBackfill(ctx context.Context, o options, bin, crmName string) (BackfillResult, error) {
	r := BackfillResult{CRM: crmName, Calls: o.Calls, Days: o.Days, Customers: o.Customers,
		SimulatedLatencyMS: float64(o.Latency) / float64(time.Millisecond)}
	dir, err := os.MkdirTemp("", "callsync-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)

	c, err := newOrg(crmName)
	if err != nil {
		return r, err
	}
	defer c.Close()
	en := enreachtest.NewServer()
	defer en.Close()
	crmProxy := newDelayProxy(o.Latency, c.Backends()...)
	defer crmProxy.Close()
	enProxy := newDelayProxy(o.Latency, en.URL)
	defer enProxy.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	w := newCompany(o.Customers)
	w.seedCRM(c)
	w.seedEnreach(en)
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -o.Days)
	cs := w.backfillCalls(rng, o.Calls, o.Days, to)
	cs.add(en)
	r.Expected = cs.known
	crmBefore := c.Requests()

	cfg := filepath.Join(dir, "callsync.yaml")
	yaml := fmt.Sprintf(`store: {path: %q}
http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}
log: {format: text, level: warn}
tenants:
  - name: bench
    default_region: FI
    enreach:
      api_url: %s
      user: %s
      secret_key: ${EN_SECRET}
%s    phone_calls:
      default_crm_assignee: %s
      process_service_calls: true
    retroactive: {enabled: false}
`, filepath.Join(dir, "callsync.db"), enProxy.URL(en.URL), en.User, c.CRMYAML(crmProxy.URL), w.agents[0].ID)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return r, err
	}
	usageFile := filepath.Join(dir, "rusage.json")
	cmd, err := launch(ctx, usageFile, bin, "sync", "calls", "--config", cfg,
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	if err != nil {
		return r, err
	}
	cmd.Env = append(cmd.Env, "EN_SECRET="+en.Secret)
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return r, err
		}
		cmd.Env = append(cmd.Env, childProfileEnv(filepath.Join(o.ProfileDir, "backfill-"+crmName))...)
	}
	for k, v := range c.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, &progressWriter{w: o.Progress, every: 10 * time.Second})
	if o.ChildLog != "" {
		f, err := os.OpenFile(o.ChildLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return r, err
		}
		defer f.Close()
		fmt.Fprintf(f, "== %s backfill\n", crmName)
		cmd.Stderr = io.MultiWriter(cmd.Stderr, f)
	}
	gcsBefore, allocBefore := numGC(), allocated()
	selfBefore := selfCPU()
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	r.BenchCPUSec = selfCPU() - selfBefore
	r.BenchGCs = numGC() - gcsBefore
	r.BenchAllocMiB = float64(allocated()-allocBefore) / (1 << 20)
	if cmd.ProcessState == nil {
		return r, fmt.Errorf("%s backfill: %w", crmName, runErr)
	}
	u, err := readUsage(usageFile)
	if err != nil {
		return r, fmt.Errorf("%s backfill: %w (callsync: %v: %s)", crmName, err, runErr, lastLines(stderr.String(), 5))
	}
	r.WallSec = wall.Seconds()
	r.CallsPerS = float64(o.Calls) / wall.Seconds()
	r.PeakRSSMiB = float64(u.MaxRSSKiB) / 1024 // KiB on Linux
	r.ChildCPUSec = u.UserSec + u.SysSec
	r.CRMRequests = c.Requests() - crmBefore
	r.CRMRequestsByPath = crmProxy.ByPath()
	r.CRMBatchesByParts = crmProxy.ByBatch()
	r.EnreachRequests = len(en.Log())
	r.CRMDoubleSec = crmProxy.Upstream().Seconds()
	r.EnreachDoubleSec = enProxy.Upstream().Seconds()
	if m := summaryRE.FindStringSubmatch(stdout.String()); m != nil {
		r.Written, _ = strconv.Atoi(m[2])
		r.Unresolved, _ = strconv.Atoi(m[5])
		r.Failed, _ = strconv.Atoi(m[6])
	} else {
		r.Problems = append(r.Problems, "no summary line in the output")
	}
	r.Activities, r.Linked = c.Activities()
	if r.Written > 0 {
		r.CRMReqPerWritten = float64(r.CRMRequests) / float64(r.Written)
	}
	if runErr != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("callsync exited: %v: %s", runErr, lastLines(stderr.String(), 5)))
	}
	if r.Written != r.Expected {
		r.Problems = append(r.Problems, fmt.Sprintf("callsync wrote %d, expected %d", r.Written, r.Expected))
	}
	if r.Activities != r.Expected {
		r.Problems = append(r.Problems, fmt.Sprintf("the CRM holds %d activities, expected %d", r.Activities, r.Expected))
	}
	if r.Linked != r.Activities {
		r.Problems = append(r.Problems, fmt.Sprintf("%d of %d activities are not linked to a customer", r.Activities-r.Linked, r.Activities))
	}
	if want := cs.n - cs.known; r.Unresolved != want {
		r.Problems = append(r.Problems, fmt.Sprintf("%d unresolved, expected %d", r.Unresolved, want))
	}
	if r.Expected == 0 {
		r.Problems = append(r.Problems, "the workload has no calls to write")
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// FloorSec is the wall time the backfill's requests need on their own:
// every CRM and Enreach request at the simulated latency, floorConcurrency
// at a time.
func (b BackfillResult) FloorSec() float64 {
	return float64(b.CRMRequests+b.EnreachRequests) * b.SimulatedLatencyMS / 1000 / floorConcurrency
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// selfCPU is the bench process's own CPU time so far (user+sys, seconds;
// RUSAGE_SELF does not count children), 0 if getrusage fails.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// allocated is the bytes the bench process has allocated on the heap so
// far.
func allocated() uint64 {
	m := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return m[0].Value.Uint64()
}

// numGC is the number of completed garbage collections in the bench process.
func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// progressWriter forwards the child's progress lines ("x% seen n written m")
// at most once per every, and its first few other lines (warnings).
type progressWriter struct {
	w     io.Writer
	every time.Duration
	last  time.Time
	other int
	buf   []byte
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := string(p.buf[:i])
		p.buf = p.buf[i+1:]
		switch {
		case strings.Contains(line, "% seen "):
			if time.Since(p.last) >= p.every {
				p.last = time.Now()
				fmt.Fprintf(p.w, "bench:   callsync %s\n", line)
			}
		case p.other < 10:
			p.other++
			fmt.Fprintf(p.w, "bench:   callsync: %s\n", line)
		}
	}
	return len(b), nil
}

// childProfileEnv asks a callsync child for its profiles, named base plus
// .cpu.pprof (CPU), .mem.pprof (heap at exit) and .peak.pprof (heap at the
// peak RSS, what held the memory the bench reports).
func childProfileEnv(base string) []string {
	return []string{
		"CALLSYNC_CPUPROFILE=" + base + ".cpu.pprof",
		"CALLSYNC_MEMPROFILE=" + base + ".mem.pprof",
		"CALLSYNC_PEAKHEAPPROFILE=" + base + ".peak.pprof",
	}
}
