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
