package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

func TestCallbackClosedRequestCompletesActivity(t *testing.T) {
	w := newCBWorld(t)
	cb := w.request(w.salesList, numContact, 10)
	w.run()
	if !w.activities()[cb.ID].Open {
		t.Fatal("not open after the first run")
	}
	w.closeRequest(cb)
	w.now = w.now.Add(time.Minute)
	w.run()
	a := w.activities()[cb.ID]
	if a.Open {
		t.Fatal("activity not completed after Enreach closed the request")
	}
	if e := w.ledger(cb.ID); e.State != store.Written || e.Reason != store.CallbackClosed {
		t.Errorf("ledger %+v", e)
	}
	closes := w.mem.Calls(crmtest.MethodCloseActivities)
	w.now = w.now.Add(time.Minute)
	sum := w.run()
	if w.mem.Calls(crmtest.MethodCloseActivities) != closes || sum.Written != 0 {
		t.Errorf("closed again: %+v", sum)
	}
	if len(w.mem.Written()) != 1 {
		t.Error("closing wrote another activity")
	}

	// A request first seen already closed is written once, completed.
	late := w.request(w.salesList, numUnknown, 3)
	w.closeRequest(late)
	w.now = w.now.Add(time.Minute)
	w.run()
	l, ok := w.activities()[late.ID]
	if !ok || l.Open {
		t.Fatalf("closed-at-first-sight: %+v %v", l, ok)
	}
	if !strings.Contains(l.Activity.Description, "Closed successfully") {
		t.Errorf("description lacks the handling status:\n%s", l.Activity.Description)
	}
	if w.mem.Calls(crmtest.MethodCloseActivities) != closes {
		t.Error("a request written completed was closed again")
	}
}

func TestCallbackCloseRetriedAfterCRMFailure(t *testing.T) {
	w := newCBWorld(t)
	cb := w.request(w.salesList, numContact, 10)
	w.run()
	w.closeRequest(cb)
	w.mem.FailNext(crmtest.MethodCloseActivities, 1, nil)
	w.now = w.now.Add(time.Minute)
	if _, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("want the close failure reported")
	}
	if e := w.ledger(cb.ID); e.Reason != store.CallbackClosePending {
		t.Fatalf("ledger %+v, want close_pending", e)
	}
	if !w.activities()[cb.ID].Open {
		t.Fatal("closed although the CRM failed")
	}
	// The next run retries the close from the ledger.
	w.now = w.now.Add(time.Minute)
	w.run()
	if w.activities()[cb.ID].Open {
		t.Fatal("close not retried")
	}
	if e := w.ledger(cb.ID); e.Reason != store.CallbackClosed {
		t.Errorf("ledger %+v", e)
	}
}

func TestCallbackFailedWriteRetriedOnce(t *testing.T) {
	w := newCBWorld(t)
	cb := w.request(w.salesList, numContact, 10)
	w.mem.FailNext(crmtest.MethodWriteActivities, 1, nil)
	if _, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("want the write failure reported")
	}
	if e := w.ledger(cb.ID); e.State != store.Failed {
		t.Fatalf("ledger %+v", e)
	}
	if _, ok, _ := w.store.Watermark(context.Background(), "contoso", jobs.StreamCallbacks("sales")); ok {
		t.Error("watermark moved past a failed window")
	}
	w.now = w.now.Add(time.Minute)
	w.run()
	if len(w.activities()) != 1 {
		t.Fatal("not written on the next run")
	}
	if e := w.ledger(cb.ID); e.State != store.Written || e.Attempts != 2 {
		t.Errorf("ledger %+v", e)
	}
}
