package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// Rows written before migration 17 are found by their CRM ids after it
// (its crm_hash of them is the one ClaimedActivities asks with: on SQLite
// computed by the function Open registers, on PostgreSQL by md5 in SQL,
// with hashes of both signs among the ids), rows without a CRM id are not,
// and the down migration puts ledger_by_crm_id back, on both engines.
func TestLedgerCRMHashMigration(t *testing.T) {
	const before = 16
	ctx := context.Background()
	// A Dataverse GUID, a Salesforce id (its hash is negative), a Zoho id.
	ids := map[string]string{"c1": "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "c2": "00Q5g00000AbCdEFGH", "c3": "5725767000000412001", "c4": ""}
	insert := func(t *testing.T, db *sql.DB, ph func(int) string) {
		q := fmt.Sprintf(`INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, crm_id, item_time, created_at, updated_at) VALUES ('a', 'call', %s, %s, 'written', %s, 1, 1, 1)`, ph(1), ph(2), ph(3))
		for id, crm := range ids {
			if _, err := db.ExecContext(ctx, q, id, "k/"+id, crm); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, s *store.Store) {
		got, err := s.ClaimedActivities(ctx, "a", []string{ids["c1"], ids["c2"], ids["c3"], "", "6d9c1b9e-0000-4000-8000-000000000000"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{ids["c1"]: "k/c1", ids["c2"]: "k/c2", ids["c3"]: "k/c3"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("claimed after the migration: %v, want %v", got, want)
		}
		if got, err := s.ClaimedActivities(ctx, "b", []string{ids["c1"]}); err != nil || len(got) != 0 {
			t.Errorf("another tenant's claims: %v, %v", got, err)
		}
	}
	indexQuery := map[string]string{
		"sqlite":   `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'ledger_by_crm_id'`,
		"postgres": `SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'ledger_by_crm_id'`,
	}
	after := func(t *testing.T, db *sql.DB, engine string) {
		var n int
		if err := db.QueryRowContext(ctx, indexQuery[engine]).Scan(&n); err != nil || n != 1 {
			t.Errorf("ledger_by_crm_id after the down migration: %d, %v", n, err)
		}
		got := map[string]string{}
		rows, err := db.QueryContext(ctx, `SELECT enreach_id, crm_id FROM ledger`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, crm string
			if err := rows.Scan(&id, &crm); err != nil {
				t.Fatal(err)
			}
			got[id] = crm
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("rows after the down migration: %v, want %v", got, ids)
		}
	}
	migrationCase{before: before, insert: insert, check: check, after: after}.run(t)
}

// ClaimedActivities finds rows through a hash of their CRM ids: a row
// whose id shares the hash of an id asked for is not taken for it, and
// the CRM id a save sets or keeps is found (a result saved in place, a
// row upserted, a later save without a CRM id), on both engines.
func TestClaimedActivitiesChecksTheID(t *testing.T) {
	eachEngineDB(t, func(t *testing.T, s *store.Store, db *sql.DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
		row := func(id, crm string) store.LedgerEntry {
			return store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: store.Pending, CRMID: crm,
				ItemTime: at, Number: "+358401", Payload: []byte(`{}`)}
		}
		claimed := func(step string, crmIDs []string, want map[string]string) {
			t.Helper()
			got, err := s.ClaimedActivities(ctx, "a", crmIDs)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: claimed %v, want %v", step, got, want)
			}
		}
		if err := s.SaveLedger(ctx, []store.LedgerEntry{row("c1", "crm-1"), row("c2", "crm-2"), row("c3", "")}); err != nil {
			t.Fatal(err)
		}
		claimed("saved", []string{"crm-1", "crm-2", "crm-3"}, map[string]string{"crm-1": "k/c1", "crm-2": "k/c2"})
		// c2's row takes crm-1's hash: it is read for crm-1 and dropped.
		q := `UPDATE ledger SET crm_hash = (SELECT crm_hash FROM ledger WHERE enreach_id = 'c1') WHERE enreach_id = 'c2'`
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
		claimed("a shared hash", []string{"crm-1"}, map[string]string{"crm-1": "k/c1"})
		// A result saved in place (its row read first) sets c3's CRM id.
		read, err := s.Ledger(ctx, "a", "call", []string{"c3"})
		if err != nil {
			t.Fatal(err)
		}
		res := read["c3"]
		res.State, res.CRMID, res.Attempts, res.Payload = store.Written, "crm-3", 1, nil
		// Upserted: c4 new, without a payload; c1 again without a CRM id,
		// which keeps crm-1.
		c1 := row("c1", "")
		c1.State, c1.Payload = store.Failed, nil
		c4 := row("c4", "crm-4")
		c4.State, c4.Payload = store.Written, nil
		if err := s.SaveLedger(ctx, []store.LedgerEntry{res, c1, c4}); err != nil {
			t.Fatal(err)
		}
		claimed("results", []string{"crm-1", "crm-3", "crm-4"}, map[string]string{"crm-1": "k/c1", "crm-3": "k/c3", "crm-4": "k/c4"})
	})
}
