package jobs

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// heldRead is a read of [from, to) for TestHeldRecordsAddDrop: n calls and
// n/3 service calls starting in it, in no particular order.
func heldRead(rng *rand.Rand, from, to time.Time, n int, id *int) listings {
	var l listings
	span := int64(to.Sub(from))
	for i := range n {
		*id++
		at := from.Add(time.Duration(rng.Int64N(span)))
		cid := fmt.Sprintf("call-%d", *id)
		l.calls = append(l.calls, enreach.Call{CallID: cid, ANum: "+358401234567", StartTime: at, Duration: i})
		if i%3 == 0 {
			l.scs = append(l.scs, enreach.ServiceCall{CallID: cid, StartTime: at.Add(-time.Second), Duration: i})
		}
	}
	return l
}

// TestHeldRecordsAddDrop follows a backfill's held records over many reads
// and drops: after each, they are exactly the records read starting at or
// after the last drop, in the order read, and a window merged before a
// later read and drop keeps its calls.
func TestHeldRecordsAddDrop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var h heldRecords
	var allCalls []enreach.Call
	var allSCs []enreach.ServiceCall
	h.from, h.to = t0, t0
	id := 0
	var kept []windowRead
	var keptIDs [][]string
	for round := range 60 {
		to := h.to.Add(time.Duration(1+rng.IntN(20)) * time.Minute)
		l := heldRead(rng, h.to, to, rng.IntN(40), &id)
		allCalls = append(allCalls, l.calls...)
		allSCs = append(allSCs, l.scs...)
		h.add(l, to)
		at := h.from.Add(time.Duration(rng.IntN(25)) * time.Minute)
		if round%7 == 0 {
			at = h.from // no drop
		}
		h.drop(at)
		if want := slices.DeleteFunc(slices.Clone(allCalls), func(c enreach.Call) bool { return c.StartTime.Before(h.from) }); !slices.EqualFunc(h.calls, want, sameCall) {
			t.Fatalf("round %d: held %d calls, want %d", round, len(h.calls), len(want))
		}
		if want := slices.DeleteFunc(slices.Clone(allSCs), func(c enreach.ServiceCall) bool { return c.StartTime.Before(h.from) }); !slices.EqualFunc(h.scs, want, func(a, b enreach.ServiceCall) bool {
			return a.CallID == b.CallID && a.StartTime.Equal(b.StartTime) && a.Duration == b.Duration
		}) {
			t.Fatalf("round %d: held %d service calls, want %d", round, len(h.scs), len(want))
		}
		r := h.window(h.from, h.to, h.to)
		ids := make([]string, len(r.calls))
		for i, c := range r.calls {
			ids[i] = c.ID
		}
		kept, keptIDs = append(kept, r), append(keptIDs, ids)
	}
	for i, r := range kept {
		for j, c := range r.calls {
			if c.ID != keptIDs[i][j] {
				t.Fatalf("window %d changed after later reads: call %d is %s, was %s", i, j, c.ID, keptIDs[i][j])
			}
		}
	}
}

func sameCall(a, b enreach.Call) bool {
	return a.CallID == b.CallID && a.StartTime.Equal(b.StartTime) && a.Duration == b.Duration
}

// BenchmarkHeldRecords is a backfill's held records over its windows
// (`go test -bench HeldRecords ./jobs`): each op reads 10 minutes (2,000
// calls, 660 service calls) and lets go of the 10 minutes before.
func BenchmarkHeldRecords(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var h heldRecords
	h.from, h.to = t0, t0
	id := 0
	reads := make([]listings, 16)
	for i := range reads {
		reads[i] = heldRead(rng, t0, t0.Add(10*time.Minute), 2000, &id)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l := reads[i%len(reads)]
		shift := h.to.Sub(t0)
		for j := range l.calls {
			l.calls[j].StartTime = t0.Add(shift + time.Duration(j)*300*time.Millisecond)
		}
		for j := range l.scs {
			l.scs[j].StartTime = t0.Add(shift + time.Duration(j)*900*time.Millisecond)
		}
		h.add(l, h.to.Add(10*time.Minute))
		h.drop(h.to.Add(-20 * time.Minute))
	}
}
