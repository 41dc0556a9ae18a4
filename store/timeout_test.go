package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/callsync/callsync/store"
)

// A statement stuck behind a lock is cancelled by the server after
// statement_timeout (SQLSTATE 57014, query_canceled) and the call returns
// an error, instead of waiting as long as the lock is held.
func TestPostgresStatementTimeout(t *testing.T) {
	url := pg.NewDatabase(t)
	ctx := context.Background()
	s, err := store.OpenPostgres(ctx, url, store.PoolOptions{StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AcquireLease(ctx, "a", "r1", time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	// Another session holds the leases table locked until the test ends.
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE leases IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = s.AcquireLease(wait, "a", "r1", time.Now(), time.Minute)
	var pge *pgconn.PgError
	if !errors.As(err, &pge) || pge.Code != "57014" {
		t.Fatalf("AcquireLease behind a lock: %v, want the server's statement timeout (57014)", err)
	}
}

// Migrations are not cut by statement_timeout: an open that waits behind a
// lock on the migrations table longer than the timeout still succeeds.
func TestPostgresMigrationsWithoutStatementTimeout(t *testing.T) {
	url := pg.NewDatabase(t)
	ctx := context.Background()
	s, err := store.OpenPostgres(ctx, url, store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE goose_db_version IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// A pgx connection is not safe for concurrent use: the deferred Close
	// waits for the Rollback to have returned (its answer may still be
	// read after the lock is gone and the open below has finished).
	rolledBack := make(chan struct{})
	defer func() { <-rolledBack }()
	go func() {
		defer close(rolledBack)
		time.Sleep(1500 * time.Millisecond)
		tx.Rollback(ctx)
	}()
	s, err = store.OpenPostgres(ctx, url, store.PoolOptions{StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("open with statement_timeout 300ms behind a 1.5 s lock on the migrations table: %v", err)
	}
	s.Close()
}
