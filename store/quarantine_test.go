package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// Quarantined records come back with their raw bytes, oldest first, from
// since on; one is deleted or gets a new reason by id, only in its tenant.
func TestQuarantinedRecordsRedrive(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
		if _, err := s.Quarantine(ctx, []store.Quarantined{
			{Tenant: "t1", Source: "calls", RecordID: "r1", Reason: "bad time", Raw: []byte(`{"a":1}`), At: h},
			{Tenant: "t1", Source: "servicecall", RecordID: "r2", Reason: "no id", Raw: []byte(`{"a":2}`), At: h.Add(time.Hour)},
			{Tenant: "t2", Source: "calls", RecordID: "r3", Reason: "bad time", Raw: []byte(`{"a":3}`), At: h},
		}); err != nil {
			t.Fatal(err)
		}
		all, err := s.QuarantinedRecords(ctx, "t1", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].RecordID != "r1" || string(all[0].Raw) != `{"a":1}` || all[1].Source != "servicecall" || !all[0].At.Equal(h) {
			t.Fatalf("QuarantinedRecords = %+v", all)
		}
		later, err := s.QuarantinedRecords(ctx, "t1", h.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(later) != 1 || later[0].RecordID != "r2" {
			t.Fatalf("since: %+v", later)
		}
		other, _ := s.QuarantinedRecords(ctx, "t2", time.Time{})
		// Another tenant's id deletes nothing of t1.
		if err := s.DeleteQuarantine(ctx, "t1", other[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetQuarantineReason(ctx, "t1", all[1].ID, "still no id"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteQuarantine(ctx, "t1", all[0].ID); err != nil {
			t.Fatal(err)
		}
		left, _ := s.QuarantinedRecords(ctx, "t1", time.Time{})
		if len(left) != 1 || left[0].ID != all[1].ID || left[0].Reason != "still no id" {
			t.Fatalf("after delete: %+v", left)
		}
		if n, _ := s.QuarantineCount(ctx, "t2"); n != 1 {
			t.Fatalf("t2 has %d quarantined, want 1", n)
		}
	})
}
