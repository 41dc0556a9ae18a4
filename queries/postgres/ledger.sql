-- name: GetLedger :many
SELECT enreach_id, idem_key, state, reason, crm_id, attempts, last_error, item_time, number, created_at
FROM ledger
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND enreach_id = ANY(sqlc.arg(ids)::text[]);

-- name: UpsertLedger :execrows
-- A written row stays written: replays never downgrade it (0 rows).
-- payload_id: the row's payload in ledger_payloads (InsertLedgerPayload);
-- NULL keeps the stored one.
INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number, payload_id, created_at, updated_at, unmapped_user)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (tenant, kind, enreach_id) DO UPDATE SET
    state = excluded.state,
    reason = excluded.reason,
    crm_id = CASE WHEN excluded.crm_id != '' THEN excluded.crm_id ELSE ledger.crm_id END,
    crm_hash = CASE WHEN excluded.crm_id != '' THEN excluded.crm_hash ELSE ledger.crm_hash END,
    attempts = excluded.attempts,
    last_error = excluded.last_error,
    item_time = excluded.item_time,
    number = excluded.number,
    payload_id = COALESCE(excluded.payload_id, ledger.payload_id),
    updated_at = excluded.updated_at,
    unmapped_user = excluded.unmapped_user
WHERE ledger.state != 'written';

-- name: UpsertLedgerKeepPayload :execrows
-- UpsertLedger for a row saved without a new payload (UpsertLedger with
-- payload_id NULL, which keeps the stored one): the same row, but the update
-- does not name payload_id, so the trigger ledger_payload_replaced (AFTER
-- UPDATE OF payload_id) is not part of the statement. On SQLite an INSERT
-- or UPDATE that may change several rows (a trigger's) and may hit a
-- constraint runs with a statement journal, into which each page it changes
-- is copied first ("Statement Journal Files",
-- https://www.sqlite.org/tempfiles.html), kept in memory up to 64 KiB and
-- then in a temporary file (https://www.sqlite.org/compile.html#stmtjrnl_spill).
INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number, created_at, updated_at, unmapped_user)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (tenant, kind, enreach_id) DO UPDATE SET
    state = excluded.state,
    reason = excluded.reason,
    crm_id = CASE WHEN excluded.crm_id != '' THEN excluded.crm_id ELSE ledger.crm_id END,
    crm_hash = CASE WHEN excluded.crm_id != '' THEN excluded.crm_hash ELSE ledger.crm_hash END,
    attempts = excluded.attempts,
    last_error = excluded.last_error,
    item_time = excluded.item_time,
    number = excluded.number,
    updated_at = excluded.updated_at,
    unmapped_user = excluded.unmapped_user
WHERE ledger.state != 'written';

-- name: ListLedgerByState :many
SELECT l.enreach_id, l.idem_key, l.state, l.reason, l.crm_id, l.attempts, l.last_error, l.item_time, l.number, p.payload
FROM ledger l LEFT JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.tenant = $1 AND l.kind = $2 AND l.state = $3 AND l.attempts < $4
ORDER BY l.item_time
LIMIT sqlc.arg('limit')::bigint;

-- name: CountLedgerInStates :one
-- 1 when a tenant has a row of a kind in one of the states with fewer
-- than the attempts given, else 0: a retry pass asks this before it reads
-- the rows of each state (ListLedgerByState), which it usually has none of.
SELECT COUNT(*) FROM (
    SELECT 1 FROM ledger
    WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND attempts < sqlc.arg(attempts) AND state = ANY(sqlc.arg(states)::text[])
    LIMIT 1
) AS found;

-- name: CountLedgerByState :many
SELECT state, COUNT(*) AS n FROM ledger WHERE tenant = $1 AND kind = $2 GROUP BY state ORDER BY state;

-- name: CountLedgerByReason :many
SELECT state, reason, COUNT(*) AS n FROM ledger WHERE tenant = $1 AND kind = $2 GROUP BY state, reason ORDER BY state, reason;

-- name: PurgeLedger :execrows
-- Finished rows only: open callback requests (open, close_pending) and calls
-- written unlinked (to link later) are open work and stay. The trigger
-- ledger_payload_deleted deletes their payloads.
DELETE FROM ledger WHERE tenant = $1 AND updated_at < $2 AND state IN ('written', 'skipped', 'ignored')
  AND reason NOT IN ('open', 'close_pending', 'unlinked');

-- name: PurgeLedgerPayloads :execrows
-- The stored Enreach record (decision data) of finished rows; the row itself,
-- the duplicate guard, stays until PurgeLedger. The trigger
-- ledger_payload_replaced deletes the payloads.
UPDATE ledger SET payload_id = NULL
WHERE tenant = $1 AND updated_at < $2 AND payload_id IS NOT NULL AND state IN ('written', 'skipped', 'ignored')
  AND reason NOT IN ('open', 'close_pending', 'unlinked');

-- name: CountUnmappedUsers :many
-- Calls per Enreach user that had no CRM user (default_crm_assignee stood in).
SELECT unmapped_user, COUNT(*) AS n FROM ledger
WHERE tenant = $1 AND kind = $2 AND unmapped_user != ''
GROUP BY unmapped_user ORDER BY n DESC, unmapped_user;

-- name: ListWrittenByReasonWithPayload :many
-- Written rows with a reason (e.g. calls written unlinked), payload included.
SELECT l.enreach_id, l.idem_key, l.state, l.reason, l.crm_id, l.attempts, l.last_error, l.item_time, l.number, p.payload
FROM ledger l LEFT JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.tenant = $1 AND l.kind = $2 AND l.state = 'written' AND l.reason = $3 AND l.attempts < $4
ORDER BY l.item_time
LIMIT sqlc.arg('limit')::bigint;

-- name: LedgerByCRMHashes :many
-- The tenant's rows whose CRM id has one of the hashes (ledger_by_crm_hash,
-- migration 17): the caller keeps those whose crm_id it asked for, as two
-- ids may share a hash.
SELECT kind, enreach_id, idem_key, crm_id
FROM ledger
WHERE tenant = sqlc.arg(tenant) AND crm_id != '' AND crm_hash = ANY(sqlc.arg(crm_hashes)::bigint[]);

-- name: UpdateLedgerResult :execrows
-- UpsertLedger's update of an existing row that is not written, for a row
-- with the same number and item time and no new payload (a write's result):
-- the same values, but number, item_time and payload are not set, so the
-- indexes holding them are not rewritten. 0 rows: UpsertLedger decides.
UPDATE ledger SET
    state = sqlc.arg(state),
    reason = sqlc.arg(reason),
    crm_id = CASE WHEN sqlc.arg(crm_id)::text != '' THEN sqlc.arg(crm_id)::text ELSE crm_id END,
    crm_hash = CASE WHEN sqlc.arg(crm_id)::text != '' THEN sqlc.arg(crm_hash)::bigint ELSE crm_hash END,
    attempts = sqlc.arg(attempts),
    last_error = sqlc.arg(last_error),
    updated_at = sqlc.arg(updated_at),
    unmapped_user = sqlc.arg(unmapped_user)
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND enreach_id = sqlc.arg(enreach_id)
  AND number = sqlc.arg(number) AND item_time = sqlc.arg(item_time) AND state != 'written';

-- name: InsertLedgerPayload :one
-- A ledger row's payload, appended (ids in insertion order); the row points
-- at it by payload_id (UpsertLedger).
INSERT INTO ledger_payloads (payload) VALUES ($1) RETURNING id;

-- name: DeleteLedgerPayload :exec
-- A payload no row took (UpsertLedger left a written row unchanged).
DELETE FROM ledger_payloads WHERE id = $1;

-- name: UpsertLedgerRows :execrows
-- UpsertLedgerKeepPayload for many rows in one statement: one round trip to
-- the server instead of one per row. rows is a JSON array with an array per
-- row, [tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash,
-- attempts, last_error, item_time, number, unmapped_user] (the SQLite
-- query's parameter: both engines' sqlc code has one shape), read by
-- jsonb_array_elements (https://www.postgresql.org/docs/current/functions-json.html).
-- The same row per element, the same update and the same guard (a written
-- row is left as it is). The rows must have distinct keys: ON CONFLICT DO
-- UPDATE cannot change a row twice in one statement
-- (https://www.postgresql.org/docs/current/sql-insert.html).
INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number, created_at, updated_at, unmapped_user)
SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, (r ->> 7)::bigint,
    (r ->> 8)::bigint, r ->> 9, (r ->> 10)::bigint, r ->> 11, sqlc.arg(now)::bigint, sqlc.arg(now)::bigint, r ->> 12
FROM jsonb_array_elements(sqlc.arg(rows)::text::jsonb) AS r
ON CONFLICT (tenant, kind, enreach_id) DO UPDATE SET
    state = excluded.state,
    reason = excluded.reason,
    crm_id = CASE WHEN excluded.crm_id != '' THEN excluded.crm_id ELSE ledger.crm_id END,
    crm_hash = CASE WHEN excluded.crm_id != '' THEN excluded.crm_hash ELSE ledger.crm_hash END,
    attempts = excluded.attempts,
    last_error = excluded.last_error,
    item_time = excluded.item_time,
    number = excluded.number,
    updated_at = excluded.updated_at,
    unmapped_user = excluded.unmapped_user
WHERE ledger.state != 'written';
