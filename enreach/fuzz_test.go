package enreach

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Seeds: the shapes of the API's answers and webhook bodies, as the other
// tests of this package use them, plus broken ones.
var recordSeeds = []string{
	`[{"CallId":"c1","UserId":"u1","UserName":"alice@contoso.example","Direction":0,"ANum":"+358401234567","BNum":"+358201000100","StartTime":"2026-01-10 10:00:00","AnswerTime":"2026-01-10 10:00:05","EndTime":"2026-01-10 10:02:00","Duration":115,"EndResult":3,"Privacy":"None","RecordingIds":["r1"],"Modified":"2026-01-10 10:02:01"}]`,
	`[{"CALLID":"c1","userid":"u1","Direction":"Out","anum":"+358401000001","bNum":"0501234567","StartTime":"2026-01-10T11:00:00.5Z"}]`,
	`[{"CallID":"c2","Direction":true,"StartTime":"2026-01-10 11:00:00","AnswerTime":null,"Duration":12.6,"EndResult":"3","Privacy":"Weird","RecordingIds":[1234,null,"r9"]}]`,
	`[{"callid":"c3","direction":0,"starttime":"/Date(1774747815000+0300)/","endtime":"","modified":"2026-01-10 11:31:00+0000"}]`,
	`[{"CallId":"s1","QueueId":"q1","QueueName":"Sales","QueueNumber":"+358201234500","ANum":"+358401234567","StartTime":"2026-01-10 10:00:00","AnsweredByUserId":"u1","Duration":"30"}]`,
	`[{"Id":"u1","UserName":"alice@contoso.example","FirstName":"Alice","LastName":"A","WorkNumber":"+358201000001","MobileNumber":"+358401000001"}]`,
	`[{"Id":"q-raw","Name":"Old","Numbers":[{"Number":"+358201000300"}]},{"Id":"q2","Numbers":"+3582010,+3582011"}]`,
	`[{"Id":"cb1","CallbackListId":"l1","ContactNumber":"+358401234567","ContactName":"Caller","ContactMessage":"Please call","QueueId":"q1","CreatedTime":"2026-01-10 10:00:00","ModifiedTime":"2026-01-10 10:00:00","DueDate":"2026-01-10 11:00:00","IsClosed":false,"CallbackAttempts":[]}]`,
	`[{"CallId":"x","CallID":"y","StartTime":"2026-01-10 10:00:00","Direction":0}]`,
	`[{"CallId":"bad-dur","StartTime":"2026-01-10 10:00:00","Direction":1,"Duration":1e400}]`,
	`[1,"a",null,{}]`, `null`, `[]`, `{"Items":[]}`, `[`, `[{"a":`, ``,
}

// The list decoders (calls, service calls, users, queues, callback lists,
// callbacks) never panic: each element is decoded or quarantined with a
// reason, never both, never neither.
func FuzzDecodeRecords(f *testing.F) {
	for _, s := range recordSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, err := decodeArray(bytes.NewReader(body))
		if err != nil {
			return
		}
		check := func(what string, ok, bad int) {
			if ok+bad != len(raws) {
				t.Fatalf("%s: %d decoded + %d malformed of %d elements", what, ok, bad, len(raws))
			}
		}
		for _, raw := range raws {
			checkRecordAsUnmarshal(t, raw)
		}
		calls, bad := decodeAll(raws, decodeCall)
		check("calls", len(calls), len(bad))
		if read, readBad := decodeRead(raws, decodeCall); len(read) != len(calls) || len(readBad) != len(bad) {
			t.Fatalf("decodeRead: %d calls, %d malformed; decodeAll %d, %d", len(read), len(readBad), len(calls), len(bad))
		}
		for _, m := range bad {
			if m.Reason == "" {
				t.Fatalf("malformed record without a reason: %s", m.Raw)
			}
		}
		for _, c := range calls {
			if c.CallID == "" || c.StartTime.IsZero() || c.StartTime.Location() != time.UTC {
				t.Fatalf("decoded call without id or UTC start: %+v", c)
			}
		}
		sc, bad := decodeAll(raws, decodeServiceCall)
		check("service calls", len(sc), len(bad))
		users, bad := decodeAll(raws, decodeUser)
		check("users", len(users), len(bad))
		queues, bad := decodeAll(raws, decodeQueue)
		check("queues", len(queues), len(bad))
		lists, bad := decodeAll(raws, decodeCallbackList)
		check("callback lists", len(lists), len(bad))
		cbs, bad := decodeAll(raws, decodeCallback)
		check("callbacks", len(cbs), len(bad))
		ids, bad := decodeAll(raws, decodeIdentity)
		check("identities", len(ids), len(bad))
		for _, raw := range raws {
			_, _ = discoveredEndpoint(raw)
		}
	})
}

// A webhook body is a Delivery or an ErrInvalidDelivery, never a panic; an
// accepted one has its id and event type, and a callback event its callback.
func FuzzParseDelivery(f *testing.F) {
	for _, s := range []string{
		`{"Id":"d1","EventType":"CallbackCreated","Timestamp":"2026-01-10T10:00:00.000Z","EntityType":"CallList","EntityId":"l1","Data":{"Id":"cb1","CallbackListId":"l1","ContactNumber":"+358401234567","CreatedTime":"2026-01-10 10:00:00"}}`,
		`{"id":" d1 ","eventtype":"callbackclosed","timestamp":"2026-01-10 10:00:00","entitytype":"CallList","entityid":"l9","data":{"id":"cb9","IsClosed":true,"ClosedTime":"2026-01-10 10:00:00"}}`,
		`{"Id":"d2","EventType":"QueueCallInConnected","EntityType":"Queue","EntityId":"q1"}`,
		`{"EventType":"CallbackCreated"}`, `{"Id":"d3","EventType":"CallbackCreated","Data":"x"}`,
		`{"Id":`, `[{"Id":"1"}]`, `null`, ``, `{"Id":"d4","EventType":"CallbackCreated","Timestamp":"yesterday","Data":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDelivery(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidDelivery) {
				t.Fatalf("error %v does not wrap ErrInvalidDelivery", err)
			}
			return
		}
		if d.ID == "" || d.EventType == "" {
			t.Fatalf("accepted a delivery without id or event type: %+v", d)
		}
		if d.Callback != nil && d.Callback.ID == "" {
			t.Fatalf("accepted a callback without id: %+v", d.Callback)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

// ParseTime returns UTC or an error, never a panic.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-03-29 01:30:15", "2026-03-29T01:30:15.1234567Z", "2026-03-29 04:30:15+0300",
		"/Date(1774747815000)/", "/Date(1774747815000+0300)/", "/Date(-99999999999999999999)/", "/Date()/", "/Date(1+)/", "", "yesterday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err == nil && tm.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %v, not UTC", s, tm)
		}
	})
}
