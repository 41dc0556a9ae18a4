package salesforce

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// span gives each number once, in the order of its first query, skips
// queries without a number, and the union of the ranges.
func TestSpanDistinctNumbersInOrder(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	qs := []crm.ActivityQuery{
		{Number: "+358401234567", From: at, To: at.Add(time.Minute)},
		{Number: "+358501234567", From: at.Add(-time.Hour), To: at},
		{Number: "", From: at.Add(-2 * time.Hour), To: at},
		{Number: "+358401234567", From: at, To: at.Add(3 * time.Hour)},
		{Number: "+46701234567", From: at, To: at},
		{Number: "+358501234567", From: at, To: at},
	}
	numbers, from, to := span(qs)
	if want := []string{"+358401234567", "+358501234567", "+46701234567"}; !slices.Equal(numbers, want) {
		t.Errorf("numbers %q, want %q", numbers, want)
	}
	if !from.Equal(at.Add(-2*time.Hour)) || !to.Equal(at.Add(3*time.Hour)) {
		t.Errorf("range %v - %v", from, to)
	}
}

// BenchmarkSpan is a backfill window's existing-Task check: 2,000 calls
// from 1,700 numbers (`go test -bench Span ./crm/salesforce`).
func BenchmarkSpan(b *testing.B) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	qs := make([]crm.ActivityQuery, 2000)
	for i := range qs {
		qs[i] = crm.ActivityQuery{Number: fmt.Sprintf("+35840%07d", i%1700), From: at, To: at.Add(time.Minute)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if numbers, _, _ := span(qs); len(numbers) != 1700 {
			b.Fatal(len(numbers))
		}
	}
}
