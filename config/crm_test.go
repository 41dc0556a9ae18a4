package config_test

import (
	"strconv"
	"strings"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/zoho"
)

// crmTypes are the CRM types as cmd/callsync's registry gives them to the
// config (there: crmTypes in cmd/callsync/crms.go): each client's own
// Validate, and a summary with the keys these tests read.
var crmTypes = config.CRMTypes{
	config.CRMDynamics: {
		Validate: func(c *config.CRM) error {
			d := c.Dynamics
			return dynamics.Config{URL: d.URL, AuthorityURL: d.AuthorityURL, TenantID: d.TenantID, ClientID: d.ClientID,
				ClientSecret: d.ClientSecret.Value(), PhoneFields: d.PhoneFields, BatchSize: d.BatchSize,
				Concurrency: d.Concurrency, AuditField: d.AuditField}.Validate()
		},
		Summary: func(c *config.CRM) [][2]string {
			return [][2]string{{"url", c.Dynamics.URL}, {"client_secret", c.Dynamics.ClientSecret.String()},
				{"batch_size", strconv.Itoa(c.Dynamics.BatchSize)}}
		},
	},
	config.CRMSalesforce: {
		Validate: func(c *config.CRM) error {
			s := c.Salesforce
			return salesforce.Config{LoginURL: s.LoginURL, Grant: s.Grant, ClientID: s.ClientID, ClientSecret: s.ClientSecret.Value(),
				Username: s.Username, Password: s.Password.Value(), SecurityToken: s.SecurityToken.Value(),
				PrivateKeyFile: s.PrivateKeyFile, APIVersion: s.APIVersion, ExternalIDField: s.ExternalIDField,
				NumberField: s.NumberField, StartField: s.StartField, AuditField: s.AuditField}.Validate()
		},
		Summary: func(c *config.CRM) [][2]string {
			return [][2]string{{"login_url", c.Salesforce.LoginURL}, {"client_secret", c.Salesforce.ClientSecret.String()},
				{"password", c.Salesforce.Password.String()}}
		},
	},
	config.CRMZoho: {
		Validate: func(c *config.CRM) error {
			z := c.Zoho
			return zoho.Config{AccountsURL: z.AccountsURL, APIDomain: z.APIDomain, ClientID: z.ClientID,
				ClientSecret: z.ClientSecret.Value(), RefreshToken: z.RefreshToken.Value(), Module: z.Module,
				UserIDField: z.UserIDField, NumberCleanupRegexp: z.NumberCleanupRegexp, SearchModules: z.SearchModules,
				CallIDField: z.CallIDField, AuditField: z.AuditField, SubjectTimeZone: z.SubjectTimeZone}.Validate()
		},
		Summary: func(c *config.CRM) [][2]string {
			return [][2]string{{"accounts_url", c.Zoho.AccountsURL}, {"refresh_token", c.Zoho.RefreshToken.String()},
				{"search_modules", strings.Join(c.Zoho.SearchModules, ", ")}}
		},
	},
}
