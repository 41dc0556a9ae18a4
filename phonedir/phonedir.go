// Package phonedir owns the phone directory: every phone field value of a
// tenant's CRM records, parsed once to E.164 with the record's own address
// country (else the tenant's default region) and kept in the store, so a
// caller matches by E.164 equality whatever format the CRM holds, with no
// CRM request. It loads the directory in full (paged, resumable), keeps it
// current incrementally (records modified since a cursor, deleted records),
// and answers lookups for the matcher.
package phonedir

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/twogen"
	"github.com/callsync/callsync/store"
)

// Store is the part of the store the directory needs.
type Store interface {
	ReplaceDirectoryRecords(ctx context.Context, tenant, entity string, gen int64, recs []store.DirectoryRecord, synced time.Time) error
	DeleteDirectoryRecords(ctx context.Context, tenant, entity string, ids []string) error
	SweepDirectory(ctx context.Context, tenant, entity string, gen int64) (int64, error)
	DirectoryLookup(ctx context.Context, tenant string, numbers []string) (map[string][]store.DirectoryNumber, error)
	DirectorySyncState(ctx context.Context, tenant, entity string) (store.DirectorySync, bool, error)
	DirectorySyncStates(ctx context.Context, tenant string) ([]store.DirectorySync, error)
	SaveDirectorySync(ctx context.Context, tenant string, d store.DirectorySync) error
	SaveDirectorySyncs(ctx context.Context, tenant string, ds []store.DirectorySync) error
	DirectoryCounts(ctx context.Context, tenant string) ([]store.DirectoryCount, error)
	AddDirectoryNumbers(ctx context.Context, tenant, entity string, gen int64, ns []store.DirectoryNumber, synced time.Time) error
}

// Options configure a Directory.
type Options struct {
	Tenant string
	// Region is the tenant's default region, for records without a
	// recognised address country.
	Region string
	// Entities are the entities loaded (default contact, account, lead).
	Entities []crm.Entity
	// MinInterval: Refresh syncs at most once per MinInterval (default 30 s,
	// half the calls job's minute: once per cycle).
	MinInterval time.Duration
	// Overlap is subtracted from the modified cursor of an incremental sync,
	// so a record saved while the previous sync read is read again (default
	// two minutes).
	Overlap time.Duration
	// FullResync: an entity whose last full load is older is loaded in
	// full again by the next sync (0: never).
	FullResync time.Duration
	// CurrentFor is how long after the end of a successful sync the
	// directory counts as current (Current): a number it does not hold is
	// then one no record held when the CRM answered the sync (default 5 s;
	// a cycle matches right after its sync).
	CurrentFor time.Duration
	Countries  *Countries
	Now        func() time.Time
}

// Directory is one tenant's phone directory. Safe for concurrent use.
type Directory struct {
	store  Store
	lister crm.PhoneLister
	o      Options

	mu       sync.Mutex // serialises syncs (one per tenant at a time)
	lastSync time.Time
	// synced is when the last successful sync ended (UnixNano; 0: none
	// yet), read by Current without waiting for a sync in progress.
	synced atomic.Int64

	// writes counts this directory's writes to the store, each counted
	// once it returned (committed or failed): a lookup's answers are
	// memoized under the count and the entity sync states read before
	// them (answers).
	writes  atomic.Int64
	answers answers
}

// answers memoizes the directory's answers per E.164 number between
// lookups, for a backfill's windows, whose callers recur between two syncs.
// An answer is served only while the key it was read under is still the
// key: nothing written through this directory since (writes: a sync's
// pages and deletions, a failed sync's too, Learn) and the same sync states
// in the store. A sync that ends saves its states with a new LastSync, in
// this process or another (a replica, `callsync directory sync`), so what
// another process's sync changed, deleted or added is read from the store
// again once that sync has ended; what another process stores without
// saving states (its Learn, a sync that failed) once a sync next ends. Only
// numbers the directory holds are memoized: a miss is read again each time.
type answers struct {
	mu     sync.Mutex
	writes int64
	states []store.DirectorySync
	hits   twogen.Map[string, []crm.Record]
}

// memoMinNumbers: a lookup of fewer numbers reads the store directly (a
// cycle's few callers, a Smart Routing request): reading the sync states
// costs about what such a lookup costs.
const memoMinNumbers = 64

// memoHalf is the size of a generation of the answers memo: a backfill's
// recurring callers fit, and a record's answer is a few hundred bytes.
const memoHalf = 8192

// New returns a tenant's directory over its CRM's lister (nil: lookups and
// Learn only; syncs fail).
func New(s Store, l crm.PhoneLister, o Options) *Directory {
	if len(o.Entities) == 0 {
		o.Entities = crm.Entities
	}
	if o.MinInterval == 0 {
		o.MinInterval = 30 * time.Second
	}
	if o.Overlap == 0 {
		o.Overlap = 2 * time.Minute
	}
	if o.CurrentFor == 0 {
		o.CurrentFor = 5 * time.Second
	}
	if o.Countries == nil {
		o.Countries = NewCountries()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Directory{lister: l, o: o}
	d.store = counted{Store: s, writes: &d.writes}
	return d
}

// counted is the directory's store, counting each write once it returned,
// committed or not: the answers memoized before it are not served after it
// (Directory.answers).
type counted struct {
	Store
	writes *atomic.Int64
}

func (c counted) ReplaceDirectoryRecords(ctx context.Context, tenant, entity string, gen int64, recs []store.DirectoryRecord, synced time.Time) error {
	defer c.writes.Add(1)
	return c.Store.ReplaceDirectoryRecords(ctx, tenant, entity, gen, recs, synced)
}

func (c counted) DeleteDirectoryRecords(ctx context.Context, tenant, entity string, ids []string) error {
	defer c.writes.Add(1)
	return c.Store.DeleteDirectoryRecords(ctx, tenant, entity, ids)
}

func (c counted) SweepDirectory(ctx context.Context, tenant, entity string, gen int64) (int64, error) {
	defer c.writes.Add(1)
	return c.Store.SweepDirectory(ctx, tenant, entity, gen)
}

func (c counted) AddDirectoryNumbers(ctx context.Context, tenant, entity string, gen int64, ns []store.DirectoryNumber, synced time.Time) error {
	defer c.writes.Add(1)
	return c.Store.AddDirectoryNumbers(ctx, tenant, entity, gen, ns, synced)
}

func (c counted) SaveDirectorySync(ctx context.Context, tenant string, st store.DirectorySync) error {
	defer c.writes.Add(1)
	return c.Store.SaveDirectorySync(ctx, tenant, st)
}

func (c counted) SaveDirectorySyncs(ctx context.Context, tenant string, ds []store.DirectorySync) error {
	defer c.writes.Add(1)
	return c.Store.SaveDirectorySyncs(ctx, tenant, ds)
}

// Current reports whether the last successful sync (every entity read,
// incrementally or in full) ended less than CurrentFor ago: a number the
// directory does not hold had no record when the CRM answered it. Records
// created since then are read by the next sync.
func (d *Directory) Current() bool {
	at := d.synced.Load()
	return at != 0 && d.o.Now().Sub(time.Unix(0, at)) < d.o.CurrentFor
}

// Lookup returns the records holding each E.164 number, keyed by number
// (absent when none): one crm.Record per record, its Phones the raw values of
// the fields that hold the number, in entity order (contacts, accounts,
// leads) then by id. The records may be shared with other lookups' answers
// (answers): callers must not modify them.
func (d *Directory) Lookup(ctx context.Context, numbers []string) (map[string][]crm.Record, error) {
	if len(numbers) < memoMinNumbers {
		return d.lookup(ctx, numbers)
	}
	// The key is read before the rows: an answer read under it is at
	// least as new as the key, and a write after it changes the key.
	writes := d.writes.Load()
	states, err := d.store.DirectorySyncStates(ctx, d.o.Tenant)
	if err != nil {
		return nil, err
	}
	a := &d.answers
	out := make(map[string][]crm.Record, len(numbers))
	var rest []string
	a.mu.Lock()
	if a.writes != writes || !sameStates(a.states, states) {
		a.writes, a.states, a.hits = writes, states, twogen.New[string, []crm.Record](memoHalf)
	}
	for _, n := range numbers {
		if recs, ok := a.hits.Get(n); ok {
			out[n] = recs
		} else {
			rest = append(rest, n)
		}
	}
	a.mu.Unlock()
	if len(rest) == 0 {
		return out, nil
	}
	res, err := d.lookup(ctx, rest)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	keep := a.writes == writes && sameStates(a.states, states)
	for n, recs := range res {
		out[n] = recs
		if keep {
			a.hits.Put(n, recs)
		}
	}
	a.mu.Unlock()
	return out, nil
}

// sameStates reports whether two readings of a tenant's entity sync states
// are equal (same entities in the same order, every field equal).
func sameStates(a, b []store.DirectorySync) bool {
	return slices.EqualFunc(a, b, func(x, y store.DirectorySync) bool {
		return x.Entity == y.Entity && x.ModifiedCursor.Equal(y.ModifiedCursor) && x.DeletedCursor.Equal(y.DeletedCursor) &&
			x.DeltaToken == y.DeltaToken && x.Gen == y.Gen && x.DoneGen == y.DoneGen && x.FullToken == y.FullToken &&
			x.FullStarted.Equal(y.FullStarted) && x.FullDone.Equal(y.FullDone) && x.LastSync.Equal(y.LastSync) &&
			x.Records == y.Records && x.Numbers == y.Numbers && x.Unparseable == y.Unparseable
	})
}

// lookup is Lookup read from the store.
func (d *Directory) lookup(ctx context.Context, numbers []string) (map[string][]crm.Record, error) {
	rows, err := d.store.DirectoryLookup(ctx, d.o.Tenant, numbers)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]crm.Record, len(rows))
	for e164, ns := range rows {
		var recs []crm.Record
		idx := map[crm.Ref]int{}
		for _, n := range ns {
			ref := crm.Ref{Entity: crm.Entity(n.Entity), ID: n.RecordID}
			if !slices.Contains(d.o.Entities, ref.Entity) {
				continue
			}
			i, ok := idx[ref]
			if !ok {
				i = len(recs)
				idx[ref] = i
				recs = append(recs, crm.Record{Ref: ref, OwnerID: n.OwnerID, ParentAccountID: n.ParentID, Phones: map[string]string{}})
			}
			recs[i].Phones[n.Field] = n.Raw
		}
		slices.SortStableFunc(recs, func(a, b crm.Record) int {
			return slices.Index(crm.Entities, a.Entity) - slices.Index(crm.Entities, b.Entity)
		})
		if len(recs) > 0 {
			out[e164] = recs
		}
	}
	return out, nil
}

// Learn adds what a live lookup found (a record created since the last
// sync) to the directory: found maps each E.164 number to its verified
// records. Only the fields whose value parses (with the tenant's default
// region: a live lookup returns no address country) to exactly that number
// are added, one row each, and the record's other rows stay as the last sync
// read them: a value parsed without its record's country never replaces
// the reading with it. The next sync replaces them with its full reading.
func (d *Directory) Learn(ctx context.Context, found map[string][]crm.Record) error {
	byEntity := map[crm.Entity][]store.DirectoryNumber{}
	for e164, recs := range found {
		for _, r := range recs {
			for f, v := range r.Phones {
				if v == "" || len(v) > MaxValueLength {
					continue
				}
				p := d.o.Countries.Parse(v, "", d.o.Region)
				if p.E164 != e164 {
					continue
				}
				byEntity[r.Entity] = append(byEntity[r.Entity], store.DirectoryNumber{Entity: string(r.Entity), RecordID: r.ID,
					Field: f, E164: p.E164, Raw: v, Region: p.Region, OwnerID: r.OwnerID, ParentID: r.ParentAccountID})
			}
		}
	}
	now := d.o.Now().UTC()
	for e, ns := range byEntity {
		st, _, err := d.store.DirectorySyncState(ctx, d.o.Tenant, string(e))
		if err != nil {
			return err
		}
		if err := d.store.AddDirectoryNumbers(ctx, d.o.Tenant, string(e), st.Gen, ns, now); err != nil {
			return err
		}
	}
	return nil
}

// record parses one CRM record's phone values.
func (d *Directory) record(r crm.PhoneRecord, sum *Summary) store.DirectoryRecord {
	out := store.DirectoryRecord{ID: r.ID}
	fields := make([]string, 0, len(r.Phones))
	for f, v := range r.Phones {
		if v != "" {
			fields = append(fields, f)
		}
	}
	slices.Sort(fields)
	for _, f := range fields {
		raw := r.Phones[f]
		p := d.o.Countries.Parse(raw, r.Country, d.o.Region)
		if len(raw) > MaxValueLength {
			raw = raw[:MaxValueLength] // kept for the unparseable list, bounded
		}
		if p.E164 == "" {
			sum.Unparseable++
		} else {
			sum.Numbers++
		}
		country := r.Country
		if len(country) > 100 {
			country = country[:100]
		}
		out.Numbers = append(out.Numbers, store.DirectoryNumber{Entity: string(r.Entity), RecordID: r.ID, Field: f,
			E164: p.E164, Raw: raw, Country: country, Region: p.Region, Reason: p.Reason, OwnerID: r.OwnerID,
			ParentID: r.ParentAccountID, Modified: r.Modified})
	}
	return out
}

// errNoLister is returned by syncs of a directory without a lister.
func (d *Directory) errNoLister() error {
	return fmt.Errorf("phone directory %s: the CRM client cannot list records' phone fields", d.o.Tenant)
}
