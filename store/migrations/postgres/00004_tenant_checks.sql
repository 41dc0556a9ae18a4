-- +goose Up
-- The last preflight (callsync doctor's checks) of each tenant, written by
-- callsync run so that callsync status in another process can show why a
-- tenant is not started. checks is the JSON array of check lines.
CREATE TABLE tenant_checks (
    tenant        TEXT    PRIMARY KEY,
    checked_at    BIGINT  NOT NULL,
    status        TEXT    NOT NULL,
    started       BIGINT  NOT NULL DEFAULT 0,
    next_check_at BIGINT  NOT NULL DEFAULT 0,
    checks        TEXT    NOT NULL DEFAULT '[]'
);

-- +goose Down
DROP TABLE tenant_checks;
