package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
	"github.com/callsync/callsync/store/pgtest"
)

// pg is the throwaway PostgreSQL cluster of this test run.
var pg = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// eachEngine runs a store test on a new SQLite store and on a new
// PostgreSQL database.
func eachEngine(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := store.OpenPostgres(context.Background(), pg.NewDatabase(t), store.PoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

func TestReopenKeepsStateAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	if err := s.SetWatermark(ctx, "a", "calls", at); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.Watermark(ctx, "a", "calls")
	if err != nil || !ok || !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("watermark = %v %v %v, want %v UTC", got, ok, err, at)
	}
	if _, ok, _ := s.Watermark(ctx, "b", "calls"); ok {
		t.Fatal("unknown tenant has a watermark")
	}
}

func TestLedgerWrittenIsNeverDowngraded(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: "c1", Key: "k1", State: store.Pending, ItemTime: time.Now(), Payload: []byte(`{"x":1}`)}
		if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
			t.Fatal(err)
		}
		e.State, e.CRMID, e.Payload = store.Written, "crm-1", nil
		if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
			t.Fatal(err)
		}
		e.State, e.CRMID = store.Failed, ""
		if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Ledger(ctx, "a", "call", []string{"c1", "missing"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["c1"].State != store.Written || got["c1"].CRMID != "crm-1" {
			t.Fatalf("ledger = %+v", got)
		}
		counts, _ := s.LedgerCounts(ctx, "a", "call")
		if counts[store.Written] != 1 || len(counts) != 1 {
			t.Fatalf("counts = %v", counts)
		}
	})
}

func TestLedgerByStateKeepsPayload(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var es []store.LedgerEntry
		for i, id := range []string{"c1", "c2", "c3"} {
			es = append(es, store.LedgerEntry{Tenant: "a", Kind: "call", EnreachID: id, Key: id, State: store.Failed, Attempts: i, ItemTime: time.Unix(int64(100-i), 0), Payload: []byte(id)})
		}
		if err := s.SaveLedger(ctx, es); err != nil {
			t.Fatal(err)
		}
		got, err := s.LedgerByState(ctx, "a", "call", store.Failed, 2, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].EnreachID != "c2" || string(got[0].Payload) != "c2" {
			t.Fatalf("got %+v", got)
		}
	})
}

// HasLedgerInStates finds a row of the tenant and kind in one of the states
// under maxAttempts, and nothing else: other states, rows tried too often,
// other tenants and kinds.
func TestHasLedgerInStates(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		retry := []store.LedgerState{store.Failed, store.Pending}
		has := func(tenant, kind string, states []store.LedgerState) bool {
			t.Helper()
			ok, err := s.HasLedgerInStates(ctx, tenant, kind, states, 5)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if has("a", "call", retry) {
			t.Error("an empty ledger has rows to retry")
		}
		save := func(tenant, kind, id string, state store.LedgerState, attempts int) {
			t.Helper()
			e := store.LedgerEntry{Tenant: tenant, Kind: kind, EnreachID: id, Key: id, State: state, Attempts: attempts, ItemTime: time.Unix(100, 0), Payload: []byte("p")}
			if state == store.Written {
				e.CRMID = "crm-" + id
			}
			if err := s.SaveLedger(ctx, []store.LedgerEntry{e}); err != nil {
				t.Fatal(err)
			}
		}
		save("a", "call", "w", store.Written, 1)
		save("a", "call", "u", store.Unresolved, 0)
		save("a", "call", "f-tried", store.Failed, 5)
		save("b", "call", "b-failed", store.Failed, 0)
		save("a", "callback", "cb-pending", store.Pending, 0)
		if has("a", "call", retry) {
			t.Error("rows of other states, tenants and kinds, or tried too often, taken for rows to retry")
		}
		if !has("a", "call", []store.LedgerState{store.Failed, store.Pending, store.Unresolved}) {
			t.Error("the unresolved row not found")
		}
		save("a", "call", "p", store.Pending, 4)
		if !has("a", "call", retry) || !has("a", "call", []store.LedgerState{store.Pending}) || has("a", "call", []store.LedgerState{store.Failed}) {
			t.Error("the pending row not found in its state alone")
		}
	})
}

func TestInboxDeduplicatesDeliveries(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		it := store.InboxItem{Tenant: "a", DeliveryID: "d1", EventType: "CallbackCreated", ReceivedAt: time.Now(), Payload: []byte(`{}`)}
		if ok, err := s.AddInbox(ctx, it); err != nil || !ok {
			t.Fatalf("first add = %v %v", ok, err)
		}
		if ok, err := s.AddInbox(ctx, it); err != nil || ok {
			t.Fatalf("replay add = %v %v, want not inserted", ok, err)
		}
		p, _ := s.PendingInbox(ctx, 10)
		if len(p) != 1 {
			t.Fatalf("pending = %d", len(p))
		}
		if err := s.FinishInbox(ctx, "a", "d1", store.InboxProcessed, ""); err != nil {
			t.Fatal(err)
		}
		p, _ = s.PendingInbox(ctx, 10)
		if len(p) != 0 {
			t.Fatalf("pending after finish = %d", len(p))
		}
	})
}

func TestPurgeKeepsOpenWork(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.SaveLedger(ctx, []store.LedgerEntry{
			{Tenant: "a", Kind: "call", EnreachID: "w", Key: "w", State: store.Written, ItemTime: time.Now()},
			{Tenant: "a", Kind: "call", EnreachID: "u", Key: "u", State: store.Unresolved, ItemTime: time.Now()},
		})
		r, err := s.Purge(ctx, []string{"a"}, store.PurgeCutoffs{Payloads: time.Now().Add(time.Hour), Ledger: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Ledger != 1 {
			t.Fatalf("purged %d ledger rows, want 1", r.Ledger)
		}
		got, _ := s.Ledger(ctx, "a", "call", []string{"w", "u"})
		if _, ok := got["u"]; !ok || len(got) != 1 {
			t.Fatalf("left %v", got)
		}
	})
}

// A new store is private to its user: directory 0700, database, -wal and
// -shm 0600, whatever the umask lets through.
func TestNewStoreFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "callsync.db")
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetWatermark(context.Background(), "t", "calls", time.Now()); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(p), got, want)
		}
	}
	if err := store.CheckPermissions(path); err != nil {
		t.Errorf("CheckPermissions on a new store: %v", err)
	}
}

// An existing store readable by others is reported, naming the file.
func TestCheckPermissionsReportsLooseFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callsync.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path+"-wal", 0o644); err != nil {
		t.Fatal(err)
	}
	err := store.CheckPermissions(path)
	if err == nil || !strings.Contains(err.Error(), "callsync.db-wal is 0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want the -wal file named with its mode and the fix", err)
	}
}

// Commits are synced to disk (synchronous=FULL): an acknowledged webhook
// survives an OS crash, not only a killed process.
func TestSynchronousFull(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode int
	if err := s.DB().QueryRow("PRAGMA synchronous").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("PRAGMA synchronous = %d, want 2 (FULL)", mode)
	}
}

// The WAL checkpoint interval is set on the store's connection
// (store.Open's sqliteCheckpointPages).
func TestSQLiteCheckpointInterval(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ckpt int
	if err := s.DB().QueryRow("PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil {
		t.Fatal(err)
	}
	if ckpt != 10000 {
		t.Errorf("wal_autocheckpoint %d, want 10000 (pages)", ckpt)
	}
}

// The store's connection has the page cache store.Open sets
// (sqliteCacheKiB, a negative cache_size being KiB), not SQLite's default
// of 2,000 KiB, also a connection database/sql opens after the first one
// was closed.
func TestSQLitePageCache(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cache := func(when string) {
		t.Helper()
		var kib int
		if err := s.DB().QueryRow("PRAGMA cache_size").Scan(&kib); err != nil {
			t.Fatal(err)
		}
		if kib != -4000 {
			t.Errorf("%s: PRAGMA cache_size = %d, want -4000 (KiB)", when, kib)
		}
	}
	cache("opened")
	// Changed on this connection only: the next one has the store's own.
	if _, err := s.DB().Exec("PRAGMA cache_size = -100"); err != nil {
		t.Fatal(err)
	}
	s.DB().SetMaxIdleConns(0) // closes the idle connection
	s.DB().SetMaxIdleConns(1)
	cache("a new connection")
}
