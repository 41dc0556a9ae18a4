// Package phone owns phone-number normalisation, the formats a CRM stores, and
// match verification: caller numbers become E.164 with the tenant's default
// region (or are marked unmatchable, never an error), Forms lists the exact
// strings a CRM commonly holds for a number, Match verifies a CRM hit against
// the caller, Cut implements the original product's NumbersToCut, and Internal
// holds the tenant's own numbers that are never matched to customers.
//
// Everything here is pure and safe for concurrent use; the parsing and
// formatting rules are those of libphonenumber (github.com/nyaruka/phonenumbers).
package phone

import (
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// MinNationalLength is the shortest national significant number treated as a
// customer number. Anything shorter is a short extension or service number and
// is unmatchable (reason TooShort) and internal. This loses a handful of
// territories with 4-5 digit subscriber numbers (e.g. +683 Niue) and old
// 5-digit Finnish landlines; both are accepted to keep extensions out of CRM
// matching.
const MinNationalLength = 6

// MaxForms bounds how many candidate forms Forms returns per number.
const MaxForms = 10

// Reason says why a number is unmatchable.
type Reason string

const (
	// Empty: no number at all.
	Empty Reason = "empty"
	// Withheld: anonymous, private, withheld, unknown, restricted ... caller.
	Withheld Reason = "withheld"
	// TooShort: fewer than MinNationalLength national digits (an extension).
	TooShort Reason = "too short"
	// Unparsable: libphonenumber could not read a number.
	Unparsable Reason = "unparsable"
	// Impossible: parsed, but not a possible number in any reading.
	Impossible Reason = "impossible"
)

// Number is a normalised phone number, or an unmatchable one with its Reason.
// The zero Number is unmatchable with reason Empty. Compare numbers by E164.
type Number struct {
	raw    string
	e164   string
	reason Reason
	pn     *phonenumbers.PhoneNumber // nil unless matchable; never mutated
	// homeCC is the country calling code of the default region the number
	// was normalised with (0 when unknown); national forms are only
	// meaningful for numbers of that country.
	homeCC int
	home   string // the default region, upper case
	region string
	// valid: pn is a valid number (phonenumbers.IsValidNumber), not only
	// a possible one.
	valid bool
}

// Raw returns the input exactly as given to Normalize.
func (n Number) Raw() string { return n.raw }

// E164 returns "+<cc><nsn>", or "" when the number is unmatchable.
func (n Number) E164() string { return n.e164 }

// Digits returns E164 without the '+', or "" when unmatchable.
func (n Number) Digits() string { return strings.TrimPrefix(n.e164, "+") }

// Matchable reports whether the number can be matched to a CRM record.
func (n Number) Matchable() bool { return n.e164 != "" }

// Reason says why the number is unmatchable; "" when it is matchable.
func (n Number) Reason() Reason {
	if n.Matchable() {
		return ""
	}
	if n.reason == "" {
		return Empty
	}
	return n.reason
}

// CountryCode returns the country calling code (358 for +358...), or 0.
func (n Number) CountryCode() int {
	if n.pn == nil {
		return 0
	}
	return int(n.pn.GetCountryCode())
}

// NationalNumber returns the national significant number (no trunk prefix).
func (n Number) NationalNumber() string {
	if n.pn == nil {
		return ""
	}
	return phonenumbers.GetNationalSignificantNumber(n.pn)
}

// Region returns the number's region ("FI"), or "" when unknown or unmatchable.
func (n Number) Region() string { return n.region }

// String returns E164 when matchable, otherwise the raw input.
func (n Number) String() string {
	if n.Matchable() {
		return n.e164
	}
	return n.raw
}

// Normalize parses raw with the tenant's default region (ISO 3166 code, e.g.
// "FI") and returns it in E.164. It accepts "+358401234567", "358401234567"
// (country code without '+'), "0401234567", "00358401234567", spaces,
// dashes, dots, slashes and parentheses, and "tel:" URIs. Readings are tried
// in order — as given with the default region, then "+digits" when there was
// no '+', then "+" for a leading "00" — and the first valid one wins; if none
// is valid, the first possible one does. Anonymous, withheld, empty, too
// short or unparsable input gives an unmatchable Number (ok false) carrying
// its Reason; Normalize never fails otherwise. An extension ("ext. 12") is
// dropped: the Number is its E.164.
func Normalize(raw, defaultRegion string) (n Number, ok bool) {
	return normalize(raw, defaultRegion, false)
}

// NormalizeCaller is Normalize for a caller number as a phone system sends
// it: E.164 whose '+' is sometimes missing. A value without '+' that does not
// start with '0' is read as international first ("4520123456" is the Danish
// +45 20 12 34 56, not a Finnish mobile), then with the default region, when
// the region writes national numbers with the trunk prefix 0 (FI, SE, DE,
// GB, ...; not NANP or NO, where an unprefixed number is national).
// Stored CRM values use Normalize, where people write national numbers.
func NormalizeCaller(raw, defaultRegion string) (n Number, ok bool) {
	return normalize(raw, defaultRegion, true)
}

func normalize(raw, defaultRegion string, intlFirst bool) (n Number, ok bool) {
	n = parse(raw, defaultRegion, intlFirst)
	if n.pn != nil && n.pn.GetExtension() != "" {
		// The Number is its E.164, which has no extension. (A stored value
		// keeps its extension in Match, where it makes the match fail.)
		if p, err := parseNumber(n.e164, ""); err == nil {
			n.pn = p
		}
	}
	return n, n.Matchable()
}

func parse(raw, defaultRegion string, intlFirst bool) Number {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	n := Number{raw: raw, home: region, homeCC: phonenumbers.GetCountryCodeForRegion(region)}
	s := strings.TrimSpace(raw)
	if s == "" {
		n.reason = Empty
		return n
	}
	if len(s) > 250 { // libphonenumber's own limit; nothing real is longer
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
		// Only where national numbers are written with the trunk prefix 0
		// (most of Europe): there an unprefixed number without '+' is
		// international. In NANP (no trunk prefix in writing) or Norway (no
		// trunk prefix at all) it is national.
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
	bestRegion, bestText, possibleText := "", "", ""
	valid := false
	parsedAny, minLen := false, -1
	for _, r := range readings {
		p, err := parseNumber(r.text, r.region)
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
		// As phonenumbers.IsValidNumber(p); the region is kept for the
		// Number instead of being looked up again.
		if region, ok := regionAndValidity(p); ok {
			best, bestRegion, bestText, valid = p, region, r.text, true
			break
		}
		if possible == nil && phonenumbers.IsPossibleNumber(p) {
			possible, possibleText = p, r.text
		}
	}
	if best == nil && possible != nil {
		best, bestRegion, bestText = possible, phonenumbers.GetRegionCodeForNumber(possible), possibleText
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
	// A reading that is its own E.164 (a caller as Enreach sends it) is
	// not parsed again: parsing a '+' text does not depend on the region
	// (parseInternational), so it would give the same number.
	if e164 != bestText && !readsAsItself(e164) {
		// Degenerate input (e.g. national digits that are all zeros) whose
		// E.164 reads as another number: not a number anyone dials.
		n.reason = Impossible
		return n
	}
	n.pn = best
	n.e164 = e164
	n.region = bestRegion
	n.valid = valid
	return n
}

// readsAsItself reports whether e164 parses to a number whose E.164 is
// e164 again.
func readsAsItself(e164 string) bool {
	again, err := parseNumber(e164, "")
	return err == nil && phonenumbers.Format(again, phonenumbers.E164) == e164
}

// withheld reports whether a value without digits is one of the caller ids
// phone systems send instead of a number.
func withheld(s string) bool {
	lower := strings.ToLower(s)
	for _, w := range [...]string{
		"anonymous", "withheld", "unknown", "private", "restricted", "unavailable",
		"hidden", "blocked", "suppressed", "no caller", "nocallerid", "not available",
		"salainen", "tuntematon", "dold", "okänd", // Finnish and Swedish systems
	} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// Match reports whether stored (a CRM phone field value, parsed with the
// tenant's default region) is the caller's number: libphonenumber's
// IsNumberMatch must say EXACT_MATCH or NSN_MATCH. SHORT_NSN_MATCH (one
// number a suffix of the other, or an extension on one side only) is never a
// match, so a shared suffix alone never links a record.
func Match(caller Number, stored string, defaultRegion string) bool {
	if !caller.Matchable() {
		return false
	}
	p := callersReading(caller, stored, defaultRegion)
	if p == nil {
		s := parse(stored, defaultRegion, false)
		if !s.Matchable() {
			return false
		}
		p = s.pn
	}
	switch phonenumbers.IsNumberMatchWithNumbers(caller.pn, p) {
	case phonenumbers.EXACT_MATCH, phonenumbers.NSN_MATCH:
		return true
	}
	return false
}

// callersReading returns what parse(stored, defaultRegion, false) reads,
// when its first reading (stored as written, with the default region) is
// the caller's number and the caller's number is valid; otherwise nil,
// and the caller parses stored in full. Most stored values that match are
// the caller's number written some other way ("040 123 4567" for
// +358401234567): parse would then take that first reading, as it is
// valid (validity, like the E.164 format, depends on the country calling
// code and the national significant number alone, which are the caller's),
// and its E.164, the caller's, reads as itself (the caller's was checked
// when it was read), so neither is computed again. The reading itself
// (with an extension, if stored has one) is returned, for
// IsNumberMatchWithNumbers to compare as before.
func callersReading(caller Number, stored, defaultRegion string) *phonenumbers.PhoneNumber {
	if !caller.valid {
		return nil
	}
	s := strings.TrimSpace(stored)
	if s == "" || len(s) > 250 || phonenumbers.NormalizeDigitsOnly(s) == "" { // as parse
		return nil
	}
	p, err := parseNumber(s, strings.ToUpper(strings.TrimSpace(defaultRegion)))
	if err != nil || !sameNationalNumber(p, caller.pn) {
		return nil
	}
	return p
}

// sameNationalNumber reports whether a and b have the same country calling
// code and national significant number (phonenumbers.GetNationalSignificantNumber:
// the number and its Italian leading zeros).
func sameNationalNumber(a, b *phonenumbers.PhoneNumber) bool {
	return a.GetCountryCode() == b.GetCountryCode() && a.GetNationalNumber() == b.GetNationalNumber() &&
		a.GetItalianLeadingZero() == b.GetItalianLeadingZero() && a.GetNumberOfLeadingZeros() == b.GetNumberOfLeadingZeros()
}

// Cut implements NumbersToCut, keeping the original product's meaning: it
// strips n leading characters from the caller number as the original product
// received it — E.164 with the '+' — and the rest is searched as a suffix of
// the stored value. Pass Number.E164() (a raw value is first reduced to its
// digits, keeping a leading '+').
//
// Example: the CRM stores "0401234567"; NumbersToCut=4 cuts "+358" from
// "+358401234567" and the suffix "401234567" finds it. NumbersToCut=3 on the
// same number gives "8401234567", which does not.
//
// n <= 0 returns the number unchanged (digits and leading '+'). Cut returns ""
// when fewer than MinNationalLength characters would remain: such a short
// suffix would match unrelated numbers, so the caller skips the suffix search.
func Cut(raw string, n int) string {
	s := strings.TrimSpace(raw)
	plus := strings.HasPrefix(s, "+")
	s = phonenumbers.NormalizeDigitsOnly(s)
	if plus {
		s = "+" + s
	}
	if n <= 0 {
		return s
	}
	if n >= len(s) || len(s)-n < MinNationalLength {
		return ""
	}
	return s[n:]
}
