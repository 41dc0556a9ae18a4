-- +goose Up
-- All times are UTC, stored as INTEGER milliseconds since the Unix epoch.

-- A cursor per tenant and stream (calls, callbacks:<profile>): the position up
-- to which the source has been read completely.
CREATE TABLE watermarks (
    tenant     TEXT    NOT NULL,
    stream     TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, stream)
);

-- The ledger: every Enreach item seen, what was decided, and what was written.
-- state: pending | written | skipped | unresolved | failed | ignored
CREATE TABLE ledger (
    tenant     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    enreach_id TEXT    NOT NULL,
    idem_key   TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    crm_id     TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT '',
    item_time  INTEGER NOT NULL,
    number     TEXT    NOT NULL DEFAULT '',
    payload    BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, enreach_id)
);
CREATE INDEX ledger_by_state ON ledger (tenant, kind, state, item_time);
CREATE INDEX ledger_by_number ON ledger (tenant, kind, number, state);

-- Records from an API that could not be parsed, with the reason.
CREATE TABLE quarantine (
    id         INTEGER PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    record_id  TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL,
    raw        BLOB,
    -- digest identifies the record (sha256 of its raw JSON), so a record
    -- read again by an overlapping window is quarantined once.
    digest     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX quarantine_by_tenant ON quarantine (tenant, created_at);
CREATE UNIQUE INDEX quarantine_once ON quarantine (tenant, source, digest);

-- Enreach user to CRM user; crm_user_id '' means "no active CRM user".
CREATE TABLE user_map (
    tenant          TEXT    NOT NULL,
    enreach_user_id TEXT    NOT NULL,
    crm_user_id     TEXT    NOT NULL,
    email           TEXT    NOT NULL DEFAULT '',
    fetched_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, enreach_user_id)
);

-- Job run history (gocron keeps none across restarts).
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    job         TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL,
    seen        INTEGER NOT NULL DEFAULT 0,
    written     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    unresolved  INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_by_job ON job_runs (tenant, job, started_at);

-- Chosen moments of randomised jobs (the nightly run), so a restart neither
-- skips nor repeats one.
CREATE TABLE schedules (
    tenant  TEXT    NOT NULL,
    job     TEXT    NOT NULL,
    next_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, job)
);

-- Webhook deliveries, committed before the 2xx. state: pending | processed | ignored
CREATE TABLE webhook_inbox (
    tenant       TEXT    NOT NULL,
    delivery_id  TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    payload      BLOB    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending',
    reason       TEXT    NOT NULL DEFAULT '',
    processed_at INTEGER,
    PRIMARY KEY (tenant, delivery_id)
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox (state, received_at);

-- +goose Down
DROP TABLE webhook_inbox;
DROP TABLE schedules;
DROP TABLE job_runs;
DROP TABLE user_map;
DROP TABLE quarantine;
DROP TABLE ledger;
DROP TABLE watermarks;
