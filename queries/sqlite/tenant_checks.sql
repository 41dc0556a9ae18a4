-- name: UpsertTenantCheck :exec
INSERT INTO tenant_checks (tenant, checked_at, status, started, next_check_at, checks) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant) DO UPDATE SET checked_at = excluded.checked_at, status = excluded.status,
    started = excluded.started, next_check_at = excluded.next_check_at, checks = excluded.checks;

-- name: GetTenantCheck :one
SELECT tenant, checked_at, status, started, next_check_at, checks FROM tenant_checks WHERE tenant = ?;
