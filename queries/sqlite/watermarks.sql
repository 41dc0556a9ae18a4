-- name: GetWatermark :one
SELECT position FROM watermarks WHERE tenant = ? AND stream = ?;

-- name: SetWatermark :exec
INSERT INTO watermarks (tenant, stream, position, updated_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (tenant, stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at;

-- name: ListWatermarks :many
SELECT tenant, stream, position, updated_at FROM watermarks WHERE tenant = ? ORDER BY stream;
