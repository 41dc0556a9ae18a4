package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

func TestCallbackDuplicateBundle(t *testing.T) {
	w := newCBWorld(t)
	first := w.request(w.salesList, numContact, 30)
	second := w.request(w.salesList, "0401111111", 20) // same number, other format
	other := w.request(w.salesList, numUnknown, 15)
	w.run()
	w.now = w.now.Add(5 * time.Minute)
	third := w.request(w.salesList, numContact, 1)
	w.run()

	acts := w.activities()
	if len(acts) != 4 {
		t.Fatalf("bundle writes every request: got %d", len(acts))
	}
	bundle := "Bundle: " + jobsBundle(acts[first.ID].Activity.Description)
	if bundle == "Bundle: " {
		t.Fatalf("first request has no bundle key:\n%s", acts[first.ID].Activity.Description)
	}
	for _, cb := range []enreach.Callback{first, second, third} {
		a := acts[cb.ID]
		if !a.Open || !strings.Contains(a.Activity.Description, bundle) {
			t.Errorf("%s: open=%v, description lacks %q:\n%s", cb.ID, a.Open, bundle, a.Activity.Description)
		}
	}
	if strings.Contains(acts[other.ID].Activity.Description, bundle) {
		t.Error("another number joined the bundle")
	}
	// Linked both ways: each names all the others, with their CRM ids (the
	// earlier ones were updated when a later one was written).
	for _, cb := range []enreach.Callback{first, second, third} {
		d := acts[cb.ID].Activity.Description
		for _, o := range []enreach.Callback{first, second, third} {
			if o.ID == cb.ID {
				continue
			}
			if !strings.Contains(d, o.ID+" (CRM "+acts[o.ID].ID+")") {
				t.Errorf("%s does not name %s with its CRM id:\n%s", cb.ID, o.ID, d)
			}
		}
		if strings.Contains(d, other.ID) || strings.Contains(d, cb.ID+" (CRM") {
			t.Errorf("%s names another number's request or itself:\n%s", cb.ID, d)
		}
	}
	counts, err := w.store.CallbackCountsByProfile(context.Background(), "contoso", jobs.KindCallback)
	if err != nil {
		t.Fatal(err)
	}
	if c := counts["sales"]; c.Open != 4 || c.Bundled != 3 || c.Ignored != 0 {
		t.Errorf("counts: %+v", c)
	}
	if n := w.mem.Calls(crmtest.MethodUpdateActivities); n != 2 {
		t.Errorf("%d UpdateActivities calls, want 2 (one batch per pass that joined the bundle)", n)
	}

	// Someone completes the first request in the CRM; a fourth request joins
	// the bundle: the first is no longer updated, the others are.
	if res, err := w.mem.CloseActivities(context.Background(), []crm.CloseRequest{{Key: acts[first.ID].Activity.Key, ID: acts[first.ID].ID}}); err != nil || res[0].Status != crm.Created {
		t.Fatalf("close in the CRM: %+v %v", res, err)
	}
	firstDesc := acts[first.ID].Activity.Description
	w.now = w.now.Add(5 * time.Minute)
	fourth := w.request(w.salesList, numContact, 1)
	w.run()
	acts = w.activities()
	if d := acts[first.ID].Activity.Description; d != firstDesc {
		t.Errorf("a request closed in the CRM was updated:\n%s", d)
	}
	if e := w.ledger(first.ID); e.Reason != store.CallbackClosed {
		t.Errorf("first request's ledger %+v, want written/closed", e)
	}
	for _, cb := range []enreach.Callback{second, third} {
		if d := acts[cb.ID].Activity.Description; !strings.Contains(d, fourth.ID) {
			t.Errorf("%s does not name the fourth request:\n%s", cb.ID, d)
		}
	}
	updates := w.mem.Calls(crmtest.MethodUpdateActivities)
	w.now = w.now.Add(time.Minute)
	w.run()
	if n := w.mem.Calls(crmtest.MethodUpdateActivities); n != updates {
		t.Errorf("a pass with nothing new updated %d times", n-updates)
	}
}

func TestCallbackDuplicateIgnore(t *testing.T) {
	w := newCBWorld(t)
	for _, name := range []string{"sales", "support"} {
		w.setProfile(name, func(p *config.Profile) { p.DuplicateHandling = config.DuplicatesIgnore })
	}
	first := w.request(w.salesList, numContact, 30)
	second := w.request(w.salesList, numContact, 20)
	other := w.request(w.salesList, numUnknown, 15)
	// The same number in another profile is another queue: not a duplicate.
	support := w.request(w.supportList, numContact, 10)
	w.run()

	acts := w.activities()
	if len(acts) != 3 {
		t.Fatalf("want 3 activities, got %d", len(acts))
	}
	for _, cb := range []enreach.Callback{first, other, support} {
		if _, ok := acts[cb.ID]; !ok {
			t.Errorf("%s not written", cb.ID)
		}
	}
	if _, ok := acts[second.ID]; ok {
		t.Fatal("the duplicate was written")
	}
	if e := w.ledger(second.ID); e.State != store.Ignored || e.Reason != jobs.ReasonDuplicateOpen {
		t.Errorf("duplicate ledger: %+v", e)
	}
	if strings.Contains(acts[first.ID].Activity.Description, "Bundle") {
		t.Error("ignore must not bundle")
	}
	if o := w.outcome(second.ID); o.State != store.Ignored || o.Reason != jobs.ReasonDuplicateOpen {
		t.Errorf("outcome %+v", o)
	}
	counts, _ := w.store.CallbackCountsByProfile(context.Background(), "contoso", jobs.KindCallback)
	if c := counts["sales"]; c.Ignored != 1 || c.Open != 2 {
		t.Errorf("counts: %+v", c)
	}

	// Later polls keep it ignored while the first is open...
	w.now = w.now.Add(time.Minute)
	w.run()
	if len(w.activities()) != 3 {
		t.Fatal("ignored duplicate written while the first is open")
	}
	// ...and once the first is closed, the still-open one reaches the queue.
	w.closeRequest(first)
	w.now = w.now.Add(time.Minute)
	w.run()
	acts = w.activities()
	if acts[first.ID].Open {
		t.Error("first not completed")
	}
	if a, ok := acts[second.ID]; !ok || !a.Open {
		t.Errorf("second open request not written after the first closed: %+v", a)
	}
}

func TestCallbackOwnershipAndRecipientRules(t *testing.T) {
	for _, tc := range []struct {
		ownership, recipient    string
		wantOwner, wantTo       string
		wantToQueue, wantUserTo bool
	}{
		{config.OwnerAPIUser, config.RecipientQueue, "", "queue", true, false},
		{config.OwnerQueueOwner, config.RecipientQueue, "owner", "queue", true, false},
		{config.OwnerAPIUser, config.RecipientQueueOwner, "", "owner", false, true},
		{config.OwnerQueueOwner, config.RecipientQueueOwner, "owner", "owner", false, true},
	} {
		t.Run(tc.ownership+"/"+tc.recipient, func(t *testing.T) {
			w := newCBWorld(t)
			cfg := w.tenant.Config()
			cfg.Callbacks.RecipientRule = tc.recipient
			w.tenant.SetConfig(cfg)
			w.setProfile("sales", func(p *config.Profile) { p.OwnershipRule = tc.ownership })
			cb := w.request(w.salesList, numContact, 5)
			w.run()
			a := w.activities()[cb.ID].Activity
			resolve := func(s string) string {
				switch s {
				case "owner":
					return w.queueOwner
				case "queue":
					return w.salesQueue
				}
				return s
			}
			if a.OwnerID != resolve(tc.wantOwner) || a.RecipientID != resolve(tc.wantTo) || a.RecipientIsQueue != tc.wantToQueue {
				t.Errorf("owner %q recipient %q (queue %v)", a.OwnerID, a.RecipientID, a.RecipientIsQueue)
			}
			if tc.wantUserTo != (a.UserID == w.queueOwner) {
				t.Errorf("user party %q", a.UserID)
			}
			if a.QueueID != w.salesQueue {
				t.Errorf("queue %q", a.QueueID)
			}
		})
	}
}

func TestCallbackQueueOwnerNeedsACRMThatKnowsQueueOwners(t *testing.T) {
	w := newCBWorld(t)
	// A CRM client without crm.QueueOwners.
	w.tenant = jobs.NewTenant(w.tenant.Config(), w.tenant.Enreach, w.mem, nil)
	w.setProfile("sales", func(p *config.Profile) { p.OwnershipRule = config.OwnerQueueOwner })
	w.request(w.salesList, numContact, 5)
	support := w.request(w.supportList, numContact, 5)
	_, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{})
	if !errors.Is(err, jobs.ErrNoQueueOwners) {
		t.Fatalf("want ErrNoQueueOwners, got %v", err)
	}
	acts := w.activities()
	if len(acts) != 1 || acts[support.ID].ID == "" {
		t.Fatalf("only the api_user profile must be written, got %d", len(acts))
	}
	if _, ok, _ := w.store.Watermark(context.Background(), "contoso", jobs.StreamCallbacks("sales")); ok {
		t.Error("the failing profile's watermark moved")
	}
}
