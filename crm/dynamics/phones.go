package dynamics

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// phonePageSize is the page size asked of Dataverse for directory loads: the
// Web API returns at most 5,000 rows per page and honours a smaller
// `Prefer: odata.maxpagesize`, continuing with `@odata.nextLink`
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results).
const phonePageSize = 5000

// countryColumn is the address country column of contacts, accounts and
// leads (address1_country, https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_Address1_Country).
const countryColumn = "address1_country"

// modifiedColumn is every table's last-modified stamp.
const modifiedColumn = "modifiedon"

var (
	_ crm.PhoneLister              = (*Client)(nil)
	_ crm.PhoneBatchLister         = (*Client)(nil)
	_ crm.PhoneActivityBatchLister = (*Client)(nil)
)

// trackChanges is the preference that asks Dataverse to track an
// entity set's changes: the last page of the listing then carries an
// @odata.deltaLink, which lists the rows created, updated and deleted since
// (deleted ones as "$deletedEntity" entries with their id). Tables must have
// "Track changes" enabled and the caller organization-level read access;
// $filter, $orderby, $expand and $top are not allowed with it
// (https://learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems).
const trackChanges = "odata.track-changes"

// deletedEntitySuffix ends the @odata.context of a deleted row in a delta
// listing (same source).
const deletedEntitySuffix = "/$deletedEntity"

// ListPhones implements crm.PhoneLister: one GET of the entity's id, owner,
// account, address country, modifiedon and phone columns, ordered by id
// (incremental: `$filter=modifiedon ge <since>`) in Dataverse's own order, with
// `Prefer: odata.maxpagesize=5000`; the page token is the @odata.nextLink,
// followed unchanged. A full load asks Dataverse to track changes
// (trackChanges): when the table has it, the last page's delta link comes
// back as PhonePage.Delta and a request with it lists the changes since.
func (c *Client) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	l, err := c.phoneListing(ctx, req)
	if err != nil || l.skip {
		return crm.PhonePage{}, err
	}
	status, _, body, err := c.send(ctx, "list_phones", http.MethodGet, l.url, l.header, nil, 1)
	requests := 1
	if err == nil && l.track && status == http.StatusForbidden {
		// Tracking needs organization-level read of the table; with
		// less, list without it (deletions then wait for a full load).
		l.header.Set("Prefer", l.prefer)
		status, _, body, err = c.send(ctx, "list_phones", http.MethodGet, l.url, l.header, nil, 1)
		requests++
	}
	if err != nil {
		return crm.PhonePage{Requests: requests}, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, err)
	}
	out, err := l.page(status, body)
	out.Requests = requests
	return out, err
}

// ListPhonesBatch implements crm.PhoneBatchLister: the first pages of
// several incremental listings (delta links or modifiedon filters) as GETs
// in one $batch request
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api).
// The request is counted on the first page.
func (c *Client) ListPhonesBatch(ctx context.Context, reqs []crm.PhoneListRequest) ([]crm.PhonePageResult, error) {
	out, _, _, err := c.listPhonesBatch(ctx, reqs, nil)
	return out, err
}

// ListPhonesBatchWithActivities implements crm.PhoneActivityBatchLister:
// FindActivities' GETs of phonecalls go after the listings' GETs in the
// same $batch (a $batch may hold GET requests outside change sets, executed
// in order, each answered in its own part,
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api).
// ok is false, and the caller asks FindActivities, when they would not fit
// in the $batch or did not all answer 200 on a single page.
func (c *Client) ListPhonesBatchWithActivities(ctx context.Context, reqs []crm.PhoneListRequest, qs []crm.ActivityQuery) ([]crm.PhonePageResult, []crm.ExistingActivity, bool, error) {
	return c.listPhonesBatch(ctx, reqs, qs)
}

func (c *Client) listPhonesBatch(ctx context.Context, reqs []crm.PhoneListRequest, qs []crm.ActivityQuery) ([]crm.PhonePageResult, []crm.ExistingActivity, bool, error) {
	out := make([]crm.PhonePageResult, len(reqs))
	var (
		parts []part
		idx   []int
		ls    []phoneListing
	)
	for i, req := range reqs {
		if req.Page != "" || (req.Delta == "" && req.Since.IsZero()) {
			return nil, nil, false, fmt.Errorf("dynamics: list phones: a batch lists first pages of incremental listings only")
		}
		l, err := c.phoneListing(ctx, req)
		if err != nil || l.skip {
			out[i].Err = err
			continue
		}
		hdr := [][2]string{{"Accept", "application/json"}, {"Prefer", l.header.Get("Prefer")}}
		parts = append(parts, part{single: &op{method: http.MethodGet, url: l.url, header: hdr}})
		idx, ls = append(idx, i), append(ls, l)
	}
	if len(parts) == 0 {
		return out, nil, false, nil
	}
	s := c.activitySearch(qs)
	acts := len(s.queries) > 0 && len(parts)+len(s.queries) <= maxBatchOps
	if acts {
		for _, q := range s.queries {
			parts = append(parts, part{single: &op{method: http.MethodGet, url: q.url, header: [][2]string{{"Accept", "application/json"}, {"Prefer", preferAnnotations}}}})
		}
	}
	res, err := c.batch(ctx, "list_phones", parts)
	if err != nil {
		return nil, nil, false, fmt.Errorf("dynamics: list phones: %w", err)
	}
	if len(res) != len(parts) {
		return nil, nil, false, fmt.Errorf("dynamics: list phones: $batch answered %d of %d requests", len(res), len(parts))
	}
	for k, i := range idx {
		a := res[k][len(res[k])-1]
		out[i].Page, out[i].Err = ls[k].page(a.status, a.body)
	}
	out[idx[0]].Page.Requests = 1
	if !acts {
		return out, nil, false, nil
	}
	rows := make([][]row, len(s.queries))
	for j := range s.queries {
		a := res[len(idx)+j][len(res[len(idx)+j])-1]
		if a.status != http.StatusOK {
			return out, nil, false, nil
		}
		p, err := decodePage(a.body)
		if err != nil || p.NextLink != "" {
			return out, nil, false, nil
		}
		rows[j] = p.Value
	}
	return out, s.found(rows), true, nil
}

// phoneListing is one page request of ListPhones, ready to send.
type phoneListing struct {
	entity crm.Entity
	meta   entityMeta
	fields []string
	url    string
	header http.Header
	// prefer is the Prefer header without tracking; track says the
	// request asks Dataverse to track changes, delta that it follows a
	// delta link; skip that the table is not searched in this org.
	prefer       string
	track, delta bool
	skip         bool
}

func (c *Client) phoneListing(ctx context.Context, req crm.PhoneListRequest) (phoneListing, error) {
	m, ok := entities[req.Entity]
	if !ok {
		return phoneListing{}, fmt.Errorf("dynamics: list phones: unknown entity %q", req.Entity)
	}
	phones, _ := c.searchColumns(c.schema(ctx, false), nil)
	l := phoneListing{entity: req.Entity, meta: m, fields: phones[req.Entity]}
	if len(l.fields) == 0 {
		l.skip = true // the table is not searched in this org
		return l, nil
	}
	l.prefer = preferAnnotations + ",odata.maxpagesize=" + fmt.Sprint(phonePageSize)
	l.url, l.delta = req.Page, req.Delta != "" && req.Page == ""
	switch {
	case l.delta:
		l.url = req.Delta
	case l.url == "":
		sel := []string{m.idColumn, ownerColumn, modifiedColumn, countryColumn}
		if m.parent != "" {
			sel = append(sel, m.parent)
		}
		sel = append(sel, l.fields...)
		filter := ""
		if !req.Since.IsZero() {
			filter = modifiedColumn + " ge " + dateLiteral(req.Since)
		}
		l.url, l.track = queryURL(c.api, m.set, sel, filter), req.Since.IsZero()
	}
	if l.delta || req.Page != "" {
		var err error
		if l.url, err = c.sameOrigin(l.url); err != nil {
			return l, fmt.Errorf("dynamics: list phones: %w", err)
		}
	}
	l.header = http.Header{"Prefer": {l.prefer}}
	if l.track {
		l.header.Set("Prefer", l.prefer+","+trackChanges)
	}
	return l, nil
}

// page reads the answer to a phoneListing.
func (l phoneListing) page(status int, body []byte) (crm.PhonePage, error) {
	var out crm.PhonePage
	if l.delta && status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden && status != http.StatusTooManyRequests {
		// Dataverse keeps changes for ExpireChangeTrackingInDays (7 by
		// default, same source); an older delta is refused ("Version
		// stamp associated with the client has expired. Please perform a
		// full sync.", https://github.com/MicrosoftDocs/powerapps-docs/issues/3845).
		return out, fmt.Errorf("dynamics: list phones %s: delta link refused (%v): %w", l.entity, parseError(status, body), crm.ErrPageExpired)
	}
	if status != http.StatusOK {
		return out, fmt.Errorf("dynamics: list phones %s: %w", l.entity, parseError(status, body))
	}
	p, err := decodePage(body)
	if err != nil {
		return out, fmt.Errorf("dynamics: list phones %s: %w", l.entity, err)
	}
	m := l.meta
	for _, r := range p.Value {
		if strings.HasSuffix(r.str("@odata.context"), deletedEntitySuffix) {
			if id := r.str("id"); id != "" {
				out.Deleted = append(out.Deleted, id)
			} else {
				out.Skipped++
			}
			continue
		}
		id := r.str(m.idColumn)
		mod, err := time.Parse(time.RFC3339, r.str(modifiedColumn))
		if id == "" || err != nil {
			out.Skipped++
			continue
		}
		rec := crm.PhoneRecord{Ref: crm.Ref{Entity: l.entity, ID: id}, Modified: mod.UTC(), OwnerID: r.str(ownerColumn),
			Country: r.str(countryColumn), Phones: map[string]string{}}
		if m.parent != "" && r.has(m.parent) {
			if t := r.str(m.parent + lookupLogicalNameSuffix); t == "" || t == "account" {
				rec.ParentAccountID = r.str(m.parent)
			}
		}
		for _, f := range l.fields {
			if v := r.str(f); r.has(f) && v != "" {
				rec.Phones[f] = v
			}
		}
		out.Records = append(out.Records, rec)
	}
	out.Next = p.NextLink
	if out.Next == "" {
		out.Delta = p.DeltaLink
	}
	return out, nil
}

// DeletedRecords implements crm.PhoneLister. Dataverse lists deleted rows
// only through change tracking (ListPhones with a delta link); for a table
// without it, deletions are healed by the next full load.
func (c *Client) DeletedRecords(ctx context.Context, req crm.DeletedRequest) (crm.DeletedPage, error) {
	return crm.DeletedPage{}, crm.ErrNoDeleted
}
