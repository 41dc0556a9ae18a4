package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

func TestDirectoryRowsAndSyncState(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		recs := []store.DirectoryRecord{
			{ID: "c1", Numbers: []store.DirectoryNumber{
				{Field: "mobilephone", E164: "+358401234567", Raw: "040 123 4567", Region: "FI", Modified: at},
				{Field: "telephone1", Raw: "call me", Region: "FI", Reason: "unparsable", Modified: at},
			}},
			{ID: "c2", Numbers: []store.DirectoryNumber{{Field: "telephone1", E164: "+358401234567", Raw: "+358 40 123 4567", Country: "Suomi", Region: "FI", OwnerID: "u1", ParentID: "a1", Modified: at}}},
		}
		// Stored c2 first: a number's rows come back in record order
		// whatever order the engine reads them in.
		if err := s.ReplaceDirectoryRecords(ctx, "t", "contact", 1, []store.DirectoryRecord{recs[1], recs[0]}, at); err != nil {
			t.Fatal(err)
		}
		got, err := s.DirectoryLookup(ctx, "t", []string{"+358401234567", "+358500000000"})
		if err != nil || len(got["+358401234567"]) != 2 || len(got) != 1 {
			t.Fatalf("lookup = %+v, %v", got, err)
		}
		if n := got["+358401234567"][0]; n.RecordID != "c1" || n.Field != "mobilephone" {
			t.Fatalf("first row = %+v", n)
		}
		if n := got["+358401234567"][1]; n.RecordID != "c2" || n.Country != "Suomi" || n.OwnerID != "u1" || n.ParentID != "a1" || !n.Modified.Equal(at) {
			t.Fatalf("row = %+v", n)
		}
		bad, err := s.DirectoryUnparseable(ctx, "t", 10)
		if err != nil || len(bad) != 1 || bad[0].Raw != "call me" {
			t.Fatalf("unparseable = %+v, %v", bad, err)
		}
		counts, err := s.DirectoryCounts(ctx, "t")
		if err != nil || len(counts) != 1 || counts[0] != (store.DirectoryCount{Entity: "contact", Records: 2, Numbers: 2, Unparseable: 1}) {
			t.Fatalf("counts = %+v, %v", counts, err)
		}
		// c1 replaced by generation 2 without its unparseable value; c2 not
		// seen by it: swept.
		if err := s.ReplaceDirectoryRecords(ctx, "t", "contact", 2, recs[:1:1], at); err != nil {
			t.Fatal(err)
		}
		if n, err := s.SweepDirectory(ctx, "t", "contact", 2); err != nil || n != 1 {
			t.Fatalf("swept %d, %v; want 1", n, err)
		}
		if err := s.DeleteDirectoryRecords(ctx, "t", "contact", []string{"c1"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.DirectoryLookup(ctx, "t", []string{"+358401234567"}); len(got) != 0 {
			t.Fatalf("after delete: %+v", got)
		}
		st := store.DirectorySync{Entity: "contact", ModifiedCursor: at, Gen: 2, DoneGen: 1, FullToken: "next", FullStarted: at}
		if err := s.SaveDirectorySync(ctx, "t", st); err != nil {
			t.Fatal(err)
		}
		back, ok, err := s.DirectorySyncState(ctx, "t", "contact")
		if err != nil || !ok || !back.Loading() || back.FullToken != "next" || !back.ModifiedCursor.Equal(at) {
			t.Fatalf("sync state = %+v %v %v", back, ok, err)
		}
	})
}
