package salesforce

import (
	"regexp"
	"strings"

	"github.com/callsync/callsync/crm"
)

// Config is a tenant's Salesforce connection and field settings: the
// crm.salesforce block of the configuration file (yaml keys in the tags),
// with secrets as text.
type Config struct {
	// LoginURL is the org's My Domain, https://<domain>.my.salesforce.com.
	LoginURL string `yaml:"login_url" config:"url"`
	// Grant is GrantClientCredentials (default), GrantJWT or GrantPassword.
	Grant          string `yaml:"grant"`
	ClientID       string `yaml:"client_id"`
	ClientSecret   string `yaml:"client_secret" config:"secret"`
	Username       string `yaml:"username"`
	Password       string `yaml:"password" config:"secret"`
	SecurityToken  string `yaml:"security_token" config:"secret"`
	PrivateKeyFile string `yaml:"private_key_file"`
	// APIVersion is the REST API version, e.g. "62.0" (default
	// DefaultAPIVersion).
	APIVersion string `yaml:"api_version"`
	// ExternalIDField is the Task upsert key (default DefaultExternalIDField).
	ExternalIDField string `yaml:"external_id_field"`
	// NumberField and StartField are the custom Activity fields holding the
	// customer number and the call start (default DefaultNumberField,
	// DefaultStartField).
	NumberField string `yaml:"number_field"`
	StartField  string `yaml:"start_field"`
	// AuditField is a Task text field receiving the full Enreach record;
	// empty writes none.
	AuditField string `yaml:"audit_field"`
}

var (
	customField = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*__c$`)
	apiVersion  = regexp.MustCompile(`^[0-9]{2,3}\.0$`)
)

// DefaultConfig is the crm.salesforce block's defaults: the client
// credentials grant, DefaultAPIVersion and DefaultExternalIDField.
func DefaultConfig() Config {
	return Config{Grant: GrantClientCredentials, APIVersion: DefaultAPIVersion, ExternalIDField: DefaultExternalIDField}
}

// withDefaults fills what a caller of New may leave empty: the grant, API
// version and field names. The login URL loses its trailing slash.
// WritesAudit reports whether Activity.Audit is written anywhere:
// audit_field is set. Without it the engine builds no audit text.
func (c Config) WritesAudit() bool { return c.AuditField != "" }

func (c Config) withDefaults() Config {
	c.LoginURL = strings.TrimRight(c.LoginURL, "/")
	for _, d := range []struct {
		v   *string
		def string
	}{
		{&c.Grant, GrantClientCredentials}, {&c.APIVersion, DefaultAPIVersion},
		{&c.ExternalIDField, DefaultExternalIDField}, {&c.NumberField, DefaultNumberField}, {&c.StartField, DefaultStartField},
	} {
		if *d.v == "" {
			*d.v = d.def
		}
	}
	return c
}

// Validate checks c as the configuration file gives it (defaults applied).
// Its errors are crm.OptionErrors named by the key below crm.salesforce.
func (c Config) Validate() error {
	var es crm.OptionErrors
	if es.Required("login_url", c.LoginURL) {
		es.URL("login_url", c.LoginURL)
	}
	es.Required("client_id", c.ClientID)
	es.OneOf("grant", c.Grant, GrantClientCredentials, GrantJWT, GrantPassword)
	switch c.Grant {
	case GrantClientCredentials:
		if c.ClientSecret == "" {
			es.Add("client_secret", "required with grant: client_credentials")
		}
	case GrantJWT:
		if c.Username == "" {
			es.Add("username", "required with grant: jwt")
		}
		if c.PrivateKeyFile == "" {
			es.Add("private_key_file", "required with grant: jwt")
		}
	case GrantPassword:
		if c.Username == "" {
			es.Add("username", "required with grant: password")
		}
		if c.Password == "" {
			es.Add("password", "required with grant: password")
		}
		if c.ClientSecret == "" {
			es.Add("client_secret", "required with grant: password")
		}
	}
	if !apiVersion.MatchString(c.APIVersion) {
		es.Add("api_version", "invalid API version %q (want e.g. \"62.0\")", c.APIVersion)
	}
	if es.Required("external_id_field", c.ExternalIDField) && !customField.MatchString(c.ExternalIDField) {
		es.Add("external_id_field", "invalid custom field name %q (want e.g. Enreach_Call_Id__c)", c.ExternalIDField)
	}
	for _, kv := range [][2]string{{"number_field", c.NumberField}, {"start_field", c.StartField}, {"audit_field", c.AuditField}} {
		if kv[1] != "" && !customField.MatchString(kv[1]) {
			es.Add(kv[0], "invalid custom field name %q (want e.g. Enreach_Audit__c)", kv[1])
		}
	}
	return es.Err()
}
