package jobs

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// mergeKeptReference is how a window kept its calls before mergeKeep: all
// calls merged, then those whose first record (the earliest StartTime of
// the records sharing its CallId, in any casing) keep accepts.
func mergeKeptReference(calls []enreach.Call, scs []enreach.ServiceCall, keep func(time.Time) bool) []Call {
	merged := Merge(calls, scs)
	first := map[string]time.Time{}
	see := func(id string, at time.Time) {
		k := strings.ToLower(id)
		if f, ok := first[k]; !ok || at.Before(f) {
			first[k] = at
		}
	}
	for _, c := range calls {
		see(c.CallID, c.StartTime)
	}
	for _, sc := range scs {
		see(sc.CallID, sc.StartTime)
	}
	var kept []Call
	for _, c := range merged {
		if keep(first[strings.ToLower(c.ID)]) {
			kept = append(kept, c)
		}
	}
	return kept
}

// A window's calls (mergeKeep with its keep) are the calls Merge makes of
// its records whose first record starts in it: random legs and service
// calls sharing ids in different casings, equal start times, window edges
// on record starts.
func TestMergeKeepIsMergeFiltered(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for round := 0; round < 300; round++ {
		var calls []enreach.Call
		var scs []enreach.ServiceCall
		ids := 1 + rng.IntN(12)
		at := func() time.Time { return t0.Add(time.Duration(rng.IntN(40)) * time.Second) }
		id := func() string {
			s := fmt.Sprintf("call-%d", rng.IntN(ids))
			if rng.IntN(3) == 0 {
				s = strings.ToUpper(s)
			}
			return s
		}
		for i := rng.IntN(20); i > 0; i-- {
			calls = append(calls, enreach.Call{CallID: id(), UserID: fmt.Sprintf("u%d", rng.IntN(3)), EndResult: rng.IntN(2),
				StartTime: at(), Duration: rng.IntN(100), Raw: json.RawMessage(fmt.Sprintf(`{"leg":%d}`, i))})
		}
		for i := rng.IntN(8); i > 0; i-- {
			scs = append(scs, enreach.ServiceCall{CallID: id(), AnsweredByUserID: fmt.Sprintf("u%d", rng.IntN(3)), EndResult: rng.IntN(2),
				StartTime: at(), Duration: rng.IntN(100), Raw: json.RawMessage(fmt.Sprintf(`{"sc":%d}`, i))})
		}
		from, to := at(), at()
		keep := func(first time.Time) bool { return !first.Before(from) && first.Before(to) }
		got := mergeKeep(calls, scs, keep)
		want := mergeKeptReference(calls, scs, keep)
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("round %d: window [%v, %v) of %d legs, %d service calls:\ngot  %+v\nwant %+v", round, from, to, len(calls), len(scs), got, want)
		}
	}
}
