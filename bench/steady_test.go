package main

import (
	"testing"

	"github.com/callsync/callsync/jobs"
)

// The floor of a tenant's cycle: the directory sync when it has calls to
// decide, the write when it wrote; nothing when every call it read was
// already written.
func TestUnavoidableRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    jobs.Summary
		want int
	}{
		{"no calls", jobs.Summary{}, 0},
		{"only calls written before", jobs.Summary{Seen: 3, Already: 3}, 0},
		{"calls from unknown callers", jobs.Summary{Seen: 2, Unresolved: 2}, 1},
		{"calls written", jobs.Summary{Seen: 4, Already: 1, Written: 3}, 2},
	} {
		if got := unavoidableRequests(tc.s); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
