package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// eachEngineAndSetSQLite is eachEngineDB, and SQLite once more with the
// set-based statements only PostgreSQL runs in production (its versions of
// them are part of the Querier both engines share).
func eachEngineAndSetSQLite(t *testing.T, fn func(t *testing.T, s *store.Store, db *sql.DB)) {
	eachEngineDB(t, fn)
	t.Run("sqlite-set", func(t *testing.T) {
		s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		db := s.DB()
		store.UseSetStatements(s)
		fn(t, s, db)
	})
}

// ledgerRaw is a ledger row as stored, every column.
type ledgerRaw struct {
	key, state, reason, crmID       string
	crmHash, attempts, itemTime     int64
	lastError, number, unmappedUser string
	hasPayload                      bool
	createdAt, updatedAt            int64
}

func readLedger(t *testing.T, db *sql.DB) map[string]ledgerRaw {
	t.Helper()
	rows, err := db.Query(`SELECT enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number,
		unmapped_user, payload_id IS NOT NULL, created_at, updated_at FROM ledger WHERE tenant = 'a' AND kind = 'call'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]ledgerRaw{}
	for rows.Next() {
		var id string
		var r ledgerRaw
		if err := rows.Scan(&id, &r.key, &r.state, &r.reason, &r.crmID, &r.crmHash, &r.attempts, &r.lastError, &r.itemTime, &r.number,
			&r.unmappedUser, &r.hasPayload, &r.createdAt, &r.updatedAt); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hashOf is ledger.crm_hash of a CRM id (migration 17): the first 8 bytes
// of its MD5 digest, big-endian, signed; 0 for none.
func hashOf(id string) int64 {
	if id == "" {
		return 0
	}
	sum := md5.Sum([]byte(id))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// oddText is text a JSON string must carry exactly: quotes, a backslash,
// characters encoding/json escapes (<, >, &, U+2028), control characters
// and characters outside ASCII.
const oddText = "quote \" backslash \\ <b>&amp; \u2028 tab\tnewline\n é 🙂 \x01"

// One save of more rows than one set-based statement carries (1,505 rows,
// in no order): new rows, pending rows stored before (with payloads; some
// with a CRM id an empty one must keep), written rows that a later save must
// leave exactly as they are, keys given twice (the second save of a key
// after the first, the written guard between them), text a JSON string
// carries only escaped, and text that is not UTF-8, which goes to the
// statement for one row. Every column of every row is checked against what
// the upsert of each row in key order leaves.
func TestSaveLedgerManyRowsOfEveryKind(t *testing.T) {
	eachEngineAndSetSQLite(t, func(t *testing.T, s *store.Store, db *sql.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 0, 0, time.UTC)
		var setup []store.LedgerEntry
		for i := range 300 {
			e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: fmt.Sprintf("p%03d", i), Key: fmt.Sprintf("k/p%03d", i),
				State: store.Pending, ItemTime: at.Add(time.Duration(i) * time.Minute), Number: "+3584000", Payload: []byte(fmt.Sprintf(`{"p":%d}`, i))}
			if i%2 == 0 {
				e.CRMID = fmt.Sprintf("old-%d", i)
			}
			setup = append(setup, e)
		}
		for i := range 200 {
			setup = append(setup, store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: fmt.Sprintf("w%03d", i), Key: fmt.Sprintf("k/w%03d", i),
				State: store.Written, Reason: "created", CRMID: fmt.Sprintf("w-%d", i), Attempts: 1, ItemTime: at, Number: "+3584001", UnmappedUser: "u1"})
		}
		if err := s.SaveLedger(ctx, setup); err != nil {
			t.Fatal(err)
		}
		before := readLedger(t, db)
		if len(before) != 500 {
			t.Fatalf("%d rows after the first save, want 500", len(before))
		}
		time.Sleep(5 * time.Millisecond) // the second save's time differs

		var save []store.LedgerEntry
		want := map[string]ledgerRaw{}
		for i := range 1000 {
			id := fmt.Sprintf("n%04d", i)
			e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: store.Unresolved, Reason: "no_match",
				ItemTime: at.Add(time.Duration(-i) * time.Hour * 24 * 365 / 10), Number: fmt.Sprintf("+35850%05d", i), Attempts: i % 4}
			if i%2 == 0 {
				e.State, e.Reason, e.CRMID = store.Written, "created", fmt.Sprintf("n-crm-%d", i)
			}
			if i%7 == 0 {
				e.LastError, e.UnmappedUser = oddText, "user "+oddText
			}
			save = append(save, e)
			want[id] = ledgerRaw{key: e.Key, state: string(e.State), reason: e.Reason, crmID: e.CRMID, crmHash: hashOf(e.CRMID),
				attempts: int64(e.Attempts), itemTime: e.ItemTime.UnixMilli(), lastError: e.LastError, number: e.Number, unmappedUser: e.UnmappedUser}
		}
		for i := range 300 {
			id := fmt.Sprintf("p%03d", i)
			e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: store.Failed, Reason: "crm_error",
				Attempts: i%5 + 1, LastError: fmt.Sprintf("error %d", i), ItemTime: at.Add(time.Duration(i) * time.Second), Number: fmt.Sprintf("+3584002%03d", i)}
			b := before[id]
			crm := b.crmID // an empty CRM id keeps the stored one
			if i%3 != 0 {
				e.CRMID, crm = fmt.Sprintf("p-new-%d", i), fmt.Sprintf("p-new-%d", i)
			}
			save = append(save, e)
			want[id] = ledgerRaw{key: b.key, state: "failed", reason: "crm_error", crmID: crm, crmHash: hashOf(crm), attempts: int64(e.Attempts),
				lastError: e.LastError, itemTime: e.ItemTime.UnixMilli(), number: e.Number, hasPayload: true, createdAt: b.createdAt}
		}
		for i := range 200 {
			id := fmt.Sprintf("w%03d", i)
			save = append(save, store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: store.Pending,
				Reason: "again", Attempts: 7, ItemTime: at.Add(time.Hour), Number: "+3584003", UnmappedUser: "u2"})
			want[id] = before[id] // untouched, times included
		}
		// d1: pending, then written: written. d2: written, then pending: the
		// first stays. In the order given (SaveLedger sorts stably).
		save = append(save,
			store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "d1", Key: "k/d1", State: store.Pending, ItemTime: at},
			store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "d1", Key: "k/d1", State: store.Written, Reason: "created", CRMID: "d1-crm", Attempts: 1, ItemTime: at},
			store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "d2", Key: "k/d2", State: store.Written, Reason: "created", CRMID: "d2-a", Attempts: 1, ItemTime: at},
			store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "d2", Key: "k/d2", State: store.Pending, ItemTime: at.Add(time.Hour)},
		)
		want["d1"] = ledgerRaw{key: "k/d1", state: "written", reason: "created", crmID: "d1-crm", crmHash: hashOf("d1-crm"), attempts: 1, itemTime: at.UnixMilli()}
		want["d2"] = ledgerRaw{key: "k/d2", state: "written", reason: "created", crmID: "d2-a", crmHash: hashOf("d2-a"), attempts: 1, itemTime: at.UnixMilli()}
		// Not UTF-8: SQLite stores the bytes; PostgreSQL refuses them, in
		// another save (this one's transaction would end with it).
		bad := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "x1", Key: "k/x1", State: store.Failed, LastError: "bytes \xff\xfe", ItemTime: at}
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(save)-4, func(i, j int) { save[i], save[j] = save[j], save[i] })

		t0 := time.Now().UnixMilli()
		if err := s.SaveLedger(ctx, save); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now().UnixMilli()
		if s.Driver() == "sqlite" {
			if err := s.SaveLedger(ctx, []store.LedgerEntry{bad}); err != nil {
				t.Fatal(err)
			}
			want["x1"] = ledgerRaw{key: "k/x1", state: "failed", lastError: "bytes \xff\xfe", itemTime: at.UnixMilli()}
		}
		got := readLedger(t, db)
		if len(got) != len(want) {
			t.Errorf("%d rows, want %d", len(got), len(want))
		}
		for id, w := range want {
			g, ok := got[id]
			if !ok {
				t.Errorf("%s: no row", id)
				continue
			}
			if _, old := before[id]; !old || id[0] == 'p' {
				// Saved by the second save (or the third): its time, and
				// a new row's first-seen time is the same.
				if g.updatedAt < t0 || (g.updatedAt > t1 && id != "x1") {
					t.Errorf("%s: updated_at %d, want within the save [%d, %d]", id, g.updatedAt, t0, t1)
				}
				if !old {
					w.createdAt = g.updatedAt
				}
				w.updatedAt = g.updatedAt
			}
			if g != w {
				t.Errorf("%s:\n got %+v\nwant %+v", id, g, w)
			}
		}
		claimed, err := s.ClaimedActivities(ctx, "a", []string{"n-crm-10", "p-new-5", "old-6", "old-4", "w-3", "d2-a"})
		if err != nil {
			t.Fatal(err)
		}
		// old-4 was replaced by p-new-4 (4%3 != 0), old-6 kept (6%3 == 0).
		wantClaimed := map[string]string{"n-crm-10": "k/n0010", "p-new-5": "k/p005", "old-6": "k/p006", "w-3": "k/w003", "d2-a": "k/d2"}
		if fmt.Sprint(claimed) != fmt.Sprint(wantClaimed) {
			t.Errorf("claimed %v, want %v", claimed, wantClaimed)
		}
	})
}

// A pass's decision log of more entries than one set-based statement
// carries (1,453), several per item and interleaved, is kept in its order
// under each item's first-seen time: the rows saved with it (new: this
// transaction's time), an item saved before (its row's time, looked up),
// an item with no row (0); details nil, empty, with text a JSON string
// carries only escaped, and not UTF-8 (the statement for one entry, in its
// place in the order).
func TestDecisionsManyEntriesInOrder(t *testing.T) {
	eachEngineAndSetSQLite(t, func(t *testing.T, s *store.Store, _ *sql.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 6, 8, 0, 0, 0, time.UTC)
		if err := s.SaveLedger(ctx, []store.LedgerEntry{{Tenant: "a", Kind: "call", EnreachID: "old", Key: "k/old", State: store.Unresolved, ItemTime: at}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		var rows []store.LedgerEntry
		for i := range 600 {
			rows = append(rows, store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: fmt.Sprintf("c%03d", i), Key: fmt.Sprintf("k/c%03d", i), State: store.Written, CRMID: fmt.Sprintf("crm-%d", i), ItemTime: at})
		}
		details := [][]byte{nil, {}, []byte(`{"why":"` + oddText + `"}`), []byte(`{"n":1}`)}
		var log []store.Decision
		want := map[string][]store.Decision{}
		add := func(id string, n int) {
			d := store.Decision{Tenant: "a", Kind: "call", EnreachID: id, At: at.Add(time.Duration(n) * time.Millisecond), State: store.Written,
				Reason: fmt.Sprintf("r%d", n), CRMID: fmt.Sprintf("crm-%d", n), Error: "", Detail: details[n%len(details)]}
			if n%401 == 400 {
				d.Detail = []byte("not utf-8 \xff")
			}
			if n%11 == 0 {
				d.State, d.Error = store.Failed, oddText
			}
			log = append(log, d)
			want[id] = append(want[id], d)
		}
		n := 0
		for range 2 {
			for i := range 600 {
				add(fmt.Sprintf("c%03d", i), n)
				n++
				if i%25 == 0 {
					add("old", n)
					n++
					add("ghost", n)
					n++
				}
			}
		}
		if err := s.SaveLedger(ctx, rows, log...); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"c000", "c001", "c299", "c599", "old", "ghost"} {
			got, err := s.Decisions(ctx, "a", "call", id)
			if err != nil {
				t.Fatal(err)
			}
			w := want[id]
			if len(got) != len(w) {
				t.Errorf("%s: %d entries, want %d", id, len(got), len(w))
				continue
			}
			for i := range w {
				g := got[i]
				if !g.At.Equal(w[i].At) || g.State != w[i].State || g.Reason != w[i].Reason || g.CRMID != w[i].CRMID || g.Error != w[i].Error ||
					!bytes.Equal(g.Detail, w[i].Detail) || (g.Detail == nil) != (w[i].Detail == nil) {
					t.Errorf("%s entry %d:\n got %+v\nwant %+v", id, i, g, w[i])
				}
			}
		}
	})
}
