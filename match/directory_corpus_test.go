package match_test

// The phone directory's fidelity corpus: 420 customers across FI, SE, DE, GB,
// US, NL and NO, their numbers stored in 17 formats, on records with and
// without an address country (spelt as people type it), loaded into the
// directory from the in-memory CRM and matched through match.Matcher by
// callers in E.164 (some without '+'). Traps: numbers that share the last 8
// digits, a foreign caller whose national digits equal a Finnish record's
// national form, an internal extension stored on a contact, a user's own
// mobile stored on a contact.
//
// Precision must be 100% (no caller ever gets a record that is not theirs);
// recall at least 99.5% over the callers whose record states its country or
// is in the tenant's region (the others' national formats cannot be read
// without a country and are reported only).

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phone"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

// dirFormat renders a number as people store it.
type dirFormat struct {
	name string
	// national formats need the record's country (or the tenant's region).
	national bool
	render   func(p *phonenumbers.PhoneNumber, region string) string
}

func nsn(p *phonenumbers.PhoneNumber) string { return phonenumbers.GetNationalSignificantNumber(p) }
func ccOf(p *phonenumbers.PhoneNumber) string {
	return fmt.Sprint(p.GetCountryCode())
}

var dirFormats = []dirFormat{
	{"e164", false, func(p *phonenumbers.PhoneNumber, _ string) string { return phonenumbers.Format(p, phonenumbers.E164) }},
	{"international", false, func(p *phonenumbers.PhoneNumber, _ string) string {
		return phonenumbers.Format(p, phonenumbers.INTERNATIONAL)
	}},
	{"international dashed", false, func(p *phonenumbers.PhoneNumber, _ string) string {
		return "+" + strings.ReplaceAll(phonenumbers.Format(p, phonenumbers.INTERNATIONAL)[1:], " ", "-")
	}},
	{"international nbsp", false, func(p *phonenumbers.PhoneNumber, _ string) string {
		return strings.ReplaceAll(phonenumbers.Format(p, phonenumbers.INTERNATIONAL), " ", "\u00a0")
	}},
	{"00 prefix", false, func(p *phonenumbers.PhoneNumber, _ string) string { return "00" + ccOf(p) + nsn(p) }},
	{"tel uri", false, func(p *phonenumbers.PhoneNumber, _ string) string {
		return phonenumbers.Format(p, phonenumbers.RFC3966)
	}},
	{"international ext", false, func(p *phonenumbers.PhoneNumber, _ string) string {
		return phonenumbers.Format(p, phonenumbers.INTERNATIONAL) + " ext. 12"
	}},
	{"trunk mark (0)", false, func(p *phonenumbers.PhoneNumber, region string) string {
		intl := phonenumbers.Format(p, phonenumbers.INTERNATIONAL)
		if phonenumbers.GetNddPrefixForRegion(region, true) != "0" {
			return intl
		}
		cc := "+" + ccOf(p)
		return cc + " (0)" + strings.TrimSpace(strings.TrimPrefix(intl, cc))
	}},
	{"national", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		return phonenumbers.Format(p, phonenumbers.NATIONAL)
	}},
	{"national digits", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		return phonenumbers.NormalizeDigitsOnly(phonenumbers.Format(p, phonenumbers.NATIONAL))
	}},
	{"national dashed", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		return strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(phonenumbers.Format(p, phonenumbers.NATIONAL))
	}},
	{"national dotted", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		return strings.NewReplacer(" ", ".", "-", ".", "(", "", ")", "").Replace(phonenumbers.Format(p, phonenumbers.NATIONAL))
	}},
	{"national area in brackets", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		nat := phonenumbers.Format(p, phonenumbers.NATIONAL)
		if strings.HasPrefix(nat, "(") {
			return nat
		}
		first, rest, ok := strings.Cut(nat, " ")
		if !ok {
			return nat
		}
		return "(" + first + ") " + strings.ReplaceAll(rest, " ", "")
	}},
	{"national slash", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		nat := strings.NewReplacer("(", "", ")", "").Replace(phonenumbers.Format(p, phonenumbers.NATIONAL))
		first, rest, ok := strings.Cut(nat, " ")
		if !ok {
			return nat
		}
		return first + "/" + phonenumbers.NormalizeDigitsOnly(rest)
	}},
	{"national ext", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		return phonenumbers.Format(p, phonenumbers.NATIONAL) + " x123"
	}},
	{"national padded", true, func(p *phonenumbers.PhoneNumber, _ string) string {
		return "  " + phonenumbers.Format(p, phonenumbers.NATIONAL) + " \t"
	}},
	{"country code without +", false, func(p *phonenumbers.PhoneNumber, _ string) string { return ccOf(p) + nsn(p) }},
}

// countrySpellings: how people fill the address country of each region.
var countrySpellings = map[string][]string{
	"FI": {"Finland", "Suomi", "FI", "FIN"},
	"SE": {"Sweden", "Sverige", "SE", "SWE", "Ruotsi"},
	"DE": {"Germany", "Deutschland", "DE", "DEU"},
	"GB": {"United Kingdom", "UK", "GB", "Great Britain", "England"},
	"US": {"USA", "United States", "US", "U.S.A.", "United States of America"},
	"NL": {"Netherlands", "The Netherlands", "Nederland", "NL", "Holland"},
	"NO": {"Norway", "Norge", "NO", "NOR"},
}

var dirRegions = []string{"FI", "SE", "DE", "GB", "US", "NL", "NO"}

type dirCustomer struct {
	ref     crm.Ref
	e164    string
	format  string
	country string
	covered bool // record states its country or is in the tenant's region
	raw     string
}

// numbersOf returns n distinct valid numbers of a region (mobile and fixed
// line, varied from libphonenumber's example numbers).
func numbersOf(t *testing.T, region string, n int) []*phonenumbers.PhoneNumber {
	t.Helper()
	var out []*phonenumbers.PhoneNumber
	seen := map[string]bool{}
	for i := 0; len(out) < n && i < 20000; i++ {
		typ := phonenumbers.MOBILE
		if i%2 == 1 {
			typ = phonenumbers.FIXED_LINE
		}
		ex := phonenumbers.GetExampleNumberForType(region, typ)
		if ex == nil {
			continue
		}
		d := nsn(ex)
		tail := fmt.Sprintf("%04d", (i*7919+13)%10000)
		cand := d[:len(d)-4] + tail
		p, err := phonenumbers.Parse("+"+ccOf(ex)+cand, "")
		if err != nil || !phonenumbers.IsValidNumberForRegion(p, region) {
			continue
		}
		e := phonenumbers.Format(p, phonenumbers.E164)
		if seen[e] {
			continue
		}
		seen[e] = true
		out = append(out, p)
	}
	if len(out) < n {
		t.Fatalf("%s: only %d numbers", region, len(out))
	}
	return out
}

func TestDirectoryCorpusFidelity(t *testing.T) {
	ctx := context.Background()
	const tenantRegion = "FI"
	mem := crmtest.NewMemory()
	lister := crmtest.NewLister(mem, 100, nil)
	entities := crm.Entities
	var customers []dirCustomer
	byRef := map[crm.Ref]dirCustomer{}
	add := func(e164, format, country string, covered bool, raw string) crm.Ref {
		e := entities[len(customers)%len(entities)]
		fields := map[string]string{}
		if country != "" {
			fields[crmtest.CountryField] = country
		}
		id := mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: e}, Phones: map[string]string{"telephone1": raw}, Fields: fields})
		c := dirCustomer{ref: crm.Ref{Entity: e, ID: id}, e164: e164, format: format, country: country, covered: covered, raw: raw}
		customers = append(customers, c)
		byRef[c.ref] = c
		return c.ref
	}
	i := 0
	for _, region := range dirRegions {
		for _, p := range numbersOf(t, region, 60) {
			f := dirFormats[i%len(dirFormats)]
			country := ""
			if (i/len(dirFormats))%2 == 0 || region == tenantRegion && i%3 == 0 {
				sp := countrySpellings[region]
				country = sp[i%len(sp)]
			}
			covered := country != "" || region == tenantRegion || !f.national
			add(phonenumbers.Format(p, phonenumbers.E164), f.name, country, covered, f.render(p, region))
			i++
		}
	}
	// Trap: two Finnish customers sharing the last 8 digits.
	add("+358401234567", "trap: shared last 8 digits", "", true, "040 123 4567")
	add("+358501234567", "trap: shared last 8 digits", "", true, "050 123 4567")
	// Trap: an internal extension and a user's own mobile stored on contacts.
	ext := mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "1234"}})
	own := mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"mobilephone": "040 999 8887"}})
	if len(customers) < 400 {
		t.Fatalf("corpus has %d customers, want at least 400", len(customers))
	}

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := phonedir.New(st, lister, phonedir.Options{Tenant: "corpus", Region: tenantRegion})
	sum, err := dir.Sync(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("directory load: %d records, %d numbers, %d unparseable, %d requests", sum.Records, sum.Numbers, sum.Unparseable, sum.Requests)
	m := match.New(mem, match.Options{Region: tenantRegion, Directory: dir})
	m.SetInternal(phone.NewInternal(tenantRegion, "+358409998887", "1234"))
	lookupsBefore := mem.Calls(crmtest.MethodLookup)

	type row struct{ callers, covered, found, wrong int }
	rows := map[string]*row{}
	var callers []string
	want := map[string]dirCustomer{}
	for k, c := range customers {
		caller := c.e164
		if k%4 == 1 {
			caller = strings.TrimPrefix(caller, "+") // Enreach sometimes drops the '+'
		}
		callers = append(callers, caller)
		want[caller] = c
	}
	foreign := "+46401234567" // a Swede whose national digits are a Finnish record's "040 123 4567"
	callers = append(callers, foreign, "1234", "+358409998887")
	res, err := m.Match(ctx, callers, false)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for _, caller := range callers {
		r := res[caller]
		c, isCustomer := want[caller]
		for _, rec := range r.Records {
			if !isCustomer || rec.Ref != c.ref {
				wrong++
				t.Errorf("caller %s matched %v (raw %v), not theirs", caller, rec.Ref, rec.Phones)
			}
		}
		if !isCustomer {
			if len(r.Records) != 0 {
				t.Errorf("trap caller %s matched %d records", caller, len(r.Records))
			}
			continue
		}
		rw := rows[c.format]
		if rw == nil {
			rw = &row{}
			rows[c.format] = rw
		}
		rw.callers++
		if c.covered {
			rw.covered++
			if slices.ContainsFunc(r.Records, func(x crm.Record) bool { return x.Ref == c.ref }) {
				rw.found++
			} else {
				t.Logf("missed: %s stored as %q (country %q)", c.e164, c.raw, c.country)
			}
		}
	}
	if r := res["+358409998887"]; r.Reason != "internal_number" {
		t.Errorf("the user's own mobile stored on contact %s: reason %q, want internal_number", own, r.Reason)
	}
	_ = ext
	bad, err := st.DirectoryUnparseable(ctx, "corpus", 100)
	if err != nil || !slices.ContainsFunc(bad, func(n store.DirectoryNumber) bool { return n.Raw == "1234" }) {
		t.Errorf("the extension stored on a contact is not listed unparseable: %+v %v", bad, err)
	}

	var names []string
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	var covered, found int
	t.Logf("%-28s %7s %7s %7s", "format", "callers", "covered", "recall")
	for _, n := range names {
		rw := rows[n]
		covered += rw.covered
		found += rw.found
		rec := 100.0
		if rw.covered > 0 {
			rec = 100 * float64(rw.found) / float64(rw.covered)
		}
		t.Logf("%-28s %7d %7d %6.1f%%", n, rw.callers, rw.covered, rec)
	}
	recall := 100 * float64(found) / float64(covered)
	t.Logf("customers %d, formats %d, covered %d, found %d: recall %.2f%%, wrong records %d (precision %s)",
		len(customers), len(rows), covered, found, recall, wrong, map[bool]string{true: "100%", false: "below 100%"}[wrong == 0])
	if len(rows) < 15 {
		t.Errorf("%d formats, want at least 15", len(rows))
	}
	if recall < 99.5 {
		t.Errorf("recall %.2f%%, want at least 99.5%%", recall)
	}
	// Every covered customer came from the directory: misses went live.
	if got := mem.Calls(crmtest.MethodLookup) - lookupsBefore; got > 1 {
		t.Errorf("%d live lookups for one batch, want at most 1 (the misses)", got)
	}
}
