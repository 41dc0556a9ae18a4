package store

import (
	"context"
	"fmt"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// QuarantineRecord is one quarantined record with its raw bytes, to decode
// it again (callsync retry).
type QuarantineRecord struct {
	ID       int64
	Source   string
	RecordID string
	Reason   string
	Raw      []byte
	At       time.Time
}

// QuarantinedRecords returns a tenant's quarantined records created at or
// after since (every one when since is zero), oldest first.
func (s *Store) QuarantinedRecords(ctx context.Context, tenant string, since time.Time) ([]QuarantineRecord, error) {
	rows, err := s.q.ListQuarantineRaw(ctx, dbsqlc.ListQuarantineRawParams{Tenant: tenant, CreatedAt: ms(since)})
	if err != nil {
		return nil, fmt.Errorf("store: quarantined records %s: %w", tenant, err)
	}
	out := make([]QuarantineRecord, len(rows))
	for i, r := range rows {
		out[i] = QuarantineRecord{ID: r.ID, Source: r.Source, RecordID: r.RecordID, Reason: r.Reason, Raw: r.Raw, At: fromMS(r.CreatedAt)}
	}
	return out, nil
}

// DeleteQuarantine removes one of a tenant's quarantined records (its item
// reached the ledger). Deleting a record that is gone is not an error.
func (s *Store) DeleteQuarantine(ctx context.Context, tenant string, id int64) error {
	if _, err := s.q.DeleteQuarantine(ctx, dbsqlc.DeleteQuarantineParams{Tenant: tenant, ID: id}); err != nil {
		return fmt.Errorf("store: delete quarantined record %d of %s: %w", id, tenant, err)
	}
	return nil
}

// SetQuarantineReason replaces the reason of one of a tenant's quarantined
// records (decoded again, it failed for another reason).
func (s *Store) SetQuarantineReason(ctx context.Context, tenant string, id int64, reason string) error {
	if _, err := s.q.SetQuarantineReason(ctx, dbsqlc.SetQuarantineReasonParams{Reason: reason, Tenant: tenant, ID: id}); err != nil {
		return fmt.Errorf("store: quarantine reason of record %d of %s: %w", id, tenant, err)
	}
	return nil
}
