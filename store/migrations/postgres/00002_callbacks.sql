-- +goose Up
-- Callback requests: for each ledger row of kind 'callback', the profile it
-- belongs to and the duplicate group (profile, number) and bundle it is in.
-- The ledger keeps the state; reason 'open' marks a written request whose CRM
-- activity is still open, 'close_pending' one whose close is not confirmed
-- yet, 'closed' one completed. Rows go with their ledger row (purge cascades).
CREATE TABLE callback_requests (
    tenant     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    enreach_id TEXT    NOT NULL,
    profile    TEXT    NOT NULL,
    number     TEXT    NOT NULL DEFAULT '',
    bundle_key TEXT    NOT NULL DEFAULT '',
    -- linked counts the other open requests this one references (bundle).
    linked     BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, kind, enreach_id),
    FOREIGN KEY (tenant, kind, enreach_id) REFERENCES ledger (tenant, kind, enreach_id) ON DELETE CASCADE
);
CREATE INDEX callback_requests_by_group ON callback_requests (tenant, profile, number);

-- +goose Down
DROP TABLE callback_requests;
