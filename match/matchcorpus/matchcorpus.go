// Package matchcorpus owns the phone directory's fidelity corpus: 420
// customers across FI, SE, DE, GB, US, NL and NO whose numbers are stored in
// 17 formats, on records with and without an address country (spelt as
// people type it), plus traps; the matching run of its callers through
// match.Matcher, answered from the phone directory (crm.directory: mirror)
// or by live lookups (crm.directory: live) against the in-memory CRM
// (crm/crmtest); and the per-format tally of right and wrong records.
//
// Traps: two customers whose numbers share the last 8 digits, a foreign
// caller whose national digits equal a Finnish record's national form, an
// internal extension stored on a contact, a user's own mobile stored on a
// contact.
//
// The match tests assert on it and the benchmark prints it; the production
// binary never imports it.
package matchcorpus

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phone"
	"github.com/callsync/callsync/phonedir"
)

// Region is the tenant's default region in the corpus.
const Region = "FI"

// Tenant is the tenant name the corpus loads its directory under.
const Tenant = "corpus"

// The traps' numbers.
const (
	// Foreign is a Swede whose national digits are a Finnish record's
	// "040 123 4567".
	Foreign = "+46401234567"
	// Extension is an internal extension, stored on a contact.
	Extension = "1234"
	// OwnMobile is a user's own mobile, stored on a contact as "040 999 8887".
	OwnMobile = "+358409998887"
)

// TrapFormat names the tally row of the trap callers that are no customer.
const TrapFormat = "trap: not a customer"

// Format renders a number as people store it.
type Format struct {
	Name string
	// National formats need the record's country (or the tenant's region).
	National bool
	Render   func(p *phonenumbers.PhoneNumber, region string) string
}

func nsn(p *phonenumbers.PhoneNumber) string { return phonenumbers.GetNationalSignificantNumber(p) }
func ccOf(p *phonenumbers.PhoneNumber) string {
	return fmt.Sprint(p.GetCountryCode())
}

// Formats are the storage formats of the corpus.
func Formats() []Format {
	return []Format{
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
}

// Regions are the customers' countries.
func Regions() []string { return []string{"FI", "SE", "DE", "GB", "US", "NL", "NO"} }

// countrySpellings: how people fill the address country of each region.
func countrySpellings() map[string][]string {
	return map[string][]string{
		"FI": {"Finland", "Suomi", "FI", "FIN"},
		"SE": {"Sweden", "Sverige", "SE", "SWE", "Ruotsi"},
		"DE": {"Germany", "Deutschland", "DE", "DEU"},
		"GB": {"United Kingdom", "UK", "GB", "Great Britain", "England"},
		"US": {"USA", "United States", "US", "U.S.A.", "United States of America"},
		"NL": {"Netherlands", "The Netherlands", "Nederland", "NL", "Holland"},
		"NO": {"Norway", "Norge", "NO", "NOR"},
	}
}

// Customer is one corpus record and the number it holds.
type Customer struct {
	Ref     crm.Ref
	E164    string
	Format  string
	Country string // the record's address country as typed, "" if none
	// Eligible: the record states its country, or is in the tenant's
	// region, or holds the number in an international format. Only these
	// count for recall: a national format without a country cannot be read.
	Eligible bool
	Raw      string
}

// Corpus is the CRM content and the callers.
type Corpus struct {
	CRM       *crmtest.Memory
	Lister    *crmtest.Lister
	Customers []Customer
	// Callers are the numbers Enreach reports, in order: one per customer
	// (every fourth without its '+'), then the traps Foreign, Extension
	// and OwnMobile.
	Callers []string
	// customer of each caller.
	byCaller map[string]int
}

// numbersOf returns n distinct valid numbers of a region (mobile and fixed
// line, varied from libphonenumber's example numbers).
func numbersOf(region string, n int) ([]*phonenumbers.PhoneNumber, error) {
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
		return nil, fmt.Errorf("matchcorpus: %s: only %d valid numbers, want %d", region, len(out), n)
	}
	return out, nil
}

// New builds the corpus in a fresh in-memory CRM: perRegion customers of
// each region (60 gives 420), then the traps.
func New(perRegion int) (*Corpus, error) {
	mem := crmtest.NewMemory()
	c := &Corpus{CRM: mem, Lister: crmtest.NewLister(mem, 100, nil), byCaller: map[string]int{}}
	entities := crm.Entities
	add := func(e164, format, country string, eligible bool, raw string) {
		e := entities[len(c.Customers)%len(entities)]
		fields := map[string]string{}
		if country != "" {
			fields[crmtest.CountryField] = country
		}
		id := mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: e}, Phones: map[string]string{"telephone1": raw}, Fields: fields})
		c.Customers = append(c.Customers, Customer{Ref: crm.Ref{Entity: e, ID: id}, E164: e164, Format: format, Country: country, Eligible: eligible, Raw: raw})
	}
	formats := Formats()
	spellings := countrySpellings()
	i := 0
	for _, region := range Regions() {
		nums, err := numbersOf(region, perRegion)
		if err != nil {
			return nil, err
		}
		for _, p := range nums {
			f := formats[i%len(formats)]
			country := ""
			if (i/len(formats))%2 == 0 || region == Region && i%3 == 0 {
				sp := spellings[region]
				country = sp[i%len(sp)]
			}
			eligible := country != "" || region == Region || !f.National
			add(phonenumbers.Format(p, phonenumbers.E164), f.Name, country, eligible, f.Render(p, region))
			i++
		}
	}
	// Trap: two Finnish customers sharing the last 8 digits.
	add("+358401234567", "trap: shared last 8 digits", "", true, "040 123 4567")
	add("+358501234567", "trap: shared last 8 digits", "", true, "050 123 4567")
	// Trap: an internal extension and a user's own mobile stored on contacts.
	mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": Extension}})
	mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"mobilephone": "040 999 8887"}})

	for k, cu := range c.Customers {
		caller := cu.E164
		if k%4 == 1 {
			caller = strings.TrimPrefix(caller, "+") // Enreach sometimes drops the '+'
		}
		if _, dup := c.byCaller[caller]; dup {
			return nil, fmt.Errorf("matchcorpus: two customers hold %s", caller)
		}
		c.byCaller[caller] = k
		c.Callers = append(c.Callers, caller)
	}
	c.Callers = append(c.Callers, Foreign, Extension, OwnMobile)
	return c, nil
}

// Tally counts one storage format's callers.
type Tally struct {
	Format string `json:"format"`
	// Callers whose record holds the number in this format.
	Callers int `json:"callers"`
	// Eligible callers (see Customer.Eligible).
	Eligible int `json:"eligible"`
	// Right: callers given their own record; EligibleRight: of the eligible.
	Right         int `json:"right"`
	EligibleRight int `json:"eligible_right"`
	// Wrong: records given to a caller that are not the caller's.
	Wrong int `json:"wrong"`
}

// Precision is right over right and wrong (1 when nothing matched).
func (t Tally) Precision() float64 {
	if t.Right+t.Wrong == 0 {
		return 1
	}
	return float64(t.Right) / float64(t.Right+t.Wrong)
}

// Recall is the eligible callers given their own record over the eligible
// (1 when none is eligible).
func (t Tally) Recall() float64 {
	if t.Eligible == 0 {
		return 1
	}
	return float64(t.EligibleRight) / float64(t.Eligible)
}

// Outcome is one caller's answer.
type Outcome struct {
	Caller string
	// Customer is the caller's record; nil for a trap caller who is no
	// customer.
	Customer *Customer
	Result   match.Result
	// Wrong are the records given that are not the caller's.
	Wrong []crm.Record
}

// Report is one matching run.
type Report struct {
	// Mode is the crm.directory setting: "mirror" or "live".
	Mode string
	// Formats are the tallies by format name; TrapFormat holds the traps
	// that are no customer.
	Formats  []Tally
	Outcomes []Outcome
	// Load is the directory's full load (mirror).
	Load phonedir.Summary
	// LookupRequests are the CRM lookups of the matching itself.
	LookupRequests int
}

// Total sums the tallies.
func (r Report) Total() Tally {
	t := Tally{Format: "total"}
	for _, f := range r.Formats {
		t.Callers += f.Callers
		t.Eligible += f.Eligible
		t.Right += f.Right
		t.EligibleRight += f.EligibleRight
		t.Wrong += f.Wrong
	}
	return t
}

// Missed are the eligible customers not given their own record.
func (r Report) Missed() []Customer {
	var out []Customer
	for _, o := range r.Outcomes {
		if o.Customer != nil && o.Customer.Eligible && !slices.ContainsFunc(o.Result.Records, func(x crm.Record) bool { return x.Ref == o.Customer.Ref }) {
			out = append(out, *o.Customer)
		}
	}
	return out
}

// Mirror loads the phone directory from the corpus CRM into st (a fresh
// store) and matches every caller through it (crm.directory: mirror).
func (c *Corpus) Mirror(ctx context.Context, st phonedir.Store) (Report, error) {
	dir := phonedir.New(st, c.Lister, phonedir.Options{Tenant: Tenant, Region: Region})
	sum, err := dir.Sync(ctx, false, nil)
	if err != nil {
		return Report{}, fmt.Errorf("matchcorpus: directory load: %w", err)
	}
	r, err := c.run(ctx, "mirror", match.New(c.CRM, match.Options{Region: Region, Directory: dir}))
	r.Load = sum
	return r, err
}

// Live matches every caller by live CRM lookups only (crm.directory: live).
func (c *Corpus) Live(ctx context.Context) (Report, error) {
	return c.run(ctx, "live", match.New(c.CRM, match.Options{Region: Region}))
}

func (c *Corpus) run(ctx context.Context, mode string, m *match.Matcher) (Report, error) {
	m.SetInternal(phone.NewInternal(Region, OwnMobile, Extension))
	before := c.CRM.Calls(crmtest.MethodLookup)
	res, err := m.Match(ctx, c.Callers, false)
	if err != nil {
		return Report{}, fmt.Errorf("matchcorpus: match (%s): %w", mode, err)
	}
	rep := Report{Mode: mode, LookupRequests: c.CRM.Calls(crmtest.MethodLookup) - before}
	rows := map[string]*Tally{}
	for _, caller := range c.Callers {
		o := Outcome{Caller: caller, Result: res[caller]}
		format := TrapFormat
		if k, ok := c.byCaller[caller]; ok {
			o.Customer = &c.Customers[k]
			format = o.Customer.Format
		}
		rw := rows[format]
		if rw == nil {
			rw = &Tally{Format: format}
			rows[format] = rw
		}
		rw.Callers++
		own := false
		for _, rec := range o.Result.Records {
			if o.Customer != nil && rec.Ref == o.Customer.Ref {
				own = true
				continue
			}
			o.Wrong = append(o.Wrong, rec)
		}
		rw.Wrong += len(o.Wrong)
		if own {
			rw.Right++
		}
		if o.Customer != nil && o.Customer.Eligible {
			rw.Eligible++
			if own {
				rw.EligibleRight++
			}
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	for _, t := range rows {
		rep.Formats = append(rep.Formats, *t)
	}
	sort.Slice(rep.Formats, func(i, j int) bool { return rep.Formats[i].Format < rep.Formats[j].Format })
	return rep, nil
}
