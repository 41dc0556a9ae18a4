package dynamics

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/callsync/callsync/crm"
)

// Config is a tenant's Dataverse connection and write settings: the
// crm.dynamics block of the configuration file (yaml keys in the tags), with
// the secret as text.
type Config struct {
	// URL is the organisation root, https://<org>.crm<N>.dynamics.com.
	URL string `yaml:"url" config:"url"`
	// AuthorityURL is the Entra ID host (default DefaultAuthorityURL).
	AuthorityURL string `yaml:"authority_url" config:"url"`
	TenantID     string `yaml:"tenant_id"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret" config:"secret"`
	// PhoneFields per entity (contact, account, lead); an entity absent
	// keeps its default columns.
	PhoneFields map[string][]string `yaml:"phone_fields"`
	// BatchSize is the number of calls per $batch request (at most
	// MaxBatchSize operations).
	BatchSize int `yaml:"batch_size"`
	// Concurrency is the most requests in flight to the org (at most
	// MaxConcurrency).
	Concurrency int `yaml:"concurrency"`
	// AuditField is the phonecall text column receiving the full Enreach
	// record as JSON; empty writes none.
	AuditField string `yaml:"audit_field"`
}

// Limits checked by Validate.
const (
	// MaxBatchSize is the $batch operation limit
	// (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api).
	MaxBatchSize = 1000
	// MaxConcurrency is Dataverse's concurrent-request limit per user
	// (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/api-limits).
	MaxConcurrency = 52
)

var columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// DefaultConfig is the crm.dynamics block's defaults: the authority, the
// phone columns of contact, account and lead, 100 calls per $batch and
// MaxConcurrency requests in flight.
func DefaultConfig() Config {
	fields := make(map[string][]string, len(defaultPhoneFields))
	for e, fs := range defaultPhoneFields {
		fields[string(e)] = slices.Clone(fs)
	}
	return Config{AuthorityURL: DefaultAuthorityURL, PhoneFields: fields, BatchSize: defaultBatchSize, Concurrency: defaultConcurrency}
}

// withDefaults fills what a caller of New may leave empty: the authority,
// batch size and concurrency, and the phone fields of an entity absent from
// PhoneFields. Base URLs lose their trailing slash.
// WritesAudit reports whether Activity.Audit is written anywhere:
// audit_field is set. Without it the engine builds no audit text.
func (c Config) WritesAudit() bool { return c.AuditField != "" }

func (c Config) withDefaults() Config {
	c.URL = strings.TrimRight(c.URL, "/")
	c.AuthorityURL = strings.TrimRight(c.AuthorityURL, "/")
	if c.AuthorityURL == "" {
		c.AuthorityURL = DefaultAuthorityURL
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatchSize
	}
	if c.Concurrency <= 0 {
		c.Concurrency = defaultConcurrency
	}
	fields := make(map[string][]string, len(defaultPhoneFields))
	for e, fs := range defaultPhoneFields {
		fields[string(e)] = fs
	}
	for e, fs := range c.PhoneFields {
		fields[e] = fs
	}
	c.PhoneFields = fields
	return c
}

// Validate checks c as the configuration file gives it (defaults applied).
// Its errors are crm.OptionErrors named by the key below crm.dynamics.
func (c Config) Validate() error {
	var es crm.OptionErrors
	if es.Required("url", c.URL) {
		es.URL("url", c.URL)
		if strings.Contains(c.URL, "/api/data") {
			es.Add("url", "give the organisation root (e.g. https://contoso.crm4.dynamics.com), not the Web API path")
		}
	}
	if es.Required("authority_url", c.AuthorityURL) {
		es.URL("authority_url", c.AuthorityURL)
	}
	es.Required("tenant_id", c.TenantID)
	es.Required("client_id", c.ClientID)
	if c.ClientSecret == "" {
		es.Add("client_secret", "required")
	}
	entities := make([]string, 0, len(c.PhoneFields))
	for e := range c.PhoneFields {
		entities = append(entities, e)
	}
	sort.Strings(entities)
	hasField := false
	for _, entity := range entities {
		ep := crm.JoinKey("phone_fields", entity)
		if !slices.Contains([]string{"contact", "account", "lead"}, entity) {
			es.Add(ep, "unknown entity (want contact, account or lead)")
			continue
		}
		for i, f := range c.PhoneFields[entity] {
			if !columnName.MatchString(f) {
				es.Add(fmt.Sprintf("%s[%d]", ep, i), "invalid column name %q", f)
			}
			hasField = true
		}
	}
	if !hasField {
		es.Add("phone_fields", "at least one phone field is required")
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		es.Add("batch_size", "must be between 1 and %d", MaxBatchSize)
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		es.Add("concurrency", "must be between 1 and %d", MaxConcurrency)
	}
	if c.AuditField != "" && !columnName.MatchString(c.AuditField) {
		es.Add("audit_field", "invalid column name %q (a Phone Call column's logical name, e.g. new_enreachapiaudit)", c.AuditField)
	}
	return es.Err()
}
