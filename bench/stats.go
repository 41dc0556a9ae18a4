package main

import (
	"math"
	"slices"
	"time"
)

// quantile returns the q-quantile (nearest rank) of ds; ds is sorted in place.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	k := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[max(0, min(k, len(ds)-1))]
}

// ms is a duration in milliseconds, rounded to 0.01 ms.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// paced waits until event i of a series offered at rate per second from
// start is due and returns the time its latency counts from: the due time
// when the sender is late for it (busy with the one before: the wait
// counts, as it would for a caller that does not wait for us), else the
// time the sender woke. A sleeping sender wakes up to a millisecond late
// (Go's timers on an idle machine); that slack is the bench's own and is
// not counted.
func paced(start time.Time, i int, rate float64) time.Time {
	due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
		return time.Now()
	}
	return due
}
