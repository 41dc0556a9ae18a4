package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// day is a fixed Sunday: the European DST change night (2026-03-29), which
// UTC storage must not notice.
var day = time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)

type world struct {
	t      *testing.T
	en     *enreachtest.Server
	crm    *crmtest.Memory
	store  *store.Store
	syncer *jobs.Syncer
	tenant *jobs.Tenant
	now    time.Time

	alice, bob, carol                  enreach.User
	sales                              enreach.Queue
	crmAlice, crmCarol                 string
	contact, account, lead, dup1, dup2 string
}

func tenantConfig() config.Tenant {
	t := config.DefaultTenant()
	t.Name = "contoso"
	t.DefaultRegion = "FI"
	t.CRM.Type = "dynamics"
	t.CRM.Users = config.Users{Match: "field", Field: crmtest.UserField}
	pc := &t.PhoneCalls
	pc.ProcessServiceCalls = true
	pc.ProcessServiceCallsUnanswered = true
	pc.CallDurationLimit = config.Duration(10 * time.Second)
	pc.CallStartMargin = config.Duration(15 * time.Second)
	pc.MultipleMatchPhoneCallStatus = 3
	pc.ExecutionInterval = config.Duration(48 * time.Hour)
	return t
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, en: enreachtest.NewServer(), crm: crmtest.NewMemory(), now: day.Add(20 * time.Hour)}
	t.Cleanup(w.en.Close)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.store = st
	w.alice = enreach.User{ID: enreachtest.NewID(), UserName: "alice@contoso.example", WorkNumber: "+358201000001", MobileNumber: "+358401000001"}
	w.bob = enreach.User{ID: enreachtest.NewID(), UserName: "bob@contoso.example", WorkNumber: "+358201000002"}
	w.carol = enreach.User{ID: enreachtest.NewID(), UserName: "carol@contoso.example", WorkNumber: "+358201000003"}
	w.sales = enreach.Queue{ID: enreachtest.NewID(), Name: "Sales", Numbers: []string{"+358201234567"}}
	w.en.AddUsers(w.alice, w.bob, w.carol)
	w.en.AddQueues(w.sales)
	w.crmAlice = w.crm.AddUser(w.alice.UserName, "Alice", w.alice.ID, false)
	w.crmCarol = w.crm.AddUser(w.carol.UserName, "Carol", w.carol.ID, false)
	// bob has no CRM user: his calls go to the default assignee (carol).
	w.contact = w.crm.AddCustomer(crm.Contact, "Matti Meikäläinen", map[string]string{"mobilephone": "+358401111111"}, "", nil)
	w.account = w.crm.AddCustomer(crm.Account, "Contoso Oy", map[string]string{"telephone1": "+358912345678"}, "", nil)
	w.lead = w.crm.AddCustomer(crm.Lead, "Liisa Lead", map[string]string{"telephone1": "+358403333333"}, "", nil)
	w.dup1 = w.crm.AddCustomer(crm.Contact, "Twin A", map[string]string{"telephone1": "+358402222222"}, "", nil)
	w.dup2 = w.crm.AddCustomer(crm.Contact, "Twin B", map[string]string{"mobilephone": "+358402222222"}, "", nil)

	cfg := tenantConfig()
	cfg.PhoneCalls.DefaultCRMAssignee = w.carol.ID
	ec, err := enreach.New(enreach.Config{APIURL: w.en.URL, User: w.en.User, SecretKey: w.en.Secret,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, RetryMax: 3}})
	if err != nil {
		t.Fatal(err)
	}
	w.tenant = jobs.NewTenant(cfg, ec, w.crm, nil)
	w.syncer = &jobs.Syncer{Store: st, Now: func() time.Time { return w.now }}
	return w
}

// expectation is what one seeded call must become.
type expectation struct {
	id        string
	write     bool
	subject   string
	direction crm.Direction
	regarding *crm.Ref
	owner     string
	open      bool
	reason    string // ledger state/reason when not written
}

// seedDay adds a mixed day of calls and returns what each must become.
func (w *world) seedDay() []expectation {
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	var exp []expectation
	ref := func(e crm.Entity, id string) *crm.Ref { return &crm.Ref{Entity: e, ID: id} }

	c := enreachtest.DirectCall(w.alice, "+358401111111", false, at(1, 5), 5*time.Second, 2*time.Minute)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, write: true, subject: "Incoming direct call", direction: crm.Inbound, regarding: ref(crm.Contact, w.contact), owner: w.crmAlice})

	c = enreachtest.DirectCall(w.alice, "0912345678", true, at(2, 0), 5*time.Second, 3*time.Minute) // local format
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, write: true, subject: "Outgoing direct call", direction: crm.Outbound, regarding: ref(crm.Account, w.account), owner: w.crmAlice})

	c = enreachtest.DirectCall(w.alice, "+358401111111", false, at(3, 0), 5*time.Second, time.Minute)
	c.Privacy = enreach.PrivacyPrivate
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "skipped/" + jobs.ReasonNotWork})

	c = enreachtest.DirectCall(w.alice, "+358401111111", false, at(3, 30), 5*time.Second, time.Minute)
	c.Privacy = "Undefined"
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "skipped/" + jobs.ReasonNotWork})

	c = enreachtest.DirectCall(w.alice, "+358401111111", false, at(4, 0), 20*time.Second, 0)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "skipped/" + jobs.ReasonUnansweredDirect})

	sc, leg := enreachtest.QueueCall(w.sales, &w.bob, "+358403333333", at(9, 0), 30*time.Second, 4*time.Minute)
	w.en.AddServiceCalls(sc)
	w.en.AddCalls(*leg) // the same CallId in both sets: one call
	exp = append(exp, expectation{id: sc.CallID, write: true, subject: "Incoming queue call", direction: crm.Inbound, regarding: ref(crm.Lead, w.lead), owner: w.crmCarol})

	sc, _ = enreachtest.QueueCall(w.sales, nil, "+358401111111", at(9, 30), time.Minute, 0)
	w.en.AddServiceCalls(sc)
	exp = append(exp, expectation{id: sc.CallID, write: true, subject: "Incoming queue call", direction: crm.Inbound, regarding: ref(crm.Contact, w.contact), owner: w.crmCarol})

	c = enreachtest.DirectCall(w.alice, "+358409999999", false, at(10, 0), 5*time.Second, time.Minute)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "unresolved/" + jobs.ReasonNoMatch})

	c = enreachtest.DirectCall(w.alice, "anonymous", false, at(11, 0), 5*time.Second, time.Minute)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "skipped/unmatchable_number"})

	c = enreachtest.DirectCall(w.alice, "+358401111111", false, at(12, 0), 5*time.Second, 5*time.Second)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "skipped/" + jobs.ReasonTooShort})

	// Several matches: a direct call waits (EnableMultipleMatchCreate is for
	// service calls), a queue call is written open and unlinked.
	c = enreachtest.DirectCall(w.alice, "+358402222222", false, at(13, 0), 5*time.Second, time.Minute)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "unresolved/" + jobs.ReasonMultipleMatches})
	sc, _ = enreachtest.QueueCall(w.sales, nil, "+358402222222", at(13, 30), time.Minute, 0)
	w.en.AddServiceCalls(sc)
	exp = append(exp, expectation{id: sc.CallID, write: true, subject: "Incoming queue call", direction: crm.Inbound, owner: w.crmCarol, open: true})

	c = enreachtest.DirectCall(w.alice, w.bob.WorkNumber, false, at(14, 0), 5*time.Second, time.Minute)
	w.en.AddCalls(c)
	exp = append(exp, expectation{id: c.CallID, reason: "skipped/internal_number"})

	// A phone call someone already logged by hand 10 s after this one started.
	c = enreachtest.DirectCall(w.alice, "+358403333333", false, at(15, 0), 5*time.Second, time.Minute)
	w.en.AddCalls(c)
	res, err := w.crm.WriteActivities(context.Background(), []crm.Activity{{Key: "manual-1", Kind: crm.KindCall, Subject: "Logged by hand",
		Direction: crm.Inbound, Number: "+358403333333", Start: c.StartTime.Add(10 * time.Second), End: c.EndTime}})
	if err != nil || res[0].Status != crm.Created {
		w.t.Fatalf("seed manual activity: %v %+v", err, res)
	}
	exp = append(exp, expectation{id: c.CallID, reason: "written/" + jobs.ReasonExistingActivity})

	w.en.AddRaw("/calls", json.RawMessage(`{"CallId":"broken-1","StartTime":"not a time"}`))
	return exp
}

func (w *world) runCalls(ctx context.Context) jobs.Summary {
	w.t.Helper()
	sum, err := w.syncer.RunCalls(ctx, w.tenant, jobs.SyncOptions{})
	if err != nil {
		w.t.Fatalf("RunCalls: %v", err)
	}
	return sum
}

// ours returns the activities callsync wrote (not the hand-logged one), by key.
func (w *world) ours() map[string]crmtest.Written {
	out := map[string]crmtest.Written{}
	for _, a := range w.crm.Written() {
		if !strings.HasPrefix(a.Activity.Key, "callsync/") {
			continue
		}
		if _, dup := out[a.Activity.Key]; dup {
			w.t.Fatalf("activity %s written twice", a.Activity.Key)
		}
		out[a.Activity.Key] = a
	}
	return out
}

func TestMixedDayEndToEnd(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	exp := w.seedDay()

	sum := w.runCalls(ctx)
	if sum.Quarantined != 1 {
		t.Errorf("quarantined %d, want 1 (the malformed record)", sum.Quarantined)
	}
	if q, _ := w.store.QuarantineCount(ctx, "contoso"); q != 1 {
		t.Errorf("store holds %d quarantined, want 1", q)
	}
	w.check(exp)

	// The same window again, then the nightly run and an overlapping
	// backfill: nothing new is written.
	before := len(w.crm.Written())
	w.now = w.now.Add(time.Minute)
	w.runCalls(ctx)
	if _, err := w.syncer.Backfill(ctx, w.tenant, day.Add(-time.Hour), day.Add(25*time.Hour), jobs.SyncOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(w.crm.Written()); n != before {
		t.Fatalf("replays wrote %d new activities", n-before)
	}

	// The unknown caller is added to the CRM; the nightly run links it.
	late := w.crm.AddCustomer(crm.Contact, "Late Comer", map[string]string{"telephone2": "+358409999999"}, "", nil)
	w.now = day.Add(24*time.Hour + 10*time.Hour) // next day, before its window
	ran, _, err := w.syncer.Retroactive(ctx, w.tenant, jobs.SyncOptions{})
	if err != nil || ran {
		t.Fatalf("retroactive before its window: ran=%v err=%v", ran, err)
	}
	next, _, ok, _ := w.store.Schedule(ctx, "contoso", "retroactive")
	if !ok || next.Hour() < 22 || next.After(day.Add(24*time.Hour+23*time.Hour+30*time.Minute)) {
		t.Fatalf("nightly moment %v not inside 22:00-23:30 of the day", next)
	}
	w.now = next.Add(time.Second)
	ran, _, err = w.syncer.Retroactive(ctx, w.tenant, jobs.SyncOptions{})
	if err != nil || !ran {
		t.Fatalf("retroactive at its moment: ran=%v err=%v", ran, err)
	}
	for i := range exp {
		if exp[i].reason == "unresolved/"+jobs.ReasonNoMatch {
			exp[i] = expectation{id: exp[i].id, write: true, subject: "Incoming direct call", direction: crm.Inbound,
				regarding: &crm.Ref{Entity: crm.Contact, ID: late}, owner: w.crmAlice}
		}
	}
	w.check(exp)
	// A restart inside the same night does not repeat it.
	ran, _, _ = w.syncer.Retroactive(ctx, w.tenant, jobs.SyncOptions{})
	if ran {
		t.Fatal("retroactive ran twice in one night")
	}
	n2, _, _, _ := w.store.Schedule(ctx, "contoso", "retroactive")
	if !n2.After(next.Add(20 * time.Hour)) {
		t.Fatalf("next nightly moment %v is not the next night", n2)
	}
}

func (w *world) check(exp []expectation) {
	t := w.t
	t.Helper()
	ours := w.ours()
	ids := make([]string, len(exp))
	for i, e := range exp {
		ids[i] = strings.ToLower(e.id)
	}
	ledger, err := w.store.Ledger(context.Background(), "contoso", jobs.KindCall, ids)
	if err != nil {
		t.Fatal(err)
	}
	writes := 0
	for _, e := range exp {
		key := crm.Key("contoso", crm.KindCall, strings.ToLower(e.id))
		a, ok := ours[key]
		if !e.write {
			if ok {
				t.Errorf("call %s was written, want %s", e.id, e.reason)
			}
			l := ledger[strings.ToLower(e.id)]
			if got := string(l.State) + "/" + l.Reason; got != e.reason {
				t.Errorf("call %s ledger %s, want %s", e.id, got, e.reason)
			}
			continue
		}
		writes++
		if !ok {
			t.Errorf("call %s not written (ledger %+v)", e.id, ledger[strings.ToLower(e.id)])
			continue
		}
		act := a.Activity
		if act.Subject != e.subject || act.Direction != e.direction || act.OwnerID != e.owner || act.UserID != e.owner || a.Open != e.open {
			t.Errorf("call %s: subject %q dir %s owner %q user %q open %v; want %q %s %q open %v",
				e.id, act.Subject, act.Direction, act.OwnerID, act.UserID, a.Open, e.subject, e.direction, e.owner, e.open)
		}
		if (act.Regarding == nil) != (e.regarding == nil) || (e.regarding != nil && *act.Regarding != *e.regarding) {
			t.Errorf("call %s regarding %v, want %v", e.id, act.Regarding, e.regarding)
		}
		if e.open && act.StatusReason != 3 {
			t.Errorf("call %s open with status %d, want 3", e.id, act.StatusReason)
		}
		if act.Start.Location() != time.UTC || !strings.HasPrefix(act.Number, "+358") {
			t.Errorf("call %s start %v number %q: want UTC and E.164", e.id, act.Start, act.Number)
		}
		if l := ledger[strings.ToLower(e.id)]; l.State != store.Written || l.CRMID != a.ID {
			t.Errorf("call %s ledger %+v, want written with CRM id %s", e.id, l, a.ID)
		}
	}
	if len(ours) != writes {
		t.Errorf("callsync wrote %d activities, want %d", len(ours), writes)
	}
}

func TestKilledMidBatchCompletesOnceOnNextRun(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 30; i++ {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute))
	}
	w.syncer.WriteBatch = 10
	w.syncer.WriteConcurrency = 1 // the kill lands in the second batch, the third not started
	ctx, cancel := context.WithCancel(context.Background())
	var writes atomic.Int32
	w.crm.OnWrite(func(crm.Activity) {
		if writes.Add(1) == 15 {
			cancel() // killed in the middle of the second batch
		}
	})
	if _, err := w.syncer.RunCalls(ctx, w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("a cancelled run reported success")
	}
	// Empty chunks before the calls may advance it; the chunk with the
	// calls did not finish, so the watermark stays before it.
	if wm, ok, _ := w.store.Watermark(context.Background(), "contoso", jobs.StreamCalls); ok && wm.After(day) {
		t.Fatalf("watermark moved to %v although the window with the calls did not finish", wm)
	}
	got := len(w.ours())
	if got < 10 || got >= 30 {
		t.Fatalf("after the kill %d written, want a partial batch", got)
	}
	w.crm.OnWrite(nil)
	w.now = w.now.Add(time.Minute)
	w.runCalls(context.Background())
	if n := len(w.ours()); n != 30 {
		t.Fatalf("after the second run %d written, want 30 exactly once", n)
	}
}

func TestEnreachErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("401 is a clear error and moves nothing", func(t *testing.T) {
		w := newWorld(t)
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Hour), time.Second, time.Minute))
		w.en.Fail(enreachtest.Fault{Path: "/calls", Status: http.StatusUnauthorized})
		_, err := w.syncer.RunCalls(ctx, w.tenant, jobs.SyncOptions{})
		var se *enreach.StatusError
		if err == nil || !errors.As(err, &se) || se.Status != 401 {
			t.Fatalf("err = %v, want an Enreach 401", err)
		}
		if strings.Contains(err.Error(), w.en.Secret) {
			t.Fatal("the error shows the secret key")
		}
		// The tenant once, at the front ("contoso calls: ..."), not again
		// inside the chain; "@contoso.example" is the API user.
		if n := strings.Count(err.Error(), "contoso ") + strings.Count(err.Error(), "contoso:"); n != 1 {
			t.Fatalf("err = %q names the tenant %d times, want once", err, n)
		}
		if _, ok, _ := w.store.Watermark(ctx, "contoso", jobs.StreamCalls); ok {
			t.Fatal("watermark moved after a 401")
		}
		w.runCalls(ctx) // credentials fine again: the call arrives
		if len(w.ours()) != 1 {
			t.Fatal("call lost after a 401")
		}
	})
	for _, status := range []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status)+" is retried", func(t *testing.T) {
			w := newWorld(t)
			w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Hour), time.Second, time.Minute))
			w.en.Fail(enreachtest.Fault{Path: "/calls", Status: status, RetryAfter: time.Millisecond})
			w.en.Fail(enreachtest.Fault{Path: "/servicecall", Status: status})
			w.runCalls(ctx)
			if len(w.ours()) != 1 {
				t.Fatal("call lost")
			}
			if n := w.en.RequestsTo("", "/calls"); n < 2 {
				t.Fatalf("/calls requested %d times, want a retry", n)
			}
		})
	}
	t.Run("a CRM write failure is retried by the next run", func(t *testing.T) {
		w := newWorld(t)
		c := enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Hour), time.Second, time.Minute)
		w.en.AddCalls(c, enreachtest.DirectCall(w.alice, "+358912345678", false, day.Add(2*time.Hour), time.Second, time.Minute))
		// Fails twice: once in the window pass, once in the run's retry pass.
		w.crm.FailKey(crm.Key("contoso", crm.KindCall, strings.ToLower(c.CallID)), 2, errors.New("server busy"))
		sum := w.runCalls(ctx)
		if sum.Failed != 2 || len(w.ours()) != 1 {
			t.Fatalf("first run %+v, want 1 written and the other failed twice", sum)
		}
		l, _ := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{strings.ToLower(c.CallID)})
		if e := l[strings.ToLower(c.CallID)]; e.State != store.Failed || e.Attempts != 2 || !strings.Contains(e.LastError, "server busy") {
			t.Fatalf("ledger %+v, want failed after 2 attempts with the error", e)
		}
		w.now = w.now.Add(time.Minute)
		w.runCalls(ctx)
		if len(w.ours()) != 2 {
			t.Fatal("failed write not retried")
		}
	})
}

func TestCatchUpAfterOutageFromWatermark(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.runCalls(ctx) // first run: watermark at now
	// Two days down; calls kept coming.
	for i := 0; i < 48; i++ {
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(time.Duration(i)*time.Hour), time.Second, time.Minute))
	}
	w.now = w.now.Add(49 * time.Hour)
	w.runCalls(ctx)
	if n := len(w.ours()); n != 48 {
		t.Fatalf("caught up %d calls, want 48", n)
	}
	wm, _, _ := w.store.Watermark(ctx, "contoso", jobs.StreamCalls)
	if !wm.Equal(w.now.Truncate(time.Second)) {
		t.Fatalf("watermark %v, want %v", wm, w.now)
	}
	if got := w.en.RequestsTo("", "/calls"); got < 9 {
		t.Fatalf("/calls requested %d times: the outage was not read in chunks", got)
	}
}

// The audit text is the record's JSON only for a CRM that writes it (its
// audit_field set); with none it is the short text, which no client writes
// either, and a configuration that cannot tell keeps enable_audit's text.
func TestAuditTextFollowsTheAuditField(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts any
		json bool
	}{
		{"dynamics audit_field", &dynamics.Config{AuditField: "new_enreachapiaudit"}, true},
		{"dynamics no audit_field", &dynamics.Config{}, false},
		{"salesforce audit_field", &salesforce.Config{AuditField: "Audit__c"}, true},
		{"salesforce no audit_field", &salesforce.Config{}, false},
		{"zoho audit_field", func() *zoho.Config { z := zoho.DefaultConfig(); z.AuditField = "Audit"; return &z }(), true},
		{"zoho no audit_field", func() *zoho.Config { z := zoho.DefaultConfig(); return &z }(), false},
		{"no options", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			cfg := w.tenant.Config()
			if tt.opts != nil {
				cfg.CRM.Options = config.NewCRMOptions(tt.opts)
			}
			w.tenant.SetConfig(cfg)
			in := enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Hour), time.Second, time.Minute)
			w.en.AddCalls(in)
			w.runCalls(ctx)
			got := w.ours()
			if len(got) != 1 {
				t.Fatalf("%d activities written, want 1", len(got))
			}
			for _, a := range got {
				short := "CallId is " + in.CallID
				if tt.json && (a.Activity.Audit == short || !json.Valid([]byte(a.Activity.Audit))) {
					t.Errorf("audit %q, want the record's JSON", a.Activity.Audit)
				}
				if !tt.json && a.Activity.Audit != short {
					t.Errorf("audit %q, want %q", a.Activity.Audit, short)
				}
			}
		})
	}
}

// Zoho's record_incoming/record_outgoing are decided before any lookup: the
// call is skipped as not_recorded and the CRM is not asked about it.
func TestNotRecordedIsDecidedBeforeLookups(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	cfg := w.tenant.Config()
	cfg.CRM.Type = "zoho"
	z := zoho.DefaultConfig()
	z.Module = "Calls"
	z.RecordIncoming, z.RecordOutgoing = false, true
	cfg.CRM.Options = config.NewCRMOptions(&z)
	w.tenant.SetConfig(cfg)
	in := enreachtest.DirectCall(w.alice, "+358401111111", false, day.Add(time.Hour), time.Second, time.Minute)
	w.en.AddCalls(in)
	before := w.crm.Requests()
	sum := w.runCalls(ctx)
	if sum.Skipped[jobs.ReasonNotRecorded] != 1 || len(w.ours()) != 0 {
		t.Fatalf("summary %+v, %d written; want the inbound call skipped as not_recorded", sum, len(w.ours()))
	}
	if n := w.crm.Requests() - before; n != 0 {
		t.Errorf("%d CRM requests for a call that is not recorded, want 0", n)
	}
	l, _ := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{strings.ToLower(in.CallID)})
	if e := l[strings.ToLower(in.CallID)]; e.State != store.Skipped || e.Reason != jobs.ReasonNotRecorded {
		t.Fatalf("ledger %+v, want skipped/not_recorded", e)
	}
}

// The CRM users of every Enreach user are looked up together, once: an
// agent first heard of in a later cycle costs no CRM request (batch-first).
func TestUsersMappedTogether(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(-30*time.Minute), 5*time.Second, time.Minute))
	if sum := w.runCalls(ctx); sum.Written != 1 {
		t.Fatalf("first cycle: %+v", sum)
	}
	if n := w.crm.Calls(crmtest.MethodUsers); n != 1 {
		t.Fatalf("first cycle: %d user lookups, want 1", n)
	}
	w.now = w.now.Add(time.Minute)
	w.en.AddCalls(enreachtest.DirectCall(w.bob, "+358403333333", false, w.now.Add(-2*time.Minute), 5*time.Second, time.Minute))
	if sum := w.runCalls(ctx); sum.Written != 1 {
		t.Fatalf("second cycle: %+v", sum)
	}
	if n := w.crm.Calls(crmtest.MethodUsers); n != 1 {
		t.Errorf("bob's first call looked users up again: %d lookups, want 1", n)
	}
}
