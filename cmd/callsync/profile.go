package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiling any command without a flag in every subcommand's usage:
// CALLSYNC_CPUPROFILE=FILE writes a CPU profile of the whole run and
// CALLSYNC_MEMPROFILE=FILE a heap profile (allocations since start, and what
// is live) at exit; `go tool pprof` reads both
// (https://pkg.go.dev/runtime/pprof). `make bench` uses them for the
// backfill child (`go run ./bench -cpuprofile/-memprofile`).
const (
	cpuProfileEnv = "CALLSYNC_CPUPROFILE"
	memProfileEnv = "CALLSYNC_MEMPROFILE"
)

// startProfiles starts what the environment asks for and returns the
// function that finishes the profiles; errors go to stderr, never stop the
// command.
func startProfiles(getenv func(string) (string, bool)) (stop func()) {
	var stops []func()
	if path, ok := getenv(cpuProfileEnv); ok && path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "callsync: %s: %v\n", cpuProfileEnv, err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
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
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
