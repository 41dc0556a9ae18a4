package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Profiling any command without a flag in every subcommand's usage:
// CALLSYNC_CPUPROFILE=FILE writes a CPU profile of the whole run and
// CALLSYNC_MEMPROFILE=FILE a heap profile (allocations since start, and what
// is live) at exit; CALLSYNC_PEAKHEAPPROFILE=FILE the heap profile taken
// when the process's resident set was largest (what held the memory at the
// peak; the exit one shows what is left at the end). `go tool pprof` reads
// them (https://pkg.go.dev/runtime/pprof). `make bench` uses them for the
// backfill child (`go run ./bench -cpuprofile/-memprofile/-profile-dir`).
// CALLSYNC_TRACE=FILE writes an execution trace of the whole run (where
// each goroutine ran, waited and blocked; `go tool trace`,
// https://pkg.go.dev/runtime/trace).
const (
	cpuProfileEnv      = "CALLSYNC_CPUPROFILE"
	memProfileEnv      = "CALLSYNC_MEMPROFILE"
	peakHeapProfileEnv = "CALLSYNC_PEAKHEAPPROFILE"
	traceEnv           = "CALLSYNC_TRACE"
)

// startProfiles starts what the environment asks for and returns the
// function that finishes the profiles; errors go to stderr, never stop the
// command.
func startProfiles(getenv func(string) (string, bool)) (stop func()) {
	var stops []func()
	// toFile starts a recording the environment names a file for.
	toFile := func(env string, start func(io.Writer) error, stop func()) {
		path, ok := getenv(env)
		if !ok || path == "" {
			return
		}
		f, err := os.Create(path)
		if err == nil {
			err = start(f)
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			fmt.Fprintf(os.Stderr, "callsync: %s: %v\n", env, err)
			return
		}
		stops = append(stops, func() { stop(); f.Close() })
	}
	toFile(cpuProfileEnv, pprof.StartCPUProfile, pprof.StopCPUProfile)
	toFile(traceEnv, trace.Start, trace.Stop)
	if path, ok := getenv(memProfileEnv); ok && path != "" {
		stops = append(stops, func() {
			f, err := os.Create(path)
			if err == nil {
				runtime.GC()
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "callsync: %s: %v\n", memProfileEnv, err)
			}
		})
	}
	if path, ok := getenv(peakHeapProfileEnv); ok && path != "" {
		p := newPeakHeapProfiler(path, residentBytes)
		stopTicker := p.start(peakSampleInterval)
		stops = append(stops, func() {
			stopTicker()
			at, err := p.finish(time.Now())
			if err != nil {
				fmt.Fprintf(os.Stderr, "callsync: %s: %v\n", peakHeapProfileEnv, err)
			} else {
				fmt.Fprintf(os.Stderr, "callsync: %s: heap profile at peak RSS %s in %s\n", peakHeapProfileEnv, at, path)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

const (
	// peakSampleInterval is how often the resident set is read (a read of
	// /proc/self/statm, microseconds).
	peakSampleInterval = 100 * time.Millisecond
	// peakWriteEvery bounds how often the peak profile is written to its
	// file while the process runs; the last peak's is written at exit.
	peakWriteEvery = 5 * time.Second
	// peakGrowth: a new profile is taken when the resident set exceeds
	// the one of the last profile by this fraction (1/64), so a steadily
	// growing process takes a few hundred profiles, not one per sample.
	peakGrowth = 64
)

// peakHeapProfiler keeps the heap profile taken at the largest resident set
// seen. The heap profile is the one of the last completed garbage
// collection (runtime/pprof's "heap"), so it is the live heap near the
// peak, not at its instant.
type peakHeapProfiler struct {
	path  string
	rss   func() (uint64, error)
	goMem func() goMemory
	every time.Duration

	mu        sync.Mutex
	peak      peakSample // when profile was taken
	profile   []byte
	dirty     bool // profile not yet in the file
	lastWrite time.Time
	err       error // first error, reported at finish
}

func newPeakHeapProfiler(path string, rss func() (uint64, error)) *peakHeapProfiler {
	return &peakHeapProfiler{path: path, rss: rss, goMem: readGoMemory, every: peakWriteEvery}
}

// peakSample is the resident set at a peak and what the Go runtime held
// then.
type peakSample struct {
	rss uint64
	goMemory
}

// goMemory is what the Go runtime holds (runtime/metrics,
// https://pkg.go.dev/runtime/metrics): held, all the memory it has mapped
// less what it has returned to the OS (an upper bound of its part of the
// resident set: a page mapped and never touched is not resident), and of
// it heap, the heap's objects, live or not yet collected. The rest of the
// resident set is outside the runtime: the binary's pages read, the C
// libraries and SQLite's page cache.
type goMemory struct {
	held, heap uint64
}

func readGoMemory() goMemory {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return goMemory{held: v(0) - min(v(0), v(1)), heap: v(2)}
}

// String reads as "96.4 MiB (Go runtime at most 70.1 MiB, heap objects
// 45.2 MiB; outside it at least 26.3 MiB)", the rest left out when the
// runtime's figures are unknown.
func (s peakSample) String() string {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	if s.held == 0 {
		return fmt.Sprintf("%.1f MiB", mib(s.rss))
	}
	return fmt.Sprintf("%.1f MiB (Go runtime at most %.1f MiB, heap objects %.1f MiB; outside it at least %.1f MiB)",
		mib(s.rss), mib(s.held), mib(s.heap), mib(s.rss-min(s.rss, s.held)))
}

// start samples the resident set every interval until the returned
// function is called.
func (p *peakHeapProfiler) start(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p.observe(now)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// observe reads the resident set; above the last profile's by 1/64 it
// takes a heap profile, and writes the one it holds when the last write is
// older than every.
func (p *peakHeapProfiler) observe(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rss, err := p.rss()
	if err != nil {
		p.fail(err)
		return
	}
	if rss > p.peak.rss+p.peak.rss/peakGrowth {
		var b bytes.Buffer
		if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
			p.fail(err)
			return
		}
		p.peak, p.profile, p.dirty = peakSample{rss, p.goMem()}, b.Bytes(), true
	}
	if p.dirty && now.Sub(p.lastWrite) >= p.every {
		p.write(now)
	}
}

// finish takes a last sample and writes the peak's profile if the file
// does not hold it yet; it returns the resident set of that profile and
// what the Go runtime held then.
func (p *peakHeapProfiler) finish(now time.Time) (peakSample, error) {
	p.observe(now)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty {
		p.write(now)
	}
	return p.peak, p.err
}

// write replaces the file through a rename, so a reader never sees part of
// a profile.
func (p *peakHeapProfiler) write(now time.Time) {
	tmp := p.path + ".tmp"
	err := os.WriteFile(tmp, p.profile, 0o644)
	if err == nil {
		err = os.Rename(tmp, p.path)
	}
	if err != nil {
		p.fail(err)
		return
	}
	p.dirty, p.lastWrite = false, now
}

func (p *peakHeapProfiler) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// residentBytes is the process's resident set: /proc/self/statm's second
// field in pages (proc(5)); where there is no /proc, the memory the Go
// runtime has mapped less what it has returned to the OS (runtime/metrics).
func residentBytes() (uint64, error) {
	if b, err := os.ReadFile(filepath.Join("/proc", "self", "statm")); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 2 {
			pages, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("statm: %w", err)
			}
			return pages * uint64(os.Getpagesize()), nil
		}
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0, fmt.Errorf("no resident set: neither /proc/self/statm nor runtime/metrics")
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64(), nil
}
