package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// A SQLite read outside a transaction runs its statements without its
// context's cancellation (sqliteEngine.onConn), but a read waiting for the
// store's one connection, busy with another transaction, still returns
// when its context ends, and a read after its context ended fails with the
// context's error.
func TestSQLiteReadWaitingForConnectionEndsWithContext(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	held, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- s.tx(context.Background(), func(dbsqlc.Querier) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held

	ctx, cancel := context.WithCancel(context.Background())
	readDone := make(chan error, 1)
	go func() {
		_, err := s.LedgerByState(ctx, "a", "call", Pending, 5, 100)
		readDone <- err
	}()
	cancel()
	select {
	case err := <-readDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read waiting for the connection: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("a read waiting for the busy connection did not return when its context ended")
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}

	if _, err := s.LedgerByState(ctx, "a", "call", Pending, 5, 100); !errors.Is(err, context.Canceled) {
		t.Errorf("read after the context ended: %v, want context.Canceled", err)
	}
	if _, _, err := s.Watermark(ctx, "a", "calls"); !errors.Is(err, context.Canceled) {
		t.Errorf("watermark read after the context ended: %v, want context.Canceled", err)
	}
}
