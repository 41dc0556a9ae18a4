package phonedir

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// Summary counts what one sync read and changed.
type Summary struct {
	// Full lists the entities loaded in full this time; Resumed those whose
	// full load went on from a stored page token.
	Full    []crm.Entity
	Resumed []crm.Entity
	// Records read, phone numbers parsed, values that did not parse,
	// records deleted (incremental) or swept (full load), records the
	// client could not read.
	Records     int
	Numbers     int
	Unparseable int
	Deleted     int
	Skipped     int
	Requests    int
	Took        time.Duration
	// Activities are the existing activities of the queries given to
	// RefreshWith, found in the sync's own request when ActivitiesFound
	// (crm.PhoneActivityBatchLister); otherwise ask the CRM.
	Activities      []crm.ExistingActivity
	ActivitiesFound bool
}

// Progress is told, after each page, the entity and how many of its
// records were read so far in this sync.
type Progress func(e crm.Entity, records int)

// Sync brings the directory up to date: an entity never loaded, or whose
// full load was interrupted, is loaded in full (resuming from its stored page
// token); with full, or when its last full load is older than FullResync,
// an entity is loaded again; the others are synced
// incrementally (records modified since the cursor, less the overlap, and
// records deleted since). A CRM error stops the sync and leaves what the
// directory held (plus the pages already read) in use. progress may be nil.
func (d *Directory) Sync(ctx context.Context, full bool, progress Progress) (Summary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sync(ctx, full, progress, nil)
}

// Refresh syncs incrementally unless a sync finished less than MinInterval
// ago: calls, callbacks and Smart Routing of one cycle share one sync.
func (d *Directory) Refresh(ctx context.Context) (Summary, error) {
	return d.RefreshWith(ctx, nil)
}

// RefreshWith is Refresh that, when the CRM client can
// (crm.PhoneActivityBatchLister), also finds the existing activities of qs
// in the sync's first request (Summary.Activities).
func (d *Directory) RefreshWith(ctx context.Context, qs []crm.ActivityQuery) (Summary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.lastSync.IsZero() && d.o.Now().Sub(d.lastSync) < d.o.MinInterval {
		return Summary{}, nil
	}
	return d.sync(ctx, false, nil, qs)
}

func (d *Directory) sync(ctx context.Context, full bool, progress Progress, qs []crm.ActivityQuery) (Summary, error) {
	var sum Summary
	if d.lister == nil {
		return sum, d.errNoLister()
	}
	start := d.o.Now()
	defer func() { sum.Took = d.o.Now().Sub(start) }()
	type plan struct {
		st          store.DirectorySync
		load, fresh bool
	}
	plans := make([]plan, len(d.o.Entities))
	var incremental []crm.PhoneListRequest
	// Every entity's state in one query.
	states, err := d.store.DirectorySyncStates(ctx, d.o.Tenant)
	if err != nil {
		return sum, err
	}
	for i, e := range d.o.Entities {
		st, ok := store.DirectorySync{Entity: string(e)}, false
		for _, x := range states {
			if x.Entity == string(e) {
				st, ok = x, true
			}
		}
		stale := d.o.FullResync > 0 && !st.FullDone.IsZero() && d.o.Now().Sub(st.FullDone) >= d.o.FullResync
		p := plan{st: st, load: full || stale || !ok || st.FullDone.IsZero() || st.Loading(), fresh: (full || stale) && !st.Loading()}
		if !p.load {
			incremental = append(incremental, d.firstRequest(e, st))
		}
		plans[i] = p
	}
	first, err := d.prefetch(ctx, incremental, qs, &sum)
	if err != nil {
		return sum, fmt.Errorf("phone directory %s: %w", d.o.Tenant, err)
	}
	// The states of the entities synced incrementally are stored together
	// at the end (one transaction), also when a later entity failed: what
	// they read is stored. A crash before that reads their changes again
	// (records are replaced, deletions repeated).
	var done []store.DirectorySync
	saveDone := func() error { return d.store.SaveDirectorySyncs(ctx, d.o.Tenant, done) }
	for i, e := range d.o.Entities {
		p := plans[i]
		var err error
		if p.load {
			err = d.load(ctx, e, p.st, p.fresh, &sum, progress)
		} else {
			var st store.DirectorySync
			var save bool
			st, save, err = d.incremental(ctx, e, p.st, first[e], &sum, progress)
			if save {
				done = append(done, st)
			}
		}
		if err != nil {
			if serr := saveDone(); serr != nil {
				err = errors.Join(err, serr)
			}
			return sum, fmt.Errorf("phone directory %s: %s: %w", d.o.Tenant, e, err)
		}
	}
	if err := saveDone(); err != nil {
		return sum, fmt.Errorf("phone directory %s: %w", d.o.Tenant, err)
	}
	d.lastSync = d.o.Now()
	d.synced.Store(d.lastSync.UnixNano())
	return sum, nil
}

// firstRequest is the first page request of an entity's incremental sync:
// its delta when the CRM tracks its changes, else the records modified
// since the cursor (less the overlap).
func (d *Directory) firstRequest(e crm.Entity, st store.DirectorySync) crm.PhoneListRequest {
	if st.DeltaToken != "" {
		return crm.PhoneListRequest{Entity: e, Delta: st.DeltaToken}
	}
	return crm.PhoneListRequest{Entity: e, Since: st.ModifiedCursor.Add(-d.o.Overlap)}
}

// prefetch asks a CRM that can (crm.PhoneBatchLister) for the first pages
// of several incremental listings in one request, and with qs one that can
// (crm.PhoneActivityBatchLister) for those of one or more along with the
// existing activities of qs; nil otherwise.
func (d *Directory) prefetch(ctx context.Context, reqs []crm.PhoneListRequest, qs []crm.ActivityQuery, sum *Summary) (map[crm.Entity]*crm.PhonePageResult, error) {
	var res []crm.PhonePageResult
	var err error
	if al, ok := d.lister.(crm.PhoneActivityBatchLister); ok && len(qs) > 0 && len(reqs) > 0 {
		res, sum.Activities, sum.ActivitiesFound, err = al.ListPhonesBatchWithActivities(ctx, reqs, qs)
	} else if bl, ok := d.lister.(crm.PhoneBatchLister); ok && len(reqs) >= 2 {
		res, err = bl.ListPhonesBatch(ctx, reqs)
	} else {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("changes of %d entities: %w", len(reqs), err)
	}
	out := make(map[crm.Entity]*crm.PhonePageResult, len(reqs))
	for i := range res {
		sum.Requests += res[i].Page.Requests
		res[i].Page.Requests = 0 // counted here, not again when read
		out[reqs[i].Entity] = &res[i]
	}
	return out, nil
}

// listPhones is the lister's page, or the prefetched one when given.
func (d *Directory) listPhones(ctx context.Context, req crm.PhoneListRequest, pre **crm.PhonePageResult) (crm.PhonePage, error) {
	if *pre != nil {
		r := *pre
		*pre = nil
		return r.Page, r.Err
	}
	return d.lister.ListPhones(ctx, req)
}

// load reads every record of an entity, page by page, storing each page and
// its continuation token (so a killed load resumes there), then removes the
// rows of records the load did not see. fresh starts a new generation even
// when a stored one finished.
func (d *Directory) load(ctx context.Context, e crm.Entity, st store.DirectorySync, fresh bool, sum *Summary, progress Progress) error {
	now := d.o.Now().UTC()
	page := ""
	if st.Loading() && !fresh {
		page = st.FullToken
		sum.Resumed = append(sum.Resumed, e)
	} else {
		st.Gen++
		st.FullStarted, st.FullToken, st.DeltaToken = now, "", ""
		if err := d.store.SaveDirectorySync(ctx, d.o.Tenant, st); err != nil {
			return err
		}
	}
	sum.Full = append(sum.Full, e)
	// The next page is read while this one is parsed and stored, so the
	// CRM's answer time and ours overlap; the token saved is still that of
	// the next page not yet stored.
	ra := newReadAhead(ctx, d.lister, e)
	defer ra.stop()
	ra.fetch(page)
	read := 0
	for {
		p, err := ra.next()
		sum.Requests += p.Requests
		if errors.Is(err, crm.ErrPageExpired) && page != "" {
			// The CRM forgot the token: read again from the first page,
			// same generation (rows already read stay and are refreshed).
			page = ""
			ra.fetch(page)
			continue
		}
		if err != nil {
			return fmt.Errorf("full load: %w", err)
		}
		if p.Next != "" {
			ra.fetch(p.Next)
		}
		if err := d.save(ctx, e, st.Gen, p, sum); err != nil {
			return err
		}
		read += len(p.Records)
		if progress != nil {
			progress(e, read)
		}
		st.FullToken = p.Next
		if p.Next == "" {
			st.DeltaToken = p.Delta
			break
		}
		if err := d.store.SaveDirectorySync(ctx, d.o.Tenant, st); err != nil {
			return err
		}
		page = p.Next
	}
	swept, err := d.store.SweepDirectory(ctx, d.o.Tenant, string(e), st.Gen)
	if err != nil {
		return err
	}
	sum.Deleted += int(swept)
	done := d.o.Now().UTC()
	st.FullToken, st.FullDone, st.LastSync, st.DoneGen = "", done, done, st.Gen
	// Records changed while the load read are read again by the next
	// incremental sync: its cursors start where the load started.
	st.ModifiedCursor, st.DeletedCursor = st.FullStarted, st.FullStarted
	return d.saveCounts(ctx, st)
}

// readAhead reads one page of a full load at a time in its own goroutine.
type readAhead struct {
	ctx    context.Context
	cancel context.CancelFunc
	lister crm.PhoneLister
	entity crm.Entity
	ch     chan pageRead // nil when no page is being read
}

type pageRead struct {
	p   crm.PhonePage
	err error
}

func newReadAhead(ctx context.Context, l crm.PhoneLister, e crm.Entity) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	return &readAhead{ctx: ctx, cancel: cancel, lister: l, entity: e}
}

// fetch starts reading the page with token page; the one before must have
// been taken with next.
func (r *readAhead) fetch(page string) {
	ch := make(chan pageRead, 1)
	r.ch = ch
	go func() {
		p, err := r.lister.ListPhones(r.ctx, crm.PhoneListRequest{Entity: r.entity, Page: page})
		ch <- pageRead{p, err}
	}()
}

// next waits for the page fetch started.
func (r *readAhead) next() (crm.PhonePage, error) {
	res := <-r.ch
	r.ch = nil
	return res.p, res.err
}

// stop cancels a page still being read and waits for it, so the lister is
// not in use once the load returns.
func (r *readAhead) stop() {
	r.cancel()
	if r.ch != nil {
		<-r.ch
		r.ch = nil
	}
}

// incremental reads the records modified since the cursor and removes the
// deleted ones: through the CRM's change tracking when the last listing
// gave a delta, else by the modified-stamp cursor and the CRM's list of
// deleted records. It returns the entity's new state for the caller to
// store when save (not when it fell back to a full load, which stores its
// own).
func (d *Directory) incremental(ctx context.Context, e crm.Entity, st store.DirectorySync, first *crm.PhonePageResult, sum *Summary, progress Progress) (_ store.DirectorySync, save bool, _ error) {
	if st.DeltaToken != "" {
		return d.changes(ctx, e, st, first, sum, progress)
	}
	started := d.o.Now().UTC()
	since := st.ModifiedCursor.Add(-d.o.Overlap)
	cursor := st.ModifiedCursor
	page, read := "", 0
	for {
		p, err := d.listPhones(ctx, crm.PhoneListRequest{Entity: e, Since: since, Page: page}, &first)
		sum.Requests += p.Requests
		if err != nil {
			return st, false, fmt.Errorf("modified since %s: %w", since.Format(time.RFC3339), err)
		}
		if err := d.save(ctx, e, st.Gen, p, sum); err != nil {
			return st, false, err
		}
		for _, r := range p.Records {
			if r.Modified.After(cursor) {
				cursor = r.Modified.UTC()
			}
		}
		read += len(p.Records)
		if progress != nil && read > 0 {
			progress(e, read)
		}
		if p.Next == "" {
			break
		}
		page = p.Next
	}
	delSince := st.DeletedCursor.Add(-d.o.Overlap)
	delCursor, page := started, ""
	for {
		p, err := d.lister.DeletedRecords(ctx, crm.DeletedRequest{Entity: e, Since: delSince, Page: page})
		sum.Requests += p.Requests
		if errors.Is(err, crm.ErrNoDeleted) {
			delCursor = st.DeletedCursor
			break
		}
		if errors.Is(err, crm.ErrDeletedTooOld) {
			// The CRM forgot deletions since the cursor: read everything
			// again (records the load does not see are removed).
			return st, false, d.load(ctx, e, st, true, sum, progress)
		}
		if err != nil {
			return st, false, fmt.Errorf("deleted since %s: %w", delSince.Format(time.RFC3339), err)
		}
		if err := d.store.DeleteDirectoryRecords(ctx, d.o.Tenant, string(e), p.IDs); err != nil {
			return st, false, err
		}
		sum.Deleted += len(p.IDs)
		if !p.Until.IsZero() {
			delCursor = p.Until.UTC()
		}
		if p.Next == "" {
			break
		}
		page = p.Next
	}
	st.ModifiedCursor, st.DeletedCursor, st.LastSync = cursor, delCursor, d.o.Now().UTC()
	return st, true, nil
}

// changes follows the entity's change tracking from its stored delta: the
// records created or modified since are stored, the deleted ones removed,
// and the new delta kept for the next sync. A delta the CRM no longer
// honours (Dataverse keeps changes for ExpireChangeTrackingInDays, 7 by
// default) starts a full load, which starts tracking again. The new state
// is returned as by incremental.
func (d *Directory) changes(ctx context.Context, e crm.Entity, st store.DirectorySync, first *crm.PhonePageResult, sum *Summary, progress Progress) (_ store.DirectorySync, save bool, _ error) {
	req := crm.PhoneListRequest{Entity: e, Delta: st.DeltaToken}
	cursor, read := st.ModifiedCursor, 0
	for {
		p, err := d.listPhones(ctx, req, &first)
		sum.Requests += p.Requests
		if errors.Is(err, crm.ErrPageExpired) {
			return st, false, d.load(ctx, e, st, true, sum, progress)
		}
		if err != nil {
			return st, false, fmt.Errorf("changes since the last delta: %w", err)
		}
		if err := d.save(ctx, e, st.Gen, p, sum); err != nil {
			return st, false, err
		}
		if len(p.Deleted) > 0 {
			if err := d.store.DeleteDirectoryRecords(ctx, d.o.Tenant, string(e), p.Deleted); err != nil {
				return st, false, err
			}
			sum.Deleted += len(p.Deleted)
		}
		for _, r := range p.Records {
			if r.Modified.After(cursor) {
				cursor = r.Modified.UTC()
			}
		}
		read += len(p.Records)
		if progress != nil && read > 0 {
			progress(e, read)
		}
		if p.Next == "" {
			// No new delta (the CRM stopped tracking the table): the
			// modified-stamp cursor takes over from here.
			st.DeltaToken = p.Delta
			break
		}
		req = crm.PhoneListRequest{Entity: e, Page: p.Next}
	}
	now := d.o.Now().UTC()
	if st.DeltaToken == "" {
		// Deletions are not listed without tracking: from now on they
		// are found by the CRM's deleted list or the next full load.
		st.DeletedCursor = now
	}
	st.ModifiedCursor, st.LastSync = cursor, now
	return st, true, nil
}

func (d *Directory) save(ctx context.Context, e crm.Entity, gen int64, p crm.PhonePage, sum *Summary) error {
	sum.Records += len(p.Records)
	sum.Skipped += p.Skipped
	recs := make([]store.DirectoryRecord, 0, len(p.Records))
	for _, r := range p.Records {
		r.Entity = e
		recs = append(recs, d.record(r, sum))
	}
	return d.store.ReplaceDirectoryRecords(ctx, d.o.Tenant, string(e), gen, recs, d.o.Now().UTC())
}

// saveCounts stores the state of a finished full load with the entity's
// row counts.
func (d *Directory) saveCounts(ctx context.Context, st store.DirectorySync) error {
	counts, err := d.store.DirectoryCounts(ctx, d.o.Tenant)
	if err != nil {
		return err
	}
	for _, n := range counts {
		if n.Entity == st.Entity {
			st.Records, st.Numbers, st.Unparseable = n.Records, n.Numbers, n.Unparseable
		}
	}
	return d.store.SaveDirectorySync(ctx, d.o.Tenant, st)
}
