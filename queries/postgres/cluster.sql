-- name: Heartbeat :exec
INSERT INTO replicas (id, host, started_at, heartbeat_at, excluded_tenants) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, excluded_tenants = excluded.excluded_tenants;

-- name: ListReplicas :many
SELECT id, host, started_at, heartbeat_at, excluded_tenants FROM replicas ORDER BY id;

-- name: DeleteReplica :exec
DELETE FROM replicas WHERE id = $1;

-- name: AcquireLease :execrows
-- Takes a free or expired lease, or renews one's own; 0 rows when another
-- replica holds it unexpired.
INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END,
    expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at;

-- name: RenewLeases :many
-- Renews those of the named leases the holder holds (AcquireLease's
-- renewal: only the expiry changes) and returns their names; a lease not
-- returned is not the holder's (gone, or taken after it expired).
UPDATE leases SET expires_at = sqlc.arg(expires_at)
WHERE holder = sqlc.arg(holder) AND name = ANY(sqlc.arg(names)::text[])
RETURNING name;

-- name: ReleaseLease :exec
DELETE FROM leases WHERE name = $1 AND holder = $2;

-- name: ListLeases :many
SELECT name, holder, acquired_at, expires_at FROM leases ORDER BY name;

-- name: ListJobRunsOf :many
-- A job's runs, oldest first (the replicas' history).
SELECT id, tenant, job, replica, started_at, finished_at, status FROM job_runs
WHERE tenant = $1 AND job = $2
ORDER BY started_at, id;
