package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm"
)

// Users resolves Enreach users to active Salesforce users by e-mail or by the
// User field named in match.Field, with SOQL IN lists (batched).
func (c *Client) Users(ctx context.Context, match crm.UserMatch, qs []crm.UserQuery) (map[string]crm.User, error) {
	field := userEmailField
	switch match.By {
	case "", "email":
	case "field":
		if !fieldName.MatchString(match.Field) {
			return nil, fmt.Errorf("salesforce: users: %q is not a User field name", match.Field)
		}
		field = match.Field
	default:
		return nil, fmt.Errorf("salesforce: users: unknown match %q (email or field)", match.By)
	}
	value := func(q crm.UserQuery) string {
		if field == userEmailField {
			return strings.TrimSpace(q.Email)
		}
		return strings.TrimSpace(q.EnreachUserID)
	}
	var values []string
	have := map[string]bool{}
	for _, q := range qs {
		v := value(q)
		if v == "" || have[strings.ToLower(v)] {
			continue
		}
		have[strings.ToLower(v)] = true
		values = append(values, v)
	}
	out := map[string]crm.User{}
	if len(values) == 0 {
		return out, nil
	}
	sel := "Id,Name," + userEmailField
	if field != userEmailField {
		sel += "," + field
	}
	head := fmt.Sprintf("SELECT %s FROM %s WHERE %s = true AND %s IN ", sel, userObject, userActiveField, field)
	var soqls []string
	for _, chunk := range chunkIN(values, len(head)+len(" ORDER BY Id")) {
		soqls = append(soqls, head+inList(chunk)+" ORDER BY Id")
	}
	pages, err := c.queryAll(ctx, soqls)
	if err != nil {
		return nil, fmt.Errorf("salesforce: users: %w", err)
	}
	found := map[string]crm.User{} // lower-cased field value -> first user
	for _, recs := range pages {
		for _, raw := range recs {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("salesforce: users: decode: %w", err)
			}
			k := strings.ToLower(str(rec, field))
			if _, dup := found[k]; dup || k == "" {
				continue
			}
			found[k] = crm.User{ID: str(rec, "Id"), Email: str(rec, userEmailField), Name: str(rec, "Name")}
		}
	}
	for _, q := range qs {
		if u, ok := found[strings.ToLower(value(q))]; ok && value(q) != "" {
			out[q.EnreachUserID] = u
		}
	}
	return out, nil
}
