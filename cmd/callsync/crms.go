package main

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/routing"
)

// crmType is what the commands need of one crm.type. Each client package
// owns its configuration type, its validation and its constructor; an entry
// maps the tenant's YAML block (config.CRM) to them. Adding a CRM is its
// client package plus one entry in crmTypes.
type crmType struct {
	// validate checks the tenant's crm.<type> block with the client's own
	// Validate; its errors name keys below the block (crm.OptionErrors).
	validate func(c *config.CRM) error
	// summary lists the block's settings for `callsync config check`,
	// secrets redacted.
	summary func(c *config.CRM) [][2]string
	// new builds the tenant's client. It does not contact the CRM.
	new func(tc config.Tenant, env crmEnv) (crm.Client, error)
	// sandbox starts the double `callsync sandbox --crm <type>` runs against.
	sandbox func() sandboxCRM
	// link is where a person opens a written activity in the CRM's UI.
	link func(c *config.CRM, id string) string
}

// crmEnv is what a client gets from the process beyond its configuration.
type crmEnv struct {
	log  *slog.Logger
	http httpclient.Options
	// onRequest is told about every request the client sends, with the
	// API quota left when the CRM says (the one metrics path for all CRMs).
	onRequest crm.RequestHook
}

// crmTypes is the registry of CRM types, by crm.type.
var crmTypes = map[string]crmType{
	config.CRMDynamics: {
		validate: func(c *config.CRM) error { return dynamicsConfig(c.Dynamics).Validate() },
		summary:  dynamicsSummary,
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return dynamics.New(dynamicsConfig(tc.CRM.Dynamics), dynamics.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest, Org: dynamicsNeeds(tc)})
		},
		sandbox: newDynamicsSandbox,
		// https://learn.microsoft.com/en-us/power-apps/developer/model-driven-apps/open-forms-views-dialogs-reports-url
		link: func(c *config.CRM, id string) string {
			return c.Dynamics.URL + "/main.aspx?pagetype=entityrecord&etn=phonecall&id=" + id
		},
	},
	config.CRMSalesforce: {
		validate: func(c *config.CRM) error { return salesforceConfig(c.Salesforce).Validate() },
		summary:  salesforceSummary,
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return salesforce.New(salesforceConfig(tc.CRM.Salesforce), salesforce.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest,
				Doctor: salesforce.DoctorOptions{
					Users:         crm.UserMatch{By: tc.CRM.Users.Match, Field: tc.CRM.Users.Field},
					RoutingFields: routing.Fields(tc.Routing.Rules),
					Cases:         routing.UsesCases(tc.Routing.Rules),
				}})
		},
		sandbox: newSalesforceSandbox,
		// https://developer.salesforce.com/docs/platform/lwc/guide/reference-page-reference-type.html (standard__recordPage: /lightning/r/{object}/{id}/view)
		link: func(c *config.CRM, id string) string {
			return c.Salesforce.LoginURL + "/lightning/r/Task/" + id + "/view"
		},
	},
	config.CRMZoho: {
		validate: func(c *config.CRM) error { return zohoConfig(c.Zoho).Validate() },
		summary:  zohoSummary,
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return zoho.New(zohoConfig(tc.CRM.Zoho), zoho.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest,
				Doctor: zoho.DoctorOptions{
					Users:         crm.UserMatch{By: tc.CRM.Users.Match, Field: tc.CRM.Users.Field},
					RoutingFields: routing.Fields(tc.Routing.Rules),
				}})
		},
		sandbox: newZohoSandbox,
		// The CRM web UI lives at crm.<data centre domain>, e.g. crm.zoho.eu
		// for accounts.zoho.eu.
		link: func(c *config.CRM, id string) string {
			return strings.Replace(c.Zoho.AccountsURL, "://accounts.", "://crm.", 1) + "/crm/tab/Calls/" + id
		},
	},
}

// configTypes is the registry as the config package needs it: each type's
// validation and summary.
func configTypes() config.CRMTypes {
	out := make(config.CRMTypes, len(crmTypes))
	for name, t := range crmTypes {
		out[name] = config.CRMType{Validate: t.validate, Summary: t.summary}
	}
	return out
}

// crmTypeNames lists the registered types, sorted.
func crmTypeNames() []string {
	names := make([]string, 0, len(crmTypes))
	for n := range crmTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func dynamicsConfig(d config.Dynamics) dynamics.Config {
	return dynamics.Config{
		URL: d.URL, AuthorityURL: d.AuthorityURL, TenantID: d.TenantID, ClientID: d.ClientID,
		ClientSecret: d.ClientSecret.Value(), PhoneFields: d.PhoneFields,
		BatchSize: d.BatchSize, Concurrency: d.Concurrency, AuditField: d.AuditField,
	}
}

func salesforceConfig(s config.Salesforce) salesforce.Config {
	return salesforce.Config{
		LoginURL: s.LoginURL, Grant: s.Grant, ClientID: s.ClientID, ClientSecret: s.ClientSecret.Value(),
		Username: s.Username, Password: s.Password.Value(), SecurityToken: s.SecurityToken.Value(),
		PrivateKeyFile: s.PrivateKeyFile, APIVersion: s.APIVersion, ExternalIDField: s.ExternalIDField,
		NumberField: s.NumberField, StartField: s.StartField, AuditField: s.AuditField,
	}
}

func zohoConfig(z config.Zoho) zoho.Config {
	return zoho.Config{
		AccountsURL: z.AccountsURL, APIDomain: z.APIDomain, ClientID: z.ClientID,
		ClientSecret: z.ClientSecret.Value(), RefreshToken: z.RefreshToken.Value(),
		Module: z.Module, RecordIncoming: z.RecordIncoming, RecordOutgoing: z.RecordOutgoing,
		UserIDField: z.UserIDField, NumberCleanupRegexp: z.NumberCleanupRegexp,
		SearchModules: z.SearchModules, CallIDField: z.CallIDField,
		AuditField: z.AuditField, SubjectTimeZone: z.SubjectTimeZone,
	}
}

// secretText shows whether a secret is set, never its value.
func secretText(v config.Secret) string {
	if v.IsSet() {
		return v.String()
	}
	return "(not set)"
}

func orText(v, empty string) string {
	if v == "" {
		return empty
	}
	return v
}

func dynamicsSummary(c *config.CRM) [][2]string {
	d := c.Dynamics
	out := [][2]string{
		{"url", d.URL},
		{"authority_url", d.AuthorityURL},
		{"tenant_id", d.TenantID},
		{"client_id", d.ClientID},
		{"client_secret", secretText(d.ClientSecret)},
	}
	entities := make([]string, 0, len(d.PhoneFields))
	for e := range d.PhoneFields {
		entities = append(entities, e)
	}
	slices.Sort(entities)
	for _, e := range entities {
		out = append(out, [2]string{"phone_fields." + e, strings.Join(d.PhoneFields[e], ", ")})
	}
	return append(out,
		[2]string{"batch_size", strconv.Itoa(d.BatchSize)},
		[2]string{"concurrency", strconv.Itoa(d.Concurrency)},
		[2]string{"audit_field", orText(d.AuditField, "(none)")},
	)
}

func salesforceSummary(c *config.CRM) [][2]string {
	sf := c.Salesforce
	out := [][2]string{
		{"login_url", sf.LoginURL},
		{"grant", sf.Grant},
		{"client_id", sf.ClientID},
		{"client_secret", secretText(sf.ClientSecret)},
	}
	switch sf.Grant {
	case salesforce.GrantJWT:
		out = append(out, [2]string{"username", sf.Username}, [2]string{"private_key_file", sf.PrivateKeyFile})
	case salesforce.GrantPassword:
		out = append(out, [2]string{"username", sf.Username}, [2]string{"password", secretText(sf.Password)},
			[2]string{"security_token", secretText(sf.SecurityToken)})
	}
	return append(out, [2]string{"api_version", sf.APIVersion}, [2]string{"external_id_field", sf.ExternalIDField})
}

func zohoSummary(c *config.CRM) [][2]string {
	z := c.Zoho
	return [][2]string{
		{"accounts_url", z.AccountsURL},
		{"api_domain", orText(z.APIDomain, "(from token response)")},
		{"client_id", z.ClientID},
		{"client_secret", secretText(z.ClientSecret)},
		{"refresh_token", secretText(z.RefreshToken)},
		{"module", orText(z.Module, "(recording off)")},
		{"record_incoming", strconv.FormatBool(z.RecordIncoming)},
		{"record_outgoing", strconv.FormatBool(z.RecordOutgoing)},
		{"user_id_field", orText(z.UserIDField, "(users matched as crm.users says)")},
		{"number_cleanup_regexp", orText(z.NumberCleanupRegexp, "(none)")},
		{"search_modules", strings.Join(z.SearchModules, ", ")},
		{"call_id_field", orText(z.CallIDField, "(Description only)")},
	}
}
