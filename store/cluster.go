package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// Replica is one callsync run process sharing the store.
type Replica struct {
	ID          string
	Host        string
	StartedAt   time.Time
	HeartbeatAt time.Time
	// Excluded are the tenants the replica cannot run now (their
	// preflight failed there), sorted.
	Excluded []string
}

// Lease is a tenant (or the purge) held by one replica until ExpiresAt.
type Lease struct {
	Name       string
	Holder     string
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// Heartbeat records that a replica is alive.
func (s *Store) Heartbeat(ctx context.Context, r Replica) error {
	if err := s.q.Heartbeat(ctx, dbsqlc.HeartbeatParams{ID: r.ID, Host: r.Host, StartedAt: ms(r.StartedAt), HeartbeatAt: ms(r.HeartbeatAt), ExcludedTenants: strings.Join(r.Excluded, "\n")}); err != nil {
		return fmt.Errorf("store: heartbeat %s: %w", r.ID, err)
	}
	return nil
}

// Replicas lists the replicas that have heartbeated, by id.
func (s *Store) Replicas(ctx context.Context) ([]Replica, error) {
	rows, err := s.q.ListReplicas(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: replicas: %w", err)
	}
	out := make([]Replica, len(rows))
	for i, r := range rows {
		out[i] = Replica{ID: r.ID, Host: r.Host, StartedAt: fromMS(r.StartedAt), HeartbeatAt: fromMS(r.HeartbeatAt)}
		if r.ExcludedTenants != "" {
			out[i].Excluded = strings.Split(r.ExcludedTenants, "\n")
		}
	}
	return out, nil
}

// RemoveReplica deletes a stopping replica's row.
func (s *Store) RemoveReplica(ctx context.Context, id string) error {
	if err := s.q.DeleteReplica(ctx, id); err != nil {
		return fmt.Errorf("store: remove replica %s: %w", id, err)
	}
	return nil
}

// AcquireLease takes the lease name for holder until now+ttl when it is
// free, expired or already holder's (a renewal); false when another holder
// has it unexpired. One statement (INSERT ... ON CONFLICT DO UPDATE ...
// WHERE), so two replicas racing for it cannot both win: PostgreSQL
// re-checks the WHERE on the row the winner wrote,
// https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := s.q.AcquireLease(ctx, dbsqlc.AcquireLeaseParams{Name: name, Holder: holder, AcquiredAt: ms(now), ExpiresAt: ms(now.Add(ttl))})
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return n > 0, nil
}

// RenewLeases renews those of the named leases holder holds until now+ttl
// (AcquireLease's renewal of one: only the expiry changes), in one
// statement per 500 names, and returns the names renewed. A name not
// returned is not holder's (gone from the store, or taken by another
// replica after it expired): AcquireLease it to learn which.
func (s *Store) RenewLeases(ctx context.Context, names []string, holder string, now time.Time, ttl time.Duration) ([]string, error) {
	var out []string
	const chunk = 500
	for i := 0; i < len(names); i += chunk {
		part := names[i:min(i+chunk, len(names))]
		got, err := s.q.RenewLeases(ctx, dbsqlc.RenewLeasesParams{ExpiresAt: ms(now.Add(ttl)), Holder: holder, Names: part})
		if err != nil {
			return out, fmt.Errorf("store: renew %d leases: %w", len(part), err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// ReleaseLease gives up holder's lease (nothing when another holds it).
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := s.q.ReleaseLease(ctx, dbsqlc.ReleaseLeaseParams{Name: name, Holder: holder}); err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}

// Leases lists every lease row, expired ones included, by name.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.q.ListLeases(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	out := make([]Lease, len(rows))
	for i, r := range rows {
		out[i] = Lease{Name: r.Name, Holder: r.Holder, AcquiredAt: fromMS(r.AcquiredAt), ExpiresAt: fromMS(r.ExpiresAt)}
	}
	return out, nil
}

// JobRuns lists a tenant's runs of one job, oldest first, with the replica
// that ran each.
func (s *Store) JobRuns(ctx context.Context, tenant, job string) ([]Run, error) {
	rows, err := s.q.ListJobRunsOf(ctx, dbsqlc.ListJobRunsOfParams{Tenant: tenant, Job: job})
	if err != nil {
		return nil, fmt.Errorf("store: runs %s/%s: %w", tenant, job, err)
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = Run{ID: r.ID, Tenant: r.Tenant, Job: r.Job, Replica: r.Replica, StartedAt: fromMS(r.StartedAt), Status: r.Status}
		if r.FinishedAt.Valid {
			out[i].FinishedAt = fromMS(r.FinishedAt.Int64)
		}
	}
	return out, nil
}
