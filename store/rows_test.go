package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// SQLite's multi-row statements (SaveLedger's new rows without a payload
// and the decision log entries of its rows) leave every row of the ledger,
// of ledger_payloads and of decisions, every column and the rowids, as the
// statement for one row each leaves them (store.SaveRowByRow): the same
// saves, given to one store of each, compared after each save. The saves
// are a backfill's (a window's decisions with payloads, then its results,
// in runs of every length the statements are built for and the rows left
// over), a later pass's results on rows read back (updated in place, or
// upserted when the number changed), rows another process saved since the
// caller read the ledger (written ones left as they are), keys given twice
// in one save, text that is not UTF-8 or holds a NUL, empty and kept CRM
// ids, and decision log entries of items not saved with them (looked up).
// A key given twice, first as new and then as read, is saved in that
// order.
// The times a save stamps (created_at, updated_at, seen_at) are compared
// as the save they were stamped by.
func TestSaveLedgerRowsAsRowByRow(t *testing.T) {
	ctx := context.Background()
	open := func(rowByRow bool) *store.Store {
		s, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if rowByRow {
			store.SaveRowByRow(s)
		}
		return s
	}
	rows, byRow := open(false), open(true)
	stores := []*store.Store{rows, byRow}
	// windows[i] are the times within which store i's saves ran, in order.
	windows := make([][][2]int64, 2)
	// save runs one save on both stores; mk builds its entries from what
	// the store's Ledger gives for ids (a row's FirstSeen is the store's).
	save := func(name string, mk func(read map[string]store.LedgerEntry) ([]store.LedgerEntry, []store.Decision), ids ...string) {
		t.Helper()
		for i, s := range stores {
			read, err := s.Ledger(ctx, "a", "call", ids)
			if err != nil {
				t.Fatal(err)
			}
			es, ds := mk(read)
			t0 := time.Now().UnixMilli()
			if err := s.SaveLedger(ctx, es, ds...); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			windows[i] = append(windows[i], [2]int64{t0, time.Now().UnixMilli()})
			time.Sleep(3 * time.Millisecond) // the next save's time differs
		}
		compareStores(t, name, rows.DB(), byRow.DB(), windows)
	}
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(5, 6))
	entry := func(id string, i int) store.LedgerEntry {
		return store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: store.Pending,
			ItemTime: at.Add(time.Duration(i) * time.Minute), Number: fmt.Sprintf("+35840%05d", i%700)}
	}
	decision := func(e store.LedgerEntry, n int) store.Decision {
		d := store.Decision{Tenant: e.Tenant, Kind: e.Kind, EnreachID: e.EnreachID, At: at.Add(time.Duration(n) * time.Millisecond),
			State: e.State, Reason: e.Reason, CRMID: e.CRMID, Detail: []byte(fmt.Sprintf(`{"n":%d}`, n))}
		switch n % 5 {
		case 0:
			d.Detail = nil
		case 1:
			d.Detail = []byte{}
		case 2:
			d.Error, d.Detail = "bytes \xff\xfe and a NUL \x00 "+oddText, []byte("not utf-8 \xff")
		}
		return d
	}
	// Windows of a backfill: one call in ten decided without a write
	// (its payload kept), the others' results saved new (FirstSeen zero),
	// each save with its rows' log. Window sizes cover runs of every
	// statement size and the rows left over.
	n := 0
	for w, size := range []int{1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 85, 301, 1000} {
		var ids, crm []string
		for range size {
			ids = append(ids, fmt.Sprintf("c%05d-%x", n, r.Uint32()))
			crm = append(crm, fmt.Sprintf("crm-%d-%x", n, r.Uint32()))
			n++
		}
		perm := r.Perm(size)
		save(fmt.Sprintf("window %d decided", w), func(map[string]store.LedgerEntry) ([]store.LedgerEntry, []store.Decision) {
			var es []store.LedgerEntry
			var ds []store.Decision
			for i, id := range ids {
				if i%10 == 9 || size == 1 {
					e := entry(id, n+i)
					e.State, e.Reason, e.Payload = store.Unresolved, "no_match", []byte(`{"id":"`+id+`"}`)
					es = append(es, e)
					ds = append(ds, decision(e, n+i))
				}
			}
			return es, ds
		}, ids...)
		save(fmt.Sprintf("window %d results", w), func(map[string]store.LedgerEntry) ([]store.LedgerEntry, []store.Decision) {
			var es []store.LedgerEntry
			var ds []store.Decision
			for i, id := range ids {
				if i%10 == 9 || size == 1 {
					continue
				}
				e := entry(id, n+i)
				e.State, e.Reason, e.CRMID, e.Attempts = store.Written, "created", crm[i], 1
				switch i % 13 {
				case 3:
					e.State, e.Reason, e.CRMID, e.LastError = store.Failed, "crm_error", "", "timeout \x00 \xff"
				case 7:
					e.UnmappedUser = "user " + oddText
				}
				es = append(es, e)
				ds = append(ds, decision(e, n+i), decision(e, n+i+1))
			}
			// In no order (SaveLedger saves them in key order).
			shuffled := make([]store.LedgerEntry, 0, len(es))
			for _, j := range perm {
				if j < len(es) {
					shuffled = append(shuffled, es[j])
				}
			}
			return shuffled, ds
		}, ids...)
	}
	// A later pass over the first 400 calls, each read back: results of
	// the rows left unresolved (in place), a changed number (upserted),
	// written rows given again (left as they are), rows with no CRM id
	// (the stored one kept); new rows given twice, written then pending
	// and pending then written; rows another process saved since the
	// caller read the ledger (FirstSeen zero, the key stored, written or
	// not, with a payload or without); an item never saved and one with
	// a row, each only in the log.
	var ids []string
	for _, e := range mustLedgerIDs(t, rows.DB(), 400) {
		ids = append(ids, e)
	}
	// all is the rows read, in the order of ids.
	all := func(read map[string]store.LedgerEntry) []store.LedgerEntry {
		var es []store.LedgerEntry
		for _, id := range ids {
			if e, ok := read[id]; ok {
				es = append(es, e)
			}
		}
		return es
	}
	save("later pass", func(read map[string]store.LedgerEntry) ([]store.LedgerEntry, []store.Decision) {
		var es []store.LedgerEntry
		var ds []store.Decision
		for i, e := range all(read) {
			switch i % 6 {
			case 0:
				e.State, e.Reason, e.Attempts, e.CRMID = store.Written, "created", e.Attempts+1, "later-"+e.EnreachID
			case 1:
				e.Number, e.State, e.Reason = "+358500000", store.Failed, "crm_error"
			case 2:
				e.State, e.Reason, e.CRMID = store.Skipped, "filtered", ""
			case 3:
				e.FirstSeen = time.Time{} // as if the caller had not read it
				e.State, e.Reason = store.Unresolved, "no_match"
			case 4:
				e.FirstSeen, e.Payload = time.Time{}, []byte(`{"again":true}`)
			case 5:
				// Given twice: first as if not read (FirstSeen zero),
				// then its result on the row read.
				first := e
				first.FirstSeen, first.State, first.Reason = time.Time{}, store.Unresolved, "first"
				es = append(es, first)
				ds = append(ds, decision(first, i))
				e.State, e.Reason, e.CRMID = store.Failed, "second", "second-"+e.EnreachID
			}
			es = append(es, e)
			ds = append(ds, decision(e, i))
		}
		for i := range 70 {
			e := entry(fmt.Sprintf("twice-%02d", i), i)
			first, second := e, e
			if i%2 == 0 {
				second.State, second.Reason, second.CRMID = store.Written, "created", fmt.Sprintf("tw-%d", i)
			} else {
				first.State, first.Reason, first.CRMID = store.Written, "created", fmt.Sprintf("tw-%d", i)
				second.Reason = "again"
			}
			es = append(es, first, second)
			ds = append(ds, decision(first, i), decision(second, i))
		}
		ds = append(ds, decision(entry("ghost", 0), 1), decision(entry(ids[1], 1), 2))
		return es, ds
	}, ids...)
	// Runs of new rows (FirstSeen zero, no payload) among which are keys
	// stored since the caller read the ledger (every third; written ones
	// among them), in statements of every size.
	var later []string
	for i := range 150 {
		later = append(later, fmt.Sprintf("c%05d-later-%03d", i, i))
	}
	stored := mustLedgerIDs(t, rows.DB(), 1200)[400:]
	save("saved meanwhile", func(map[string]store.LedgerEntry) ([]store.LedgerEntry, []store.Decision) {
		var es []store.LedgerEntry
		var ds []store.Decision
		for i, id := range later {
			e := entry(id, i)
			if i%3 == 0 {
				e = entry(stored[i], i)
			}
			e.State, e.Reason, e.CRMID, e.Attempts = store.Written, "created", fmt.Sprintf("meanwhile-%d", i), 2
			if i%5 == 0 {
				e.State, e.CRMID = store.Failed, ""
			}
			es = append(es, e)
			ds = append(ds, decision(e, i))
		}
		return es, ds
	})
	if t.Failed() {
		return
	}
	var n0 int
	if err := rows.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger WHERE crm_id LIKE 'later-%' OR enreach_id LIKE 'twice-%'`).Scan(&n0); err != nil || n0 == 0 {
		t.Fatalf("the later pass saved no rows of the kinds compared (%d, %v)", n0, err)
	}
}

// mustLedgerIDs returns the enreach ids of the first n ledger rows saved.
func mustLedgerIDs(t *testing.T, db *sql.DB, n int) []string {
	t.Helper()
	rs, err := db.Query(`SELECT enreach_id FROM ledger ORDER BY rowid LIMIT ?`, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rs.Err(); err != nil || len(ids) != n {
		t.Fatalf("%d ledger ids, want %d (%v)", len(ids), n, err)
	}
	return ids
}

// compareStores compares every row of the ledger, ledger_payloads and
// decisions of two SQLite stores, each column's value a save stamped
// (created_at, updated_at, seen_at) as the save it falls within.
func compareStores(t *testing.T, name string, a, b *sql.DB, windows [][][2]int64) {
	t.Helper()
	for _, q := range []string{
		`SELECT rowid, * FROM ledger ORDER BY rowid`,
		`SELECT id, payload FROM ledger_payloads ORDER BY id`,
		`SELECT * FROM decisions ORDER BY id`,
	} {
		ra, rb := dumpRows(t, a, q, windows[0]), dumpRows(t, b, q, windows[1])
		if len(ra) != len(rb) {
			t.Errorf("%s: %s: %d rows, row by row %d", name, q, len(ra), len(rb))
		}
		for i := range min(len(ra), len(rb)) {
			if ra[i] != rb[i] {
				t.Errorf("%s: %s: row %d:\n     got %s\nrow by row %s", name, q, i, ra[i], rb[i])
				break
			}
		}
	}
}

// dumpRows returns each row of query as text: each column's name, type
// and value; a stamped time as the index of the save (windows) it falls
// within.
func dumpRows(t *testing.T, db *sql.DB, query string, windows [][2]int64) []string {
	t.Helper()
	rs, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, c := range cols {
			v := vals[i]
			if ms, ok := v.(int64); ok && (c == "created_at" || c == "updated_at" || c == "seen_at") {
				for k, w := range windows {
					if ms >= w[0] && ms <= w[1] {
						v = fmt.Sprintf("save %d", k)
					}
				}
			}
			fmt.Fprintf(&b, "%s=%T(%q) ", c, v, fmt.Sprint(v))
		}
		out = append(out, b.String())
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
