-- name: GetLedger :many
SELECT enreach_id, idem_key, state, reason, crm_id, attempts, last_error, item_time, number, created_at
FROM ledger
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND enreach_id IN (sqlc.slice(ids));

-- name: UpsertLedger :execrows
-- A written row stays written: replays never downgrade it (0 rows).
-- payload_id: the row's payload in ledger_payloads (InsertLedgerPayload);
-- NULL keeps the stored one.
INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number, payload_id, created_at, updated_at, unmapped_user)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
WHERE l.tenant = ? AND l.kind = ? AND l.state = ? AND l.attempts < ?
ORDER BY l.item_time
LIMIT ?;

-- name: CountLedgerInStates :one
-- 1 when a tenant has a row of a kind in one of the states with fewer
-- than the attempts given, else 0: a retry pass asks this before it reads
-- the rows of each state (ListLedgerByState), which it usually has none of.
-- The slice is the last parameter: sqlc numbers the named ones (?3),
-- which its expansion into several ? would shift.
SELECT COUNT(*) FROM (
    SELECT 1 FROM ledger
    WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND attempts < sqlc.arg(attempts) AND state IN (sqlc.slice(states))
    LIMIT 1
) AS found;

-- name: CountLedgerByState :many
SELECT state, COUNT(*) AS n FROM ledger WHERE tenant = ? AND kind = ? GROUP BY state ORDER BY state;

-- name: CountLedgerByReason :many
SELECT state, reason, COUNT(*) AS n FROM ledger WHERE tenant = ? AND kind = ? GROUP BY state, reason ORDER BY state, reason;

-- name: PurgeLedger :execrows
-- Finished rows only: open callback requests (open, close_pending) and calls
-- written unlinked (to link later) are open work and stay. The trigger
-- ledger_payload_deleted deletes their payloads.
DELETE FROM ledger WHERE tenant = ? AND updated_at < ? AND state IN ('written', 'skipped', 'ignored')
  AND reason NOT IN ('open', 'close_pending', 'unlinked');

-- name: PurgeLedgerPayloads :execrows
-- The stored Enreach record (decision data) of finished rows; the row itself,
-- the duplicate guard, stays until PurgeLedger. The trigger
-- ledger_payload_replaced deletes the payloads.
UPDATE ledger SET payload_id = NULL
WHERE tenant = ? AND updated_at < ? AND payload_id IS NOT NULL AND state IN ('written', 'skipped', 'ignored')
  AND reason NOT IN ('open', 'close_pending', 'unlinked');

-- name: CountUnmappedUsers :many
-- Calls per Enreach user that had no CRM user (default_crm_assignee stood in).
SELECT unmapped_user, COUNT(*) AS n FROM ledger
WHERE tenant = ? AND kind = ? AND unmapped_user != ''
GROUP BY unmapped_user ORDER BY n DESC, unmapped_user;

-- name: ListWrittenByReasonWithPayload :many
-- Written rows with a reason (e.g. calls written unlinked), payload included.
SELECT l.enreach_id, l.idem_key, l.state, l.reason, l.crm_id, l.attempts, l.last_error, l.item_time, l.number, p.payload
FROM ledger l LEFT JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.tenant = ? AND l.kind = ? AND l.state = 'written' AND l.reason = ? AND l.attempts < ?
ORDER BY l.item_time
LIMIT ?;

-- name: LedgerByCRMHashes :many
-- The tenant's rows whose CRM id has one of the hashes, through
-- ledger_by_crm_hash (migration 17; INDEXED BY: without table statistics
-- the planner could read the tenant's rows through the primary key
-- instead, https://www.sqlite.org/lang_indexedby.html): the caller keeps
-- those whose crm_id it asked for, as two ids may share a hash. The slice
-- is the last parameter (see CountLedgerInStates).
SELECT kind, enreach_id, idem_key, crm_id
FROM ledger INDEXED BY ledger_by_crm_hash
WHERE tenant = sqlc.arg(tenant) AND crm_id != '' AND crm_hash IN (sqlc.slice(crm_hashes));

-- name: UpdateLedgerResult :execrows
-- UpsertLedger's update of an existing row that is not written, for a row
-- with the same number and item time and no new payload (a write's result):
-- the same values, but number, item_time and payload are not set, so the
-- indexes holding them are not rewritten. 0 rows: UpsertLedger decides.
UPDATE ledger SET
    state = sqlc.arg(state),
    reason = sqlc.arg(reason),
    crm_id = CASE WHEN CAST(sqlc.arg(crm_id) AS TEXT) != '' THEN CAST(sqlc.arg(crm_id) AS TEXT) ELSE crm_id END,
    crm_hash = CASE WHEN CAST(sqlc.arg(crm_id) AS TEXT) != '' THEN CAST(sqlc.arg(crm_hash) AS INTEGER) ELSE crm_hash END,
    attempts = sqlc.arg(attempts),
    last_error = sqlc.arg(last_error),
    updated_at = sqlc.arg(updated_at),
    unmapped_user = sqlc.arg(unmapped_user)
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND enreach_id = sqlc.arg(enreach_id)
  AND number = sqlc.arg(number) AND item_time = sqlc.arg(item_time) AND state != 'written';

-- name: InsertLedgerPayload :execlastid
-- A ledger row's payload, appended (ids in insertion order); the row points
-- at it by payload_id (UpsertLedger). The id is the statement's last insert
-- rowid, not RETURNING: database/sql runs a query (not an exec) in a
-- transaction with a goroutine watching its context.
INSERT INTO ledger_payloads (payload) VALUES (?);

-- name: DeleteLedgerPayload :exec
-- A payload no row took (UpsertLedger left a written row unchanged).
DELETE FROM ledger_payloads WHERE id = ?;

-- name: UpsertLedgerRows :execrows
-- UpsertLedgerKeepPayload for many rows in one statement, which the store
-- runs on PostgreSQL only (store.engine's setStatements): on SQLite a
-- statement per row costs less. rows is a JSON array with an array per
-- row, [tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash,
-- attempts, last_error, item_time, number, unmapped_user], read by
-- json_each (https://www.sqlite.org/json1.html#jeach; ->> gives a JSON
-- string as TEXT and an integer as INTEGER,
-- https://www.sqlite.org/json1.html#jptr), with distinct keys. The same row
-- per element, the same update and the same guard (a written row is left
-- as it is). WHERE true: without it SQLite's parser takes the ON of ON
-- CONFLICT after a FROM for a join constraint ("Parsing Ambiguity",
-- https://www.sqlite.org/lang_upsert.html).
INSERT INTO ledger (tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number, created_at, updated_at, unmapped_user)
SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6, r.value ->> 7,
    r.value ->> 8, r.value ->> 9, r.value ->> 10, r.value ->> 11, sqlc.arg(now), sqlc.arg(now), r.value ->> 12
FROM json_each(CAST(sqlc.arg(rows) AS TEXT)) AS r
WHERE true
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
