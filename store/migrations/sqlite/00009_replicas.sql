-- +goose Up
-- Replicas sharing one store (store.driver: postgres): each heartbeats its
-- row; a tenant (or the purge) is a lease one replica holds until
-- expires_at and renews. Times are UTC milliseconds. job_runs.replica
-- names the replica that ran each job.
CREATE TABLE replicas (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

ALTER TABLE job_runs ADD COLUMN replica TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE job_runs DROP COLUMN replica;
DROP TABLE leases;
DROP TABLE replicas;
