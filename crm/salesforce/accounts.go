package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/callsync/callsync/crm"
)

// accountID is a 15-character (case-sensitive) or 18-character (case-safe)
// record id [Finding a caller by phone].
var accountID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

var _ crm.ParentFetcher = (*Client)(nil)

// Accounts returns Accounts by Id with the requested extra fields in
// Record.Fields, keyed by the ids as given; unknown ids (and strings that are
// not record ids, which Salesforce would refuse for the whole query) are
// absent. It runs SOQL "SELECT Id, Name, OwnerId, <fields> FROM Account WHERE
// Id IN (...)", many ids per query, the queries batched. It serves Smart
// Routing's account rules for callers that matched a contact
// (crm.ParentFetcher).
func (c *Client) Accounts(ctx context.Context, ids []string, fields []string) (map[string]crm.Record, error) {
	sel := []string{"Id", "Name", "OwnerId"}
	for _, f := range fields {
		if !fieldName.MatchString(f) {
			return nil, fmt.Errorf("salesforce: accounts: %q is not an Account field name", f)
		}
		if !slices.ContainsFunc(sel, func(x string) bool { return strings.EqualFold(x, f) }) {
			sel = append(sel, f)
		}
	}
	asked := map[string][]string{} // 18-character id -> the ids as given
	var values []string
	for _, id := range ids {
		id18, ok := caseSafeID(strings.TrimSpace(id))
		if !ok {
			continue
		}
		if _, seen := asked[id18]; !seen {
			values = append(values, id18)
		}
		if !slices.Contains(asked[id18], id) {
			asked[id18] = append(asked[id18], id)
		}
	}
	out := map[string]crm.Record{}
	if len(values) == 0 {
		return out, nil
	}
	head := fmt.Sprintf("SELECT %s FROM %s WHERE Id IN ", strings.Join(sel, ","), sobjects[crm.Account].name)
	var soqls []string
	for _, chunk := range chunkIN(values, len(head)) {
		soqls = append(soqls, head+inList(chunk))
	}
	pages, err := c.queryAll(ctx, soqls)
	if err != nil {
		return nil, fmt.Errorf("salesforce: accounts: %d ids: %w", len(values), err)
	}
	for _, recs := range pages {
		for _, raw := range recs {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("salesforce: accounts: decode: %w", err)
			}
			r := crm.Record{
				Ref:     crm.Ref{Entity: crm.Account, ID: str(rec, "Id")},
				Name:    str(rec, "Name"),
				OwnerID: str(rec, "OwnerId"),
			}
			if len(fields) > 0 {
				// As Lookup reports them: a null field is "".
				r.Fields = make(map[string]string, len(fields))
				for _, f := range fields {
					r.Fields[f] = str(rec, f)
				}
			}
			id18, _ := caseSafeID(r.ID)
			for _, g := range asked[id18] {
				r.Fields = maps.Clone(r.Fields)
				out[g] = r
			}
		}
	}
	return out, nil
}

// caseSafeID returns the 18-character form of a record id: a 15-character id
// gets its three case checksum characters (bit i of chunk k is set when
// character 5k+i is upper case), an 18-character id is returned as it is.
func caseSafeID(id string) (string, bool) {
	if !accountID.MatchString(id) {
		return "", false
	}
	if len(id) == 18 {
		// The checksum is case-insensitive; Salesforce writes it upper case.
		return id[:15] + strings.ToUpper(id[15:]), true
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var b strings.Builder
	b.WriteString(id)
	for k := range 3 {
		n := 0
		for i := range 5 {
			if c := id[5*k+i]; c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		b.WriteByte(alphabet[n])
	}
	return b.String(), true
}
