package zoho_test

import (
	"testing"

	"github.com/callsync/callsync/crm/zoho"
)

// New checks its configuration with Validate, so a block that config check
// accepts builds and one it refuses does not: one set of rules.
func TestNewAndValidateAgree(t *testing.T) {
	base := func() zoho.Config {
		return zoho.Config{AccountsURL: "https://accounts.zoho.eu", ClientID: "id", ClientSecret: "s", RefreshToken: "r",
			Module: "Calls", SearchModules: []string{"Contacts", "Accounts", "Leads"}}
	}
	for name, edit := range map[string]func(*zoho.Config){
		"defaults":                   func(*zoho.Config) {},
		"module with $":              func(c *zoho.Config) { c.Module = "Calls$x" },
		"audit field with a dot":     func(c *zoho.Config) { c.AuditField = "Audit.Field" },
		"search module not standard": func(c *zoho.Config) { c.SearchModules = []string{"Contacts", "Deals"} },
		"custom module":              func(c *zoho.Config) { c.Module = "Enreach_Calls" },
		"http accounts url":          func(c *zoho.Config) { c.AccountsURL = "http://accounts.zoho.eu" },
	} {
		cfg := base()
		edit(&cfg)
		verr := cfg.Validate()
		_, nerr := zoho.New(cfg, zoho.Options{})
		if (verr == nil) != (nerr == nil) {
			t.Errorf("%s: Validate says %v, New says %v", name, verr, nerr)
		}
	}
}

// An unsupported search module is a configuration error at its index.
func TestValidateSearchModules(t *testing.T) {
	cfg := zoho.Config{AccountsURL: "https://accounts.zoho.eu", ClientID: "id", ClientSecret: "s", RefreshToken: "r",
		SearchModules: []string{"Contacts", "Deals"}}
	err := cfg.Validate()
	if err == nil || err.Error() != `search_modules[1]: unsupported module "Deals" (want Contacts, Accounts or Leads)` {
		t.Fatalf("Validate: %v", err)
	}
}
