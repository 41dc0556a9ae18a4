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

// A directory lookup on SQLite runs its cached statement as prepared: it is
// not parsed and planned again per lookup. SQLite calls a connection's
// authorizer for each SELECT it compiles (https://www.sqlite.org/c3ref/set_authorizer.html),
// so the SELECTs compiled while numbers are looked up count the statement's
// preparations.
func TestDirectoryLookupIsNotPreparedAgain(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	recs := []store.DirectoryRecord{
		{ID: "c1", Numbers: []store.DirectoryNumber{{Field: "mobilephone", E164: "+358401234567", Raw: "040 123 4567", Region: "FI", Modified: at}}},
		{ID: "c2", Numbers: []store.DirectoryNumber{{Field: "mobilephone", E164: "+358401234568", Raw: "040 123 4568", Region: "FI", Modified: at}}},
	}
	if err := s.ReplaceDirectoryRecords(ctx, "t", "contact", 1, recs, at); err != nil {
		t.Fatal(err)
	}
	var compiled atomic.Int64
	authorize := func(fn func(int, string, string, string) int) { setAuthorizer(ctx, t, s, fn) }
	authorize(func(op int, _, _, _ string) int {
		if op == sqlite3.SQLITE_SELECT {
			compiled.Add(1)
		}
		return sqlite3.SQLITE_OK
	})
	defer authorize(nil)
	lookup := func(number string) {
		got, err := s.DirectoryLookup(ctx, "t", []string{number})
		if err != nil || len(got[number]) != 1 {
			t.Fatalf("lookup %s = %+v, %v", number, got, err)
		}
	}
	lookup("+358401234567") // setting the authorizer expired the cached statement
	compiled.Store(0)
	for range 3 {
		lookup("+358401234568")
		lookup("+358401234567")
	}
	if n := compiled.Load(); n != 0 {
		t.Errorf("6 lookups compiled %d SELECTs; want 0 (the cached statement reused as prepared)", n)
	}
}

// setAuthorizer sets fn (nil: none) as the authorizer of the SQLite
// store's one connection, which SQLite calls for each statement it
// compiles, a trigger's included
// (https://www.sqlite.org/c3ref/set_authorizer.html). Setting it expires
// the connection's cached statements.
func setAuthorizer(ctx context.Context, t *testing.T, s *store.Store, fn func(int, string, string, string) int) {
	t.Helper()
	c, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Raw(func(dc any) error {
		dc.(*sqlite3.SQLiteConn).RegisterAuthorizer(fn)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
