-- +goose Up
-- ClaimedActivities finds ledger rows by CRM id through a 64-bit hash of
-- the id (crm_hash: the first 8 bytes of its MD5, big-endian, as a signed
-- integer; store.crmHash) instead of the id's text, and checks the id on
-- the rows it finds. CRM ids are random (Dataverse GUIDs), so each call
-- written put its entry on a random page of ledger_by_crm_id; an entry of
-- (tenant, 36-character id) took about 55 bytes with a short tenant name,
-- one of the hash about 16, so the index has a third of the pages, and a
-- commit of a window's results rewrites fewer of them. callsync_crm_hash is
-- store.crmHash, which Open registers on each connection.
ALTER TABLE ledger ADD COLUMN crm_hash INTEGER NOT NULL DEFAULT 0;
UPDATE ledger SET crm_hash = callsync_crm_hash(crm_id) WHERE crm_id != '';
DROP INDEX ledger_by_crm_id;
CREATE INDEX ledger_by_crm_hash ON ledger (crm_hash) WHERE crm_id != '';

-- +goose Down
DROP INDEX ledger_by_crm_hash;
CREATE INDEX ledger_by_crm_id ON ledger (tenant, crm_id) WHERE crm_id != '';
ALTER TABLE ledger DROP COLUMN crm_hash;
