package phonedir_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

func TestCountries(t *testing.T) {
	c := phonedir.NewCountries()
	for in, want := range map[string]string{
		"Sweden": "SE", "SE": "SE", "se": "SE", "SWE": "SE", "Sverige": "SE", "Ruotsi": "SE", "Schweden": "SE",
		"USA": "US", "U.S.A.": "US", "United States": "US", "United States of America": "US", "US": "US",
		"UK": "GB", "United Kingdom": "GB", "Great Britain": "GB", "GB": "GB", "England": "GB",
		"Finland": "FI", "Suomi": "FI", "FIN": "FI", "Deutschland": "DE", "Germany": "DE",
		"Netherlands": "NL", "The Netherlands": "NL", "Nederland": "NL", "Holland": "NL",
		"Norway": "NO", "Norge": "NO", "NOR": "NO", " sweden ": "SE", "752": "SE",
		"": "", "Atlantis": "", "Mars, Solar System": "",
	} {
		got, ok := c.Region(in)
		if got != want || ok != (want != "") {
			t.Errorf("Region(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParse(t *testing.T) {
	c := phonedir.NewCountries()
	for _, tc := range []struct{ raw, country, want, region string }{
		{"040-123 45 67", "", "+358401234567", "FI"},
		{"(040) 123 4567", "", "+358401234567", "FI"},
		{"+358 (0)40 123 4567", "", "+358401234567", "FI"},
		{"+358-40-123-4567", "Sweden", "+358401234567", "SE"},
		{"08-123 456 02", "Sweden", "+46812345602", "SE"},
		{"08-123 456 02", "Sverige", "+46812345602", "SE"},
		{"(202) 555-0108", "USA", "+12025550108", "US"},
		{"+44 20 7946 0606 ext. 12", "", "+442079460606", "FI"},
		{"020 7946 0606", "UK", "+442079460606", "GB"},
		{"0049 30 1234567", "", "+49301234567", "FI"},
		{"not a number", "", "", "FI"},
	} {
		p := c.Parse(tc.raw, tc.country, "FI")
		if p.E164 != tc.want || p.Region != tc.region {
			t.Errorf("Parse(%q, %q) = %+v; want %s with %s", tc.raw, tc.country, p, tc.want, tc.region)
		}
		if (p.E164 == "") != (p.Reason != "") {
			t.Errorf("Parse(%q): E164 %q with reason %q", tc.raw, p.E164, p.Reason)
		}
	}
	if p := c.Parse(string(make([]byte, 10_000)), "", "FI"); p.E164 != "" || p.Reason != "too long" {
		t.Errorf("huge value: %+v", p)
	}
}

// clock is a settable clock for the CRM and the directory.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func records(t *testing.T, d *phonedir.Directory, e164 string) []crm.Record {
	t.Helper()
	res, err := d.Lookup(context.Background(), []string{e164})
	if err != nil {
		t.Fatal(err)
	}
	return res[e164]
}

func TestSyncFullThenIncremental(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 3, clk.Now)
	st := openStore(t)
	anna := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"mobilephone": "040-123 45 67"}})
	sven := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "08-123 456 02"},
		Fields: map[string]string{crmtest.CountryField: "Sverige"}})
	for i := range 5 {
		m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Account}, Phones: map[string]string{"telephone1": "09 123 45" + string(rune('0'+i)) + "0"}})
	}
	m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Lead}, Phones: map[string]string{"telephone1": "call me maybe"}})

	d := phonedir.New(st, l, phonedir.Options{Tenant: "t1", Region: "FI", Now: clk.Now})
	var pages []int
	sum, err := d.Sync(ctx, false, func(e crm.Entity, n int) { pages = append(pages, n) })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 8 || sum.Numbers != 7 || sum.Unparseable != 1 || len(sum.Full) != 3 {
		t.Fatalf("full load summary %+v", sum)
	}
	// accounts: 5 records at 3 a page = 2 requests; contacts 1, leads 1.
	if got := m.Calls(crmtest.MethodListPhones); got != 4 || sum.Requests != 4 {
		t.Fatalf("ListPhones requests = %d (summary %d), want 4", got, sum.Requests)
	}
	if r := records(t, d, "+358401234567"); len(r) != 1 || r[0].ID != anna || r[0].Phones["mobilephone"] != "040-123 45 67" {
		t.Fatalf("anna: %+v", r)
	}
	if r := records(t, d, "+46812345602"); len(r) != 1 || r[0].ID != sven {
		t.Fatalf("sven by his Swedish number: %+v", r)
	}
	if r := records(t, d, "+358812345602"); len(r) != 0 {
		t.Fatalf("Swedish national digits read as Finnish: %+v", r)
	}
	bad, err := st.DirectoryUnparseable(ctx, "t1", 10)
	if err != nil || len(bad) != 1 || bad[0].Raw != "call me maybe" || bad[0].Reason == "" {
		t.Fatalf("unparseable = %+v, %v", bad, err)
	}

	// Anna's number changes, Sven is deleted, a new lead arrives.
	clk.Add(time.Minute)
	l.SetPhones(crm.Ref{Entity: crm.Contact, ID: anna}, map[string]string{"mobilephone": "+358 50 765 4321"})
	l.Delete(crm.Ref{Entity: crm.Contact, ID: sven})
	lead := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Lead}, Phones: map[string]string{"telephone1": "(202) 555-0108"},
		Fields: map[string]string{crmtest.CountryField: "United States"}})
	clk.Add(time.Minute)
	sum, err = d.Sync(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Full) != 0 || sum.Deleted != 1 {
		t.Fatalf("incremental summary %+v", sum)
	}
	if r := records(t, d, "+358401234567"); len(r) != 0 {
		t.Fatalf("anna's old number still listed: %+v", r)
	}
	if r := records(t, d, "+358507654321"); len(r) != 1 || r[0].ID != anna {
		t.Fatalf("anna's new number: %+v", r)
	}
	if r := records(t, d, "+46812345602"); len(r) != 0 {
		t.Fatalf("deleted sven still listed: %+v", r)
	}
	if r := records(t, d, "+12025550108"); len(r) != 1 || r[0].ID != lead {
		t.Fatalf("new lead: %+v", r)
	}
}

func TestFullLoadResumesAndKeepsOldDirectory(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 2, clk.Now)
	st := openStore(t)
	var ids []string
	for i := range 10 {
		ids = append(ids, m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact},
			Phones: map[string]string{"telephone1": "040 123 450" + string(rune('0'+i))}}))
	}
	d := phonedir.New(st, l, phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact}, Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	// A second full load fails after two pages: the directory still
	// answers every number.
	l.Delete(crm.Ref{Entity: crm.Contact, ID: ids[9]})
	pages := 0
	d2 := phonedir.New(st, &failAfter{PhoneLister: l, n: 2, pages: &pages},
		phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact}, Now: clk.Now})
	_, err := d2.Sync(ctx, true, nil)
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want the CRM's", err)
	}
	for i, id := range ids[:9] {
		r := records(t, d2, "+35840123450"+string(rune('0'+i)))
		if len(r) != 1 || r[0].ID != id {
			t.Fatalf("number %d after failed load: %+v", i, r)
		}
	}
	st2, _, _ := st.DirectorySyncState(ctx, "t1", "contact")
	if !st2.Loading() || st2.FullToken != "4" {
		t.Fatalf("state after failed load %+v, want loading from page token 4", st2)
	}
	// The next sync resumes at page 3 (records 5..8) and sweeps the deleted one.
	calls := m.Calls(crmtest.MethodListPhones)
	sum, err := d.Sync(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Calls(crmtest.MethodListPhones) - calls; got != 3 {
		t.Fatalf("resumed load took %d pages, want 3 (offsets 4, 6, 8)", got)
	}
	if len(sum.Resumed) != 1 || sum.Deleted != 1 {
		t.Fatalf("resume summary %+v", sum)
	}
	if r := records(t, d, "+358401234509"); len(r) != 0 {
		t.Fatalf("deleted record kept after the full load: %+v", r)
	}
}

var errBoom = errors.New("boom: 503")

// failAfter lets n pages through, then fails.
type failAfter struct {
	crm.PhoneLister
	n     int
	pages *int
}

func (f *failAfter) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	if *f.pages >= f.n {
		return crm.PhonePage{Requests: 1}, errBoom
	}
	*f.pages++
	return f.PhoneLister.ListPhones(ctx, req)
}

func TestFullResyncAfterItsInterval(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 10, clk.Now)
	m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "040 123 4567"}})
	d := phonedir.New(openStore(t), l, phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact},
		FullResync: 7 * 24 * time.Hour, Now: clk.Now})
	for i, want := range []int{1, 0, 1} {
		sum, err := d.Sync(ctx, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Full) != want {
			t.Fatalf("sync %d: full loads %v, want %d", i, sum.Full, want)
		}
		clk.Add(4 * 24 * time.Hour)
	}
}

// A live hit is learnt only for the number it was found by: the record's
// other values, read without its address country, never replace the
// directory's reading with it (a Swedish "08-..." must not become Finnish).
func TestLearnAddsOnlyTheVerifiedNumber(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 10, clk.Now)
	sven := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "08-123 456 02"},
		Fields: map[string]string{crmtest.CountryField: "Sweden"}})
	d := phonedir.New(openStore(t), l, phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact}, Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	// Sven's mobile was added since the sync; a live lookup found him by it
	// and returned all his values, without his country.
	live := crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: sven},
		Phones: map[string]string{"telephone1": "08-123 456 02", "mobilephone": "+46 70 123 45 67"}}
	if err := d.Learn(ctx, map[string][]crm.Record{"+46701234567": {live}}); err != nil {
		t.Fatal(err)
	}
	if r := records(t, d, "+46701234567"); len(r) != 1 || r[0].ID != sven {
		t.Fatalf("learnt mobile: %+v", r)
	}
	if r := records(t, d, "+46812345602"); len(r) != 1 || r[0].ID != sven {
		t.Fatalf("his Swedish landline lost: %+v", r)
	}
	if r := records(t, d, "+358812345602"); len(r) != 0 {
		t.Fatalf("his landline read as Finnish matches a Finnish caller: %+v", r)
	}
}

// forgetful is a CRM whose delete log no longer reaches the cursor.
type forgetful struct{ crm.PhoneLister }

func (forgetful) DeletedRecords(context.Context, crm.DeletedRequest) (crm.DeletedPage, error) {
	return crm.DeletedPage{Requests: 1}, crm.ErrDeletedTooOld
}

func TestDeletedTooOldLoadsInFull(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 10, clk.Now)
	gone := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "040 123 4567"}})
	st := openStore(t)
	d := phonedir.New(st, l, phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact}, Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	clk.Add(20 * 24 * time.Hour)
	l.Delete(crm.Ref{Entity: crm.Contact, ID: gone})
	d = phonedir.New(st, forgetful{l}, phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact}, Now: clk.Now})
	sum, err := d.Sync(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Full) != 1 || sum.Deleted != 1 {
		t.Fatalf("summary %+v, want a full load that removed the deleted contact", sum)
	}
	if r := records(t, d, "+358401234567"); len(r) != 0 {
		t.Fatalf("deleted contact still listed: %+v", r)
	}
}

// A full load asks for the next page before it has stored the one it
// holds: the CRM's answer time overlaps the parsing and storing.
func TestFullLoadReadsTheNextPageAhead(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	for i := range 4 {
		m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "040 123 450" + string(rune('0'+i))}})
	}
	asked := make(chan struct{})
	l := &askedForPage{PhoneLister: crmtest.NewLister(m, 2, clk.Now), asked: asked}
	d := phonedir.New(openStore(t), l, phonedir.Options{Tenant: "t1", Region: "FI", Entities: []crm.Entity{crm.Contact}, Now: clk.Now})
	first := true
	sum, err := d.Sync(ctx, false, func(e crm.Entity, n int) {
		if !first {
			return
		}
		first = false
		select {
		case <-asked: // the second page was asked for while the first was stored
		case <-time.After(10 * time.Second):
			t.Error("the second page was not asked for before the first was stored")
		}
	})
	if err != nil || sum.Records != 4 || sum.Requests != 2 {
		t.Fatalf("load: %+v, %v", sum, err)
	}
}

// askedForPage closes asked when a page other than the first is asked for.
type askedForPage struct {
	crm.PhoneLister
	once  sync.Once
	asked chan struct{}
}

func (a *askedForPage) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	if req.Page != "" {
		a.once.Do(func() { close(a.asked) })
	}
	return a.PhoneLister.ListPhones(ctx, req)
}

// countingStore counts the sync-state writes of a directory.
type countingStore struct {
	*store.Store
	single int                     // SaveDirectorySync calls
	sets   [][]store.DirectorySync // SaveDirectorySyncs calls
}

func (c *countingStore) SaveDirectorySync(ctx context.Context, tenant string, d store.DirectorySync) error {
	c.single++
	return c.Store.SaveDirectorySync(ctx, tenant, d)
}

func (c *countingStore) SaveDirectorySyncs(ctx context.Context, tenant string, ds []store.DirectorySync) error {
	c.sets = append(c.sets, ds)
	return c.Store.SaveDirectorySyncs(ctx, tenant, ds)
}

// An incremental sync stores its entities' states in one write (one
// transaction: on SQLite each commit is a synced WAL write), each with its
// new cursors.
func TestIncrementalSyncStoresStatesTogether(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 10, clk.Now)
	m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "040 123 4567"}})
	st := &countingStore{Store: openStore(t)}
	d := phonedir.New(st, l, phonedir.Options{Tenant: "t1", Region: "FI", Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	st.single, st.sets = 0, nil
	sum, err := d.Sync(ctx, false, nil)
	if err != nil || len(sum.Full) != 0 {
		t.Fatalf("incremental sync: %+v, %v", sum, err)
	}
	if st.single != 0 || len(st.sets) != 1 || len(st.sets[0]) != 3 {
		t.Fatalf("state writes: %d single, %d sets (%v); want one set of 3", st.single, len(st.sets), st.sets)
	}
	for _, e := range crm.Entities {
		s, ok, err := st.DirectorySyncState(ctx, "t1", string(e))
		if err != nil || !ok || !s.LastSync.Equal(clk.Now()) {
			t.Errorf("%s: state %+v (%v, %v), want last sync %s", e, s, ok, err, clk.Now())
		}
	}
}

// failEntity fails the listings of one entity.
type failEntity struct {
	crm.PhoneLister
	e crm.Entity
}

func (f *failEntity) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	if req.Entity == f.e {
		return crm.PhonePage{Requests: 1}, errBoom
	}
	return f.PhoneLister.ListPhones(ctx, req)
}

// When an entity's incremental sync fails, the entities synced before it
// keep what they read: their new states are stored, the failed one's not.
func TestIncrementalSyncStoresEntitiesBeforeAFailure(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	l := crmtest.NewLister(m, 10, clk.Now)
	st := openStore(t)
	if _, err := phonedir.New(st, l, phonedir.Options{Tenant: "t1", Region: "FI", Now: clk.Now}).Sync(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	loaded := clk.Now()
	clk.Add(time.Minute)
	if crm.Entities[0] != crm.Contact || crm.Entities[1] != crm.Account {
		t.Fatalf("entity order %v: the test fails the second one", crm.Entities)
	}
	d := phonedir.New(st, &failEntity{PhoneLister: l, e: crm.Account}, phonedir.Options{Tenant: "t1", Region: "FI", Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want the CRM's", err)
	}
	for e, want := range map[crm.Entity]time.Time{crm.Contact: clk.Now(), crm.Account: loaded, crm.Lead: loaded} {
		s, _, err := st.DirectorySyncState(ctx, "t1", string(e))
		if err != nil || !s.LastSync.Equal(want) {
			t.Errorf("%s: last sync %s (%v), want %s", e, s.LastSync, err, want)
		}
	}
}
