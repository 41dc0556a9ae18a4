package enreachtest

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// BenchmarkListCalls serves a /calls listing of 3,000 calls, a backfill
// window's (the bench's 100,000 calls over 30 days).
func BenchmarkListCalls(b *testing.B) {
	s := NewServer()
	defer s.Close()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var calls []enreach.Call
	for i := range 3000 {
		start := at.Add(time.Duration(i) * 20 * time.Second)
		answer := start.Add(4 * time.Second)
		calls = append(calls, enreach.Call{CallID: fmt.Sprintf("0f6b2c1e-9f7a-4f6e-8d52-%012d", i), UserID: "5d3c1c1e-0000-4000-8000-000000000001",
			UserName: "agent01@bench.example", ANum: fmt.Sprintf("+35840%07d", i%5000), BNum: "+358201230000",
			StartTime: start, AnswerTime: &answer, EndTime: start.Add(3 * time.Minute), Duration: 180, EndResult: 1,
			RecordingIDs: []string{}, Modified: start.Add(3 * time.Minute)})
	}
	s.AddCalls(calls...)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/calls?StartTime=2026-11-01%2000:00:00&EndTime=2026-11-02%2000:00:00", nil)
		r.SetBasicAuth(s.User, s.Secret)
		r.Header.Set("Accept", "application/json")
		s.serve(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
