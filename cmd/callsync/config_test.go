package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	d := newDoubles(t)
	out, _, err := run(t, d.env, "config", "check", "--config", d.config)
	if err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	if !strings.Contains(out, "valid") || !strings.Contains(out, "contoso") {
		t.Fatalf("summary:\n%s", out)
	}
	for _, secret := range d.env {
		if strings.Contains(out, secret) {
			t.Fatalf("summary shows a secret:\n%s", out)
		}
	}
}

func TestConfigCheckNamesTheField(t *testing.T) {
	d := newDoubles(t)
	b, _ := os.ReadFile(d.config)
	bad := strings.Replace(string(b), "phone_calls:\n", "phone_calls:\n      call_start_margin: 15x\n", 1)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(bad), 0o600)
	_, _, err := run(t, d.env, "config", "check", "--config", path)
	if err == nil || !strings.Contains(err.Error(), `tenants[0].phone_calls.call_start_margin: invalid duration "15x"`) {
		t.Fatalf("err = %v", err)
	}
	_, _, err = run(t, map[string]string{}, "config", "check", "--config", d.config)
	if err == nil || !strings.Contains(err.Error(), "EN_SECRET") {
		t.Fatalf("missing env var: err = %v", err)
	}
}

// A bare execution_interval is the original's minutes, said in a note; an
// unset default_crm_assignee is warned about.
func TestConfigCheckNotes(t *testing.T) {
	d := newDoubles(t)
	b, _ := os.ReadFile(d.config)
	cfg := strings.Replace(string(b), "phone_calls:\n", "phone_calls:\n      execution_interval: 90\n", 1)
	cfg = strings.Replace(cfg, "default_crm_assignee:", "x-unused:", 1)
	path := filepath.Join(t.TempDir(), "notes.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	out, _, err := run(t, d.env, "config", "check", "--config", path)
	if err != nil {
		t.Fatalf("config check: %v", err)
	}
	for _, want := range []string{"note: tenants[0].phone_calls.execution_interval: 90 read as minutes (1h30m)", "note: warning: tenants[0].phone_calls.default_crm_assignee (DefaultCrmAssignee) is not set"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`execution_interval:\s+1h30m`).MatchString(out) {
		t.Errorf("summary lacks execution_interval 1h30m:\n%s", out)
	}
}
