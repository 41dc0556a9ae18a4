package salesforce_test

import (
	"testing"

	"github.com/callsync/callsync/crm/salesforce"
)

// New checks its configuration with Validate, so a block that config check
// accepts builds and one it refuses does not: one set of rules.
func TestNewAndValidateAgree(t *testing.T) {
	base := func() salesforce.Config {
		return salesforce.Config{LoginURL: "https://acme.my.salesforce.com", Grant: salesforce.GrantClientCredentials,
			ClientID: "c", ClientSecret: "s", APIVersion: salesforce.DefaultAPIVersion, ExternalIDField: salesforce.DefaultExternalIDField}
	}
	for name, edit := range map[string]func(*salesforce.Config){
		"defaults":                func(*salesforce.Config) {},
		"api version with v":      func(c *salesforce.Config) { c.APIVersion = "v62.0" },
		"number field not custom": func(c *salesforce.Config) { c.NumberField = "Number" },
		"password grant no secret": func(c *salesforce.Config) {
			c.Grant, c.Username, c.Password, c.ClientSecret = salesforce.GrantPassword, "u", "p", ""
		},
		"unknown grant":                func(c *salesforce.Config) { c.Grant = "saml" },
		"external id field not custom": func(c *salesforce.Config) { c.ExternalIDField = "CallObject" },
	} {
		cfg := base()
		edit(&cfg)
		verr := cfg.Validate()
		_, nerr := salesforce.New(cfg, salesforce.Options{})
		if (verr == nil) != (nerr == nil) {
			t.Errorf("%s: Validate says %v, New says %v", name, verr, nerr)
		}
	}
}
