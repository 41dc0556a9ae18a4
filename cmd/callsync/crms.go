package main

import (
	"log/slog"
	"slices"
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
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return salesforce.New(salesforceConfig(tc.CRM.Salesforce), salesforce.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest,
				NumberField: tc.CRM.Salesforce.NumberField, StartField: tc.CRM.Salesforce.StartField,
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
