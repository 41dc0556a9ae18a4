package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

// A steady Dynamics cycle with calls costs two CRM requests: one $batch
// with the directory's changes and the call_start_margin search of
// phonecalls, one $batch with the writes. The margin still applies: a call
// with a hand-logged phone call inside the margin is not written again.
func TestDynamicsCycleRequests(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	dyn := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(dyn.Close)
	clock := func() time.Time { return w.now }
	dyn.SetClock(clock)
	dc, err := dynamics.New(dyn.Config(), dynamics.Options{HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, RetryMax: 2}})
	if err != nil {
		t.Fatal(err)
	}
	dyn.AddUser(dynamicstest.User{Name: "Alice", Email: w.alice.UserName})
	dyn.AddUser(dynamicstest.User{Name: "Carol", Email: w.carol.UserName})
	for _, n := range []string{"+358401111111", "+358402222222", "+358403333333"} {
		dyn.AddContact(dynamicstest.Record{Name: "Customer " + n, Phones: map[string]string{"mobilephone": n}})
	}
	cfg := config.DefaultTenant()
	cfg.Name, cfg.DefaultRegion, cfg.CRM.Type = "contoso", "FI", "dynamics"
	cfg.PhoneCalls.DefaultCRMAssignee = w.carol.ID
	cfg.PhoneCalls.CallStartMargin = config.Duration(15 * time.Second)
	dir := phonedir.New(w.store, dc, phonedir.Options{Tenant: "contoso", Region: "FI", Now: clock})
	w.tenant = jobs.NewTenant(cfg, w.tenant.Enreach, dc, match.New(dc, match.Options{Region: "FI", Directory: dir}))
	w.tenant.Phones = dir

	// Warm-up: the directory's full load, the user map.
	w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(-2*time.Minute), 5*time.Second, time.Minute))
	w.runCalls(ctx)

	w.now = w.now.Add(time.Minute)
	t0 := w.now.Add(-2 * time.Minute).Truncate(time.Second)
	res, err := dc.WriteActivities(ctx, []crm.Activity{{Key: "logged-by-hand", Kind: crm.KindCall, Subject: "Logged by hand",
		Direction: crm.Inbound, Number: "+358403333333", Start: t0.Add(3 * time.Second), End: t0.Add(time.Minute)}})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("seed: %v %+v", err, res)
	}
	manual := res[0].ID
	written := enreachtest.DirectCall(w.alice, "+358402222222", false, t0, 5*time.Second, time.Minute)
	logged := enreachtest.DirectCall(w.alice, "+358403333333", false, t0, 5*time.Second, time.Minute)
	w.en.AddCalls(written, logged)
	dyn.ResetLog()
	w.runCalls(ctx)

	if n := dyn.RequestsTo("", ""); n != 2 {
		var got []string
		for _, r := range dyn.Log() {
			got = append(got, r.Method+" "+r.Path)
		}
		t.Errorf("the cycle made %d CRM requests, want 2 (directory and margin $batch, write $batch): %v", n, got)
	}
	rows, err := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{strings.ToLower(written.CallID), strings.ToLower(logged.CallID)})
	if err != nil {
		t.Fatal(err)
	}
	if e := rows[strings.ToLower(written.CallID)]; e.State != store.Written || e.Reason != "" {
		t.Errorf("call: %s/%s, want written", e.State, e.Reason)
	}
	if e := rows[strings.ToLower(logged.CallID)]; e.State != store.Written || e.Reason != jobs.ReasonExistingActivity || e.CRMID != manual {
		t.Errorf("call with a hand-logged phone call: %s/%s %s, want written/%s %s", e.State, e.Reason, e.CRMID, jobs.ReasonExistingActivity, manual)
	}
	if n := len(dyn.PhoneCalls()); n != 3 {
		t.Errorf("%d phone calls, want 3 (warm-up, hand-logged, the new call)", n)
	}
}
