package dynamics_test

import (
	"testing"

	"github.com/callsync/callsync/crm/dynamics"
)

// New checks its configuration with Validate, so a block that config check
// accepts builds and one it refuses does not: one set of rules.
func TestNewAndValidateAgree(t *testing.T) {
	base := func() dynamics.Config {
		return dynamics.Config{URL: "https://contoso.crm4.dynamics.com", AuthorityURL: dynamics.DefaultAuthorityURL,
			TenantID: "t", ClientID: "c", ClientSecret: "s",
			PhoneFields: map[string][]string{"contact": {"telephone1"}}, BatchSize: 100, Concurrency: dynamics.MaxConcurrency}
	}
	for name, edit := range map[string]func(*dynamics.Config){
		"defaults":             func(*dynamics.Config) {},
		"batch over the limit": func(c *dynamics.Config) { c.BatchSize = dynamics.MaxBatchSize + 1 },
		"concurrency too high": func(c *dynamics.Config) { c.Concurrency = dynamics.MaxConcurrency + 1 },
		"web api path":         func(c *dynamics.Config) { c.URL += "/api/data/v9.2" },
		"unknown entity":       func(c *dynamics.Config) { c.PhoneFields["incident"] = []string{"telephone1"} },
		"bad column":           func(c *dynamics.Config) { c.PhoneFields["lead"] = []string{"tele phone"} },
		"bad audit column":     func(c *dynamics.Config) { c.AuditField = "new-audit" },
	} {
		cfg := base()
		edit(&cfg)
		verr := cfg.Validate()
		_, nerr := dynamics.New(cfg, dynamics.Options{})
		if (verr == nil) != (nerr == nil) {
			t.Errorf("%s: Validate says %v, New says %v", name, verr, nerr)
		}
	}
}
