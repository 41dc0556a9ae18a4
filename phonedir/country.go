package phonedir

import (
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// nameLanguages are the languages whose country names (CLDR, through
// golang.org/x/text/language/display) are recognised in address country
// fields: those of the regions callsync's customers type addresses in.
var nameLanguages = []string{"en", "fi", "sv", "de", "nl", "nb", "nn", "da", "fr", "es", "it", "pl", "et", "pt"}

// aliases are everyday names CLDR does not list as a country's name (it
// names GB "United Kingdom", the US "United States").
var aliases = map[string]string{
	"great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
	"northern ireland": "GB", "america": "US", "united states of america": "US",
}

// Countries reads an address country field as people type it ("Sweden",
// "SE", "SWE", "Sverige", "USA", "United States", "UK") into the ISO 3166
// region libphonenumber parses with. Names come from CLDR's country names
// in several languages; codes from ISO 3166 (alpha-2, alpha-3, numeric).
// A name that is ambiguous across languages is not recognised. Build it once
// with NewCountries; it is read-only and safe for concurrent use.
type Countries struct {
	byName map[string]string
}

// NewCountries builds the name table (all countries libphonenumber knows,
// named in each of nameLanguages).
func NewCountries() *Countries {
	c := &Countries{byName: map[string]string{}}
	ambiguous := map[string]bool{}
	namers := make([]display.Namer, 0, len(nameLanguages))
	for _, l := range nameLanguages {
		namers = append(namers, display.Regions(language.MustParse(l)))
	}
	for region := range phonenumbers.GetSupportedRegions() {
		r, err := language.ParseRegion(region)
		if err != nil {
			continue
		}
		for _, n := range namers {
			name := fold(n.Name(r))
			if name == "" {
				continue
			}
			if prev, ok := c.byName[name]; ok && prev != region {
				ambiguous[name] = true
			}
			c.byName[name] = region
		}
	}
	for name := range ambiguous {
		delete(c.byName, name)
	}
	for name, region := range aliases {
		c.byName[name] = region
	}
	return c
}

// Region returns the ISO 3166 alpha-2 region of an address country, and
// false when it is empty or not recognised (the tenant's default region
// then applies).
func (c *Countries) Region(country string) (string, bool) {
	s := fold(country)
	if s == "" {
		return "", false
	}
	if r, ok := c.byName[s]; ok {
		return r, true
	}
	if code := strings.ReplaceAll(s, " ", ""); len(code) == 2 || len(code) == 3 {
		if r, err := language.ParseRegion(code); err == nil {
			r = r.Canonicalize()
			if region := r.String(); r.IsCountry() && phonenumbers.GetCountryCodeForRegion(region) != 0 {
				return region, true
			}
		}
	}
	return "", false
}

// fold lower-cases a name, removes dots ("U.S.A."), a leading "the",
// bracketed and trailing parts after a comma, and collapses spaces; letters
// keep their accents ("Österreich", "Förenade").
func fold(s string) string {
	s = norm.NFC.String(strings.ToLower(strings.TrimSpace(s)))
	if i := strings.IndexAny(s, "(,"); i > 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, ".", "")
	s = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimPrefix(s, "the ")
	return s
}
