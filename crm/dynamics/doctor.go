package dynamics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/callsync/callsync/crm"
)

// Doctor implements crm.Doctor: a read-only check of the org for everything
// this client and the tenant's configuration (Options.Org) rely on. It sends
// a token request, GET WhoAmI, one $batch of table definitions and one $batch
// of reads (the user, its privileges, one row of each table, the callback
// queues), plus one systemuser read when default_crm_assignee is mapped by
// users.overrides. It writes nothing.
func (c *Client) Doctor(ctx context.Context) ([]crm.Check, error) {
	needs := c.orgNeeds()
	var out []crm.Check
	add := func(st crm.CheckStatus, name, detail, fix string) {
		out = append(out, crm.Check{Area: "crm", Name: name, Status: st, Detail: detail, Fix: fix})
	}

	// Authentication: the client credentials grant
	// (https://learn.microsoft.com/power-apps/developer/data-platform/authenticate-oauth).
	if _, err := c.tokens.Token(); err != nil {
		// An answer from the token endpoint (oauth2.RetrieveError) refused
		// the grant; any other error means no answer came (DNS, connection,
		// TLS, timeout), and the credentials were never judged.
		if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) {
			add(crm.CheckFail, "auth", "could not reach the Entra ID token endpoint: "+tokenReason(err),
				"check authority_url (default https://login.microsoftonline.com) and tenant_id, and that this host reaches it (DNS, firewall, proxy)")
			return out, nil
		}
		add(crm.CheckFail, "auth", "Entra ID refused the client credentials: "+tokenReason(err),
			"check tenant_id, client_id and client_secret of the app registration (Entra ID > App registrations > Certificates & secrets: use the secret's Value, not its Secret ID, and check it has not expired)")
		return out, nil
	}
	add(crm.CheckOK, "auth", "Entra ID issued a token for "+c.org, "")

	// Identity: WhoAmI returns the application user's systemuserid.
	status, _, body, err := c.send(ctx, "doctor", http.MethodGet, c.api+"/WhoAmI", nil, nil, 1)
	if err != nil {
		return out, fmt.Errorf("dynamics: doctor: WhoAmI: %w", err)
	}
	var who struct{ UserId string }
	if status != http.StatusOK || json.Unmarshal(body, &who) != nil || who.UserId == "" {
		add(crm.CheckFail, "identity", "WhoAmI failed: "+parseError(status, body).Error(),
			"add the app registration as an application user of this environment (Power Platform admin center > Environments > Settings > Users + permissions > Application users) with a security role")
		return out, nil
	}

	s := c.schema(ctx, true)
	if s == nil {
		add(crm.CheckFail, "table definitions", "the table definitions (EntityDefinitions) could not be read; see the log",
			"check that the org URL is the environment's Web API URL and the application user is enabled")
		return out, nil
	}
	for _, t := range schemaTables {
		if err := s.errs[t]; err != nil {
			add(crm.CheckWarn, "table "+t, "its definition could not be read: "+err.Error(), "")
		}
	}

	// One $batch of reads.
	type read struct {
		name string
		url  string
	}
	reads := []read{
		{"user", c.api + "/systemusers(" + who.UserId + ")?$select=fullname,isdisabled,applicationid"},
		{"privileges", c.api + "/systemusers(" + who.UserId + ")/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"},
	}
	probeTables := map[string]string{"contact": "contacts", "account": "accounts", "lead": "leads", "systemuser": userSet}
	for _, t := range []string{"contact", "account", "lead", "systemuser"} {
		if _, ok := s.tables[t]; !ok {
			continue
		}
		key := t + "id"
		reads = append(reads, read{"read " + t, c.api + "/" + probeTables[t] + "?$select=" + key + "&$top=1"})
	}
	var queueIDs []string
	for _, id := range needs.CallbackQueues {
		if _, err := uuid.Parse(id); err == nil && !slices.Contains(queueIDs, strings.ToLower(id)) {
			queueIDs = append(queueIDs, strings.ToLower(id))
		}
	}
	sort.Strings(queueIDs)
	if len(queueIDs) > 0 {
		reads = append(reads, read{"queues", queryURL(c.api, queueSet, []string{queueIDColumn, "name", "statecode"}, idFilter(queueIDColumn, queueIDs))})
	}
	parts := make([]part, len(reads))
	for i, r := range reads {
		parts[i] = part{single: &op{method: http.MethodGet, url: r.url, header: [][2]string{{"Accept", "application/json"}}}}
	}
	res, err := c.batch(ctx, "doctor", parts)
	if err != nil {
		return out, fmt.Errorf("dynamics: doctor: %w", err)
	}
	if len(res) != len(parts) {
		return out, fmt.Errorf("dynamics: doctor: $batch answered %d of %d requests", len(res), len(parts))
	}
	answer := map[string]opResponse{}
	for i, r := range reads {
		answer[r.name] = res[i][len(res[i])-1]
	}

	// Identity.
	if a := answer["user"]; a.status == http.StatusOK {
		var u struct {
			FullName   string `json:"fullname"`
			IsDisabled bool   `json:"isdisabled"`
		}
		json.Unmarshal(a.body, &u)
		if u.IsDisabled {
			add(crm.CheckFail, "identity", fmt.Sprintf("the application user %q (%s) is disabled", u.FullName, who.UserId), "enable the application user in the Power Platform admin center")
		} else {
			add(crm.CheckOK, "identity", fmt.Sprintf("application user %q (%s)", u.FullName, who.UserId), "")
		}
	} else {
		add(crm.CheckWarn, "identity", fmt.Sprintf("WhoAmI says %s, but its systemuser cannot be read: %v", who.UserId, parseError(a.status, a.body)), "give the security role Read on User")
	}

	// Reads of each table.
	for _, r := range reads {
		t, ok := strings.CutPrefix(r.name, "read ")
		if !ok {
			continue
		}
		if a := answer[r.name]; a.status != http.StatusOK {
			st := crm.CheckFail
			if t == "lead" {
				st = crm.CheckWarn
			}
			add(st, "read "+t, "reading "+t+" rows failed: "+parseError(a.status, a.body).Error(),
				fmt.Sprintf("give the application user's security role Read (Organization) on %s", tableTitle(t)))
		}
	}

	c.privilegeChecks(s, needs, answer["privileges"], add)
	c.columnChecks(s, needs, add)

	// Callback queues: exist and active (queue statecode 0 Active, 1
	// Inactive [Finding users and queues]).
	if len(needs.CallbackQueues) > 0 {
		found := map[string][2]string{} // id -> name, statecode
		if a := answer["queues"]; a.status == http.StatusOK {
			if p, err := decodePage(a.body); err == nil {
				for _, r := range p.Value {
					found[strings.ToLower(r.str(queueIDColumn))] = [2]string{r.str("name"), r.str("statecode")}
				}
			}
		}
		var profiles []string
		for p := range needs.CallbackQueues {
			profiles = append(profiles, p)
		}
		sort.Strings(profiles)
		for _, p := range profiles {
			id := strings.ToLower(needs.CallbackQueues[p])
			name := "queue of profile " + p
			q, ok := found[id]
			switch {
			case id == "":
				add(crm.CheckFail, name, "the profile has no queue; Dynamics callback requests are added to a queue", "set callbacks.profiles[].queue to the queueid of a Dynamics queue")
			case answer["queues"].status != http.StatusOK:
				add(crm.CheckFail, name, "queues cannot be read: "+parseError(answer["queues"].status, answer["queues"].body).Error(), "give the security role Read on Queue")
			case !ok:
				add(crm.CheckFail, name, fmt.Sprintf("queue %s does not exist (or the user cannot see it)", id), "set callbacks.profiles[].queue to the queueid of an existing queue (Settings > Service Management > Queues)")
			case q[1] != "0":
				add(crm.CheckFail, name, fmt.Sprintf("queue %q (%s) is inactive", q[0], id), "activate the queue, or point the profile at an active one")
			default:
				add(crm.CheckOK, name, fmt.Sprintf("queue %q (%s) is active", q[0], id), "")
			}
		}
	}

	// default_crm_assignee mapped by users.overrides straight to a
	// systemuserid: that user exists and is enabled. (Mapped through
	// Enreach, it is checked by callsync doctor itself.)
	if id := needs.DefaultAssignee; id != "" {
		for k, v := range needs.UserOverrides {
			if strings.EqualFold(k, id) {
				st, detail := c.userActive(ctx, v)
				add(st, "default_crm_assignee user", detail, "set crm.users.overrides for the default assignee to the systemuserid of an enabled user")
			}
		}
	}

	if c.QueuePartyRefused() {
		add(crm.CheckWarn, "queue party", "the org refused a queue as the \"to\" party of a phone call: callback requests name their queue in the description instead",
			"none needed; a queue is a valid activity party target in Dataverse, so check for a plug-in or customization that rejects it")
	}
	return out, nil
}

// userActive checks one systemuser by id.
func (c *Client) userActive(ctx context.Context, id string) (crm.CheckStatus, string) {
	if _, err := uuid.Parse(id); err != nil {
		return crm.CheckFail, fmt.Sprintf("%q is not a systemuserid", id)
	}
	status, _, body, err := c.send(ctx, "doctor", http.MethodGet, c.api+"/"+userSet+"("+id+")?$select=fullname,isdisabled", nil, nil, 1)
	if err != nil {
		return crm.CheckFail, err.Error()
	}
	if status != http.StatusOK {
		return crm.CheckFail, fmt.Sprintf("systemuser %s: %v", id, parseError(status, body))
	}
	var u struct {
		FullName   string `json:"fullname"`
		IsDisabled bool   `json:"isdisabled"`
	}
	json.Unmarshal(body, &u)
	if u.IsDisabled {
		return crm.CheckFail, fmt.Sprintf("CRM user %q (%s) is disabled", u.FullName, id)
	}
	return crm.CheckOK, fmt.Sprintf("CRM user %q (%s)", u.FullName, id)
}

// privilegeChecks compares the application user's privileges
// (RetrieveUserPrivileges: RolePrivileges[].PrivilegeName and Depth,
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrieveuserprivileges)
// with what callsync does. Every activity table, phonecall included, shares
// the Activity privileges (prvCreateActivity, prvWriteActivity, ...).
func (c *Client) privilegeChecks(s *orgSchema, org OrgNeeds, a opResponse, add func(crm.CheckStatus, string, string, string)) {
	if a.status != http.StatusOK {
		add(crm.CheckWarn, "privileges", "the user's privileges cannot be read ("+parseError(a.status, a.body).Error()+"); checked by the reads above only", "")
		return
	}
	var r struct {
		RolePrivileges []struct {
			PrivilegeName string
			Depth         string
		}
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		add(crm.CheckWarn, "privileges", "RetrieveUserPrivileges answered something unexpected", "")
		return
	}
	have := map[string]string{}
	for _, p := range r.RolePrivileges {
		have[strings.ToLower(p.PrivilegeName)] = p.Depth
	}
	type need struct {
		prv, why string
		st       crm.CheckStatus
		global   bool // depth must be Global (Organization) to see every record
	}
	needs := []need{
		{"prvCreateActivity", "create phone calls", crm.CheckFail, false},
		{"prvWriteActivity", "complete phone calls", crm.CheckFail, false},
		{"prvReadActivity", "find phone calls already logged", crm.CheckFail, false},
		{"prvAppendActivity", "link phone calls to customers and users", crm.CheckFail, false},
		{"prvAssignActivity", "make an agent the owner of a phone call", crm.CheckWarn, false},
		{"prvReadUser", "map Enreach users to users", crm.CheckFail, true},
	}
	for _, e := range crm.Entities {
		t := string(e)
		if len(c.phoneFields[e]) == 0 || !s.hasTable(t) {
			continue
		}
		st := crm.CheckFail
		if e == crm.Lead {
			st = crm.CheckWarn
		}
		title := strings.ToUpper(t[:1]) + t[1:]
		needs = append(needs,
			need{"prvRead" + title, "find callers among " + t + "s", st, true},
			need{"prvAppendTo" + title, "link phone calls to " + t + "s", st, false})
	}
	if len(org.CallbackQueues) > 0 {
		needs = append(needs, need{"prvReadQueue", "find the callback queues", crm.CheckFail, true},
			need{"prvAppendToQueue", "add callback requests to queues", crm.CheckFail, false})
	}
	missing := 0
	for _, n := range needs {
		depth, ok := have[strings.ToLower(n.prv)]
		switch {
		case !ok:
			missing++
			add(n.st, "privilege "+n.prv, "the application user cannot "+n.why,
				fmt.Sprintf("add %s (Organization) to the application user's security role", n.prv))
		case n.global && depth != "" && depth != "Global":
			missing++
			add(crm.CheckWarn, "privilege "+n.prv, fmt.Sprintf("depth %s: the application user sees only some records, so callers outside it are not found", depth),
				fmt.Sprintf("raise %s to Organization in the application user's security role", n.prv))
		}
	}
	if missing == 0 {
		add(crm.CheckOK, "privileges", fmt.Sprintf("the security role grants the %d privileges callsync uses", len(needs)), "")
	}
}

// phoneCallColumns are the phonecall columns every write sets
// [Writing a completed phone-call activity].
var phoneCallColumns = []string{"subject", "phonenumber", "description", "directioncode", "actualstart", "actualend", "actualdurationminutes", "scheduledend"}

// columnChecks reports every column callsync reads or writes.
func (c *Client) columnChecks(s *orgSchema, needs OrgNeeds, add func(crm.CheckStatus, string, string, string)) {
	phones, _ := c.searchColumns(s, nil)
	searched := 0
	for _, e := range crm.Entities {
		t := string(e)
		configured := c.phoneFields[e]
		if len(configured) == 0 {
			continue
		}
		if !s.hasTable(t) {
			add(crm.CheckWarn, t, fmt.Sprintf("the org has no %s table (lead comes with Dynamics 365 Sales): %ss are not searched", t, t),
				fmt.Sprintf("set crm.dynamics.phone_fields.%s: [] to say so, or install the app that brings the table", t))
			continue
		}
		for _, f := range configured {
			name := t + "." + f
			fi, _ := s.column(t, f)
			switch p := s.readProblem(t, f); {
			case p != "" && !strings.Contains(p, "does not exist"):
				add(crm.CheckWarn, name, p+"; dropped from lookups",
					fmt.Sprintf("add the callsync application user to a field security profile with Read on %s (or remove column security from it), or remove it from crm.dynamics.phone_fields.%s", name, t))
			case p != "":
				add(crm.CheckWarn, name, p+"; dropped from lookups",
					fmt.Sprintf("remove %s from crm.dynamics.phone_fields.%s, or create it (Single line of text, Phone format)", f, t))
			case fi.Type != "String":
				add(crm.CheckWarn, name, fmt.Sprintf("%s is %s, not a text column; it is searched as it is", name, fi.Type),
					fmt.Sprintf("use a text (Phone) column in crm.dynamics.phone_fields.%s", t))
			case s.secured[t][f] != "":
				add(crm.CheckOK, name, "text column, secured; a field security profile gives the callsync user Read on it", "")
			default:
				add(crm.CheckOK, name, "text column, readable", "")
			}
		}
		if len(phones[e]) == 0 {
			add(crm.CheckWarn, t, fmt.Sprintf("no configured phone column of %s is usable: %ss are not searched", t, t),
				fmt.Sprintf("configure crm.dynamics.phone_fields.%s with existing, readable phone columns", t))
		} else {
			searched++
			if p := s.readProblem(t, countryColumn); p != "" {
				add(crm.CheckWarn, t+"."+countryColumn, p+": the phone directory parses "+t+" numbers with default_region",
					fmt.Sprintf("give the callsync application user Read on %s.%s (field security profile)", t, countryColumn))
			} else {
				add(crm.CheckOK, t+"."+countryColumn, "address country: the phone directory parses "+t+" numbers with the record's own country", "")
			}
		}
	}
	if searched == 0 && slices.ContainsFunc(crm.Entities, func(e crm.Entity) bool { return len(c.phoneFields[e]) > 0 }) {
		add(crm.CheckFail, "phone lookup", "no phone column of contact, account or lead can be searched: no call can be linked to a customer",
			"configure crm.dynamics.phone_fields with existing, readable phone columns (contact telephone1, mobilephone, ...)")
	}

	// Smart Routing rule columns.
	for _, e := range crm.Entities {
		for _, f := range needs.RoutingFields[e] {
			name := string(e) + "." + f
			if p := s.readProblem(string(e), f); p != "" {
				add(crm.CheckWarn, name, p+"; Smart Routing rules on it never match", "fix routing.rules[].when.field, or create the column")
			} else {
				add(crm.CheckOK, name, "routing rule column, readable", "")
			}
		}
	}

	// The user mapping column.
	if m := needs.UserMatch; m.By == "field" && m.Field != "" {
		col := strings.ToLower(m.Field)
		name := "systemuser." + col
		fi, _ := s.column("systemuser", col)
		switch p := s.readProblem("systemuser", col); {
		case p != "":
			add(crm.CheckFail, name, p+"; Enreach users cannot be mapped to users",
				fmt.Sprintf("create a Single line of text column %s on User holding each user's Enreach user id, or fix users.field", col))
		case fi.Type != "String":
			add(crm.CheckFail, name, fmt.Sprintf("%s is %s; callsync compares it with the Enreach user id as text", name, fi.Type), "use a Single line of text column")
		default:
			add(crm.CheckOK, name, "user mapping column, readable", "")
		}
	}

	// phonecall columns every write sets.
	if _, ok := s.tables["phonecall"]; ok {
		var bad []string
		for _, col := range phoneCallColumns {
			if f, ok := s.column("phonecall", col); !ok || !f.Creatable {
				bad = append(bad, col)
			}
		}
		if len(bad) > 0 {
			add(crm.CheckFail, "phonecall", "columns missing or not valid for create: "+strings.Join(bad, ", "), "restore the standard Phone Call columns")
		} else {
			add(crm.CheckOK, "phonecall", "the columns callsync writes are valid for create", "")
		}
	} else if _, unknown := s.errs["phonecall"]; !unknown {
		add(crm.CheckFail, "phonecall", "the org has no phonecall table", "")
	}

	// The audit column (EnableAudit).
	if c.auditField != "" {
		name := "phonecall." + c.auditField
		if p := auditProblem(s, c.auditField); p != "" {
			add(crm.CheckWarn, name, p+"; the audit JSON is not written",
				fmt.Sprintf("create a Multiple lines of text column %s on Phone Call (maximum length up to 1,048,576), or fix crm.dynamics.audit_field", c.auditField))
		} else {
			f, _ := s.column("phonecall", c.auditField)
			detail := fmt.Sprintf("%s column, up to %d characters", f.Type, f.MaxLength)
			add(crm.CheckOK, name, detail, "")
		}
	}
}

func tableTitle(t string) string {
	if t == "systemuser" {
		return "User"
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// tokenReason is why Entra ID refused the token request, without secrets:
// the OAuth error code and description, or the transport error.
func tokenReason(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		desc := re.ErrorDescription
		if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
			desc = desc[:i]
		}
		if re.ErrorCode != "" {
			return fmt.Sprintf("%s: %s (HTTP %d)", re.ErrorCode, desc, re.Response.StatusCode)
		}
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
