-- +goose Up
-- The engine asks which ledger rows already point at a CRM activity (an
-- activity inside call_start_margin may stand for one call only).
CREATE INDEX ledger_by_crm_id ON ledger (tenant, crm_id) WHERE crm_id != '';

-- +goose Down
DROP INDEX ledger_by_crm_id;
