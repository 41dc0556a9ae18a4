package salesforce_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// An org set up from the README's minimum has the external id field only:
// the minute cycle and a backfill (also from an empty ledger) write every
// call exactly once, and a call a person logged within call_start_margin is
// found by the standard-field search and not written again.
func TestMinimalOrgEngine(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)
	srv := newOrg(t, func(c *salesforcetest.Config) { c.MinimalOrg = true })
	en := enreachtest.NewServer()
	t.Cleanup(en.Close)
	agent := enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example", WorkNumber: "+358201000001"}
	en.AddUsers(agent)
	crmAgent := srv.AddUser("Aino Agent", agent.UserName, true, map[string]any{userField: agent.ID})
	contact := srv.Add("Contact", map[string]any{"LastName": "Matti", "Phone": "+358401111111", "OwnerId": crmAgent})
	account := srv.Add("Account", map[string]any{"Name": "Contoso Oy", "Phone": "09 1234 5678", "OwnerId": crmAgent})

	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	a := enreachtest.DirectCall(agent, "+358401111111", false, at(8), 5*time.Second, 2*time.Minute)
	b := enreachtest.DirectCall(agent, "09 1234 5678", true, at(9), 5*time.Second, 3*time.Minute)
	p := enreachtest.DirectCall(agent, "+358401111111", false, at(10), 5*time.Second, 2*time.Minute)
	en.AddCalls(a, b, p)
	// A person logged call p when it ended (Log a Call: TaskSubtype Call,
	// no callsync key, no number or start field in this org).
	logged := srv.Add("Task", map[string]any{"Subject": "Call", "TaskSubtype": "Call", "Status": "Completed",
		"WhoId": contact, "CallDurationInSeconds": 125, "CreatedDate": at(10).Add(125 * time.Second)})

	cfg := config.DefaultTenant()
	cfg.Name = "contoso"
	cfg.DefaultRegion = "FI"
	cfg.CRM.Users = config.Users{Match: "field", Field: userField}
	cfg.PhoneCalls.ExecutionInterval = config.Duration(48 * time.Hour)
	ec, err := enreach.New(enreach.Config{APIURL: en.URL, User: en.User, SecretKey: en.Secret,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	client := newClient(t, ccConfig(srv), opts)
	tenant := jobs.NewTenant(cfg, ec, client, nil)

	check := func(stage string) {
		t.Helper()
		byCall := map[string]int{}
		for _, task := range srv.Tasks() {
			if task.String("Id") == logged {
				continue
			}
			byCall[strings.ToLower(task.String("CallObject"))]++
			if task.String(salesforce.DefaultExternalIDField) == "" {
				t.Errorf("%s: task without external id: %v", stage, task)
			}
		}
		for _, c := range []enreach.Call{a, b} {
			if n := byCall[strings.ToLower(c.CallID)]; n != 1 {
				t.Errorf("%s: call %s written %d times, want 1", stage, c.CallID, n)
			}
		}
		if n := byCall[strings.ToLower(p.CallID)]; n != 0 {
			t.Errorf("%s: the call a person logged was written again (%d)", stage, n)
		}
		if len(byCall) != 2 {
			t.Errorf("%s: %d calls written, want 2: %v", stage, len(byCall), byCall)
		}
	}
	tasksOf := func(id string) int {
		n := 0
		for _, task := range srv.Tasks() {
			if task.String("WhatId") == id || task.String("WhoId") == id {
				n++
			}
		}
		return n
	}

	for i, dir := range []string{t.TempDir(), t.TempDir()} {
		st, err := store.Open(ctx, filepath.Join(dir, "callsync.db"))
		if err != nil {
			t.Fatal(err)
		}
		now := day.Add(22 * time.Hour)
		syncer := &jobs.Syncer{Store: st, Now: func() time.Time { return now }}
		if i == 0 {
			// The minute cycle, twice.
			if _, err := syncer.RunCalls(ctx, tenant, jobs.SyncOptions{}); err != nil {
				t.Fatalf("minute cycle: %v", err)
			}
			check("minute cycle")
			now = now.Add(time.Minute)
			if _, err := syncer.RunCalls(ctx, tenant, jobs.SyncOptions{}); err != nil {
				t.Fatalf("second minute cycle: %v", err)
			}
			check("second minute cycle")
		}
		// A backfill of the day (the second time from an empty ledger).
		if _, err := syncer.Backfill(ctx, tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil); err != nil {
			t.Fatalf("backfill %d: %v", i, err)
		}
		check("backfill")
		st.Close()
	}
	if n := tasksOf(account); n != 1 {
		t.Errorf("account call: %d tasks", n)
	}
	if got := strings.Count(logs.String(), "standard Task fields"); got != 1 {
		t.Errorf("the fallback was logged %d times, want once:\n%s", got, logs)
	}
}
