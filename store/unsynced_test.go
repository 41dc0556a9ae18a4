package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// A run's start and end (with its watermark) and the directory's sync
// states are committed with synchronous=NORMAL (sqliteEngine.unsyncedTx);
// every other commit on the store's one connection stays
// synchronous=FULL, also after such a transaction failed, and what it
// committed is stored.
func TestSQLiteUnsyncedCommitsLeaveTheConnectionFull(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	synchronous := func(when string) {
		t.Helper()
		var v int
		if err := s.DB().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != 2 {
			t.Errorf("%s: synchronous = %d, want 2 (FULL)", when, v)
		}
	}
	synchronous("opened")

	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	id, err := s.StartRun(ctx, "a", "calls", at)
	if err != nil {
		t.Fatal(err)
	}
	synchronous("after StartRun")
	states := []DirectorySync{{Entity: "contact", DeltaToken: "d1", LastSync: at}, {Entity: "account", DeltaToken: "d2", LastSync: at}}
	if err := s.SaveDirectorySyncs(ctx, "a", states); err != nil {
		t.Fatal(err)
	}
	synchronous("after SaveDirectorySyncs")
	failed := errors.New("failed")
	if err := s.eng.unsyncedTx(ctx, func(q dbsqlc.Querier) error {
		if _, err := q.StartJobRun(ctx, dbsqlc.StartJobRunParams{Tenant: "a", Job: "rolled-back", StartedAt: ms(at)}); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failed transaction: %v", err)
	}
	synchronous("after a failed transaction")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.StartRun(cancelled, "a", "calls", at); !errors.Is(err, context.Canceled) {
		t.Errorf("StartRun with an ended context: %v, want context.Canceled", err)
	}
	synchronous("after an ended context")

	if err := s.FinishRun(ctx, Run{ID: id, Tenant: "a", Job: "calls", FinishedAt: at.Add(time.Second), Status: "ok",
		Stream: "calls", Position: at}); err != nil {
		t.Fatal(err)
	}
	synchronous("after FinishRun")
	if wm, ok, err := s.Watermark(ctx, "a", "calls"); err != nil || !ok || !wm.Equal(at) {
		t.Errorf("watermark %s (%v, %v), want %s", wm, ok, err, at)
	}
	runs, err := s.LastRuns(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != id || runs[0].Job != "calls" || runs[0].Status != "ok" || !runs[0].StartedAt.Equal(at) {
		t.Errorf("runs %+v, want run %d of calls, ok, started %s (and not the rolled-back one)", runs, id, at)
	}
	got, err := s.DirectorySyncStates(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, st := range got {
		tokens[st.Entity] = st.DeltaToken
	}
	if len(got) != 2 || tokens["contact"] != "d1" || tokens["account"] != "d2" {
		t.Errorf("sync states %+v, want contact d1 and account d2", got)
	}
}
