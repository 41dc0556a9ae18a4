package phone

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// The fast path for international values (parseInternational) must give
// exactly what phonenumbers.Parse gives: these tests compare the two on the
// corpora of stored values, libphonenumber's example numbers of every
// region and type with variations, and random input (FuzzParseInternational),
// and compare Normalize, NormalizeCaller and Match with a reference that
// calls the library only (referenceParse, the code before the fast path).

// diffRegions are the default regions each value is read with: ordinary
// ones, those with unusual national prefixes for parsing (RU 8, AR, BR, GB),
// the non-geographic "001", unknown ones and none.
var diffRegions = []string{"FI", "US", "IT", "GB", "SE", "DE", "RU", "AR", "BR", "001", "ZZ", "fi", ""}

// samePhoneNumber reports whether a and b are equal in every field of a
// parsed number (what proto.Equal compares for these messages).
func samePhoneNumber(a, b *phonenumbers.PhoneNumber) bool {
	if a == nil || b == nil {
		return a == b
	}
	sameInt32 := func(x, y *int32) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	sameString := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return sameInt32(a.CountryCode, b.CountryCode) &&
		(a.NationalNumber == nil) == (b.NationalNumber == nil) && a.GetNationalNumber() == b.GetNationalNumber() &&
		sameString(a.Extension, b.Extension) &&
		(a.ItalianLeadingZero == nil) == (b.ItalianLeadingZero == nil) && a.GetItalianLeadingZero() == b.GetItalianLeadingZero() &&
		sameInt32(a.NumberOfLeadingZeros, b.NumberOfLeadingZeros) &&
		sameString(a.RawInput, b.RawInput) &&
		(a.CountryCodeSource == nil) == (b.CountryCodeSource == nil) && a.GetCountryCodeSource() == b.GetCountryCodeSource() &&
		sameString(a.PreferredDomesticCarrierCode, b.PreferredDomesticCarrierCode)
}

// checkParse fails when parseNumber(text, region) differs from
// phonenumbers.Parse in its number or its error, and reports whether the
// fast path answered.
func checkParse(t testing.TB, text, region string) (fast bool) {
	t.Helper()
	want, wantErr := phonenumbers.Parse(text, region)
	if p := parseInternational(text); p != nil {
		if wantErr != nil {
			t.Fatalf("parseInternational(%q) = %v, phonenumbers.Parse(%q, %q) fails: %v", text, p, text, region, wantErr)
		}
		if !samePhoneNumber(p, want) {
			t.Fatalf("parseInternational(%q) = %v, phonenumbers.Parse(%q, %q) = %v", text, p, text, region, want)
		}
		fast = true
	}
	got, err := parseNumber(text, region)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("parseNumber(%q, %q) error %v, phonenumbers.Parse %v", text, region, err, wantErr)
	}
	if err == nil && !samePhoneNumber(got, want) {
		t.Fatalf("parseNumber(%q, %q) = %v, phonenumbers.Parse = %v", text, region, got, want)
	}
	return fast
}

// referenceParse is parse as it was before the fast path: every reading
// through phonenumbers.Parse and phonenumbers.IsValidNumber.
func referenceParse(raw, defaultRegion string, intlFirst bool) Number {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	n := Number{raw: raw, home: region, homeCC: phonenumbers.GetCountryCodeForRegion(region)}
	s := strings.TrimSpace(raw)
	if s == "" {
		n.reason = Empty
		return n
	}
	if len(s) > 250 {
		n.reason = Unparsable
		return n
	}
	digits := phonenumbers.NormalizeDigitsOnly(s)
	if digits == "" {
		n.reason = Unparsable
		if withheld(s) {
			n.reason = Withheld
		}
		if strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || r == '+' }) == "" {
			n.reason = Empty
		}
		return n
	}
	readings := []struct{ text, region string }{{s, region}}
	if !strings.Contains(s, "+") {
		if intlFirst && !strings.HasPrefix(digits, "0") && phonenumbers.GetNddPrefixForRegion(region, true) == "0" {
			readings = append([]struct{ text, region string }{{"+" + digits, ""}}, readings...)
		} else {
			readings = append(readings, struct{ text, region string }{"+" + digits, ""})
		}
		if strings.HasPrefix(digits, "00") {
			readings = append(readings, struct{ text, region string }{"+" + digits[2:], ""})
		}
	}
	var best, possible *phonenumbers.PhoneNumber
	parsedAny, minLen := false, -1
	for _, r := range readings {
		p, err := phonenumbers.Parse(r.text, r.region)
		if err != nil {
			continue
		}
		parsedAny = true
		l := len(phonenumbers.GetNationalSignificantNumber(p))
		if minLen < 0 || l < minLen {
			minLen = l
		}
		if l < MinNationalLength {
			continue
		}
		if phonenumbers.IsValidNumber(p) {
			best = p
			break
		}
		if possible == nil && phonenumbers.IsPossibleNumber(p) {
			possible = p
		}
	}
	if best == nil {
		best = possible
	}
	if best == nil {
		switch {
		case len(digits) < MinNationalLength, parsedAny && minLen < MinNationalLength:
			n.reason = TooShort
		case !parsedAny:
			n.reason = Unparsable
		default:
			n.reason = Impossible
		}
		return n
	}
	e164 := phonenumbers.Format(best, phonenumbers.E164)
	if again, err := phonenumbers.Parse(e164, ""); err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		n.reason = Impossible
		return n
	}
	n.pn = best
	n.e164 = e164
	n.region = phonenumbers.GetRegionCodeForNumber(best)
	return n
}

// checkNormalize fails when Normalize, NormalizeCaller or Match of raw
// differ from the reference.
func checkNormalize(t testing.TB, raw, region string) {
	t.Helper()
	for _, intlFirst := range []bool{false, true} {
		got, _ := normalize(raw, region, intlFirst)
		want := referenceParse(raw, region, intlFirst)
		if want.pn != nil && want.pn.GetExtension() != "" { // as normalize
			if p, err := phonenumbers.Parse(want.e164, ""); err == nil {
				want.pn = p
			}
		}
		if got.e164 != want.e164 || got.region != want.region || got.home != want.home || got.homeCC != want.homeCC || !samePhoneNumber(got.pn, want.pn) {
			t.Fatalf("normalize(%q, %q, %v) = %+v, reference %+v", raw, region, intlFirst, got, want)
		}
		if got.Reason() != want.Reason() {
			t.Fatalf("normalize(%q, %q, %v) reason %q, reference %q", raw, region, intlFirst, got.Reason(), want.Reason())
		}
		if !got.Matchable() {
			continue
		}
		// The number against the stored value itself and its E.164 digits.
		for _, stored := range []string{raw, got.e164, got.e164[1:], phonenumbers.Format(got.pn, phonenumbers.INTERNATIONAL)} {
			s := referenceParse(stored, region, false)
			want := s.Matchable() && func() bool {
				m := phonenumbers.IsNumberMatchWithNumbers(want.pn, s.pn)
				return m == phonenumbers.EXACT_MATCH || m == phonenumbers.NSN_MATCH
			}()
			if Match(got, stored, region) != want {
				t.Fatalf("Match(%s, %q, %q) = %v, reference %v", got.e164, stored, region, !want, want)
			}
		}
	}
}

// corpusValues are the stored values of match/testdata's corpora (and their
// truths), phone's fuzz seeds and the values of phone's own tests.
func corpusValues(t *testing.T) []string {
	t.Helper()
	var out []string
	files, err := filepath.Glob(filepath.Join("..", "match", "testdata", "corpus_*.tsv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("match/testdata corpora: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "#") || strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) < 6 {
				t.Fatalf("%s: %q: want 6 columns or more", file, sc.Text())
			}
			stored, err := strconv.Unquote(cols[5])
			if err != nil {
				t.Fatalf("%s: %q: %v", file, cols[5], err)
			}
			out = append(out, stored, cols[4])
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	for _, file := range seeds {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "string("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(v, ")")); err == nil {
					out = append(out, s)
				}
			}
		}
	}
	return append(out,
		"+358401234567", "+358 40 1234567", "+358 (0)40 123 4567", "+358-40-123-4567", "tel:+358-40-123-4567",
		"+358401234567 ext. 12", "+390612345678", "+39 06 1234 5678", "+39 0", "+3900", "+39000000", "+390000000001",
		"+14255550100", "+1 (425) 555-0100", "+1 425.555.0100", "+7 812 123-45-67", "+7 800 555 35 35", "+78005553535",
		"+54 9 11 1234 5678", "+5491112345678", "+55 11 91234 5678", "+44 20 7123 4567", "+44 (0)20 7123 4567",
		"+4402071234567", "+800 1234 5678", "+80012345678", "+882 1234 567890", "+999 123456789", "+358 9 1234",
		"+35891234", "+", "+1", "+12", "+123", "+1234", "+0123456789", "++358401234567", "+358401234567.", "+358401234567-",
		"+ 358 40 123 4567", "+358\u00a040\u00a01234567", "+358\u00a0", "+358 40 123 4567 #", "+358 40 123 4567x12",
		"+358/40/1234567", "+358 40 1234567/x12", "+"+strings.Repeat("1", 30), "+35840123456789012345",
		"+262 269 12 34 56", "+590 590 12 34 56", "+47 41 23 45 67", "+45 20 12 34 56", "+379 123456",
	)
}

// exampleValues are libphonenumber's example numbers of every supported
// region and non-geographic calling code, of every type, in E.164 and
// international format, with a trunk mark, a doubled first digit, a zero
// inserted after the calling code and digits cut off or added.
func exampleValues() []string {
	var nums []*phonenumbers.PhoneNumber
	for region := range phonenumbers.GetSupportedRegions() {
		for typ := phonenumbers.FIXED_LINE; typ <= phonenumbers.VOICEMAIL; typ++ {
			if p := phonenumbers.GetExampleNumberForType(region, typ); p != nil {
				nums = append(nums, p)
			}
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if p := phonenumbers.GetExampleNumberForNonGeoEntity(cc); p != nil {
			nums = append(nums, p)
		}
	}
	var out []string
	for _, p := range nums {
		cc := strconv.Itoa(int(p.GetCountryCode()))
		nsn := phonenumbers.GetNationalSignificantNumber(p)
		intl := phonenumbers.Format(p, phonenumbers.INTERNATIONAL)
		out = append(out,
			"+"+cc+nsn, intl, strings.ReplaceAll(intl, " ", "-"), strings.ReplaceAll(intl, " ", "."),
			"+"+cc+" (0)"+nsn, "+"+cc+"0"+nsn, "+"+cc+"00"+nsn, "+"+cc+nsn[:1]+nsn,
			"+"+cc+nsn[:len(nsn)-1], "+"+cc+nsn+"0", "+"+cc+nsn+"12", cc+nsn, "00"+cc+nsn,
			phonenumbers.Format(p, phonenumbers.NATIONAL), phonenumbers.Format(p, phonenumbers.RFC3966))
	}
	return out
}

func TestParseInternationalIsParse(t *testing.T) {
	fast, intl := 0, 0
	check := func(values, regions []string) {
		for _, v := range values {
			s := strings.TrimSpace(v)
			texts := []string{s}
			if d := phonenumbers.NormalizeDigitsOnly(s); d != "" {
				texts = append(texts, "+"+d)
				if strings.HasPrefix(d, "00") {
					texts = append(texts, "+"+d[2:])
				}
			}
			for _, text := range texts {
				if !strings.HasPrefix(text, "+") {
					checkParse(t, text, regions[0])
					continue
				}
				for _, region := range regions {
					intl++
					if checkParse(t, text, region) {
						fast++
					}
				}
			}
		}
	}
	check(corpusValues(t), diffRegions)
	// The default region plays no part for "+" values: two suffice.
	check(exampleValues(), []string{"FI", ""})
	// Most international values take the fast path: the test compares it
	// with the library, not only the fallback with itself.
	if fast < intl*3/4 {
		t.Errorf("fast path taken for %d of %d international parses: want 3/4 at least", fast, intl)
	}
	t.Logf("fast path taken for %d of %d international parses", fast, intl)
}

func TestNormalizeAsReference(t *testing.T) {
	for _, v := range corpusValues(t) {
		for _, region := range []string{"FI", "US", "RU", "001", ""} {
			checkNormalize(t, v, region)
		}
	}
	examples := exampleValues()
	for i := 0; i < len(examples); i += 15 { // E.164 and international format of each
		checkNormalize(t, examples[i], "FI")
		checkNormalize(t, examples[i+1], "US")
	}
}

// TestParseInternationalKeepsLibraryDecisions pins the cases the fast path
// leaves to the library, each of which it would get wrong alone.
func TestParseInternationalKeepsLibraryDecisions(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"+358 (0)40 123 4567", "+358401234567"}, // trunk 0 stripped
		{"+3580401234567", "+358401234567"},
		{"+4402071234567", "+442071234567"},
		{"+78125551234", "+78125551234"}, // RU: 8 is the national prefix, but not stripped here
		{"+390612345678", "+390612345678"},
		{"+39 06 1234 5678", "+390612345678"},
		{"+80012345678", "+80012345678"},
	} {
		p, err := parseNumber(tc.text, "FI")
		if err != nil {
			t.Fatalf("parseNumber(%q): %v", tc.text, err)
		}
		if got := phonenumbers.Format(p, phonenumbers.E164); got != tc.want {
			t.Errorf("parseNumber(%q) = %s, want %s", tc.text, got, tc.want)
		}
		checkParse(t, tc.text, "FI")
	}
	for _, text := range []string{"+358401234567", "+358 40 123 4567", "+39 06 1234 5678", "+1 (425) 555-0100", "+358\u00a040\u00a01234567"} {
		if parseInternational(text) == nil {
			t.Errorf("parseInternational(%q) = nil: the fast path should read it", text)
		}
	}
	for _, text := range []string{"+358 (0)40 123 4567", "+80012345678", "+999123456", "+358401234567 ext. 12", "tel:+358401234567", "+358401234567#", "++358401234567", "+12"} {
		if parseInternational(text) != nil {
			t.Errorf("parseInternational(%q) answered: the library should", text)
		}
	}
}

// fuzzShape turns arbitrary bytes into "+" and digits and separators, the
// fast path's input, so that random input reaches it.
func fuzzShape(b string) string {
	const alphabet = "0123456789 -.()"
	var sb strings.Builder
	sb.WriteByte('+')
	for i := 0; i < len(b); i++ {
		if c := b[i] % 17; c == 16 {
			sb.WriteString("\u00a0")
		} else if c == 15 {
			sb.WriteByte(b[i]) // anything, rarely
		} else {
			sb.WriteByte(alphabet[c])
		}
	}
	return sb.String()
}

func FuzzParseInternational(f *testing.F) {
	for _, s := range []string{
		"+358401234567", "+358 (0)40 123 4567", "+39 06 1234 5678", "+3900", "+7 812 123 45 67", "+5491112345678",
		"+1 (425) 555-0100", "+80012345678", "+999 123", "+358\u00a040", "358401234567", "0401234567", "12345678",
	} {
		for _, region := range []string{"FI", "US", "RU", ""} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		for _, text := range []string{raw, fuzzShape(raw), "+" + phonenumbers.NormalizeDigitsOnly(raw)} {
			checkParse(t, text, region)
			checkParse(t, strings.TrimSpace(text), region)
			checkNormalize(t, text, region)
		}
	})
}

func TestRegionAndValidityIsLibrary(t *testing.T) {
	shared := 0
	for _, v := range append(corpusValues(t), exampleValues()...) {
		for _, region := range []string{"FI", "US"} {
			p, err := phonenumbers.Parse(v, region)
			if err != nil {
				continue
			}
			got, valid := regionAndValidity(p)
			if want, wantValid := phonenumbers.GetRegionCodeForNumber(p), phonenumbers.IsValidNumber(p); got != want || valid != wantValid {
				t.Fatalf("regionAndValidity(%q read in %s) = %q %v, library %q %v", v, region, got, valid, want, wantValid)
			}
			if len(phonenumbers.GetRegionCodesForCountryCode(int(p.GetCountryCode()))) > 1 {
				shared++
			}
		}
	}
	if shared < 1000 {
		t.Errorf("%d numbers of a shared calling code: want 1000 at least", shared)
	}
}
