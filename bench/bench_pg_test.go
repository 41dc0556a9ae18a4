package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/store/pglocal"
)

// TestPostgresPhasesTiny runs the PostgreSQL phases at tiny sizes: the
// steady state with one and with three replicas writes every call once,
// each replica running its share, and the failover phase measures a
// takeover after a SIGKILL. It checks the output's shape and correctness,
// never a timing.
func TestPostgresPhasesTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and callsync processes")
	}
	if !pglocal.Available() {
		if os.Getenv("CI") == "true" {
			t.Fatal(pglocal.ErrNoBinaries)
		}
		t.Skipf("PostgreSQL phases skipped: %v", pglocal.ErrNoBinaries)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-only", "steady-pg,steady-pg3,failover", "-latency", "1ms",
		"-tenants", "6", "-calls-per-minute", "2", "-cycles", "2", "-pg-max-conns", "4",
		"-lease-ttl", "3s", "-failover-replicas", "2", "-failover-tenants", "3",
		"-out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	table := stdout.String()
	for _, want := range []string{"steady 6 tenants, PostgreSQL, 1 replica(s)", "steady 6 tenants, PostgreSQL, 3 replica(s)",
		"PostgreSQL server CPU per call", "failover 2 replicas, 3 tenants", "another's first cycle"} {
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
	if len(res.SteadyPG) != 2 || res.SteadyPG[0].Replicas != 1 || res.SteadyPG[1].Replicas != 3 {
		t.Fatalf("steady on PostgreSQL: %+v", res.SteadyPG)
	}
	for _, s := range res.SteadyPG {
		if s.Store != "postgres" || s.Written == 0 || s.Written != s.Expected || s.CallsPerSecond <= 0 || s.CPUPerCycleMS <= 0 || s.DBCPUPerCallMS <= 0 {
			t.Errorf("steady, %d replica(s): %+v", s.Replicas, s)
		}
	}
	if f := res.Failover; f == nil || f.Moved == 0 || f.WorstSec <= 0 || f.FirstSec > f.WorstSec || len(f.Problems) > 0 {
		t.Errorf("failover: %+v", f)
	}
}
