-- +goose Up
-- unmapped_user: the Enreach user of a call that had no CRM user (the
-- default assignee, if any, stood in); callsync status counts them per user.
ALTER TABLE ledger ADD COLUMN unmapped_user TEXT NOT NULL DEFAULT '';
CREATE INDEX ledger_by_unmapped ON ledger (tenant, kind, unmapped_user) WHERE unmapped_user != '';

-- One row per run of the retention purge, with what it removed.
CREATE TABLE purge_runs (
    id         INTEGER PRIMARY KEY,
    ran_at     INTEGER NOT NULL,
    ledger     INTEGER NOT NULL DEFAULT 0,
    payloads   INTEGER NOT NULL DEFAULT 0,
    inbox      INTEGER NOT NULL DEFAULT 0,
    quarantine INTEGER NOT NULL DEFAULT 0,
    runs       INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE purge_runs;
DROP INDEX ledger_by_unmapped;
ALTER TABLE ledger DROP COLUMN unmapped_user;
