-- name: InsertInbox :execrows
INSERT INTO webhook_inbox (tenant, delivery_id, event_type, received_at, payload, state, reason)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant, delivery_id) DO NOTHING;

-- name: ListInboxPending :many
SELECT tenant, delivery_id, event_type, received_at, payload FROM webhook_inbox
WHERE state = 'pending' ORDER BY received_at, delivery_id LIMIT ?;

-- name: FinishInbox :exec
UPDATE webhook_inbox SET state = ?, reason = ?, processed_at = ? WHERE tenant = ? AND delivery_id = ?;

-- name: CountInbox :many
SELECT state, COUNT(*) AS n FROM webhook_inbox WHERE tenant = ? GROUP BY state ORDER BY state;

-- name: PurgeInbox :execrows
DELETE FROM webhook_inbox WHERE state != 'pending' AND received_at < ?;

-- name: ListInboxPendingExcept :many
SELECT tenant, delivery_id, event_type, received_at, payload FROM webhook_inbox
WHERE state = 'pending' AND tenant NOT IN (sqlc.slice('held'))
ORDER BY received_at, delivery_id LIMIT ?;
