package store_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/callsync/callsync/store"
)

// A ledger row saved without a new payload (a write's result, a decision
// that keeps no payload) is upserted by a statement that does not name
// payload_id in its update, so the trigger ledger_payload_replaced is not
// compiled into it: on SQLite a statement that may fire a trigger runs
// with a statement journal, a copy of each page it changes, which a
// backfill's results transaction spilled to a temporary file
// (https://www.sqlite.org/tempfiles.html). SQLite calls a connection's
// authorizer for each statement it compiles, a trigger's included
// (https://www.sqlite.org/c3ref/set_authorizer.html), so the trigger's
// DELETE on ledger_payloads counts the statements compiled with it. A row
// with a new payload still is: its old payload must go.
func TestLedgerSaveWithoutPayloadCompilesNoTrigger(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	row := func(id string, st store.LedgerState, payload string) store.LedgerEntry {
		e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: "k/" + id, State: st, ItemTime: at, Number: "+358401"}
		if payload != "" {
			e.Payload = []byte(payload)
		}
		return e
	}
	if err := s.SaveLedger(ctx, []store.LedgerEntry{row("c1", store.Pending, `{"v":1}`)}); err != nil {
		t.Fatal(err)
	}
	var triggers atomic.Int64
	authorize := func(fn func(int, string, string, string) int) { setAuthorizer(ctx, t, s, fn) }
	// Setting the authorizer expires the cached statements: each save below
	// compiles its statements again.
	authorize(func(op int, table, _, _ string) int {
		if op == sqlite3.SQLITE_DELETE && table == "ledger_payloads" {
			triggers.Add(1)
		}
		return sqlite3.SQLITE_OK
	})
	defer authorize(nil)
	res := row("c1", store.Written, "")
	res.CRMID, res.Attempts = "crm-1", 1
	if err := s.SaveLedger(ctx, []store.LedgerEntry{res, row("c2", store.Skipped, "")}); err != nil {
		t.Fatal(err)
	}
	if n := triggers.Load(); n != 0 {
		t.Errorf("saving rows without a payload compiled the payload trigger %d times; want 0", n)
	}
	if err := s.SaveLedger(ctx, []store.LedgerEntry{row("c3", store.Pending, `{"v":3}`)}); err != nil {
		t.Fatal(err)
	}
	if triggers.Load() == 0 {
		t.Error("saving a row with a payload compiled no payload trigger: the authorizer does not see it")
	}
	got, ok, err := s.LedgerItem(ctx, "a", "call", "c1")
	if err != nil || !ok || got.State != store.Written || got.CRMID != "crm-1" || string(got.Payload) != `{"v":1}` {
		t.Errorf("c1 after its result = %+v, %v, %v; want written, crm-1, its payload kept", got, ok, err)
	}
}
