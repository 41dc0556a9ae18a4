package dynamics_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

// sent records when each Web API request left the client and when its
// answer came back.
type sent struct {
	mu   sync.Mutex
	reqs []sentReq
}

type sentReq struct {
	start, end time.Time
	status     int
}

func (s *sent) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	time.Sleep(20 * time.Millisecond) // a network's latency: requests overlap
	resp, err := http.DefaultTransport.RoundTrip(r)
	if strings.Contains(r.URL.Path, dynamics.APIPath) && err == nil {
		s.mu.Lock()
		s.reqs = append(s.reqs, sentReq{start: start, end: time.Now(), status: resp.StatusCode})
		s.mu.Unlock()
	}
	return resp, err
}

// A 429 with Retry-After (Dataverse's service protection answer) makes the
// client back off as a whole: no request of that org starts before the
// Retry-After has passed, not only the throttled one's retry, and the
// concurrency bound halves; after it every call is written once.
func TestThrottleBacksOffEveryRequest(t *testing.T) {
	rec := &sent{}
	opts := fastRetries
	opts.Transport = rec
	e := newEnv(t, dynamicstest.Options{}, func(c *dynamics.Config) { c.BatchSize = 1 }, dynamics.Options{HTTP: opts})
	w := newWorld(e)
	acts := make([]crm.Activity, 60)
	for i := range acts {
		acts[i] = w.call(i)
	}
	const wait = time.Second
	e.srv.Fail(dynamicstest.Fault{Status: http.StatusTooManyRequests, RetryAfter: wait})
	res, err := e.c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created {
			t.Fatalf("activity %d: %+v, want created", i, r)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var throttledAt time.Time
	for _, r := range rec.reqs {
		if r.status == http.StatusTooManyRequests {
			throttledAt = r.end
		}
	}
	if throttledAt.IsZero() {
		t.Fatal("no request was throttled")
	}
	// Requests already on the wire when the 429 arrived may finish, and
	// one whose slot they free may start before the limiter has taken the
	// 429 in (one latency); after that none may start inside the
	// Retry-After. Without the back-off, the other requests go on at once.
	for _, r := range rec.reqs {
		if r.start.After(throttledAt.Add(100*time.Millisecond)) && r.start.Before(throttledAt.Add(wait-100*time.Millisecond)) {
			t.Errorf("a request started %v after the 429, inside its Retry-After of %v", r.start.Sub(throttledAt), wait)
		}
	}
	st := e.c.Concurrency()
	if st.Throttled != 1 {
		t.Errorf("limiter saw %d throttling answers, want 1", st.Throttled)
	}
	if n := len(e.srv.PhoneCalls()); n != len(acts) {
		t.Errorf("the org holds %d phone calls, want %d", n, len(acts))
	}
}
