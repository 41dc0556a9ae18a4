// Package config owns callsync's YAML configuration: the file format (many
// tenants per file, ${VAR} expansion), validation with errors that name the key
// path, defaults, and redaction of secrets.
package config

import (
	"time"
)

// Config is the whole configuration file.
type Config struct {
	Store   Store    `yaml:"store"`
	HTTP    HTTP     `yaml:"http"`
	Log     Log      `yaml:"log"`
	Purge   Purge    `yaml:"purge"`
	Tenants []Tenant `yaml:"tenants"`

	// notes are remarks of the parser that are not errors (a bare number
	// read as minutes); see Notes.
	notes []string
	// crmTypes are the CRM types the config was read and checked with
	// (Parse, Validate); Summary lists each tenant's crm.<type> block
	// through them.
	crmTypes CRMTypes
}

// Purge configures the daily retention purge of the store (the original
// Zoho connector's purge job: a time to run and a retention).
type Purge struct {
	// RunAt is the daily UTC time "HH:MM" the purge runs at.
	RunAt string `yaml:"run_at"`
	// Retention is how long payloads are kept: processed webhook
	// deliveries, quarantined records, job runs, and the stored call and
	// callback payloads of finished ledger rows.
	Retention Duration `yaml:"retention"`
	// LedgerRetention is how long finished ledger rows (the duplicate guard
	// of every written call) are kept; longer than the nightly re-sync's
	// lookback.
	LedgerRetention Duration `yaml:"ledger_retention"`
}

// Store selects the state store.
type Store struct {
	// Driver is the engine: sqlite (default, one process) or postgres
	// (several replicas share one database).
	Driver string `yaml:"driver"`
	// Path is the SQLite file; created and migrated on first start.
	Path string `yaml:"path"`
	// URL is the PostgreSQL connection URL (postgres://user:pass@host/db),
	// usually ${DATABASE_URL}; it may hold a password, so it is a secret.
	URL Secret `yaml:"url"`
	// MaxConns caps the PostgreSQL connection pool (0: pgxpool's default).
	MaxConns int `yaml:"max_conns"`
	// ConnectTimeout bounds each new PostgreSQL connection (0: none).
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// StatementTimeout is PostgreSQL's statement_timeout for every
	// connection of the pool: a statement running longer is cancelled by
	// the server (a stuck lock or query fails the run with an error
	// instead of hanging it). 0: DefaultStatementTimeout.
	StatementTimeout Duration `yaml:"statement_timeout"`
	// LeaseTTL is how long a replica holds a tenant without renewing it
	// (postgres; renewed every third of it): a dead replica's tenants move
	// within about 4/3 of it. 0: 30s.
	LeaseTTL Duration `yaml:"lease_ttl"`
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// HTTP configures the server for webhooks, Smart Routing, /healthz and /metrics.
type HTTP struct {
	// Listen is the public listener: webhooks, Smart Routing and a bare
	// liveness answer at /healthz.
	Listen string `yaml:"listen"`
	// AdminListen is the admin listener: /metrics, the detailed /healthz
	// and the status page (default loopback, DefaultAdminListen). Empty
	// serves no admin endpoints.
	AdminListen string `yaml:"admin_listen"`
	// AdminToken, when set, is required as "Authorization: Bearer <token>"
	// on every admin endpoint; it must be set when AdminListen is not a
	// loopback address.
	AdminToken Secret `yaml:"admin_token"`
	// StatusPage serves the HTML status page. Setting StatusToken turns it
	// on too, and then the page asks for the token.
	StatusPage  bool   `yaml:"status_page"`
	StatusToken Secret `yaml:"status_token"`
}

// StatusPageOn reports whether the status page is served.
func (h HTTP) StatusPageOn() bool { return h.StatusPage || h.StatusToken.IsSet() }

// Log configures log/slog output.
type Log struct {
	Format string `yaml:"format"` // text | json
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// Tenant is one Enreach organisation plus one CRM.
type Tenant struct {
	Name          string      `yaml:"name"`
	DefaultRegion string      `yaml:"default_region"`
	Enreach       Enreach     `yaml:"enreach"`
	CRM           CRM         `yaml:"crm"`
	PhoneCalls    PhoneCalls  `yaml:"phone_calls"`
	Retroactive   Retroactive `yaml:"retroactive"`
	Callbacks     Callbacks   `yaml:"callbacks"`
	Routing       Routing     `yaml:"routing"`
	// InternalNumbers are extra numbers of the organisation itself
	// (switchboard, queue numbers) that never match a customer.
	InternalNumbers []string `yaml:"internal_numbers"`
}

// Enreach holds the Enreach Voice API credentials.
type Enreach struct {
	// APIURL empty: discover from User's e-mail.
	APIURL       string `yaml:"api_url"`
	DiscoveryURL string `yaml:"discovery_url"`
	User         string `yaml:"user"`
	SecretKey    Secret `yaml:"secret_key"`
	WebhookToken Secret `yaml:"webhook_token"`
}

// CRM selects and configures the tenant's CRM.
type CRM struct {
	Type string `yaml:"type"` // dynamics | salesforce | zoho
	// Directory: "mirror" matches callers through the local phone directory
	// (each record's phone values parsed once, kept current incrementally;
	// a miss is looked up live); "live" searches the CRM for every number.
	Directory string `yaml:"directory"`
	// DirectoryFullResync is how often the directory is loaded in full
	// again, healing whatever an incremental sync missed (0: never).
	DirectoryFullResync Duration `yaml:"directory_full_resync"`
	Users               Users    `yaml:"users"`
	// Options is the crm.<type> block of Type (crm.dynamics, crm.zoho,
	// ...), decoded by the CRM registry into the client package's own
	// configuration type (see CRMType).
	Options CRMOptions `yaml:"-"`
}

// Users says how Enreach users map to CRM users.
type Users struct {
	Match string `yaml:"match"` // email | field
	Field string `yaml:"field"`
	// Overrides maps an Enreach user id to a CRM user id.
	Overrides map[string]string `yaml:"overrides"`
}

// PhoneCalls holds every Voice for D365 "Phone call sync setting", snake_case.
type PhoneCalls struct {
	CallDurationLimit             Duration `yaml:"call_duration_limit"`
	CallStartMargin               Duration `yaml:"call_start_margin"`
	DefaultCRMAssignee            string   `yaml:"default_crm_assignee"`
	EnableAudit                   bool     `yaml:"enable_audit"`
	EnableMultipleMatchCreate     bool     `yaml:"enable_multiple_match_create"`
	MultipleMatchPhoneCallStatus  int      `yaml:"multiple_match_phone_call_status"`
	MultipleMatchesPickFirst      bool     `yaml:"multiple_matches_pick_first"`
	ExecutionInterval             Duration `yaml:"execution_interval"`
	IncomingDirectCallSubject     string   `yaml:"incoming_direct_call_subject"`
	IncomingQueueCallSubject      string   `yaml:"incoming_queue_call_subject"`
	OutgoingDirectCallSubject     string   `yaml:"outgoing_direct_call_subject"`
	NumbersToCut                  int      `yaml:"numbers_to_cut"`
	ProcessDirectCalls            bool     `yaml:"process_direct_calls"`
	ProcessServiceCalls           bool     `yaml:"process_service_calls"`
	ProcessServiceCallsUnanswered bool     `yaml:"process_service_calls_unanswered"`
	RunInDebugMode                bool     `yaml:"run_in_debug_mode"`
	// WriteUnmatched writes a call whose number matches no CRM record
	// unlinked; a later cycle or the nightly re-sync links that same record
	// when the caller appears in the CRM.
	WriteUnmatched bool `yaml:"write_unmatched"`
	// RecordingLink is the address of a call's recording for a CRM user,
	// with {id} standing for one Enreach recording id (RecordingIds of the
	// call record), e.g. the replay page of the tenant's recording archive.
	// Empty: recordings are named by id only.
	RecordingLink string `yaml:"recording_link"`
}

// Retroactive configures the nightly re-sync.
type Retroactive struct {
	Enabled  bool     `yaml:"enabled"`
	Window   Clock    `yaml:"window"` // "22:00-23:30", UTC
	Lookback Duration `yaml:"lookback"`
}

// Callbacks configures callback request sync.
type Callbacks struct {
	DefaultSubject string    `yaml:"default_subject"`
	RecipientRule  string    `yaml:"recipient_rule"` // queue | queue_owner
	Profiles       []Profile `yaml:"profiles"`
}

// Profile is one callback profile.
type Profile struct {
	Name              string   `yaml:"name"`
	CallbackListID    string   `yaml:"callback_list_id"`
	Queue             string   `yaml:"queue"`
	OwnershipRule     string   `yaml:"ownership_rule"` // api_user | queue_owner
	Subject           string   `yaml:"subject"`
	DuplicateHandling string   `yaml:"duplicate_handling"` // bundle | ignore
	SyncMethod        string   `yaml:"sync_method"`        // polling | webhook | webhook_and_polling
	Age               Duration `yaml:"age"`
	Active            bool     `yaml:"active"`
}

// Routing configures Smart Routing answers.
type Routing struct {
	APIKey   Secret        `yaml:"api_key"`
	Budget   Duration      `yaml:"budget"`
	CacheTTL Duration      `yaml:"cache_ttl"`
	Rules    []RoutingRule `yaml:"rules"`
}

// RoutingRule is one rule; the first that matches wins.
type RoutingRule struct {
	Name       string      `yaml:"name"`
	When       RoutingWhen `yaml:"when"`
	Target     string      `yaml:"target"`
	FailTarget string      `yaml:"fail_target"`
}

// RoutingWhen is a rule's condition; every set field must hold.
type RoutingWhen struct {
	Entity  string `yaml:"entity"`
	Field   string `yaml:"field"`
	Equals  string `yaml:"equals"`
	Matched *bool  `yaml:"matched"`
	BNum    string `yaml:"bnum"`
	// Cases tests the caller's open Cases (Salesforce).
	Cases *RoutingCases `yaml:"cases"`
}

// RoutingCases holds when the caller (the matched contacts and accounts,
// and the contacts' accounts) has at least Min open Cases with the given
// Priority and Owner (empty: any).
type RoutingCases struct {
	// Min is the number of such open Cases needed (0 means 1).
	Min      int    `yaml:"min"`
	Priority string `yaml:"priority"`
	Owner    string `yaml:"owner"`
}

// Duration is a time.Duration written as "15s", "2h", "0".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Clock is a daily UTC window "HH:MM-HH:MM"; Start and End are offsets from midnight.
type Clock struct {
	Start time.Duration
	End   time.Duration
}
