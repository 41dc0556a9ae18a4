-- name: AddCRMRequests :exec
INSERT INTO crm_requests_hourly (tenant, hour, requests, throttled) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant, hour) DO UPDATE SET
    requests = crm_requests_hourly.requests + excluded.requests,
    throttled = crm_requests_hourly.throttled + excluded.throttled;

-- name: ListCRMRequests :many
SELECT hour, requests, throttled FROM crm_requests_hourly
WHERE tenant = $1 AND hour >= $2
ORDER BY hour;

-- name: PurgeCRMRequests :execrows
DELETE FROM crm_requests_hourly WHERE hour < $1;

-- name: CallsPerHour :many
-- Calls by the UTC hour they started, state and reason.
SELECT CAST(item_time / 3600000 * 3600000 AS BIGINT) AS hour, state, reason, COUNT(*) AS n
FROM ledger
WHERE tenant = $1 AND kind = 'call' AND item_time >= $2
GROUP BY hour, state, reason
ORDER BY hour, state, reason;

-- name: ListQuarantine :many
SELECT source, record_id, reason, created_at FROM quarantine
WHERE tenant = $1
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg('limit')::bigint;
