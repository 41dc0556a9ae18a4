-- name: InsertDecision :exec
INSERT INTO decisions (tenant, kind, enreach_id, at, state, reason, crm_id, error, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListDecisions :many
SELECT at, state, reason, crm_id, error, detail FROM decisions
WHERE tenant = $1 AND kind = $2 AND enreach_id = $3
ORDER BY id;

-- name: PurgeDecisions :execrows
DELETE FROM decisions WHERE at < $1;

-- name: GetLedgerRow :one
SELECT enreach_id, idem_key, state, reason, crm_id, attempts, last_error, item_time, number, payload, created_at, updated_at
FROM ledger
WHERE tenant = $1 AND kind = $2 AND enreach_id = $3;

-- name: FindLedgerByNumber :many
SELECT enreach_id FROM ledger
WHERE tenant = sqlc.arg(tenant) AND kind = sqlc.arg(kind) AND number = sqlc.arg(number) AND item_time >= sqlc.arg(from_time) AND item_time <= sqlc.arg(to_time)
ORDER BY item_time;
