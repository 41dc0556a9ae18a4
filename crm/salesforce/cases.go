package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm"
)

var _ crm.CaseFetcher = (*Client)(nil)

// OpenCases returns the open Cases of Contacts and Accounts (Smart
// Routing's caller context: the AnywhereNow service reads the caller's
// contact and related cases) as records of entity crm.Case with OwnerID
// and Fields "ContactId", "AccountId" and "Priority". It runs SOQL
// "SELECT Id, ContactId, AccountId, Priority, OwnerId FROM Case WHERE
// IsClosed = false AND (ContactId IN (...) OR AccountId IN (...))", one
// query for the usual handful of ids (more for long lists, batched). Strings
// that are not record ids are left out (Salesforce would refuse the whole
// query).
func (c *Client) OpenCases(ctx context.Context, contactIDs, accountIDs []string) ([]crm.Record, error) {
	valid := func(ids []string) []string {
		var out []string
		for _, id := range ids {
			if id18, ok := caseSafeID(strings.TrimSpace(id)); ok && !containsFold(out, id18) {
				out = append(out, id18)
			}
		}
		return out
	}
	cs, as := valid(contactIDs), valid(accountIDs)
	if len(cs) == 0 && len(as) == 0 {
		return nil, nil
	}
	head := "SELECT Id,ContactId,AccountId,Priority,OwnerId FROM " + caseObject + " WHERE IsClosed = false AND "
	room := len(head) + maxSOQLLength/2
	cch, ach := chunkIN(cs, room), chunkIN(as, room)
	var soqls []string
	for i := 0; i < max(len(cch), len(ach)); i++ {
		var alts []string
		if i < len(cch) {
			alts = append(alts, "ContactId IN "+inList(cch[i]))
		}
		if i < len(ach) {
			alts = append(alts, "AccountId IN "+inList(ach[i]))
		}
		soqls = append(soqls, head+"("+strings.Join(alts, " OR ")+")")
	}
	pages, err := c.queryAll(ctx, soqls)
	if err != nil {
		return nil, fmt.Errorf("salesforce: open cases: %w", err)
	}
	var out []crm.Record
	seen := map[string]bool{}
	for _, recs := range pages {
		for _, raw := range recs {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("salesforce: open cases: decode: %w", err)
			}
			id := str(rec, "Id")
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, crm.Record{
				Ref:     crm.Ref{Entity: crm.Case, ID: id},
				OwnerID: str(rec, "OwnerId"),
				Fields: map[string]string{"ContactId": str(rec, "ContactId"), "AccountId": str(rec, "AccountId"),
					"Priority": str(rec, "Priority")},
			})
		}
	}
	return out, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
