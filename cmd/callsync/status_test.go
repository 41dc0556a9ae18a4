package main

import (
	"strings"
	"testing"
)

func TestStatusAfterBackfill(t *testing.T) {
	d := newDoubles(t)
	d.addCalls(3)
	if _, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tenant contoso (dynamics)", "last backfill", "written 3", "calls", "quarantined", "webhook inbox"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
}
