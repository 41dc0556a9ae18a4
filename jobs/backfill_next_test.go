package jobs

import (
	"testing"
	"time"
)

// The next backfill window is sized from the density of the busy part of
// the last one: a window quiet until its last hour, which held 800 calls,
// is followed by one that holds half the cap at that hour's density, not
// by one sized from the whole window's (low) average.
func TestBackfillNextFromBusyPart(t *testing.T) {
	for _, c := range []struct {
		name    string
		d, busy time.Duration
		n       int
		want    time.Duration
	}{
		{"quiet until its last hour", 8 * time.Hour, time.Hour, 800, 75 * time.Minute},
		{"evenly busy", 2 * time.Hour, 2 * time.Hour, 1000, 2 * time.Hour},
		{"empty: doubles", 3 * time.Hour, 3 * time.Hour, 0, 6 * time.Hour},
		{"sparse: doubles at most", time.Hour, time.Hour, 1, 2 * time.Hour},
		{"empty day: at most a day", 20 * time.Hour, 20 * time.Hour, 0, BackfillChunk},
		{"over the cap: shorter", 10 * time.Second, 10 * time.Second, 5000, 2 * time.Second},
		{"whole seconds", 5 * time.Second, 5 * time.Second, 1500, 3 * time.Second},
		{"at least a second", time.Second, time.Second, 9000, time.Second},
	} {
		if got := backfillNext(c.d, c.busy, c.n, 2000); got != c.want {
			t.Errorf("%s: backfillNext(%v, %v, %d) = %v, want %v", c.name, c.d, c.busy, c.n, got, c.want)
		}
	}
}
