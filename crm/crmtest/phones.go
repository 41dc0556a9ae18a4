package crmtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/callsync/callsync/crm"
)

// Method names of the phone directory capability (crm.PhoneLister).
const (
	MethodListPhones     Method = "ListPhones"
	MethodDeletedRecords Method = "DeletedRecords"
)

// CountryField is the Fields key Lister reads a record's address country
// from.
const CountryField = "country"

// Lister is crm.PhoneLister over a Memory, kept apart from Memory so that
// only tests that want the phone directory see the capability. Each record
// has a modified stamp (its creation or last SetPhones, from the lister's
// clock) and deletions are remembered with theirs. Pages hold PageSize
// records in id order; a page token is the offset, valid until the records
// change.
type Lister struct {
	m        *Memory
	PageSize int

	mu       sync.Mutex
	now      func() time.Time
	modified map[crm.Ref]time.Time
	deleted  []deletion
}

type deletion struct {
	ref crm.Ref
	at  time.Time
}

// NewLister returns the phone-listing capability of m with pages of
// pageSize records and now as the CRM's clock (nil: time.Now). A record
// without a stamp is stamped when first listed (its creation, as far as the
// lister can tell).
func NewLister(m *Memory, pageSize int, now func() time.Time) *Lister {
	if now == nil {
		now = time.Now
	}
	return &Lister{m: m, PageSize: pageSize, now: now, modified: map[crm.Ref]time.Time{}}
}

var _ crm.PhoneLister = (*Lister)(nil)

// SetPhones replaces a record's phone values and stamps it modified now.
func (l *Lister) SetPhones(ref crm.Ref, phones map[string]string) {
	l.m.mu.Lock()
	for _, r := range l.m.records[ref.Entity] {
		if r.ID == ref.ID {
			r.Phones = maps.Clone(phones)
		}
	}
	l.m.mu.Unlock()
	l.Touch(ref)
}

// Touch stamps a record modified now.
func (l *Lister) Touch(ref crm.Ref) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.modified[ref] = l.now().UTC()
}

// Delete removes a record from the CRM and remembers the deletion.
func (l *Lister) Delete(ref crm.Ref) {
	l.m.mu.Lock()
	l.m.records[ref.Entity] = slices.DeleteFunc(l.m.records[ref.Entity], func(r *crm.Record) bool { return r.ID == ref.ID })
	l.m.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deleted = append(l.deleted, deletion{ref: ref, at: l.now().UTC()})
}

// ListPhones lists an entity's records (modified at or after req.Since) in
// id order, PageSize per page.
func (l *Lister) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	if err := l.m.begin(ctx, MethodListPhones); err != nil {
		return crm.PhonePage{}, err
	}
	off := 0
	if req.Page != "" {
		n, err := strconv.Atoi(req.Page)
		if err != nil || n < 0 {
			return crm.PhonePage{Requests: 1}, fmt.Errorf("crmtest: page %q: %w", req.Page, crm.ErrPageExpired)
		}
		off = n
	}
	l.m.mu.Lock()
	recs := slices.Clone(l.m.records[req.Entity])
	l.m.mu.Unlock()
	slices.SortFunc(recs, func(a, b *crm.Record) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	l.mu.Lock()
	var sel []crm.PhoneRecord
	for _, r := range recs {
		mod, ok := l.modified[r.Ref]
		if !ok { // first seen: created now, as far as the CRM's clock says
			mod = l.now().UTC()
			l.modified[r.Ref] = mod
		}
		if !req.Since.IsZero() && mod.Before(req.Since) {
			continue
		}
		sel = append(sel, crm.PhoneRecord{Ref: r.Ref, Modified: mod, OwnerID: r.OwnerID,
			ParentAccountID: r.ParentAccountID, Country: r.Fields[CountryField], Phones: maps.Clone(r.Phones)})
	}
	l.mu.Unlock()
	size := l.PageSize
	if size <= 0 {
		size = 100
	}
	page := crm.PhonePage{Requests: 1}
	if off > len(sel) {
		off = len(sel)
	}
	end := min(off+size, len(sel))
	page.Records = sel[off:end]
	if end < len(sel) {
		page.Next = strconv.Itoa(end)
	}
	return page, nil
}

// DeletedRecords lists the records of an entity deleted at or after
// req.Since, in one page.
func (l *Lister) DeletedRecords(ctx context.Context, req crm.DeletedRequest) (crm.DeletedPage, error) {
	if err := l.m.begin(ctx, MethodDeletedRecords); err != nil {
		return crm.DeletedPage{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := crm.DeletedPage{Requests: 1, Until: l.now().UTC()}
	for _, d := range l.deleted {
		if d.ref.Entity == req.Entity && !d.at.Before(req.Since) {
			p.IDs = append(p.IDs, d.ref.ID)
		}
	}
	return p, nil
}
