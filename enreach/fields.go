package enreach

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Wire field mappings: Enreach JSON names -> Go struct fields.
//
// This file is the ONE place where the client knows Enreach's field names.
// Most of them are the team's [assumed] working contract (Enreach documents
// no field tables publicly; the names read by third-party clients such as
// mokso/enreachvoice and mokso/BeneCallArchiver back part of it [code]);
// correct them here against the live
// API. Names are matched case-insensitively (CallId = CallID = callid); a
// later name in a list is an alias tried when the first is absent.
//
// Required fields (the record is quarantined as Malformed without them):
//   - Call, ServiceCall: CallId, StartTime; Call also Direction (a wrong
//     direction would flip owner and parties).
//   - User, Queue, CallbackList, Callback, Identity: Id.
//
// Any present, non-null field that cannot be read (a time that does not
// parse, text where a number is due, ...) also quarantines the record: a
// silently zeroed value would reach the CRM as wrong data.

// decodeCall maps one GET /calls element (user call event).
func decodeCall(r *record) Call {
	return Call{
		CallID:       r.idField("CallId"),
		UserID:       r.str("UserId"),
		UserName:     r.str("UserName"),
		Outbound:     r.direction("Direction"), // 0 in, 1 out; bool or "In"/"Out" too
		ANum:         r.str("ANum"),
		BNum:         r.str("BNum"),
		StartTime:    r.requiredTime("StartTime"),
		AnswerTime:   r.optTime("AnswerTime"),
		EndTime:      r.time("EndTime"),
		Duration:     r.integer("Duration"), // seconds
		EndResult:    r.integer("EndResult"),
		Privacy:      privacy(r.str("Privacy")),
		QueueID:      r.str("QueueId"),
		QueueName:    r.str("QueueName"),
		RecordingIDs: r.strs("RecordingIds"),
		Modified:     r.time("Modified", "ModifiedTime"),
		Raw:          r.raw,
	}
}

// decodeServiceCall maps one GET /servicecall element.
func decodeServiceCall(r *record) ServiceCall {
	return ServiceCall{
		CallID:           r.idField("CallId"),
		QueueID:          r.str("QueueId"),
		QueueName:        r.str("QueueName"),
		QueueNumber:      r.str("QueueNumber"),
		ANum:             r.str("ANum"),
		BNum:             r.str("BNum"),
		StartTime:        r.requiredTime("StartTime"), // arrival in the queue
		AnswerTime:       r.optTime("AnswerTime"),
		EndTime:          r.time("EndTime"),
		Duration:         r.integer("Duration"),
		AnsweredByUserID: r.str("AnsweredByUserId", "AnswerUserId"),
		EndResult:        r.integer("EndResult"),
		RecordingIDs:     r.strs("RecordingIds"),
		Modified:         r.time("Modified", "ModifiedTime"),
		Raw:              r.raw,
	}
}

// decodeUser maps one GET /users element.
func decodeUser(r *record) User {
	return User{
		ID:           r.idField("Id", "UserId"),
		UserName:     r.str("UserName", "Email"),
		FirstName:    r.str("FirstName"),
		LastName:     r.str("LastName"),
		MobileNumber: r.str("MobileNumber"),
		WorkNumber:   r.str("WorkNumber"),
	}
}

// decodeIdentity maps GET /users/me ([code] Id, OrganizationID).
func decodeIdentity(r *record) Identity {
	return Identity{
		ID:             r.idField("Id", "UserId"),
		UserName:       r.str("UserName", "Email"),
		OrganizationID: r.str("OrganizationId"),
	}
}

// decodeQueue maps one GET /queues element ([code] Id, Name, Numbers).
func decodeQueue(r *record) Queue {
	return Queue{
		ID:      r.idField("Id", "QueueId"),
		Name:    r.str("Name", "QueueName"),
		Numbers: queueNumbers(r),
	}
}

// queueNumbers reads Numbers as a list of strings or of objects carrying
// a Number field.
func queueNumbers(r *record) []string {
	_, v, ok := r.lookup("Numbers")
	if !ok {
		return nil
	}
	var objs []map[string]json.RawMessage
	if json.Unmarshal(v, &objs) == nil {
		var out []string
		for _, o := range objs {
			sub := &record{}
			for k, x := range o {
				lk := []byte(strings.ToLower(k))
				sub.add(field{name: lk, lowered: true, v: x}, lk)
			}
			if n := sub.str("Number", "PhoneNumber"); n != "" && sub.err == nil {
				out = append(out, n)
			} else if sub.err != nil {
				r.fail("Numbers", "%v", sub.err)
			}
		}
		return out
	}
	return r.strs("Numbers")
}

// decodeCallbackList maps one GET /callbacklists element.
func decodeCallbackList(r *record) CallbackList {
	return CallbackList{
		ID:      r.idField("Id", "CallbackListId"),
		Name:    r.str("Name"),
		QueueID: r.str("QueueId"),
	}
}

// decodeCallback maps one callback request (GET /callbacks element and the
// Data of Callback* webhook deliveries). Id is the CallbackListItemId
// ([code] name, accepted as an alias).
func decodeCallback(r *record) Callback {
	return Callback{
		ID:             r.idField("Id", "CallbackListItemId", "CallListItemId"),
		CallbackListID: r.str("CallbackListId"),
		ContactNumber:  r.str("ContactNumber"),
		ContactName:    r.str("ContactName"),
		ContactMessage: r.str("ContactMessage"),
		Note:           r.str("Note"),
		QueueID:        r.str("QueueId"),
		CreatedTime:    r.time("CreatedTime"),
		ModifiedTime:   r.time("ModifiedTime", "Modified"),
		DueDate:        r.optTime("DueDate"),
		IsClosed:       r.boolean("IsClosed"),
		ClosedTime:     r.optTime("ClosedTime"),
		HandlingStatus: r.str("HandlingStatus"),
		AssignedUserID: r.str("AssignedUserId"),
		RecordingID:    r.str("RecordingId"),
		Raw:            r.raw,
	}
}

// discoveredEndpoint reads [0].apiEndpoint of the discovery answer
// ([doc] https://doc.enreachvoice.com/beneapi).
func discoveredEndpoint(raw json.RawMessage) (string, error) {
	r, err := newRecord(raw)
	if err != nil {
		return "", err
	}
	ep := r.str("apiEndpoint")
	if r.err != nil {
		return "", r.err
	}
	if ep == "" {
		return "", fmt.Errorf("answer has no apiEndpoint")
	}
	return ep, nil
}

// Privacy values of a direct call ([doc] https://benemen.atlassian.net/wiki/spaces/PD/pages/2012479494;
// the wire name and spelling are [assumed]). Known values are returned in this canonical
// casing, others as sent.
const (
	PrivacyWork      = "Work"
	PrivacyPrivate   = "Private"
	PrivacyUndefined = "Undefined"
)

func privacy(s string) string {
	for _, p := range []string{PrivacyWork, PrivacyPrivate, PrivacyUndefined} {
		if strings.EqualFold(strings.TrimSpace(s), p) {
			return p
		}
	}
	return s
}

// Webhook envelope names ([code] copenhagensales/sales-commission-hub's
// Enreach webhook parser; Data is [assumed]).
const (
	envID             = "Id"
	envEventType      = "EventType"
	envTimestamp      = "Timestamp"
	envRootEntityType = "RootEntityType"
	envRootEntityID   = "RootEntityId"
	envEntityType     = "EntityType"
	envEntityID       = "EntityId"
	envData           = "Data"
)
