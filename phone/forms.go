package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Forms returns the exact strings a CRM commonly stores for n, E.164 first, deduplicated, in this fixed order and at most MaxForms
// (example for +358401234567 with default region FI; US in brackets):
//
//	E.164                                +358401234567
//	INTERNATIONAL (libphonenumber)       +358 40 1234567    [+1 425-555-0100]
//	NATIONAL (libphonenumber)            040 1234567        [(425) 555-0100]
//	national digits only                 0401234567
//	country code without '+'             358401234567
//	"00" international prefix            00358401234567
//	INTERNATIONAL dashed                 +358-40-1234567
//	NATIONAL dashed                      040-1234567        [425-555-0100]
//	INTERNATIONAL, groups spaced         (same as above)    [+1 425 555 0100]
//	NATIONAL, groups spaced              (same as above)    [425 555 0100]
//	NATIONAL, long last group split      040 123 4567
//	INTERNATIONAL, long last group split +358 40 123 4567
//
// The last two are how people commonly type Finnish and German numbers
// ("040 123 4567"): a last group of six or more digits, which
// libphonenumber leaves whole, is split after its third digit.
//
// National forms are listed only when n has the country calling code of the
// default region it was normalised with: elsewhere a national string reads as
// a different number. Every form returned passes Match(n, form, region) with
// that region, so a CRM hit on a form is never dropped by verification for its
// format alone. An unmatchable n has no forms.
func Forms(n Number) []string {
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
	// The candidates differ from one another mostly in separators, which
	// libphonenumber drops before parsing: one Match per distinct digit
	// string (with its leading '+') decides for all forms that share it.
	matched := map[string]bool{plain(n.e164): true}
	idd00 := stripsIDD00(n.home)
	for _, c := range candidates {
		if c.s == "" || seen[c.s] || (c.national && !home) {
			continue
		}
		seen[c.s] = true
		key := plain(c.s)
		ok, known := matched[key]
		if !known {
			if idd00 && c.s == "00"+digits {
				// Parse reads it as the E.164 itself (stripsIDD00),
				// whose Match is taken as true above: no parse.
				ok = matched[plain(n.e164)]
			} else {
				ok = Match(n, c.s, n.home)
			}
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

// stripsIDD00 reports whether "00" followed by the digits of an E.164
// number reads, with the default region, as that E.164 number itself, so
// that Match of the one is Match of the other. It is so when the region's
// international prefix pattern is "00" or begins with the alternative
// "00|" (FI, SE, DE, GB and 176 more regions in libphonenumber's metadata;
// not US "011", nor BR or BO, whose "00" is followed by more digits).
// phonenumbers.Parse (nyaruka/phonenumbers v1.8.1, parseHelper, a port of
// libphonenumber's PhoneNumberUtil.parseHelper) then reads "00" + digits
// as it reads "+" + digits: the whole text is the possible number and has
// no extension (digits only), maybeStripInternationalPrefixAndNormalize
// strips the leftmost-first match of the pattern at the start, exactly
// "00", as the following digit (a calling code's) is not 0, and from there
// the country calling code and national number are taken from the same
// digits as after a '+'. parse tries "+" + digits too, as its last
// reading, and the reading between ("+00...") is no number. Regions
// without metadata (unknown, "001") are left to Match.
func stripsIDD00(region string) bool {
	md := metadataOf(region)
	if md == nil {
		return false
	}
	p := md.GetInternationalPrefix()
	return p == "00" || strings.HasPrefix(p, "00|")
}

// plain is a generated form reduced to what parsing reads of it: its
// digits, after a leading '+'. Forms only differ from it in the spaces and
// dashes regroup and splitLast insert and the punctuation of
// libphonenumber's own formats.
func plain(form string) string {
	d := phonenumbers.NormalizeDigitsOnly(form)
	if strings.HasPrefix(form, "+") {
		return "+" + d
	}
	return d
}

// regroup rewrites a formatted number with sep between its digit groups,
// keeping a leading '+': "(425) 555-0100" -> "425-555-0100".
func regroup(formatted, sep string) string {
	var groups []string
	var cur strings.Builder
	for _, r := range formatted {
		if r >= '0' && r <= '9' {
			cur.WriteRune(r)
			continue
		}
		if cur.Len() > 0 {
			groups = append(groups, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		groups = append(groups, cur.String())
	}
	s := strings.Join(groups, sep)
	if strings.HasPrefix(formatted, "+") {
		s = "+" + s
	}
	return s
}

// splitLast splits a last digit group of six or more digits after its third
// digit: "040 1234567" -> "040 123 4567". Other numbers give "".
func splitLast(formatted string) string {
	end := len(formatted)
	start := end
	for start > 0 && formatted[start-1] >= '0' && formatted[start-1] <= '9' {
		start--
	}
	if end-start < 6 || start == 0 {
		return ""
	}
	return formatted[:start+3] + " " + formatted[start+3:]
}
