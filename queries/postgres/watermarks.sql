-- name: GetWatermark :one
SELECT position FROM watermarks WHERE tenant = $1 AND stream = $2;

-- name: SetWatermark :exec
INSERT INTO watermarks (tenant, stream, position, updated_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant, stream) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at;

-- name: ListWatermarks :many
SELECT tenant, stream, position, updated_at FROM watermarks WHERE tenant = $1 ORDER BY stream;
