package store

import (
	"context"
	"fmt"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// HourCount is how many calls of one state and reason started in one UTC hour.
type HourCount struct {
	Hour   time.Time
	State  LedgerState
	Reason string
	N      int
}

// CallsPerHour counts a tenant's calls by the hour they started (UTC), state
// and reason, from since on.
func (s *Store) CallsPerHour(ctx context.Context, tenant string, since time.Time) ([]HourCount, error) {
	rows, err := s.q.CallsPerHour(ctx, dbsqlc.CallsPerHourParams{Tenant: tenant, ItemTime: ms(since)})
	if err != nil {
		return nil, fmt.Errorf("store: calls per hour %s: %w", tenant, err)
	}
	out := make([]HourCount, len(rows))
	for i, r := range rows {
		out[i] = HourCount{Hour: time.UnixMilli(r.Hour).UTC(), State: LedgerState(r.State), Reason: r.Reason, N: int(r.N)}
	}
	return out, nil
}

// RequestCount is the CRM requests of one tenant in one UTC hour.
type RequestCount struct {
	Hour      time.Time
	Requests  int
	Throttled int // answered 429
}

// AddCRMRequests adds to the counts of the hour holding at.
func (s *Store) AddCRMRequests(ctx context.Context, tenant string, at time.Time, requests, throttled int) error {
	hour := at.UTC().Truncate(time.Hour)
	err := s.q.AddCRMRequests(ctx, dbsqlc.AddCRMRequestsParams{Tenant: tenant, Hour: hour.UnixMilli(), Requests: int64(requests), Throttled: int64(throttled)})
	if err != nil {
		return fmt.Errorf("store: add crm requests %s: %w", tenant, err)
	}
	return nil
}

// CRMRequests lists a tenant's CRM request counts per hour from since on.
func (s *Store) CRMRequests(ctx context.Context, tenant string, since time.Time) ([]RequestCount, error) {
	rows, err := s.q.ListCRMRequests(ctx, dbsqlc.ListCRMRequestsParams{Tenant: tenant, Hour: since.UTC().Truncate(time.Hour).UnixMilli()})
	if err != nil {
		return nil, fmt.Errorf("store: crm requests %s: %w", tenant, err)
	}
	out := make([]RequestCount, len(rows))
	for i, r := range rows {
		out[i] = RequestCount{Hour: time.UnixMilli(r.Hour).UTC(), Requests: int(r.Requests), Throttled: int(r.Throttled)}
	}
	return out, nil
}

// QuarantineItem is one quarantined record, without its raw bytes.
type QuarantineItem struct {
	Source   string
	RecordID string
	Reason   string
	At       time.Time
}

// ListQuarantine returns a tenant's latest quarantined records, newest first.
func (s *Store) ListQuarantine(ctx context.Context, tenant string, limit int) ([]QuarantineItem, error) {
	rows, err := s.q.ListQuarantine(ctx, dbsqlc.ListQuarantineParams{Tenant: tenant, Limit: int64(limit)})
	if err != nil {
		return nil, fmt.Errorf("store: quarantine %s: %w", tenant, err)
	}
	out := make([]QuarantineItem, len(rows))
	for i, r := range rows {
		out[i] = QuarantineItem{Source: r.Source, RecordID: r.RecordID, Reason: r.Reason, At: fromMS(r.CreatedAt)}
	}
	return out, nil
}
