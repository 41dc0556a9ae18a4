package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
)

// A backfill window reads records up to jobs.BackfillCallSpan past its
// end; a call whose records go on further (a queue call answered after a
// long wait, a transferred call's later legs) is read on to its end and
// decided once, with all its records, by the window its first record
// starts in: the later window that sees only its later records (its first
// one let go) does not take them for a call of their own. The first window
// is [00:00, 01:00).
func TestBackfillReadsACallOnPastTheWindow(t *testing.T) {
	t.Run("queue call answered after 40 minutes", func(t *testing.T) {
		w := newWorld(t)
		sc, leg := enreachtest.QueueCall(w.sales, &w.bob, "+358401111111", day.Add(40*time.Minute), 40*time.Minute, 2*time.Minute)
		w.en.AddServiceCalls(sc)
		w.en.AddCalls(*leg)
		a := backfillOne(t, w)
		if !strings.Contains(a.Description, "User: "+w.bob.UserName) {
			t.Errorf("the activity lacks the answering agent (its leg starts at 01:20):\n%s", a.Description)
		}
		if n := strings.Count(a.Audit, `"CallId"`); n != 2 {
			t.Errorf("the audit holds %d records, want the service call and the agent's leg:\n%s", n, a.Audit)
		}
	})
	t.Run("call transferred twice", func(t *testing.T) {
		w := newWorld(t)
		customer := "+358401111111"
		legs := []enreach.Call{
			enreachtest.DirectCall(w.alice, customer, false, day.Add(40*time.Minute), 5*time.Second, 25*time.Minute),
			enreachtest.DirectCall(w.bob, customer, false, day.Add(65*time.Minute+5*time.Second), 5*time.Second, 25*time.Minute),
			enreachtest.DirectCall(w.carol, customer, false, day.Add(90*time.Minute+10*time.Second), 5*time.Second, 2*time.Minute),
		}
		for i := range legs {
			legs[i].CallID = legs[0].CallID
		}
		w.en.AddCalls(legs...)
		a := backfillOne(t, w)
		if a.UserID != w.crmAlice {
			t.Errorf("owner %q, want alice's CRM user %q (the first answered leg)", a.UserID, w.crmAlice)
		}
		if n := strings.Count(a.Audit, `"CallId"`); n != 3 {
			t.Errorf("the audit holds %d records, want the three legs:\n%s", n, a.Audit)
		}
	})
}

// backfillOne backfills the day, which holds one call, and returns its
// activity, checking the call was seen, decided and written once.
func backfillOne(t *testing.T, w *world) crm.Activity {
	t.Helper()
	sum, err := w.syncer.Backfill(context.Background(), w.tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours := w.ours()
	if sum.Seen != 1 || sum.Written != 1 || sum.Already != 0 || len(ours) != 1 {
		t.Fatalf("seen %d, written %d, already written %d, %d activities; want the call seen and written once", sum.Seen, sum.Written, sum.Already, len(ours))
	}
	for _, a := range ours {
		return a.Activity
	}
	return crm.Activity{}
}
