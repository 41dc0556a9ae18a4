-- +goose Up
-- CRM requests per tenant and UTC hour (hour = milliseconds of the hour's
-- start), for the status page: every HTTP attempt to the CRM, and how many
-- of them were answered 429 Too Many Requests.
CREATE TABLE crm_requests_hourly (
    tenant    TEXT    NOT NULL,
    hour      BIGINT  NOT NULL,
    requests  BIGINT  NOT NULL DEFAULT 0,
    throttled BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, hour)
);

-- +goose Down
DROP TABLE crm_requests_hourly;
