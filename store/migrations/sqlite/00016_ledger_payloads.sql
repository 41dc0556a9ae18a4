-- +goose Up
-- A ledger row's payload (the Enreach record a retry is written from) is a
-- row of ledger_payloads, appended in id order, and the ledger row holds its
-- id. A payload is about 1.5 KB and the rest of a row about 150 bytes:
-- inline, a write's result (an UPDATE of state, CRM id and attempts)
-- rewrote a page holding two or three payloads, read back for it after the
-- window's other rows had pushed it out of the page cache. The triggers drop
-- a payload when its row drops or replaces it.
CREATE TABLE ledger_payloads (
    id      INTEGER PRIMARY KEY,
    payload BLOB    NOT NULL
);
ALTER TABLE ledger ADD COLUMN payload_id INTEGER;
INSERT INTO ledger_payloads (id, payload) SELECT rowid, payload FROM ledger WHERE payload IS NOT NULL;
UPDATE ledger SET payload_id = rowid WHERE payload IS NOT NULL;
ALTER TABLE ledger DROP COLUMN payload;

-- +goose StatementBegin
CREATE TRIGGER ledger_payload_replaced AFTER UPDATE OF payload_id ON ledger
WHEN old.payload_id IS NOT NULL AND new.payload_id IS NOT old.payload_id
BEGIN
    DELETE FROM ledger_payloads WHERE id = old.payload_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_payload_deleted AFTER DELETE ON ledger
WHEN old.payload_id IS NOT NULL
BEGIN
    DELETE FROM ledger_payloads WHERE id = old.payload_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER ledger_payload_deleted;
DROP TRIGGER ledger_payload_replaced;
ALTER TABLE ledger ADD COLUMN payload BLOB;
UPDATE ledger SET payload = (SELECT p.payload FROM ledger_payloads p WHERE p.id = ledger.payload_id) WHERE payload_id IS NOT NULL;
ALTER TABLE ledger DROP COLUMN payload_id;
DROP TABLE ledger_payloads;
