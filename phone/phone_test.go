package phone

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		raw, region string
		want        string // E.164; "" means unmatchable
		reason      Reason
	}{
		{"+358401234567", "FI", "+358401234567", ""},
		{"358401234567", "FI", "+358401234567", ""},
		{"0401234567", "FI", "+358401234567", ""},
		{"040 123 4567", "FI", "+358401234567", ""},
		{"040-123 45 67", "FI", "+358401234567", ""},
		{"(040) 1234567", "FI", "+358401234567", ""},
		{"00358401234567", "FI", "+358401234567", ""},
		{"00358 40 123 4567", "FI", "+358401234567", ""},
		{"+358 (0)40 123 4567", "FI", "+358401234567", ""},
		{"tel:+358-40-123-4567", "FI", "+358401234567", ""},
		{" +358401234567 ", "fi", "+358401234567", ""},
		{"+358401234567 ext. 12", "FI", "+358401234567", ""},
		// Without '+' from Enreach: a national reading that is not valid
		// falls back to "+digits".
		{"46701234567", "FI", "+46701234567", ""},
		{"14255550100", "FI", "+14255550100", ""},
		// "00" international prefix where the region's IDD is not 00.
		{"00358401234567", "US", "+358401234567", ""},
		{"(425) 555-0100", "US", "+14255550100", ""},
		{"425.555.0100", "US", "+14255550100", ""},
		{"1-425-555-0100", "US", "+14255550100", ""},
		{"020 7123 4567", "GB", "+442071234567", ""},
		{"06 1234 5678", "IT", "+390612345678", ""}, // Italian leading zero kept
		{"+390612345678", "FI", "+390612345678", ""},
		{"070-123 45 67", "SE", "+46701234567", ""},
		// Same digits, other default region: another number.
		{"0401234567", "SE", "+46401234567", ""},
		// No default region: only numbers with a country code parse.
		{"+358401234567", "", "+358401234567", ""},
		{"0401234567", "", "", Unparsable},

		{"", "FI", "", Empty},
		{"   ", "FI", "", Empty},
		{"+", "FI", "", Empty},
		{"-", "FI", "", Empty},
		{"anonymous", "FI", "", Withheld},
		{"Anonymous", "FI", "", Withheld},
		{"WITHHELD", "FI", "", Withheld},
		{"unknown", "FI", "", Withheld},
		{"Private Number", "FI", "", Withheld},
		{"sip:anonymous@anonymous.invalid", "FI", "", Withheld},
		{"abc", "FI", "", Unparsable},
		{"1234", "FI", "", TooShort},
		{"12", "FI", "", TooShort},
		{"+358 9 1234", "FI", "", TooShort},
		{"99999999999999999999", "FI", "", Unparsable},
		{"+999 123456789", "FI", "", Impossible},
		{strings.Repeat("1", 300), "FI", "", Unparsable},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			n, ok := Normalize(tt.raw, tt.region)
			if ok != (tt.want != "") || ok != n.Matchable() {
				t.Fatalf("ok = %v, Matchable = %v, want %v (reason %q)", ok, n.Matchable(), tt.want != "", n.Reason())
			}
			if n.E164() != tt.want {
				t.Errorf("E164 = %q, want %q", n.E164(), tt.want)
			}
			if n.Reason() != tt.reason {
				t.Errorf("Reason = %q, want %q", n.Reason(), tt.reason)
			}
			if n.Raw() != tt.raw {
				t.Errorf("Raw = %q, want %q", n.Raw(), tt.raw)
			}
			if ok {
				if n.String() != tt.want || n.Digits() != tt.want[1:] {
					t.Errorf("String/Digits = %q/%q", n.String(), n.Digits())
				}
				if !strings.HasPrefix(tt.want, "+"+itoa(n.CountryCode())) || !strings.HasSuffix(tt.want, n.NationalNumber()) {
					t.Errorf("CountryCode %d / NationalNumber %q do not make %s", n.CountryCode(), n.NationalNumber(), tt.want)
				}
			} else if n.String() != tt.raw || n.CountryCode() != 0 || n.NationalNumber() != "" || n.Region() != "" {
				t.Errorf("unmatchable number exposes parts: %+v", n)
			}
		})
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestZeroNumber(t *testing.T) {
	var n Number
	if n.Matchable() || n.Reason() != Empty || n.E164() != "" || Forms(n) != nil {
		t.Errorf("zero Number: matchable %v reason %q", n.Matchable(), n.Reason())
	}
	if Match(n, "+358401234567", "FI") {
		t.Error("zero Number matched")
	}
}

func TestRegion(t *testing.T) {
	for raw, want := range map[string]string{"+358401234567": "FI", "+14165550100": "CA", "+14255550100": "US", "+46701234567": "SE"} {
		n, _ := Normalize(raw, "FI")
		if n.Region() != want {
			t.Errorf("Region(%s) = %q, want %q", raw, n.Region(), want)
		}
	}
}

func TestForms(t *testing.T) {
	tests := []struct {
		raw, region string
		want        []string
	}{
		{"+358401234567", "FI", []string{
			"+358401234567", "+358 40 1234567", "040 1234567", "0401234567", "358401234567",
			"00358401234567", "+358-40-1234567", "040-1234567", "040 123 4567", "+358 40 123 4567"}},
		{"+14255550100", "US", []string{
			"+14255550100", "+1 425-555-0100", "(425) 555-0100", "4255550100", "14255550100",
			"0014255550100", "+1-425-555-0100", "425-555-0100", "+1 425 555 0100", "425 555 0100"}},
		{"+46701234567", "SE", []string{
			"+46701234567", "+46 70 123 45 67", "070-123 45 67", "0701234567", "46701234567",
			"0046701234567", "+46-70-123-45-67", "070-123-45-67", "070 123 45 67"}},
		// A foreign number: no national forms (they read as home numbers).
		{"+46701234567", "FI", []string{
			"+46701234567", "+46 70 123 45 67", "46701234567", "0046701234567", "+46-70-123-45-67"}},
		{"+4930123456", "DE", []string{
			"+4930123456", "+49 30 123456", "030 123456", "030123456", "4930123456",
			"004930123456", "+49-30-123456", "030-123456", "030 123 456", "+49 30 123 456"}},
		{"+4930123456", "FI", []string{
			"+4930123456", "+49 30 123456", "4930123456", "004930123456", "+49-30-123456", "+49 30 123 456"}},
		{"+390612345678", "IT", []string{
			"+390612345678", "+39 06 1234 5678", "06 1234 5678", "0612345678", "390612345678",
			"00390612345678", "+39-06-1234-5678", "06-1234-5678"}},
		// The home country is the default region's calling code: a Canadian
		// number is national for a US tenant.
		{"+14165550100", "US", []string{
			"+14165550100", "+1 416-555-0100", "(416) 555-0100", "4165550100", "14165550100",
			"0014165550100", "+1-416-555-0100", "416-555-0100", "+1 416 555 0100", "416 555 0100"}},
		{"anonymous", "FI", nil},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			n, _ := Normalize(tt.raw, tt.region)
			got := Forms(n)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Forms =\n%q\nwant\n%q", got, tt.want)
			}
			checkForms(t, n, tt.region)
		})
	}
}

// checkForms asserts the Forms invariants for any number.
func checkForms(t *testing.T, n Number, region string) {
	t.Helper()
	forms := Forms(n)
	if !n.Matchable() {
		if forms != nil {
			t.Fatalf("unmatchable %q has forms %q", n.Raw(), forms)
		}
		return
	}
	if len(forms) == 0 || forms[0] != n.E164() {
		t.Fatalf("Forms(%s) = %q: E.164 must come first", n.E164(), forms)
	}
	if len(forms) > MaxForms {
		t.Fatalf("Forms(%s) has %d forms, max %d", n.E164(), len(forms), MaxForms)
	}
	seen := map[string]bool{}
	for _, f := range forms {
		if seen[f] {
			t.Fatalf("Forms(%s) repeats %q", n.E164(), f)
		}
		seen[f] = true
		if !Match(n, f, region) {
			t.Fatalf("Forms(%s) lists %q, which does not verify with region %q", n.E164(), f, region)
		}
	}
	if again := Forms(n); !slices.Equal(again, forms) {
		t.Fatalf("Forms not deterministic: %q then %q", forms, again)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		caller, stored, region string
		want                   bool
	}{
		{"+358401234567", "+358401234567", "FI", true},
		{"+358401234567", "040 123 4567", "FI", true},
		{"+358401234567", "040-1234567", "FI", true},
		{"+358401234567", "0401234567", "FI", true},
		{"+358401234567", "358401234567", "FI", true},
		{"+358401234567", "00358401234567", "FI", true},
		{"+358401234567", "+358 (0)40 123 4567", "FI", true},
		{"+358401234567", " 040 123 4567 ", "FI", true}, // serfreeman1337/asterlink#19
		{"+358401234567", "401234567", "FI", true},      // national number without trunk prefix
		{"358401234567", "0401234567", "FI", true},      // caller without '+'
		{"+358401234567", "00358401234567", "US", true}, // 00 prefix outside its region
		{"+14255550100", "(425) 555-0100", "US", true},
		{"+14255550100", "+1 425 555 0100", "FI", true},
		{"+390612345678", "06 1234 5678", "IT", true},

		// Never a suffix alone (SHORT_NSN_MATCH or less).
		{"+358401234567", "1234567", "FI", false},
		{"+358401234567", "234567", "FI", false},
		{"+358401234567", "+3581234567", "FI", false},
		{"+358401234567", "+46401234567", "FI", false}, // same national digits, other country
		{"+46401234567", "040 123 4567", "FI", false},  // national form read in the tenant's region
		{"+358401234567", "0401234567", "SE", false},   // ... and the other way round
		{"+358401234567", "040 123 4567 ext. 12", "FI", false},
		{"+358401234567", "+358401234568", "FI", false},
		{"+390612345678", "+39612345678", "IT", false}, // Italian leading zero matters
		{"+358401234567", "", "FI", false},
		{"+358401234567", "anonymous", "FI", false},
		{"+358401234567", "n/a", "FI", false},
		{"anonymous", "anonymous", "FI", false},
		{"1234", "1234", "FI", false}, // extensions never match
	}
	for _, tt := range tests {
		t.Run(tt.caller+"~"+tt.stored+"/"+tt.region, func(t *testing.T) {
			caller, _ := Normalize(tt.caller, tt.region)
			if got := Match(caller, tt.stored, tt.region); got != tt.want {
				t.Errorf("Match(%s, %q, %s) = %v, want %v", caller, tt.stored, tt.region, got, tt.want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		raw  string
		n    int
		want string
	}{
		{"+358401234567", 4, "401234567"},
		{"+358401234567", 3, "8401234567"},
		{"+358401234567", 0, "+358401234567"},
		{"+358401234567", -1, "+358401234567"},
		{"+358 40 123 4567", 4, "401234567"}, // separators are not characters of the number
		{"358401234567", 3, "401234567"},     // a raw value without '+' counts digits only
		{"0401234567", 1, "401234567"},
		{"+358401234567", 7, "234567"}, // MinNationalLength left: still a suffix
		{"+358401234567", 8, ""},       // too short a suffix: no suffix search
		{"+358401234567", 13, ""},
		{"+358401234567", 99, ""},
		{"", 4, ""},
		{"anonymous", 0, ""},
	}
	for _, tt := range tests {
		if got := Cut(tt.raw, tt.n); got != tt.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tt.raw, tt.n, got, tt.want)
		}
	}
}

func TestInternal(t *testing.T) {
	in := NewInternal("FI",
		"+358 9 4242 4242", // switchboard
		"040 111 2222",     // a user's mobile, national
		"358501112222",     // a user's work number, without '+'
		"1234",             // an extension: adds nothing, internal anyway
		"", "anonymous",    // ignored
		"+358 40 111 2222") // duplicate
	if in.Len() != 3 {
		t.Errorf("Len = %d, want 3", in.Len())
	}
	tests := []struct {
		raw  string
		want bool
	}{
		{"+358942424242", true},
		{"09 4242 4242", true},
		{"+358401112222", true},
		{"0501112222", true},
		{"1234", true},  // short extension
		{"20123", true}, // any short extension
		{"+358 9 1234", true},
		{"+358401112223", false},
		{"+46401112222", false},
		{"anonymous", false}, // unmatchable, not internal
		{"", false},
	}
	for _, tt := range tests {
		n, _ := Normalize(tt.raw, "FI")
		if got := in.Contains(n); got != tt.want {
			t.Errorf("Contains(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
	var none *Internal
	short, _ := Normalize("1234", "FI")
	ext, _ := Normalize("+358942424242", "FI")
	if !none.Contains(short) || none.Contains(ext) || none.Len() != 0 {
		t.Error("nil Internal: want only short extensions")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"+358401234567", "358401234567", "0401234567", "00358401234567", "040 123 45 67",
		"(425) 555-0100", "anonymous", "", "+", "1234", "tel:+1-425-555-0100;ext=12",
		"+390612345678", "0039 06 1234 5678", "+358401234567 ext. 12", "٠٤٠١٢٣٤٥٦٧", "1-800-FLOWERS",
	} {
		for _, region := range []string{"FI", "US", "IT", ""} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		n, ok := Normalize(raw, region)
		if ok != n.Matchable() {
			t.Fatalf("ok %v != Matchable %v", ok, n.Matchable())
		}
		_ = Cut(raw, 4)
		_ = NewInternal(region, raw).Contains(n)
		_ = Match(n, raw, region)
		if !ok {
			if n.Reason() == "" || n.E164() != "" || Forms(n) != nil {
				t.Fatalf("unmatchable %q: reason %q e164 %q", raw, n.Reason(), n.E164())
			}
			return
		}
		if n.Reason() != "" || !strings.HasPrefix(n.E164(), "+") || len(n.NationalNumber()) < MinNationalLength {
			t.Fatalf("matchable %q: reason %q e164 %q", raw, n.Reason(), n.E164())
		}
		again, ok := Normalize(n.E164(), region)
		if !ok || again.E164() != n.E164() {
			t.Fatalf("E.164 %s of %q normalises to %q", n.E164(), raw, again.E164())
		}
		if !Match(n, n.E164(), region) {
			t.Fatalf("%s does not match itself", n.E164())
		}
		checkForms(t, n, strings.ToUpper(strings.TrimSpace(region)))
	})
}

func TestNormalizeCallerReadsMissingPlusAsInternational(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"4520123456", "+4520123456"},     // Danish, not the Finnish mobile +358 45 20123456
		{"4741234567", "+4741234567"},     // Norwegian
		{"358401234567", "+358401234567"}, // Finnish with the '+' missing
		{"0401234567", "+358401234567"},   // national stays national
		{"+4520123456", "+4520123456"},
	} {
		n, ok := NormalizeCaller(tc.raw, "FI")
		if !ok || n.E164() != tc.want {
			t.Errorf("NormalizeCaller(%q) = %q %v, want %q", tc.raw, n.E164(), ok, tc.want)
		}
	}
	// Stored values keep the national reading first.
	if n, _ := Normalize("4520123456", "FI"); n.E164() != "+3584520123456" {
		t.Errorf("Normalize(4520123456) = %q, want the Finnish reading", n.E164())
	}
}

func TestNormalizeCallerKeepsNationalWhereThereIsNoTrunkZero(t *testing.T) {
	for _, tc := range []struct{ raw, region, want string }{
		{"2015550199", "US", "+12015550199"},
		{"41234567", "NO", "+4741234567"},
	} {
		if n, _ := NormalizeCaller(tc.raw, tc.region); n.E164() != tc.want {
			t.Errorf("NormalizeCaller(%q, %s) = %q, want %q", tc.raw, tc.region, n.E164(), tc.want)
		}
	}
}
