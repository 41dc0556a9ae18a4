package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// DirectoryNumber is one phone field value of one CRM record in the phone
// directory. E164 is empty when the value does not parse; Reason says why.
type DirectoryNumber struct {
	Entity   string
	RecordID string
	Field    string
	E164     string
	Raw      string
	// Country is the record's address country as the CRM holds it ("" when
	// none); Region the ISO 3166 region the value was parsed with (the
	// country's, else the tenant's default region).
	Country  string
	Region   string
	Reason   string
	OwnerID  string
	ParentID string
	// Modified is the record's modified stamp in the CRM; Synced when the
	// directory last read it.
	Modified time.Time
	Synced   time.Time
}

// DirectoryRecord is everything the directory holds for one CRM record: one
// entry per phone field (an empty value has no entry).
type DirectoryRecord struct {
	ID      string
	Numbers []DirectoryNumber
}

// DirectorySync is the sync state of one tenant's entity.
type DirectorySync struct {
	Entity string
	// ModifiedCursor: records modified at or after it are read by the next
	// incremental sync; DeletedCursor likewise for deleted records.
	ModifiedCursor time.Time
	DeletedCursor  time.Time
	// DeltaToken is a CRM change-tracking token (Dataverse delta link),
	// when the CRM gives one.
	DeltaToken string
	// Gen numbers full loads, DoneGen is the last finished one; FullToken
	// is the page token to resume an unfinished one.
	Gen         int64
	DoneGen     int64
	FullToken   string
	FullStarted time.Time
	FullDone    time.Time
	LastSync    time.Time
	Records     int64
	Numbers     int64
	Unparseable int64
}

// Loading reports whether a full load was started and has not finished.
func (d DirectorySync) Loading() bool { return d.Gen > d.DoneGen }

// DirectoryCount counts one entity's directory rows.
type DirectoryCount struct {
	Entity      string
	Records     int64
	Numbers     int64
	Unparseable int64
}

// ReplaceDirectoryRecords replaces, in one transaction, every directory row
// of the given records of a tenant's entity with their new numbers (a
// record with none keeps no row), marked with full load generation gen.
func (s *Store) ReplaceDirectoryRecords(ctx context.Context, tenant, entity string, gen int64, recs []DirectoryRecord, synced time.Time) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(q dbsqlc.Querier) error {
		const chunk = 500
		for i := 0; i < len(recs); i += chunk {
			part := recs[i:min(i+chunk, len(recs))]
			ids := make([]string, len(part))
			for j, r := range part {
				ids[j] = r.ID
			}
			if err := q.DeleteDirectoryRecords(ctx, dbsqlc.DeleteDirectoryRecordsParams{Tenant: tenant, Entity: entity, Ids: ids}); err != nil {
				return err
			}
			for _, r := range part {
				for _, n := range r.Numbers {
					if err := q.InsertDirectoryNumber(ctx, dbsqlc.InsertDirectoryNumberParams{
						Tenant: tenant, Entity: entity, RecordID: r.ID, Field: n.Field, E164: n.E164, Raw: n.Raw,
						Country: n.Country, Region: n.Region, Reason: n.Reason, OwnerID: n.OwnerID, ParentID: n.ParentID,
						ModifiedAt: ms(n.Modified), SyncedAt: ms(synced), Gen: gen,
					}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: directory %s/%s: save %d records: %w", tenant, entity, len(recs), err)
	}
	return nil
}

// AddDirectoryNumbers adds or replaces single directory rows (by record and
// field), leaving the records' other rows as they are.
func (s *Store) AddDirectoryNumbers(ctx context.Context, tenant, entity string, gen int64, ns []DirectoryNumber, synced time.Time) error {
	if len(ns) == 0 {
		return nil
	}
	err := s.tx(ctx, func(q dbsqlc.Querier) error {
		for _, n := range ns {
			if err := q.InsertDirectoryNumber(ctx, dbsqlc.InsertDirectoryNumberParams{
				Tenant: tenant, Entity: entity, RecordID: n.RecordID, Field: n.Field, E164: n.E164, Raw: n.Raw,
				Country: n.Country, Region: n.Region, Reason: n.Reason, OwnerID: n.OwnerID, ParentID: n.ParentID,
				ModifiedAt: ms(n.Modified), SyncedAt: ms(synced), Gen: gen,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: directory %s/%s: add %d numbers: %w", tenant, entity, len(ns), err)
	}
	return nil
}

// DeleteDirectoryRecords removes every directory row of the given records.
func (s *Store) DeleteDirectoryRecords(ctx context.Context, tenant, entity string, ids []string) error {
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		if err := s.q.DeleteDirectoryRecords(ctx, dbsqlc.DeleteDirectoryRecordsParams{Tenant: tenant, Entity: entity, Ids: part}); err != nil {
			return fmt.Errorf("store: directory %s/%s: delete %d records: %w", tenant, entity, len(part), err)
		}
	}
	return nil
}

// SweepDirectory removes a tenant's entity rows that full load gen did not
// see (records deleted in the CRM, or that lost every phone value), and
// returns how many.
func (s *Store) SweepDirectory(ctx context.Context, tenant, entity string, gen int64) (int64, error) {
	n, err := s.q.SweepDirectory(ctx, dbsqlc.SweepDirectoryParams{Tenant: tenant, Entity: entity, Gen: gen})
	if err != nil {
		return 0, fmt.Errorf("store: directory %s/%s: sweep: %w", tenant, entity, err)
	}
	return n, nil
}

// DirectoryLookup returns the directory rows holding each E.164 number,
// keyed by number (absent when none), in entity, record and field order.
func (s *Store) DirectoryLookup(ctx context.Context, tenant string, numbers []string) (map[string][]DirectoryNumber, error) {
	out := map[string][]DirectoryNumber{}
	const chunk = 500
	for i := 0; i < len(numbers); i += chunk {
		part := numbers[i:min(i+chunk, len(numbers))]
		rows, err := onConnRead(ctx, s, func(q dbsqlc.Querier) ([]dbsqlc.DirectoryByNumbersRow, error) {
			return q.DirectoryByNumbers(ctx, dbsqlc.DirectoryByNumbersParams{Tenant: tenant, Numbers: part})
		})
		if err != nil {
			return nil, fmt.Errorf("store: directory %s: lookup %d numbers: %w", tenant, len(part), err)
		}
		for _, r := range rows {
			if r.E164 == "" {
				continue
			}
			out[r.E164] = append(out[r.E164], DirectoryNumber{
				Entity: r.Entity, RecordID: r.RecordID, Field: r.Field, E164: r.E164, Raw: r.Raw,
				Country: r.Country, Region: r.Region, OwnerID: r.OwnerID, ParentID: r.ParentID,
				Modified: fromMS(r.ModifiedAt), Synced: fromMS(r.SyncedAt),
			})
		}
	}
	// The statement does not order its rows (see DirectoryByNumbers).
	for _, ns := range out {
		if len(ns) > 1 {
			slices.SortFunc(ns, func(a, b DirectoryNumber) int {
				return cmp.Or(strings.Compare(a.Entity, b.Entity), strings.Compare(a.RecordID, b.RecordID), strings.Compare(a.Field, b.Field))
			})
		}
	}
	return out, nil
}

// DirectoryUnparseable lists up to limit values of a tenant's directory that
// did not parse, with the reason.
func (s *Store) DirectoryUnparseable(ctx context.Context, tenant string, limit int) ([]DirectoryNumber, error) {
	rows, err := s.q.DirectoryUnparseable(ctx, dbsqlc.DirectoryUnparseableParams{Tenant: tenant, Limit: int64(limit)})
	if err != nil {
		return nil, fmt.Errorf("store: directory %s: unparseable: %w", tenant, err)
	}
	out := make([]DirectoryNumber, len(rows))
	for i, r := range rows {
		out[i] = DirectoryNumber{Entity: r.Entity, RecordID: r.RecordID, Field: r.Field, Raw: r.Raw,
			Country: r.Country, Region: r.Region, Reason: r.Reason, Modified: fromMS(r.ModifiedAt), Synced: fromMS(r.SyncedAt)}
	}
	return out, nil
}

// DirectoryCounts counts a tenant's directory rows per entity.
func (s *Store) DirectoryCounts(ctx context.Context, tenant string) ([]DirectoryCount, error) {
	rows, err := s.q.DirectoryCounts(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("store: directory %s: counts: %w", tenant, err)
	}
	out := make([]DirectoryCount, len(rows))
	for i, r := range rows {
		out[i] = DirectoryCount{Entity: r.Entity, Records: r.Records, Numbers: r.Numbers, Unparseable: r.Unparseable}
	}
	return out, nil
}

// DirectorySyncState returns a tenant's entity sync state; ok is false when
// the entity was never synced.
func (s *Store) DirectorySyncState(ctx context.Context, tenant, entity string) (DirectorySync, bool, error) {
	r, err := s.q.GetDirectorySync(ctx, dbsqlc.GetDirectorySyncParams{Tenant: tenant, Entity: entity})
	if errors.Is(err, sql.ErrNoRows) {
		return DirectorySync{Entity: entity}, false, nil
	}
	if err != nil {
		return DirectorySync{}, false, fmt.Errorf("store: directory %s/%s: sync state: %w", tenant, entity, err)
	}
	return DirectorySync{Entity: entity, ModifiedCursor: fromMS(r.ModifiedCursor), DeletedCursor: fromMS(r.DeletedCursor),
		DeltaToken: r.DeltaToken, Gen: r.Gen, DoneGen: r.DoneGen, FullToken: r.FullToken, FullStarted: fromMS(r.FullStartedAt),
		FullDone: fromMS(r.FullDoneAt), LastSync: fromMS(r.LastSyncAt), Records: r.Records, Numbers: r.Numbers,
		Unparseable: r.Unparseable}, true, nil
}

// DirectorySyncStates returns every entity's sync state of a tenant.
func (s *Store) DirectorySyncStates(ctx context.Context, tenant string) ([]DirectorySync, error) {
	rows, err := onConnRead(ctx, s, func(q dbsqlc.Querier) ([]dbsqlc.ListDirectorySyncRow, error) {
		return q.ListDirectorySync(ctx, tenant)
	})
	if err != nil {
		return nil, fmt.Errorf("store: directory %s: sync states: %w", tenant, err)
	}
	out := make([]DirectorySync, len(rows))
	for i, r := range rows {
		out[i] = DirectorySync{Entity: r.Entity, ModifiedCursor: fromMS(r.ModifiedCursor), DeletedCursor: fromMS(r.DeletedCursor),
			DeltaToken: r.DeltaToken, Gen: r.Gen, DoneGen: r.DoneGen, FullToken: r.FullToken, FullStarted: fromMS(r.FullStartedAt),
			FullDone: fromMS(r.FullDoneAt), LastSync: fromMS(r.LastSyncAt), Records: r.Records, Numbers: r.Numbers,
			Unparseable: r.Unparseable}
	}
	return out, nil
}

// SaveDirectorySync stores a tenant's entity sync state.
func (s *Store) SaveDirectorySync(ctx context.Context, tenant string, d DirectorySync) error {
	return saveDirectorySync(ctx, s.q, tenant, d)
}

// SaveDirectorySyncs stores several entity sync states of a tenant in one
// transaction, an incremental sync's end. On SQLite its commit is not
// synced on its own (unsyncedTx): an OS crash or power loss may lose the
// last states saved, and the directory then reads those changes again
// from the states before (records are replaced, deletions repeated), as
// after a crash before the save.
func (s *Store) SaveDirectorySyncs(ctx context.Context, tenant string, ds []DirectorySync) error {
	if len(ds) == 0 {
		return nil
	}
	return s.eng.unsyncedTx(ctx, func(q dbsqlc.Querier) error {
		for _, d := range ds {
			if err := saveDirectorySync(ctx, q, tenant, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func saveDirectorySync(ctx context.Context, q dbsqlc.Querier, tenant string, d DirectorySync) error {
	err := q.SaveDirectorySync(ctx, dbsqlc.SaveDirectorySyncParams{Tenant: tenant, Entity: d.Entity,
		ModifiedCursor: ms(d.ModifiedCursor), DeletedCursor: ms(d.DeletedCursor), DeltaToken: d.DeltaToken,
		Gen: d.Gen, DoneGen: d.DoneGen, FullToken: d.FullToken, FullStartedAt: ms(d.FullStarted), FullDoneAt: ms(d.FullDone),
		LastSyncAt: ms(d.LastSync), Records: d.Records, Numbers: d.Numbers, Unparseable: d.Unparseable})
	if err != nil {
		return fmt.Errorf("store: directory %s/%s: save sync state: %w", tenant, d.Entity, err)
	}
	return nil
}
