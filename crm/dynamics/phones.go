package dynamics

import (
	"context"
	"fmt"
	"net/http"
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

// ListPhones implements crm.PhoneLister: one GET of the entity's id, owner,
// account, address country, modifiedon and phone columns, ordered by id
// (incremental: `$filter=modifiedon ge <since>`) in Dataverse's own order, with
// `Prefer: odata.maxpagesize=5000`; the page token is the @odata.nextLink,
// followed unchanged.
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
	url := req.Page
	if url == "" {
		sel := []string{m.idColumn, ownerColumn, modifiedColumn, countryColumn}
		if m.parent != "" {
			sel = append(sel, m.parent)
		}
		sel = append(sel, fields...)
		filter := ""
		if !req.Since.IsZero() {
			filter = modifiedColumn + " ge " + dateLiteral(req.Since)
		}
		url = queryURL(c.api, m.set, sel, filter)
	} else {
		var err error
		if url, err = c.sameOrigin(url); err != nil {
			return crm.PhonePage{}, fmt.Errorf("dynamics: list phones: %w", err)
		}
	}
	h := http.Header{"Prefer": {preferAnnotations + ",odata.maxpagesize=" + fmt.Sprint(phonePageSize)}}
	status, _, body, err := c.send(ctx, "list_phones", http.MethodGet, url, h, nil, 1)
	out := crm.PhonePage{Requests: 1}
	if err != nil {
		return out, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, err)
	}
	if status != http.StatusOK {
		return out, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, parseError(status, body))
	}
	p, err := decodePage(body)
	if err != nil {
		return out, fmt.Errorf("dynamics: list phones %s: %w", req.Entity, err)
	}
	for _, r := range p.Value {
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
	return out, nil
}

// DeletedRecords implements crm.PhoneLister. Dataverse lists deleted rows
// only through change tracking (a delta link), which callsync does not use
// yet: deletions are healed by the next full load.
func (c *Client) DeletedRecords(ctx context.Context, req crm.DeletedRequest) (crm.DeletedPage, error) {
	return crm.DeletedPage{}, crm.ErrNoDeleted
}
