// Package crm owns the contract between the sync engine and a CRM: the batch-first
// Client interface, the records and activities that cross it, and the idempotency
// key scheme. Each CRM lives in its own sub-package (crm/dynamics, crm/salesforce,
// crm/zoho) and every client passes the conformance suite in crm/crmtest.
package crm

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Entity is the kind of customer record a caller can match.
type Entity string

const (
	Contact Entity = "contact"
	Account Entity = "account"
	Lead    Entity = "lead"
	// Case is not a caller entity: Smart Routing reads a caller's open
	// Cases (Salesforce) as records of this entity.
	Case Entity = "case"
)

// Entities lists the customer entities in the order matches are reported.
var Entities = []Entity{Contact, Account, Lead}

// Ref points at one CRM record.
type Ref struct {
	Entity Entity
	ID     string
}

func (r Ref) String() string { return string(r.Entity) + ":" + r.ID }

// Record is a customer record found by a phone lookup. Phones holds the stored
// phone field values exactly as the CRM returned them, so the engine can verify
// every hit against the caller's number (a CRM search is only a candidate list).
type Record struct {
	Ref
	Name string
	// OwnerID is the CRM user (or team/queue) that owns the record.
	OwnerID string
	// ParentAccountID is a contact's account, when the CRM has one.
	ParentAccountID string
	// Phones maps a phone field name to its stored value.
	Phones map[string]string
	// Fields holds any extra fields requested in LookupRequest.Fields.
	Fields map[string]string
}

// NumberQuery asks for the records holding one caller number.
type NumberQuery struct {
	// Number is the caller in E.164; results are keyed by it.
	Number string
	// Forms are exact strings a CRM commonly stores for Number (E.164,
	// national and international formats, digits only, 00-prefix, ...).
	// Clients query with exact comparisons over these.
	Forms []string
	// Suffix, when set, switches the query to a suffix search for this
	// string (the original product's NumbersToCut); Forms are then not
	// read (the matcher sends none). Clients that cannot search suffixes
	// use their nearest equivalent (e.g. SOSL).
	Suffix string
}

// LookupRequest is one batch of number queries.
type LookupRequest struct {
	Numbers []NumberQuery
	// Fields lists extra fields per entity to return in Record.Fields
	// (used by Smart Routing rules).
	Fields map[Entity][]string
}

// LookupResult maps each queried E.164 number to the candidate records found
// for it, unverified. A number with no candidates may be absent.
type LookupResult map[string][]Record

// UserMatch says how Enreach users are matched to CRM users.
type UserMatch struct {
	// By is "email" or "field".
	By string
	// Field is the CRM user column holding the Enreach user id when By is "field".
	Field string
}

// UserQuery asks for the CRM user of one Enreach user.
type UserQuery struct {
	EnreachUserID string
	Email         string
}

// User is an active CRM user. Disabled users are never returned.
type User struct {
	ID    string
	Email string
	Name  string
}

// Direction of a call as seen from the contact centre.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Kind distinguishes completed calls from open callback requests.
type Kind string

const (
	KindCall     Kind = "call"
	KindCallback Kind = "callback"
)

// Activity is one phone-call activity to write.
type Activity struct {
	// Key is the deterministic idempotency key (see Key). Clients derive
	// their CRM-side id or external id from it.
	Key  string
	Kind Kind
	// EnreachID is the Enreach CallId or CallbackListItemId.
	EnreachID string

	Subject     string
	Description string
	Direction   Direction
	// Number is the customer's number as written to the activity (E.164
	// when it parsed, otherwise the raw value).
	Number string
	// DialledNumber is the number the customer called (inbound) or the
	// agent's number (outbound), when known.
	DialledNumber string
	Start         time.Time
	End           time.Time
	Duration      time.Duration
	// Answered is false for unanswered (missed) queue calls.
	Answered  bool
	QueueName string

	// OwnerID is the CRM user that owns the activity; empty means the
	// integration user.
	OwnerID string
	// UserID is the CRM user party (from for outbound, to for inbound);
	// empty means none.
	UserID string
	// Regarding is the matched customer; nil writes the activity unlinked.
	Regarding *Ref
	// Related holds every matched record when the client links several
	// (e.g. Zoho RelatesTo<Module> lookups); Regarding is among them.
	Related []Ref

	// Open keeps the activity open instead of completing it. StatusReason,
	// when non-zero, is the CRM status reason to set on an open activity
	// (multiple-match phone call status).
	Open         bool
	StatusReason int

	// Callback requests: the CRM queue the activity goes to, the due date,
	// and the party it is addressed to ("to" = queue or its owner).
	QueueID          string
	Due              *time.Time
	RecipientID      string
	RecipientIsQueue bool

	// Audit is the full Enreach record as JSON, for a client configured with
	// an audit field (the original products' EnableAudit); empty otherwise.
	Audit string
	// RecordingLink is the address of the call's (first) recording built
	// from phone_calls.recording_link; empty when not configured or the call
	// has no recording.
	RecordingLink string
}

// WriteStatus is the outcome of writing one activity.
type WriteStatus string

const (
	// Created: the CRM now holds a new activity.
	Created WriteStatus = "created"
	// Existed: the CRM already held the activity for this key (a replay);
	// counts as written.
	Existed WriteStatus = "existed"
	// Failed: nothing was written for this item; Err says why.
	Failed WriteStatus = "failed"
)

// WriteResult is the per-item outcome of WriteActivities, in input order.
type WriteResult struct {
	Key    string
	ID     string
	Status WriteStatus
	Err    error
}

// ActivityQuery asks for existing phone-call activities with a number whose
// start lies in [From, To].
type ActivityQuery struct {
	Number string
	From   time.Time
	To     time.Time
	// Key is the idempotency key of the item being checked (see Key), or
	// empty. A client whose CRM holds only a value derived from the key
	// (a Dynamics activityid) uses it to report ExistingActivity.Key for
	// the activity written for this item.
	Key string
}

// ExistingActivity is a phone-call activity already in the CRM.
type ExistingActivity struct {
	ID     string
	Number string
	Start  time.Time
	// Key is the callsync idempotency key the activity carries (see Key),
	// empty for an activity logged by a person or a softphone.
	Key string
}

// CloseRequest completes an open activity written earlier (a callback request
// closed in Enreach).
type CloseRequest struct {
	Key string
	ID  string
}

// Client is a batch-first CRM client. Every method takes a batch and makes as
// few HTTP requests as the CRM's batch APIs allow; implementations split
// batches at the CRM's own limits.
type Client interface {
	// Lookup returns the candidate customer records for each number.
	Lookup(ctx context.Context, req LookupRequest) (LookupResult, error)
	// Users resolves Enreach users to active CRM users, keyed by EnreachUserID.
	// Users with no active CRM user are absent.
	Users(ctx context.Context, match UserMatch, qs []UserQuery) (map[string]User, error)
	// FindActivities returns existing phone-call activities matching any query.
	FindActivities(ctx context.Context, qs []ActivityQuery) ([]ExistingActivity, error)
	// WriteActivities writes each activity once, with a result per item in
	// input order. A replay of an already written key reports Existed.
	// The returned error is for a failure of the whole batch only.
	WriteActivities(ctx context.Context, acts []Activity) ([]WriteResult, error)
	// CloseActivities completes open activities, with a result per item.
	CloseActivities(ctx context.Context, reqs []CloseRequest) ([]WriteResult, error)
}

// keyPrefix starts every idempotency key.
const keyPrefix = "callsync/v1/"

// Key returns the idempotency key of an Enreach item for a tenant. It is
// stable across processes and versions: changing it would duplicate writes.
func Key(tenant string, kind Kind, enreachID string) string {
	return keyPrefix + tenant + "/" + string(kind) + "/" + enreachID
}

// ParseKey splits a key made by Key; ok is false for any other string (an
// external id someone else wrote, a hash of a long key).
func ParseKey(key string) (tenant string, kind Kind, enreachID string, ok bool) {
	rest, found := strings.CutPrefix(key, keyPrefix)
	if !found {
		return "", "", "", false
	}
	tenant, rest, found = strings.Cut(rest, "/")
	if !found {
		return "", "", "", false
	}
	k, id, found := strings.Cut(rest, "/")
	kind = Kind(k)
	if !found || id == "" || (kind != KindCall && kind != KindCallback) {
		return "", "", "", false
	}
	return tenant, kind, id, true
}

// ErrNotRecorded marks an item the CRM client is configured not to record
// (e.g. Zoho with recording switched off for that direction). The engine
// records it as skipped, not failed. Wrap it with the client's reason.
var ErrNotRecorded = errors.New("not recorded by configuration")

// ErrPermanent marks an item or request error that a retry cannot fix
// (validation, missing privilege). Wrap it so callers can tell.
var ErrPermanent = errors.New("permanent")
