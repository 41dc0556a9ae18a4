package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// Decision is one entry of an item's decision log: an outcome and what led
// to it (Detail is JSON chosen by the jobs).
type Decision struct {
	Tenant    string
	Kind      string
	EnreachID string
	At        time.Time
	State     LedgerState
	Reason    string
	CRMID     string
	Error     string
	Detail    []byte
}

// AddDecisions appends entries to the decision log in one transaction.
// Entries are kept under the first-seen time of their item's ledger row
// (decisions_by_item: new items' entries go to the end of the index, not
// to random pages of it), so an entry added while its item had no ledger
// row is not listed by Decisions. SaveLedger adds entries with the rows
// they are kept under.
func (s *Store) AddDecisions(ctx context.Context, ds []Decision) error {
	if len(ds) == 0 {
		return nil
	}
	return s.tx(ctx, func(q dbsqlc.Querier) error {
		return addDecisions(ctx, q, ds, nil, s.eng.setStatements())
	})
}

// addDecisions inserts entries, in their order: under the first-seen time
// seen gives for their item, or else their item's ledger row's, looked up.
// With set-based statements (set, engine.setStatements) they go to
// InsertDecisions, a statement per chunk of them, and an entry with text
// (or a detail) a JSON string does not hold (setText) to InsertDecision
// after the entries before it. On SQLite the entries seen gives the time
// of go to its multi-row statements (rowsQuerier, newDecisions), and the
// others to InsertDecision after the entries before them; else each to
// InsertDecision.
func addDecisions(ctx context.Context, q dbsqlc.Querier, ds []Decision, seen map[itemKey]int64, set bool) error {
	var rows jsonRows
	var first Decision
	flush := func() error {
		if rows.n == 0 {
			return nil
		}
		if err := q.InsertDecisions(ctx, rows.take()); err != nil {
			return fmt.Errorf("store: decisions from %s/%s/%s: %w", first.Tenant, first.Kind, first.EnreachID, err)
		}
		return nil
	}
	// On SQLite (a rowsQuerier), the entries whose first-seen time seen
	// gives go to its multi-row statements (newDecisions).
	rq, isRows := q.(rowsQuerier)
	isRows = isRows && !set
	multi := newDecisions{q: rq}
	for i, d := range ds {
		at, ok := seen[itemKey{d.Tenant, d.Kind, d.EnreachID}]
		if set && setText(d.Tenant, d.Kind, d.EnreachID, string(d.State), d.Reason, d.CRMID, d.Error, string(d.Detail)) {
			if rows.n == 0 {
				first = d
			}
			rows.row()
			rows.str(d.Tenant)
			rows.str(d.Kind)
			rows.str(d.EnreachID)
			if ok {
				rows.int(at)
			} else {
				rows.null()
			}
			rows.int(ms(d.At))
			rows.str(string(d.State))
			rows.str(d.Reason)
			rows.str(d.CRMID)
			rows.str(d.Error)
			if d.Detail == nil {
				rows.null()
			} else {
				rows.str(string(d.Detail))
			}
			rows.end()
			if rows.full() {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if isRows && ok {
			multi.add(&ds[i], at)
			continue
		}
		if err := multi.flush(ctx); err != nil {
			return err
		}
		if err := insertDecision(ctx, q, d, at, ok); err != nil {
			return err
		}
	}
	if err := multi.flush(ctx); err != nil {
		return err
	}
	return flush()
}

// insertDecision inserts one entry with InsertDecision: under seen, when
// ok, else under its item's ledger row's first-seen time, looked up.
func insertDecision(ctx context.Context, q dbsqlc.Querier, d Decision, seen int64, ok bool) error {
	p := dbsqlc.InsertDecisionParams{
		Tenant: d.Tenant, Kind: d.Kind, EnreachID: d.EnreachID, At: ms(d.At), State: string(d.State),
		Reason: d.Reason, CrmID: d.CRMID, Error: d.Error, Detail: d.Detail,
	}
	if ok {
		p.SeenAt = sql.NullInt64{Int64: seen, Valid: true}
	}
	if err := q.InsertDecision(ctx, p); err != nil {
		return fmt.Errorf("store: decision %s/%s/%s: %w", d.Tenant, d.Kind, d.EnreachID, err)
	}
	return nil
}

// Decisions returns an item's decision log, oldest first.
func (s *Store) Decisions(ctx context.Context, tenant, kind, id string) ([]Decision, error) {
	rows, err := s.q.ListDecisions(ctx, dbsqlc.ListDecisionsParams{Tenant: tenant, Kind: kind, EnreachID: id})
	if err != nil {
		return nil, fmt.Errorf("store: decisions %s/%s/%s: %w", tenant, kind, id, err)
	}
	out := make([]Decision, len(rows))
	for i, r := range rows {
		out[i] = Decision{Tenant: tenant, Kind: kind, EnreachID: id, At: fromMS(r.At), State: LedgerState(r.State), Reason: r.Reason,
			CRMID: r.CrmID, Error: r.Error, Detail: r.Detail}
	}
	return out, nil
}

// LedgerRow is a ledger row with its payload and bookkeeping times.
type LedgerRow struct {
	LedgerEntry
	// FirstSeen is when callsync first read the item; Updated its last change.
	FirstSeen, Updated time.Time
}

// LedgerItem returns one ledger row; ok is false when there is none.
func (s *Store) LedgerItem(ctx context.Context, tenant, kind, id string) (LedgerRow, bool, error) {
	r, err := s.q.GetLedgerRow(ctx, dbsqlc.GetLedgerRowParams{Tenant: tenant, Kind: kind, EnreachID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return LedgerRow{}, false, nil
	}
	if err != nil {
		return LedgerRow{}, false, fmt.Errorf("store: ledger %s/%s/%s: %w", tenant, kind, id, err)
	}
	return LedgerRow{
		LedgerEntry: LedgerEntry{Tenant: tenant, Kind: kind, EnreachID: r.EnreachID, Key: r.IdemKey, State: LedgerState(r.State),
			Reason: r.Reason, CRMID: r.CrmID, Attempts: int(r.Attempts), LastError: r.LastError,
			ItemTime: fromMS(r.ItemTime), Number: r.Number, Payload: r.Payload},
		FirstSeen: fromMS(r.CreatedAt), Updated: fromMS(r.UpdatedAt),
	}, true, nil
}

// LedgerIDsByNumber lists the ids of items with the (normalised) number
// whose time is within [from, to], oldest first. It reads the tenant's rows
// of that time range (no index holds the number: callsync explain asks it,
// nothing on a call's path does).
func (s *Store) LedgerIDsByNumber(ctx context.Context, tenant, kind, number string, from, to time.Time) ([]string, error) {
	states := make([]string, len(LedgerStates))
	for i, st := range LedgerStates {
		states[i] = string(st)
	}
	ids, err := s.q.FindLedgerByNumber(ctx, dbsqlc.FindLedgerByNumberParams{Tenant: tenant, Kind: kind, Number: number, FromTime: ms(from), ToTime: ms(to), States: states})
	if err != nil {
		return nil, fmt.Errorf("store: ledger by number %s/%s: %w", tenant, kind, err)
	}
	return ids, nil
}
