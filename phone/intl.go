package phone

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// parseNumber is phonenumbers.Parse(text, region): the same *PhoneNumber or
// the same error. A value already written internationally ("+358401234567",
// "+358 40 123 4567") is read by parseInternational, without the regular
// expressions with which Parse looks for the number in free text and for an
// extension (most of its cost); anything else goes to Parse.
func parseNumber(text, region string) (*phonenumbers.PhoneNumber, error) {
	if p := parseInternational(text); p != nil {
		return p, nil
	}
	return phonenumbers.Parse(text, region)
}

// parseInternational returns what phonenumbers.Parse (nyaruka/phonenumbers
// v1.8.1, a port of libphonenumber's PhoneNumberUtil.parse:
// https://github.com/google/libphonenumber/blob/master/java/libphonenumber/src/com/google/i18n/phonenumbers/PhoneNumberUtil.java)
// returns for text, for any default region, when text is a '+' followed by
// ASCII digits and the separators space, no-break space, '-', '.', '(' and
// ')', ending in a digit; nil for any other text and whenever Parse would do
// more than split off a country calling code, so that the caller asks Parse.
//
// For such text Parse's steps reduce to these: the whole text is the
// possible number (it starts with '+' and ends in a digit; no "tel:",
// ";phone-context=", ";isub=" or "/x"), it is viable (three digits or more,
// the separators are libphonenumber's punctuation), it has no extension
// (every extension pattern needs a label, '#', ',' or ';'), the default
// region plays no part (the '+' gives the country), the digits after the
// '+' begin with a country calling code of one to three digits, the
// shortest known one, and the rest is the national significant number. The
// rest is kept when the national prefix for parsing of the country's main
// region does not match at its start; otherwise Parse may strip a national
// prefix or carrier code ("+358 (0)40 ..."), which is left to it, as are
// unknown and non-geographic calling codes (+800 ...) and a rest of fewer
// than 2 or more than 17 digits (Parse's errors). The leading zeros of the
// rest are kept as Parse keeps them (Italy: +39 06 ...).
func parseInternational(text string) *phonenumbers.PhoneNumber {
	if len(text) < 2 || len(text) > phonenumbers.MAX_INPUT_STRING_LENGTH || text[0] != '+' || !isDigit(text[len(text)-1]) {
		return nil
	}
	var buf [phonenumbers.MAX_LENGTH_COUNTRY_CODE + phonenumbers.MAX_LENGTH_FOR_NSN]byte
	digits := buf[:0]
	for i := 1; i < len(text); i++ {
		switch c := text[i]; {
		case isDigit(c):
			if len(digits) == len(buf) {
				return nil
			}
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == 0xC2 && i+1 < len(text) && text[i+1] == 0xA0: // U+00A0 in UTF-8
			i++
		default:
			return nil
		}
	}
	// Three digits at least (isViablePhoneNumber), and a calling code
	// never starts with 0.
	if len(digits) < 3 || digits[0] == '0' {
		return nil
	}
	cc, region := 0, ""
	for i := range min(phonenumbers.MAX_LENGTH_COUNTRY_CODE, len(digits)) {
		cc = cc*10 + int(digits[i]-'0')
		if r := phonenumbers.GetRegionCodeForCountryCode(cc); r != phonenumbers.UNKNOWN_REGION {
			region, digits = r, digits[i+1:]
			break
		}
	}
	if region == "" || region == "001" { // unknown, or non-geographic (its own metadata)
		return nil
	}
	if len(digits) < phonenumbers.MIN_LENGTH_FOR_NSN || len(digits) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return nil
	}
	md := metadataOf(region)
	if md == nil {
		return nil
	}
	nsn := string(digits)
	if prefix := md.GetNationalPrefixForParsing(); prefix != "" &&
		phonenumbers.MatchNationalNumber(nsn, &phonenumbers.PhoneNumberDesc{NationalNumberPattern: &prefix}, true) {
		return nil
	}
	cc32 := int32(cc)
	p := &phonenumbers.PhoneNumber{CountryCode: &cc32}
	if len(nsn) > 1 && nsn[0] == '0' {
		// As Parse: an all-zero number does not count its last zero, and
		// one leading zero is the field's default, left unset.
		italian := true
		p.ItalianLeadingZero = &italian
		zeros := 1
		for zeros < len(nsn)-1 && nsn[zeros] == '0' {
			zeros++
		}
		if zeros != 1 {
			z := int32(zeros)
			p.NumberOfLeadingZeros = &z
		}
	}
	v, _ := strconv.ParseUint(nsn, 10, 64) // 17 digits at most: no overflow
	p.NationalNumber = &v
	return p
}

// metadataOf returns libphonenumber's metadata of a region (a country, not
// "001"), or nil. MetadataCollection is the embedded metadata the library
// loaded at init and reads from; a lookup scans its few hundred entries.
func metadataOf(region string) *phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	for _, md := range coll.GetMetadata() {
		if md.GetId() == region {
			return md
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// regionAndValidity returns phonenumbers.GetRegionCodeForNumber(p) and
// phonenumbers.IsValidNumber(p), which is IsValidNumberForRegion(p, region)
// of that region, without checking the number's type against the region's
// patterns twice: where a calling code is shared (+1 NANP, +358 FI and AX,
// +44 GB and its crown dependencies ...), GetRegionCodeForNumber picks a
// region without leading digits in its metadata only when the number has a
// type there, that is when it is valid for it (nyaruka/phonenumbers v1.8.1,
// getRegionCodeForNumberFromRegionList; libphonenumber's
// PhoneNumberUtil.getRegionCodeForNumberFromRegionList).
func regionAndValidity(p *phonenumbers.PhoneNumber) (string, bool) {
	region := phonenumbers.GetRegionCodeForNumber(p)
	cc := p.GetCountryCode()
	if region != "" && region != "001" && len(phonenumbers.GetRegionCodesForCountryCode(int(cc))) > 1 {
		if md := metadataOf(region); md != nil && md.GetLeadingDigits() == "" && md.GetCountryCode() == cc {
			return region, true
		}
	}
	return region, phonenumbers.IsValidNumberForRegion(p, region)
}
