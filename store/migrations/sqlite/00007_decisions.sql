-- +goose Up
-- The run-time decision log of each Enreach item (callsync explain): one row
-- per outcome (filtered, matched, written, failed...), with what led to it.
-- detail is JSON: normalised number, matched records (entity and id), the
-- chosen record, owner and user party, the attempt and the CRM's answer. It
-- holds no customer names. Purged with the rest of the history.
CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    enreach_id TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    crm_id     TEXT    NOT NULL DEFAULT '',
    error      TEXT    NOT NULL DEFAULT '',
    detail     BLOB
);
CREATE INDEX decisions_by_item ON decisions (tenant, kind, enreach_id, id);
CREATE INDEX decisions_by_time ON decisions (at);

-- +goose Down
DROP TABLE decisions;
