// Package gcpace paces the Go garbage collector of a callsync process: a
// higher GOGC while the live heap is small, and a soft memory limit that
// keeps the heap from growing past what GOGC=100 would allow once the live
// heap is large, so the process never holds more than the larger of a
// floor and its memory at GOGC=100.
//
// With GOGC=100 the collector runs each time the heap has grown by as much
// as was live after the last cycle: a backfill, whose live heap is 15-30 MB
// while it allocates about 2 GB, collects about 145 times. A higher GOGC
// alone lets the heap grow past that everywhere (GOGC=200: the peak RSS of
// the 100,000-call backfill rose from 86-88 to 107-114 MiB). Here the
// memory limit (runtime/debug.SetMemoryLimit,
// https://go.dev/doc/gc-guide#Memory_limit) caps the heap at the larger of
// Floor and twice the live heap plus the runtime's memory outside the heap,
// the GOGC=100 goal, which it follows as the live heap changes: the limit is
// never below what GOGC=100 lets the process use, so a large live heap
// does not make the collector run back to back, as a fixed limit would
// once the live heap neared it.
package gcpace

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Options configure Start.
type Options struct {
	// Percent is the GOGC used (runtime/debug.SetGCPercent).
	Percent int
	// Floor is the lowest memory limit, in bytes.
	Floor int64
	// Every is how often the limit follows the live heap (default 50 ms).
	Every time.Duration
	// Headroom is how far above the live heap the limit is, in percent of
	// it (default 100: the GOGC=100 goal). Below 100 the collector runs
	// more often than GOGC=100 once the live heap is above the floor, at
	// most every Headroom percent of the live heap allocated, so it never
	// runs back to back.
	Headroom int
}

// Start sets the collector's percent and memory limit and keeps the limit
// at Limit(Floor, live heap, other memory) until stop is called, which
// restores the percent and limit found.
func Start(o Options) (stop func()) {
	if o.Every <= 0 {
		o.Every = 50 * time.Millisecond
	}
	if o.Headroom <= 0 {
		o.Headroom = 100
	}
	prevLimit := debug.SetMemoryLimit(-1)
	p := newProbe()
	debug.SetMemoryLimit(p.limit(o.Floor, o.Headroom))
	prevPercent := debug.SetGCPercent(o.Percent)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(o.Every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				debug.SetMemoryLimit(p.limit(o.Floor, o.Headroom))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			debug.SetGCPercent(prevPercent)
			debug.SetMemoryLimit(prevLimit)
		})
	}
}

// Limit is the memory limit for a live heap of live bytes when the
// runtime holds other bytes outside the heap (stacks, metadata): the live
// heap and headroom percent of it (100: the GOGC=100 goal, twice the live
// heap), plus the other memory, and at least floor.
func Limit(floor, live, other int64, headroom int) int64 {
	return max(floor, live+live*int64(headroom)/100+other)
}

// probe reads the runtime metrics Limit needs, reusing its samples.
type probe struct {
	samples []metrics.Sample
}

func newProbe() *probe {
	return &probe{samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}}
}

// limit is Limit of the current live heap and the runtime's memory outside
// the heap (stacks, GC and span metadata, ...): what the memory limit
// counts (all but released memory) less the heap's objects and its unused
// and free space, which the GOGC=100 goal of twice the live heap already
// stands for.
func (p *probe) limit(floor int64, headroom int) int64 {
	metrics.Read(p.samples)
	v := func(i int) int64 {
		if p.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(p.samples[i].Value.Uint64())
	}
	live, total, released, objects, unused, free := v(0), v(1), v(2), v(3), v(4), v(5)
	return Limit(floor, live, max(0, total-released-objects-unused-free), headroom)
}
