package enreach

import (
	"encoding/json"
	"time"
)

// Window is a UTC time range [From, To). ByModified selects the
// ModifiedAfter/ModifiedBefore filter instead of StartTime/EndTime.
type Window struct {
	From       time.Time
	To         time.Time
	ByModified bool
}

// Call is one user call event from GET /calls.
type Call struct {
	CallID       string
	UserID       string
	UserName     string
	Outbound     bool // Direction: 0 inbound, 1 outbound
	ANum         string
	BNum         string
	StartTime    time.Time
	AnswerTime   *time.Time
	EndTime      time.Time
	Duration     int // seconds
	EndResult    int // 0 answered, non-zero not answered
	Privacy      string
	QueueID      string
	QueueName    string
	RecordingIDs []string
	Modified     time.Time
	// Raw is the record as received (field names as sent), for the audit text.
	Raw json.RawMessage
}

// ServiceCall is one queue (service) call from GET /servicecall.
type ServiceCall struct {
	CallID           string
	QueueID          string
	QueueName        string
	QueueNumber      string
	ANum             string
	BNum             string
	StartTime        time.Time
	AnswerTime       *time.Time
	EndTime          time.Time
	Duration         int
	AnsweredByUserID string
	EndResult        int
	RecordingIDs     []string
	Modified         time.Time
	Raw              json.RawMessage
}

// User is one Enreach user from GET /users.
type User struct {
	ID           string
	UserName     string // e-mail
	FirstName    string
	LastName     string
	MobileNumber string
	WorkNumber   string
}

// Queue is one service queue from GET /queues.
type Queue struct {
	ID      string
	Name    string
	Numbers []string
}

// CallbackList is one callback list from GET /callbacklists.
type CallbackList struct {
	ID      string
	Name    string
	QueueID string
}

// Callback is one callback request (a call list item).
type Callback struct {
	ID             string // CallbackListItemId
	CallbackListID string
	ContactNumber  string
	ContactName    string
	ContactMessage string
	Note           string
	QueueID        string
	CreatedTime    time.Time
	ModifiedTime   time.Time
	DueDate        *time.Time
	IsClosed       bool
	ClosedTime     *time.Time
	HandlingStatus string
	AssignedUserID string
	RecordingID    string
	Raw            json.RawMessage
}

// Malformed is an API record that could not be parsed. It is quarantined with
// its reason; the rest of the batch goes on.
type Malformed struct {
	// ID is the record's id when it could be read, else empty.
	ID     string
	Reason string
	Raw    json.RawMessage
}

// Delivery is one webhook delivery (the envelope).
type Delivery struct {
	ID             string
	EventType      string
	Timestamp      time.Time
	RootEntityType string
	RootEntityID   string
	EntityType     string
	EntityID       string
	// Callback is set for Callback* events.
	Callback *Callback
	Raw      json.RawMessage
}
