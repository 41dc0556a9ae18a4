package phonedir

import (
	"strings"

	"github.com/callsync/callsync/phone"
)

// MaxValueLength bounds a stored phone value: a longer one is not a phone
// number (libphonenumber itself refuses input over 250 characters) and is
// counted unparseable with reason "too long".
const MaxValueLength = 250

// Parsed is one stored phone value read for the directory.
type Parsed struct {
	// E164 is "" when the value does not parse; Reason then says why.
	E164   string
	Reason string
	// Region is the ISO region the value was parsed with: the record's
	// address country when recognised, else the tenant's default region.
	Region string
	// FromCountry is true when Region came from the record's country.
	FromCountry bool
}

// Parse reads a stored value with the record's address country when it
// names one (else defaultRegion), as libphonenumber does: spaces, dashes,
// dots, brackets, a "(0)" trunk mark, a 00 prefix and an extension
// ("ext. 12", dropped) are understood; a value of digits alone that does not
// start with 0 is read as international first where national numbers are
// written with the trunk prefix 0 (phone.NormalizeCaller).
func (c *Countries) Parse(raw, country, defaultRegion string) Parsed {
	p := Parsed{Region: strings.ToUpper(strings.TrimSpace(defaultRegion))}
	if r, ok := c.Region(country); ok {
		p.Region, p.FromCountry = r, true
	}
	if len(raw) > MaxValueLength {
		p.Reason = "too long"
		return p
	}
	// As a caller number: digits without '+' or a trunk 0 are read as
	// international first where national numbers carry the trunk prefix 0
	// ("4721232960" is Norwegian, not Finnish), nationally in NANP.
	n, ok := phone.NormalizeCaller(raw, p.Region)
	if !ok {
		p.Reason = string(n.Reason())
		return p
	}
	p.E164 = n.E164()
	return p
}
