-- name: InsertDecision :exec
-- seen_at: the item's ledger row's first-seen time (decisions_by_item),
-- given when the caller knows it (the row saved in the same transaction),
-- else looked up (COALESCE evaluates its arguments in order and stops at
-- the first not null).
INSERT INTO decisions (tenant, kind, enreach_id, seen_at, at, state, reason, crm_id, error, detail)
VALUES (sqlc.arg(tenant), sqlc.arg(kind), sqlc.arg(enreach_id),
    COALESCE(CAST(sqlc.narg(seen_at) AS INTEGER), (SELECT l.created_at FROM ledger l
        WHERE l.tenant = sqlc.arg(tenant) AND l.kind = sqlc.arg(kind) AND l.enreach_id = sqlc.arg(enreach_id)), 0),
    sqlc.arg(at), sqlc.arg(state), sqlc.arg(reason), sqlc.arg(crm_id), sqlc.arg(error), sqlc.arg(detail));

-- name: ListDecisions :many
SELECT d.at, d.state, d.reason, d.crm_id, d.error, d.detail FROM decisions d
WHERE d.tenant = sqlc.arg(tenant) AND d.kind = sqlc.arg(kind) AND d.enreach_id = sqlc.arg(enreach_id)
  AND d.seen_at = COALESCE((SELECT l.created_at FROM ledger l
        WHERE l.tenant = sqlc.arg(tenant) AND l.kind = sqlc.arg(kind) AND l.enreach_id = sqlc.arg(enreach_id)), 0)
ORDER BY d.id;

-- name: PurgeDecisions :execrows
DELETE FROM decisions WHERE at < ?;

-- name: GetLedgerRow :one
SELECT l.enreach_id, l.idem_key, l.state, l.reason, l.crm_id, l.attempts, l.last_error, l.item_time, l.number, p.payload, l.created_at, l.updated_at
FROM ledger l LEFT JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.tenant = ? AND l.kind = ? AND l.enreach_id = ?;

-- name: FindLedgerByNumber :many
-- Through ledger_by_state, one range of item times per state (states: every
-- ledger state), the number tested on the row: no index holds the number,
-- which would be a page of it changed per call at a random place
-- (migration 15). A lookup reads the tenant's calls of the time range.
SELECT enreach_id FROM ledger
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND number = sqlc.arg(number)
  AND item_time >= sqlc.arg(from_time) AND item_time <= sqlc.arg(to_time) AND state IN (sqlc.slice(states))
ORDER BY item_time;

-- name: InsertDecisions :exec
-- InsertDecision for many entries in one statement, which the store runs
-- on PostgreSQL only (see UpsertLedgerRows), in their order (the ids follow
-- it): rows is a JSON array of an array per entry, [tenant, kind,
-- enreach_id, seen_at (null: looked up), at, state, reason, crm_id, error,
-- detail (null for none; its bytes as a string, CAST back to a BLOB)], read
-- by json_each (https://www.sqlite.org/json1.html#jeach).
INSERT INTO decisions (tenant, kind, enreach_id, seen_at, at, state, reason, crm_id, error, detail)
SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2,
    COALESCE(r.value ->> 3, (SELECT l.created_at FROM ledger l
        WHERE l.tenant = r.value ->> 0 AND l.kind = r.value ->> 1 AND l.enreach_id = r.value ->> 2), 0),
    r.value ->> 4, r.value ->> 5, r.value ->> 6, r.value ->> 7, r.value ->> 8, CAST(r.value ->> 9 AS BLOB)
FROM json_each(CAST(sqlc.arg(rows) AS TEXT)) AS r
ORDER BY r.key;
