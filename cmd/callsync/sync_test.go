package main

import (
	"strings"
	"testing"
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
