package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// The systemd unit passes `systemd-analyze verify` without a warning.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified here")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "callsync.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=callsync", "ProtectSystem=strict", "NoNewPrivileges=yes", "ExecReload=kill -HUP $MAINPID"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	// verify checks that ExecStart's program exists: point it at this test
	// binary instead of /usr/local/bin/callsync.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "callsync.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/callsync", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// Lines about other units on this machine are not ours.
	var ours []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, "callsync") {
			ours = append(ours, l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// metricName matches the series a PromQL expression uses.
var metricName = regexp.MustCompile(`\b((?:callsync|process|go)_[a-z0-9_]+)\b`)

// Every series the Grafana dashboard queries is exported by a running
// callsync, and /metrics passes Prometheus' metric lint.
func TestDashboardMetricsAreExportedAndLintClean(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	used := map[string]string{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllStringSubmatch(tg.Expr, -1) {
				name := m[1]
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					name = strings.TrimSuffix(name, suf)
				}
				used[name] = p.Title
			}
		}
	}
	if len(used) < 5 {
		t.Fatalf("the dashboard uses only %v", used)
	}

	d := newDoubles(t)
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	d.en.AddCalls(callEndedAgo(d, time.Minute))
	base := startWorker(t, cfg)
	var missing []string
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body = fetch(t, base+"/metrics")
		missing = missing[:0]
		for name := range used {
			if !strings.Contains(body, "# TYPE "+name+" ") {
				missing = append(missing, name+" (panel "+used[name]+")")
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the dashboard uses series /metrics does not export:\n%s", strings.Join(missing, "\n"))
	}

	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	}
}
