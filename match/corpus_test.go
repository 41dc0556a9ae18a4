package match_test

// A corpus of stored phone values in mixed formats and
// countries (testdata/corpus_*.tsv), seeded into every CRM double, looked up
// through match.Matcher by callers in E.164 (some without '+'), with precision
// and recall reported per storage format and CRM.
//
// Precision must be 100% everywhere: no caller matches a record that is not
// theirs, and records holding the tenant's own numbers, extensions behind a
// switchboard or short extensions never match. Recall has a floor per format
// and CRM (corpusFormats): every format libphonenumber renders and every
// variant in phone.Forms must be found by every CRM; the other formats are
// found only where the CRM's own search ignores formatting (Salesforce phone
// search, Dataverse's trailing-space rule) and are reported, with the reason.

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phone"
)

// The CRMs under test, in table order.
const (
	corpusMemory     = "memory"
	corpusDynamics   = "dynamics"
	corpusSalesforce = "salesforce"
	corpusZoho       = "zoho"
)

var corpusCRMs = []string{corpusMemory, corpusDynamics, corpusSalesforce, corpusZoho}

// corpusMaxRequests bounds the HTTP requests (token requests included) one
// CRM may take to look up a 1,000-call backfill: "a few dozen".
const corpusMaxRequests = 40

// corpusFormat is one storage format: a row of the recall table.
type corpusFormat struct {
	name, example string
	// floor is the recall each CRM must reach; a CRM without an entry is
	// expected to miss the format (why says why) and is only reported.
	floor map[string]float64
	why   string
	// never: no caller may match these records (they count for precision).
	never bool
}

func corpusFloor(recall float64, crms ...string) map[string]float64 {
	m := map[string]float64{}
	for _, c := range crms {
		m[c] = recall
	}
	return m
}

var (
	corpusAll      = corpusFloor(1, corpusCRMs...)
	corpusSOSLOnly = corpusFloor(1, corpusSalesforce)
)

// corpusFormats lists every format of the corpus files, in table order.
var corpusFormats = []corpusFormat{
	{name: "e164", example: "+358401234567", floor: corpusAll},
	{name: "cc-digits", example: "358401234567", floor: corpusAll},
	{name: "00-prefix", example: "00358401234567", floor: corpusAll},
	{name: "intl", example: "+358 40 1234567 (libphonenumber)", floor: corpusAll},
	{name: "intl-spaced", example: "+358 40 123 4567, +1 201 555 0123", floor: corpusAll},
	{name: "intl-dashed", example: "+358-40-1234567", floor: corpusAll},
	{name: "national", example: "040 1234567, (201) 555-0123 (libphonenumber)", floor: corpusAll},
	{name: "national-spaced", example: "040 123 4567, 201 555 0123", floor: corpusAll},
	{name: "national-digits", example: "0401234567", floor: corpusAll},
	{name: "national-dashed", example: "040-1234567, 201-555-0123", floor: corpusAll},
	{name: "parentheses", example: "(040) 123-4567", floor: corpusSOSLOnly,
		why: "not among phone.Forms; only Salesforce phone search ignores formatting"},
	{name: "intl-trunk0", example: "+358 (0)40 123 4567", floor: corpusSOSLOnly,
		why: "not among phone.Forms; SOSL finds it because its digits end with the national digits 0401234567"},
	{name: "other-separators", example: "040-123 4567, 040.123.4567, +1 (201) 555-0123", floor: corpusSOSLOnly,
		why: "groupings and separators outside phone.Forms; only Salesforce phone search ignores formatting"},
	{name: "trailing-spaces", example: `"+358401234567 "`, floor: corpusFloor(1, corpusDynamics, corpusSalesforce),
		why: "Dataverse compares like SQL Server (trailing spaces ignored) and SOSL ignores formatting; Memory and the Zoho double compare exact strings (Zoho's own trimming is not documented)"},
	{name: "leading-spaces", example: `" +358401234567"`, floor: corpusSOSLOnly,
		why: "exact comparisons keep leading spaces; only SOSL ignores them"},
	{name: "us-idd-011", example: "011 358 50 123 4567", floor: corpusSOSLOnly,
		why: "the US international prefix 011 is not among phone.Forms (00 is); SOSL matches its digits as a suffix"},
	{name: "foreign-trunk0", example: "+44 (0)20 7946 0123",
		why: "no form holds the trunk 0 after a foreign country code and the digits end with no form's digits; verification would accept it, the search cannot find it"},
	{name: "foreign-national", example: "070-123 45 67 (a Swedish number in a FI tenant)",
		why: "by design: a number stored without its country code is read with the tenant's default_region and is another number"},
	{name: "cc-digits-ambiguous", example: "4741234567 (NO without '+')",
		why: "by design: Norwegian and Danish numbers written as country code without '+' are also valid Finnish numbers, and the default_region reading wins"},
	{name: "extension", example: "+358 9 6123 4500 ext. 12", never: true,
		why: "an extension behind a switchboard is not the switchboard's caller (SHORT_NSN_MATCH is no match)"},
	{name: "short-extension", example: "1234", never: true, why: "internal short numbers are never matched"},
	{name: "own-number", example: "the tenant's switchboard, users' and queue numbers", never: true,
		why: "internal numbers are never looked up or matched"},
}

func corpusFormatFloor(f corpusFormat) map[string]float64 { return f.floor }

func corpusFormatByName(name string) (corpusFormat, bool) {
	for _, f := range corpusFormats {
		if f.name == name {
			return f, true
		}
	}
	return corpusFormat{}, false
}

// corpusTenant is one tenant: its region, its stored numbers and its callers.
type corpusTenant struct {
	name, region, file string
	// internal are the tenant's own numbers (phone.NewInternal).
	internal []string
	// nothing are raw callers that must match no record: internal numbers
	// as other systems write them, short extensions, withheld callers.
	nothing []string
	// callers is the total number of distinct callers; the corpus callers
	// are topped up with numbers no CRM holds (0: no filler).
	callers int
}

var (
	corpusFI = corpusTenant{
		name: "FI", region: "FI", file: "corpus_fi.tsv",
		internal: []string{"+358 9 4242 4200", "+358 9 4242 4201", "050 765 0001", "+358401239999", "020 765 4321", "4200"},
		nothing:  []string{"09 4242 4200", "358942424200", "0507650001", "1234", "212", "4200", "anonymous", ""},
		callers:  1000,
	}
	corpusUS = corpusTenant{
		name: "US", region: "US", file: "corpus_us.tsv",
		internal: []string{"(201) 555-0199", "+1 415 555 0199"},
		nothing:  []string{"2015550199", "1-415-555-0199", "123", "anonymous"},
	}
)

// corpusRow is one stored phone value.
type corpusRow struct {
	line                        int
	record                      string
	entity                      crm.Entity
	slot                        int
	format, truth, stored, note string
}

func loadCorpus(t *testing.T, file string) []corpusRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 7 {
			t.Fatalf("%s:%d: %d columns, want 7", file, line, len(cols))
		}
		r := corpusRow{line: line, record: cols[0], entity: crm.Entity(cols[1]), format: cols[3], truth: cols[4], note: cols[6]}
		if !slices.Contains(crm.Entities, r.entity) {
			t.Fatalf("%s:%d: unknown entity %q", file, line, cols[1])
		}
		if r.slot, err = strconv.Atoi(cols[2]); err != nil || r.slot < 0 {
			t.Fatalf("%s:%d: bad slot %q", file, line, cols[2])
		}
		if _, ok := corpusFormatByName(r.format); !ok {
			t.Fatalf("%s:%d: unknown format %q", file, line, r.format)
		}
		if r.truth != "-" && !strings.HasPrefix(r.truth, "+") {
			t.Fatalf("%s:%d: truth %q is neither E.164 nor -", file, line, r.truth)
		}
		if r.stored, err = strconv.Unquote(cols[5]); err != nil {
			t.Fatalf("%s:%d: stored value %s: %v", file, line, cols[5], err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// corpusBackend is one CRM double with the client callsync uses for it.
type corpusBackend struct {
	client   match.Lookuper
	fields   func(crm.Entity) []string
	add      func(e crm.Entity, name string, phones map[string]string) string
	requests func() int
}

func newCorpusBackend(t *testing.T, name string) *corpusBackend {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	switch name {
	case corpusMemory:
		m := crmtest.NewMemory()
		fields := map[crm.Entity][]string{
			crm.Contact: {"phone", "mobile", "other"}, crm.Account: {"phone", "other"}, crm.Lead: {"phone", "mobile"},
		}
		return &corpusBackend{
			client: m,
			fields: func(e crm.Entity) []string { return fields[e] },
			add: func(e crm.Entity, name string, phones map[string]string) string {
				return m.AddCustomer(e, name, phones, "", nil)
			},
			requests: m.Requests,
		}
	case corpusDynamics:
		srv := dynamicstest.NewServer(dynamicstest.Options{})
		t.Cleanup(srv.Close)
		c, err := dynamics.New(srv.Config(), dynamics.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return &corpusBackend{
			client: c,
			fields: c.PhoneFields,
			add: func(e crm.Entity, name string, phones map[string]string) string {
				r := dynamicstest.Record{Name: name, Phones: phones}
				switch e {
				case crm.Contact:
					return srv.AddContact(r)
				case crm.Account:
					return srv.AddAccount(r)
				}
				return srv.AddLead(r)
			},
			requests: func() int { return srv.Requests() },
		}
	case corpusSalesforce:
		const id, secret = "3MVG9corpus.consumer.key", "corpus-secret"
		srv := salesforcetest.NewServer(salesforcetest.Config{ClientID: id, ClientSecret: secret, Username: "integration@corpus.example"})
		t.Cleanup(srv.Close)
		c, err := salesforce.New(salesforce.Config{
			LoginURL: srv.URL, Grant: salesforce.GrantClientCredentials, ClientID: id, ClientSecret: secret,
		}, salesforce.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		objects := map[crm.Entity]string{crm.Contact: "Contact", crm.Account: "Account", crm.Lead: "Lead"}
		return &corpusBackend{
			client: c,
			fields: func(e crm.Entity) []string { return salesforce.DefaultPhoneFields()[e] },
			add: func(e crm.Entity, name string, phones map[string]string) string {
				rec := map[string]any{"Name": name}
				switch e {
				case crm.Contact:
					rec["LastName"] = name
				case crm.Lead:
					rec["LastName"], rec["Company"] = name, "Company of "+name
				}
				for k, v := range phones {
					rec[k] = v
				}
				return srv.Add(objects[e], rec)
			},
			requests: srv.Requests, // token requests included
		}
	case corpusZoho:
		srv := zohotest.NewServer()
		t.Cleanup(srv.Close)
		c, err := zoho.New(srv.Config(), zoho.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return &corpusBackend{
			client: c,
			fields: func(e crm.Entity) []string {
				switch e {
				case crm.Contact:
					return []string{"Phone", "Mobile", "Home_Phone", "Other_Phone", "Asst_Phone"}
				case crm.Account:
					return []string{"Phone"}
				}
				return []string{"Phone", "Mobile"}
			},
			add: func(e crm.Entity, name string, phones map[string]string) string {
				rec, module := map[string]any{"Last_Name": name}, map[crm.Entity]string{crm.Contact: "Contacts", crm.Lead: "Leads"}[e]
				if e == crm.Account {
					rec, module = map[string]any{"Account_Name": name}, "Accounts"
				}
				for k, v := range phones {
					rec[k] = v
				}
				return srv.AddRecord(module, rec)
			},
			requests: func() int { return srv.Requests() },
		}
	}
	t.Fatalf("unknown CRM %q", name)
	return nil
}

// seedCorpus stores every corpus record and returns the record keys by ref.
func seedCorpus(t *testing.T, b *corpusBackend, rows []corpusRow) map[crm.Ref]string {
	t.Helper()
	type rec struct {
		entity crm.Entity
		phones map[string]string
	}
	var order []string
	recs := map[string]*rec{}
	for _, r := range rows {
		x := recs[r.record]
		if x == nil {
			x = &rec{entity: r.entity, phones: map[string]string{}}
			recs[r.record] = x
			order = append(order, r.record)
		}
		fields := b.fields(r.entity)
		if x.entity != r.entity || len(fields) == 0 {
			t.Fatalf("line %d: record %s: entity %s has no phone field here or differs", r.line, r.record, r.entity)
		}
		field := fields[r.slot%len(fields)]
		if _, dup := x.phones[field]; dup {
			t.Fatalf("line %d: record %s: slot %d gives field %s twice", r.line, r.record, r.slot, field)
		}
		x.phones[field] = r.stored
	}
	refs := make(map[crm.Ref]string, len(order))
	for _, key := range order {
		x := recs[key]
		id := b.add(x.entity, "corpus "+key, x.phones)
		refs[crm.Ref{Entity: x.entity, ID: id}] = key
	}
	return refs
}

// corpusSpy records what the Matcher asked the CRM client and the unverified
// candidates the client answered.
type corpusSpy struct {
	inner match.Lookuper

	mu      sync.Mutex
	calls   int
	queried map[string]bool
	cands   map[string][]crm.Ref
}

func (s *corpusSpy) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	res, err := s.inner.Lookup(ctx, req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, q := range req.Numbers {
		s.queried[q.Number] = true
	}
	for n, recs := range res {
		for _, r := range recs {
			s.cands[n] = append(s.cands[n], r.Ref)
		}
	}
	return res, err
}

// corpusCaller is one caller number given to the Matcher.
type corpusCaller struct {
	raw string
	// e164 is what raw must normalise to; "" for callers that must not be
	// matchable at all or whose reading the test does not fix.
	e164 string
	// internal: an own number (Reason internal_number); unmatchable: a
	// short extension, withheld or empty caller (any other Reason);
	// nothing: must match no record (those and the fillers).
	internal, unmatchable, nothing bool
}

// corpusCallers returns the tenant's callers: every truth of the corpus once,
// every fourth without '+' as Enreach sometimes sends them, the internal
// numbers, the nothing list, then fillers up to ten.callers.
//
// Norwegian and Danish callers always keep their '+': without it
// phone.Normalize reads "4520123456" as the valid Finnish mobile
// +358 45 20123456 (the default_region reading comes first), so a Danish
// caller would be looked up, and matched, as a Finnish number. That is a
// known limitation of caller normalisation, not of the search.
func corpusCallers(t *testing.T, ten corpusTenant, rows []corpusRow, in *phone.Internal) []corpusCaller {
	t.Helper()
	var truths []string
	seen := map[string]bool{}
	for _, r := range rows {
		if r.truth != "-" && !seen[r.truth] {
			seen[r.truth] = true
			truths = append(truths, r.truth)
		}
	}
	sort.Strings(truths)
	var out []corpusCaller
	raws := map[string]bool{}
	push := func(c corpusCaller) {
		if !raws[c.raw] {
			raws[c.raw] = true
			out = append(out, c)
		}
	}
	for i, e := range truths {
		n, _ := phone.Normalize(e, ten.region)
		c := corpusCaller{raw: e, e164: e, internal: in.Contains(n)}
		c.nothing = c.internal
		// Every fourth caller comes without its '+', as Enreach sometimes
		// sends it (Norwegian and Danish ones too: NormalizeCaller reads
		// them as international, not as Finnish mobiles).
		if i%4 == 1 {
			c.raw = strings.TrimPrefix(e, "+")
		}
		push(c)
	}
	for _, raw := range ten.internal {
		n, ok := phone.Normalize(raw, ten.region)
		if ok {
			push(corpusCaller{raw: n.E164(), e164: n.E164(), internal: true, nothing: true})
		}
	}
	for _, raw := range ten.nothing {
		c := corpusCaller{raw: raw, nothing: true}
		if n, ok := phone.Normalize(raw, ten.region); ok && in.Contains(n) {
			c.internal, c.e164 = true, n.E164()
		} else if !ok {
			c.unmatchable = true
		}
		push(c)
	}
	// Fillers: FI, SE, DE and EE mobile numbers no CRM holds.
	for i := 0; len(out) < ten.callers; i++ {
		x := (i*7919 + 1234567) % 10_000_000
		var e string
		switch i % 4 {
		case 0:
			e = fmt.Sprintf("+35850%07d", x)
		case 1:
			e = fmt.Sprintf("+4676%07d", x)
		case 2:
			e = fmt.Sprintf("+49170%07d", x)
		default:
			e = fmt.Sprintf("+3725%07d", x)
		}
		if seen[e] {
			continue
		}
		if n, ok := phone.Normalize(e, ten.region); !ok || n.E164() != e || in.Contains(n) {
			t.Fatalf("filler %s does not normalise to itself", e)
		}
		push(corpusCaller{raw: e, e164: e, nothing: true})
	}
	return out
}

// corpusStats is one cell of the table.
type corpusStats struct {
	expected, hits, wrong int
}

// corpusRun is what one CRM did with one tenant's corpus.
type corpusRun struct {
	crm        string
	stats      map[string]*corpusStats // by format
	problems   []string                // false matches and wrong normalisation
	misses     map[string][]string     // by format
	requests   int
	lookups    int
	candidates int // candidates the client returned
	dropped    int // candidates verification dropped
	spy        *corpusSpy
	refs       map[crm.Ref]string
	results    map[string]match.Result
}

// runCorpus seeds one CRM with the tenant's corpus and matches its callers in
// one Matcher.Match call, the way a backfill does.
func runCorpus(t *testing.T, name string, ten corpusTenant, rows []corpusRow, numbersToCut int) *corpusRun {
	t.Helper()
	b := newCorpusBackend(t, name)
	refs := seedCorpus(t, b, rows)
	in := phone.NewInternal(ten.region, ten.internal...)
	callers := corpusCallers(t, ten, rows, in)

	spy := &corpusSpy{inner: b.client, queried: map[string]bool{}, cands: map[string][]crm.Ref{}}
	m := match.New(spy, match.Options{Region: ten.region, NumbersToCut: numbersToCut})
	m.SetInternal(in)
	raws := make([]string, len(callers))
	for i, c := range callers {
		raws[i] = c.raw
	}
	before := b.requests()
	res, err := m.Match(context.Background(), raws, false)
	if err != nil {
		t.Fatalf("%s: Match: %v", name, err)
	}
	run := &corpusRun{crm: name, stats: map[string]*corpusStats{}, misses: map[string][]string{},
		requests: b.requests() - before, lookups: spy.calls, spy: spy, refs: refs, results: res}
	for _, f := range corpusFormats {
		run.stats[f.name] = &corpusStats{}
	}

	byRecord := map[string][]corpusRow{}
	byTruth := map[string][]corpusRow{}
	for _, r := range rows {
		byRecord[r.record] = append(byRecord[r.record], r)
		byTruth[r.truth] = append(byTruth[r.truth], r)
	}
	for _, c := range callers {
		r, ok := res[c.raw]
		if !ok {
			run.problems = append(run.problems, fmt.Sprintf("caller %q: no result", c.raw))
			continue
		}
		if c.e164 != "" && r.Number.E164() != c.e164 {
			run.problems = append(run.problems, fmt.Sprintf("caller %q normalised to %q, want %s", c.raw, r.Number.E164(), c.e164))
		}
		if c.unmatchable && (r.Reason == "" || r.Reason == "internal_number") {
			run.problems = append(run.problems, fmt.Sprintf("caller %q: reason %q, want unmatchable", c.raw, r.Reason))
		}
		if c.internal && r.Reason != "internal_number" {
			run.problems = append(run.problems, fmt.Sprintf("own number %q: reason %q, want internal_number", c.raw, r.Reason))
		}
		if c.internal && spy.queried[r.Number.E164()] {
			run.problems = append(run.problems, fmt.Sprintf("own number %q was looked up in the CRM", c.raw))
		}
		got := map[string]bool{}
		for _, rec := range r.Records {
			key, ok := refs[rec.Ref]
			if !ok {
				run.problems = append(run.problems, fmt.Sprintf("caller %q matched unknown record %s", c.raw, rec.Ref))
				continue
			}
			got[key] = true
		}
		want := map[string]bool{}
		if !c.nothing {
			for _, row := range byTruth[c.e164] {
				want[row.record] = true
				st := run.stats[row.format]
				st.expected++
				if got[row.record] {
					st.hits++
				} else {
					run.misses[row.format] = append(run.misses[row.format],
						fmt.Sprintf("caller %q did not match %s %q (line %d)", c.raw, row.record, row.stored, row.line))
				}
			}
		}
		for key := range got {
			if want[key] {
				continue
			}
			for _, row := range byRecord[key] {
				run.stats[row.format].wrong++
			}
			run.problems = append(run.problems, fmt.Sprintf("FALSE MATCH: caller %q (%s) matched %s holding %s",
				c.raw, r.Number.E164(), key, corpusValues(byRecord[key])))
		}
		for _, ref := range spy.cands[r.Number.E164()] {
			run.candidates++
			if !slices.ContainsFunc(r.Records, func(x crm.Record) bool { return x.Ref == ref }) {
				run.dropped++
			}
		}
	}
	sort.Strings(run.problems)
	return run
}

func corpusValues(rows []corpusRow) string {
	var vs []string
	for _, r := range rows {
		vs = append(vs, fmt.Sprintf("%q (%s, line %d)", r.stored, r.format, r.line))
	}
	return strings.Join(vs, ", ")
}

func corpusPct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(d))
}

// corpusTable renders CRM × format → hits/expected, precision, recall.
func corpusTable(title string, rows []corpusRow, runs []*corpusRun, floors func(corpusFormat) map[string]float64, notes string) string {
	stored := map[string]int{}
	for _, r := range rows {
		stored[r.format]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", title)
	fmt.Fprintf(&b, "%-20s %6s", "", "")
	for _, r := range runs {
		fmt.Fprintf(&b, " | %-22s", r.crm)
	}
	fmt.Fprintf(&b, " |\n%-20s %6s", "format", "stored")
	for range runs {
		fmt.Fprintf(&b, " | %-22s", " hits/exp P=prec R=rec")
	}
	fmt.Fprintf(&b, " | recall floor\n")
	total := make([]corpusStats, len(runs))
	for _, f := range corpusFormats {
		if stored[f.name] == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-20s %6d", f.name, stored[f.name])
		for i, r := range runs {
			st := r.stats[f.name]
			total[i].expected += st.expected
			total[i].hits += st.hits
			total[i].wrong += st.wrong
			fmt.Fprintf(&b, " | %4d/%-4d P%-4s R%-5s", st.hits, st.expected, corpusPct(st.hits, st.hits+st.wrong), corpusPct(st.hits, st.expected))
		}
		var with []string
		for _, c := range corpusCRMs {
			if v, ok := floors(f)[c]; ok && v > 0 {
				with = append(with, c)
			}
		}
		switch {
		case f.never:
			fmt.Fprintf(&b, " | never matches\n")
		case len(with) == len(corpusCRMs):
			fmt.Fprintf(&b, " | 100%% all\n")
		case len(with) == 0:
			fmt.Fprintf(&b, " | none (reported)\n")
		default:
			fmt.Fprintf(&b, " | 100%% %s\n", strings.Join(with, ", "))
		}
	}
	fmt.Fprintf(&b, "%-20s %6d", "all formats", len(rows))
	for _, st := range total {
		fmt.Fprintf(&b, " | %4d/%-4d P%-4s R%-5s", st.hits, st.expected, corpusPct(st.hits, st.hits+st.wrong), corpusPct(st.hits, st.expected))
	}
	fmt.Fprintf(&b, " |\nrequests (token included) / Matcher Lookup calls / candidates returned / dropped by verification:\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "  %-10s %3d requests, %d Lookup calls, %d candidates, %d dropped\n", r.crm, r.requests, r.lookups, r.candidates, r.dropped)
	}
	b.WriteString(notes)
	return b.String()
}

// corpusWhy explains the formats of rows that some CRM is expected to miss or
// that never match.
func corpusWhy(rows []corpusRow) string {
	stored := map[string]bool{}
	for _, r := range rows {
		stored[r.format] = true
	}
	var b strings.Builder
	b.WriteString("formats some CRM does not find, and why:\n")
	for _, f := range corpusFormats {
		if stored[f.name] && f.why != "" {
			fmt.Fprintf(&b, "  %-20s %s: %s\n", f.name, f.example, f.why)
		}
	}
	return b.String()
}

// checkCorpus asserts 100% precision and the recall floors of floors.
func checkCorpus(t *testing.T, run *corpusRun, floors func(corpusFormat) map[string]float64) {
	t.Helper()
	for _, p := range run.problems {
		t.Errorf("%s: %s", run.crm, p)
	}
	for _, f := range corpusFormats {
		st := run.stats[f.name]
		if st.wrong > 0 {
			t.Errorf("%s/%s: precision %s (%d false matches)", run.crm, f.name, corpusPct(st.hits, st.hits+st.wrong), st.wrong)
		}
		if f.never && st.expected > 0 {
			t.Errorf("%s/%s: %d expected matches for a never-matching format", run.crm, f.name, st.expected)
		}
		floor, ok := floors(f)[run.crm]
		if !ok || st.expected == 0 {
			continue
		}
		if recall := float64(st.hits) / float64(st.expected); recall < floor {
			t.Errorf("%s/%s: recall %s below the floor %.0f%%:\n  %s", run.crm, f.name,
				corpusPct(st.hits, st.expected), 100*floor, strings.Join(run.misses[f.name], "\n  "))
		}
	}
}

// runCorpusCRMs runs the corpus against every CRM, in parallel subtests
// (each with its own double), applying check to each run; it returns the
// runs that completed, in corpusCRMs order.
func runCorpusCRMs(t *testing.T, ten corpusTenant, rows []corpusRow, numbersToCut int, check func(*testing.T, *corpusRun)) []*corpusRun {
	t.Helper()
	runs := make([]*corpusRun, len(corpusCRMs))
	t.Run("crm", func(t *testing.T) {
		for i, name := range corpusCRMs {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				run := runCorpus(t, name, ten, rows, numbersToCut)
				check(t, run)
				runs[i] = run
			})
		}
	})
	var out []*corpusRun
	for _, r := range runs {
		if r != nil {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		t.FailNow()
	}
	return out
}

func TestCorpus(t *testing.T) {
	for _, ten := range []corpusTenant{corpusFI, corpusUS} {
		t.Run(ten.name, func(t *testing.T) {
			rows := loadCorpus(t, ten.file)
			if ten.callers > 0 && len(rows) < 200 {
				t.Fatalf("%s holds %d stored numbers, want at least 200", ten.file, len(rows))
			}
			runs := runCorpusCRMs(t, ten, rows, 0, func(t *testing.T, run *corpusRun) {
				checkCorpus(t, run, corpusFormatFloor)
				if run.requests > corpusMaxRequests {
					t.Errorf("%s: %d requests for %d callers, want at most %d", run.crm, run.requests, len(run.results), corpusMaxRequests)
				}
				if run.requests == 0 || run.lookups == 0 {
					t.Errorf("%s: no lookup reached the CRM (%d requests, %d Lookup calls)", run.crm, run.requests, run.lookups)
				}
			})
			t.Log(corpusTable(fmt.Sprintf("tenant %s (default_region %s): %d stored numbers, %d callers in one backfill",
				ten.name, ten.region, len(rows), len(runs[0].results)), rows, runs, corpusFormatFloor, corpusWhy(rows)))
		})
	}
}

// TestCorpusNumbersToCut runs the FI corpus with numbers_to_cut = 4, the
// original product's suffix search ("+358" cut, the rest searched as a
// suffix). Wrong suffix hits (a Hamburg number ending in 401234567 for the
// Finnish +358 40 1234567) reach the engine and verification drops them.
func TestCorpusNumbersToCut(t *testing.T) {
	const cut = 4
	ten := corpusFI
	ten.callers = 0 // the corpus callers only: the suffix search is one query per number
	rows := loadCorpus(t, ten.file)
	// Values that end with the cut number's digits are what a suffix
	// search finds in every CRM.
	floors := func(f corpusFormat) map[string]float64 {
		switch f.name {
		case "e164", "cc-digits", "00-prefix", "national-digits":
			return corpusAll
		}
		return nil
	}
	runs := runCorpusCRMs(t, ten, rows, cut, func(t *testing.T, run *corpusRun) {
		checkCorpus(t, run, floors)

		// The suffix search must have handed the Hamburg number to the
		// engine for the Finnish caller, and verification dropped it.
		const caller, suffix = "+358401234567", "401234567"
		if got := phone.Cut(caller, cut); got != suffix {
			t.Fatalf("Cut(%s, %d) = %q, want %q", caller, cut, got, suffix)
		}
		var hamburg crm.Ref
		for ref, key := range run.refs {
			if key == "c-cut-de" {
				hamburg = ref
			}
		}
		if !slices.Contains(run.spy.cands[caller], hamburg) {
			t.Errorf("%s: the suffix search for %s did not return the Hamburg record %s (candidates %v)", run.crm, suffix, hamburg, run.spy.cands[caller])
		}
		var matched []string
		for _, raw := range []string{caller, strings.TrimPrefix(caller, "+")} {
			for _, rec := range run.results[raw].Records {
				matched = append(matched, run.refs[rec.Ref])
			}
		}
		if !slices.Equal(matched, []string{"c-cut-fi"}) {
			t.Errorf("%s: %s matched %v, want only c-cut-fi", run.crm, caller, matched)
		}
		if run.dropped == 0 {
			t.Errorf("%s: verification dropped no suffix hit", run.crm)
		}
	})
	t.Log(corpusTable(fmt.Sprintf("tenant FI with numbers_to_cut=%d (suffix search): %d stored numbers, %d callers",
		cut, len(rows), len(runs[0].results)), rows, runs, floors,
		"numbers_to_cut cuts that many characters off the E.164 number and searches the rest as a suffix:\n"+
			"Memory and SOSL compare digits, so every value whose digits end with it is a candidate; Dataverse\n"+
			"endswith and Zoho like '%...' compare the raw value. Verification keeps only the caller's own\n"+
			"numbers. The exact forms are not searched in this mode.\n"))
}
