package match_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/match"
)

// countingLookup answers every number with one contact holding it and
// counts how often each number was asked.
type countingLookup struct {
	mu    sync.Mutex
	asked map[string]int
}

func (c *countingLookup) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	c.mu.Lock()
	for _, q := range req.Numbers {
		c.asked[q.Number]++
	}
	c.mu.Unlock()
	return lookupAll{}.Lookup(ctx, req)
}

// TestCacheKeepsARecentlyUsedResult: a number read from the cache again and
// again stays cached while many other numbers pass through a cache far
// smaller than their count; one stored once and never read again is
// dropped (the cache is bounded).
func TestCacheKeepsARecentlyUsedResult(t *testing.T) {
	ctx := context.Background()
	l := &countingLookup{asked: map[string]int{}}
	m := match.New(l, match.Options{Region: "FI", MaxEntries: 100})
	const regular = "+358401000000"
	if _, err := m.Match(ctx, []string{regular}, true); err != nil {
		t.Fatal(err)
	}
	first := ""
	for i := range 2000 {
		other := fmt.Sprintf("+35850%07d", 2000000+i)
		if i == 0 {
			first = other
		}
		if _, err := m.Match(ctx, []string{other}, true); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			res, err := m.Match(ctx, []string{regular}, true)
			if err != nil {
				t.Fatal(err)
			}
			if r := res[regular]; !r.Cached || len(r.Records) != 1 {
				t.Fatalf("after %d other numbers the regular caller was not answered from the cache: %+v", i+1, r)
			}
		}
	}
	if n := l.asked[regular]; n != 1 {
		t.Errorf("regular caller asked of the CRM %d times, want 1", n)
	}
	res, err := m.Match(ctx, []string{first}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res[first].Cached {
		t.Errorf("%s, stored 2,000 numbers ago and never read, is still cached (MaxEntries 100)", first)
	}
}

// emptyDirectory is a current phone directory holding no number: every
// caller is a final miss, as an unknown caller is in a backfill whose
// directory was just synced.
type emptyDirectory struct{}

func (emptyDirectory) Lookup(context.Context, []string) (map[string][]crm.Record, error) {
	return map[string][]crm.Record{}, nil
}
func (emptyDirectory) Learn(context.Context, map[string][]crm.Record) error { return nil }
func (emptyDirectory) Current() bool                                        { return true }

// heapHeld is the live heap after a collection.
func heapHeld() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestOneOffCallersDoNotAccumulate: callers seen once (a backfill's unknown
// numbers) do not add to what the matcher holds once its memo is full: the
// heap held after 60,000 one-off callers is that after 20,000, not 40,000
// parsed numbers more.
func TestOneOffCallersDoNotAccumulate(t *testing.T) {
	ctx := context.Background()
	m := match.New(lookupAll{}, match.Options{Region: "FI", Directory: emptyDirectory{}})
	next := 0
	callers := func(n int) {
		t.Helper()
		for range n / 1000 {
			raws := make([]string, 1000)
			for i := range raws {
				raws[i] = fmt.Sprintf("+35850%07d", next)
				next++
			}
			res, err := m.Match(ctx, raws, true)
			if err != nil {
				t.Fatal(err)
			}
			if r := res[raws[0]]; !r.Directory || len(r.Records) != 0 {
				t.Fatalf("one-off caller: %+v, want a final directory miss", r)
			}
		}
	}
	callers(20_000)
	after20k := heapHeld()
	callers(40_000)
	after60k := heapHeld()
	runtime.KeepAlive(m)
	grown := int64(after60k) - int64(after20k)
	t.Logf("heap held after 20,000 one-off callers %d KiB, after 60,000 %d KiB", after20k>>10, after60k>>10)
	// 16 bytes a caller is far below a parsed number (its strings and
	// libphonenumber's PhoneNumber: hundreds of bytes).
	if grown > 40_000*16 {
		t.Errorf("40,000 more one-off callers grew the heap held by %d KiB (%d bytes a caller)", grown>>10, grown/40_000)
	}
}
