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
// Config decoded from its block, its own Validate, and a summary with the
// keys these tests read.
var crmTypes = config.CRMTypes{
	"dynamics": crmType("Dynamics", dynamics.DefaultConfig, func(d *dynamics.Config) [][2]string {
		return [][2]string{{"url", d.URL}, {"client_secret", config.Secret(d.ClientSecret).String()},
			{"batch_size", strconv.Itoa(d.BatchSize)}}
	}),
	"salesforce": crmType("Salesforce", salesforce.DefaultConfig, func(s *salesforce.Config) [][2]string {
		return [][2]string{{"login_url", s.LoginURL}, {"client_secret", config.Secret(s.ClientSecret).String()},
			{"password", config.Secret(s.Password).String()}}
	}),
	"zoho": crmType("Zoho", zoho.DefaultConfig, func(z *zoho.Config) [][2]string {
		return [][2]string{{"accounts_url", z.AccountsURL}, {"refresh_token", config.Secret(z.RefreshToken).String()},
			{"search_modules", strings.Join(z.SearchModules, ", ")}}
	}),
}

// crmType registers the client configuration type C.
func crmType[C interface{ Validate() error }](title string, defaults func() C, summary func(*C) [][2]string) config.CRMType {
	return config.CRMType{
		Title:           title,
		QueuedCallbacks: title == "Dynamics",
		Cases:           title == "Salesforce",
		Decode: func(decode func(any)) any {
			c := defaults()
			decode(&c)
			return &c
		},
		Validate: func(o any) error { return (*o.(*C)).Validate() },
		Summary:  func(o any) [][2]string { return summary(o.(*C)) },
	}
}

// The tenant's crm.<type> options as the client's configuration.
func dyn(t config.Tenant) *dynamics.Config  { return t.CRM.Options.Value().(*dynamics.Config) }
func sf(t config.Tenant) *salesforce.Config { return t.CRM.Options.Value().(*salesforce.Config) }
func zo(t config.Tenant) *zoho.Config       { return t.CRM.Options.Value().(*zoho.Config) }
