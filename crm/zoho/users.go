package zoho

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/callsync/callsync/crm"
)

// Users resolves Enreach users to active Zoho users. It pages through
// GET /users?type=ActiveUsers (200 a page) once per call and matches
// client-side. When user_id_field (the original's IDUserField) is set, users
// are matched by that user field whatever match says: one setting, one
// meaning. Otherwise match decides: by e-mail (case-insensitive) or by the
// user field match.Field. A user field is read from the user object by its
// API name, or by the same name in lower case: the users API returns the
// standard user fields in lower case ("email", "phone", "fax"; example
// response of GET /users in https://github.com/zoho/crm-oas v8.0/users).
func (c *Client) Users(ctx context.Context, match crm.UserMatch, qs []crm.UserQuery) (map[string]crm.User, error) {
	out := map[string]crm.User{}
	if len(qs) == 0 {
		return out, nil
	}
	by, field := match.By, match.Field
	if c.cfg.UserIDField != "" {
		by, field = "field", c.cfg.UserIDField
	}
	if by == "" {
		by = "email"
	}
	switch by {
	case "email":
	case "field":
		if field == "" || !apiName.MatchString(field) {
			return nil, fmt.Errorf("zoho: users: match by field needs a user field API name, got %q", field)
		}
	default:
		return nil, fmt.Errorf("zoho: users: unknown match %q (email | field)", by)
	}

	index := map[string]crm.User{}
	for page := 1; ; page++ {
		q := url.Values{"type": {"ActiveUsers"}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(usersPerPage)}}
		resp, err := c.do(ctx, http.MethodGet, "/users", q, nil)
		if err != nil {
			return nil, fmt.Errorf("zoho: users: %w", err)
		}
		if resp.status == http.StatusNoContent || len(resp.body) == 0 {
			break
		}
		var body struct {
			Users []map[string]json.RawMessage `json:"users"`
			Info  struct {
				MoreRecords bool `json:"more_records"`
			} `json:"info"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return nil, fmt.Errorf("zoho: users: decode: %w", err)
		}
		for _, u := range body.Users {
			if !strings.EqualFold(rowString(u[userFieldStatus]), userActive) {
				continue
			}
			user := crm.User{ID: rowString(u[userFieldID]), Email: rowString(u[userFieldEmail]), Name: rowString(u[userFieldName])}
			key := strings.ToLower(user.Email)
			if by == "field" {
				key = strings.ToLower(strings.TrimSpace(userField(u, field)))
			}
			if key != "" && user.ID != "" {
				if _, dup := index[key]; !dup {
					index[key] = user
				}
			}
		}
		if !body.Info.MoreRecords || len(body.Users) == 0 {
			break
		}
	}
	for _, q := range qs {
		key := strings.ToLower(strings.TrimSpace(q.Email))
		if by == "field" {
			key = strings.ToLower(strings.TrimSpace(q.EnreachUserID))
		}
		if u, ok := index[key]; ok && key != "" {
			out[q.EnreachUserID] = u
		}
	}
	return out, nil
}

// userField returns a user object's field by API name, else by the name in
// lower case (see Users).
func userField(u map[string]json.RawMessage, name string) string {
	if v, ok := u[name]; ok {
		return rowString(v)
	}
	return rowString(u[strings.ToLower(name)])
}
