package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"

	"github.com/callsync/callsync/store"
)

// Each item's decision log lists its own entries, oldest first, however
// the entries of several items were interleaved.
func TestDecisionsListedByItem(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 0, 0, time.UTC)
		var rows []store.LedgerEntry
		for _, id := range []string{"c1", "c2"} {
			rows = append(rows, store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: id, State: store.Pending, ItemTime: at})
		}
		if err := s.SaveLedger(ctx, rows); err != nil {
			t.Fatal(err)
		}
		d := func(id string, st store.LedgerState, reason string) store.Decision {
			return store.Decision{Tenant: "a", Kind: "call", EnreachID: id, At: at, State: st, Reason: reason, Detail: []byte(`{}`)}
		}
		if err := s.AddDecisions(ctx, []store.Decision{d("c1", store.Failed, "1"), d("c2", store.Written, "2"), d("c1", store.Failed, "3")}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddDecisions(ctx, []store.Decision{d("c2", store.Written, "4"), d("c1", store.Written, "5")}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"c1": "1 3 5", "c2": "2 4", "c3": ""} {
			ds, err := s.Decisions(ctx, "a", "call", id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ds {
				got = append(got, x.Reason)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("%s: reasons %v, want %s", id, got, want)
			}
		}
	})
}

// Entries saved with their rows (SaveLedger's log) are listed with the
// item's other entries: a new row's (kept under the transaction's time, the
// row's first-seen time), a row read before (its FirstSeen), and an entry
// whose row was saved earlier and is not among the rows (looked up). An
// entry kept under another first-seen time than its row's is not listed,
// so the test fails if the time given is not the row's.
func TestDecisionsSavedWithTheirRows(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 0, 0, time.UTC)
		row := func(id string, st store.LedgerState) store.LedgerEntry {
			return store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: id, State: st, ItemTime: at, Number: "+358401"}
		}
		d := func(id, reason string) store.Decision {
			return store.Decision{Tenant: "a", Kind: "call", EnreachID: id, At: at, State: store.Written, Reason: reason, Detail: []byte(`{}`)}
		}
		if err := s.SaveLedger(ctx, []store.LedgerEntry{row("old", store.Failed), row("other", store.Skipped)}, d("old", "1")); err != nil {
			t.Fatal(err)
		}
		read, err := s.Ledger(ctx, "a", "call", []string{"old"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a later transaction time than the rows'
		again := row("old", store.Written)
		again.CRMID, again.FirstSeen = "crm-1", read["old"].FirstSeen
		if err := s.SaveLedger(ctx, []store.LedgerEntry{again, row("new", store.Written)}, d("new", "2"), d("old", "3"), d("other", "4")); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"old": "1 3", "new": "2", "other": "4"} {
			ds, err := s.Decisions(ctx, "a", "call", id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ds {
				got = append(got, x.Reason)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("%s: reasons %v, want %s", id, got, want)
			}
		}
	})
}

// The decision log written before decisions were keyed by first-seen time
// (migration 14) is still listed after it, on both engines.
func TestDecisionsKeptByMigration(t *testing.T) {
	const before = 13
	insert := func(t *testing.T, db *sql.DB, ph func(int) string) {
		ctx := context.Background()
		q := fmt.Sprintf(`INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, item_time, created_at, updated_at) VALUES ('a', 'call', %s, 'k', 'written', 1, %s, 2)`, ph(1), ph(2))
		for i, id := range []string{"c1", "c2"} {
			if _, err := db.ExecContext(ctx, q, id, 1000+i); err != nil {
				t.Fatal(err)
			}
		}
		q = fmt.Sprintf(`INSERT INTO decisions (tenant, kind, enreach_id, at, state, reason) VALUES ('a', 'call', %s, 5, 'written', %s)`, ph(1), ph(2))
		for _, r := range [][2]string{{"c1", "1"}, {"c2", "2"}, {"c1", "3"}, {"gone", "4"}} {
			if _, err := db.ExecContext(ctx, q, r[0], r[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, s *store.Store) {
		for id, want := range map[string]string{"c1": "1 3", "c2": "2"} {
			ds, err := s.Decisions(context.Background(), "a", "call", id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ds {
				got = append(got, x.Reason)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("%s: reasons %v, want %s", id, got, want)
			}
		}
	}
	upTo := func(t *testing.T, d goose.Dialect, db *sql.DB, dir string) {
		p, err := goose.NewProvider(d, db, os.DirFS(dir))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(context.Background(), before); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "t.db")
		db, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		upTo(t, goose.DialectSQLite3, db, "migrations/sqlite")
		insert(t, db, func(int) string { return "?" })
		db.Close()
		s, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		upTo(t, goose.DialectPostgres, db, "migrations/postgres")
		insert(t, db, func(i int) string { return fmt.Sprintf("$%d", i) })
		db.Close()
		s, err := store.OpenPostgres(context.Background(), dsn, store.PoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s)
	})
}
