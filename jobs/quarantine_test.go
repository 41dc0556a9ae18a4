package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// A queue call whose service call record was quarantined was processed from
// its user call event alone (a direct call, no match). Once the service
// call record decodes, re-driving it merges it with the stored call: one
// queue call, written once, and the record leaves the quarantine.
func TestRedriveMergesAQuarantinedServiceCallWithTheStoredCall(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	start := day.Add(9 * time.Hour)
	sc, leg := enreachtest.QueueCall(w.sales, &w.alice, "+358405555555", start, 10*time.Second, time.Minute)
	// The answering user is known from the user call event only.
	sc.AnsweredByUserID = ""
	w.en.AddCalls(*leg)
	win := enreach.Window{From: day, To: day.Add(24 * time.Hour)}
	if _, err := w.syncer.SyncWindow(ctx, w.tenant, win, jobs.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	id := strings.ToLower(sc.CallID)
	before, _ := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{id})
	if before[id].State != store.Unresolved {
		t.Fatalf("ledger before: %+v", before[id])
	}
	// The service call record as Enreach sends it, quarantined.
	w.en.AddServiceCalls(sc)
	scs, _, err := w.tenant.Enreach.ServiceCalls(ctx, win)
	if err != nil || len(scs) != 1 {
		t.Fatalf("service calls %v %v", scs, err)
	}
	if _, err := w.store.Quarantine(ctx, []store.Quarantined{{Tenant: "contoso", Source: jobs.SourceServiceCalls, RecordID: sc.CallID, Reason: "was unreadable", Raw: scs[0].Raw}}); err != nil {
		t.Fatal(err)
	}
	w.crm.AddCustomer("contact", "New Customer", map[string]string{"mobilephone": "+358405555555"}, "", nil)
	recs, _ := w.store.QuarantinedRecords(ctx, "contoso", time.Time{})

	sum, res, err := w.syncer.RedriveQuarantined(ctx, w.tenant, w.store, recs, jobs.SyncOptions{})
	if err != nil || sum.Written != 1 || res.Released != 1 || res.StillTotal() != 0 {
		t.Fatalf("redrive: %v %+v %+v", err, sum, res)
	}
	after, _ := w.store.Ledger(ctx, "contoso", jobs.KindCall, []string{id})
	ws := w.crm.Written()
	if after[id].State != store.Written || len(ws) != 1 || ws[0].Activity.Subject != "Incoming queue call" || ws[0].Activity.QueueName != w.sales.Name ||
		ws[0].Activity.OwnerID != w.crmAlice {
		t.Fatalf("ledger after: %+v; written %+v", after[id], ws)
	}
	if n, _ := w.store.QuarantineCount(ctx, "contoso"); n != 0 {
		t.Fatalf("%d records still quarantined", n)
	}
	// The same records again (a repeated retry): nothing is written twice.
	sum, _, err = w.syncer.RedriveQuarantined(ctx, w.tenant, w.store, recs, jobs.SyncOptions{})
	if err != nil || sum.Written != 0 || len(w.crm.Written()) != 1 {
		t.Fatalf("second redrive: %v %+v, %d activities", err, sum, len(w.crm.Written()))
	}
}

// A quarantined callback request goes through its profile's callback path
// once it decodes; one of an inactive profile and one that still does not
// decode stay, the latter with its new reason.
func TestRedriveQuarantinedCallbacks(t *testing.T) {
	w := newCBWorld(t)
	ctx := context.Background()
	cb := w.request(w.salesList, numContact, 5)
	got, _, err := w.tenant.Enreach.(jobs.CallbackSource).Callbacks(ctx, w.salesList, enreach.Window{From: cbDay, To: w.now})
	if err != nil || len(got) != 1 {
		t.Fatalf("callbacks %v %v", got, err)
	}
	if _, err := w.store.Quarantine(ctx, []store.Quarantined{
		{Tenant: "contoso", Source: jobs.StreamCallbacks("sales"), RecordID: cb.ID, Reason: "was unreadable", Raw: got[0].Raw},
		{Tenant: "contoso", Source: jobs.StreamCallbacks("sales"), Reason: "old reason", Raw: []byte(`{"ContactNumber":"+358401111111"}`)},
		{Tenant: "contoso", Source: jobs.StreamCallbacks("gone"), RecordID: "x", Reason: "was unreadable", Raw: got[0].Raw},
	}); err != nil {
		t.Fatal(err)
	}
	recs, _ := w.store.QuarantinedRecords(ctx, "contoso", time.Time{})

	sum, res, err := w.syncer.RedriveQuarantined(ctx, w.tenant, w.store, recs, jobs.SyncOptions{DryRun: true})
	if err != nil || sum.WouldWrite != 1 || res.Released != 1 || len(w.activities()) != 0 {
		t.Fatalf("dry run: %v %+v %+v", err, sum, res)
	}
	if dry, _ := w.store.QuarantinedRecords(ctx, "contoso", time.Time{}); len(dry) != 3 || dry[1].Reason != "old reason" {
		t.Fatalf("a dry run changed the quarantine: %+v", dry)
	}
	sum, res, err = w.syncer.RedriveQuarantined(ctx, w.tenant, w.store, recs, jobs.SyncOptions{})
	if err != nil || sum.Written != 1 || res.Released != 1 || res.StillTotal() != 2 {
		t.Fatalf("redrive: %v %+v %+v", err, sum, res)
	}
	if _, ok := w.activities()[cb.ID]; !ok {
		t.Fatal("the callback request was not written")
	}
	left, _ := w.store.QuarantinedRecords(ctx, "contoso", time.Time{})
	if len(left) != 2 || left[0].Reason == "old reason" || left[1].Source != jobs.StreamCallbacks("gone") {
		t.Fatalf("left in quarantine: %+v", left)
	}
}
