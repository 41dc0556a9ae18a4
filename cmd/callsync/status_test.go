package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/store"
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

// Calls of an Enreach user with no CRM user take default_crm_assignee as
// owner, and status counts them per user so the admin knows whom to map.
func TestStatusCountsCallsOfUnmappedUsers(t *testing.T) {
	d := newDoubles(t)
	intern := enreach.User{ID: enreachtest.NewID(), UserName: "intern@contoso.example", WorkNumber: "+358201000009"}
	d.en.AddUsers(intern) // no Dynamics user
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		d.en.AddCalls(enreachtest.DirectCall(intern, "+358401234567", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute))
	}
	d.addCalls(1)
	if _, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	want := "calls of users with no CRM user  " + strings.ToLower(intern.ID) + " 2  (default_crm_assignee " + d.agent.ID + ")"
	if !strings.Contains(out, want) {
		t.Fatalf("status lacks %q:\n%s", want, out)
	}
	aino := d.crmAgent
	for _, pc := range d.dyn.PhoneCalls() {
		if pc.OwnerID != aino {
			t.Errorf("call %s owned by %q, want the default assignee's CRM user %s", pc.ID, pc.OwnerID, aino)
		}
	}
}

// status shows the last purge and what it removed.
func TestStatusShowsLastPurge(t *testing.T) {
	d := newDoubles(t)
	out, _, err := run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "purge: not run yet (daily at 03:17 UTC") {
		t.Fatalf("status lacks the purge line:\n%s", out)
	}
	st, err := store.Open(context.Background(), filepath.Join(filepath.Dir(d.config), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.SaveLedger(context.Background(), []store.LedgerEntry{{Tenant: "contoso", Kind: "call", EnreachID: "x", Key: "x", State: store.Written}})
	if _, err := st.Purge(context.Background(), []string{"contoso"}, store.PurgeCutoffs{Payloads: time.Now().Add(time.Hour), Ledger: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err = run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "ledger rows 1, payloads 0, webhook inbox 0, quarantine 0, job runs 0") {
		t.Fatalf("status lacks the purge counts:\n%s", out)
	}
}

// status warns when the store can be read by others (it holds phone
// numbers, names and raw payloads).
func TestStatusWarnsAboutLooseStoreFiles(t *testing.T) {
	d := newDoubles(t)
	if _, _, err := run(t, d.env, "sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-02"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := run(t, d.env, "status", "--config", d.config)
	if err != nil || strings.Contains(errOut, "warning") {
		t.Fatalf("new store: err %v, stderr %q; want no warning", err, errOut)
	}
	db := filepath.Join(filepath.Dir(d.config), "callsync.db")
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = run(t, d.env, "status", "--config", d.config)
	if err != nil || !strings.Contains(errOut, "warning: store files readable by group or others") || !strings.Contains(errOut, "callsync.db is 0644") {
		t.Fatalf("loose store: err %v, stderr %q; want a warning naming the file", err, errOut)
	}
}
