-- name: DeleteDirectoryRecords :exec
DELETE FROM directory_numbers
WHERE tenant = sqlc.arg(tenant) AND entity = sqlc.arg(entity) AND record_id = ANY(sqlc.arg(ids)::text[]);

-- name: InsertDirectoryNumber :exec
INSERT INTO directory_numbers (tenant, entity, record_id, field, e164, raw, country, region, reason, owner_id, parent_id, modified_at, synced_at, gen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (tenant, entity, record_id, field) DO UPDATE SET
    e164 = excluded.e164, raw = excluded.raw, country = excluded.country, region = excluded.region,
    reason = excluded.reason, owner_id = excluded.owner_id, parent_id = excluded.parent_id,
    modified_at = excluded.modified_at, synced_at = excluded.synced_at, gen = excluded.gen;

-- name: SweepDirectory :execrows
DELETE FROM directory_numbers WHERE tenant = $1 AND entity = $2 AND gen <> $3;

-- name: DirectoryByNumbers :many
-- Unordered: Store.DirectoryLookup orders each number's rows (as on SQLite).
SELECT entity, record_id, field, e164, raw, country, region, owner_id, parent_id, modified_at, synced_at
FROM directory_numbers
WHERE tenant = sqlc.arg(tenant) AND e164 = ANY(sqlc.arg(numbers)::text[]);

-- name: DirectoryUnparseable :many
SELECT entity, record_id, field, raw, country, region, reason, modified_at, synced_at
FROM directory_numbers
WHERE tenant = $1 AND e164 = ''
ORDER BY entity, record_id, field
LIMIT sqlc.arg('limit')::bigint;

-- name: DirectoryCounts :many
SELECT entity, COUNT(DISTINCT record_id) AS records,
    COUNT(*) FILTER (WHERE e164 <> '') AS numbers,
    COUNT(*) FILTER (WHERE e164 = '') AS unparseable
FROM directory_numbers
WHERE tenant = $1
GROUP BY entity
ORDER BY entity;

-- name: GetDirectorySync :one
SELECT modified_cursor, deleted_cursor, delta_token, gen, done_gen, full_token, full_started_at, full_done_at, last_sync_at, records, numbers, unparseable
FROM directory_sync WHERE tenant = $1 AND entity = $2;

-- name: ListDirectorySync :many
SELECT entity, modified_cursor, deleted_cursor, delta_token, gen, done_gen, full_token, full_started_at, full_done_at, last_sync_at, records, numbers, unparseable
FROM directory_sync WHERE tenant = $1 ORDER BY entity;

-- name: SaveDirectorySync :exec
INSERT INTO directory_sync (tenant, entity, modified_cursor, deleted_cursor, delta_token, gen, done_gen, full_token, full_started_at, full_done_at, last_sync_at, records, numbers, unparseable)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (tenant, entity) DO UPDATE SET
    modified_cursor = excluded.modified_cursor, deleted_cursor = excluded.deleted_cursor,
    delta_token = excluded.delta_token, gen = excluded.gen, done_gen = excluded.done_gen, full_token = excluded.full_token,
    full_started_at = excluded.full_started_at, full_done_at = excluded.full_done_at,
    last_sync_at = excluded.last_sync_at, records = excluded.records, numbers = excluded.numbers,
    unparseable = excluded.unparseable;
