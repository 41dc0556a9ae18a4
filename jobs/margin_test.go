package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/store"
)

// A customer calls twice within call_start_margin and the two calls are
// picked up by different runs: the activity callsync wrote for the first
// call carries that call's key and must not absorb the second one.
func TestMarginRepeatCallAcrossRuns(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	t0 := w.now.Add(-5 * time.Minute).Truncate(time.Second)
	a := enreachtest.DirectCall(w.alice, "+358401111111", false, t0, time.Second, 12*time.Second)
	w.en.AddCalls(a)
	w.runCalls(ctx)

	b := enreachtest.DirectCall(w.alice, "+358401111111", false, t0.Add(14*time.Second), time.Second, 3*time.Minute)
	b.Modified = w.now.Add(30 * time.Second)
	w.en.AddCalls(b)
	w.now = w.now.Add(time.Minute)
	w.runCalls(ctx)

	ours := w.ours()
	if len(ours) != 2 {
		t.Fatalf("CRM holds %d callsync activities, want 2 (one per call): %v", len(ours), keysOf(ours))
	}
	led, err := w.store.Ledger(ctx, "contoso", "call", []string{strings.ToLower(b.CallID)})
	if err != nil {
		t.Fatal(err)
	}
	e := led[strings.ToLower(b.CallID)]
	if e.State != store.Written || e.Reason != "" || e.CRMID == "" || e.CRMID == ours[crm.Key("contoso", crm.KindCall, strings.ToLower(a.CallID))].ID {
		t.Errorf("call B ledger %+v, want written to its own activity", e)
	}
}

// A hand-logged activity (no callsync key) inside the margin absorbs one
// call only, whether the calls arrive in one run or in two.
func TestMarginManualActivityAbsorbsOneCall(t *testing.T) {
	for _, split := range []bool{false, true} {
		name := "one run"
		if split {
			name = "two runs"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			t0 := w.now.Add(-5 * time.Minute).Truncate(time.Second)
			res, err := w.crm.WriteActivities(ctx, []crm.Activity{{Key: "manual-1", Kind: crm.KindCall, Subject: "Logged by hand",
				Direction: crm.Inbound, Number: "+358401111111", Start: t0.Add(3 * time.Second), End: t0.Add(time.Minute)}})
			if err != nil || res[0].Status != crm.Created {
				t.Fatalf("seed: %v %+v", err, res)
			}
			a := enreachtest.DirectCall(w.alice, "+358401111111", false, t0, time.Second, 20*time.Second)
			b := enreachtest.DirectCall(w.alice, "+358401111111", false, t0.Add(10*time.Second), time.Second, 2*time.Minute)
			w.en.AddCalls(a)
			if split {
				w.runCalls(ctx)
				b.Modified = w.now.Add(30 * time.Second)
				w.now = w.now.Add(time.Minute)
			}
			w.en.AddCalls(b)
			w.runCalls(ctx)

			ours := w.ours()
			if len(ours) != 1 {
				t.Fatalf("callsync wrote %d activities, want 1 (the other call is the hand-logged one): %v", len(ours), keysOf(ours))
			}
			// In one run the nearer call (A, 3 s away) takes it.
			if _, ok := ours[crm.Key("contoso", crm.KindCall, strings.ToLower(b.CallID))]; !ok {
				t.Errorf("written %v, want call B (call A is the hand-logged one)", keysOf(ours))
			}
			led, err := w.store.Ledger(ctx, "contoso", "call", []string{strings.ToLower(a.CallID)})
			if err != nil {
				t.Fatal(err)
			}
			if e := led[strings.ToLower(a.CallID)]; e.State != store.Written || e.CRMID != res[0].ID {
				t.Errorf("call A ledger %+v, want written to the hand-logged activity %s", e, res[0].ID)
			}
		})
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// After a kill -9 between the CRM write and the ledger update, the rerun
// finds the call's own activity: it is written (counted as written, no
// "existing_activity" reason), not absorbed like a hand-logged one.
func TestMarginOwnActivityIsWritten(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	t0 := w.now.Add(-5 * time.Minute).Truncate(time.Second)
	a := enreachtest.DirectCall(w.alice, "+358401111111", false, t0, time.Second, 30*time.Second)
	w.en.AddCalls(a)
	key := crm.Key("contoso", crm.KindCall, strings.ToLower(a.CallID))
	res, err := w.crm.WriteActivities(ctx, []crm.Activity{{Key: key, Kind: crm.KindCall, Subject: "Incoming direct call",
		Direction: crm.Inbound, Number: "+358401111111", Start: a.StartTime, End: a.EndTime}})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("seed: %v %+v", err, res)
	}
	sum := w.runCalls(ctx)
	if sum.Written != 1 || sum.SkippedTotal() != 0 {
		t.Errorf("summary %+v, want 1 written and nothing skipped", sum)
	}
	led, err := w.store.Ledger(ctx, "contoso", "call", []string{strings.ToLower(a.CallID)})
	if err != nil {
		t.Fatal(err)
	}
	if e := led[strings.ToLower(a.CallID)]; e.State != store.Written || e.Reason != "" || e.CRMID != res[0].ID {
		t.Errorf("ledger %+v, want written to %s without a reason", e, res[0].ID)
	}
	if n := len(w.ours()); n != 1 {
		t.Errorf("%d activities, want 1", n)
	}
}

// An activity carrying another call's key is never this call, even when no
// ledger row points at it (another store, a restored backup).
func TestMarginOtherKeyNeverAbsorbs(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	t0 := w.now.Add(-5 * time.Minute).Truncate(time.Second)
	res, err := w.crm.WriteActivities(ctx, []crm.Activity{{Key: crm.Key("contoso", crm.KindCall, "someone-else"), Kind: crm.KindCall,
		Subject: "Incoming direct call", Direction: crm.Inbound, Number: "+358401111111", Start: t0.Add(2 * time.Second), End: t0.Add(time.Minute)}})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("seed: %v %+v", err, res)
	}
	a := enreachtest.DirectCall(w.alice, "+358401111111", false, t0, time.Second, 30*time.Second)
	w.en.AddCalls(a)
	if sum := w.runCalls(ctx); sum.Written != 1 {
		t.Errorf("summary %+v, want the call written", sum)
	}
}
