package enreachtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// TestTimeIndexAnswersAsAScan: /calls and /servicecall filtered by a
// StartTime or a Modified window answer the records a scan of every record
// finds, in the order they were added, with records added out of time
// order, in several batches, and between requests, and with equal times.
func TestTimeIndexAnswersAsAScan(t *testing.T) {
	s := NewServer()
	defer s.Close()
	u := enreach.User{ID: NewID(), UserName: "a@x.example", WorkNumber: "+358401000001"}
	add := func(batch int) {
		var calls []enreach.Call
		var service []enreach.ServiceCall
		for i := range 60 {
			start := day.Add(time.Duration((i*37+batch*11)%97) * 15 * time.Minute)
			c := DirectCall(u, fmt.Sprintf("+3585012345%02d", i), i%2 == 0, start, time.Second, time.Minute)
			if i%5 == 0 {
				c.Modified = start.Add(48 * time.Hour)
			}
			calls = append(calls, c)
			service = append(service, enreach.ServiceCall{CallID: NewID(), StartTime: start, EndTime: start.Add(time.Duration(i) * time.Minute)})
		}
		s.AddCalls(calls...)
		s.AddServiceCalls(service...)
	}
	windows := [][2]time.Time{
		{day, day.Add(time.Hour)},
		{day.Add(90 * time.Minute), day.Add(6 * time.Hour)},
		{day.Add(-time.Hour), day.Add(72 * time.Hour)},
		{day.Add(15 * time.Minute), day.Add(15 * time.Minute)},
		{day.Add(20 * time.Hour), day.Add(21 * time.Hour)},
		{day.Add(49 * time.Hour), day.Add(60 * time.Hour)},
	}
	check := func(step string) {
		t.Helper()
		for _, w := range windows {
			for _, names := range [][2]string{{"StartTime", "EndTime"}, {"ModifiedAfter", "ModifiedBefore"}} {
				q := url.Values{names[0]: {w[0].Format(wireTime)}, names[1]: {w[1].Format(wireTime)}}
				win := window{set: true, from: w[0], to: w[1]}
				s.mu.Lock()
				var want, wantService []string
				for _, c := range s.calls {
					if (names[0] == "StartTime" && win.has(c.StartTime)) || (names[0] != "StartTime" && win.has(c.Modified)) {
						want = append(want, c.CallID)
					}
				}
				for _, c := range s.serviceCalls {
					if (names[0] == "StartTime" && win.has(c.StartTime)) || (names[0] != "StartTime" && win.has(c.Modified)) {
						wantService = append(wantService, c.CallID)
					}
				}
				s.mu.Unlock()
				for path, want := range map[string][]string{"/calls": want, "/servicecall": wantService} {
					status, body := get(t, s, path, q)
					var recs []map[string]any
					if err := json.Unmarshal([]byte(body), &recs); status != 200 || err != nil {
						t.Fatalf("%s %v: %d %s", path, q, status, body)
					}
					var got []string
					for _, r := range recs {
						got = append(got, fmt.Sprint(r["CallId"]))
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s: %s %v: got %d records %v, want %d %v", step, path, q, len(got), got, len(want), want)
					}
				}
			}
		}
	}
	add(0)
	check("one batch")
	add(1)
	add(2)
	check("three batches")
	add(3)
	check("added after a request")
}

// BenchmarkCallsInAWindow lists the calls of a 10-minute StartTime window
// of 100,000 calls over 30 days.
func BenchmarkCallsInAWindow(b *testing.B) {
	s := NewServer()
	defer s.Close()
	u := enreach.User{ID: NewID(), UserName: "a@x.example", WorkNumber: "+358401000001"}
	calls := make([]enreach.Call, 0, 100000)
	for i := range 100000 {
		calls = append(calls, DirectCall(u, "+358501234567", i%2 == 0, day.Add(time.Duration(i)*26*time.Second), time.Second, time.Minute))
	}
	s.AddCalls(calls...)
	q := startWindow(day.Add(15*24*time.Hour), day.Add(15*24*time.Hour+10*time.Minute))
	req := httptest.NewRequest(http.MethodGet, "/calls?"+q.Encode(), nil)
	b.ResetTimer()
	for range b.N {
		w := httptest.NewRecorder()
		s.handleCalls(w, req.URL.Query())
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
