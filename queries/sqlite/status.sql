-- name: AddCRMRequests :exec
INSERT INTO crm_requests_hourly (tenant, hour, requests, throttled) VALUES (?, ?, ?, ?)
ON CONFLICT (tenant, hour) DO UPDATE SET
    requests = crm_requests_hourly.requests + excluded.requests,
    throttled = crm_requests_hourly.throttled + excluded.throttled;

-- name: ListCRMRequests :many
SELECT hour, requests, throttled FROM crm_requests_hourly
WHERE tenant = ? AND hour >= ?
ORDER BY hour;

-- name: PurgeCRMRequests :execrows
DELETE FROM crm_requests_hourly WHERE hour < ?;

-- name: CallsPerHour :many
-- Calls by the UTC hour they started, state and reason.
SELECT CAST(item_time / 3600000 AS INTEGER) * 3600000 AS hour, state, reason, COUNT(*) AS n
FROM ledger
WHERE tenant = ? AND kind = 'call' AND item_time >= ?
GROUP BY hour, state, reason
ORDER BY hour, state, reason;

-- name: ListQuarantine :many
SELECT source, record_id, reason, created_at FROM quarantine
WHERE tenant = ?
ORDER BY created_at DESC, id DESC
LIMIT ?;
