package enreachtest

import (
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/internal/jsonw"
)

// The double's wire shapes, written from the team's working contract for the
// undocumented parts of the Enreach API, independently of the client's reader in
// enreach/fields.go, so a test proves the two agree rather than sharing one
// mapping. Times are UTC "yyyy-MM-dd HH:mm:ss"; absent optional values are
// JSON null.

const wireTime = "2006-01-02 15:04:05"

func ts(t time.Time) string { return t.UTC().Format(wireTime) }

func optTS(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := ts(*t)
	return &s
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ids(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type wireCall struct {
	CallId       string
	UserId       string
	UserName     string
	Direction    int
	ANum         string
	BNum         string
	StartTime    string
	AnswerTime   *string
	EndTime      string
	Duration     int
	EndResult    int
	Privacy      string
	QueueId      *string
	QueueName    *string
	RecordingIds []string
	Modified     string
}

func toWireCall(c enreach.Call) wireCall {
	dir := 0
	if c.Outbound {
		dir = 1
	}
	return wireCall{
		CallId: c.CallID, UserId: c.UserID, UserName: c.UserName, Direction: dir,
		ANum: c.ANum, BNum: c.BNum, StartTime: ts(c.StartTime), AnswerTime: optTS(c.AnswerTime),
		EndTime: ts(c.EndTime), Duration: c.Duration, EndResult: c.EndResult, Privacy: c.Privacy,
		QueueId: optStr(c.QueueID), QueueName: optStr(c.QueueName), RecordingIds: ids(c.RecordingIDs),
		Modified: ts(c.Modified),
	}
}

type wireServiceCall struct {
	CallId           string
	QueueId          string
	QueueName        *string
	QueueNumber      string
	ANum             string
	BNum             string
	StartTime        string
	AnswerTime       *string
	EndTime          string
	Duration         int
	AnsweredByUserId *string
	EndResult        int
	RecordingIds     []string
	Modified         string
}

func toWireServiceCall(c enreach.ServiceCall) wireServiceCall {
	return wireServiceCall{
		CallId: c.CallID, QueueId: c.QueueID, QueueName: optStr(c.QueueName), QueueNumber: c.QueueNumber,
		ANum: c.ANum, BNum: c.BNum, StartTime: ts(c.StartTime), AnswerTime: optTS(c.AnswerTime),
		EndTime: ts(c.EndTime), Duration: c.Duration, AnsweredByUserId: optStr(c.AnsweredByUserID),
		EndResult: c.EndResult, RecordingIds: ids(c.RecordingIDs), Modified: ts(c.Modified),
	}
}

type wireUser struct {
	Id           string
	UserName     string
	FirstName    string
	LastName     string
	MobileNumber string
	WorkNumber   string
}

func toWireUser(u enreach.User) wireUser {
	return wireUser{Id: u.ID, UserName: u.UserName, FirstName: u.FirstName, LastName: u.LastName,
		MobileNumber: u.MobileNumber, WorkNumber: u.WorkNumber}
}

// wireMe is GET /users/me ([code] Id, OrganizationID).
type wireMe struct {
	Id             string
	UserName       string
	OrganizationID string
}

// wireQueue follows the [code] shape {Id, Name, TypeId, Numbers[]}.
type wireQueue struct {
	Id      string
	Name    string
	TypeId  int
	Numbers []string
}

func toWireQueue(q enreach.Queue) wireQueue {
	return wireQueue{Id: q.ID, Name: q.Name, TypeId: 1, Numbers: ids(q.Numbers)}
}

type wireCallbackList struct {
	Id      string
	Name    string
	QueueId *string
}

func toWireCallbackList(l enreach.CallbackList) wireCallbackList {
	return wireCallbackList{Id: l.ID, Name: l.Name, QueueId: optStr(l.QueueID)}
}

type wireCallback struct {
	Id             string
	CallbackListId string
	ContactNumber  string
	ContactName    *string
	ContactMessage *string
	Note           *string
	QueueId        *string
	CreatedTime    string
	ModifiedTime   string
	DueDate        *string
	IsClosed       bool
	ClosedTime     *string
	HandlingStatus *string
	AssignedUserId *string
	RecordingId    *string
}

func toWireCallback(c enreach.Callback) wireCallback {
	return wireCallback{
		Id: c.ID, CallbackListId: c.CallbackListID, ContactNumber: c.ContactNumber,
		ContactName: optStr(c.ContactName), ContactMessage: optStr(c.ContactMessage), Note: optStr(c.Note),
		QueueId: optStr(c.QueueID), CreatedTime: ts(c.CreatedTime), ModifiedTime: ts(c.ModifiedTime),
		DueDate: optTS(c.DueDate), IsClosed: c.IsClosed, ClosedTime: optTS(c.ClosedTime),
		HandlingStatus: optStr(c.HandlingStatus), AssignedUserId: optStr(c.AssignedUserID),
		RecordingId: optStr(c.RecordingID),
	}
}

// wireDelivery is the webhook envelope ([code] names; Data [assumed]).
type wireDelivery struct {
	Id             string
	Timestamp      string
	RootEntityType string
	RootEntityId   string
	EntityType     string
	EntityId       string
	EventType      string
	Data           *wireCallback `json:",omitempty"`
}

// wireDiscovery is one element of the discovery answer ([doc] https://doc.enreachvoice.com/beneapi).
type wireDiscovery struct {
	SiloName          string `json:"siloName"`
	Username          string `json:"username"`
	APIEndpoint       string `json:"apiEndpoint"`
	UIEndpoint        string `json:"uiEndpoint"`
	Authority         string `json:"authority"`
	AuthorityIdPHint  string `json:"authorityIdPHint"`
	BasicAuthEndpoint string `json:"basicAuthEndpoint"`
}

type wireError struct {
	Message string
}

// appendCall appends json.Marshal(toWireCall(c)) to b without reflection
// and without toWireCall's strings: a backfill's listings are 100,000
// calls, which the double's reflection encoded on the cores callsync has.
// TestWireAsMarshal and FuzzWireAsMarshal compare the two.
func appendCall(b []byte, c enreach.Call) []byte {
	b = append(b, `{"CallId":`...)
	b = jsonw.AppendString(b, c.CallID)
	b = append(b, `,"UserId":`...)
	b = jsonw.AppendString(b, c.UserID)
	b = append(b, `,"UserName":`...)
	b = jsonw.AppendString(b, c.UserName)
	b = append(b, `,"Direction":`...)
	if c.Outbound {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = appendSpan(b, c.ANum, c.BNum, c.StartTime, c.AnswerTime, c.EndTime, c.Duration)
	b = append(b, `,"EndResult":`...)
	b = jsonw.AppendInt(b, c.EndResult)
	b = append(b, `,"Privacy":`...)
	b = jsonw.AppendString(b, c.Privacy)
	b = append(b, `,"QueueId":`...)
	b = appendOptStr(b, c.QueueID)
	b = append(b, `,"QueueName":`...)
	b = appendOptStr(b, c.QueueName)
	b = append(b, `,"RecordingIds":`...)
	b = appendIDs(b, c.RecordingIDs)
	b = append(b, `,"Modified":`...)
	b = appendTS(b, c.Modified)
	return append(b, '}')
}

// appendServiceCall is appendCall for json.Marshal(toWireServiceCall(c)).
func appendServiceCall(b []byte, c enreach.ServiceCall) []byte {
	b = append(b, `{"CallId":`...)
	b = jsonw.AppendString(b, c.CallID)
	b = append(b, `,"QueueId":`...)
	b = jsonw.AppendString(b, c.QueueID)
	b = append(b, `,"QueueName":`...)
	b = appendOptStr(b, c.QueueName)
	b = append(b, `,"QueueNumber":`...)
	b = jsonw.AppendString(b, c.QueueNumber)
	b = appendSpan(b, c.ANum, c.BNum, c.StartTime, c.AnswerTime, c.EndTime, c.Duration)
	b = append(b, `,"AnsweredByUserId":`...)
	b = appendOptStr(b, c.AnsweredByUserID)
	b = append(b, `,"EndResult":`...)
	b = jsonw.AppendInt(b, c.EndResult)
	b = append(b, `,"RecordingIds":`...)
	b = appendIDs(b, c.RecordingIDs)
	b = append(b, `,"Modified":`...)
	b = appendTS(b, c.Modified)
	return append(b, '}')
}

// appendTS appends ts(t) as a JSON string: its digits, '-', ':' and ' '
// need no escaping.
// appendSpan writes the fields a call and a service call share, in the
// order both wire types declare them: ANum, BNum, StartTime, AnswerTime,
// EndTime, Duration.
func appendSpan(b []byte, anum, bnum string, start time.Time, answer *time.Time, end time.Time, duration int) []byte {
	b = append(b, `,"ANum":`...)
	b = jsonw.AppendString(b, anum)
	b = append(b, `,"BNum":`...)
	b = jsonw.AppendString(b, bnum)
	b = append(b, `,"StartTime":`...)
	b = appendTS(b, start)
	b = append(b, `,"AnswerTime":`...)
	b = appendOptTS(b, answer)
	b = append(b, `,"EndTime":`...)
	b = appendTS(b, end)
	b = append(b, `,"Duration":`...)
	return jsonw.AppendInt(b, duration)
}

func appendTS(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, wireTime)
	return append(b, '"')
}

// appendOptTS appends optTS(t): null for nil or the zero time.
func appendOptTS(b []byte, t *time.Time) []byte {
	if t == nil || t.IsZero() {
		return append(b, "null"...)
	}
	return appendTS(b, *t)
}

// appendOptStr appends optStr(s): null for "".
func appendOptStr(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonw.AppendString(b, s)
}

// appendIDs appends ids(s): [] for nil.
func appendIDs(b []byte, s []string) []byte {
	b = append(b, '[')
	for i, id := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, id)
	}
	return append(b, ']')
}
