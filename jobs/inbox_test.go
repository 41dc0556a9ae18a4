package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/server"
	"github.com/callsync/callsync/store"
)

// startWebhook serves the receiver on the world's current store and returns
// the tenant's webhook URL.
func (w *cbWorld) startWebhook() string {
	mux := http.NewServeMux()
	server.NewWebhook(w.reg, w.store, server.WebhookOptions{Now: func() time.Time { return w.now }}).Register(mux)
	srv := httptest.NewServer(mux)
	w.t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/enreach/contoso"
}

// send delivers d as Enreach does and returns the status and body.
func (w *cbWorld) send(url string, d enreach.Delivery) (int, string) {
	w.t.Helper()
	status, body, err := w.en.SendWebhook(context.Background(), url, cbToken, d)
	if err != nil {
		w.t.Fatal(err)
	}
	return status, string(body)
}

// accept sends d and requires a 200 with the given status word.
func (w *cbWorld) accept(url string, d enreach.Delivery, want string) {
	w.t.Helper()
	status, body := w.send(url, d)
	if status != http.StatusOK || !strings.Contains(body, `"status":"`+want+`"`) {
		w.t.Fatalf("delivery %s %s: %d %s, want 200 %s", d.EventType, d.ID, status, body, want)
	}
}

func (w *cbWorld) drain() int {
	w.t.Helper()
	n, err := w.syncer.DrainInbox(context.Background(), w.reg, 0)
	if err != nil {
		w.t.Fatalf("DrainInbox: %v", err)
	}
	return n
}

// inbox returns a delivery's state and reason.
func (w *cbWorld) inbox(deliveryID string) (state store.InboxState, reason string) {
	w.t.Helper()
	err := w.store.DB().QueryRow(`SELECT state, reason FROM webhook_inbox WHERE tenant = 'contoso' AND delivery_id = ?`,
		strings.ToLower(deliveryID)).Scan(&state, &reason)
	if err != nil {
		w.t.Fatalf("inbox %s: %v", deliveryID, err)
	}
	return state, reason
}

func created(cb enreach.Callback) enreach.Delivery {
	return enreachtest.NewCallbackDelivery(enreach.EventCallbackCreated, cb)
}

func TestWebhookEachSyncMethod(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	web := w.request(w.webList, numContact, 5)
	mixed := w.request(w.mixedList, numContactTwo, 5)
	polled := w.request(w.salesList, numUnknown, 5)
	stray := enreach.Callback{ID: enreachtest.NewID(), CallbackListID: enreachtest.NewID(), ContactNumber: numContact}

	dWeb, dMixed, dPolled, dStray := created(web), created(mixed), created(polled), created(stray)
	w.accept(url, dWeb, "accepted")
	w.accept(url, dMixed, "accepted")
	w.accept(url, dPolled, "ignored")
	w.accept(url, dStray, "ignored")
	if st, r := w.inbox(dPolled.ID); st != store.InboxIgnored || r != jobs.ReasonPollingOnly {
		t.Errorf("polling profile delivery: %s %s", st, r)
	}
	if st, r := w.inbox(dStray.ID); st != store.InboxIgnored || r != jobs.ReasonUnknownList {
		t.Errorf("unknown list delivery: %s %s", st, r)
	}
	if n := w.drain(); n != 2 {
		t.Fatalf("drained %d deliveries, want 2", n)
	}
	acts := w.activities()
	if len(acts) != 2 || acts[web.ID].ID == "" || acts[mixed.ID].ID == "" {
		t.Fatalf("after the drain: %d activities", len(acts))
	}
	if a := acts[web.ID].Activity; a.Regarding == nil || a.Regarding.ID != w.contact || !acts[web.ID].Open {
		t.Errorf("webhook request: %+v", a)
	}
	for _, d := range []enreach.Delivery{dWeb, dMixed} {
		if st, _ := w.inbox(d.ID); st != store.InboxProcessed {
			t.Errorf("delivery %s: %s", d.ID, st)
		}
	}

	// The polling pass writes the polling profile's request, finds the
	// webhook_and_polling one done, and does not poll the webhook profile.
	sum := w.run()
	acts = w.activities()
	if len(acts) != 3 || acts[polled.ID].ID == "" {
		t.Fatalf("after polling: %d activities", len(acts))
	}
	if sum.Written != 1 || sum.Already != 1 {
		t.Errorf("poll summary %+v", sum)
	}
	if w.drain() != 0 {
		t.Error("the inbox was not empty")
	}
	counts, err := w.store.InboxCounts(context.Background(), "contoso")
	if err != nil || counts[store.InboxProcessed] != 2 || counts[store.InboxIgnored] != 2 || counts[store.InboxPending] != 0 {
		t.Errorf("inbox counts %v %v", counts, err)
	}
}

func TestWebhookReplayIsNotProcessedAgain(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	d := created(w.request(w.webList, numContact, 5))
	w.accept(url, d, "accepted")
	w.accept(url, d, "duplicate")
	if n := w.drain(); n != 1 {
		t.Fatalf("drained %d", n)
	}
	w.accept(url, d, "duplicate") // after processing too
	if n := w.drain(); n != 0 {
		t.Fatalf("a replay was processed again (%d)", n)
	}
	if len(w.activities()) != 1 || w.mem.Calls(crmtest.MethodWriteActivities) != 1 {
		t.Fatalf("%d activities, %d write calls", len(w.activities()), w.mem.Calls(crmtest.MethodWriteActivities))
	}
}

func TestWebhookLostBySenderCaughtByPolling(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	cb := w.request(w.mixedList, numContact, 3) // its webhook never arrives
	w.run()
	acts := w.activities()
	if _, ok := acts[cb.ID]; !ok || len(acts) != 1 {
		t.Fatal("the polling backup did not catch the lost webhook's request")
	}
	// The sender's late delivery changes nothing.
	w.accept(url, created(cb), "accepted")
	w.drain()
	if len(w.mem.Written()) != 1 || w.mem.Calls(crmtest.MethodWriteActivities) != 1 {
		t.Fatal("the late webhook wrote again")
	}
}

func TestWebhookKilledBetweenReceiptAndProcessing(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	a := w.request(w.webList, numContact, 5)
	b := w.request(w.webList, numUnknown, 4)
	w.accept(url, created(a), "accepted")
	w.accept(url, created(b), "accepted")
	upd := enreachtest.NewCallbackDelivery(enreach.EventCallbackUpdated, a)
	w.accept(url, upd, "accepted")
	if len(w.mem.Written()) != 0 {
		t.Fatal("the receiver wrote to the CRM")
	}

	// The worker dies before draining: the store is closed, reopened, and
	// a new syncer starts (the drain at start).
	if err := w.store.Close(); err != nil {
		t.Fatal(err)
	}
	w.openStore()
	w.newSyncer()
	if n := w.drain(); n != 3 {
		t.Fatalf("drained %d after restart, want 3", n)
	}
	acts := w.activities()
	if len(acts) != 2 || acts[a.ID].ID == "" || acts[b.ID].ID == "" {
		t.Fatalf("%d activities after restart", len(acts))
	}
	if w.mem.Calls(crmtest.MethodWriteActivities) != 1 {
		t.Errorf("%d write calls: the drain must batch a profile's requests", w.mem.Calls(crmtest.MethodWriteActivities))
	}
	// Another restart finds nothing to do.
	w.newSyncer()
	if w.drain() != 0 || len(w.mem.Written()) != 2 {
		t.Fatal("processed twice")
	}
}

func TestWebhookKilledMidWriteCompletesOnce(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	cb := w.request(w.webList, numContact, 5)
	d := created(cb)
	w.accept(url, d, "accepted")
	// The CRM takes the write but the answer is lost.
	w.crm.loseAnswers = 1
	n, err := w.syncer.DrainInbox(context.Background(), w.reg, 0)
	if err != nil || n != 1 {
		t.Fatalf("drain: %d %v (the delivery is parked, not lost)", n, err)
	}
	if st, r := w.inbox(d.ID); st != store.InboxProcessed || r != jobs.ReasonDeferred {
		t.Errorf("delivery %s %s", st, r)
	}
	if e := w.ledger(cb.ID); e.State != store.Failed || len(w.mem.Written()) != 1 {
		t.Fatalf("ledger %+v, %d written", e, len(w.mem.Written()))
	}
	// The next callbacks run retries it: the CRM says Existed, no duplicate.
	w.newSyncer()
	w.run()
	if e := w.ledger(cb.ID); e.State != store.Written || e.CRMID == "" {
		t.Fatalf("ledger %+v", e)
	}
	if len(w.mem.Written()) != 1 {
		t.Fatal("written twice")
	}
}

func TestWebhookClosedRequestCompletesActivity(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	cb := w.request(w.webList, numContact, 5)
	w.accept(url, created(cb), "accepted")
	w.drain()
	if !w.activities()[cb.ID].Open {
		t.Fatal("not open")
	}
	closed := w.closeRequest(cb)
	w.accept(url, enreachtest.NewCallbackDelivery(enreach.EventCallbackClosed, closed), "accepted")
	w.drain()
	if w.activities()[cb.ID].Open {
		t.Fatal("the closed event did not complete the activity")
	}
	if e := w.ledger(cb.ID); e.Reason != store.CallbackClosed {
		t.Errorf("ledger %+v", e)
	}

	// Created and Closed waiting in the same drain: one write, completed.
	other := w.request(w.webList, numUnknown, 2)
	w.accept(url, created(other), "accepted")
	w.accept(url, enreachtest.NewCallbackDelivery(enreach.EventCallbackClosed, w.closeRequest(other)), "accepted")
	if n := w.drain(); n != 2 {
		t.Fatalf("drained %d", n)
	}
	a, ok := w.activities()[other.ID]
	if !ok || a.Open {
		t.Fatalf("created+closed in one batch: %+v %v", a, ok)
	}
	if len(w.mem.Written()) != 2 {
		t.Fatalf("%d activities", len(w.mem.Written()))
	}
}

func TestWebhookProfileChangeTakesEffectNextCycle(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	first := created(w.request(w.webList, numContact, 5))
	w.accept(url, first, "accepted")
	// Deactivated between receipt and processing: the drain sees it.
	w.setProfile("web", func(p *config.Profile) { p.Active = false })
	w.drain()
	if st, r := w.inbox(first.ID); st != store.InboxIgnored || r != jobs.ReasonInactive {
		t.Errorf("delivery: %s %s", st, r)
	}
	second := created(w.request(w.webList, numContact, 1))
	w.accept(url, second, "ignored")
	if st, r := w.inbox(second.ID); st != store.InboxIgnored || r != jobs.ReasonInactive {
		t.Errorf("delivery: %s %s", st, r)
	}
	// Switched to polling: webhooks are recorded as ignored, polling writes.
	w.setProfile("web", func(p *config.Profile) { p.Active = true; p.SyncMethod = config.SyncPolling })
	third := created(w.request(w.webList, numUnknown, 1))
	w.accept(url, third, "ignored")
	if _, r := w.inbox(third.ID); r != jobs.ReasonPollingOnly {
		t.Errorf("reason %s", r)
	}
	w.drain()
	if len(w.mem.Written()) != 0 {
		t.Fatal("an ignored delivery was written")
	}
	w.run()
	if len(w.activities()) != 3 {
		t.Fatalf("polling after the change wrote %d", len(w.activities()))
	}
}

func TestWebhookDeferredWhenCRMIsDown(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	cb := w.request(w.webList, numContact, 5)
	d := created(cb)
	w.accept(url, d, "accepted")
	w.mem.FailNext(crmtest.MethodLookup, -1, nil)
	if n := w.drain(); n != 1 {
		t.Fatalf("drained %d", n)
	}
	if st, r := w.inbox(d.ID); st != store.InboxProcessed || r != jobs.ReasonDeferred {
		t.Errorf("delivery %s %s", st, r)
	}
	if e := w.ledger(cb.ID); e.State != store.Failed || e.LastError == "" {
		t.Fatalf("not parked in the ledger: %+v", e)
	}
	w.mem.FailNext(crmtest.MethodLookup, 0, nil)
	w.now = w.now.Add(time.Minute)
	w.run()
	if a, ok := w.activities()[cb.ID]; !ok || a.Activity.Regarding == nil {
		t.Fatalf("retry did not write it linked: %+v", a)
	}
}

func TestWebhookToCRMLatencyIsObserved(t *testing.T) {
	w := newCBWorld(t)
	reg := prometheus.NewRegistry()
	w.syncer.Metrics = jobs.NewMetrics(reg)
	url := w.startWebhook()
	w.accept(url, created(w.request(w.webList, numContact, 5)), "accepted")
	w.accept(url, created(w.request(w.webList, numContactTwo, 5)), "accepted")
	w.now = w.now.Add(3 * time.Second)
	w.drain()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "callsync_webhook_to_crm_seconds" {
			for _, m := range mf.GetMetric() {
				count += m.GetHistogram().GetSampleCount()
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	if count != 2 || sum != 6 {
		t.Fatalf("histogram count %d sum %v, want 2 and 6", count, sum)
	}
}

func TestWebhookDeliveriesOfAHeldTenantWaitUntilItIsReleased(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	d := created(w.request(w.webList, numContact, 5))
	w.reg.Hold("contoso", "preflight failed")
	// Accepted and stored while the tenant is held: nothing is lost.
	w.accept(url, d, "accepted")
	if n := w.drain(); n != 0 {
		t.Fatalf("drained %d deliveries of a held tenant", n)
	}
	if st, _ := w.inbox(d.ID); st != store.InboxPending || len(w.activities()) != 0 {
		t.Fatalf("held tenant: delivery %s, %d activities", st, len(w.activities()))
	}
	w.reg.Release("contoso")
	if n := w.drain(); n != 1 || len(w.activities()) != 1 {
		t.Fatalf("after release: drained %d, %d activities", n, len(w.activities()))
	}
}

// With replicas sharing the store, any replica accepts a delivery into the
// shared inbox, and only the replica running the tenant processes it, once.
func TestWebhookDeliveriesOfATenantRunElsewhereAreLeftToItsReplica(t *testing.T) {
	w := newCBWorld(t)
	url := w.startWebhook()
	d := created(w.request(w.webList, numContact, 5))
	var elsewhere atomic.Bool
	elsewhere.Store(true)
	w.reg.SetElsewhere(func(name string) bool { return name == "contoso" && elsewhere.Load() })
	w.accept(url, d, "accepted")
	if n := w.drain(); n != 0 {
		t.Fatalf("drained %d deliveries of a tenant another replica runs", n)
	}
	if st, _ := w.inbox(d.ID); st != store.InboxPending || len(w.activities()) != 0 {
		t.Fatalf("tenant run elsewhere: delivery %s, %d activities", st, len(w.activities()))
	}
	elsewhere.Store(false) // the tenant's lease moved here
	if n := w.drain(); n != 1 || len(w.activities()) != 1 {
		t.Fatalf("after takeover: drained %d, %d activities", n, len(w.activities()))
	}
	if n := w.drain(); n != 0 || len(w.activities()) != 1 {
		t.Fatalf("drained again: %d, %d activities", n, len(w.activities()))
	}
}
