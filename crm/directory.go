package crm

import (
	"context"
	"errors"
	"time"
)

// PhoneLister is an optional capability of a Client: it lists the phone
// fields of an entity's records page by page, for the local phone directory.
// A full load asks with a zero Since; an incremental sync asks for records
// modified since a cursor and for records deleted since another. Pages follow
// the CRM's own paging (a continuation token in Next), so a load can resume
// from the last page token it stored.
type PhoneLister interface {
	// ListPhones returns one page of records with their phone fields.
	ListPhones(ctx context.Context, req PhoneListRequest) (PhonePage, error)
	// DeletedRecords returns one page of the ids of records deleted since
	// req.Since. A client whose CRM cannot say returns ErrNoDeleted.
	DeletedRecords(ctx context.Context, req DeletedRequest) (DeletedPage, error)
}

// PhoneBatchLister is an optional capability of a PhoneLister: the first
// pages of several entities' incremental listings in one request, so a
// sync that finds nothing changed costs one request, not one per entity.
type PhoneBatchLister interface {
	ListPhonesBatch(ctx context.Context, reqs []PhoneListRequest) ([]PhonePageResult, error)
}

// PhoneActivityBatchLister is an optional capability of a PhoneLister: the
// first pages of incremental listings (as PhoneBatchLister) and the existing
// activities of qs (as Client.FindActivities) in one request, so a cycle's
// directory sync and its call_start_margin check cost one request. found is
// complete only when ok; otherwise the caller asks FindActivities.
type PhoneActivityBatchLister interface {
	ListPhonesBatchWithActivities(ctx context.Context, reqs []PhoneListRequest, qs []ActivityQuery) (pages []PhonePageResult, found []ExistingActivity, ok bool, err error)
}

// PhonePageResult is one listing's page, or why it failed, in a batch.
type PhonePageResult struct {
	Page PhonePage
	Err  error
}

// ErrNoDeleted: the CRM offers no list of deleted records for the entity;
// deletions are only healed by the next full load.
var ErrNoDeleted = errors.New("the CRM lists no deleted records for this entity")

// ErrDeletedTooOld: the CRM no longer lists deletions that far back (its
// delete log was purged); only a full load finds them.
var ErrDeletedTooOld = errors.New("the CRM no longer lists deletions that far back")

// ErrPageExpired: a page token given back is no longer valid (expired or
// unknown); the load restarts from its first page.
var ErrPageExpired = errors.New("page token expired")

// PhoneListRequest asks for one page of an entity's records.
type PhoneListRequest struct {
	Entity Entity
	// Since: zero for every record (a full load); otherwise only records
	// modified at or after it.
	Since time.Time
	// Page is "" for the first page, else the Next of the previous page.
	Page string
	// Delta, when set, lists what changed since the listing that returned
	// it (PhonePage.Delta): modified and created records, and the ids of
	// deleted ones in PhonePage.Deleted. Since is ignored. A delta the CRM
	// no longer honours (expired) answers ErrPageExpired: only a full load
	// starts tracking again.
	Delta string
}

// PhoneRecord is one record's phone fields and what parsing them needs.
type PhoneRecord struct {
	Ref
	// Modified is the record's last-modified stamp in the CRM.
	Modified time.Time
	OwnerID  string
	// ParentAccountID is a contact's account, when the CRM has one.
	ParentAccountID string
	// Country is the record's address country as people typed it ("" when
	// none).
	Country string
	// Phones maps a phone field name to its stored value; empty values are
	// left out.
	Phones map[string]string
}

// PhonePage is one page of records.
type PhonePage struct {
	Records []PhoneRecord
	// Next continues the listing; "" on the last page.
	Next string
	// Skipped counts records of the page the client could not read
	// (malformed); they are left out, never stop a load.
	Skipped int
	// Requests counts the HTTP requests this page took.
	Requests int
	// Delta is set on the last page of a listing the CRM tracks changes
	// of (a full load, or a delta listing): give it back as
	// PhoneListRequest.Delta to list what changed since. "" when the CRM
	// does not track the entity's changes.
	Delta string
	// Deleted are the ids of records deleted since the delta a listing
	// was asked with.
	Deleted []string
}

// DeletedRequest asks for records of an entity deleted since a time.
type DeletedRequest struct {
	Entity Entity
	Since  time.Time
	Page   string
}

// DeletedPage is one page of deleted record ids.
type DeletedPage struct {
	IDs []string
	// Next continues the listing; "" on the last page.
	Next string
	// Until is the latest time the answer covers (the next Since); zero
	// when the CRM does not say.
	Until    time.Time
	Requests int
}
