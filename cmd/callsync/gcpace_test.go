package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestPaceGC: with CALLSYNC_GC_PACE=1 and without GOGC and GOMEMLIMIT the
// collector runs at 200 under a limit of 64 MiB at least; without it, or
// with either variable set, nothing is changed; stop restores what was
// found.
func TestPaceGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	for _, tc := range []struct {
		env         map[string]string
		wantPercent int
		paced       bool
	}{
		{map[string]string{"CALLSYNC_GC_PACE": "1"}, 200, true},
		{nil, 100, false},
		{map[string]string{"CALLSYNC_GC_PACE": "0"}, 100, false},
		{map[string]string{"CALLSYNC_GC_PACE": "1", "GOGC": "100"}, 100, false},
		{map[string]string{"CALLSYNC_GC_PACE": "1", "GOMEMLIMIT": "1GiB"}, 100, false},
	} {
		limit := debug.SetMemoryLimit(-1)
		stop := paceGC(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if p := debug.SetGCPercent(tc.wantPercent); p != tc.wantPercent {
			t.Errorf("env %v: GOGC %d, want %d", tc.env, p, tc.wantPercent)
		}
		l := debug.SetMemoryLimit(-1)
		if tc.paced && l < 64<<20 || !tc.paced && l != limit {
			t.Errorf("env %v: memory limit %d (was %d)", tc.env, l, limit)
		}
		stop()
		if p := debug.SetGCPercent(100); p != 100 {
			t.Errorf("env %v: GOGC %d after stop, want 100", tc.env, p)
		}
		if l := debug.SetMemoryLimit(-1); l != limit {
			t.Errorf("env %v: memory limit %d after stop, want %d", tc.env, l, limit)
		}
	}
}

// TestBoundBackfillMemory: without GOGC, GOMEMLIMIT and CALLSYNC_GC_PACE a
// backfill runs under a memory limit of backfillMemoryFloor at least (and
// not the runtime's default of none), GOGC unchanged; with any of them
// set, nothing is changed; stop restores the limit found.
func TestBoundBackfillMemory(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	for _, tc := range []struct {
		env     map[string]string
		bounded bool
	}{
		{nil, true},
		{map[string]string{"GOGC": "100"}, false},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, false},
		{map[string]string{"CALLSYNC_GC_PACE": "1"}, false},
		{map[string]string{"CALLSYNC_GC_PACE": "0"}, false},
	} {
		limit := debug.SetMemoryLimit(-1)
		stop := boundBackfillMemory(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if p := debug.SetGCPercent(100); p != 100 {
			t.Errorf("env %v: GOGC %d, want 100", tc.env, p)
		}
		l := debug.SetMemoryLimit(-1)
		if tc.bounded && (l < backfillMemoryFloor || l == math.MaxInt64) || !tc.bounded && l != limit {
			t.Errorf("env %v: memory limit %d (was %d)", tc.env, l, limit)
		}
		stop()
		if l := debug.SetMemoryLimit(-1); l != limit {
			t.Errorf("env %v: memory limit %d after stop, want %d", tc.env, l, limit)
		}
	}
}
