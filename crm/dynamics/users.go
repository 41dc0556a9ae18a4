package dynamics

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/callsync/callsync/crm"
)

// Users implements crm.Client: systemusers whose internalemailaddress (By
// "email") or configured column (By "field") equals the Enreach user's e-mail
// or id, enabled users only, many users per GET [Finding users and queues].
func (c *Client) Users(ctx context.Context, match crm.UserMatch, qs []crm.UserQuery) (map[string]crm.User, error) {
	column := userEmailColumn
	switch match.By {
	case "", "email":
	case "field":
		if !validColumn(match.Field) {
			return nil, fmt.Errorf("dynamics: users: match field %q is not a column name", match.Field)
		}
		column = strings.ToLower(match.Field)
	default:
		return nil, fmt.Errorf("dynamics: users: unknown match %q (want email or field)", match.By)
	}
	// value (normalised) -> Enreach user ids asking for it
	want := map[string][]string{}
	var values []string
	for _, q := range qs {
		v := q.Email
		if column != userEmailColumn {
			v = q.EnreachUserID
		}
		v = strings.TrimSpace(v)
		if v == "" || q.EnreachUserID == "" {
			continue
		}
		k := strings.ToLower(v)
		if _, ok := want[k]; !ok {
			values = append(values, v)
		}
		if !slices.Contains(want[k], q.EnreachUserID) {
			want[k] = append(want[k], q.EnreachUserID)
		}
	}
	out := map[string]crm.User{}
	if len(values) == 0 {
		return out, nil
	}
	sel := []string{userIDColumn, userNameColumn, userEmailColumn}
	if column != userEmailColumn {
		sel = append(sel, column)
	}
	const enabled = " and " + userDisabled + " eq false"
	prefixLen := len(queryURL(c.api, userSet, sel, ""))
	items := make([][]string, len(values))
	for i, v := range values {
		items[i] = []string{v}
	}
	var queries []query
	for _, ch := range chunkValues(prefixLen, encodedLen(enabled), maxBatchURL, []string{column}, items) {
		queries = append(queries, query{url: queryURL(c.api, userSet, sel, inFilter(column, ch.values)+enabled)})
	}
	rows, err := c.getAll(ctx, "users", queries)
	if err != nil {
		return nil, fmt.Errorf("dynamics: users: %d queries by %s: %w", len(values), column, err)
	}
	for _, rs := range rows {
		for _, r := range rs {
			u := crm.User{ID: r.str(userIDColumn), Email: r.str(userEmailColumn), Name: r.str(userNameColumn)}
			if u.ID == "" {
				continue
			}
			for _, eid := range want[strings.ToLower(strings.TrimSpace(r.str(column)))] {
				if prev, ok := out[eid]; ok && prev.ID != u.ID {
					c.log.Warn("dynamics: several CRM users match one Enreach user; keeping the first",
						"enreach_user", eid, "by", column, "kept", prev.ID, "ignored", u.ID)
					continue
				}
				out[eid] = u
			}
		}
	}
	return out, nil
}
