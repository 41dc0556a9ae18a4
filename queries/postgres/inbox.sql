-- name: InsertInbox :execrows
INSERT INTO webhook_inbox (tenant, delivery_id, event_type, received_at, payload, state, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant, delivery_id) DO NOTHING;

-- name: ListInboxPending :many
SELECT tenant, delivery_id, event_type, received_at, payload FROM webhook_inbox
WHERE state = 'pending' ORDER BY received_at, delivery_id LIMIT sqlc.arg('limit')::bigint;

-- name: FinishInbox :exec
UPDATE webhook_inbox SET state = $1, reason = $2, processed_at = $3 WHERE tenant = $4 AND delivery_id = $5;

-- name: CountInbox :many
SELECT state, COUNT(*) AS n FROM webhook_inbox WHERE tenant = $1 GROUP BY state ORDER BY state;

-- name: PurgeInbox :execrows
DELETE FROM webhook_inbox WHERE state != 'pending' AND received_at < $1;

-- name: ListInboxPendingExcept :many
SELECT tenant, delivery_id, event_type, received_at, payload FROM webhook_inbox
WHERE state = 'pending' AND tenant <> ALL(sqlc.arg(held)::text[])
ORDER BY received_at, delivery_id LIMIT sqlc.arg('limit')::bigint;
