package crm

import (
	"context"
	"errors"
)

// ActivityUpdate changes an activity written earlier. The client finds it by
// ID (the CRM id recorded when it was written) or, when ID is empty, by its
// idempotency key Key. Only the fields set are changed.
type ActivityUpdate struct {
	Key string
	ID  string
	// Kind and Direction are those the activity was written with (a client
	// needs them to rebuild parties or to complete it again).
	Kind      Kind
	Direction Direction
	// Regarding, when set, links the activity to this customer record (and
	// makes it the customer party where the CRM keeps parties); Related are
	// all matched records for clients that link several.
	Regarding *Ref
	Related   []Ref
	// Description, when non-empty, replaces the description.
	Description string
	// Completed says the activity was written completed: a CRM that keeps
	// completed activities read-only (Dynamics) reopens it for the update
	// and completes it again in the same transaction.
	Completed bool
	// OnlyOpen leaves the activity alone when it is no longer open in the
	// CRM (a callback request someone completed): the result is Failed with
	// ErrClosed.
	OnlyOpen bool
}

// Updated is the WriteStatus of an activity changed by UpdateActivities.
const Updated WriteStatus = "updated"

// ErrClosed marks an update refused because the activity is closed in the
// CRM (ActivityUpdate.OnlyOpen, or a CRM that never edits closed ones).
var ErrClosed = errors.New("activity is closed in the CRM")

// ErrNotFound marks an update of an activity the CRM does not hold (deleted
// there, or never written).
var ErrNotFound = errors.New("activity not found in the CRM")

// Updater is the optional capability of a client that can change activities
// it wrote: linking a call written unlinked once its caller is known
// (phone_calls.write_unmatched), and naming every request of a callback
// bundle in each. Batch-first like Client: one result per item, in input
// order (Updated or Failed); the error is for a failure of the whole batch.
type Updater interface {
	UpdateActivities(ctx context.Context, ups []ActivityUpdate) ([]WriteResult, error)
}
