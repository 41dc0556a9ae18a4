-- +goose Up
-- The phone directory: every phone field value of each CRM record, parsed
-- once to E.164 (with the record's own address country when it has one),
-- so a caller matches by E.164 equality with no CRM request. Only ids,
-- numbers, field names and stamps: no names or e-mails. One row per record
-- and phone field; e164 is '' and reason says why when the value does not
-- parse (counted and listed, never dropped). gen is the full load that last
-- saw the row: a completed full load removes the rows it did not see.
CREATE TABLE directory_numbers (
    tenant      TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    e164        TEXT    NOT NULL,
    raw         TEXT    NOT NULL,
    country     TEXT    NOT NULL DEFAULT '',
    region      TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    owner_id    TEXT    NOT NULL DEFAULT '',
    parent_id   TEXT    NOT NULL DEFAULT '',
    modified_at INTEGER NOT NULL,
    synced_at   INTEGER NOT NULL,
    gen         INTEGER NOT NULL,
    PRIMARY KEY (tenant, entity, record_id, field)
);
CREATE INDEX directory_by_number ON directory_numbers (tenant, e164);

-- Per tenant and entity: the incremental cursor (record modified stamp and
-- deleted-records stamp, UTC ms), the last full load's generation (gen), the
-- last finished one's (done_gen; a load runs while gen > done_gen), its resume token,
-- when the last full load finished, and the counts of the last sync.
CREATE TABLE directory_sync (
    tenant          TEXT    NOT NULL,
    entity          TEXT    NOT NULL,
    modified_cursor INTEGER NOT NULL DEFAULT 0,
    deleted_cursor  INTEGER NOT NULL DEFAULT 0,
    delta_token     TEXT    NOT NULL DEFAULT '',
    gen             INTEGER NOT NULL DEFAULT 0,
    done_gen        INTEGER NOT NULL DEFAULT 0,
    full_token      TEXT    NOT NULL DEFAULT '',
    full_started_at INTEGER NOT NULL DEFAULT 0,
    full_done_at    INTEGER NOT NULL DEFAULT 0,
    last_sync_at    INTEGER NOT NULL DEFAULT 0,
    records         INTEGER NOT NULL DEFAULT 0,
    numbers         INTEGER NOT NULL DEFAULT 0,
    unparseable     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, entity)
);

-- +goose Down
DROP TABLE directory_sync;
DROP TABLE directory_numbers;
