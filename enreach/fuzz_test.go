package enreach

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// decodeArrayDecoder is decodeArray as it read with encoding/json's
// Decoder: the reference the jsontext reading is compared against.
func decodeArrayDecoder(r io.Reader) ([]json.RawMessage, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("not a JSON array (starts with %v)", tok)
	}
	var out []json.RawMessage
	for dec.More() {
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// arraySeeds are answers whose reading differs most between JSON readers:
// names given twice, invalid UTF-8 and lone surrogates in strings, numbers
// out of range, what follows the array, broken syntax.
var arraySeeds = []string{
	`[{"a":1,"a":2}]`, "[\"\xff\"]", `["\ud800"]`, `["\udc00\ud800"]`, `["\ud83d\ude00"]`, `[{"a":"\u0000<>&\u2028"}]`,
	`[1e400,-0,0.5e-10]`, "[ {\"a\" : [ 1 , 2 ] } ,\n{ } ]", `[]  garbage`, `[1]]`, ` null `, `   `,
	`[1 2]`, `[1,]`, `[01]`, `[nul]`, `[{"a":1}{"b":2}]`, "\xef\xbb\xbf[]", `[1.]`, `[-]`, `[{"a" 1}]`, `"str"`, `12`, `true`, `{}`,
}

// decodeArray accepts what encoding/json's Decoder accepted, element by
// element byte for byte, and refuses what it refused.
func FuzzDecodeArrayAsDecoder(f *testing.F) {
	for _, s := range append(append([]string{}, recordSeeds...), arraySeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeArray(bytes.NewReader(body))
		want, werr := decodeArrayDecoder(bytes.NewReader(body))
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, the Decoder's %v", body, err, werr)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, the Decoder read %d", body, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: element %d is %q, the Decoder read %q", body, i, got[i], want[i])
			}
		}
	})
}
