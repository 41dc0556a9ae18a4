package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// eachEngineDB is eachEngine with a database/sql handle on the same
// database, to look at tables the store's API does not show.
func eachEngineDB(t *testing.T, fn func(t *testing.T, s *store.Store, db *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s, s.DB())
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		s, err := store.OpenPostgres(context.Background(), dsn, store.PoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		fn(t, s, db)
	})
}

// A row's payload lives in ledger_payloads (migration 16): a new payload
// replaces the row's, a result without one keeps it, a payload offered to
// a written row is not stored, and purging payloads or rows deletes them;
// no payload is left without its row.
func TestLedgerPayloadsFollowTheirRows(t *testing.T) {
	eachEngineDB(t, func(t *testing.T, s *store.Store, db *sql.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 0, 0, time.UTC)
		row := func(id string, st store.LedgerState, payload string) store.LedgerEntry {
			e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: st, ItemTime: at, Number: "+358401"}
			if payload != "" {
				e.Payload = []byte(payload)
			}
			return e
		}
		save := func(es ...store.LedgerEntry) {
			t.Helper()
			if err := s.SaveLedger(ctx, es); err != nil {
				t.Fatal(err)
			}
		}
		check := func(step string, payloads int, want map[string]string) {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_payloads`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != payloads {
				t.Errorf("%s: %d payloads stored, want %d", step, n, payloads)
			}
			for id, w := range want {
				got, ok, err := s.LedgerItem(ctx, "a", "call", id)
				if err != nil || !ok {
					t.Fatalf("%s: %s: %v %v", step, id, ok, err)
				}
				if string(got.Payload) != w || (w == "") != (got.Payload == nil) {
					t.Errorf("%s: %s payload %q, want %q", step, id, got.Payload, w)
				}
			}
		}
		save(row("c1", store.Pending, `{"v":1}`), row("c2", store.Unresolved, `{"v":"u"}`), row("c3", store.Skipped, ""))
		check("pending", 2, map[string]string{"c1": `{"v":1}`, "c2": `{"v":"u"}`, "c3": ""})
		save(row("c1", store.Pending, `{"v":2}`))
		check("replaced", 2, map[string]string{"c1": `{"v":2}`})
		res := row("c1", store.Written, "")
		res.CRMID, res.Attempts = "crm-1", 1
		save(res)
		check("written", 2, map[string]string{"c1": `{"v":2}`})
		save(row("c1", store.Pending, `{"v":3}`))
		check("offered to a written row", 2, map[string]string{"c1": `{"v":2}`})
		if _, err := s.Purge(ctx, []string{"a"}, store.PurgeCutoffs{Payloads: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check("payloads purged", 1, map[string]string{"c1": "", "c2": `{"v":"u"}`})
		save(row("c2", store.Skipped, ""))
		if _, err := s.Purge(ctx, []string{"a"}, store.PurgeCutoffs{Ledger: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check("rows purged", 0, nil)
		if rows, err := s.Ledger(ctx, "a", "call", []string{"c1", "c2", "c3"}); err != nil || len(rows) != 0 {
			t.Errorf("rows left after the purge: %v %v", rows, err)
		}
	})
}

// A pending row saved with its payload is replayable from the store alone
// after the process stops before its result is saved.
func TestPendingPayloadSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "c1", Key: "k/c1", State: store.Pending,
		ItemTime: time.Now(), Number: "+358401", Payload: []byte(`{"id":"c1"}`)}
	if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.LedgerByState(ctx, "a", "call", store.Pending, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != "k/c1" || string(rows[0].Payload) != `{"id":"c1"}` {
		t.Errorf("pending rows after reopening: %+v", rows)
	}
}

// Payloads stored in the ledger row before migration 16 are moved to
// ledger_payloads by it, and back into the row by its down migration, on
// both engines.
func TestLedgerPayloadsMigration(t *testing.T) {
	const before = 15
	ctx := context.Background()
	insert := func(t *testing.T, db *sql.DB, ph func(int) string) {
		q := fmt.Sprintf(`INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, item_time, payload, created_at, updated_at) VALUES ('a', 'call', %s, 'k', 'pending', 1, %s, 1, 1)`, ph(1), ph(2))
		for id, p := range map[string][]byte{"c1": []byte(`{"id":"c1"}`), "c2": nil, "c3": []byte(`{"id":"c3"}`)} {
			if _, err := db.ExecContext(ctx, q, id, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, s *store.Store) {
		for id, want := range map[string]string{"c1": `{"id":"c1"}`, "c2": "", "c3": `{"id":"c3"}`} {
			got, ok, err := s.LedgerItem(ctx, "a", "call", id)
			if err != nil || !ok {
				t.Fatalf("%s: %v %v", id, ok, err)
			}
			if string(got.Payload) != want {
				t.Errorf("%s: payload %q after the migration, want %q", id, got.Payload, want)
			}
		}
		next := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "c4", Key: "k", State: store.Pending, ItemTime: time.Now(), Payload: []byte(`{"id":"c4"}`)}
		if err := s.SaveLedger(ctx, []store.LedgerEntry{next}); err != nil {
			t.Fatalf("a payload after the moved ones: %v", err)
		}
	}
	after := func(t *testing.T, db *sql.DB, _ string) {
		got := map[string]string{}
		rows, err := db.QueryContext(ctx, `SELECT enreach_id, payload FROM ledger`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var p []byte
			if err := rows.Scan(&id, &p); err != nil {
				t.Fatal(err)
			}
			got[id] = string(p)
		}
		want := map[string]string{"c1": `{"id":"c1"}`, "c2": "", "c3": `{"id":"c3"}`, "c4": `{"id":"c4"}`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("payloads after the down migration: %v, want %v", got, want)
		}
	}
	migrationCase{before: before, insert: insert, check: check, after: after}.run(t)
}
