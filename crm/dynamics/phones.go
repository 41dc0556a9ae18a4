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

var _ crm.PhoneLister = (*Client)(nil)

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
	m, ok := entities[req.Entity]
	if !ok {
		return crm.PhonePage{}, fmt.Errorf("dynamics: list phones: unknown entity %q", req.Entity)
	}
	phones, _ := c.searchColumns(c.schema(ctx, false), nil)
	fields := phones[req.Entity]
	if len(fields) == 0 {
		return crm.PhonePage{}, nil // the table is not searched in this org
	}
	prefer := preferAnnotations + ",odata.maxpagesize=" + fmt.Sprint(phonePageSize)
	url, track, delta := req.Page, false, req.Delta != "" && req.Page == ""
	switch {
	case delta:
		url = req.Delta
	case url == "":
		sel := []string{m.idColumn, ownerColumn, modifiedColumn, countryColumn}
		if m.parent != "" {
			sel = append(sel, m.parent)
		}
		sel = append(sel, fields...)
		filter := ""
		if !req.Since.IsZero() {
			filter = modifiedColumn + " ge " + dateLiteral(req.Since)
		}
		url, track = queryURL(c.api, m.set, sel, filter), req.Since.IsZero()
	}
	if delta || req.Page != "" {
		var err error
		if url, err = c.sameOrigin(url); err != nil {
			return crm.PhonePage{}, fmt.Errorf("dynamics: list phones: %w", err)
		}
	}
	h := http.Header{"Prefer": {prefer}}
	if track {
		h.Set("Prefer", prefer+","+trackChanges)
	}
	status, _, body, err := c.send(ctx, "list_phones", http.MethodGet, url, h, nil, 1)
	out := crm.PhonePage{Requests: 1}
	if err == nil && track && status == http.StatusForbidden {
		// Tracking needs organization-level read of the table; with
		// less, list without it (deletions then wait for a full load).
		h.Set("Prefer", prefer)
		status, _, body, err = c.send(ctx, "list_phones", http.MethodGet, url, h, nil, 1)
		out.Requests++
	}
	if err != nil {
		return out, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, err)
	}
	if delta && status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden && status != http.StatusTooManyRequests {
		// Dataverse keeps changes for ExpireChangeTrackingInDays (7 by
		// default, same source); an older delta is refused ("Version
		// stamp associated with the client has expired. Please perform a
		// full sync.", https://github.com/MicrosoftDocs/powerapps-docs/issues/3845).
		return out, fmt.Errorf("dynamics: list phones %s: delta link refused (%v): %w", req.Entity, parseError(status, body), crm.ErrPageExpired)
	}
	if status != http.StatusOK {
		return out, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, parseError(status, body))
	}
	p, err := decodePage(body)
	if err != nil {
		return out, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, err)
	}
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
		rec := crm.PhoneRecord{Ref: crm.Ref{Entity: req.Entity, ID: id}, Modified: mod.UTC(), OwnerID: r.str(ownerColumn),
			Country: r.str(countryColumn), Phones: map[string]string{}}
		if m.parent != "" && r.has(m.parent) {
			if t := r.str(m.parent + lookupLogicalNameSuffix); t == "" || t == "account" {
				rec.ParentAccountID = r.str(m.parent)
			}
		}
		for _, f := range fields {
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
