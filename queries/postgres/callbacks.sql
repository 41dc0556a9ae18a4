-- name: UpsertCallbackRequest :exec
INSERT INTO callback_requests (tenant, kind, enreach_id, profile, number, bundle_key, linked)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant, kind, enreach_id) DO UPDATE SET
    profile = excluded.profile,
    number = excluded.number,
    bundle_key = excluded.bundle_key,
    linked = excluded.linked;

-- name: ListOpenCallbacks :many
-- Written requests still open in the CRM, in one profile, from the given numbers.
SELECT l.enreach_id, l.idem_key, l.crm_id, l.item_time, c.number, c.bundle_key, p.payload
FROM ledger l
JOIN callback_requests c ON c.tenant = l.tenant AND c.kind = l.kind AND c.enreach_id = l.enreach_id
LEFT JOIN ledger_payloads p ON p.id = l.payload_id
WHERE l.tenant = sqlc.arg(tenant) AND l.kind = sqlc.arg(kind) AND c.profile = sqlc.arg(profile)
  AND c.number = ANY(sqlc.arg(numbers)::text[]) AND l.state = 'written' AND l.reason = 'open'
ORDER BY l.item_time, l.enreach_id;

-- name: SetWrittenReason :execrows
-- Moves a written row between open, close_pending and closed.
-- attempts counts the close attempts while close_pending.
UPDATE ledger SET reason = $1, attempts = $2, last_error = $3, updated_at = $4
WHERE tenant = $5 AND kind = $6 AND enreach_id = $7 AND state = 'written';

-- name: ListWrittenByReason :many
SELECT enreach_id, idem_key, crm_id, attempts, item_time, number
FROM ledger
WHERE tenant = $1 AND kind = $2 AND state = 'written' AND reason = $3 AND attempts < $4
ORDER BY item_time
LIMIT sqlc.arg('limit')::bigint;

-- name: CountCallbacksByProfile :many
SELECT c.profile, l.state, l.reason, COUNT(*) AS n, CAST(SUM(CASE WHEN c.linked > 0 THEN 1 ELSE 0 END) AS BIGINT) AS bundled
FROM ledger l
JOIN callback_requests c ON c.tenant = l.tenant AND c.kind = l.kind AND c.enreach_id = l.enreach_id
WHERE l.tenant = $1 AND l.kind = $2
GROUP BY c.profile, l.state, l.reason
ORDER BY c.profile, l.state, l.reason;
