// Package cputime reads this process's CPU time, user and system, for the
// benchmarks that report CPU per operation beside wall time: on a machine
// shared with other work the CPU a run used stays comparable where its
// wall time does not.
package cputime

import (
	"syscall"
	"time"
)

// Self returns the user and system CPU time this process has used so far
// (getrusage(RUSAGE_SELF)), 0 if it cannot be read.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
