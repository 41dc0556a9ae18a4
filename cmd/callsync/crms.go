package main

import (
	"fmt"
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
// owns its configuration type (with yaml tags), its validation and its
// constructor; an entry connects them to the tenant's crm.<type> block.
// Adding a CRM is its client package plus one entry in crmTypes.
type crmType struct {
	// options returns the client's configuration holding its defaults, as
	// a pointer the config decoder fills from the tenant's crm.<type>
	// block (e.g. *dynamics.Config); the config keeps it in
	// config.CRM.Options.
	options func() any
	// validate checks the options with the client's own Validate; its
	// errors name keys below the block (crm.OptionErrors).
	validate func(opts any) error
	// summary lists the options for `callsync config check`, secrets
	// redacted.
	summary func(opts any) [][2]string
	// new builds the tenant's client. It does not contact the CRM.
	new func(tc config.Tenant, env crmEnv) (crm.Client, error)
	// update, optional, is called when a config reload keeps the tenant's
	// client (its connection settings are unchanged), with the reloaded
	// tenant, so the client also sees the settings new gave it.
	update func(c crm.Client, tc config.Tenant)
	// link is where a person opens a written activity in the CRM's UI.
	link func(opts any, id string) string
	// title is the CRM's name in messages, e.g. "Dynamics".
	title string
	// queuedCallbacks: the client adds each callback request to its
	// profile's queue, so config check requires the queue.
	queuedCallbacks bool
	// cases: the client reads open Cases (crm.CaseFetcher), so Smart
	// Routing rules may test them.
	cases bool
}

// crmEnv is what a client gets from the process beyond its configuration.
type crmEnv struct {
	log  *slog.Logger
	http httpclient.Options
	// onRequest is told about every request the client sends, with the
	// API quota left when the CRM says (the one metrics path for all CRMs).
	onRequest crm.RequestHook
}

// The crm.type values of the clients in crmTypes.
const (
	crmDynamics   = "dynamics"
	crmSalesforce = "salesforce"
	crmZoho       = "zoho"
)

// crmTypes is the registry of CRM types, by crm.type.
var crmTypes = map[string]crmType{
	crmDynamics: {
		title: "Dynamics", queuedCallbacks: true,
		options: func() any {
			c := dynamics.DefaultConfig()
			return &c
		},
		validate: validateAs[dynamics.Config],
		summary:  func(o any) [][2]string { return dynamicsSummary(optionsAs[dynamics.Config](o)) },
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return dynamics.New(optionsOf[dynamics.Config](tc.CRM), dynamics.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest, Org: dynamicsNeeds(tc)})
		},
		// Doctor checks what the tenant asks of the org (callback queues,
		// default assignee, ...), which a reload may change.
		update: func(c crm.Client, tc config.Tenant) {
			if d, ok := c.(*dynamics.Client); ok {
				d.SetOrgNeeds(dynamicsNeeds(tc))
			}
		},
		// https://learn.microsoft.com/en-us/power-apps/developer/model-driven-apps/open-forms-views-dialogs-reports-url
		link: func(o any, id string) string {
			return trimURL(optionsAs[dynamics.Config](o).URL) + "/main.aspx?pagetype=entityrecord&etn=phonecall&id=" + id
		},
	},
	crmSalesforce: {
		title: "Salesforce", cases: true,
		options: func() any {
			c := salesforce.DefaultConfig()
			return &c
		},
		validate: validateAs[salesforce.Config],
		summary:  func(o any) [][2]string { return salesforceSummary(optionsAs[salesforce.Config](o)) },
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return salesforce.New(optionsOf[salesforce.Config](tc.CRM), salesforce.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest,
				Doctor: salesforce.DoctorOptions{
					Users:         crm.UserMatch{By: tc.CRM.Users.Match, Field: tc.CRM.Users.Field},
					RoutingFields: routing.Fields(tc.Routing.Rules),
					Cases:         routing.UsesCases(tc.Routing.Rules),
				}})
		},
		// https://developer.salesforce.com/docs/platform/lwc/guide/reference-page-reference-type.html (standard__recordPage: /lightning/r/{object}/{id}/view)
		link: func(o any, id string) string {
			return trimURL(optionsAs[salesforce.Config](o).LoginURL) + "/lightning/r/Task/" + id + "/view"
		},
	},
	crmZoho: {
		title: "Zoho",
		options: func() any {
			c := zoho.DefaultConfig()
			return &c
		},
		validate: validateAs[zoho.Config],
		summary:  func(o any) [][2]string { return zohoSummary(optionsAs[zoho.Config](o)) },
		new: func(tc config.Tenant, env crmEnv) (crm.Client, error) {
			return zoho.New(optionsOf[zoho.Config](tc.CRM), zoho.Options{HTTP: env.http, Logger: env.log, OnRequest: env.onRequest,
				Doctor: zoho.DoctorOptions{
					Users:         crm.UserMatch{By: tc.CRM.Users.Match, Field: tc.CRM.Users.Field},
					RoutingFields: routing.Fields(tc.Routing.Rules),
				}})
		},
		// The CRM web UI lives at crm.<data centre domain>, e.g. crm.zoho.eu
		// for accounts.zoho.eu.
		link: func(o any, id string) string {
			return strings.Replace(trimURL(optionsAs[zoho.Config](o).AccountsURL), "://accounts.", "://crm.", 1) + "/crm/tab/Calls/" + id
		},
	},
}

// dynamicsNeeds is what a tenant asks of its Dynamics org beyond the
// dynamics section, for the client's Doctor.
func dynamicsNeeds(tc config.Tenant) dynamics.OrgNeeds {
	n := dynamics.OrgNeeds{
		UserMatch:     crm.UserMatch{By: tc.CRM.Users.Match, Field: tc.CRM.Users.Field},
		UserOverrides: tc.CRM.Users.Overrides,
		RoutingFields: routing.Fields(tc.Routing.Rules),
	}
	for _, p := range tc.Callbacks.Profiles {
		if p.Active {
			if n.CallbackQueues == nil {
				n.CallbackQueues = map[string]string{}
			}
			n.CallbackQueues[p.Name] = p.Queue
		}
	}
	n.DefaultAssignee = tc.PhoneCalls.DefaultCRMAssignee
	return n
}

// configTypes is the registry as the config package needs it: each type's
// decoding, validation and summary.
func configTypes() config.CRMTypes { return configTypesOf(crmTypes) }

func configTypesOf(types map[string]crmType) config.CRMTypes {
	out := make(config.CRMTypes, len(types))
	for name, t := range types {
		out[name] = config.CRMType{
			Decode: func(decode func(any)) any {
				o := t.options()
				decode(o)
				return o
			},
			Validate:        t.validate,
			Summary:         t.summary,
			Title:           t.title,
			QueuedCallbacks: t.queuedCallbacks,
			Cases:           t.cases,
		}
	}
	return out
}

// optionsAs returns the client configuration the options point to (the
// zero value if they hold another type, which New and Validate refuse).
func optionsAs[C any](o any) C {
	if p, ok := o.(*C); ok && p != nil {
		return *p
	}
	var zero C
	return zero
}

// optionsOf returns the tenant's client configuration of type C.
func optionsOf[C any](c config.CRM) C { return optionsAs[C](c.Options.Value()) }

// validateAs checks options of the client configuration type C.
func validateAs[C interface{ Validate() error }](o any) error {
	p, ok := o.(*C)
	if !ok || p == nil {
		return fmt.Errorf("options are %T, want %T", o, p)
	}
	return (*p).Validate()
}

// trimURL drops a base URL's trailing slash, as the clients do.
func trimURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// crmTypeNames lists the registered types, sorted.
func crmTypeNames() []string {
	names := make([]string, 0, len(crmTypes))
	for n := range crmTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// secretText shows whether a secret is set, never its value.
func secretText(v string) string {
	if v != "" {
		return config.Secret(v).String()
	}
	return "(not set)"
}

func orText(v, empty string) string {
	if v == "" {
		return empty
	}
	return v
}

func dynamicsSummary(d dynamics.Config) [][2]string {
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

func salesforceSummary(sf salesforce.Config) [][2]string {
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

func zohoSummary(z zoho.Config) [][2]string {
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
