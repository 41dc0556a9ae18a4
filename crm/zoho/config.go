package zoho

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// Config is a tenant's Zoho CRM connection and module settings: the
// crm.zoho block of the configuration file (yaml keys in the tags), with
// secrets as text.
type Config struct {
	// AccountsURL is the data centre's accounts server, e.g.
	// https://accounts.zoho.eu.
	AccountsURL string `yaml:"accounts_url" config:"url"`
	// APIDomain empty: the api_domain of the token response.
	APIDomain    string `yaml:"api_domain" config:"url"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret" config:"secret"`
	RefreshToken string `yaml:"refresh_token" config:"secret"`
	// Module receives calls: "Calls", a custom module's API name, or empty
	// (recording off).
	Module              string   `yaml:"module"`
	RecordIncoming      bool     `yaml:"record_incoming"`
	RecordOutgoing      bool     `yaml:"record_outgoing"`
	UserIDField         string   `yaml:"user_id_field"`
	NumberCleanupRegexp string   `yaml:"number_cleanup_regexp"`
	SearchModules       []string `yaml:"search_modules"`
	CallIDField         string   `yaml:"call_id_field"`
	// AuditField is a text field of Module receiving the full Enreach
	// record; empty writes none.
	AuditField string `yaml:"audit_field"`
	// SubjectTimeZone is the IANA zone of the default subject's timestamp;
	// empty: UTC.
	SubjectTimeZone string `yaml:"subject_time_zone"`
}

// configName matches the module and field API names the configuration
// accepts (letters, digits and _, starting with a letter).
var configName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// DefaultConfig is the crm.zoho block's defaults: calls written to the
// Calls module in both directions, callers searched in Contacts, Accounts
// and Leads.
func DefaultConfig() Config {
	return Config{Module: "Calls", RecordIncoming: true, RecordOutgoing: true, SearchModules: defaultSearchModules()}
}

// RecordsCall reports whether a call in this direction is written: Module
// is set and record_incoming (record_outgoing) is on. The engine decides
// this before any lookup.
func (c Config) RecordsCall(outbound bool) bool {
	if c.Module == "" {
		return false
	}
	if outbound {
		return c.RecordOutgoing
	}
	return c.RecordIncoming
}

// withDefaults fills what a caller of New may leave empty: the search
// modules. Base URLs lose their trailing slash.
// WritesAudit reports whether Activity.Audit is written anywhere:
// audit_field is set. Without it the engine builds no audit text.
func (c Config) WritesAudit() bool { return c.AuditField != "" }

func (c Config) withDefaults() Config {
	c.AccountsURL = strings.TrimRight(c.AccountsURL, "/")
	c.APIDomain = strings.TrimRight(c.APIDomain, "/")
	if len(c.SearchModules) == 0 {
		c.SearchModules = defaultSearchModules()
	}
	return c
}

// Validate checks c as the configuration file gives it (defaults applied).
// Its errors are crm.OptionErrors named by the key below crm.zoho.
func (c Config) Validate() error {
	var es crm.OptionErrors
	if es.Required("accounts_url", c.AccountsURL) {
		es.URL("accounts_url", c.AccountsURL)
	}
	if c.APIDomain != "" {
		es.URL("api_domain", c.APIDomain)
	}
	es.Required("client_id", c.ClientID)
	if c.ClientSecret == "" {
		es.Add("client_secret", "required")
	}
	if c.RefreshToken == "" {
		es.Add("refresh_token", "required")
	}
	if c.Module != "" && !configName.MatchString(c.Module) {
		es.Add("module", "invalid module API name %q (want Calls or a custom module's API name)", c.Module)
	}
	for _, f := range []struct{ key, val string }{
		{"user_id_field", c.UserIDField}, {"call_id_field", c.CallIDField}, {"audit_field", c.AuditField},
	} {
		if f.val != "" && !configName.MatchString(f.val) {
			es.Add(f.key, "invalid field API name %q", f.val)
		}
	}
	if c.SubjectTimeZone != "" {
		if _, err := time.LoadLocation(c.SubjectTimeZone); err != nil {
			es.Add("subject_time_zone", "unknown time zone %q (want an IANA name such as Europe/London)", c.SubjectTimeZone)
		}
	}
	if c.NumberCleanupRegexp != "" {
		if _, err := regexp.Compile(c.NumberCleanupRegexp); err != nil {
			es.Add("number_cleanup_regexp", "invalid regular expression: %v", err)
		}
	}
	if len(c.SearchModules) == 0 {
		es.Add("search_modules", "at least one module is required")
	}
	for i, m := range c.SearchModules {
		if _, ok := standardSearchModule(m); !ok {
			es.Add(fmt.Sprintf("search_modules[%d]", i), "unsupported module %q (want Contacts, Accounts or Leads)", m)
		}
	}
	return es.Err()
}
