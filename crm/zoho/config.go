package zoho

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// Config is a tenant's Zoho CRM connection and module settings: the
// crm.zoho block of the configuration file, with secrets as text.
type Config struct {
	// AccountsURL is the data centre's accounts server, e.g.
	// https://accounts.zoho.eu.
	AccountsURL string
	// APIDomain empty: the api_domain of the token response.
	APIDomain    string
	ClientID     string
	ClientSecret string
	RefreshToken string
	// Module receives calls: "Calls", a custom module's API name, or empty
	// (recording off).
	Module              string
	RecordIncoming      bool
	RecordOutgoing      bool
	UserIDField         string
	NumberCleanupRegexp string
	SearchModules       []string
	CallIDField         string
	// AuditField is a text field of Module receiving the full Enreach
	// record; empty writes none.
	AuditField string
	// SubjectTimeZone is the IANA zone of the default subject's timestamp;
	// empty: UTC.
	SubjectTimeZone string
}

// configName matches the module and field API names the configuration
// accepts (letters, digits and _, starting with a letter).
var configName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// withDefaults fills what a caller of New may leave empty: the search
// modules. Base URLs lose their trailing slash.
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
