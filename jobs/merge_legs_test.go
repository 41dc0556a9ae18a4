package jobs

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// mergeByLegSlices is mergeKeep as it was before it found a CallId's
// records by index: each CallId's legs copied into a slice of their own,
// its earliest service call kept in a map. The reference of
// TestMergeKeepAsLegSlices and FuzzMergeKeep.
func mergeByLegSlices(calls []enreach.Call, scs []enreach.ServiceCall, keep func(first time.Time) bool) []Call {
	legs := make(map[string][]enreach.Call, len(calls))
	svc := make(map[string]enreach.ServiceCall, len(scs))
	order := make([]string, 0, len(calls)+len(scs))
	add := func(k string, seen bool) {
		if !seen {
			order = append(order, k)
		}
	}
	for _, c := range calls {
		k := strings.ToLower(c.CallID)
		ls, seen := legs[k]
		if !seen {
			_, seen = svc[k]
		}
		add(k, seen)
		legs[k] = append(ls, c)
	}
	for _, s := range scs {
		k := strings.ToLower(s.CallID)
		prev, ok := svc[k]
		seen := ok
		if !seen {
			_, seen = legs[k]
		}
		add(k, seen)
		if !ok || s.StartTime.Before(prev.StartTime) {
			svc[k] = s
		}
	}
	byStart := func(a, b enreach.Call) int { return a.StartTime.Compare(b.StartTime) }
	out := make([]Call, 0, len(order))
	for _, k := range order {
		ls := legs[k]
		slices.SortStableFunc(ls, byStart)
		s, queue := svc[k]
		if keep != nil {
			var first time.Time
			switch {
			case queue && (len(ls) == 0 || s.StartTime.Before(ls[0].StartTime)):
				first = s.StartTime
			default:
				first = ls[0].StartTime
			}
			if !keep(first) {
				continue
			}
		}
		var primary *enreach.Call
		for i := range ls {
			if ls[i].EndResult == 0 {
				primary = &ls[i]
				break
			}
		}
		if primary == nil && len(ls) > 0 {
			primary = &ls[0]
		}
		var c Call
		if queue {
			c = Call{
				ID: s.CallID, Queue: true, Answered: s.EndResult == 0, ANum: s.ANum, BNum: s.BNum,
				UserID: s.AnsweredByUserID, QueueID: s.QueueID, QueueName: s.QueueName, QueueNumber: s.QueueNumber,
				Start: s.StartTime, End: s.EndTime, Duration: s.Duration, Recordings: s.RecordingIDs,
				Raw: make([]json.RawMessage, 1, 1+len(ls)),
			}
			c.Raw[0] = s.Raw
			if primary != nil && primary.EndResult == 0 {
				if c.UserID == "" {
					c.UserID = primary.UserID
				}
				if strings.EqualFold(c.UserID, primary.UserID) {
					c.UserName = primary.UserName
				}
			}
		} else {
			p := *primary
			c = Call{
				ID: p.CallID, Outbound: p.Outbound, Answered: p.EndResult == 0, ANum: p.ANum, BNum: p.BNum,
				UserID: p.UserID, UserName: p.UserName, QueueID: p.QueueID, QueueName: p.QueueName,
				Start: p.StartTime, End: p.EndTime, Duration: p.Duration, Privacy: p.Privacy, Recordings: p.RecordingIDs,
				Raw: make([]json.RawMessage, 0, len(ls)),
			}
		}
		if queue {
			c.lastEnd = s.EndTime
		}
		for _, l := range ls {
			c.Raw = append(c.Raw, l.Raw)
			if l.EndTime.After(c.lastEnd) {
				c.lastEnd = l.EndTime
			}
		}
		c.Start, c.End = c.Start.UTC(), c.End.UTC()
		if c.End.IsZero() && !c.Start.IsZero() {
			c.End = c.Start.Add(time.Duration(c.Duration) * time.Second)
		}
		if c.End.After(c.lastEnd) {
			c.lastEnd = c.End
		}
		c.lastEnd = c.lastEnd.UTC()
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Call) int { return a.Start.Compare(b.Start) })
	return out
}

// checkMerge compares mergeKeep with mergeByLegSlices for calls and scs,
// with keep and without, and checks that neither input is changed.
func checkMerge(t *testing.T, calls []enreach.Call, scs []enreach.ServiceCall, keep func(time.Time) bool) {
	t.Helper()
	callsBefore, scsBefore := slices.Clone(calls), slices.Clone(scs)
	for _, k := range []func(time.Time) bool{nil, keep} {
		got := mergeKeep(calls, scs, k)
		want := mergeByLegSlices(slices.Clone(calls), slices.Clone(scs), k)
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%d legs, %d service calls (keep %v):\ngot  %+v\nwant %+v", len(calls), len(scs), k != nil, got, want)
		}
	}
	if !reflect.DeepEqual(calls, callsBefore) || !reflect.DeepEqual(scs, scsBefore) {
		t.Fatal("mergeKeep changed its input")
	}
}

// mergeKeep merges as the leg slices did: random legs and service calls
// sharing ids in different casings, transfers (several legs, answered or
// not, equal start times), several service calls of one id, ids seen
// first as a service call.
func TestMergeKeepAsLegSlices(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for round := 0; round < 500; round++ {
		calls, scs := randomRecords(rng, t0, 1+rng.IntN(15), rng.IntN(25), rng.IntN(10))
		from := t0.Add(time.Duration(rng.IntN(40)) * time.Second)
		to := from.Add(time.Duration(rng.IntN(30)) * time.Second)
		checkMerge(t, calls, scs, func(first time.Time) bool { return !first.Before(from) && first.Before(to) })
	}
}

// randomRecords is legs and service calls of up to ids CallIds.
func randomRecords(rng *rand.Rand, t0 time.Time, ids, legs, svcs int) ([]enreach.Call, []enreach.ServiceCall) {
	at := func() time.Time { return t0.Add(time.Duration(rng.IntN(40)) * time.Second) }
	id := func() string {
		s := fmt.Sprintf("call-%d", rng.IntN(ids))
		if rng.IntN(3) == 0 {
			s = strings.ToUpper(s)
		}
		return s
	}
	var calls []enreach.Call
	var scs []enreach.ServiceCall
	for i := range legs {
		calls = append(calls, enreach.Call{CallID: id(), UserID: fmt.Sprintf("u%d", rng.IntN(3)), UserName: fmt.Sprintf("User %d", i),
			Outbound: rng.IntN(2) == 0, ANum: fmt.Sprintf("+35840%d", rng.IntN(5)), EndResult: rng.IntN(2),
			StartTime: at(), EndTime: at(), Duration: rng.IntN(100), Raw: json.RawMessage(fmt.Sprintf(`{"leg":%d}`, i))})
	}
	for i := range svcs {
		scs = append(scs, enreach.ServiceCall{CallID: id(), AnsweredByUserID: fmt.Sprintf("u%d", rng.IntN(3)), QueueID: fmt.Sprintf("q%d", i),
			EndResult: rng.IntN(2), StartTime: at(), Duration: rng.IntN(100), Raw: json.RawMessage(fmt.Sprintf(`{"sc":%d}`, i))})
	}
	return calls, scs
}

// mergeKeep merges any records as the leg slices did (the input's bytes
// choose the records: a seed for their fields, their numbers).
func FuzzMergeKeep(f *testing.F) {
	f.Add(uint64(1), uint8(4), uint8(9), uint8(3), uint8(10), uint8(20))
	f.Add(uint64(7), uint8(1), uint8(30), uint8(0), uint8(0), uint8(40))
	f.Fuzz(func(t *testing.T, seed uint64, ids, legs, svcs, from, span uint8) {
		rng := rand.New(rand.NewPCG(seed, uint64(ids)))
		t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
		calls, scs := randomRecords(rng, t0, int(ids%32)+1, int(legs%64), int(svcs%32))
		lo := t0.Add(time.Duration(from%48) * time.Second)
		hi := lo.Add(time.Duration(span%48) * time.Second)
		checkMerge(t, calls, scs, func(first time.Time) bool { return !first.Before(lo) && first.Before(hi) })
	})
}

// BenchmarkMergeKeep merges a window of 2,000 legs and 600 service calls
// of up to 20,000 CallIds (some transfers, most calls one record; `go test
// -bench MergeKeep -benchmem ./jobs`); legslices is the former merge.
func BenchmarkMergeKeep(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 5))
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	calls, scs := randomRecords(rng, t0, 20000, 2000, 600)
	keep := func(time.Time) bool { return true }
	b.Run("legslices", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mergeByLegSlices(calls, scs, keep)
		}
	})
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mergeKeep(calls, scs, keep)
		}
	})
}
