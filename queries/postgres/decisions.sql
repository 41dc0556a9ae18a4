-- name: InsertDecision :exec
-- seen_at: the item's ledger row's first-seen time (decisions_by_item),
-- given when the caller knows it (the row saved in the same transaction),
-- else looked up (COALESCE evaluates its arguments in order and stops at
-- the first not null).
INSERT INTO decisions (tenant, kind, enreach_id, seen_at, at, state, reason, crm_id, error, detail)
VALUES (sqlc.arg(tenant), sqlc.arg(kind), sqlc.arg(enreach_id),
    COALESCE(sqlc.narg(seen_at)::bigint, (SELECT l.created_at FROM ledger l
        WHERE l.tenant = sqlc.arg(tenant) AND l.kind = sqlc.arg(kind) AND l.enreach_id = sqlc.arg(enreach_id)), 0),
    sqlc.arg(at), sqlc.arg(state), sqlc.arg(reason), sqlc.arg(crm_id), sqlc.arg(error), sqlc.arg(detail));

-- name: ListDecisions :many
SELECT d.at, d.state, d.reason, d.crm_id, d.error, d.detail FROM decisions d
WHERE d.tenant = sqlc.arg(tenant) AND d.kind = sqlc.arg(kind) AND d.enreach_id = sqlc.arg(enreach_id)
  AND d.seen_at = COALESCE((SELECT l.created_at FROM ledger l
        WHERE l.tenant = sqlc.arg(tenant) AND l.kind = sqlc.arg(kind) AND l.enreach_id = sqlc.arg(enreach_id)), 0)
ORDER BY d.id;

-- name: PurgeDecisions :execrows
DELETE FROM decisions WHERE at < $1;

-- name: GetLedgerRow :one
SELECT l.enreach_id, l.idem_key, l.state, l.reason, l.crm_id, l.attempts, l.last_error, l.item_time, l.number, p.payload, l.created_at, l.updated_at
FROM ledger l LEFT JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.tenant = $1 AND l.kind = $2 AND l.enreach_id = $3;

-- name: FindLedgerByNumber :many
-- Through ledger_by_state, one range of item times per state (states: every
-- ledger state), the number tested on the row: no index holds the number,
-- which would be a page of it changed per call at a random place
-- (migration 15). A lookup reads the tenant's calls of the time range.
SELECT enreach_id FROM ledger
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND number = sqlc.arg(number)
  AND item_time >= sqlc.arg(from_time) AND item_time <= sqlc.arg(to_time) AND state = ANY(sqlc.arg(states)::text[])
ORDER BY item_time;

-- name: InsertDecisions :exec
-- InsertDecision for many entries in one statement (one round trip to the
-- server instead of one per entry), in their order (the
-- identity ids follow the ORDER BY): rows is the SQLite query's parameter,
-- a JSON array of an array per entry, [tenant, kind, enreach_id, seen_at
-- (null: looked up), at, state, reason, crm_id, error, detail (null for
-- none; its bytes as a string, convert_to gives them back)], read by
-- jsonb_array_elements WITH ORDINALITY
-- (https://www.postgresql.org/docs/current/functions-json.html).
INSERT INTO decisions (tenant, kind, enreach_id, seen_at, at, state, reason, crm_id, error, detail)
SELECT e.r ->> 0, e.r ->> 1, e.r ->> 2,
    COALESCE((e.r ->> 3)::bigint, (SELECT l.created_at FROM ledger l
        WHERE l.tenant = e.r ->> 0 AND l.kind = e.r ->> 1 AND l.enreach_id = e.r ->> 2), 0),
    (e.r ->> 4)::bigint, e.r ->> 5, e.r ->> 6, e.r ->> 7, e.r ->> 8, convert_to(e.r ->> 9, 'UTF8')
FROM jsonb_array_elements(sqlc.arg(rows)::text::jsonb) WITH ORDINALITY AS e(r, n)
ORDER BY e.n;
