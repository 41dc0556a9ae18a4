package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/httpclient"
)

// DoctorOptions name what Doctor checks beyond the client's own fields.
type DoctorOptions struct {
	// Users is how Enreach users map to Salesforce users: with By "field"
	// the User field must exist and be filterable.
	Users crm.UserMatch
	// RoutingFields are the fields Smart Routing rules compare, per entity.
	RoutingFields map[crm.Entity][]string
	// Cases is set when Smart Routing rules test the caller's open Cases.
	Cases bool
}

// Error codes of the API access checks: a user without the "API Enabled"
// permission (or an org without API access) gets 403 API_DISABLED_FOR_ORG
// "The REST API is not enabled for this Organization."
// (https://docs.sequin.io/integrations/salesforce/playbooks/enable-salesforce-api);
// API_CURRENTLY_DISABLED is the per-user variant seen in the field.
var apiDisabledCodes = []string{"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"}

const area = "crm"

// Doctor checks the org before callsync writes to it, reading only: the
// token, the integration user's identity (the id URL of the token
// response), API access, and through sObject Describe every field callsync
// reads or writes: existence (a field hidden by field-level security is
// absent from describe), type, and whether the user may create / update it.
// The DefaultCrmAssignee is checked by callsync doctor itself (through
// Enreach and Users).
// What it describes is kept, so the sync adapts to it at once.
func (c *Client) Doctor(ctx context.Context) ([]crm.Check, error) {
	var out []crm.Check
	add := func(name string, st crm.CheckStatus, detail, fix string) {
		out = append(out, crm.Check{Area: area, Name: name, Status: st, Detail: detail, Fix: fix})
	}

	// 1. Authentication.
	tok, err := c.tokens.Token()
	if err != nil {
		add("salesforce.auth", crm.CheckFail, "token request refused: "+err.Error(), authFix(err.Error()))
		return out, nil
	}
	add("salesforce.auth", crm.CheckOK, "token issued by "+instanceURL(tok), "")

	// 2. Identity of the integration user.
	if idURL, _ := tok.Extra("id").(string); idURL != "" {
		var who struct {
			UserID   string `json:"user_id"`
			Username string `json:"username"`
			Active   *bool  `json:"active"`
		}
		if err := c.getAbsolute(ctx, idURL, &who); err != nil {
			add("salesforce.identity", crm.CheckWarn, "identity URL not readable: "+err.Error(),
				"give the connected app the \"id\" (or openid) scope to see which user callsync runs as")
		} else if who.Active != nil && !*who.Active {
			add("salesforce.identity", crm.CheckFail, fmt.Sprintf("runs as %s (%s), which is inactive", who.Username, who.UserID),
				"activate the integration user, or set another Run As user on the connected app")
		} else {
			add("salesforce.identity", crm.CheckOK, fmt.Sprintf("runs as %s (%s)", who.Username, who.UserID), "")
		}
	}

	// 3. API access and the objects' describes.
	objects := slices.Clone(schemaObjects)
	if c.doctor.Users.By == "field" {
		objects = append(objects, userObject)
	}
	if c.doctor.Cases {
		objects = append(objects, caseObject)
	}
	described, err := c.describe(ctx, objects)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && slices.Contains(apiDisabledCodes, ae.Code()) {
			add("salesforce.api", crm.CheckFail, ae.Error(),
				"grant the integration user the \"API Enabled\" permission (profile or permission set); the org's edition must include API access")
			return out, nil
		}
		return out, fmt.Errorf("salesforce: doctor: %w", err)
	}
	add("salesforce.api", crm.CheckOK, "describe of "+strings.Join(objects, ", "), "")
	sync := map[string]sobjectSchema{}
	for _, o := range schemaObjects {
		sync[o] = described[o]
	}
	c.setSchema(sync)
	ad := c.adapted()
	task := described[taskObject]

	// 4. Task fields.
	ext := c.names.external
	switch f, ok := task.get(ext); {
	case !ok:
		add("Task."+ext, crm.CheckFail, "missing, or hidden from the integration user by field-level security",
			fmt.Sprintf("create the Activity custom field %s (Text 255, External ID, Unique) and make it visible and editable for the integration user", ext))
	case !stringType(f.Type) || !f.Createable || !f.Updateable || !f.ExternalID:
		add("Task."+ext, crm.CheckFail, fmt.Sprintf("type %s, createable %t, updateable %t, external id %t", f.Type, f.Createable, f.Updateable, f.ExternalID),
			fmt.Sprintf("make %s a Text(255) field marked External ID and Unique, editable for the integration user", ext))
	default:
		add("Task."+ext, crm.CheckOK, fmt.Sprintf("%s(%d), external id", f.Type, f.Length), "")
	}
	var missing []string
	for _, name := range []string{fSubject, fStatus, fActivityDate, fCallType, fCallDuration, fCallObject, fCallDisposition,
		fWhoID, fWhatID, fOwnerID, fDescription} {
		if f, ok := task.get(name); !ok || !f.Createable {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		add("Task.standard", crm.CheckFail, "not creatable by the integration user: "+strings.Join(missing, ", "),
			"give the integration user edit access to Tasks and these fields (the Call* fields need Salesforce CRM Call Center)")
	} else {
		add("Task.standard", crm.CheckOK, "Subject, Status, ActivityDate, Call*, WhoId, WhatId, OwnerId, Description creatable", "")
	}
	if f, ok := task.get(fTaskSubtype); !ok || !f.Createable {
		add("Task."+fTaskSubtype, crm.CheckWarn, "not creatable: call Tasks are written without TaskSubtype Call",
			"give the integration user edit access to Task.TaskSubtype")
	} else {
		add("Task."+fTaskSubtype, crm.CheckOK, "creatable", "")
	}
	numName := "Task." + c.names.number + "," + c.names.start
	if ad.custom {
		add(numName, crm.CheckOK, "number and start fields present: call_start_margin filters on them", "")
	} else {
		add(numName, crm.CheckWarn, describeOptional(task, c.names.number, "string")+"; "+describeOptional(task, c.names.start, "datetime")+
			": existing calls (call_start_margin) are found by standard Task fields instead (WhoId/WhatId of the caller's records, "+
			"TaskSubtype Call, CreatedDate minus CallDurationInSeconds)",
			fmt.Sprintf("optional: create Activity custom fields %s (Text 40) and %s (Date/Time), editable for the integration user, for an exact number search",
				c.names.number, c.names.start))
	}
	if c.names.audit != "" {
		if ad.auditLen > 0 {
			add("Task."+c.names.audit, crm.CheckOK, fmt.Sprintf("audit field, %d characters", ad.auditLen), "")
		} else {
			add("Task."+c.names.audit, crm.CheckWarn, describeOptional(task, c.names.audit, "textarea")+": the audit goes to the description only",
				fmt.Sprintf("create the Activity custom field %s (Long Text Area, e.g. 131072) editable for the integration user, or remove audit_field", c.names.audit))
		}
	}

	// 5. Phone fields.
	left := 0
	for _, e := range crm.Entities {
		o := sobjects[e].name
		for _, f := range c.phones[e] {
			d, ok := described[o].get(f)
			switch {
			case !ok:
				add(o+"."+f, crm.CheckWarn, "missing or hidden by field-level security: dropped from caller lookups",
					fmt.Sprintf("give the integration user read access to %s.%s, or remove it from the phone fields", o, f))
			case d.Type != "phone" && !stringType(d.Type):
				add(o+"."+f, crm.CheckWarn, "type "+d.Type+", not a phone field: SOSL phone search does not read it", "use a Phone field")
			default:
				add(o+"."+f, crm.CheckOK, d.Type, "")
			}
		}
		if len(ad.phones[e]) == 0 {
			add(o+".phones", crm.CheckWarn, "no visible phone field: "+o+" records are not matched",
				"give the integration user read access to the "+o+" phone fields")
		} else {
			left++
			if cf := countryFields[e]; cf != "" {
				if _, ok := described[o].get(cf); ok {
					add(o+"."+cf, crm.CheckOK, "address country: the phone directory parses "+o+" numbers with the record's own country", "")
				} else {
					add(o+"."+cf, crm.CheckWarn, "address country missing or hidden by field-level security: the phone directory parses "+o+" numbers with default_region",
						fmt.Sprintf("give the integration user read access to %s.%s", o, cf))
				}
			}
		}
	}
	if left == 0 {
		add("lookup", crm.CheckFail, "no phone field visible on Contact, Account or Lead: no caller can be matched",
			"give the integration user read access to the phone fields of Contact, Account and Lead")
	}

	// 6. User mapping.
	if c.doctor.Users.By == "field" {
		f := c.doctor.Users.Field
		if d, ok := described[userObject].get(f); !ok || !d.Filterable {
			add("User."+f, crm.CheckFail, "missing, hidden or not filterable: Enreach users cannot be mapped to Salesforce users",
				fmt.Sprintf("create the User field %s (Text) holding the Enreach user id and give the integration user read access", f))
		} else {
			add("User."+f, crm.CheckOK, d.Type+", filterable", "")
		}
	}
	// DefaultCrmAssignee: callsync doctor resolves it through Enreach and
	// Users (honouring crm.users.overrides), outside the org check.

	// 7. Smart Routing fields and Cases.
	for _, e := range crm.Entities {
		o := sobjects[e].name
		for _, f := range c.doctor.RoutingFields[e] {
			if _, ok := described[o].get(f); !ok {
				add("routing."+o+"."+f, crm.CheckWarn, "missing or hidden: rules comparing it never hold",
					fmt.Sprintf("give the integration user read access to %s.%s, or fix the rule", o, f))
			} else {
				add("routing."+o+"."+f, crm.CheckOK, "visible", "")
			}
		}
	}
	if c.doctor.Cases {
		var bad []string
		for _, f := range caseFields {
			if d, ok := described[caseObject].get(f); !ok || !d.Filterable {
				bad = append(bad, f)
			}
		}
		if len(bad) > 0 {
			add("routing.Case", crm.CheckWarn, "not visible or not filterable: "+strings.Join(bad, ", ")+": case rules never hold",
				"give the integration user read access to Cases and these fields")
		} else {
			add("routing.Case", crm.CheckOK, strings.Join(caseFields, ", ")+" readable", "")
		}
	}
	return out, nil
}

// describeOptional says what describe shows of an optional field.
func describeOptional(s sobjectSchema, name, want string) string {
	f, ok := s.get(name)
	switch {
	case !ok:
		return name + " missing (or hidden by field-level security)"
	case !f.Createable || !f.Filterable && want != "textarea":
		return name + " not writable or not filterable by the integration user"
	case want == "datetime" && f.Type != "datetime", want != "datetime" && !stringType(f.Type):
		return fmt.Sprintf("%s has type %s, not %s", name, f.Type, want)
	}
	return name + " present"
}

// authFix turns a token error into the fix in words. The OAuth error codes
// are Salesforce's: invalid_client_id / invalid_client (consumer key or
// secret), invalid_grant (user, password, JWT or app approval)
// (https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_flow_errors.htm).
func authFix(msg string) string {
	switch {
	case strings.Contains(msg, "invalid_client"):
		return "check client_id and client_secret against the connected app (External Client App) consumer key and secret"
	case strings.Contains(msg, "invalid_grant"):
		return "check the Run As user of the client credentials flow (or username, password + security token, JWT certificate and pre-approval)"
	case strings.Contains(msg, "unsupported_grant_type"):
		return "enable this OAuth flow on the connected app, or set grant to one it allows"
	}
	return "check login_url (the org's My Domain) and the network path to it"
}

// getAbsolute GETs an absolute URL of the org (the identity URL) with the
// session and decodes the JSON answer.
func (c *Client) getAbsolute(ctx context.Context, u string, out any) error {
	req, err := retryablehttp.NewRequestWithContext(crm.WithOperation(ctx, "GET identity"), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := httpclient.ReadBody(resp.Body, httpclient.LimitMetadata, "salesforce: metadata answer")
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(data, out)
}

var _ crm.Doctor = (*Client)(nil)
