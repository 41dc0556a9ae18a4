package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/callsync/callsync/crm"
)

var _ crm.Doctor = (*Client)(nil)

// fieldSpec is a field callsync reads or writes: the Zoho data types it
// accepts, whether callsync cannot work without it, and how an admin creates
// it (the field type's name in Setup → Modules and Fields).
type fieldSpec struct {
	name     string
	types    []string
	required bool
	create   string
}

// callsFields are the standard Calls fields callsync writes (mapping.go
// appendCallRecord); data types as settings/fields reports them.
var callsFields = []fieldSpec{
	{fSubject, []string{"text"}, true, "Single Line"},
	{fCallType, []string{"picklist"}, true, "Pick List"},
	{fCallStartTime, []string{"datetime"}, true, "Date/Time"},
	{fCallDuration, []string{"text"}, true, "Single Line"},
	{fDescription, []string{"textarea"}, true, "Multi Line"},
	{fWhoID, []string{"lookup"}, true, "Lookup to Contacts"},
	{fWhatID, []string{"lookup", "multi_module_lookup"}, true, "Lookup"},
	{fOutboundStatus, []string{"picklist"}, true, "Pick List"},
	{fCallerID, []string{"text", "phone"}, true, "Single Line"},
	{fDialledNumber, []string{"text", "phone"}, true, "Single Line"},
	{fOwner, []string{"ownerlookup"}, true, "User"},
}

// customFields are the fields of the custom call module in the original
// integration's format (mapping.go customRecord). The required ones are the
// upsert key and what FindActivities reads; the others are written when the
// module has them with a fitting type, else left out (Doctor warns).
func customFields() []fieldSpec {
	fs := []fieldSpec{
		{cfName, []string{"text", "autonumber"}, true, "Single Line (the module's Name)"},
		{cfCallID, []string{"text"}, true, "Single Line, Do not allow duplicate values"},
		{cfPhoneNumber, []string{"text", "phone"}, true, "Single Line"},
		{cfStartTime, []string{"datetime"}, true, "Date/Time"},
		{cfDirection, []string{"text", "picklist"}, false, "Single Line"},
		{cfDNIS, []string{"text", "phone"}, false, "Single Line"},
		{cfSubject, []string{"text"}, false, "Single Line"},
		{cfMediaType, []string{"picklist", "text"}, false, "Pick List (VOIP, Email, Chat, Other)"},
		{cfFrom, []string{"text", "phone"}, false, "Single Line"},
		{cfTo, []string{"text", "phone"}, false, "Single Line"},
		{cfDurationMins, []string{"integer"}, false, "Number"},
		{cfEndTime, []string{"datetime"}, false, "Date/Time"},
		{cfRecording, []string{"website", "text"}, false, "URL"},
		{cfQueue, []string{"text", "picklist"}, false, "Single Line"},
	}
	for _, m := range defaultSearchModules() {
		fs = append(fs, fieldSpec{cfRelatesTo + m, []string{"lookup"}, false, "Lookup to " + m})
	}
	return fs
}

// Doctor checks the org read-only: the token grant, the integration user,
// the modules callsync uses (Calls, the custom module, the search modules),
// every field it reads or writes (type and whether the user can see and
// write it) and the user id field. Metadata comes
// from settings/modules and settings/fields (scopes
// ZohoCRM.settings.modules.READ, ZohoCRM.settings.fields.READ).
func (c *Client) Doctor(ctx context.Context) ([]crm.Check, error) {
	var out []crm.Check
	add := func(name string, st crm.CheckStatus, detail, fix string) {
		out = append(out, crm.Check{Area: "crm", Name: name, Status: st, Detail: detail, Fix: fix})
	}

	if _, err := c.tokens.Token(); err != nil {
		add("auth", crm.CheckFail, "Zoho refused the refresh-token grant at "+c.cfg.AccountsURL+": "+grantReason(err),
			"check client_id, client_secret and refresh_token, and that accounts_url is the data centre the Self Client was created in (invalid_client: wrong client id or secret; invalid_code: the refresh token is wrong or revoked, generate a new one)")
		return out, ctx.Err()
	}
	add("auth", crm.CheckOK, "refresh-token grant at "+c.cfg.AccountsURL, "")

	if who, err := c.currentUser(ctx); err != nil {
		add("identity", crm.CheckFail, "GET users?type=CurrentUser: "+err.Error(), "grant the scope ZohoCRM.users.READ to the refresh token")
	} else {
		add("identity", crm.CheckOK, who, "")
	}

	mods, err := c.modules(ctx)
	if err != nil {
		add("metadata", crm.CheckWarn, "GET settings/modules: "+err.Error(),
			"generate the refresh token with the scopes ZohoCRM.settings.modules.READ and ZohoCRM.settings.fields.READ too, so callsync can check and adapt to the org's fields")
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		out = append(out, c.doctorUsers(ctx)...)
		return out, ctx.Err()
	}

	// Modules and their fields.
	check := func(module string, specs []fieldSpec) {
		s, missing, err := c.moduleFields(ctx, module)
		switch {
		case err != nil:
			add(module, crm.CheckWarn, "settings/fields: "+err.Error(), "grant ZohoCRM.settings.fields.READ")
			return
		case missing:
			return // reported with the modules
		}
		for _, sp := range specs {
			out = append(out, fieldCheck(module, s, sp))
		}
	}
	need := []struct {
		module string
		fix    string
	}{{callsModule, "enable the Calls module (Setup → Modules and Fields) and give the integration user's profile access to it"}}
	if c.module != "" && c.module != callsModule {
		need = append(need, struct{ module, fix string }{c.module, "create the custom module " + c.module + " (Enterprise editions: Setup → Modules and Fields → Create New Module) with the fields of the README, or correct module"})
	}
	for _, n := range need {
		if mods[n.module] {
			add("module "+n.module, crm.CheckOK, "", "")
		} else {
			add("module "+n.module, crm.CheckFail, "the module does not exist or the integration user cannot see it", n.fix)
		}
	}
	if mods[callsModule] {
		specs := callsFields
		if f := c.cfg.CallIDField; f != "" {
			specs = append(slices.Clone(specs), fieldSpec{f, []string{"text"}, true, "Single Line, Do not allow duplicate values"})
		}
		check(callsModule, specs)
	}
	if c.module != "" && c.module != callsModule && mods[c.module] {
		check(c.module, customFields())
	}
	if f := c.cfg.AuditField; f != "" && c.module != "" && mods[c.auditModule()] {
		check(c.auditModule(), []fieldSpec{{f, []string{"textarea", "text"}, false, "Multi Line (Large)"}})
	}

	// Search modules: phone fields (dropped when not visible), routing fields.
	left := 0
	for _, m := range c.search {
		if !mods[m.Name] {
			add("module "+m.Name, crm.CheckWarn, "the module does not exist or the integration user cannot see it: not searched",
				"give the integration user's profile access to "+m.Name+", or remove it from search_modules")
			continue
		}
		s, _, err := c.moduleFields(ctx, m.Name)
		if err != nil {
			add("module "+m.Name, crm.CheckWarn, "settings/fields: "+err.Error(), "grant ZohoCRM.settings.fields.READ")
			left++
			continue
		}
		visible := 0
		for _, f := range m.PhoneFields {
			fi, ok := s.Fields[f]
			switch {
			case !ok || !fi.Readable:
				add(m.Name+"."+f, crm.CheckWarn, "phone field missing or hidden from the integration user: left out of lookups",
					"give the integration user's profile read access to "+m.Name+"."+f+" (Setup → Profiles → Field permissions), or create it as a Phone field")
			case fi.Type != "phone" && fi.Type != "text":
				add(m.Name+"."+f, crm.CheckWarn, "type "+fi.Type+", not a phone field: compared as stored", "use a Phone field")
				visible++
			default:
				add(m.Name+"."+f, crm.CheckOK, fi.Type, "")
				visible++
			}
		}
		if visible == 0 {
			add("module "+m.Name, crm.CheckWarn, "no phone field left: "+m.Name+" is not searched", "give the integration user read access to at least one of "+strings.Join(m.PhoneFields, ", "))
			continue
		}
		left++
		if cf := countryFields[m.Entity]; cf != "" {
			if fi, ok := s.Fields[cf]; ok && fi.Readable {
				add(m.Name+"."+cf, crm.CheckOK, "address country: the phone directory parses "+m.Name+" numbers with the record's own country", "")
			} else {
				add(m.Name+"."+cf, crm.CheckWarn, "address country missing or hidden from the integration user: the phone directory parses "+m.Name+" numbers with default_region",
					"give the integration user's profile read access to "+m.Name+"."+cf+" (Setup → Profiles → Field permissions)")
			}
		}
		for _, f := range c.doctor.RoutingFields[m.Entity] {
			if fi, ok := s.Fields[f]; ok && fi.Readable {
				add(m.Name+"."+f, crm.CheckOK, "routing rule field, "+fi.Type, "")
			} else {
				add(m.Name+"."+f, crm.CheckWarn, "routing rule field missing or hidden: rules on it never match",
					"create "+m.Name+"."+f+" or give the integration user read access to it, or change the routing rule")
			}
		}
	}
	if left == 0 {
		add("lookups", crm.CheckFail, "no search module has a phone field the integration user can see: no caller can be matched",
			"give the integration user's profile read access to the phone fields of Contacts, Accounts or Leads")
	}
	out = append(out, c.doctorUsers(ctx)...)
	return out, ctx.Err()
}

// fieldCheck checks one field of a module against its spec.
func fieldCheck(module string, s crm.Schema, sp fieldSpec) crm.Check {
	ck := crm.Check{Area: "crm", Name: module + "." + sp.name}
	bad := crm.CheckWarn
	effect := "left out of the records callsync writes"
	if sp.required {
		bad, effect = crm.CheckFail, "callsync cannot write calls"
	}
	fi, ok := s.Fields[sp.name]
	switch {
	case !ok || !fi.Readable:
		ck.Status, ck.Detail = bad, "missing or hidden from the integration user: "+effect
		ck.Fix = fmt.Sprintf("create the field %s in %s as %s, or give the integration user's profile access to it", sp.name, module, sp.create)
	case !slices.Contains(sp.types, fi.Type):
		ck.Status, ck.Detail = bad, fmt.Sprintf("type %s, want %s: %s", fi.Type, strings.Join(sp.types, " or "), effect)
		ck.Fix = fmt.Sprintf("recreate %s.%s as %s", module, sp.name, sp.create)
	case !fi.Creatable:
		ck.Status, ck.Detail = bad, "read-only for the integration user: "+effect
		ck.Fix = fmt.Sprintf("give the integration user's profile read and write access to %s.%s", module, sp.name)
	default:
		ck.Status, ck.Detail = crm.CheckOK, fi.Type
		if fi.MaxLength > 0 {
			ck.Detail += ", length " + strconv.Itoa(fi.MaxLength)
		}
	}
	return ck
}

// doctorUsers checks the user id field. DefaultCrmAssignee is checked by
// callsync doctor itself, through Enreach and the user overrides.
func (c *Client) doctorUsers(ctx context.Context) []crm.Check {
	var out []crm.Check
	field := c.cfg.UserIDField
	if field == "" && c.doctor.Users.By == "field" {
		field = c.doctor.Users.Field
	}
	if field != "" {
		n, total, err := c.usersWithField(ctx, field)
		switch {
		case err != nil:
			out = append(out, crm.Check{Area: "crm", Name: "users." + field, Status: crm.CheckFail, Detail: "GET users: " + err.Error(), Fix: "grant the scope ZohoCRM.users.READ"})
		case n == 0:
			out = append(out, crm.Check{Area: "crm", Name: "users." + field, Status: crm.CheckWarn,
				Detail: fmt.Sprintf("none of %d active users has a value in %s: no call gets its agent as owner", total, field),
				Fix:    "create the user field " + field + " (a custom Single Line field such as CCSPID, or an unused standard field such as Fax) and set each agent's Enreach user id in it"})
		default:
			out = append(out, crm.Check{Area: "crm", Name: "users." + field, Status: crm.CheckOK, Detail: fmt.Sprintf("%d of %d active users have a value", n, total)})
		}
	}
	return out
}

// grantReason is the error code of a refused grant, never a secret.
func grantReason(err error) string {
	s := err.Error()
	for _, code := range []string{"invalid_client", "invalid_code", "unsupported_grant_type", "Access Denied"} {
		if strings.Contains(s, code) {
			return code
		}
	}
	var ge *grantError
	if errors.As(err, &ge) {
		return "the grant failed"
	}
	return "no token"
}

// currentUser describes the integration user: GET users?type=CurrentUser.
func (c *Client) currentUser(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, http.MethodGet, "/users", url.Values{"type": {"CurrentUser"}}, nil)
	if err != nil {
		return "", err
	}
	var body struct {
		Users []struct {
			FullName string `json:"full_name"`
			Email    string `json:"email"`
			Status   string `json:"status"`
			Profile  struct {
				Name string `json:"name"`
			} `json:"profile"`
		} `json:"users"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || len(body.Users) == 0 {
		return "", fmt.Errorf("no current user in the answer")
	}
	u := body.Users[0]
	return fmt.Sprintf("%s <%s>, profile %s, %s", u.FullName, u.Email, u.Profile.Name, u.Status), nil
}

// modules returns the API names of the modules the integration user can use
// (GET settings/modules, api_supported).
func (c *Client) modules(ctx context.Context) (map[string]bool, error) {
	resp, err := c.do(ctx, http.MethodGet, "/settings/modules", nil, nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		Modules []struct {
			APIName      string `json:"api_name"`
			APISupported bool   `json:"api_supported"`
		} `json:"modules"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	out := map[string]bool{}
	for _, m := range body.Modules {
		if m.APISupported {
			out[m.APIName] = true
		}
	}
	return out, nil
}

// usersWithField counts the active users with a value in a user field.
func (c *Client) usersWithField(ctx context.Context, field string) (n, total int, err error) {
	for page := 1; ; page++ {
		q := url.Values{"type": {"ActiveUsers"}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(usersPerPage)}}
		resp, err := c.do(ctx, http.MethodGet, "/users", q, nil)
		if err != nil {
			return 0, 0, err
		}
		if resp.status == http.StatusNoContent || len(resp.body) == 0 {
			return n, total, nil
		}
		var body struct {
			Users []map[string]json.RawMessage `json:"users"`
			Info  struct {
				MoreRecords bool `json:"more_records"`
			} `json:"info"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return 0, 0, fmt.Errorf("decode: %w", err)
		}
		for _, u := range body.Users {
			total++
			if strings.TrimSpace(userField(u, field)) != "" {
				n++
			}
		}
		if !body.Info.MoreRecords || len(body.Users) == 0 {
			return n, total, nil
		}
	}
}
