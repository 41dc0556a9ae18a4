package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// A write's result saved on its pending row (no payload, same number and
// time, the row read first) leaves the row as the upsert does: payload, key and first-seen time
// kept, an empty CRM id keeps the stored one; a row with another number, or
// no row at all, is upserted.
func TestSaveLedgerResultInPlace(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 32, 0, time.UTC)
		row := func(id, number string) store.LedgerEntry {
			return store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "key/" + id, State: store.Pending,
				ItemTime: at, Number: number, Payload: []byte(`{"id":"` + id + `"}`), UnmappedUser: "u1"}
		}
		pending := []store.LedgerEntry{row("c1", "+358401"), row("c2", "+358402"), row("c3", "+358403")}
		pending[1].CRMID = "existing-2"
		if err := s.SaveLedger(ctx, pending); err != nil {
			t.Fatal(err)
		}
		first, _, err := s.LedgerItem(ctx, "a", "call", "c1")
		if err != nil {
			t.Fatal(err)
		}
		res := []store.LedgerEntry{row("c1", "+358401"), row("c2", "+358402"), row("c3", "+358409"), row("c4", "+358404")}
		for i := range res {
			res[i].Payload, res[i].Attempts, res[i].UnmappedUser = nil, 1, ""
		}
		// c1-c3 as Ledger read them (first seen), c4 not found.
		read, err := s.Ledger(ctx, "a", "call", []string{"c1", "c2", "c3", "c4"})
		if err != nil || len(read) != 3 || !read["c1"].FirstSeen.Equal(first.FirstSeen) {
			t.Fatalf("ledger read %+v: %v, want c1-c3 with c1 first seen %v", read, err, first.FirstSeen)
		}
		for i := range res[:3] {
			res[i].FirstSeen = read[res[i].EnreachID].FirstSeen
		}
		res[0].State, res[0].CRMID, res[0].Reason = store.Written, "crm-1", "open"
		res[1].State, res[1].LastError = store.Failed, "boom"
		res[2].State, res[2].CRMID = store.Written, "crm-3"
		res[3].State, res[3].CRMID = store.Written, "crm-4"
		time.Sleep(2 * time.Millisecond)
		if err := s.SaveLedger(ctx, res); err != nil {
			t.Fatal(err)
		}
		want := []store.LedgerEntry{
			{EnreachID: "c1", State: store.Written, Reason: "open", CRMID: "crm-1", Attempts: 1, Number: "+358401", Payload: []byte(`{"id":"c1"}`)},
			{EnreachID: "c2", State: store.Failed, CRMID: "existing-2", Attempts: 1, LastError: "boom", Number: "+358402", Payload: []byte(`{"id":"c2"}`)},
			{EnreachID: "c3", State: store.Written, CRMID: "crm-3", Attempts: 1, Number: "+358409", Payload: []byte(`{"id":"c3"}`)},
			{EnreachID: "c4", State: store.Written, CRMID: "crm-4", Attempts: 1, Number: "+358404"},
		}
		for _, w := range want {
			got, ok, err := s.LedgerItem(ctx, "a", "call", w.EnreachID)
			if err != nil || !ok {
				t.Fatalf("%s: %v %v", w.EnreachID, ok, err)
			}
			g := got.LedgerEntry
			if g.Key != "key/"+w.EnreachID || g.State != w.State || g.Reason != w.Reason || g.CRMID != w.CRMID || g.Attempts != w.Attempts ||
				g.LastError != w.LastError || g.Number != w.Number || !g.ItemTime.Equal(at) || string(g.Payload) != string(w.Payload) {
				t.Errorf("%s = %+v, want %+v", w.EnreachID, g, w)
			}
			if w.EnreachID == "c1" && (!got.FirstSeen.Equal(first.FirstSeen) || !got.Updated.After(first.Updated)) {
				t.Errorf("c1 first seen %v -> %v, updated %v -> %v", first.FirstSeen, got.FirstSeen, first.Updated, got.Updated)
			}
		}
		ids, err := s.LedgerIDsByNumber(ctx, "a", "call", "+358409", at.Add(-time.Second), at.Add(time.Second))
		if err != nil || len(ids) != 1 || ids[0] != "c3" {
			t.Errorf("by number: %v %v", ids, err)
		}
		unmapped, err := s.UnmappedUsers(ctx, "a", "call")
		if err != nil || len(unmapped) != 0 {
			t.Errorf("unmapped users after the results: %v %v", unmapped, err)
		}
	})
}

// No index of the ledger holds the number (migration 15): numbers come in
// no order, so each call's row put an entry on a random page of such an
// index, and callsync explain, its only reader, finds a number's calls by
// their time range (ledger_by_state) instead.
func TestLedgerIndexesHoldNoNumber(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.DB().QueryContext(ctx, `SELECT il.name, ii.name FROM pragma_index_list('ledger') il, pragma_index_info(il.name) ii`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var index string
		var col sql.NullString
		if err := rows.Scan(&index, &col); err != nil {
			t.Fatal(err)
		}
		n++
		if col.String == "number" {
			t.Errorf("index %s holds the number", index)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no ledger index columns listed")
	}
}

// A number's calls are found in every ledger state, within the time range
// (edges included), oldest first, and only the tenant's and kind's.
func TestLedgerIDsByNumberEveryState(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 0, 0, time.UTC)
		var rows []store.LedgerEntry
		var want []string
		for i, st := range store.LedgerStates {
			id := "c" + string(st)
			rows = append(rows, store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: st,
				ItemTime: at.Add(time.Duration(len(store.LedgerStates)-i) * time.Minute), Number: "+358401"})
			want = append([]string{id}, want...)
		}
		rows = append(rows,
			store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "other-number", Key: "k/1", State: store.Written, ItemTime: at, Number: "+358402"},
			store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "too-late", Key: "k/2", State: store.Written, ItemTime: at.Add(time.Hour), Number: "+358401"},
			store.LedgerEntry{Tenant: "a", Kind: "callback", EnreachID: "other-kind", Key: "k/3", State: store.Written, ItemTime: at, Number: "+358401"},
			store.LedgerEntry{Tenant: "b", Kind: "call", EnreachID: "other-tenant", Key: "k/4", State: store.Written, ItemTime: at, Number: "+358401"},
		)
		if err := s.SaveLedger(ctx, rows); err != nil {
			t.Fatal(err)
		}
		got, err := s.LedgerIDsByNumber(ctx, "a", "call", "+358401", at.Add(time.Minute), at.Add(time.Duration(len(store.LedgerStates))*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("by number: %v, want %v", got, want)
		}
	})
}
