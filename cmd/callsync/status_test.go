package main

import (
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
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
