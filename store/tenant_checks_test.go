package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

func TestTenantCheckRoundTrip(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, ok, err := s.TenantCheck(ctx, "a"); ok || err != nil {
			t.Fatalf("before any check: ok %v, err %v", ok, err)
		}
		at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
		in := store.TenantCheck{Tenant: "a", CheckedAt: at, Status: "fail", NextCheck: at.Add(10 * time.Minute), Checks: []byte(`[{"area":"enreach"}]`)}
		if err := s.SaveTenantCheck(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.TenantCheck(ctx, "a")
		if err != nil || !ok || got.Status != "fail" || got.Started || !got.NextCheck.Equal(in.NextCheck) || !got.CheckedAt.Equal(at) || string(got.Checks) != string(in.Checks) {
			t.Fatalf("got %+v (ok %v, err %v)", got, ok, err)
		}
		// The next check replaces it.
		if err := s.SaveTenantCheck(ctx, store.TenantCheck{Tenant: "a", CheckedAt: at.Add(10 * time.Minute), Status: "ok", Started: true}); err != nil {
			t.Fatal(err)
		}
		if got, _, _ = s.TenantCheck(ctx, "a"); got.Status != "ok" || !got.Started || !got.NextCheck.IsZero() || string(got.Checks) != "[]" {
			t.Fatalf("after the pass: %+v", got)
		}
	})
}

func TestPendingInboxLeavesOutHeldTenants(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
		for i, tenant := range []string{"held", "held", "running"} {
			if _, err := s.AddInbox(ctx, store.InboxItem{Tenant: tenant, DeliveryID: string(rune('a' + i)), EventType: "CallbackCreated", ReceivedAt: at.Add(time.Duration(i) * time.Second), Payload: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
		}
		// The held tenant's older deliveries do not fill the batch.
		items, err := s.PendingInbox(ctx, 2, "held")
		if err != nil || len(items) != 1 || items[0].Tenant != "running" {
			t.Fatalf("except held: %+v, %v", items, err)
		}
		if items, _ := s.PendingInbox(ctx, 10); len(items) != 3 {
			t.Fatalf("without exceptions: %d items, want 3", len(items))
		}
	})
}
