package jobs

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// payloadCalls are calls with every optional field set and unset, text that
// Marshal escapes, times with and without fractions and zones, and raw
// records compact, indented and with characters Marshal escapes.
func payloadCalls() []Call {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	helsinki := time.FixedZone("EET", 2*3600)
	full := Call{
		ID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f", Queue: true, Outbound: true, Answered: true,
		ANum: "+358401234567", BNum: "+358201234567", UserID: "u-1", UserName: "Äijälä <Agent> & Co",
		QueueID: "q-1", QueueName: "Support \"VIP\"", QueueNumber: "+358207654321",
		Start: start, End: start.Add(3*time.Minute + 250*time.Millisecond), Duration: 180,
		Privacy: "private", Recordings: []string{"rec-1", "rec\u20282"},
		Raw: []json.RawMessage{
			json.RawMessage(`{"CallId":"0f6b2c1e","ANum":"+358401234567","Duration":180}`),
			json.RawMessage("{\n  \"CallId\": \"0f6b2c1e\",\n  \"QueueName\": \"A & B <x>\"\n}"),
		},
	}
	out := []Call{
		{},
		{ID: "x", Start: start, End: start},
		full,
		{ID: "tab\there", ANum: "\x01", BNum: "\xff", Start: start.In(helsinki), End: start.Add(time.Nanosecond).In(helsinki), Duration: -1},
		{ID: "one-raw", Start: start, End: start, Raw: []json.RawMessage{json.RawMessage(`{"a":"€ …"}`)}},
		{ID: "html-raw", Start: start, End: start, Raw: []json.RawMessage{json.RawMessage(`{"a":"x&y"}`), json.RawMessage(`{"b":"x>y"}`)}},
		{ID: "nil-raw", Start: start, End: start, Raw: []json.RawMessage{nil, json.RawMessage(`"s"`)}},
		{ID: "empty-lists", Start: start, End: start, Recordings: []string{}, Raw: []json.RawMessage{}},
	}
	// Each optional field alone.
	for i := range 13 {
		c := Call{ID: "alone", ANum: "a", BNum: "b", Start: start, End: start}
		switch i {
		case 0:
			c.Queue = true
		case 1:
			c.Outbound = true
		case 2:
			c.Answered = true
		case 3:
			c.UserID = full.UserID
		case 4:
			c.UserName = full.UserName
		case 5:
			c.QueueID = full.QueueID
		case 6:
			c.QueueName = full.QueueName
		case 7:
			c.QueueNumber = full.QueueNumber
		case 8:
			c.Privacy = full.Privacy
		case 9:
			c.Recordings = full.Recordings[:1]
		case 10:
			c.Raw = full.Raw[:1]
		case 11:
			c.Raw = full.Raw[1:]
		case 12:
			c.Duration = 7200
		}
		out = append(out, c)
	}
	return out
}

// TestCallPayloadIsMarshal: the ledger payload is json.Marshal's, byte for
// byte, and reads back as the same call.
// callPayload writes Call's fields one by one: a field added to Call must
// be added there too. The comparison with Marshal sees a missing one only
// in a call that sets it, so the call with every field set must set each
// of them.
func TestPayloadCallsSetEveryField(t *testing.T) {
	var full Call
	for _, c := range payloadCalls() {
		if c.ID == "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f" {
			full = c
		}
	}
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue // not in json.Marshal's payload either
		}
		if v.Field(i).IsZero() {
			t.Errorf("payloadCalls' full call leaves Call.%s unset: set it, and write it in callPayload", v.Type().Field(i).Name)
		}
	}
}

func TestCallPayloadIsMarshal(t *testing.T) {
	for i, c := range payloadCalls() {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := callPayload(c)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("call %d: callPayload = %s, %v\nwant %s", i, got, err, want)
		}
	}
	bad := Call{ID: "x", Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := callPayload(bad); err == nil {
		t.Error("year 10000: no error (Marshal refuses it)")
	}
}

// TestAuditIsMarshal: the audit text is json.Compact of a single record and
// json.Marshal of several, as before it was appended without reflection.
func TestAuditIsMarshal(t *testing.T) {
	for i, c := range payloadCalls() {
		var want string
		switch {
		case len(c.Raw) == 0:
			want = "CallId is " + c.ID
		case len(c.Raw) == 1 && c.Raw[0] != nil:
			var b bytes.Buffer
			if err := json.Compact(&b, c.Raw[0]); err != nil {
				t.Fatal(err)
			}
			want = b.String()
		default:
			b, err := json.Marshal(c.Raw)
			if err != nil {
				t.Fatal(err)
			}
			want = string(b)
		}
		if got := Audit(c, true); got != want {
			t.Errorf("call %d: Audit = %s\nwant %s", i, got, want)
		}
	}
}

// BenchmarkCallPayload is the per-call cost of a ledger payload (`go test
// -bench CallPayload ./jobs`).
func BenchmarkCallPayload(b *testing.B) {
	c := benchCall()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := callPayload(c); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCall is a queue call merged from a service call and its answering
// user's leg, raw records as Enreach lists them.
func benchCall() Call {
	c := payloadCalls()[2]
	c.UserName, c.QueueName = "Agent 12", "Support"
	c.Raw = []json.RawMessage{
		json.RawMessage(`{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f","QueueId":"7c0e5a4b-2d1f-4e3a-9b8c-6d5e4f3a2b1c","QueueName":"Support","QueueNumber":"+358207654321","ANum":"+358401234567","BNum":"+358207654321","StartTime":"2026-11-20 09:30:00","AnswerTime":"2026-11-20 09:30:12","EndTime":"2026-11-20 09:33:00","Duration":180,"AnsweredByUserId":"5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d","EndResult":1,"RecordingIds":["rec-1"],"Modified":"2026-11-20 09:33:01"}`),
		json.RawMessage(`{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f","UserId":"5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d","UserName":"Agent 12","Direction":0,"ANum":"+358401234567","BNum":"+358207654321","StartTime":"2026-11-20 09:30:10","AnswerTime":"2026-11-20 09:30:12","EndTime":"2026-11-20 09:33:00","Duration":168,"EndResult":1,"Privacy":"","QueueId":"7c0e5a4b-2d1f-4e3a-9b8c-6d5e4f3a2b1c","QueueName":"Support","RecordingIds":[],"Modified":"2026-11-20 09:33:01"}`),
	}
	return c
}

// BenchmarkAudit is the per-call cost of the audit text of a merged call
// (`go test -bench Audit ./jobs`).
func BenchmarkAudit(b *testing.B) {
	c := benchCall()
	b.ReportAllocs()
	for b.Loop() {
		_ = Audit(c, true)
	}
}
