package cputime

import "testing"

// Work done on the CPU shows in Self: it grows by at least part of a spin.
func TestSelfGrowsWithWork(t *testing.T) {
	before := Self()
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i ^ (x >> 3)
	}
	if after := Self(); after <= before {
		t.Fatalf("Self went from %v to %v over a busy loop (%d)", before, after, x)
	}
}
