package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// A SQLite transaction's statements do not take their context's
// cancellation to go-sqlite3 (txStatements), but a statement after the
// context ended fails with its error and nothing of the transaction is
// committed.
func TestSQLiteTxStatementAfterContextEnded(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	row := func(id string) LedgerEntry {
		return LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: Pending, ItemTime: time.Now(), Payload: []byte(`{}`)}
	}
	var second error
	err = s.tx(ctx, func(q dbsqlc.Querier) error {
		if err := upsertLedger(ctx, q, row("c1"), 1); err != nil {
			return err
		}
		cancel()
		second = upsertLedger(ctx, q, row("c2"), 1)
		return second
	})
	if !errors.Is(second, context.Canceled) {
		t.Errorf("statement after the context ended: %v, want context.Canceled", second)
	}
	if err == nil {
		t.Error("the transaction committed")
	}
	got, err := s.Ledger(context.Background(), "a", "call", []string{"c1", "c2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("rows stored: %v", got)
	}
}
