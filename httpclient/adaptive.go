package httpclient

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Adaptive bounds the requests one client (one tenant's CRM org) has in
// flight, and adapts that bound to what the server accepts (AIMD, as TCP
// congestion control): every answered request that was not throttled raises
// the limit by 1/limit (one more request in flight per round of answers), up
// to Max; a throttling answer (429, or 503 with Retry-After) halves it, down
// to Min, and no new request starts before its Retry-After (or Pause when
// the server names no wait) has passed. Max is the CRM's stated limit, e.g.
// Dataverse's 52 concurrent requests per user
// (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits)
// or Zoho's concurrency of 10 for heavy calls
// (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html).
//
// The zero value is not usable; use NewAdaptive. Safe for concurrent use.
type Adaptive struct {
	min, max float64
	pause    time.Duration
	now      func() time.Time

	mu       sync.Mutex
	limit    float64
	inflight int
	until    time.Time     // no request starts before this
	wake     chan struct{} // closed and replaced when a slot frees or the limit moves
	stats    AdaptiveStats
}

// AdaptiveOptions configure NewAdaptive.
type AdaptiveOptions struct {
	// Initial, Min and Max bound the concurrency (defaults 4, 1, 52; Initial
	// is clamped into [Min, Max]).
	Initial, Min, Max int
	// Pause is the wait after a throttling answer without Retry-After
	// (default 1 s; the clients use their retry policy's WaitMin).
	Pause time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// AdaptiveStats counts what the limiter did.
type AdaptiveStats struct {
	// Limit is the current bound, Peak the highest reached, InFlight the
	// requests running now.
	Limit, Peak, InFlight int
	// Throttled counts throttling answers; Waits the requests that waited
	// for a slot or a pause.
	Throttled, Waits int
}

// NewAdaptive returns a limiter.
func NewAdaptive(o AdaptiveOptions) *Adaptive {
	if o.Min <= 0 {
		o.Min = 1
	}
	if o.Max <= 0 {
		o.Max = 52
	}
	if o.Max < o.Min {
		o.Max = o.Min
	}
	if o.Initial <= 0 {
		o.Initial = 4
	}
	o.Initial = max(o.Min, min(o.Initial, o.Max))
	if o.Pause <= 0 {
		o.Pause = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Adaptive{min: float64(o.Min), max: float64(o.Max), pause: o.Pause, now: o.Now,
		limit: float64(o.Initial), wake: make(chan struct{})}
	a.stats.Peak = o.Initial
	return a
}

// Stats returns the limiter's counters.
func (a *Adaptive) Stats() AdaptiveStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Limit, s.InFlight = int(a.limit), a.inflight
	return s
}

// Acquire waits for a slot (and for the end of a pause) and returns the
// function that gives it back with the server's answer: nil (no answer, a
// connection error) leaves the limit alone; a throttling answer (see
// Throttled) halves it and pauses; any other answer raises it.
func (a *Adaptive) Acquire(ctx context.Context) (release func(resp *http.Response), err error) {
	waited := false
	for {
		a.mu.Lock()
		now := a.now()
		if now.Before(a.until) {
			d := a.until.Sub(now)
			a.mu.Unlock()
			waited = true
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			continue
		}
		if a.inflight < int(a.limit) {
			a.inflight++
			if waited {
				a.stats.Waits++
			}
			a.mu.Unlock()
			var once sync.Once
			return func(resp *http.Response) {
				once.Do(func() { a.release(resp) })
			}, nil
		}
		wake := a.wake
		a.mu.Unlock()
		waited = true
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (a *Adaptive) release(resp *http.Response) {
	throttled, retryAfter, hasWait := Throttled(resp)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	switch {
	case resp == nil:
	case throttled:
		a.stats.Throttled++
		a.limit = max(a.min, a.limit/2)
		if !hasWait {
			retryAfter = a.pause
		}
		if until := a.now().Add(retryAfter); until.After(a.until) {
			a.until = until
		}
	default:
		a.limit = min(a.max, a.limit+1/a.limit)
		if l := int(a.limit); l > a.stats.Peak {
			a.stats.Peak = l
		}
	}
	close(a.wake)
	a.wake = make(chan struct{})
}

// Throttled reports whether an answer asks the client to slow down (429, or
// 503 with Retry-After: Dataverse, Zoho and Enreach throttle with 429), and
// the Retry-After it names, if any
// (https://www.rfc-editor.org/rfc/rfc9110#field.retry-after).
func Throttled(resp *http.Response) (throttled bool, wait time.Duration, hasWait bool) {
	if resp == nil {
		return false, 0, false
	}
	wait, hasWait = RetryAfter(resp)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, wait, hasWait
	case resp.StatusCode == http.StatusServiceUnavailable && hasWait:
		return true, wait, true
	}
	return false, 0, false
}

// Transport wraps base so every request (each retry too) runs within the
// limiter.
func (a *Adaptive) Transport(base http.RoundTripper) http.RoundTripper {
	return adaptiveTransport{a: a, base: base}
}

type adaptiveTransport struct {
	a    *Adaptive
	base http.RoundTripper
}

func (t adaptiveTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	release, err := t.a.Acquire(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		// A connection error says nothing about the server's limits.
		release(nil)
		return nil, err
	}
	release(resp)
	return resp, nil
}
