package enreachtest

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// wireStrings are values the calls' strings are checked with: what
// json.Marshal escapes (HTML characters, U+2028, control characters,
// invalid UTF-8) and plain ones.
var wireStrings = []string{"", "plain", `a"b\c`, "<a href='x'>&amp;</a>", "line\u2028sep\u2029", "\x00\x1f\t\n", "\xff\xfe bad", "é 漢字 🙂"}

func wireCalls() ([]enreach.Call, []enreach.ServiceCall) {
	at := time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)
	var calls []enreach.Call
	var service []enreach.ServiceCall
	for i, s := range wireStrings {
		answer := at.Add(5 * time.Second)
		c := enreach.Call{CallID: s, UserID: "u" + s, UserName: s, Outbound: i%2 == 0, ANum: "+358" + s, BNum: s,
			StartTime: at, EndTime: at.Add(time.Minute), Duration: i * 7, EndResult: i - 3, Privacy: s,
			QueueID: s, QueueName: s, Modified: at.Add(time.Hour)}
		sc := enreach.ServiceCall{CallID: s, QueueID: s, QueueName: s, QueueNumber: s, ANum: s, BNum: s,
			StartTime: at, EndTime: at.Add(time.Minute), Duration: -i, AnsweredByUserID: s, EndResult: i, Modified: at}
		if i%3 == 0 {
			c.AnswerTime, sc.AnswerTime = &answer, &answer
			c.RecordingIDs, sc.RecordingIDs = []string{s, "r2"}, []string{s}
		}
		calls, service = append(calls, c), append(service, sc)
	}
	return calls, service
}

// TestWireAsMarshal: the calls and service calls are written as
// json.Marshal writes their wire shapes, a nil slice or pointer too.
func TestWireAsMarshal(t *testing.T) {
	calls, service := wireCalls()
	var zero time.Time
	for _, c := range calls {
		checkWire(t, appendCall(nil, c), toWireCall(c))
		c.RecordingIDs, c.AnswerTime = nil, &zero
		checkWire(t, appendCall(nil, c), toWireCall(c))
	}
	for _, c := range service {
		checkWire(t, appendServiceCall(nil, c), toWireServiceCall(c))
		c.RecordingIDs, c.AnswerTime = nil, &zero
		checkWire(t, appendServiceCall(nil, c), toWireServiceCall(c))
	}
}

func checkWire(t *testing.T, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestListingAsMarshal: a /calls and a /servicecall answer, with injected
// raw elements after the calls, is json.Marshal of all their elements.
func TestListingAsMarshal(t *testing.T) {
	calls, service := wireCalls()
	s := NewServer()
	defer s.Close()
	s.AddCalls(calls...)
	s.AddServiceCalls(service...)
	raw := []any{json.RawMessage(`{"CallId": "<raw>", "Extra": [1]}`), json.RawMessage(`{"x" : 1}`)}
	for _, r := range raw {
		s.AddRaw("/calls", r.(json.RawMessage))
		s.AddRaw("/servicecall", r.(json.RawMessage))
	}
	var wantCalls, wantService []any
	for _, c := range calls {
		wantCalls = append(wantCalls, toWireCall(c))
	}
	for _, c := range service {
		wantService = append(wantService, toWireServiceCall(c))
	}
	for path, want := range map[string][]any{"/calls": append(wantCalls, raw...), "/servicecall": append(wantService, raw...)} {
		w := httptest.NewRecorder()
		q := "?StartTime=2026-11-01%2000:00:00&EndTime=2026-11-02%2000:00:00"
		r := httptest.NewRequest("GET", path+q, nil)
		r.SetBasicAuth(s.User, s.Secret)
		r.Header.Set("Accept", "application/json")
		s.serve(w, r)
		b, _ := json.Marshal(want)
		if w.Code != 200 || w.Body.String() != string(b) {
			t.Errorf("%s: %d\n%s\nwant\n%s", path, w.Code, w.Body, b)
		}
	}
}

func FuzzWireAsMarshal(f *testing.F) {
	for i, s := range wireStrings {
		f.Add(s, s+"x", i)
	}
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		at := time.Unix(int64(n), 0)
		c := enreach.Call{CallID: a, UserID: b, UserName: a + b, ANum: b, BNum: a, StartTime: at, EndTime: at,
			Duration: n, EndResult: -n, Privacy: b, QueueID: a, QueueName: b, RecordingIDs: []string{a, b}, Modified: at}
		checkWire(t, appendCall(nil, c), toWireCall(c))
		sc := enreach.ServiceCall{CallID: b, QueueID: a, QueueName: a, QueueNumber: b, ANum: a, BNum: b,
			StartTime: at, EndTime: at, Duration: n, AnsweredByUserID: fmt.Sprint(n), RecordingIDs: []string{b}, Modified: at}
		checkWire(t, appendServiceCall(nil, sc), toWireServiceCall(sc))
	})
}
