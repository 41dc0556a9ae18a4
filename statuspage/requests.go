package statuspage

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// RequestStore keeps CRM request counts per tenant and hour.
type RequestStore interface {
	AddCRMRequests(ctx context.Context, tenant string, at time.Time, requests, throttled int) error
}

// RequestCounter counts every HTTP attempt each tenant's CRM client makes
// (retries included) and how many were answered 429, per UTC hour, and
// adds them to the store on Flush. The CRM clients' request hook
// (crm.RequestHook) tells it each attempt (Add).
type RequestCounter struct {
	store RequestStore
	now   func() time.Time

	mu     sync.Mutex
	counts map[requestKey]*requestCount
}

type requestKey struct {
	tenant string
	hour   time.Time
}

type requestCount struct{ requests, throttled int }

// NewRequestCounter counts into st; now nil means time.Now.
func NewRequestCounter(st RequestStore, now func() time.Time) *RequestCounter {
	if now == nil {
		now = time.Now
	}
	return &RequestCounter{store: st, now: now, counts: map[requestKey]*requestCount{}}
}

// Add counts one request of the tenant's CRM client answered with status
// (0 when no answer came); a 429 counts as throttled too. It is safe for
// concurrent use.
func (c *RequestCounter) Add(tenant string, status int) {
	k := requestKey{tenant, c.now().UTC().Truncate(time.Hour)}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counts[k]
	if n == nil {
		n = &requestCount{}
		c.counts[k] = n
	}
	n.requests++
	if status == http.StatusTooManyRequests {
		n.throttled++
	}
}

// Flush adds the counts gathered since the last Flush to the store. Counts
// that could not be stored are kept for the next Flush.
func (c *RequestCounter) Flush(ctx context.Context) error {
	c.mu.Lock()
	pending := c.counts
	c.counts = map[requestKey]*requestCount{}
	c.mu.Unlock()
	var firstErr error
	for k, n := range pending {
		if err := c.store.AddCRMRequests(ctx, k.tenant, k.hour, n.requests, n.throttled); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			c.mu.Lock()
			m := c.counts[k]
			if m == nil {
				m = &requestCount{}
				c.counts[k] = m
			}
			m.requests += n.requests
			m.throttled += n.throttled
			c.mu.Unlock()
		}
	}
	return firstErr
}
