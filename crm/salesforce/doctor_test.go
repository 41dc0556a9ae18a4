package salesforce_test

import (
	"context"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

func doctor(t *testing.T, srv *salesforcetest.Server, cfg salesforce.Config, mod func(*salesforce.Options)) map[string]crm.Check {
	t.Helper()
	opts := testOptions()
	if mod != nil {
		mod(&opts)
	}
	c := newClient(t, cfg, opts)
	before := srv.Log()
	checks, err := c.Doctor(context.Background())
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	for _, r := range srv.Log()[len(before):] {
		if r.Method != "GET" && !(r.Method == "POST" && (strings.HasSuffix(r.Path, "/composite/batch") || strings.HasSuffix(r.Path, "/oauth2/token"))) {
			t.Errorf("doctor wrote: %s %s", r.Method, r.Path)
		}
		for _, b := range r.Batch {
			if !strings.HasPrefix(b, "GET ") {
				t.Errorf("doctor wrote in a batch: %s", b)
			}
		}
	}
	out := map[string]crm.Check{}
	for _, ch := range checks {
		if ch.Area != "crm" || ch.Name == "" {
			t.Errorf("bad check %+v", ch)
		}
		if ch.Status != crm.CheckOK && ch.Fix == "" {
			t.Errorf("%s is %s without a fix", ch.Name, ch.Status)
		}
		if strings.Contains(ch.Detail+ch.Fix, testClientSecret) {
			t.Errorf("%s leaks the secret", ch.Name)
		}
		out[ch.Name] = ch
	}
	return out
}

func wantStatus(t *testing.T, checks map[string]crm.Check, name string, st crm.CheckStatus, detail string) {
	t.Helper()
	ch, ok := checks[name]
	if !ok {
		t.Errorf("no check %q in %v", name, checks)
		return
	}
	if ch.Status != st || !strings.Contains(ch.Detail+" "+ch.Fix, detail) {
		t.Errorf("%s: %s %q (fix %q), want %s with %q", name, ch.Status, ch.Detail, ch.Fix, st, detail)
	}
}

func TestDoctorCompleteOrg(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) {
		c.TaskFields = map[string]salesforcetest.FieldType{
			"Enreach_Number__c": salesforcetest.FieldString, "Enreach_Call_Start__c": salesforcetest.FieldDateTime,
			"Enreach_Audit__c": salesforcetest.FieldTextArea}
	})
	for _, o := range []string{"Contact", "Account"} {
		srv.DefineField(o, extraField, salesforcetest.FieldString)
	}
	cfg := ccConfig(srv)
	cfg.AuditField = "Enreach_Audit__c"
	checks := doctor(t, srv, cfg, func(o *salesforce.Options) {
		o.Doctor = salesforce.DoctorOptions{
			Users:         crm.UserMatch{By: "field", Field: userField},
			RoutingFields: map[crm.Entity][]string{crm.Account: {extraField}},
			Cases:         true,
		}
	})
	for name, ch := range checks {
		if ch.Status != crm.CheckOK {
			t.Errorf("%s: %s %s", name, ch.Status, ch.Detail)
		}
	}
	for _, name := range []string{"salesforce.auth", "salesforce.identity", "salesforce.api", "Task.Enreach_Call_Id__c",
		"Task.standard", "Task.TaskSubtype", "Task.Enreach_Number__c,Enreach_Call_Start__c", "Task.Enreach_Audit__c",
		"Contact.Phone", "Lead.MobilePhone", "User." + userField, "routing.Account." + extraField, "routing.Case"} {
		if _, ok := checks[name]; !ok {
			t.Errorf("no check %q", name)
		}
	}
	wantStatus(t, checks, "salesforce.identity", crm.CheckOK, testUsername)
	wantStatus(t, checks, "Task.Enreach_Audit__c", crm.CheckOK, "32000")
}

func TestDoctorOrgShapes(t *testing.T) {
	tests := []struct {
		name   string
		org    func(*salesforcetest.Config)
		setup  func(*salesforcetest.Server, *salesforce.Config)
		opts   func(*salesforce.Options)
		check  string
		status crm.CheckStatus
		detail string
	}{
		{name: "minimal org", org: func(c *salesforcetest.Config) { c.MinimalOrg = true },
			check: "Task.Enreach_Number__c,Enreach_Call_Start__c", status: crm.CheckWarn, detail: "standard Task fields"},
		{name: "FLS-hidden phone", org: func(c *salesforcetest.Config) { c.HiddenFields = map[string][]string{"Contact": {"MobilePhone"}} },
			check: "Contact.MobilePhone", status: crm.CheckWarn, detail: "field-level security"},
		{name: "no phone left on Lead", org: func(c *salesforcetest.Config) {
			c.HiddenFields = map[string][]string{"Lead": {"Phone", "MobilePhone", "Fax"}}
		}, check: "Lead.phones", status: crm.CheckWarn, detail: "not matched"},
		{name: "no phone anywhere", org: func(c *salesforcetest.Config) {
			c.HiddenFields = map[string][]string{"Lead": {"Phone", "MobilePhone", "Fax"}, "Account": {"Phone", "Fax"},
				"Contact": {"Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone", "Fax"}}
		}, check: "lookup", status: crm.CheckFail, detail: "no phone field"},
		{name: "missing external id", setup: func(_ *salesforcetest.Server, c *salesforce.Config) { c.ExternalIDField = "Call_Key__c" },
			check: "Task.Call_Key__c", status: crm.CheckFail, detail: "External ID"},
		{name: "wrong type", org: func(c *salesforcetest.Config) {
			c.TaskFields = map[string]salesforcetest.FieldType{"Enreach_Number__c": salesforcetest.FieldInt, "Enreach_Call_Start__c": salesforcetest.FieldDate}
		}, check: "Task.Enreach_Number__c,Enreach_Call_Start__c", status: crm.CheckWarn, detail: "has type int"},
		{name: "audit field missing", setup: func(_ *salesforcetest.Server, c *salesforce.Config) { c.AuditField = "Enreach_Audit__c" },
			check: "Task.Enreach_Audit__c", status: crm.CheckWarn, detail: "Long Text Area"},
		{name: "bad secret", setup: func(_ *salesforcetest.Server, c *salesforce.Config) { c.ClientSecret = "wrong" },
			check: "salesforce.auth", status: crm.CheckFail, detail: "client_secret"},
		{name: "bad password", setup: func(_ *salesforcetest.Server, c *salesforce.Config) {
			c.Grant, c.Username, c.Password, c.SecurityToken = "password", testUsername, "nope", ""
		}, check: "salesforce.auth", status: crm.CheckFail, detail: "invalid_grant"},
		{name: "no API access", org: func(c *salesforcetest.Config) { c.NoAPIAccess = true },
			check: "salesforce.api", status: crm.CheckFail, detail: "API Enabled"},
		{name: "user field missing", opts: func(o *salesforce.Options) { o.Doctor.Users = crm.UserMatch{By: "field", Field: "Agent_Id__c"} },
			check: "User.Agent_Id__c", status: crm.CheckFail, detail: "create the User field"},
		{name: "address country hidden", org: func(c *salesforcetest.Config) { c.HiddenFields = map[string][]string{"Contact": {"MailingCountry"}} },
			check: "Contact.MailingCountry", status: crm.CheckWarn, detail: "default_region"},
		{name: "routing field hidden", org: func(c *salesforcetest.Config) { c.HiddenFields = map[string][]string{"Account": {"Industry"}} },
			opts: func(o *salesforce.Options) {
				o.Doctor.RoutingFields = map[crm.Entity][]string{crm.Account: {"Industry"}}
			},
			check: "routing.Account.Industry", status: crm.CheckWarn, detail: "never hold"},
		{name: "case fields hidden", org: func(c *salesforcetest.Config) { c.HiddenFields = map[string][]string{"Case": {"Priority"}} },
			opts:  func(o *salesforce.Options) { o.Doctor.Cases = true },
			check: "routing.Case", status: crm.CheckWarn, detail: "Priority"},
		{name: "TaskSubtype not creatable", org: func(c *salesforcetest.Config) { c.TaskSubtypeNotCreateable = true },
			check: "Task.TaskSubtype", status: crm.CheckWarn, detail: "without TaskSubtype"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*salesforcetest.Config)
			if tt.org != nil {
				mods = append(mods, tt.org)
			}
			srv := newOrg(t, mods...)
			cfg := ccConfig(srv)
			if tt.setup != nil {
				tt.setup(srv, &cfg)
			}
			checks := doctor(t, srv, cfg, tt.opts)
			wantStatus(t, checks, tt.check, tt.status, tt.detail)
			if got := crm.WorstStatus(mapValues(checks)); got == crm.CheckOK {
				t.Errorf("worst status ok")
			}
		})
	}
}

func mapValues(m map[string]crm.Check) []crm.Check {
	var out []crm.Check
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
