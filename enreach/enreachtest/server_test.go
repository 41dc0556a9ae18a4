package enreachtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

var day = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

// get sends an authenticated JSON GET and returns status and body.
func get(t *testing.T, s *Server, path string, q url.Values, mod ...func(*http.Request)) (int, string) {
	t.Helper()
	u := s.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.SetBasicAuth(s.User, s.Secret)
	req.Header.Set("Accept", "application/json")
	for _, m := range mod {
		m(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func startWindow(a, b time.Time) url.Values {
	return url.Values{"StartTime": {a.Format(wireTime)}, "EndTime": {b.Format(wireTime)}}
}

func TestAuthRequired(t *testing.T) {
	s := NewServer()
	defer s.Close()
	for _, path := range []string{"/users", "/users/me", "/queues", "/calls", "/servicecall", "/callbacklists", "/callbacks"} {
		status, body := get(t, s, path, startWindow(day, day.Add(time.Hour)), func(r *http.Request) { r.Header.Del("Authorization") })
		if status != 401 || !strings.Contains(body, "Authorization has been denied") {
			t.Errorf("%s without auth: %d %s", path, status, body)
		}
		status, _ = get(t, s, path, startWindow(day, day.Add(time.Hour)), func(r *http.Request) { r.SetBasicAuth(s.User, "nope") })
		if status != 401 {
			t.Errorf("%s with a wrong secret: %d", path, status)
		}
	}
}

func TestCallFilters(t *testing.T) {
	s := NewServer()
	defer s.Close()
	u := enreach.User{ID: NewID(), UserName: "a@x.example", WorkNumber: "+358401000001"}
	in := DirectCall(u, "+358501234567", false, day.Add(time.Hour), time.Second, time.Minute)
	late := DirectCall(u, "+358501234567", true, day.Add(25*time.Hour), time.Second, time.Minute)
	s.AddCalls(in, late)

	cases := []struct {
		q      url.Values
		status int
		ids    []string
		msg    string
	}{
		{nil, 400, nil, "a filter is required"},
		{url.Values{"StartTime": {"2026-01-10 00:00:00"}}, 400, nil, "must be given together"},
		{startWindow(day, day.Add(24*time.Hour)), 200, []string{in.CallID}, ""},
		{startWindow(day, day.Add(48*time.Hour)), 200, []string{in.CallID, late.CallID}, ""},
		{startWindow(day.Add(time.Hour), day.Add(2*time.Hour)), 200, []string{in.CallID}, ""}, // start inclusive
		{startWindow(day, day.Add(time.Hour)), 200, nil, ""},                                  // end exclusive
		{startWindow(day, day.Add(MaxWindow)), 200, []string{in.CallID, late.CallID}, ""},
		{startWindow(day, day.Add(MaxWindow+time.Second)), 400, nil, "must not exceed 31 days"},
		{startWindow(day, day.Add(-time.Second)), 400, nil, "before"},
		{url.Values{"StartTime": {"2026-01-10T00:00:00Z"}, "EndTime": {"2026-01-11 00:00:00"}}, 400, nil, "not a valid time"},
		{url.Values{"starttime": {"2026-01-10 00:00:00"}, "ENDTIME": {"2026-01-11 00:00:00"}}, 200, []string{in.CallID}, ""},
		{url.Values{"ModifiedAfter": {day.Add(24 * time.Hour).Format(wireTime)}, "ModifiedBefore": {day.Add(48 * time.Hour).Format(wireTime)}}, 200, []string{late.CallID}, ""},
		{url.Values{"ModifiedAfter": {day.Format(wireTime)}, "ModifiedBefore": {day.Add(40 * 24 * time.Hour).Format(wireTime)}}, 400, nil, "31 days"},
		{url.Values{"CallId": {late.CallID}}, 200, []string{late.CallID}, ""},
		{url.Values{"StartTime": {day.Format(wireTime)}, "EndTime": {day.Add(48 * time.Hour).Format(wireTime)}, "UserIDs": {"someone-else"}}, 200, nil, ""},
	}
	for i, c := range cases {
		status, body := get(t, s, "/calls", c.q)
		if status != c.status {
			t.Errorf("case %d %v: status %d %s", i, c.q, status, body)
			continue
		}
		if status != 200 {
			if !strings.Contains(body, c.msg) {
				t.Errorf("case %d: body %s lacks %q", i, body, c.msg)
			}
			continue
		}
		var got []map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, g := range got {
			ids = append(ids, g["CallId"].(string))
		}
		if fmt.Sprint(ids) != fmt.Sprint(c.ids) {
			t.Errorf("case %d: ids %v, want %v", i, ids, c.ids)
		}
	}
}

func TestWireShape(t *testing.T) {
	s := NewServer()
	defer s.Close()
	u := enreach.User{ID: NewID(), UserName: "a@x.example", WorkNumber: "+358401000001"}
	c := DirectCall(u, "+358501234567", true, day.Add(time.Hour), 3*time.Second, 90*time.Second)
	s.AddCalls(c)
	_, body := get(t, s, "/calls", startWindow(day, day.Add(24*time.Hour)))
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 {
		t.Fatalf("%s: %v", body, err)
	}
	want := map[string]any{
		"CallId": c.CallID, "UserId": u.ID, "UserName": u.UserName, "Direction": 1.0, "ANum": u.WorkNumber,
		"BNum": "+358501234567", "StartTime": "2026-01-10 01:00:00", "AnswerTime": "2026-01-10 01:00:03",
		"EndTime": "2026-01-10 01:01:33", "Duration": 90.0, "EndResult": 0.0, "Privacy": "Work",
		"QueueId": nil, "QueueName": nil, "RecordingIds": []any{}, "Modified": "2026-01-10 01:01:33",
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("wire:\n got %v\nwant %v", got[0], want)
	}
}

func TestCallbacksEndpoint(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.AddCallbackLists(enreach.CallbackList{ID: "l1", Name: "Sales"})
	s.AddCallbacks(enreach.Callback{ID: "cb1", CallbackListID: "l1", ContactNumber: "+358501234567", CreatedTime: day.Add(time.Hour)})
	mod := func(list string, a, b time.Time) url.Values {
		return url.Values{"CallbackListId": {list}, "ModifiedAfter": {a.Format(wireTime)}, "ModifiedBefore": {b.Format(wireTime)}}
	}
	if st, body := get(t, s, "/callbacks", url.Values{"ModifiedAfter": {day.Format(wireTime)}, "ModifiedBefore": {day.Format(wireTime)}}); st != 400 || !strings.Contains(body, "CallbackListId is required") {
		t.Errorf("no list: %d %s", st, body)
	}
	if st, _ := get(t, s, "/callbacks", url.Values{"CallbackListId": {"l1"}}); st != 400 {
		t.Errorf("no window: %d", st)
	}
	if st, _ := get(t, s, "/callbacks", mod("l2", day, day.Add(time.Hour))); st != 404 {
		t.Errorf("unknown list: %d", st)
	}
	if st, _ := get(t, s, "/callbacks", mod("l1", day, day.Add(32*24*time.Hour))); st != 400 {
		t.Errorf("32 days: %d", st)
	}
	st, body := get(t, s, "/callbacks", mod("l1", day, day.Add(2*time.Hour)))
	if st != 200 || !strings.Contains(body, `"Id":"cb1"`) || !strings.Contains(body, `"ModifiedTime":"2026-01-10 01:00:00"`) || !strings.Contains(body, `"IsClosed":false`) {
		t.Errorf("callbacks: %d %s", st, body)
	}
	if _, err := s.CloseCallback("cb1", "Closed successfully"); err != nil {
		t.Fatal(err)
	}
	cb, _ := s.Callback("cb1")
	if !cb.IsClosed || !cb.ModifiedTime.After(day.Add(time.Hour)) || cb.ClosedTime == nil {
		t.Fatalf("closed = %+v", cb)
	}
	if _, err := s.UpdateCallback(enreach.Callback{ID: "missing"}); err == nil {
		t.Fatal("update of a missing callback accepted")
	}
}

func TestDiscoveryAndMisc(t *testing.T) {
	s := NewServer()
	defer s.Close()
	resp, err := http.Get(s.DiscoveryURL + "/api/user?user=" + url.QueryEscape(strings.ToUpper(s.User)))
	if err != nil {
		t.Fatal(err)
	}
	var found []map[string]string
	json.NewDecoder(resp.Body).Decode(&found)
	resp.Body.Close()
	if len(found) != 1 || found[0]["apiEndpoint"] != s.URL+"/" {
		t.Fatalf("discovery = %v", found)
	}
	resp, err = http.Post(s.DiscoveryURL+"/api/user", "application/json", strings.NewReader(`{"user":"other@x.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("unknown user discovery = %s", b)
	}
	if st, _ := get(t, s, "/nowhere", nil); st != 404 {
		t.Errorf("unknown path: %d", st)
	}
	if st, _ := get(t, s, "/users", nil, func(r *http.Request) { r.Header.Set("Accept", "application/xml") }); st != 406 {
		t.Errorf("xml accept: %d", st)
	}
	if st, body := get(t, s, "/users/me", nil); st != 200 || !strings.Contains(body, s.OrganizationID) {
		t.Errorf("me: %d %s", st, body)
	}
	if st, _ := get(t, s, "/users/"+NewID(), nil); st != 404 {
		t.Errorf("unknown user: %d", st)
	}
}

func TestFaultsAndCounters(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.Fail(Fault{Path: "/users", Status: 429, RetryAfter: 1500 * time.Millisecond})
	s.Fail(Fault{Status: 503})
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/users", nil) // no auth: faults come first
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("first: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st, _ := get(t, s, "/queues", nil); st != 503 {
		t.Fatalf("wildcard fault: %d", st)
	}
	if st, _ := get(t, s, "/users/", nil); st != 200 {
		t.Fatalf("after faults: %d", st)
	}
	if n := s.RequestsTo("", "/users"); n != 2 {
		t.Fatalf("Requests(/users) = %d", n)
	}
	log := s.Log()
	if len(log) != 3 || log[0].Status != 429 || log[1].Status != 503 || log[2].Status != 200 {
		t.Fatalf("log = %+v", log)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := NewServer()
	defer s.Close()
	u := enreach.User{ID: NewID(), UserName: "a@x.example"}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.AddCalls(DirectCall(u, "+358501234567", i%2 == 0, day.Add(time.Duration(i)*time.Minute), 0, time.Minute))
		}()
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/calls?"+startWindow(day, day.Add(time.Hour)).Encode(), nil)
			req.SetBasicAuth(s.User, s.Secret)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	_, body := get(t, s, "/calls", startWindow(day, day.Add(time.Hour)))
	var got []json.RawMessage
	json.Unmarshal([]byte(body), &got)
	if len(got) != 8 || s.RequestsTo("", "/calls") != 9 {
		t.Fatalf("calls %d, requests %d", len(got), s.RequestsTo("", "/calls"))
	}
}

func TestGenerators(t *testing.T) {
	q := enreach.Queue{ID: NewID(), Name: "Sales", Numbers: []string{"+358201000100"}}
	agent := enreach.User{ID: NewID(), UserName: "a@x.example"}
	sc, leg := QueueCall(q, &agent, "+358501234567", day, 30*time.Second, 2*time.Minute)
	if leg == nil || leg.CallID != sc.CallID || sc.AnsweredByUserID != agent.ID || sc.Duration != 120 || sc.EndResult != 0 ||
		!leg.StartTime.Equal(day.Add(30*time.Second)) || leg.AnswerTime == sc.AnswerTime || leg.QueueID != q.ID {
		t.Fatalf("answered: %+v %+v", sc, leg)
	}
	sc, leg = QueueCall(q, nil, "+358501234567", day, 30*time.Second, 2*time.Minute)
	if leg != nil || sc.AnswerTime != nil || sc.EndResult == 0 || sc.Duration != 0 || !sc.EndTime.Equal(day.Add(30*time.Second)) {
		t.Fatalf("unanswered: %+v %+v", sc, leg)
	}
}
