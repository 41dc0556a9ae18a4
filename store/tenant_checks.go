package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/callsync/callsync/store/dbsqlc"
)

// TenantCheck is the last preflight of a tenant as callsync run recorded it.
type TenantCheck struct {
	Tenant    string
	CheckedAt time.Time
	// Status is the worst check status: ok, warn or fail.
	Status string
	// Started: the tenant's jobs run (no check failed).
	Started bool
	// NextCheck is when a tenant not started is checked again (zero when
	// it is started).
	NextCheck time.Time
	// Checks is the JSON array of check lines.
	Checks []byte
}

// SaveTenantCheck records a tenant's latest preflight.
func (s *Store) SaveTenantCheck(ctx context.Context, c TenantCheck) error {
	started := int64(0)
	if c.Started {
		started = 1
	}
	next := int64(0)
	if !c.NextCheck.IsZero() {
		next = ms(c.NextCheck)
	}
	checks := string(c.Checks)
	if checks == "" {
		checks = "[]"
	}
	err := s.q.UpsertTenantCheck(ctx, dbsqlc.UpsertTenantCheckParams{
		Tenant: c.Tenant, CheckedAt: ms(c.CheckedAt), Status: c.Status, Started: started, NextCheckAt: next, Checks: checks,
	})
	if err != nil {
		return fmt.Errorf("store: tenant check %s: %w", c.Tenant, err)
	}
	return nil
}

// TenantCheck returns a tenant's latest preflight; ok is false when none
// was recorded.
func (s *Store) TenantCheck(ctx context.Context, tenant string) (TenantCheck, bool, error) {
	r, err := s.q.GetTenantCheck(ctx, tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return TenantCheck{}, false, nil
	}
	if err != nil {
		return TenantCheck{}, false, fmt.Errorf("store: tenant check %s: %w", tenant, err)
	}
	c := TenantCheck{Tenant: r.Tenant, CheckedAt: fromMS(r.CheckedAt), Status: r.Status, Started: r.Started != 0, Checks: []byte(r.Checks)}
	if r.NextCheckAt != 0 {
		c.NextCheck = fromMS(r.NextCheckAt)
	}
	return c, true, nil
}
