package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

// Freshness of the phone directory across cycles: a changed number links
// from the new number only, a deleted contact is never written to, a
// contact created after the last sync is linked through the live lookup.
// With a crowd of 70 other customers calling in every cycle, the
// directory's lookups are large enough for it to memoize its answers
// between them (a backfill's windows): each sync ends them.
func TestPhoneDirectoryFreshness(t *testing.T) {
	for _, crowd := range []int{0, 70} {
		t.Run(fmt.Sprintf("crowd %d", crowd), func(t *testing.T) { testPhoneDirectoryFreshness(t, crowd) })
	}
}

func testPhoneDirectoryFreshness(t *testing.T, crowd int) {
	ctx := context.Background()
	w := newWorld(t)
	for i := range crowd {
		w.crm.AddCustomer(crm.Contact, fmt.Sprintf("Crowd %d", i), map[string]string{"mobilephone": fmt.Sprintf("+3584077000%02d", i)}, "", nil)
	}
	clock := func() time.Time { return w.now }
	lister := crmtest.NewLister(w.crm, 2, clock)
	dir := phonedir.New(w.store, lister, phonedir.Options{Tenant: "contoso", Region: "FI", Now: clock})
	m := match.New(w.crm, match.Options{Region: "FI", Directory: dir})
	w.tenant = jobs.NewTenant(w.tenant.Config(), w.tenant.Enreach, w.crm, m)
	w.tenant.Phones = dir

	call := func(number string) string {
		c := enreachtest.DirectCall(w.alice, number, false, w.now.Add(-2*time.Minute), 5*time.Second, time.Minute)
		w.en.AddCalls(c)
		return c.CallID
	}
	var crowdCalls []string
	runCalls := func() {
		t.Helper()
		for i := range crowd {
			crowdCalls = append(crowdCalls, call(fmt.Sprintf("+3584077000%02d", i)))
		}
		w.runCalls(ctx)
	}
	state := func(id string) store.LedgerEntry {
		t.Helper()
		rows, err := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		return rows[id]
	}
	regarding := func(id string) *crm.Ref {
		for _, a := range w.crm.Written() {
			if a.Activity.EnreachID == id {
				return a.Activity.Regarding
			}
		}
		return nil
	}

	// Cycle 1: the first sync loads the directory; the contact's call is
	// linked from it, without a live lookup.
	first := call("+358401111111")
	runCalls()
	if r := regarding(first); r == nil || r.ID != w.contact {
		t.Fatalf("first call linked to %v, want contact %s", r, w.contact)
	}
	if n := w.crm.Calls(crmtest.MethodLookup); n != 0 {
		t.Fatalf("%d live lookups for a number the directory holds", n)
	}

	// The contact's number changes in the CRM; the next cycle links a call
	// from the new number and none from the old one.
	w.now = w.now.Add(time.Minute)
	lister.SetPhones(crm.Ref{Entity: crm.Contact, ID: w.contact}, map[string]string{"mobilephone": "+358 50 444 4444"})
	w.now = w.now.Add(time.Minute)
	fromNew, fromOld := call("+358504444444"), call("+358401111111")
	runCalls()
	if r := regarding(fromNew); r == nil || r.ID != w.contact {
		t.Fatalf("call from the new number linked to %v, want contact %s", r, w.contact)
	}
	if r := regarding(fromOld); r != nil {
		t.Fatalf("call from the old number linked to %v", r)
	}
	if st := state(fromOld); st.State != store.Unresolved {
		t.Fatalf("call from the old number: %s/%s, want unresolved", st.State, st.Reason)
	}

	// The lead is deleted in the CRM: the next cycle never writes to it.
	w.now = w.now.Add(time.Minute)
	lister.Delete(crm.Ref{Entity: crm.Lead, ID: w.lead})
	w.now = w.now.Add(time.Minute)
	toDeleted := call("+358403333333")
	runCalls()
	if r := regarding(toDeleted); r != nil {
		t.Fatalf("call linked to %v after the lead was deleted", r)
	}
	if st := state(toDeleted); st.State != store.Unresolved {
		t.Fatalf("call to the deleted lead: %s/%s, want unresolved", st.State, st.Reason)
	}

	// A contact created after the last sync (the directory is not synced
	// again within the cycle interval) is linked through the live lookup,
	// and enters the directory.
	w.now = w.now.Add(10 * time.Second)
	created := w.crm.AddCustomer(crm.Contact, "New Customer", map[string]string{"telephone1": "+358405555555"}, "", nil)
	fresh := call("+358405555555")
	lookups := w.crm.Calls(crmtest.MethodLookup)
	runCalls()
	if r := regarding(fresh); r == nil || r.ID != created {
		t.Fatalf("call from a contact created after the sync linked to %v, want %s", r, created)
	}
	if w.crm.Calls(crmtest.MethodLookup) == lookups {
		t.Fatal("no live lookup for a number the directory did not hold")
	}
	if recs, err := dir.Lookup(ctx, []string{"+358405555555"}); err != nil || len(recs["+358405555555"]) != 1 {
		t.Fatalf("the live hit did not enter the directory: %v %v", recs, err)
	}
	for _, id := range crowdCalls {
		if st := state(id); st.State != store.Written {
			t.Fatalf("crowd call %s: %s/%s, want written", id, st.State, st.Reason)
		}
	}
}

// A cycle matches right after its directory sync: a caller the directory
// does not hold then has no CRM record, so no live lookup is made for it
// (in this cycle, nor when the overlap reads its call again next cycle);
// the call stays unresolved and is matched again after the next sync. With
// NumbersToCut (a suffix search the directory cannot answer) a miss still
// goes live.
func TestPhoneDirectoryCurrentMissNoLiveLookup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cut     int
		lookups bool
	}{{"exact", 0, false}, {"numbers to cut", 7, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			clock := func() time.Time { return w.now }
			dir := phonedir.New(w.store, crmtest.NewLister(w.crm, 2, clock), phonedir.Options{Tenant: "contoso", Region: "FI", Now: clock})
			m := match.New(w.crm, match.Options{Region: "FI", Directory: dir, NumbersToCut: tc.cut})
			w.tenant = jobs.NewTenant(w.tenant.Config(), w.tenant.Enreach, w.crm, m)
			w.tenant.Phones = dir

			known := enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(-2*time.Minute), 5*time.Second, time.Minute)
			unknown := enreachtest.DirectCall(w.alice, "+358409876543", false, w.now.Add(-90*time.Second), 5*time.Second, time.Minute)
			w.en.AddCalls(known, unknown)
			w.runCalls(ctx)
			w.now = w.now.Add(time.Minute)
			w.runCalls(ctx) // the overlap reads the unknown caller's call again
			if got := w.crm.Calls(crmtest.MethodLookup) > 0; got != tc.lookups {
				t.Fatalf("live lookups made: %v (%d), want %v", got, w.crm.Calls(crmtest.MethodLookup), tc.lookups)
			}
			rows, err := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{known.CallID, unknown.CallID})
			if err != nil {
				t.Fatal(err)
			}
			if st := rows[known.CallID].State; st != store.Written {
				t.Fatalf("known caller's call: %s, want written", st)
			}
			if st := rows[unknown.CallID]; st.State != store.Unresolved || st.Reason != jobs.ReasonNoMatch {
				t.Fatalf("unknown caller's call: %s/%s, want unresolved/%s", st.State, st.Reason, jobs.ReasonNoMatch)
			}
		})
	}
}
