package crm

import "context"

// Optional capabilities of a Client. The engine (jobs) and Smart Routing
// (routing) use a capability when the tenant's client implements it and work
// without it otherwise (each says how). Every client states at compile time
// which ones it has, with `var _ crm.X = (*Client)(nil)` beside the method;
// Updater (update.go) and Doctor (check.go) are the two others.
//
//	               Dynamics  Salesforce  Zoho  crmtest.Memory
//	Updater        yes       yes         yes   yes
//	Doctor         yes       yes         yes
//	ParentFetcher  yes       yes         yes   yes
//	CaseFetcher              yes
//	QueueOwners    yes

// ParentFetcher returns accounts by id with the requested extra fields (and
// OwnerID), keyed by id; unknown ids are absent. Smart Routing uses it when a
// rule asks about the account and the caller matched a contact whose parent
// account does not hold the caller's number itself. Without it, account rules
// see only accounts that matched the caller directly.
type ParentFetcher interface {
	Accounts(ctx context.Context, ids []string, fields []string) (map[string]Record, error)
}

// CaseFetcher returns the open Cases of contacts and accounts (entity Case,
// OwnerID, Fields "ContactId", "AccountId", "Priority"), in one batched
// query. Smart Routing rules with `cases` need it (config check allows them
// on Salesforce only).
type CaseFetcher interface {
	OpenCases(ctx context.Context, contactIDs, accountIDs []string) ([]Record, error)
}

// QueueOwners says who owns a CRM queue, for callback profiles whose
// recipient rule is queue_owner. Without it those profiles fail (never a
// guess).
type QueueOwners interface {
	// QueueOwners returns the owning CRM user id of each queue id; a queue
	// not owned by a user (e.g. by a team) is absent.
	QueueOwners(ctx context.Context, queueIDs []string) (map[string]string, error)
}
