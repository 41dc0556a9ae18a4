package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/callsync/callsync/store"
	"github.com/pressly/goose/v3"
)

// migrationCase is a migration's round trip on both engines: the schema
// migrated up to before, rows inserted as a store of that version wrote
// them (ph is the engine's i-th placeholder), the store opened (which
// migrates up) and checked, then the schema migrated down to before again
// and checked with after.
type migrationCase struct {
	before int64
	insert func(t *testing.T, db *sql.DB, ph func(int) string)
	check  func(t *testing.T, s *store.Store)
	after  func(t *testing.T, db *sql.DB, engine string)
}

func (c migrationCase) run(t *testing.T) {
	ctx := context.Background()
	roundTrip := func(t *testing.T, engine string, d goose.Dialect, db *sql.DB, ph func(int) string, open func() (*store.Store, error)) {
		p, err := goose.NewProvider(d, db, os.DirFS("migrations/"+engine))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, c.before); err != nil {
			t.Fatal(err)
		}
		c.insert(t, db, ph)
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		c.check(t, s)
		s.Close()
		if _, err := p.DownTo(ctx, c.before); err != nil {
			t.Fatal(err)
		}
		c.after(t, db, engine)
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "t.db")
		db, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		roundTrip(t, "sqlite", goose.DialectSQLite3, db, func(int) string { return "?" },
			func() (*store.Store, error) { return store.Open(ctx, path) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		roundTrip(t, "postgres", goose.DialectPostgres, db, func(i int) string { return fmt.Sprintf("$%d", i) },
			func() (*store.Store, error) { return store.OpenPostgres(ctx, dsn, store.PoolOptions{}) })
	})
}
