package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/match/matchcorpus"
)

// The test binary doubles as the RSS launcher (see rusage.go).
func TestMain(m *testing.M) {
	maybeLauncher()
	os.Exit(m.Run())
}

// TestSuiteTiny runs the whole suite at tiny sizes, so CI exercises every
// phase end to end: the real binary against the three CRM doubles, the
// steady-state cycle, the webhook receiver and the routing handler. It
// checks the correctness the benchmark itself checks (writes land, nothing
// is lost) and the shape of the output, never a timing.
func TestSuiteTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs callsync")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr bytes.Buffer
	// The PostgreSQL phases have their own test (TestPostgresPhasesTiny).
	err := run(ctx, []string{"-only", "backfill,throughput,directory,steady,webhooks,routing,fidelity", "-latency", "1ms", "-calls", "300", "-days", "2", "-customers", "40",
		"-tenants", "4", "-calls-per-minute", "3", "-cycles", "2",
		"-webhooks", "200", "-webhook-senders", "4",
		"-routing-cached", "40", "-routing-uncached", "8", "-routing-workers", "2", "-routing-rate", "1000",
		"-throughput-calls", "200", "-throughput-latencies", "1ms,2ms", "-directory-records", "300",
		"-out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	table := stdout.String()
	for _, want := range []string{"BENCHMARK", "backfill dynamics", "backfill salesforce", "backfill zoho",
		"steady 4 tenants", "(floor ", "webhooks", "routing 2 callers", "CRM requests per written call",
		"throughput dynamics 1ms", "throughput dynamics 2ms", "wall / request floor", "callsync CPU (user+sys)",
		"directory load 300 records", "store bytes per million numbers", "from the phone directory", "from the phone directory, offered 1000/s",
		"fidelity 425 callers, 17 formats", "national slash", "recall over the eligible (crm.directory: mirror)", "crm.directory: live: precision / recall"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Backfill) != 3 {
		t.Fatalf("backfill results for %d CRMs, want 3", len(res.Backfill))
	}
	for _, r := range res.Backfill {
		if !r.OK || r.Expected == 0 || r.Written != r.Expected || r.Activities != r.Expected {
			t.Errorf("%s: ok %v, written %d, expected %d, in CRM %d: %v", r.CRM, r.OK, r.Written, r.Expected, r.Activities, r.Problems)
		}
		if r.CRMRequests == 0 || r.EnreachRequests == 0 || r.PeakRSSMiB <= 0 || r.WallSec <= 0 {
			t.Errorf("%s: missing measurements: %+v", r.CRM, r)
		}
	}
	if len(res.Throughput) != 2 || res.Throughput[0].Latency != "1ms" || res.Throughput[1].Latency != "2ms" {
		t.Errorf("throughput: %+v, want one result per latency", res.Throughput)
	}
	for _, r := range res.Throughput {
		if r.Calls != 200 || r.CallsPerS <= 0 || r.Requests == 0 || r.FloorSec <= 0 {
			t.Errorf("throughput %s: missing measurements: %+v", r.Latency, r)
		}
	}
	if s := res.Steady; s == nil || s.Written == 0 || s.Written != s.Expected || s.CPUPerCycleMS <= 0 || s.EndToRecordP99MS <= 0 ||
		s.CRMRequestsFloor <= 0 || s.CRMRequestsFloor > s.CRMRequestsPerCall {
		t.Errorf("steady: %+v", s)
	}
	if h := res.Webhooks; h == nil || h.Stored != 400 || h.Max.Accepted != 200 || h.Paced.Accepted != 200 || h.Max.PerSecond <= 0 || h.Paced.AckP99MS <= 0 {
		t.Errorf("webhooks: %+v", h)
	}
	if r := res.Routing; r == nil || r.Cached.Targets != 40 || r.Uncached.Targets != 8 || r.CRMRequestsCached != 0 || r.CRMRequestsUncached == 0 ||
		r.Directory.Targets != 48 || r.CRMRequestsDirectory != 0 || r.DirectoryPaced.Targets != 48 || r.CRMRequestsPaced != 0 ||
		r.DirectoryPaced.P99MS <= 0 || r.DirectoryOfferedPerS != 1000 {
		t.Errorf("routing: %+v", r)
	}
	if len(res.Directory) != 1 || !res.Directory[0].OK || res.Directory[0].Numbers != 300 || res.Directory[0].StoreBytes == 0 || res.Directory[0].PeakRSSMiB <= 0 {
		t.Errorf("directory: %+v", res.Directory)
	}
	if f := res.Fidelity; f == nil || f.Customers != 422 || f.Formats != 17 || len(f.Mirror.ByFormat) != 19 || f.Mirror.Total.Wrong != 0 ||
		f.Mirror.Recall < targetFidelityRecall || f.Mirror.LoadRequests == 0 || f.Live.Directory != "live" || f.Live.LookupRequests == 0 {
		t.Errorf("fidelity: %+v", f)
	}
}

// TestFidelityRowsMiss checks that the fidelity rows mark a wrong record
// and a low recall MISS.
func TestFidelityRowsMiss(t *testing.T) {
	bad := matchcorpus.Tally{Format: "national", Callers: 10, Eligible: 10, Right: 9, EligibleRight: 9, Wrong: 1}
	run := FidelityRun{Directory: "mirror", ByFormat: []matchcorpus.Tally{bad}, Total: bad, Precision: bad.Precision(), Recall: bad.Recall()}
	var rows []row
	fidelityRows(FidelityResult{Callers: 10, Formats: 1, Mirror: run, Live: run}, func(bench, metric, value, target, v string) {
		rows = append(rows, row{bench, metric, value, target, v})
	})
	misses := map[string]bool{}
	for _, r := range rows {
		if r.verdict == "MISS" {
			misses[strings.TrimSpace(r.metric)] = true
		}
	}
	for _, m := range []string{"national", "precision (crm.directory: mirror)", "recall over the eligible (crm.directory: mirror)"} {
		if !misses[m] {
			t.Errorf("row %q not marked MISS: %+v", m, rows)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-only", "nope"}, {"-crm", "sugar"}, {"-calls", "0"}, {"-latency", "-1ms"}, {"extra"}, {"-throughput-latencies", "fast"}, {"-scale-calls", "0"}, {"-lease-ttl", "1s"}, {"-failover-replicas", "1"}, {"-pg-max-conns", "0"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"-only", "routing, webhooks", "-crm", "zoho"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Only["routing"] || !o.Only["webhooks"] || o.Only["backfill"] || len(o.CRMs) != 1 || o.CRMs[0] != "zoho" {
		t.Fatalf("options: %+v", o)
	}
}

// TestProxy checks the latency and that a double's own URL in an answer, or
// a proxy URL in a form, is rewritten, so no client bypasses the latency.
func TestProxy(t *testing.T) {
	var backend *httptest.Server
	var gotForm string
	backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		gotForm = r.Form.Get("scope")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"instance_url":"`+backend.URL+`"}`)
	}))
	defer backend.Close()
	p := newDelayProxy(30*time.Millisecond, backend.URL)
	defer p.Close()
	start := time.Now()
	resp, err := http.PostForm(p.URL(backend.URL)+"/token", map[string][]string{"scope": {p.URL(backend.URL) + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("request took %s, want at least the latency", took)
	}
	if want := `{"instance_url":"` + p.URL(backend.URL) + `"}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if gotForm != backend.URL+"/.default" {
		t.Errorf("the double saw scope %q, want its own URL", gotForm)
	}
	if p.Requests() != 1 || p.ByPath()["POST /token"] != 1 {
		t.Errorf("requests %d, by path %v", p.Requests(), p.ByPath())
	}
}

// TestLauncherReportsTheChild checks that the reported peak RSS is the
// child's, not this (larger) process's.
func TestLauncherReportsTheChild(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB")
	}
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	usage := filepath.Join(t.TempDir(), "usage.json")
	cmd, err := launch(context.Background(), usage, "/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	u, err := readUsage(usage)
	if err != nil {
		t.Fatal(err)
	}
	if u.MaxRSSKiB <= 0 || u.MaxRSSKiB > 128<<10 {
		t.Errorf("child maxrss %d KiB: not the child's own (this process holds %d MiB)", u.MaxRSSKiB, len(ballast)>>20)
	}
}

func TestQuantile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if q := quantile(ds, 0.5); q != 50*time.Millisecond {
		t.Errorf("p50 %s", q)
	}
	if q := quantile(ds, 0.99); q != 99*time.Millisecond {
		t.Errorf("p99 %s", q)
	}
	if q := quantile(nil, 0.99); q != 0 {
		t.Errorf("empty p99 %s", q)
	}
	if s := pathShape("/api/data/v9.2/phonecalls(0b8f3c1e-1111-2222-3333-444455556666)/x"); s != "/api/data/v9.2/phonecalls({id})/x" {
		t.Errorf("pathShape %s", s)
	}
}

// TestPaced checks where a paced event's latency counts from: its due time
// when the sender is late for it, the sender's wake-up (at or after the due
// time) when it waited.
func TestPaced(t *testing.T) {
	start := time.Now().Add(-time.Second)
	if got, want := paced(start, 10, 100), start.Add(100*time.Millisecond); !got.Equal(want) {
		t.Errorf("late sender: counts from %v, want the due time %v", got, want)
	}
	start = time.Now()
	due := start.Add(20 * time.Millisecond)
	if got := paced(start, 2, 100); got.Before(due) {
		t.Errorf("waiting sender: counts from %v, before the due time %v", got, due)
	}
}

// TestProxyCountsBatchParts checks that a $batch is counted by the kinds of
// request it carries and reaches the double with its body intact.
func TestProxyCountsBatchParts(t *testing.T) {
	var got []byte
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
	}))
	defer backend.Close()
	p := newDelayProxy(0, backend.URL)
	defer p.Close()
	body := "--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/contacts?$filter=x HTTP/1.1\r\n\r\n\r\n" +
		"--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/leads?$deltatoken=7 HTTP/1.1\r\n\r\n\r\n" +
		"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nPOST /api/data/v9.2/phonecalls HTTP/1.1\r\n\r\n{}\r\n" +
		"--c\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\nPATCH $1 HTTP/1.1\r\n\r\n{}\r\n--c--\r\n" +
		"--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/contacts?$filter=y HTTP/1.1\r\n\r\n\r\n--b--\r\n"
	resp, err := http.Post(p.URL(backend.URL)+"/api/data/v9.2/$batch", `multipart/mixed; boundary="b"`, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if string(got) != body {
		t.Errorf("the double got %q", got)
	}
	const want = "GET contacts+GET leads(delta)+PATCH $n+POST phonecalls"
	if b := p.ByBatch(); len(b) != 1 || b[want] != 1 {
		t.Errorf("by batch %v, want one %q", b, want)
	}
}
