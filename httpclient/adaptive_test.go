package httpclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/callsync/callsync/httpclient"
)

func answer(status int, retryAfter string) *http.Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: status, Header: h}
}

// The bound grows by one per round of answered requests up to Max, halves
// on a 429 (not below Min), and a connection error leaves it alone.
func TestAdaptiveAIMD(t *testing.T) {
	ctx := context.Background()
	a := httpclient.NewAdaptive(httpclient.AdaptiveOptions{Initial: 4, Max: 6, Pause: time.Millisecond})
	ok := func(n int, resp *http.Response) {
		for range n {
			rel, err := a.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rel(resp)
		}
	}
	ok(5, answer(200, "")) // about one round at 4: +1/limit each
	if l := a.Stats().Limit; l != 5 {
		t.Fatalf("after 5 answers at 4 the limit is %d, want 5", l)
	}
	ok(20, answer(201, ""))
	if l := a.Stats().Limit; l != 6 {
		t.Fatalf("limit %d, want capped at Max 6", l)
	}
	ok(1, nil)
	if l := a.Stats().Limit; l != 6 {
		t.Fatalf("a connection error moved the limit to %d", l)
	}
	ok(1, answer(429, "0"))
	if st := a.Stats(); st.Limit != 3 || st.Throttled != 1 {
		t.Fatalf("after a 429: %+v, want limit 3, 1 throttled", st)
	}
	ok(3, answer(503, "")) // 503 without Retry-After is an error, not throttling
	ok(5, answer(429, "0"))
	if l := a.Stats().Limit; l != 1 {
		t.Fatalf("limit %d after many 429s, want Min 1", l)
	}
}

// Never more requests in flight than the bound; a waiting request gets the
// slot a finished one frees.
func TestAdaptiveBoundsInFlight(t *testing.T) {
	ctx := context.Background()
	a := httpclient.NewAdaptive(httpclient.AdaptiveOptions{Initial: 2, Max: 2})
	r1, _ := a.Acquire(ctx)
	r2, _ := a.Acquire(ctx)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.Acquire(short); err == nil {
		t.Fatal("a third request started with a bound of 2")
	}
	got := make(chan struct{})
	go func() {
		r3, err := a.Acquire(ctx)
		if err == nil {
			r3(answer(200, ""))
		}
		close(got)
	}()
	r1(answer(200, ""))
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the freed slot was not handed on")
	}
	r2(answer(200, ""))
	if st := a.Stats(); st.InFlight != 0 {
		t.Fatalf("%d in flight after every release", st.InFlight)
	}
}

// A 429 with Retry-After holds every new request until it has passed.
func TestAdaptiveRetryAfterPausesAll(t *testing.T) {
	ctx := context.Background()
	a := httpclient.NewAdaptive(httpclient.AdaptiveOptions{Initial: 4, Max: 4})
	rel, _ := a.Acquire(ctx)
	rel(answer(429, "1"))
	start := time.Now()
	rel, err := a.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel(answer(200, ""))
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("the next request started %v after a 429 with Retry-After 1, want >= 1s", d)
	}
}
