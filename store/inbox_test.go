package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// gatedEngine counts the transactions begun on an engine and holds the
// first one until gate is closed.
type gatedEngine struct {
	engine
	mu    sync.Mutex
	txs   int
	gate  chan struct{}
	begun chan struct{}
}

func (e *gatedEngine) inTx(ctx context.Context, fn func(q dbsqlc.Querier) error) error {
	e.mu.Lock()
	e.txs++
	first := e.txs == 1
	e.mu.Unlock()
	if first {
		close(e.begun)
		<-e.gate
	}
	return e.engine.inTx(ctx, fn)
}

// Deliveries that arrive while a commit is in progress are committed
// together in the next one, and each caller learns its own outcome: new,
// or a repeat of an id received before or in the same commit.
func TestInboxDeliveriesWaitingForACommitShareTheNext(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := &gatedEngine{engine: s.eng, gate: make(chan struct{}), begun: make(chan struct{})}
	s.eng = g
	item := func(id string) InboxItem {
		return InboxItem{Tenant: "a", DeliveryID: id, EventType: "CallbackCreated", ReceivedAt: time.Now(), Payload: []byte(`{}`)}
	}
	if ok, err := s.AddInbox(ctx, item("old")); err != nil || !ok {
		t.Fatalf("a delivery alone: %v %v", ok, err)
	}
	if g.txs != 0 {
		t.Fatalf("a delivery alone began %d transactions, want its own commit", g.txs)
	}

	// Two deliveries held in the first transaction, then eight more (one
	// repeating an id received before, two the same new id) while it is.
	type result struct {
		id  string
		ok  bool
		err error
	}
	results := make(chan result, 10)
	add := func(id string) {
		ok, err := s.AddInbox(ctx, item(id))
		results <- result{id, ok, err}
	}
	s.inbox.mu.Lock()
	s.inbox.queue = append(s.inbox.queue, &inboxAdd{it: item("held"), wake: make(chan struct{})})
	s.inbox.mu.Unlock()
	go add("first")
	<-g.begun
	ids := []string{"d1", "d2", "d3", "d4", "d5", "old", "twice", "twice"}
	for _, id := range ids {
		go add(id)
	}
	waitFor(t, func() bool {
		s.inbox.mu.Lock()
		defer s.inbox.mu.Unlock()
		return len(s.inbox.queue) == len(ids)
	})
	close(g.gate)
	got := map[string][]bool{}
	for range 1 + len(ids) {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s: %v", r.id, r.err)
		}
		got[r.id] = append(got[r.id], r.ok)
	}
	if g.txs != 2 {
		t.Errorf("%d transactions for two batches of deliveries, want 2", g.txs)
	}
	for _, id := range []string{"first", "d1", "d2", "d3", "d4", "d5"} {
		if fmt.Sprint(got[id]) != "[true]" {
			t.Errorf("%s: inserted %v, want [true]", id, got[id])
		}
	}
	if fmt.Sprint(got["old"]) != "[false]" {
		t.Errorf("old: inserted %v, want [false] (received before)", got["old"])
	}
	if n := len(got["twice"]); n != 2 || got["twice"][0] == got["twice"][1] {
		t.Errorf("twice: inserted %v, want one true and one false", got["twice"])
	}
	p, err := s.PendingInbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 9 { // old, held, first, d1-d5, twice
		t.Errorf("pending = %d, want 9", len(p))
	}
}

// A delivery the store refuses in a shared commit fails alone, and one
// whose sender went away before the commit is not stored: the others of
// that commit are stored.
func TestInboxRefusedDeliveryDoesNotFailItsBatch(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Now()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	batch := []*inboxAdd{
		{ctx: gone, it: InboxItem{Tenant: "a", DeliveryID: "gone", EventType: "CallbackCreated", ReceivedAt: at, Payload: []byte(`{}`)}},
		{it: InboxItem{Tenant: "a", DeliveryID: "good1", EventType: "CallbackCreated", ReceivedAt: at, Payload: []byte(`{}`)}},
		{it: InboxItem{Tenant: "a", DeliveryID: "bad", EventType: "CallbackCreated", ReceivedAt: at}}, // payload NOT NULL
		{it: InboxItem{Tenant: "a", DeliveryID: "good2", EventType: "CallbackCreated", ReceivedAt: at, Payload: []byte(`{}`)}},
	}
	s.commitInbox(ctx, batch)
	if !errors.Is(batch[0].err, context.Canceled) || batch[0].inserted {
		t.Errorf("delivery of a sender gone: %v %v; want context.Canceled", batch[0].inserted, batch[0].err)
	}
	if !batch[1].inserted || batch[1].err != nil || !batch[3].inserted || batch[3].err != nil {
		t.Errorf("good deliveries: %v %v, %v %v; want stored", batch[1].inserted, batch[1].err, batch[3].inserted, batch[3].err)
	}
	if batch[2].err == nil || batch[2].inserted {
		t.Errorf("bad delivery: %v %v; want an error", batch[2].inserted, batch[2].err)
	}
	p, err := s.PendingInbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 {
		t.Errorf("pending = %d, want the 2 good ones", len(p))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
