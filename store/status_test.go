package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

func TestCRMRequestsAccumulatePerHour(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
		for _, a := range []struct {
			at      time.Time
			n, t429 int
		}{{h.Add(time.Minute), 3, 1}, {h.Add(59 * time.Minute), 2, 0}, {h.Add(time.Hour), 5, 2}, {h.Add(-3 * time.Hour), 9, 9}} {
			if err := s.AddCRMRequests(ctx, "t1", a.at, a.n, a.t429); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddCRMRequests(ctx, "other", h, 100, 0); err != nil {
			t.Fatal(err)
		}
		got, err := s.CRMRequests(ctx, "t1", h.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.RequestCount{{Hour: h, Requests: 5, Throttled: 1}, {Hour: h.Add(time.Hour), Requests: 5, Throttled: 2}}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("CRMRequests = %+v, want %+v", got, want)
		}
		if _, err := s.Purge(ctx, nil, store.PurgeCutoffs{Payloads: h, Ledger: h}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.CRMRequests(ctx, "t1", h.Add(-24*time.Hour)); len(got) != 2 {
			t.Errorf("after purge before %s: %+v, want the two later hours", h, got)
		}
	})
}

func TestCallsPerHourByStartHour(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
		row := func(id string, state store.LedgerState, reason string, at time.Time) store.LedgerEntry {
			return store.LedgerEntry{Tenant: "t1", Kind: "call", EnreachID: id, Key: id, State: state, Reason: reason, ItemTime: at}
		}
		if err := s.SaveLedger(ctx, []store.LedgerEntry{
			row("a", store.Written, "", h.Add(5*time.Minute)),
			row("b", store.Written, "", h.Add(50*time.Minute)),
			row("c", store.Skipped, "private", h.Add(70*time.Minute)),
			row("d", store.Failed, "", h.Add(-30*time.Hour)), // before since
			{Tenant: "t1", Kind: "callback", EnreachID: "e", Key: "e", State: store.Written, ItemTime: h},
		}); err != nil {
			t.Fatal(err)
		}
		got, err := s.CallsPerHour(ctx, "t1", h.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.HourCount{{Hour: h, State: store.Written, N: 2}, {Hour: h.Add(time.Hour), State: store.Skipped, Reason: "private", N: 1}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("CallsPerHour = %+v, want %+v", got, want)
		}
	})
}

func TestListQuarantineNewestFirst(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		h := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
		if _, err := s.Quarantine(ctx, []store.Quarantined{
			{Tenant: "t1", Source: "calls", RecordID: "r1", Reason: "bad time", Raw: []byte("1"), At: h},
			{Tenant: "t1", Source: "calls", RecordID: "r2", Reason: "no id", Raw: []byte("2"), At: h.Add(time.Minute)},
		}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListQuarantine(ctx, "t1", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].RecordID != "r2" || got[1].Reason != "bad time" || !got[1].At.Equal(h) {
			t.Fatalf("ListQuarantine = %+v", got)
		}
	})
}
