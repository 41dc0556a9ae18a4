package phone

import (
	"fmt"
	"slices"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// Forms must list exactly the forms it listed before it was made cheaper:
// formsRef is that code, kept as the reference, and these tests compare the
// two over the corpora of stored values, libphonenumber's example numbers
// of every region and type with variations, numbers like the backfill's
// unknown callers, and random input (FuzzFormsRef).

// formsRef is Forms before "00" + digits was decided without parsing it.
func formsRef(n Number) []string {
	if !n.Matchable() {
		return nil
	}
	intl := phonenumbers.Format(n.pn, phonenumbers.INTERNATIONAL)
	natl := phonenumbers.Format(n.pn, phonenumbers.NATIONAL)
	digits := n.Digits()
	home := n.homeCC != 0 && n.homeCC == n.CountryCode()
	candidates := []struct {
		s        string
		national bool
	}{
		{n.e164, false},
		{intl, false},
		{natl, true},
		{phonenumbers.NormalizeDigitsOnly(natl), true},
		{digits, false},
		{"00" + digits, false},
		{regroup(intl, "-"), false},
		{regroup(natl, "-"), true},
		{regroup(intl, " "), false},
		{regroup(natl, " "), true},
		{splitLast(natl), true},
		{splitLast(intl), false},
	}
	seen := make(map[string]bool, len(candidates))
	out := make([]string, 0, len(candidates))
	matched := map[string]bool{plain(n.e164): true}
	for _, c := range candidates {
		if c.s == "" || seen[c.s] || (c.national && !home) {
			continue
		}
		seen[c.s] = true
		key := plain(c.s)
		ok, known := matched[key]
		if !known {
			ok = Match(n, c.s, n.home)
			matched[key] = ok
		}
		if !ok {
			continue
		}
		out = append(out, c.s)
		if len(out) == MaxForms {
			break
		}
	}
	return out
}

// formsRegions are default regions whose international prefix is "00"
// first (FI, SE, DE, GB, IT, NL, NO), is another one (US "011", BR and
// BO "00" with more digits, AU, RU "810", JP "010", KE "000"), or none
// (an unknown region, no region).
var formsRegions = []string{"FI", "SE", "DE", "GB", "IT", "NL", "NO", "US", "BR", "BO", "AU", "RU", "JP", "KE", "ZZ", ""}

// checkFormsRef fails when Forms and formsRef differ for raw, read both as
// a caller (NormalizeCaller) and as a stored value (Normalize).
func checkFormsRef(t *testing.T, raw, region string) {
	t.Helper()
	for _, normalize := range []func(string, string) (Number, bool){NormalizeCaller, Normalize} {
		n, _ := normalize(raw, region)
		if got, want := Forms(n), formsRef(n); !slices.Equal(got, want) {
			t.Fatalf("Forms(%q read in %q as %s) =\n%q\nreference\n%q", raw, region, n.E164(), got, want)
		}
	}
}

func TestFormsEqualsRef(t *testing.T) {
	values := corpusValues(t)
	for i := 0; i < 300; i++ { // the backfill's unknown callers: +35850 and seven digits
		values = append(values, fmt.Sprintf("+35850%07d", 1000000+i*29989))
	}
	for i, v := range values {
		checkFormsRef(t, v, formsRegions[i%len(formsRegions)])
		checkFormsRef(t, v, "FI")
	}
	for i, v := range exampleValues() {
		checkFormsRef(t, v, formsRegions[i%len(formsRegions)])
	}
}

func FuzzFormsRef(f *testing.F) {
	for _, s := range []string{
		"+358401234567", "358501234567", "0401234567", "00358401234567", "+14255550100", "(425) 555-0100",
		"+46701234567", "+390612345678", "0039 06 1234 5678", "+5511912345678", "+61412345678", "+78005553535",
		"+80012345678", "+358 9 1234", "+4930123456", "+4402071234567", "anonymous", "",
	} {
		for _, region := range []string{"FI", "US", "BR", "AU", ""} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		for _, text := range []string{raw, fuzzShape(raw), "00" + phonenumbers.NormalizeDigitsOnly(raw)} {
			checkFormsRef(t, text, region)
		}
	})
}
