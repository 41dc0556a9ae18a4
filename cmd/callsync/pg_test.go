package main

import (
	"os"
	"strings"
	"testing"

	"github.com/callsync/callsync/store/pgtest"
)

// pg is the throwaway PostgreSQL cluster of this test run (store.driver:
// postgres), started by the first test calling pg.NewDatabase and stopped
// by TestMain.
var pg = pgtest.New()

// onPostgres points the doubles' config at a new PostgreSQL database,
// given as ${DATABASE_URL} as an operator would.
func (d *doubles) onPostgres(t *testing.T) {
	t.Helper()
	d.env["DATABASE_URL"] = pg.NewDatabase(t)
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 2)
	if !strings.HasPrefix(lines[0], "store:") {
		t.Fatalf("config does not start with store: %q", lines[0])
	}
	yaml := "store:\n  driver: postgres\n  url: ${DATABASE_URL}\n  max_conns: 4\n" + lines[1]
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The backfill on PostgreSQL: written once, a repeat writes nothing, and
// status reads the ledger from the database.
func TestSyncCallsOnPostgres(t *testing.T) {
	d := newDoubles(t)
	d.onPostgres(t)
	d.addCalls(25)
	args := []string{"sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"}
	out, _, err := run(t, d.env, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "contoso: seen 25, written 25") || len(d.dyn.PhoneCalls()) != 25 {
		t.Fatalf("first backfill (%d phonecalls):\n%s", len(d.dyn.PhoneCalls()), out)
	}
	out, _, err = run(t, d.env, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "written 0, already written 25") || len(d.dyn.PhoneCalls()) != 25 {
		t.Fatalf("repeated backfill wrote again (%d phonecalls):\n%s", len(d.dyn.PhoneCalls()), out)
	}
	out, _, err = run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "written") || !strings.Contains(out, "25") {
		t.Fatalf("status on postgres lacks the ledger:\n%s", out)
	}
}
