package phone

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// checkMatchRef fails when Match(caller, stored, region) differs from the
// reference: referenceParse of stored and libphonenumber's
// IsNumberMatchWithNumbers, EXACT_MATCH or NSN_MATCH; it reports whether
// callersReading answered.
func checkMatchRef(t testing.TB, caller Number, stored, region string) (short bool) {
	t.Helper()
	s := referenceParse(stored, region, false)
	want := false
	if caller.Matchable() && s.Matchable() {
		m := phonenumbers.IsNumberMatchWithNumbers(caller.pn, s.pn)
		want = m == phonenumbers.EXACT_MATCH || m == phonenumbers.NSN_MATCH
	}
	if got := Match(caller, stored, region); got != want {
		t.Fatalf("Match(%s read from %q, %q, %q) = %v, reference %v", caller.e164, caller.raw, stored, region, got, want)
	}
	return caller.Matchable() && callersReading(caller, stored, region) != nil
}

// storedVariants are values a CRM may hold for the number of raw: itself,
// its E.164 with and without '+', libphonenumber's formats, with an
// extension, with the trunk zero in brackets, and a neighbour.
func storedVariants(n Number) []string {
	out := []string{n.raw}
	if !n.Matchable() {
		return out
	}
	natl := phonenumbers.Format(n.pn, phonenumbers.NATIONAL)
	intl := phonenumbers.Format(n.pn, phonenumbers.INTERNATIONAL)
	out = append(out, n.e164, n.e164[1:], "00"+n.e164[1:], intl, natl, phonenumbers.NormalizeDigitsOnly(natl),
		n.e164+" ext. 12", natl+" #12", strings.Replace(intl, " ", " (0)", 1), n.e164[:len(n.e164)-1], n.e164+"1",
		n.e164[:len(n.e164)-1]+string('0'+(n.e164[len(n.e164)-1]-'0'+1)%10))
	return out
}

func TestMatchAsReference(t *testing.T) {
	short, all := 0, 0
	values := corpusValues(t)
	for i := 0; i < len(values); i += 3 { // a third of them: every shape, a shorter test
		v := values[i]
		for _, region := range []string{"FI", diffRegions[i%len(diffRegions)]} {
			for _, caller := range []func(string, string) (Number, bool){NormalizeCaller, Normalize} {
				n, _ := caller(v, region)
				for _, stored := range storedVariants(n) {
					all++
					if checkMatchRef(t, n, stored, region) {
						short++
					}
				}
				// Another value of the corpus, read in the same region.
				checkMatchRef(t, n, values[(i*7+3)%len(values)], region)
			}
		}
	}
	examples := exampleValues()
	for i := 0; i < len(examples); i += 3 {
		n, _ := NormalizeCaller(examples[i], diffRegions[i%len(diffRegions)])
		for _, stored := range storedVariants(n) {
			all++
			if checkMatchRef(t, n, stored, n.home) {
				short++
			}
		}
	}
	// The caller's own number written otherwise is the common case: the
	// test compares the short way with the reference, not only the full
	// parse with itself.
	if short < all/4 {
		t.Errorf("callersReading answered %d of %d matches: want a quarter at least", short, all)
	}
	t.Logf("callersReading answered %d of %d matches", short, all)
}

func FuzzMatchAsReference(f *testing.F) {
	for _, s := range []string{
		"+358401234567", "0401234567", "040 123 4567", "358401234567", "+358 (0)40 123 4567", "+358401234567 ext. 12",
		"+14255550100", "(425) 555-0100", "+390612345678", "06 1234 5678", "+4402071234567", "810000000000", "anonymous",
	} {
		for _, region := range []string{"FI", "US", "IT", "GB", ""} {
			f.Add(s, s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, stored, region string) {
		for _, text := range []string{raw, fuzzShape(raw)} {
			n, _ := NormalizeCaller(text, region)
			checkMatchRef(t, n, stored, region)
			for _, v := range storedVariants(n) {
				checkMatchRef(t, n, v, region)
			}
		}
	})
}
