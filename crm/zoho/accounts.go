package zoho

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/callsync/callsync/crm"
)

var _ crm.ParentFetcher = (*Client)(nil)

// Accounts returns Accounts records by id with the requested extra fields in
// Record.Fields, keyed by the ids as given; unknown ids (and strings that are
// not Zoho record ids, which are numeric) are absent. It runs COQL "select
// id, Account_Name, Owner, <fields> from Accounts where id in (...)", 100 ids
// per in list, as many lists per query as one page of rows holds (2,000
// ids; https://www.zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html). It serves
// Smart Routing's account rules for callers that matched a contact
// (crm.ParentFetcher).
func (c *Client) Accounts(ctx context.Context, ids []string, fields []string) (map[string]crm.Record, error) {
	m, _ := standardSearchModule(moduleOf(crm.Account))
	for _, f := range fields {
		if !apiName.MatchString(f) {
			return nil, fmt.Errorf("zoho: accounts: field %q is not an API name", f)
		}
	}
	asked := map[string][]string{} // id -> the ids as given
	var lits []string
	for _, id := range ids {
		k := strings.TrimSpace(id)
		lit, ok := literal(k)
		if !ok || strings.Trim(k, "0123456789") != "" {
			continue
		}
		if _, seen := asked[k]; !seen {
			lits = append(lits, lit)
		}
		if !slices.Contains(asked[k], id) {
			asked[k] = append(asked[k], id)
		}
	}
	out := map[string]crm.Record{}
	sel := append([]string{"id", m.NameField, fOwner}, fields...)
	// An id is one row at most: a query of up to coqlMaxLimit ids is
	// answered in one page.
	perQuery := min(coqlMaxCriteria*coqlInValues, coqlMaxLimit)
	for start := 0; start < len(lits); start += perQuery {
		chunk := lits[start:min(len(lits), start+perQuery)]
		err := c.coql(ctx, sel, m.Name, group("or", inCriteria("id", chunk)), len(chunk), func(row coqlRow) {
			rec := crm.Record{
				Ref:     crm.Ref{Entity: crm.Account, ID: rowString(row["id"])},
				Name:    rowString(row[m.NameField]),
				OwnerID: rowID(row[fOwner]),
			}
			if len(fields) > 0 {
				// As Lookup reports them: a null field is "".
				rec.Fields = make(map[string]string, len(fields))
				for _, f := range fields {
					rec.Fields[f] = rowString(row[f])
				}
			}
			for _, g := range asked[rec.ID] {
				rec.Fields = maps.Clone(rec.Fields)
				out[g] = rec
			}
		})
		if err != nil {
			return nil, fmt.Errorf("zoho: accounts: %d ids: %w", len(lits), err)
		}
	}
	return out, nil
}
