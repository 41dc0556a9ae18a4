package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
)

// ExecutionInterval is a number of minutes in the original product: a bare
// number is read as minutes, with a note; other duration keys still refuse it.
func TestExecutionIntervalBareMinutes(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+"    phone_calls:\n      execution_interval: 90\n      default_crm_assignee: u-1\n")
	if got := c.Tenants[0].PhoneCalls.ExecutionInterval.D(); got != 90*time.Minute {
		t.Errorf("execution_interval: 90 = %s, want 90m", got)
	}
	notes := c.Notes()
	if len(notes) != 1 || !strings.Contains(notes[0], "tenants[0].phone_calls.execution_interval: 90 read as minutes") {
		t.Errorf("notes = %q, want one about minutes", notes)
	}
	c = mustParse(t, "tenants:"+validTenant+"    phone_calls:\n      execution_interval: 90m\n      default_crm_assignee: u-1\n")
	if n := c.Notes(); len(n) != 0 {
		t.Errorf("a duration with a unit gives notes %q", n)
	}
	if _, err := parse(t, "tenants:"+validTenant+"    phone_calls:\n      call_start_margin: 15\n"); err == nil || !strings.Contains(err.Error(), "tenants[0].phone_calls.call_start_margin") {
		t.Errorf("call_start_margin: 15 = %v, want an error naming the key", err)
	}
}

// The original's Age Time Unit offered Days.
func TestCallbackAgeDays(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+`    callbacks:
      profiles:
        - name: support
          callback_list_id: 6f1c7f39-0c0e-4c1b-9b57-3f8a3c1d2e4f
          queue: 2b0f0d5e-3c62-4d77-9f6a-8c7f0f4b1a11
          age: 2d
`)
	if got := c.Tenants[0].Callbacks.Profiles[0].Age.D(); got != 48*time.Hour {
		t.Errorf("age: 2d = %s", got)
	}
}

// The original requires DefaultCrmAssignee: config check warns when unset.
func TestNotesDefaultCrmAssignee(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant)
	n := c.Notes()
	if len(n) != 1 || !strings.Contains(n[0], "tenants[0].phone_calls.default_crm_assignee") || !strings.Contains(n[0], "warning") {
		t.Errorf("notes = %q, want a warning naming default_crm_assignee", n)
	}
	c = mustParse(t, "tenants:"+validTenant+"    phone_calls:\n      default_crm_assignee: u-1\n")
	if n := c.Notes(); len(n) != 0 {
		t.Errorf("notes with the assignee set = %q", n)
	}
}

func TestPurgeSettings(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant)
	want := config.Purge{RunAt: "03:17", Retention: config.Duration(14 * 24 * time.Hour), LedgerRetention: config.Duration(90 * 24 * time.Hour)}
	if c.Purge != want {
		t.Errorf("purge defaults = %+v, want %+v", c.Purge, want)
	}
	c = mustParse(t, "purge:\n  run_at: \"02:30\"\n  retention: 7d\n  ledger_retention: 30d\ntenants:"+validTenant)
	if c.Purge.RunAt != "02:30" || c.Purge.Retention.D() != 7*24*time.Hour || c.Purge.LedgerRetention.D() != 30*24*time.Hour {
		t.Errorf("purge = %+v", c.Purge)
	}
	for yaml, want := range map[string]string{
		"purge:\n  run_at: \"25:00\"\n":                       "purge.run_at",
		"purge:\n  retention: 0s\n":                           "purge.retention",
		"purge:\n  ledger_retention: 36h\n":                   "purge.ledger_retention: 36h is shorter than tenants[0].retroactive.lookback (24h) plus one day",
		"purge:\n  retention: 30d\n  ledger_retention: 20d\n": "purge.ledger_retention: 20d is shorter than purge.retention",
	} {
		_, err := parse(t, yaml+"tenants:"+validTenant)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", yaml, err, want)
		}
	}
}
