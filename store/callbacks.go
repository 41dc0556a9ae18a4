package store

import (
	"context"
	"fmt"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// Reasons of written callback rows (ledger kind "callback"): the state of the
// CRM activity. OpenCallbacks lists reason "open".
const (
	CallbackOpen         = "open"          // the CRM activity is open
	CallbackClosePending = "close_pending" // Enreach closed it; the CRM close is not confirmed yet
	CallbackClosed       = "closed"        // the CRM activity is completed
	CallbackCloseFailed  = "close_failed"  // the CRM refused the close for good (e.g. deleted there)
)

// CallbackInfo is what the ledger does not hold about a callback request: the
// profile it belongs to, its duplicate group (profile, number) and bundle.
type CallbackInfo struct {
	Tenant    string
	Kind      string
	EnreachID string
	Profile   string
	Number    string
	BundleKey string
	// Linked counts the other open requests it references (bundle).
	Linked int
}

// OpenCallback is a written callback request whose CRM activity is open.
type OpenCallback struct {
	EnreachID string
	Key       string
	CRMID     string
	ItemTime  time.Time
	Number    string
	BundleKey string
	// Payload is the request as stored for retries (nil once purged).
	Payload []byte
}

// SaveCallbacks writes ledger rows and their callback infos in one
// transaction (ledger rows first: an info belongs to a ledger row). Written
// rows never change, as in SaveLedger.
func (s *Store) SaveCallbacks(ctx context.Context, entries []LedgerEntry, infos []CallbackInfo) error {
	if len(entries) == 0 && len(infos) == 0 {
		return nil
	}
	return s.tx(ctx, func(q dbsqlc.Querier) error {
		now := ms(time.Now())
		for _, e := range entries {
			if err := upsertLedger(ctx, q, e, now); err != nil {
				return err
			}
		}
		for _, in := range infos {
			err := q.UpsertCallbackRequest(ctx, dbsqlc.UpsertCallbackRequestParams{
				Tenant: in.Tenant, Kind: in.Kind, EnreachID: in.EnreachID, Profile: in.Profile,
				Number: in.Number, BundleKey: in.BundleKey, Linked: int64(in.Linked),
			})
			if err != nil {
				return fmt.Errorf("store: save callback %s/%s: %w", in.Tenant, in.EnreachID, err)
			}
		}
		return nil
	})
}

// OpenCallbacks lists the written requests of a profile still open in the CRM
// from any of the numbers, oldest first.
func (s *Store) OpenCallbacks(ctx context.Context, tenant, kind, profile string, numbers []string) ([]OpenCallback, error) {
	var out []OpenCallback
	const chunk = 500
	for i := 0; i < len(numbers); i += chunk {
		rows, err := s.q.ListOpenCallbacks(ctx, dbsqlc.ListOpenCallbacksParams{
			Tenant: tenant, Kind: kind, Profile: profile, Numbers: numbers[i:min(i+chunk, len(numbers))],
		})
		if err != nil {
			return nil, fmt.Errorf("store: open callbacks %s/%s: %w", tenant, profile, err)
		}
		for _, r := range rows {
			out = append(out, OpenCallback{EnreachID: r.EnreachID, Key: r.IdemKey, CRMID: r.CrmID,
				ItemTime: fromMS(r.ItemTime), Number: r.Number, BundleKey: r.BundleKey, Payload: r.Payload})
		}
	}
	return out, nil
}

// SetWrittenReason moves written rows to another reason (open, close_pending,
// closed, close_failed) with their close attempts and last error. Rows that
// are not written are left alone.
func (s *Store) SetWrittenReason(ctx context.Context, tenant, kind string, ids []string, reason string, attempts int, lastError string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, func(q dbsqlc.Querier) error {
		now := ms(time.Now())
		for _, id := range ids {
			_, err := q.SetWrittenReason(ctx, dbsqlc.SetWrittenReasonParams{
				Reason: reason, Attempts: int64(attempts), LastError: lastError, UpdatedAt: now,
				Tenant: tenant, Kind: kind, EnreachID: id,
			})
			if err != nil {
				return fmt.Errorf("store: set reason %s/%s/%s: %w", tenant, kind, id, err)
			}
		}
		return nil
	})
}

// WrittenByReason lists written rows with a reason and fewer than
// maxAttempts attempts, oldest first (e.g. the closes still to confirm).
func (s *Store) WrittenByReason(ctx context.Context, tenant, kind, reason string, maxAttempts, limit int) ([]LedgerEntry, error) {
	rows, err := s.q.ListWrittenByReason(ctx, dbsqlc.ListWrittenByReasonParams{
		Tenant: tenant, Kind: kind, Reason: reason, Attempts: int64(maxAttempts), Limit: int64(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("store: ledger %s/%s reason %s: %w", tenant, kind, reason, err)
	}
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{Tenant: tenant, Kind: kind, EnreachID: r.EnreachID, Key: r.IdemKey, State: Written,
			Reason: reason, CRMID: r.CrmID, Attempts: int(r.Attempts), ItemTime: fromMS(r.ItemTime), Number: r.Number}
	}
	return out, nil
}

// CallbackCounts is what one callback profile holds in the ledger.
type CallbackCounts struct {
	Open       int // written, CRM activity open
	Closed     int // written and completed (closed in Enreach, or closed at first sight)
	Ignored    int // duplicates not written (duplicate_handling: ignore)
	Bundled    int // written with links to other open requests (duplicate_handling: bundle)
	Pending    int // decided, write not confirmed, or a close not confirmed
	Failed     int
	ByReason   map[string]int // "state/reason": n
	TotalItems int
}

// CallbackCountsByProfile counts a tenant's callback requests per profile
// (callsync status).
func (s *Store) CallbackCountsByProfile(ctx context.Context, tenant, kind string) (map[string]CallbackCounts, error) {
	rows, err := s.q.CountCallbacksByProfile(ctx, dbsqlc.CountCallbacksByProfileParams{Tenant: tenant, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("store: count callbacks %s: %w", tenant, err)
	}
	out := map[string]CallbackCounts{}
	for _, r := range rows {
		c := out[r.Profile]
		if c.ByReason == nil {
			c.ByReason = map[string]int{}
		}
		n := int(r.N)
		k := r.State
		if r.Reason != "" {
			k += "/" + r.Reason
		}
		c.ByReason[k] += n
		c.TotalItems += n
		switch state := LedgerState(r.State); {
		case state == Written && r.Reason == CallbackOpen:
			c.Open += n
		case state == Written && r.Reason == CallbackClosePending:
			c.Pending += n
		case state == Written:
			c.Closed += n
		case state == Ignored:
			c.Ignored += n
		case state == Failed:
			c.Failed += n
		case state == Pending:
			c.Pending += n
		}
		if LedgerState(r.State) == Written {
			c.Bundled += int(r.Bundled)
		}
		out[r.Profile] = c
	}
	return out, nil
}
