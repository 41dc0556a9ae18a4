package phone

import "testing"

// Microbenchmarks of the number normalisation on the backfill's hot path
// (`go test -bench . ./phone`): every call's customer number is normalised,
// each new number's CRM forms are built once, and each CRM hit is verified.

var benchRaws = []string{"+358401234567", "0401234567", "358501234567", "+46701234567", "+14255550100", "00358401234567"}

func BenchmarkNormalizeCaller(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := NormalizeCaller(benchRaws[i%len(benchRaws)], "FI"); !ok {
			b.Fatal("unmatchable")
		}
	}
}

func BenchmarkForms(b *testing.B) {
	n, _ := NormalizeCaller("+358401234567", "FI")
	b.ReportAllocs()
	for b.Loop() {
		if len(Forms(n)) == 0 {
			b.Fatal("no forms")
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	n, _ := NormalizeCaller("+358401234567", "FI")
	b.ReportAllocs()
	for b.Loop() {
		if !Match(n, "040 123 4567", "FI") {
			b.Fatal("no match")
		}
	}
}

// An international value, as Enreach sends most callers and CRMs often store
// numbers: read by parseInternational instead of phonenumbers.Parse.
func BenchmarkNormalizeE164(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := NormalizeCaller("+358401234567", "FI"); !ok {
			b.Fatal("unmatchable")
		}
	}
}

func BenchmarkMatchInternational(b *testing.B) {
	n, _ := NormalizeCaller("+358401234567", "FI")
	b.ReportAllocs()
	for b.Loop() {
		if !Match(n, "+358 40 123 4567", "FI") {
			b.Fatal("no match")
		}
	}
}
