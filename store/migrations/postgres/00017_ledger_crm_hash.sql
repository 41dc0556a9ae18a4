-- +goose Up
-- ClaimedActivities finds ledger rows by CRM id through a 64-bit hash of
-- the id, as on SQLite (where each CRM id written put its entry on a
-- random page of an index of 36-character ids): crm_hash is the first 8
-- bytes of the id's MD5, big-endian, as a signed integer (store.crmHash),
-- the same value on both engines, so store copy moves it as it is.
ALTER TABLE ledger ADD COLUMN crm_hash BIGINT NOT NULL DEFAULT 0;
UPDATE ledger SET crm_hash = ('x' || left(md5(crm_id), 16))::bit(64)::bigint WHERE crm_id != '';
DROP INDEX ledger_by_crm_id;
CREATE INDEX ledger_by_crm_hash ON ledger (crm_hash) WHERE crm_id != '';

-- +goose Down
DROP INDEX ledger_by_crm_hash;
CREATE INDEX ledger_by_crm_id ON ledger (tenant, crm_id) WHERE crm_id != '';
ALTER TABLE ledger DROP COLUMN crm_hash;
