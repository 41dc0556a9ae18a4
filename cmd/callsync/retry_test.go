package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/store"
)

// After the admin fixes the org, retry writes what failed or had no match;
// a second retry writes nothing again.
func TestRetryAfterTheOrgIsFixed(t *testing.T) {
	d := newDoubles(t)
	day := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	known := enreachtest.DirectCall(d.agent, "+358401234567", false, day, time.Second, time.Minute)
	newcomer := enreachtest.DirectCall(d.agent, "+358509999999", false, day.Add(time.Minute), time.Second, time.Minute)
	d.en.AddCalls(known, newcomer)
	d.dyn.DenyPrivilege("prvCreateActivity")
	backfill := func() {
		t.Helper()
		run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04")
	}
	backfill()
	if n := len(d.dyn.PhoneCalls()); n != 0 {
		t.Fatalf("%d phone calls written without the privilege", n)
	}
	// The admin grants the privilege and adds the newcomer as a contact.
	d.dyn.GrantPrivilege("prvCreateActivity")
	d.dyn.AddContact(dynamicstest.Record{Name: "Newcomer", Phones: map[string]string{"mobilephone": "050 999 9999"}})

	// A dry run writes nothing.
	out, _, err := run(t, d.env, "retry", "--config", d.config, "--dry-run")
	if err != nil || !strings.Contains(out, "would write 2 (dry run)") || len(d.dyn.PhoneCalls()) != 0 {
		t.Fatalf("retry --dry-run: %v\n%s", err, out)
	}
	// --reason picks: only the call that had no match.
	out, errs, err := run(t, d.env, "retry", "--config", d.config, "--reason", "no_match")
	if err != nil || !strings.Contains(out, "contoso: seen 1, written 1") {
		t.Fatalf("retry --reason no_match: %v\n%s\n%s", err, out, errs)
	}
	if !strings.Contains(errs, "contoso: 1/1 written 1") {
		t.Errorf("no progress line on a non-terminal stderr:\n%s", errs)
	}
	// The failed one (its 403 used up the scheduled attempts) is retried too.
	out, _, err = run(t, d.env, "retry", "--config", d.config, "--since", "2026-03-01")
	if err != nil || !strings.Contains(out, "contoso: seen 1, written 1") {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	out, _, err = run(t, d.env, "retry", "--config", d.config)
	if err != nil || !strings.Contains(out, "contoso: seen 0, written 0") {
		t.Fatalf("second retry: %v\n%s", err, out)
	}
	if n := len(d.dyn.PhoneCalls()); n != 2 {
		t.Fatalf("%d phone calls after retries, want 2 (nothing twice)", n)
	}
	// --since after both calls: nothing to do.
	out, _, _ = run(t, d.env, "retry", "--config", d.config, "--since", "2026-03-03")
	if !strings.Contains(out, "seen 0") {
		t.Errorf("retry --since: %s", out)
	}
}

// On a terminal the bar redraws in place, unless NO_COLOR or TERM=dumb.
func TestProgressRedrawsOnlyOnAPlainTerminal(t *testing.T) {
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with: %v", err)
	}
	defer tty.Close()
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"NO_COLOR": "1"}, false},
		{map[string]string{"NO_COLOR": ""}, true}, // no-color.org: an empty value does not count
		{map[string]string{"TERM": "dumb"}, false},
	} {
		m := &Main{Getenv: func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }}
		if got := m.newProgress(tty, "t").tty; got != c.want {
			t.Errorf("env %v: redraw %v, want %v", c.env, got, c.want)
		}
	}
	var b strings.Builder
	if (&Main{}).newProgress(&b, "t").tty {
		t.Error("a non-terminal writer redraws")
	}
}

// A record quarantined by a sync is decoded again by retry: once it decodes
// (here its stored raw is replaced by what a fixed decoder would accept),
// retry writes its call once and empties its quarantine row; a dry run
// writes and deletes nothing; a record that still does not decode stays,
// with its reason, and is counted.
func TestRetryRedrivesQuarantinedRecords(t *testing.T) {
	d := newDoubles(t)
	d.addCalls(1)
	rec := func(duration string) string {
		return fmt.Sprintf(`{"CallId":"q-1","UserId":%q,"UserName":%q,"Direction":0,"ANum":"+358401234567","BNum":"+358201000001",`+
			`"StartTime":"2026-03-02 10:00:00","AnswerTime":"2026-03-02 10:00:02","EndTime":"2026-03-02 10:01:02","Duration":%s,"EndResult":0,"Privacy":"Work"}`,
			d.agent.ID, d.agent.UserName, duration)
	}
	d.en.AddRaw("/calls", json.RawMessage(rec(`"sixty"`)))
	d.en.AddRaw("/calls", json.RawMessage(`{"CallId":"broken-2","Direction":0,"StartTime":"not a time"}`))
	out, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04")
	if err != nil || !strings.Contains(out, "written 1") || !strings.Contains(out, "quarantined 2") {
		t.Fatalf("sync calls: %v\n%s", err, out)
	}
	dbPath := filepath.Join(filepath.Dir(d.config), "callsync.db")
	quarantine := func() map[string]string {
		t.Helper()
		st, err := store.Open(context.Background(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		recs, err := st.QuarantinedRecords(context.Background(), "contoso", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range recs {
			got[r.RecordID] = r.Reason
		}
		return got
	}
	before := quarantine()
	if len(before) != 2 || before["q-1"] == "" || before["broken-2"] == "" {
		t.Fatalf("quarantine after sync: %v", before)
	}
	// The upgrade: the stored record now decodes.
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE quarantine SET raw = ? WHERE record_id = 'q-1'`, []byte(rec("60"))); err != nil {
		t.Fatal(err)
	}
	db.Close()

	out, _, err = run(t, d.env, "retry", "--config", d.config, "--dry-run")
	if err != nil || !strings.Contains(out, "would write 1 (dry run)") || !strings.Contains(out, "would leave the quarantine: 1") ||
		!strings.Contains(out, "still quarantined: 1 (") {
		t.Fatalf("retry --dry-run: %v\n%s", err, out)
	}
	if n := len(d.dyn.PhoneCalls()); n != 1 || len(quarantine()) != 2 {
		t.Fatalf("dry run wrote or deleted: %d phone calls, quarantine %v", n, quarantine())
	}

	out, _, err = run(t, d.env, "retry", "--config", d.config)
	if err != nil || !strings.Contains(out, "contoso: seen 1, written 1") || !strings.Contains(out, "left the quarantine: 1") ||
		!strings.Contains(out, "still quarantined: 1 ("+before["broken-2"]+": 1)") {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	if got := quarantine(); len(got) != 1 || got["broken-2"] != before["broken-2"] {
		t.Fatalf("quarantine after retry: %v", got)
	}
	if n := len(d.dyn.PhoneCalls()); n != 2 {
		t.Fatalf("%d phone calls after retry, want 2", n)
	}
	// Again: nothing is written twice; the bad record is still counted.
	out, _, err = run(t, d.env, "retry", "--config", d.config, "--reason", "quarantined")
	if err != nil || !strings.Contains(out, "contoso: seen 0, written 0") || !strings.Contains(out, "still quarantined: 1") {
		t.Fatalf("second retry: %v\n%s", err, out)
	}
	if n := len(d.dyn.PhoneCalls()); n != 2 {
		t.Fatalf("%d phone calls after a second retry, want 2", n)
	}
	// A ledger state word leaves the quarantine alone.
	out, _, _ = run(t, d.env, "retry", "--config", d.config, "--reason", "failed")
	if strings.Contains(out, "still quarantined") {
		t.Errorf("retry --reason failed looked at the quarantine:\n%s", out)
	}
}
