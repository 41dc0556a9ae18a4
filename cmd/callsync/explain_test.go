package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

// explain tells one call's story from the local store: no CRM or Enreach
// secret is in the environment when it runs.
func TestExplainWrittenUnresolvedAndFilteredCalls(t *testing.T) {
	d := newDoubles(t)
	day := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	known := enreachtest.DirectCall(d.agent, "040 123 4567", false, day, time.Second, time.Minute)
	unknown := enreachtest.DirectCall(d.agent, "+358509999999", false, day.Add(time.Minute), time.Second, time.Minute)
	private := enreachtest.DirectCall(d.agent, "+358401234567", false, day.Add(2*time.Minute), time.Second, time.Minute)
	private.Privacy = enreach.PrivacyPrivate
	d.en.AddCalls(known, unknown, private)
	// A dry run decides but leaves no trace in the decision log.
	if _, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04", "--dry-run"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"); err != nil {
		t.Fatal(err)
	}
	pcs := d.dyn.PhoneCalls()
	if len(pcs) != 1 {
		t.Fatalf("%d phone calls written, want 1", len(pcs))
	}
	noSecrets := map[string]string{}

	out, _, err := run(t, noSecrets, "explain", "--config", d.config, known.CallID)
	if err != nil {
		t.Fatalf("explain without secrets: %v", err)
	}
	for _, want := range []string{
		"filter: passed",
		"number: +358401234567",
		"outcome: written",
		"matched contact:" + d.contact + " (from the local phone directory, no CRM request)",
		"why: the only record with this number",
		"write attempt 1: crm answered created",
		"crm record " + pcs[0].ID,
		"main.aspx?pagetype=entityrecord&etn=phonecall&id=" + pcs[0].ID,
		"owner " + d.crmAgent,
	} {
		if !strings.Contains(squash(out), want) {
			t.Errorf("explain (written) lacks %q:\n%s", want, out)
		}
	}

	out, _, err = run(t, noSecrets, "explain", "--config", d.config, "--json", unknown.CallID)
	if err != nil {
		t.Fatal(err)
	}
	var e Explanation
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if !e.Found || e.State != "unresolved" || e.Reason != "no_match" || len(e.Steps) != 1 || e.Steps[0].Detail.Why != "no record has this number" || e.Steps[0].Detail.MatchedBy != "directory" || e.CRMLink != "" {
		t.Errorf("explain --json (unresolved) = %+v", e)
	}
	if e.Call == nil || e.Call.UserID != d.agent.ID {
		t.Errorf("the call's Enreach data is missing: %+v", e.Call)
	}

	out, _, err = run(t, noSecrets, "explain", "--config", d.config, private.CallID)
	if err != nil || !strings.Contains(squash(out), "filter: skipped: not_work") {
		t.Errorf("explain (filtered): %v\n%s", err, out)
	}

	// By number and time: the calls of that number around then.
	out, _, err = run(t, noSecrets, "explain", "--config", d.config, "--number", "040 123 4567", "--at", "2026-03-02 08:01", "--window", "5m")
	if err != nil || !strings.Contains(out, strings.ToLower(known.CallID)) || !strings.Contains(out, strings.ToLower(private.CallID)) || strings.Contains(out, strings.ToLower(unknown.CallID)) {
		t.Errorf("explain --number: %v\n%s", err, out)
	}
	// An unknown id says so and exits 1.
	out, _, err = run(t, noSecrets, "explain", "--config", d.config, "no-such-call")
	if exitCode(err) != 1 || !strings.Contains(out, "not in the ledger") {
		t.Errorf("unknown call: exit %d\n%s", exitCode(err), out)
	}
	if _, _, err := run(t, noSecrets, "explain", "--config", d.config); exitCode(err) != 2 {
		t.Errorf("no call id: exit %d, want 2", exitCode(err))
	}
}

// status reads only the store: it runs with no secret in the environment.
func TestStatusNeedsNoSecrets(t *testing.T) {
	d := newDoubles(t)
	d.addCalls(1)
	if _, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, map[string]string{}, "status", "--config", d.config)
	if err != nil || !strings.Contains(out, "tenant contoso") {
		t.Fatalf("status without secrets: %v\n%s", err, out)
	}
}

// squash collapses runs of spaces, so checks do not depend on alignment.
func squash(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.Join(strings.Fields(line), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
