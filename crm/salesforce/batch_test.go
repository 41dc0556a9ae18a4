package salesforce_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// orderGate holds the first /composite/batch request until a later one has
// been answered (or, for a client that sends them one by one, 3 s), so a
// client that sends its batches at once gets their answers out of order.
type orderGate struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    int // batch requests seen
	in   int // in flight now
	peak int
	done chan struct{} // closed when a batch other than the first was answered
	once sync.Once
}

func (g *orderGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/composite/batch") {
		return g.base.RoundTrip(r)
	}
	g.mu.Lock()
	i := g.n
	g.n++
	g.in++
	g.peak = max(g.peak, g.in)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.in--
		g.mu.Unlock()
	}()
	if i == 0 {
		select {
		case <-g.done:
		case <-time.After(3 * time.Second):
		}
		return g.base.RoundTrip(r)
	}
	resp, err := g.base.RoundTrip(r)
	g.once.Do(func() { close(g.done) })
	return resp, err
}

// A lookup whose searches take several /composite/batch requests sends them
// at once, and each answer goes to the numbers of its own searches even when
// a later batch is answered first.
func TestLookupBatchesRunConcurrently(t *testing.T) {
	srv := newOrg(t)
	gate := &orderGate{base: http.DefaultTransport.(*http.Transport).Clone(), done: make(chan struct{})}
	opts := testOptions()
	opts.HTTP.Transport = gate
	c := newClient(t, ccConfig(srv), opts)
	var req crm.LookupRequest
	want := map[string]string{}
	for i := range 3000 {
		e164 := fmt.Sprintf("+3584014%05d", i)
		q := fiForms(e164)
		req.Numbers = append(req.Numbers, q)
		if i%100 == 7 {
			want[e164] = srv.Add("Contact", map[string]any{"LastName": fmt.Sprint("N", i), "MobilePhone": q.Forms[i%len(q.Forms)]})
		}
	}
	res, err := c.Lookup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for e164, id := range want {
		if got := res[e164]; len(got) != 1 || got[0].ID != id {
			t.Errorf("%s: got %v, want only %s", e164, got, id)
		}
	}
	if len(res) != len(want) {
		t.Errorf("%d numbers with hits, want %d", len(res), len(want))
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	t.Logf("%d composite batches, at most %d in flight", gate.n, gate.peak)
	if gate.n < 2 {
		t.Fatalf("%d composite batches: the test needs several", gate.n)
	}
	if gate.peak < 2 {
		t.Errorf("at most %d composite batch in flight: the batches ran one by one", gate.peak)
	}
}
