package main

import (
	"os"
	"path/filepath"
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
