package config

import "time"

// Defaults for keys absent from the file. Values follow the original product
// (Voice for D365 "Phone call sync settings" and callback settings) and the
// issues' contract examples.
const (
	DefaultStorePath  = "callsync.db"
	DefaultHTTPListen = "127.0.0.1:8080"
	// DefaultAdminListen keeps /metrics, /healthz detail and the status
	// page on this machine.
	DefaultAdminListen = "127.0.0.1:9091"
	DefaultLogFormat   = "text"
	DefaultLogLevel    = "info"
	// DefaultPurgeRunAt, DefaultRetention (the original connector's purge
	// default of 14 days) and DefaultLedgerRetention (well past the nightly
	// re-sync's reach) apply when purge keys are absent.
	DefaultPurgeRunAt = "03:17"
	// DefaultStatementTimeout is store.statement_timeout when unset: far
	// above any statement callsync sends (a batch of ledger rows), short
	// enough that a stuck one fails its run instead of holding it.
	DefaultStatementTimeout = 30 * time.Second
	DefaultRetention        = Duration(14 * 24 * time.Hour)
	DefaultLedgerRetention  = Duration(90 * 24 * time.Hour)
)

// Defaults returns a Config holding every top-level default and no tenants.
func Defaults() Config {
	return Config{
		Store: Store{Driver: DriverSQLite, Path: DefaultStorePath},
		HTTP:  HTTP{Listen: DefaultHTTPListen, AdminListen: DefaultAdminListen},
		Log:   Log{Format: DefaultLogFormat, Level: DefaultLogLevel},
		Purge: Purge{RunAt: DefaultPurgeRunAt, Retention: DefaultRetention, LedgerRetention: DefaultLedgerRetention},
	}
}

// DefaultTenant returns a Tenant holding every per-tenant default. Parsing
// starts each tenant from it, so a key absent from the file keeps its
// default while an explicit value (false included) wins.
func DefaultTenant() Tenant {
	return Tenant{
		CRM: CRM{
			Directory:           DirectoryMirror,
			DirectoryFullResync: Duration(7 * 24 * time.Hour),
			Users:               Users{Match: "email"},
		},
		PhoneCalls: PhoneCalls{
			CallDurationLimit:            0,
			CallStartMargin:              Duration(15 * time.Second),
			EnableAudit:                  true,
			EnableMultipleMatchCreate:    true,
			MultipleMatchPhoneCallStatus: 1,
			ExecutionInterval:            Duration(120 * time.Minute),
			IncomingDirectCallSubject:    "Incoming direct call",
			IncomingQueueCallSubject:     "Incoming queue call",
			OutgoingDirectCallSubject:    "Outgoing direct call",
			ProcessDirectCalls:           true,
		},
		Retroactive: Retroactive{
			Enabled:  true,
			Window:   Clock{Start: 22 * time.Hour, End: 23*time.Hour + 30*time.Minute},
			Lookback: Duration(24 * time.Hour),
		},
		Callbacks: Callbacks{
			DefaultSubject: "Callback request",
			RecipientRule:  "queue",
		},
		Routing: Routing{
			Budget:   Duration(1500 * time.Millisecond),
			CacheTTL: Duration(10 * time.Minute),
		},
	}
}

// DefaultProfile returns a callback Profile holding every default.
func DefaultProfile() Profile {
	return Profile{
		OwnershipRule:     "api_user",
		DuplicateHandling: "bundle",
		SyncMethod:        "polling",
		Age:               Duration(time.Hour),
		Active:            true,
	}
}

// The decoder calls setDefaults on each new list element before decoding it.
func (c *Config) setDefaults()  { *c = Defaults() }
func (t *Tenant) setDefaults()  { *t = DefaultTenant() }
func (p *Profile) setDefaults() { *p = DefaultProfile() }
