-- name: InsertQuarantine :execrows
INSERT INTO quarantine (tenant, source, record_id, reason, raw, digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, source, digest) DO NOTHING;

-- name: CountQuarantine :one
SELECT COUNT(*) FROM quarantine WHERE tenant = ?;

-- name: PurgeQuarantine :execrows
DELETE FROM quarantine WHERE created_at < ?;

-- name: UpsertUserMap :exec
INSERT INTO user_map (tenant, enreach_user_id, crm_user_id, email, fetched_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (tenant, enreach_user_id) DO UPDATE SET crm_user_id = excluded.crm_user_id, email = excluded.email, fetched_at = excluded.fetched_at;

-- name: ListUserMap :many
SELECT enreach_user_id, crm_user_id, email, fetched_at FROM user_map WHERE tenant = ?;

-- name: ListUserMapFor :many
SELECT enreach_user_id, crm_user_id, email, fetched_at FROM user_map
WHERE tenant = sqlc.arg(tenant) AND enreach_user_id IN (sqlc.slice(ids));

-- name: StartJobRun :one
INSERT INTO job_runs (tenant, job, started_at, status, replica) VALUES (?, ?, ?, 'running', ?) RETURNING id;

-- name: FinishJobRun :exec
UPDATE job_runs SET finished_at = ?, status = ?, seen = ?, written = ?, skipped = ?, unresolved = ?, failed = ?, error = ? WHERE id = ?;

-- name: LastJobRuns :many
SELECT r.id, r.tenant, r.job, r.started_at, r.finished_at, r.status, r.seen, r.written, r.skipped, r.unresolved, r.failed, r.error
FROM job_runs r
WHERE r.tenant = ? AND r.id = (SELECT MAX(id) FROM job_runs x WHERE x.tenant = r.tenant AND x.job = r.job)
ORDER BY r.job;

-- name: PurgeJobRuns :execrows
DELETE FROM job_runs WHERE started_at < ?;

-- name: GetSchedule :one
SELECT next_at, last_at FROM schedules WHERE tenant = ? AND job = ?;

-- name: SetSchedule :exec
INSERT INTO schedules (tenant, job, next_at, last_at) VALUES (?, ?, ?, ?)
ON CONFLICT (tenant, job) DO UPDATE SET next_at = excluded.next_at, last_at = excluded.last_at;

-- name: InsertPurgeRun :exec
INSERT INTO purge_runs (ran_at, ledger, payloads, inbox, quarantine, runs) VALUES (?, ?, ?, ?, ?, ?);

-- name: LastPurgeRun :one
SELECT ran_at, ledger, payloads, inbox, quarantine, runs FROM purge_runs ORDER BY id DESC LIMIT 1;

-- name: ListQuarantineRaw :many
SELECT id, source, record_id, reason, raw, created_at FROM quarantine
WHERE tenant = ? AND created_at >= ?
ORDER BY created_at, id;

-- name: DeleteQuarantine :execrows
DELETE FROM quarantine WHERE tenant = ? AND id = ?;

-- name: SetQuarantineReason :execrows
UPDATE quarantine SET reason = ? WHERE tenant = ? AND id = ?;
