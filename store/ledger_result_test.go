package store_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// A write's result saved on its pending row (no payload, same number and
// time) leaves the row as the upsert does: payload, key and first-seen time
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

// Recording a write's result on a pending row rewrites no page of the
// number index (SQLite rewrites an index when an UPDATE sets one of its
// columns): the pages a commit writes are its WAL frames, each headed by
// its page number (https://www.sqlite.org/fileformat.html#the_write_ahead_log).
func TestSaveLedgerResultLeavesNumberIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "c1", Key: "k1", State: store.Pending,
		ItemTime: time.Now(), Number: "+358401", Payload: []byte(`{"x":1}`)}
	if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	root := func(index string) uint32 {
		var p uint32
		if err := s.DB().QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, index).Scan(&p); err != nil {
			t.Fatal(index, err)
		}
		return p
	}
	if _, err := s.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	e.State, e.CRMID, e.Attempts, e.Payload = store.Written, "crm-1", 1, nil
	if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
		t.Fatal(err)
	}
	wal, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if len(wal) < 32 {
		t.Fatalf("WAL of %d bytes", len(wal))
	}
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	var pages []uint32
	for off := 32; off+24+pageSize <= len(wal); off += 24 + pageSize {
		pages = append(pages, binary.BigEndian.Uint32(wal[off:off+4]))
	}
	// One row: each index is its root page alone. The state index must be
	// among the written pages, or this test could not see the number index.
	if !slices.Contains(pages, root("ledger_by_state")) {
		t.Fatalf("pages written %v miss ledger_by_state's root %d", pages, root("ledger_by_state"))
	}
	if p := root("ledger_by_number"); slices.Contains(pages, p) {
		t.Errorf("the result rewrote ledger_by_number (page %d; pages written %v)", p, pages)
	}
}
