package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/httpclient"
)

func TestConfigChangeOnDiskAppliesWithoutRestart(t *testing.T) {
	d := newDoubles(t)
	getenv := func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }
	cfg, err := (&Main{Getenv: getenv}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	w := &worker{log: newLogger(&logs, "text", "info"), configPath: d.config, getenv: getenv,
		ready: func(a string) { ready <- a }, pollConfig: 20 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond}, nil) }()
	<-ready
	tenant, _ := w.app.registry.Get("contoso")
	orig, _ := os.ReadFile(d.config)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// A valid change: the running tenant (same clients) sees the new setting.
	changed := bytes.Replace(orig, []byte("phone_calls:\n"), []byte("phone_calls:\n      incoming_direct_call_subject: Soitto asiakkaalta\n"), 1)
	replaceFile(t, d.config, changed)
	waitFor("the reload", func() bool {
		t, _ := w.app.registry.Get("contoso")
		return t.Config().PhoneCalls.IncomingDirectCallSubject == "Soitto asiakkaalta"
	})
	if now, _ := w.app.registry.Get("contoso"); now != tenant {
		t.Fatal("a settings-only change rebuilt the tenant's clients")
	}

	// An invalid change is rejected with the reason; the running config stays.
	replaceFile(t, d.config, bytes.Replace(changed, []byte("default_region: FI"), []byte("default_region: XX"), 1))
	waitFor("the rejection", func() bool { return strings.Contains(logs.String(), "config reload rejected") })
	if !strings.Contains(logs.String(), "default_region") {
		t.Fatalf("the rejection does not name the key:\n%s", logs.String())
	}
	if t2, _ := w.app.registry.Get("contoso"); t2.Config().PhoneCalls.IncomingDirectCallSubject != "Soitto asiakkaalta" || t2.Config().DefaultRegion != "FI" {
		t.Fatal("an invalid config replaced the running one")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// replaceFile swaps the file's content in one rename, as editors do: the
// watcher polling the file never reads it half written (os.WriteFile
// truncates first, and a poll in between saw an empty config).
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A reload that gives a tenant new clients checks it before it runs again:
// a wrong secret stops it (status and /metrics say so), the corrected file
// starts it, with no restart.
func TestReloadChecksTheTenantAgain(t *testing.T) {
	d := newDoubles(t)
	getenv := func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }
	cfg, err := (&Main{Getenv: getenv}).loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	w := &worker{log: newLogger(&logs, "text", "info"), configPath: d.config, getenv: getenv,
		ready: func(a string) { ready <- a }, pollConfig: 20 * time.Millisecond, recheck: time.Hour}
	done := make(chan error, 1)
	go func() {
		done <- w.run(ctx, cfg, httpclient.Options{WaitMin: time.Millisecond, WaitMax: time.Millisecond}, nil)
	}()
	<-ready
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	started := func() bool {
		_, held := w.app.registry.Held("contoso")
		return !held && len(w.sched.TenantJobs()) > 0
	}
	waitFor("contoso to start", started)
	orig, _ := os.ReadFile(d.config)
	replaceFile(t, d.config, bytes.Replace(orig, []byte("secret_key: ${EN_SECRET}"), []byte("secret_key: sk-typo"), 1))
	waitFor("contoso to be stopped by its failed check", func() bool {
		reason, held := w.app.registry.Held("contoso")
		return held && strings.Contains(reason, "enreach auth") && len(w.sched.TenantJobs()) == 0
	})
	// The check's outcome is stored just after the tenant is held.
	waitFor("status to show it", func() bool {
		out, _, err := run(t, d.env, "status", "--config", d.config)
		return err == nil && strings.Contains(out, "NOT STARTED")
	})
	replaceFile(t, d.config, orig)
	waitFor("contoso to start again", started)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A reload that keeps a Dynamics tenant's client gives the client's doctor
// what the new settings ask of the org: a callback profile added by the
// reload has its queue checked.
func TestReloadGivesDynamicsDoctorTheNewSettings(t *testing.T) {
	d := newDoubles(t)
	m := &Main{Getenv: func(k string) (string, bool) { v, ok := d.env[k]; return v, ok }}
	cfg, err := m.loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler), httpclient.Options{WaitMin: time.Millisecond, WaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tenant, _ := a.registry.Get("contoso")
	queueCheck := func() *crm.Check {
		t.Helper()
		checks, err := tenant.CRM.(crm.Doctor).Doctor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if c.Name == "queue of profile sales" {
				return &c
			}
		}
		return nil
	}
	if c := queueCheck(); c != nil {
		t.Fatalf("before the reload: %+v", *c)
	}

	orig, _ := os.ReadFile(d.config)
	replaceFile(t, d.config, bytes.Replace(orig, []byte("    retroactive:"), []byte(`    callbacks:
      profiles:
        - {name: sales, callback_list_id: 3f2a1b0c-1111-4222-8333-444455556666, queue: 9a8b7c6d-0000-4000-8000-0000000000cc, sync_method: polling, active: true}
    retroactive:`), 1))
	cfg, err = m.loadConfig(d.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.apply(cfg); err != nil {
		t.Fatal(err)
	}
	if kept, _ := a.registry.Get("contoso"); kept != tenant {
		t.Fatal("a settings-only change rebuilt the tenant's clients")
	}
	if c := queueCheck(); c == nil || c.Status != crm.CheckFail || !strings.Contains(c.Detail, "9a8b7c6d-0000-4000-8000-0000000000cc does not exist") {
		t.Fatalf("after the reload, the queue check is %+v", c)
	}
}
