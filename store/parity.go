package store

import (
	"context"
	"fmt"

	"github.com/callsync/callsync/store/dbsqlc"
)

// UnmappedUsers counts a tenant's rows of a kind per Enreach user that had
// no CRM user (callsync status: whom to map), most calls first.
func (s *Store) UnmappedUsers(ctx context.Context, tenant, kind string) ([]UserCount, error) {
	rows, err := s.q.CountUnmappedUsers(ctx, dbsqlc.CountUnmappedUsersParams{Tenant: tenant, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("store: unmapped users %s/%s: %w", tenant, kind, err)
	}
	out := make([]UserCount, len(rows))
	for i, r := range rows {
		out[i] = UserCount{EnreachUserID: r.UnmappedUser, Calls: int(r.N)}
	}
	return out, nil
}

// UserCount is a number of calls of one Enreach user.
type UserCount struct {
	EnreachUserID string
	Calls         int
}

// WrittenWithPayload lists written rows with a reason and fewer than
// maxAttempts attempts, oldest first, payload included (calls written
// unlinked, to link when their caller appears).
func (s *Store) WrittenWithPayload(ctx context.Context, tenant, kind, reason string, maxAttempts, limit int) ([]LedgerEntry, error) {
	rows, err := s.q.ListWrittenByReasonWithPayload(ctx, dbsqlc.ListWrittenByReasonWithPayloadParams{
		Tenant: tenant, Kind: kind, Reason: reason, Attempts: int64(maxAttempts), Limit: int64(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("store: ledger %s/%s written/%s: %w", tenant, kind, reason, err)
	}
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{
			Tenant: tenant, Kind: kind, EnreachID: r.EnreachID, Key: r.IdemKey, State: LedgerState(r.State),
			Reason: r.Reason, CRMID: r.CrmID, Attempts: int(r.Attempts), LastError: r.LastError,
			ItemTime: fromMS(r.ItemTime), Number: r.Number, Payload: r.Payload,
		}
	}
	return out, nil
}
