package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A caller's number is found through the directory_by_number index, not
// by reading every directory row of the tenant: SQLite has no table
// statistics here, so the index must be the planner's obvious choice.
func TestDirectoryLookupUsesNumberIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.eng.(sqliteEngine).db
	rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT entity, record_id, field, e164, raw, country, region, owner_id, parent_id, modified_at, synced_at
FROM directory_numbers WHERE tenant = ?1 AND e164 IN (?)`, "t", "+358401234567")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX directory_by_number (tenant=? AND e164=?)") {
		t.Errorf("directory lookup plan: %s", p)
	}
}

// callsync explain finds a number's calls by a range of call times through
// ledger_by_state, one range per state, without sorting them apart.
func TestLedgerByNumberUsesIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.eng.(sqliteEngine).db
	rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT enreach_id FROM ledger
WHERE tenant = ? AND kind = ? AND number = ? AND item_time >= ? AND item_time <= ? AND state IN (?, ?, ?, ?, ?, ?) ORDER BY item_time`,
		"t", "call", "+358401234567", 1, 2, "pending", "written", "skipped", "unresolved", "failed", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX ledger_by_state (tenant=? AND kind=? AND state=? AND item_time>? AND item_time<?)") {
		t.Errorf("ledger by number plan: %s", p)
	}
}

// An item's decision log is read through decisions_by_item, by the
// first-seen time of its ledger row and its id.
func TestDecisionsUseItemIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.eng.(sqliteEngine).db
	rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT d.at, d.state, d.reason, d.crm_id, d.error, d.detail FROM decisions d
WHERE d.tenant = ?1 AND d.kind = ?2 AND d.enreach_id = ?3
  AND d.seen_at = COALESCE((SELECT l.created_at FROM ledger l WHERE l.tenant = ?1 AND l.kind = ?2 AND l.enreach_id = ?3), 0)
ORDER BY d.id`, "t", "call", "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX decisions_by_item (tenant=? AND kind=? AND seen_at=? AND enreach_id=?)") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("decision log plan: %s", p)
	}
}
