package dynamics

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/callsync/callsync/crm"
)

var _ crm.ParentFetcher = (*Client)(nil)

// Accounts returns accounts by accountid with the requested extra columns in
// Record.Fields, keyed by the ids as given; unknown ids (and ids that are not
// GUIDs, which no account can have) are absent. Many ids go in one GET
// ($filter Microsoft.Dynamics.CRM.In over accountid), the GETs in as few
// $batch requests as the limits allow [Finding a caller by phone: $filter,
// URL limit]. It serves Smart Routing's account rules for callers that
// matched a contact (crm.ParentFetcher).
func (c *Client) Accounts(ctx context.Context, ids []string, fields []string) (map[string]crm.Record, error) {
	m := entities[crm.Account]
	sel := []string{m.idColumn, m.name, ownerColumn}
	for _, f := range fields {
		if !validColumn(f) {
			return nil, fmt.Errorf("dynamics: accounts: field %q is not a column name", f)
		}
		if !slices.Contains(sel, f) {
			sel = append(sel, f)
		}
	}
	asked := map[string][]string{} // lower-case GUID -> the ids as given
	var items [][]string
	for _, id := range ids {
		k := strings.ToLower(strings.TrimSpace(id))
		if _, err := uuid.Parse(k); err != nil || len(k) != 36 {
			continue
		}
		if _, ok := asked[k]; !ok {
			items = append(items, []string{k})
		}
		if !slices.Contains(asked[k], id) {
			asked[k] = append(asked[k], id)
		}
	}
	out := map[string]crm.Record{}
	if len(items) == 0 {
		return out, nil
	}
	prefixLen := len(queryURL(c.api, m.set, sel, ""))
	var qs []query
	for _, ch := range chunkValues(prefixLen, 0, maxBatchURL, []string{m.idColumn}, items) {
		qs = append(qs, query{url: queryURL(c.api, m.set, sel, idFilter(m.idColumn, ch.values))})
	}
	rows, err := c.getAll(ctx, "accounts", qs)
	if err != nil {
		return nil, fmt.Errorf("dynamics: accounts: %d ids: %w", len(items), err)
	}
	for _, rs := range rows {
		for _, r := range rs {
			id := r.str(m.idColumn)
			given := asked[strings.ToLower(id)]
			if len(given) == 0 {
				continue
			}
			rec := crm.Record{
				Ref:     crm.Ref{Entity: crm.Account, ID: id},
				Name:    r.str(m.name),
				OwnerID: r.str(ownerColumn),
			}
			if len(fields) > 0 {
				rec.Fields = make(map[string]string, len(fields))
				for _, f := range fields {
					if r.has(f) {
						rec.Fields[f] = r.str(f)
					}
				}
			}
			for _, g := range given {
				rec.Fields = maps.Clone(rec.Fields)
				out[g] = rec
			}
		}
	}
	return out, nil
}

// idFilter is In over a GUID key column. One id is "col eq <guid>": an
// Edm.Guid literal is unquoted (a quoted one is an Edm.String and Dataverse
// refuses the comparison, 0x80060888), while In takes its values as strings.
// ids are validated GUIDs, so nothing needs escaping.
func idFilter(column string, ids []string) string {
	if len(ids) == 1 {
		return column + " eq " + ids[0]
	}
	return inFilter(column, ids)
}
