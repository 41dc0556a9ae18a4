package main

import (
	"strings"
	"testing"
	"time"
)

func TestSyncCallsBackfillIsIdempotent(t *testing.T) {
	d := newDoubles(t)
	d.addCalls(25)
	args := []string{"sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"}

	out, _, err := run(t, d.env, append(args, "--dry-run")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "would write 25") || len(d.dyn.PhoneCalls()) != 0 {
		t.Fatalf("dry run wrote something or said otherwise (%d phonecalls):\n%s", len(d.dyn.PhoneCalls()), out)
	}

	out, progress, err := run(t, d.env, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "contoso: seen 25, written 25") || len(d.dyn.PhoneCalls()) != 25 {
		t.Fatalf("first backfill (%d phonecalls):\n%s", len(d.dyn.PhoneCalls()), out)
	}
	if !strings.Contains(progress, "100.0%") {
		t.Fatalf("no progress lines:\n%s", progress)
	}

	out, _, err = run(t, d.env, append(args[:len(args)-4], "--from", "2026-03-02 07:00", "--to", "2026-03-03")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "written 0, already written 25") || len(d.dyn.PhoneCalls()) != 25 {
		t.Fatalf("overlapping backfill wrote again (%d phonecalls):\n%s", len(d.dyn.PhoneCalls()), out)
	}
}

func TestSyncCallsFlags(t *testing.T) {
	d := newDoubles(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "yesterday"}, `--from: "yesterday" is not a time`},
		{[]string{"--from", "2026-03-02", "--to", "2026-03-01"}, "is not before"},
		{[]string{"--from", "2026-03-01", "--tenant", "nope"}, `--tenant "nope" is not in`},
	} {
		_, _, err := run(t, d.env, append([]string{"sync", "calls", "--config", d.config}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// A backfill reaching past purge.ledger_retention says so (the ledger rows
// of those calls are purged; the CRM's idempotency key still guards).
func TestSyncCallsNotesLedgerRetention(t *testing.T) {
	d := newDoubles(t)
	old := time.Now().UTC().AddDate(0, 0, -100).Format("2006-01-02")
	_, errOut, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", old, "--to", time.Now().UTC().AddDate(0, 0, -99).Format("2006-01-02"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "is older than purge.ledger_retention (90d)") {
		t.Errorf("stderr lacks the ledger_retention note:\n%s", errOut)
	}
	recent := time.Now().UTC().Add(-2 * time.Hour).Format(time.RFC3339)
	if _, errOut, err = run(t, d.env, "sync", "calls", "--config", d.config, "--from", recent); err != nil || strings.Contains(errOut, "ledger_retention") {
		t.Errorf("recent backfill: err %v, stderr:\n%s", err, errOut)
	}
}
