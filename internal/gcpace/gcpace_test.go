package gcpace

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		floor, live, other int64
		headroom           int
		want               int64
	}{
		{64 * mib, 0, 0, 100, 64 * mib},
		{64 * mib, 18 * mib, 8 * mib, 100, 64 * mib},    // a backfill's usual heap: the floor
		{64 * mib, 29 * mib, 8 * mib, 100, 66 * mib},    // its peak: as GOGC=100
		{64 * mib, 200 * mib, 20 * mib, 100, 420 * mib}, // a large heap: never below GOGC=100's goal
		{60 * mib, 40 * mib, 8 * mib, 25, 60 * mib},     // a quarter of the live heap: the floor
		{60 * mib, 200 * mib, 20 * mib, 25, 270 * mib},  // a large heap: a quarter above it
	} {
		if got := Limit(tc.floor, tc.live, tc.other, tc.headroom); got != tc.want {
			t.Errorf("Limit(%d, %d, %d, %d%%) = %d MiB, want %d MiB", tc.floor/mib, tc.live/mib, tc.other/mib, tc.headroom, got/mib, tc.want/mib)
		}
	}
}

// TestLimitFollowsLiveHeap holds a live heap far above the floor: the
// limit rises to twice it at least (no collection back to back), and stop
// restores the percent and limit found.
func TestLimitFollowsLiveHeap(t *testing.T) {
	const floor = 8 << 20
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(-1)
	stop := Start(Options{Percent: 300, Floor: floor, Every: time.Millisecond})
	if p := debug.SetGCPercent(300); p != 300 {
		t.Errorf("GOGC %d after Start, want 300", p)
	}
	if l := debug.SetMemoryLimit(-1); l < floor {
		t.Errorf("memory limit %d after Start, below the floor %d", l, floor)
	}
	held := make([][]byte, 64)
	for i := range held {
		held[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < 2*64<<20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if l := debug.SetMemoryLimit(-1); l < 2*64<<20 {
		t.Errorf("memory limit %d MiB with 64 MiB live: want 128 MiB at least", l>>20)
	}
	runtime.KeepAlive(held)
	stop()
	stop() // twice is once
	if p := debug.SetGCPercent(prevPercent); p != 100 {
		t.Errorf("GOGC %d after stop, want 100 restored", p)
	}
	if l := debug.SetMemoryLimit(-1); l != prevLimit {
		t.Errorf("memory limit %d after stop, want %d restored", l, prevLimit)
	}
}
