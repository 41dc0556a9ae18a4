-- +goose Up
-- A call's number is looked up with a range of call times
-- (FindLedgerByNumber), never with a state. Without state in the index, a
-- write's result (pending to written or failed, SaveLedger's in-place update
-- of state, CRM id and attempts) leaves this index alone: in SQLite an
-- UPDATE changes only the indexes holding a column it sets, and each
-- change here was a random page of the index rewritten per call.
DROP INDEX ledger_by_number;
CREATE INDEX ledger_by_number ON ledger (tenant, kind, number, item_time);

-- +goose Down
DROP INDEX ledger_by_number;
CREATE INDEX ledger_by_number ON ledger (tenant, kind, number, state);
