// Package match owns finding the CRM records of caller numbers for one tenant:
// normalisation with the tenant's region, exclusion of the organisation's own
// numbers, batched CRM lookups over the forms a CRM stores, verification of
// every hit, and the number-to-record cache that the calls, callbacks and Smart
// Routing paths share.
package match

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/twogen"
	"github.com/callsync/callsync/phone"
)

// Lookuper is the part of crm.Client the matcher needs.
type Lookuper interface {
	Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error)
}

// Directory is the tenant's phone directory (phonedir.Directory): records
// by E.164, read locally, and learning of records a live lookup found.
type Directory interface {
	Lookup(ctx context.Context, numbers []string) (map[string][]crm.Record, error)
	Learn(ctx context.Context, found map[string][]crm.Record) error
}

// CurrentDirectory is a Directory that can tell it was synced moments ago
// (phonedir.Directory.Current): a number it does not hold then has no CRM
// record, and the live lookup would only repeat the sync's answer.
type CurrentDirectory interface {
	Current() bool
}

// Options configure a Matcher.
type Options struct {
	// Directory, when set (crm.directory: mirror), answers numbers first:
	// a number it holds is matched by E.164 equality with no CRM request
	// and no cache; a miss goes to the live lookup (the cache, then the
	// CRM), whose verified records enter the directory, unless the
	// directory is current (CurrentDirectory: synced moments ago) and
	// NumbersToCut is 0: a miss is then final, no record holds the number.
	// A number whose hits include an entity with Fields requested goes
	// live (the directory holds no field values).
	Directory Directory
	// Region is the tenant's default region for numbers without a country code.
	Region string
	// NumbersToCut > 0 switches the CRM query to a suffix search (the original
	// product's NumbersToCut); verification still applies.
	NumbersToCut int
	// TTL is how long a lookup result is reused (default 10 minutes).
	TTL time.Duration
	// MaxEntries bounds the cache (default 20,000 numbers): it holds
	// between MaxEntries/2 and MaxEntries, the most recently stored or
	// read ones. A number read again moves to the newer half, so the
	// callers who call again stay while one-off callers pass through.
	MaxEntries int
	// BatchSize is the number of numbers per Lookup call (default 500; the
	// clients split further at their CRM's limits).
	BatchSize int
	// Fields are extra record fields to fetch (Smart Routing rules).
	Fields map[crm.Entity][]string
	Now    func() time.Time
}

// Result is what is known about one caller number.
type Result struct {
	Number phone.Number
	// Reason is set when the number cannot match any customer
	// ("internal_number" or the phone package's unmatchable reason).
	Reason string
	// Records are the verified matches, in CRM order (contacts, accounts, leads).
	Records []crm.Record
	// Cached is true when the answer came from the cache.
	Cached bool
	// Directory is true when the answer came from the phone directory.
	Directory bool
}

// Matcher finds customers by number. It is safe for concurrent use.
type Matcher struct {
	crm      Lookuper
	opts     Options
	internal atomic.Pointer[phone.Internal]

	mu sync.Mutex
	// cache holds lookup results by E.164 (MaxEntries in two generations).
	cache twogen.Map[string, entry]
	// numbers memoizes phone.NormalizeCaller per raw value: the same
	// callers recur in every window, and a libphonenumber parse costs
	// about as much as the rest of a call's processing.
	numbers twogen.Map[string, phone.Number]
	forms   twogen.Map[string, []string]
}

// numberMemo is the size of a generation of the parsed-number and search
// forms memos: the callers recurring across a backfill's windows fit,
// one-off callers pass through them.
const numberMemo = 8192

type entry struct {
	records []crm.Record
	expires time.Time
}

// New returns a Matcher over a CRM client.
func New(c Lookuper, o Options) *Matcher {
	if o.TTL == 0 {
		o.TTL = 10 * time.Minute
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = 20_000
	}
	if o.BatchSize == 0 {
		o.BatchSize = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Matcher{crm: c, opts: o,
		cache:   twogen.New[string, entry]((o.MaxEntries + 1) / 2),
		numbers: twogen.New[string, phone.Number](min(numberMemo, (o.MaxEntries+1)/2)),
		forms:   twogen.New[string, []string](min(numberMemo, (o.MaxEntries+1)/2)),
	}
	m.internal.Store(phone.NewInternal(o.Region))
	return m
}

// SetInternal replaces the organisation's own numbers (users' work and mobile
// numbers, queue numbers, configured extras).
func (m *Matcher) SetInternal(in *phone.Internal) { m.internal.Store(in) }

// Normalize reads a raw number with the tenant's region and says whether it
// can match a customer ("" reason) or why not.
func (m *Matcher) Normalize(raw string) (phone.Number, string) {
	n := m.normalizeCaller(raw)
	if !n.Matchable() {
		return n, "unmatchable_number"
	}
	if m.internal.Load().Contains(n) {
		return n, "internal_number"
	}
	return n, ""
}

// Match resolves raw numbers, keyed by the raw value. With a Directory, the
// numbers it holds are answered from it. With useCache, other numbers looked
// up within the TTL are answered from the cache; every CRM answer refreshes
// the cache either way. Numbers are looked up in batches.
func (m *Matcher) Match(ctx context.Context, raws []string, useCache bool) (map[string]Result, error) {
	out := make(map[string]Result, len(raws))
	var todo []phone.Number
	queued := map[string]bool{}
	now := m.opts.Now()
	// Each distinct raw value is normalised once (its Result holds the
	// Number from then on); the directory is asked for the matchable ones.
	var numbers []string // the distinct matchable numbers
	asked := map[string]bool{}
	for _, raw := range raws {
		if _, done := out[raw]; done {
			continue
		}
		n, reason := m.Normalize(raw)
		out[raw] = Result{Number: n, Reason: reason}
		if reason == "" && m.opts.Directory != nil && !asked[n.E164()] {
			asked[n.E164()] = true
			numbers = append(numbers, n.E164())
		}
	}
	dir, misses, err := m.fromDirectory(ctx, numbers)
	if err != nil {
		return nil, err
	}
	for _, raw := range raws {
		r := out[raw]
		n := r.Number
		if r.Reason != "" || r.Directory || r.Cached || queued[n.E164()] {
			continue // answered, or the number is looked up (a raw value seen before)
		}
		if recs, ok := dir[n.E164()]; ok {
			out[raw] = Result{Number: n, Records: recs, Directory: true}
			continue
		}
		if misses[n.E164()] {
			out[raw] = Result{Number: n, Directory: true}
			continue
		}
		if useCache {
			if recs, ok := m.cached(n.E164(), now); ok {
				out[raw] = Result{Number: n, Records: recs, Cached: true}
				continue
			}
		}
		queued[n.E164()] = true
		todo = append(todo, n)
	}
	found := map[string][]crm.Record{}
	for i := 0; i < len(todo); i += m.opts.BatchSize {
		part := todo[i:min(i+m.opts.BatchSize, len(todo))]
		req := crm.LookupRequest{Fields: m.opts.Fields}
		for _, n := range part {
			q := crm.NumberQuery{Number: n.E164()}
			if m.opts.NumbersToCut > 0 {
				q.Suffix = phone.Cut(n.E164(), m.opts.NumbersToCut)
			}
			if q.Suffix == "" {
				// A suffix query reads no forms (crm.NumberQuery).
				q.Forms = m.formsOf(n, !useCache)
			}
			req.Numbers = append(req.Numbers, q)
		}
		res, err := m.crm.Lookup(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("match: lookup %d numbers: %w", len(part), err)
		}
		for _, n := range part {
			found[n.E164()] = m.verify(n, res[n.E164()])
		}
	}
	m.store(found, now)
	if m.opts.Directory != nil {
		if err := m.opts.Directory.Learn(ctx, found); err != nil {
			return nil, fmt.Errorf("match: phone directory: %w", err)
		}
	}
	for raw, r := range out {
		if r.Reason == "" && !r.Cached && !r.Directory {
			r.Records = found[r.Number.E164()]
			out[raw] = r
		}
	}
	return out, nil
}

// verify keeps the records one of whose phone fields is the caller's number.
// A search hit is only a candidate: a shared suffix or a fuzzy search is no
// match. Each record is kept once.
func (m *Matcher) verify(n phone.Number, cands []crm.Record) []crm.Record {
	var out []crm.Record
	seen := map[crm.Ref]bool{}
	for _, r := range cands {
		if seen[r.Ref] {
			continue
		}
		for _, v := range r.Phones {
			if phone.Match(n, v, m.opts.Region) {
				seen[r.Ref] = true
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func (m *Matcher) cached(e164 string, now time.Time) ([]crm.Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.cache.Get(e164)
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.records, true
}

func (m *Matcher) store(found map[string][]crm.Record, now time.Time) {
	if len(found) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	exp := now.Add(m.opts.TTL)
	for k, recs := range found {
		m.cache.Put(k, entry{records: recs, expires: exp})
	}
}

// normalizeCaller memoizes phone.NormalizeCaller with the tenant's region.
// A Number is an immutable value, so one is shared by every caller.
func (m *Matcher) normalizeCaller(raw string) phone.Number {
	m.mu.Lock()
	n, ok := m.numbers.Get(raw)
	m.mu.Unlock()
	if ok {
		return n
	}
	n, _ = phone.NormalizeCaller(raw, m.opts.Region)
	m.mu.Lock()
	m.numbers.Put(raw, n)
	m.mu.Unlock()
	return n
}

// formsOf memoizes phone.Forms (a dozen libphonenumber parses) per number
// for the lookups that bypass the results cache (keep): without it, a cycle
// of the calls job with crm.directory: live computes every caller's forms
// again (BenchmarkMatchLive). A lookup through the cache stores its answer
// for the TTL, so the same number's forms are wanted again only once that
// entry has expired or been dropped; a backfill's one-off callers would
// fill the memo for nothing (TestCachedLookupsKeepNoForms).
func (m *Matcher) formsOf(n phone.Number, keep bool) []string {
	m.mu.Lock()
	f, ok := m.forms.Get(n.E164())
	m.mu.Unlock()
	if ok {
		return f
	}
	f = phone.Forms(n)
	if keep {
		m.mu.Lock()
		m.forms.Put(n.E164(), f)
		m.mu.Unlock()
	}
	return f
}

// fromDirectory answers the numbers (distinct, matchable E.164) that the
// directory holds, keyed by E.164, and, when the directory is current and
// no suffix search applies (NumbersToCut), the numbers it holds none of
// (final misses: no live lookup).
func (m *Matcher) fromDirectory(ctx context.Context, numbers []string) (held map[string][]crm.Record, misses map[string]bool, err error) {
	if m.opts.Directory == nil || len(numbers) == 0 {
		return nil, nil, nil
	}
	res, err := m.opts.Directory.Lookup(ctx, numbers)
	if err != nil {
		return nil, nil, fmt.Errorf("match: phone directory: %w", err)
	}
	if c, ok := m.opts.Directory.(CurrentDirectory); ok && m.opts.NumbersToCut == 0 && c.Current() {
		misses = map[string]bool{}
		for _, e164 := range numbers {
			if _, ok := res[e164]; !ok {
				misses[e164] = true
			}
		}
	}
	for e164, recs := range res {
		for _, r := range recs {
			if len(m.opts.Fields[r.Entity]) > 0 {
				delete(res, e164) // rules need field values: ask the CRM
				break
			}
		}
	}
	return res, misses, nil
}
