// Package jobstest runs the sync engine (jobs) end to end against a CRM
// client and its double: every client's conformance test calls RunEngine and
// RunEngineUnmatched with its crmtest.Backend adapter. It lives beside the
// engine so that the doubles and crmtest need not import jobs.
package jobstest

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
	"github.com/callsync/callsync/store/pgtest"
)

// RunEngine is the end-to-end test every CRM client passes: the real sync
// engine (jobs), the Enreach double and the backend's CRM double, over a
// mixed day of calls. It checks each written activity (subject, direction,
// owner, regarding, open state), what is not written and why, and that the
// same window again, an overlapping backfill and the nightly run write
// nothing twice while the nightly run links a caller added to the CRM later.
//
// It runs on each store engine (subtests sqlite and postgres; see
// eachStore).
func RunEngine(t *testing.T, newBackend func(t *testing.T) crmtest.Backend) {
	eachStore(t, func(t *testing.T, open func(t *testing.T) *store.Store) {
		runEngine(t, newBackend, open)
	})
}

func runEngine(t *testing.T, newBackend func(t *testing.T) crmtest.Backend, open func(t *testing.T) *store.Store) {
	ctx := context.Background()
	b := newBackend(t)
	en := enreachtest.NewServer()
	t.Cleanup(en.Close)
	st := open(t)

	day := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC) // European DST ends: UTC does not care
	agent := enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example", WorkNumber: "+358201000001"}
	other := enreach.User{ID: enreachtest.NewID(), UserName: "eero@contoso.example", WorkNumber: "+358201000002"} // no CRM user
	queue := enreach.Queue{ID: enreachtest.NewID(), Name: "Sales", Numbers: []string{"+358201234567"}}
	en.AddUsers(agent, other)
	en.AddQueues(queue)
	crmAgent := b.AddUser(agent.UserName, "Aino Agent", agent.ID, false)
	field := func(e crm.Entity) string { return b.PhoneFields(e)[0] }
	contact := b.AddCustomer(crm.Contact, "Matti Meikäläinen", map[string]string{field(crm.Contact): "+358401111111"}, crmAgent, nil)
	account := b.AddCustomer(crm.Account, "Contoso Oy", map[string]string{field(crm.Account): "+358912345678"}, crmAgent, nil)
	lead := b.AddCustomer(crm.Lead, "Liisa Lead", map[string]string{field(crm.Lead): "+358403333333"}, crmAgent, nil)

	cfg := config.DefaultTenant()
	cfg.Name = "contoso"
	cfg.DefaultRegion = crmtest.Region
	m := b.UserMatch()
	cfg.CRM.Users = config.Users{Match: m.By, Field: m.Field}
	cfg.PhoneCalls.ProcessServiceCalls = true
	cfg.PhoneCalls.ProcessServiceCallsUnanswered = true
	cfg.PhoneCalls.DefaultCRMAssignee = agent.ID
	cfg.PhoneCalls.ExecutionInterval = config.Duration(48 * time.Hour)
	ec, err := enreach.New(enreach.Config{APIURL: en.URL, User: en.User, SecretKey: en.Secret,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	tenant := jobs.NewTenant(cfg, ec, b.Client(), nil)
	now := day.Add(22 * time.Hour)
	syncer := &jobs.Syncer{Store: st, Now: func() time.Time { return now }}

	type want struct {
		subject   string
		direction crm.Direction
		regarding *crm.Ref
		open      bool
	}
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	wants := map[time.Time]want{} // by call start: one call per start
	skipped := 0

	c := enreachtest.DirectCall(agent, "+358401111111", false, at(8), 5*time.Second, 2*time.Minute)
	en.AddCalls(c)
	wants[c.StartTime] = want{"Incoming direct call", crm.Inbound, &crm.Ref{Entity: crm.Contact, ID: contact}, false}

	c = enreachtest.DirectCall(agent, "09 1234 5678", true, at(9), 5*time.Second, 3*time.Minute)
	en.AddCalls(c)
	wants[c.StartTime] = want{"Outgoing direct call", crm.Outbound, &crm.Ref{Entity: crm.Account, ID: account}, false}

	sc, leg := enreachtest.QueueCall(queue, &other, "+358403333333", at(10), 20*time.Second, 4*time.Minute)
	en.AddServiceCalls(sc)
	en.AddCalls(*leg)
	wants[sc.StartTime] = want{"Incoming queue call", crm.Inbound, &crm.Ref{Entity: crm.Lead, ID: lead}, false}

	sc, _ = enreachtest.QueueCall(queue, nil, "+358401111111", at(11), time.Minute, 0)
	en.AddServiceCalls(sc)
	wants[sc.StartTime] = want{"Incoming queue call", crm.Inbound, &crm.Ref{Entity: crm.Contact, ID: contact}, false}

	c = enreachtest.DirectCall(agent, "+358401111111", false, at(12), 5*time.Second, time.Minute)
	c.Privacy = enreach.PrivacyPrivate
	en.AddCalls(c)
	skipped++

	late := enreachtest.DirectCall(agent, "+358409999999", false, at(13), 5*time.Second, time.Minute)
	en.AddCalls(late)

	check := func(stage string) {
		t.Helper()
		got := map[time.Time]crmtest.Stored{}
		for _, a := range b.Activities() {
			k := a.Start.UTC().Truncate(time.Second)
			if _, dup := got[k]; dup {
				t.Fatalf("%s: two activities for the call of %v", stage, k)
			}
			got[k] = a
		}
		if len(got) != len(wants) {
			t.Errorf("%s: CRM holds %d activities, want %d", stage, len(got), len(wants))
		}
		for start, w := range wants {
			a, ok := got[start]
			if !ok {
				t.Errorf("%s: no activity for the call of %v", stage, start)
				continue
			}
			if a.Subject != w.subject || a.Direction != w.direction || a.Open != w.open {
				t.Errorf("%s: call of %v: subject %q direction %s open %v; want %q %s %v", stage, start, a.Subject, a.Direction, a.Open, w.subject, w.direction, w.open)
			}
			if (a.Regarding == nil) != (w.regarding == nil) || (a.Regarding != nil && *a.Regarding != *w.regarding) {
				t.Errorf("%s: call of %v: regarding %v, want %v", stage, start, a.Regarding, w.regarding)
			}
			if !slices.Contains(a.NotHeld, "OwnerID") && a.OwnerID != crmAgent {
				t.Errorf("%s: call of %v: owner %q, want %q (the agent, or the default assignee)", stage, start, a.OwnerID, crmAgent)
			}
		}
	}

	sum, err := syncer.RunCalls(ctx, tenant, jobs.SyncOptions{})
	if err != nil {
		t.Fatalf("calls job: %v", err)
	}
	if sum.Unresolved != 1 || sum.SkippedTotal() != skipped {
		t.Errorf("first run: %+v, want 1 unresolved and %d skipped", sum, skipped)
	}
	check("first run")

	now = now.Add(time.Minute)
	if _, err := syncer.RunCalls(ctx, tenant, jobs.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := syncer.Backfill(ctx, tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	check("replays")

	// The caller is added to the CRM; the nightly run links the call.
	lateContact := b.AddCustomer(crm.Contact, "Late Comer", map[string]string{field(crm.Contact): "+358409999999"}, "", nil)
	now = day.Add(24*time.Hour + 23*time.Hour + 31*time.Minute) // past the next night's window
	ran, _, err := syncer.Retroactive(ctx, tenant, jobs.SyncOptions{})
	if err != nil || ran {
		t.Fatalf("retroactive: first sight schedules it: ran=%v err=%v", ran, err)
	}
	next, _, _, _ := st.Schedule(ctx, "contoso", "retroactive")
	now = next
	if ran, _, err = syncer.Retroactive(ctx, tenant, jobs.SyncOptions{}); err != nil || !ran {
		t.Fatalf("retroactive at %v: ran=%v err=%v", next, ran, err)
	}
	wants[late.StartTime] = want{"Incoming direct call", crm.Inbound, &crm.Ref{Entity: crm.Contact, ID: lateContact}, false}
	if _, _, err := syncer.Retroactive(ctx, tenant, jobs.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after the nightly run")

	t.Run("CallStartMargin", func(t *testing.T) { runMargin(t, newBackend(t), open(t)) })
}

// runMargin checks call_start_margin end to end: a customer who calls again
// 14 s after the first call started, the calls picked up by different runs,
// gets two activities (the first one carries the first call's key), and a
// hand-logged activity stands for one call only.
func runMargin(t *testing.T, b crmtest.Backend, st *store.Store) {
	ctx := context.Background()
	mb, ok := b.(crmtest.ManualBackend)
	if !ok {
		t.Fatalf("backend %T cannot seed a hand-logged activity (crmtest.ManualBackend)", b)
	}
	en := enreachtest.NewServer()
	t.Cleanup(en.Close)
	agent := enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example", WorkNumber: "+358201000001"}
	en.AddUsers(agent)
	crmAgent := b.AddUser(agent.UserName, "Aino Agent", agent.ID, false)
	b.AddCustomer(crm.Contact, "Matti Meikäläinen", map[string]string{b.PhoneFields(crm.Contact)[0]: "+358401111111"}, crmAgent, nil)
	cfg := config.DefaultTenant()
	cfg.Name = "contoso"
	cfg.DefaultRegion = crmtest.Region
	m := b.UserMatch()
	cfg.CRM.Users = config.Users{Match: m.By, Field: m.Field}
	cfg.PhoneCalls.DefaultCRMAssignee = agent.ID
	cfg.PhoneCalls.CallStartMargin = config.Duration(15 * time.Second)
	ec, err := enreach.New(enreach.Config{APIURL: en.URL, User: en.User, SecretKey: en.Secret,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	tenant := jobs.NewTenant(cfg, ec, b.Client(), nil)
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	syncer := &jobs.Syncer{Store: st, Now: func() time.Time { return now }}
	run := func() {
		t.Helper()
		if _, err := syncer.RunCalls(ctx, tenant, jobs.SyncOptions{}); err != nil {
			t.Fatalf("calls job: %v", err)
		}
	}
	starts := func() map[time.Time]int {
		out := map[time.Time]int{}
		for _, a := range b.Activities() {
			out[a.Start.UTC().Truncate(time.Second)]++
		}
		return out
	}
	ledger := func(c enreach.Call) store.LedgerEntry {
		t.Helper()
		id := strings.ToLower(c.CallID)
		rows, err := st.Ledger(ctx, "contoso", jobs.KindCall, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		return rows[id]
	}

	// Call A (12 s), synced; call B 14 s after A started, synced next run.
	t0 := now.Add(-5 * time.Minute)
	a := enreachtest.DirectCall(agent, "+358401111111", false, t0, time.Second, 12*time.Second)
	en.AddCalls(a)
	run()
	bc := enreachtest.DirectCall(agent, "+358401111111", false, t0.Add(14*time.Second), time.Second, 3*time.Minute)
	bc.Modified = now.Add(30 * time.Second)
	en.AddCalls(bc)
	now = now.Add(time.Minute)
	run()
	got := starts()
	if got[a.StartTime] != 1 || got[bc.StartTime] != 1 {
		t.Errorf("repeat call: activities by start %v, want one at %v and one at %v", got, a.StartTime, bc.StartTime)
	}
	if ea, eb := ledger(a), ledger(bc); eb.State != store.Written || eb.Reason != "" || eb.CRMID == "" || eb.CRMID == ea.CRMID {
		t.Errorf("repeat call: ledger A %+v B %+v, want B written to its own activity", ea, eb)
	}

	// A hand-logged activity 3 s after call C: C is that activity, call D
	// 10 s after C (a later run) is written.
	t1 := now.Add(-4 * time.Minute).Truncate(time.Second)
	manual := mb.AddManualCall("+358401111111", t1.Add(3*time.Second), time.Minute)
	c := enreachtest.DirectCall(agent, "+358401111111", false, t1, time.Second, 20*time.Second)
	c.Modified = now.Add(30 * time.Second)
	en.AddCalls(c)
	now = now.Add(time.Minute)
	run()
	d := enreachtest.DirectCall(agent, "+358401111111", false, t1.Add(10*time.Second), time.Second, 2*time.Minute)
	d.Modified = now.Add(30 * time.Second)
	en.AddCalls(d)
	now = now.Add(time.Minute)
	run()
	if e := ledger(c); e.State != store.Written || e.Reason != jobs.ReasonExistingActivity || e.CRMID != manual {
		t.Errorf("hand-logged: call C ledger %+v, want written as the hand-logged activity %s", e, manual)
	}
	if e := ledger(d); e.State != store.Written || e.Reason != "" || e.CRMID == manual {
		t.Errorf("hand-logged: call D ledger %+v, want written to its own activity", e)
	}
	got = starts()
	if got[d.StartTime] != 1 || got[c.StartTime] != 0 || len(b.Activities()) != 4 {
		t.Errorf("hand-logged: activities by start %v, want A, B, the hand-logged one and D", got)
	}
}

// eachStore runs fn once per store engine: on a new SQLite file, and on a
// new database of a throwaway PostgreSQL cluster started for this call
// (skipped with the reason when there are no PostgreSQL binaries, failed
// under CI=true; see pgtest). open gives each (sub)test a new store.
func eachStore(t *testing.T, fn func(t *testing.T, open func(t *testing.T) *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) *store.Store {
			st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
	pg := pgtest.New()
	t.Cleanup(pg.Stop)
	t.Run("postgres", func(t *testing.T) {
		pg.Need(t)
		fn(t, func(t *testing.T) *store.Store {
			st, err := store.OpenPostgres(context.Background(), pg.NewDatabase(t), store.PoolOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}
