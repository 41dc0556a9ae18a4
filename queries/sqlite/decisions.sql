-- name: InsertDecision :exec
INSERT INTO decisions (tenant, kind, enreach_id, at, state, reason, crm_id, error, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: ListDecisions :many
SELECT at, state, reason, crm_id, error, detail FROM decisions
WHERE tenant = ? AND kind = ? AND enreach_id = ?
ORDER BY id;

-- name: PurgeDecisions :execrows
DELETE FROM decisions WHERE at < ?;

-- name: GetLedgerRow :one
SELECT enreach_id, idem_key, state, reason, crm_id, attempts, last_error, item_time, number, payload, created_at, updated_at
FROM ledger
WHERE tenant = ? AND kind = ? AND enreach_id = ?;

-- name: FindLedgerByNumber :many
SELECT enreach_id FROM ledger
WHERE tenant = ? AND kind = ? AND number = ? AND item_time >= sqlc.arg(from_time) AND item_time <= sqlc.arg(to_time)
ORDER BY item_time;
