package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// The allocations of TestPeakHeapProfile, each by its own function so the
// heap profile tells them apart.
//
//go:noinline
func peakTestHoldA() []byte { return make([]byte, 8<<20) }

//go:noinline
func peakTestHoldB() []byte { return make([]byte, 8<<20) }

//go:noinline
func peakTestHoldC() []byte { return make([]byte, 8<<20) }

// inuseBy is the in-use bytes of a heap profile file allocated under the
// function whose name ends in fn.
func inuseBy(t *testing.T, path, fn string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "inuse_space" {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("%s: no inuse_space in %v", path, p.SampleType)
	}
	var n int64
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if strings.HasSuffix(l.Function.Name, "."+fn) {
					n += s.Value[idx]
				}
			}
		}
	}
	return n
}

// TestPeakHeapProfile: the file holds the heap profile taken at the largest
// resident set, written at most every peakWriteEvery while running and at
// finish, not the profile of the exit.
func TestPeakHeapProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peak.pprof")
	var rss uint64
	p := newPeakHeapProfiler(path, func() (uint64, error) { return rss, nil })
	// What the runtime holds follows the resident set: half of it, heap
	// objects a quarter.
	p.goMem = func() goMemory { return goMemory{held: rss / 2, heap: rss / 4} }
	t0 := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)

	a := peakTestHoldA()
	runtime.GC() // the heap profile is the last collection's
	rss = 100 << 20
	p.observe(t0)
	if inuseBy(t, path, "peakTestHoldA") < 8<<20 {
		t.Fatal("the first peak's profile was not written or does not show A")
	}
	runtime.KeepAlive(a)

	a = nil
	b := peakTestHoldB()
	runtime.GC()
	rss = 200 << 20
	p.observe(t0.Add(time.Second)) // a new peak, within peakWriteEvery of the write
	if inuseBy(t, path, "peakTestHoldB") != 0 {
		t.Fatal("the file was rewritten within peakWriteEvery")
	}
	runtime.KeepAlive(b)

	b = nil
	c := peakTestHoldC()
	runtime.GC()
	rss = 150 << 20 // below the peak: no profile
	at, err := p.finish(t0.Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(c)
	if want := (peakSample{200 << 20, goMemory{held: 100 << 20, heap: 50 << 20}}); at != want {
		t.Errorf("finish reports the profile at %+v, want the peak's %+v", at, want)
	}
	if inuseBy(t, path, "peakTestHoldB") < 8<<20 {
		t.Error("the file at finish is not the peak's profile (B held)")
	}
	if inuseBy(t, path, "peakTestHoldC") != 0 {
		t.Error("the file at finish shows the exit's heap (C), not the peak's")
	}

	// Written again once peakWriteEvery has passed, without waiting for finish.
	rss = 400 << 20
	p.observe(t0.Add(3 * time.Second))
	if inuseBy(t, path, "peakTestHoldC") != 0 {
		t.Fatal("written within peakWriteEvery of the last write")
	}
	p.observe(t0.Add(2*time.Second + peakWriteEvery))
	if inuseBy(t, path, "peakTestHoldC") < 8<<20 {
		t.Error("the new peak was not written after peakWriteEvery")
	}
	runtime.KeepAlive(c)
}

// TestPeakSampleString: the resident set, what the runtime held of it and
// the rest; the resident set alone when the runtime's figures are unknown.
func TestPeakSampleString(t *testing.T) {
	for _, tc := range []struct {
		s    peakSample
		want string
	}{
		{peakSample{96 << 20, goMemory{held: 70 << 20, heap: 45 << 20}}, "96.0 MiB (Go runtime at most 70.0 MiB, heap objects 45.0 MiB; outside it at least 26.0 MiB)"},
		{peakSample{60 << 20, goMemory{held: 64 << 20, heap: 40 << 20}}, "60.0 MiB (Go runtime at most 64.0 MiB, heap objects 40.0 MiB; outside it at least 0.0 MiB)"},
		{peakSample{rss: 96 << 20}, "96.0 MiB"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestReadGoMemory: the runtime holds its heap's objects and more.
func TestReadGoMemory(t *testing.T) {
	hold := make([]byte, 16<<20)
	m := readGoMemory()
	if m.heap < 16<<20 || m.held < m.heap {
		t.Errorf("%+v: want heap objects of at least 16 MiB, held at least the heap", m)
	}
	runtime.KeepAlive(hold)
}

// TestPeakHeapProfileFromEnvironment: CALLSYNC_PEAKHEAPPROFILE writes a heap
// profile from the process's own resident set.
func TestPeakHeapProfileFromEnvironment(t *testing.T) {
	if _, err := residentBytes(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "peak.pprof")
	stop := startProfiles(func(k string) (string, bool) {
		if k == peakHeapProfileEnv {
			return path, true
		}
		return "", false
	})
	time.Sleep(3 * peakSampleInterval)
	stop()
	inuseBy(t, path, "none") // parses as a heap profile
}

// TestTraceFromEnvironment: CALLSYNC_TRACE writes an execution trace of the
// run (a file that starts with the runtime's trace header, "go 1.N trace").
func TestTraceFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.trace")
	stop := startProfiles(func(k string) (string, bool) {
		if k == traceEnv {
			return path, true
		}
		return "", false
	})
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if head, _, ok := strings.Cut(string(b[:min(len(b), 16)]), " trace"); !ok || !strings.HasPrefix(head, "go 1.") {
		t.Errorf("trace file starts %q, want the runtime's trace header", b[:min(len(b), 16)])
	}
}
