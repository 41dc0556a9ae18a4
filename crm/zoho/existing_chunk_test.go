package zoho

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// chunkByAppending is how FindActivities split its queries before
// chunkByNumbers: each run appended into a slice of its own, a new set of
// numbers per run. The reference of TestChunkByNumbersAsAppended and
// FuzzChunkByNumbers.
func chunkByAppending(valid []crm.ActivityQuery, perQuery int) [][]crm.ActivityQuery {
	var chunks [][]crm.ActivityQuery
	var cur []crm.ActivityQuery
	nums := map[string]bool{}
	for _, q := range valid {
		if !nums[q.Number] && len(nums) == perQuery {
			chunks = append(chunks, cur)
			cur, nums = nil, map[string]bool{}
		}
		nums[q.Number] = true
		cur = append(cur, q)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// checkChunks compares chunkByNumbers with chunkByAppending, and checks
// that appending to a run does not write into the next.
func checkChunks(t *testing.T, qs []crm.ActivityQuery, perQuery int) {
	t.Helper()
	got, want := chunkByNumbers(qs, perQuery), chunkByAppending(qs, perQuery)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d queries by %d numbers: %d runs %v, want %d runs %v", len(qs), perQuery, len(got), got, len(want), want)
	}
	for i := range got {
		if cap(got[i]) != len(got[i]) {
			t.Fatalf("run %d has room past its end (%d of %d)", i, len(got[i]), cap(got[i]))
		}
	}
}

// The runs are those the appending split made: up to perQuery distinct
// numbers each, a number repeated within a run not counted again, a
// repeated number after a run's end starting the next one.
func TestChunkByNumbersAsAppended(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	q := func(n int) crm.ActivityQuery {
		return crm.ActivityQuery{Number: "+35840" + strconv.Itoa(n), From: t0.Add(time.Duration(n) * time.Minute), To: t0.Add(time.Hour), Key: "k" + strconv.Itoa(n)}
	}
	var many []crm.ActivityQuery
	for i := range 2500 {
		many = append(many, q(i%1300))
	}
	for _, c := range []struct {
		qs  []crm.ActivityQuery
		per int
	}{
		{nil, 100},
		{[]crm.ActivityQuery{q(1)}, 100},
		{[]crm.ActivityQuery{q(1), q(1), q(2), q(3), q(1), q(4)}, 2},
		{[]crm.ActivityQuery{q(1), q(2), q(1), q(2)}, 2},
		{many, 1100},
		{many, 100},
	} {
		checkChunks(t, c.qs, c.per)
	}
}

// chunkByNumbers splits any queries as the appending did (each input byte
// a query's number, from a small alphabet so that numbers repeat).
func FuzzChunkByNumbers(f *testing.F) {
	f.Add([]byte("aabcadbbe"), uint8(2))
	f.Add([]byte("abcdefghij"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, per uint8) {
		qs := make([]crm.ActivityQuery, len(in))
		for i, b := range in {
			qs[i] = crm.ActivityQuery{Number: string('0' + b%16), Key: strconv.Itoa(i)}
		}
		checkChunks(t, qs, int(per%8)+1)
	})
}

// BenchmarkChunkByNumbers is a window's existing-call queries, 2,000 of
// 1,500 numbers, split by 1,100 numbers (`go test -bench ChunkByNumbers
// -benchmem ./crm/zoho`); appending is the former split.
func BenchmarkChunkByNumbers(b *testing.B) {
	qs := make([]crm.ActivityQuery, 2000)
	for i := range qs {
		qs[i] = crm.ActivityQuery{Number: "+35840" + strconv.Itoa(i%1500), Key: strconv.Itoa(i)}
	}
	b.Run("appending", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			chunkByAppending(qs, 1100)
		}
	})
	b.Run("slices", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			chunkByNumbers(qs, 1100)
		}
	})
}
