package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// InboxItem is one webhook delivery.
type InboxItem struct {
	Tenant     string
	DeliveryID string
	EventType  string
	ReceivedAt time.Time
	Payload    []byte
	State      InboxState
	Reason     string
}

// AddInbox commits a delivery; inserted is false when its id was already
// received. It returns once the delivery is committed (synced to disk on
// SQLite: synchronous=FULL, see Open), so a 2xx answered after it is never
// lost.
//
// Deliveries arriving while another commit is in progress are committed
// together, in one transaction, when it ends (a group commit): on SQLite
// every commit waits for an fsync of the WAL, and one commit per delivery
// made the receiver's throughput the disk's sync rate, with the queue of
// waiting senders growing behind it. One caller at a time leads: it
// commits every delivery waiting, answers their callers, and hands the lead
// to the first delivery that arrived meanwhile, so no caller waits for more
// than the commit in progress and its own.
func (s *Store) AddInbox(ctx context.Context, it InboxItem) (inserted bool, err error) {
	return s.inbox.add(ctx, s, it)
}

// inboxBatcher joins concurrent AddInbox calls into one transaction (the
// zero value is ready).
type inboxBatcher struct {
	mu sync.Mutex
	// queue: the deliveries waiting for the next commit.
	queue []*inboxAdd
	// leading: a caller is committing (or about to commit) the queue.
	leading bool
}

// inboxAdd is one AddInbox call: its delivery and, once wake is closed,
// either its outcome or (lead) the lead of the next commit.
type inboxAdd struct {
	ctx      context.Context
	it       InboxItem
	inserted bool
	err      error
	lead     bool
	wake     chan struct{}
}

func (b *inboxBatcher) add(ctx context.Context, s *Store, it InboxItem) (bool, error) {
	a := &inboxAdd{ctx: ctx, it: it, wake: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, a)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead {
		<-a.wake
		if !a.lead {
			return a.inserted, a.err
		}
	}
	// Leading: commit every delivery waiting (a among them). The commit
	// goes on when this caller's request ends: the others' deliveries are
	// in it, and each caller learns its own outcome. A delivery whose
	// caller is gone before the commit is not stored (commitInbox).
	b.mu.Lock()
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	s.commitInbox(context.WithoutCancel(ctx), batch)
	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	for _, x := range batch {
		if x != a {
			close(x.wake)
		}
	}
	return a.inserted, a.err
}

// commitInbox inserts batch in one transaction and sets each one's outcome.
// When that transaction fails, each is committed alone, so one delivery the
// store refuses does not fail the others with it. A delivery whose caller's
// context ended before the commit is left out with its context's error:
// its sender, gone, was never answered, and delivers it again.
func (s *Store) commitInbox(ctx context.Context, batch []*inboxAdd) {
	live := batch[:0:0]
	for _, a := range batch {
		if a.ctx != nil && a.ctx.Err() != nil {
			a.err = fmt.Errorf("store: inbox %s/%s: %w", a.it.Tenant, a.it.DeliveryID, a.ctx.Err())
			continue
		}
		live = append(live, a)
	}
	batch = live
	if len(batch) > 1 {
		err := s.tx(ctx, func(q dbsqlc.Querier) error {
			for _, a := range batch {
				n, err := insertInbox(ctx, q, a.it)
				if err != nil {
					return err
				}
				a.inserted = n > 0
			}
			return nil
		})
		if err == nil {
			return
		}
	}
	for _, a := range batch {
		n, err := insertInbox(ctx, s.q, a.it)
		a.inserted, a.err = n > 0, err
	}
}

// insertInbox inserts one delivery (pending unless it says otherwise);
// n is 0 when its id was already received.
func insertInbox(ctx context.Context, q dbsqlc.Querier, it InboxItem) (int64, error) {
	state := it.State
	if state == "" {
		state = InboxPending
	}
	n, err := q.InsertInbox(ctx, dbsqlc.InsertInboxParams{
		Tenant: it.Tenant, DeliveryID: it.DeliveryID, EventType: it.EventType, ReceivedAt: ms(it.ReceivedAt),
		Payload: it.Payload, State: string(state), Reason: it.Reason,
	})
	if err != nil {
		return 0, fmt.Errorf("store: inbox %s/%s: %w", it.Tenant, it.DeliveryID, err)
	}
	return n, nil
}
