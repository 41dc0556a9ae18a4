package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

func TestCallbackPollingWritesOneOpenActivityPerRequest(t *testing.T) {
	w := newCBWorld(t)
	known := w.request(w.salesList, "040 111 1111", 10) // national format
	twins := w.request(w.salesList, numTwins, 9)
	unknown := w.request(w.salesList, numUnknown, 8)
	support := w.request(w.supportList, numContactTwo, 7)
	withheld := w.request(w.salesList, "", 6)

	sum := w.run()
	if sum.Written != 5 || sum.Failed != 0 {
		t.Fatalf("first run: %+v", sum)
	}
	acts := w.activities()
	if len(acts) != 5 {
		t.Fatalf("want 5 activities, got %d", len(acts))
	}
	a := acts[known.ID]
	if !a.Open || a.Activity.Subject != "Callback request" || a.Activity.QueueID != w.salesQueue ||
		a.Activity.RecipientID != w.salesQueue || !a.Activity.RecipientIsQueue || a.Activity.OwnerID != "" {
		t.Errorf("known: %+v open=%v", a.Activity, a.Open)
	}
	if a.Activity.Regarding == nil || *a.Activity.Regarding != (crm.Ref{Entity: crm.Contact, ID: w.contact}) {
		t.Errorf("known: regarding %v, want the contact", a.Activity.Regarding)
	}
	if a.Activity.Number != numContact || a.Activity.Direction != crm.Inbound {
		t.Errorf("known: number %q direction %q", a.Activity.Number, a.Activity.Direction)
	}
	if a.Activity.Due == nil || !a.Activity.Due.Equal(*known.DueDate) || !a.Activity.Start.Equal(known.CreatedTime) {
		t.Errorf("known: due %v start %v", a.Activity.Due, a.Activity.Start)
	}
	if a.Activity.Key != crm.Key("contoso", crm.KindCallback, strings.ToLower(known.ID)) {
		t.Errorf("key %q", a.Activity.Key)
	}
	for _, want := range []string{"Callback request " + known.ID, "Please call me about my order", "Caller 040 111 1111"} {
		if !strings.Contains(a.Activity.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, a.Activity.Description)
		}
	}

	tw := acts[twins.ID]
	if tw.Activity.Regarding != nil || len(tw.Activity.Related) != 2 || tw.Activity.StatusReason != 1 ||
		!strings.Contains(tw.Activity.Description, "several CRM records") {
		t.Errorf("twins: multiple matches must be written unlinked with both related: %+v", tw.Activity)
	}
	if len(tw.Activity.Related) == 2 && (tw.Activity.Related[0].ID != w.twinA || tw.Activity.Related[1].ID != w.twinB) {
		t.Errorf("twins: related %v", tw.Activity.Related)
	}
	un := acts[unknown.ID]
	if un.Activity.Regarding != nil || !un.Open || !strings.Contains(un.Activity.Description, "no CRM record") {
		t.Errorf("unknown number must still reach the queue, unlinked: %+v", un.Activity)
	}
	if s := acts[support.ID].Activity; s.Subject != "Support callback" || s.QueueID != w.supportQueue {
		t.Errorf("support profile: subject %q queue %q", s.Subject, s.QueueID)
	}
	if wh := acts[withheld.ID]; !wh.Open || wh.Activity.Number != "" {
		t.Errorf("withheld number: %+v", wh.Activity)
	}
	if e := w.ledger(known.ID); e.State != store.Written || e.Reason != store.CallbackOpen || e.CRMID != a.ID {
		t.Errorf("ledger: %+v", e)
	}

	// The next minute re-reads the window: nothing is written twice.
	writes := w.mem.Calls(crmtest.MethodWriteActivities)
	w.now = w.now.Add(time.Minute)
	sum = w.run()
	if sum.Written != 0 || sum.Already != 5 || w.mem.Calls(crmtest.MethodWriteActivities) != writes {
		t.Fatalf("second run wrote again: %+v", sum)
	}
	wm, ok, err := w.store.Watermark(context.Background(), "contoso", jobs.StreamCallbacks("sales"))
	if err != nil || !ok || !wm.Equal(w.now) {
		t.Errorf("watermark %v %v %v, want %v", wm, ok, err, w.now)
	}
}

func TestCallbackWebhookProfilesAreNotPolled(t *testing.T) {
	w := newCBWorld(t)
	w.request(w.webList, numContact, 5)
	mixed := w.request(w.mixedList, numContact, 5)
	w.run()
	acts := w.activities()
	if len(acts) != 1 {
		t.Fatalf("want only the webhook_and_polling request polled, got %d activities", len(acts))
	}
	if _, ok := acts[mixed.ID]; !ok {
		t.Fatal("webhook_and_polling request was not polled")
	}
	for _, r := range w.en.Log() {
		if r.Path == "/callbacks" && strings.EqualFold(r.Values().Get("CallbackListId"), w.webList) {
			t.Fatal("a webhook-only profile was polled")
		}
	}
}

func TestCallbackMalformedRecordsAreQuarantined(t *testing.T) {
	w := newCBWorld(t)
	good := w.request(w.salesList, numContact, 5)
	w.en.AddRaw("/callbacks", []byte(`{"ContactNumber":"+358401111111","CreatedTime":"2026-03-29 19:50:00"}`))
	sum := w.run()
	if sum.Quarantined == 0 {
		t.Fatalf("nothing quarantined: %+v", sum)
	}
	if _, ok := w.activities()[good.ID]; !ok {
		t.Fatal("a malformed record stopped the good one")
	}
	n, err := w.store.QuarantineCount(context.Background(), "contoso")
	if err != nil || n == 0 {
		t.Fatalf("quarantine count %d %v", n, err)
	}
}

func TestCallbackProfileChangeTakesEffectNextCycle(t *testing.T) {
	w := newCBWorld(t)
	w.setProfile("sales", func(p *config.Profile) { p.Active = false })
	cb := w.request(w.salesList, numContact, 5)
	before := w.en.RequestsTo("", "/callbacks")
	w.run()
	if len(w.activities()) != 0 {
		t.Fatal("an inactive profile was processed")
	}
	// support (active, empty list) is still polled; sales is not.
	polled := 0
	for _, r := range w.en.Log() {
		if r.Path == "/callbacks" && strings.EqualFold(r.Values().Get("CallbackListId"), w.salesList) {
			polled++
		}
	}
	if polled != 0 || w.en.RequestsTo("", "/callbacks") == before {
		t.Fatalf("sales polled %d times; /callbacks requests %d -> %d", polled, before, w.en.RequestsTo("", "/callbacks"))
	}
	w.setProfile("sales", func(p *config.Profile) { p.Active = true; p.Subject = "Reactivated" })
	w.now = w.now.Add(time.Minute)
	w.run()
	a, ok := w.activities()[cb.ID]
	if !ok || a.Activity.Subject != "Reactivated" {
		t.Fatalf("reactivated profile not processed with its new subject: %+v", a.Activity)
	}
}

func TestSyncCallbacksOnce(t *testing.T) {
	w := newCBWorld(t)
	web := w.request(w.webList, numContact, 5)
	sales := w.request(w.salesList, numContact, 5)
	ctx := context.Background()
	if _, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "nope", jobs.SyncOptions{}); err == nil {
		t.Error("unknown profile accepted")
	}
	sum, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "web", jobs.SyncOptions{DryRun: true})
	if err != nil || sum.WouldWrite != 1 || len(w.activities()) != 0 {
		t.Fatalf("dry run: %+v %v, %d written", sum, err, len(w.activities()))
	}
	if _, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "web", jobs.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	acts := w.activities()
	if _, ok := acts[web.ID]; !ok || len(acts) != 1 {
		t.Fatalf("manual pass of one profile: %d activities", len(acts))
	}
	if _, ok := acts[sales.ID]; ok {
		t.Error("another profile was processed")
	}
	w.setProfile("web", func(p *config.Profile) { p.Active = false })
	if _, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "web", jobs.SyncOptions{}); err == nil {
		t.Error("inactive profile accepted")
	}
}
