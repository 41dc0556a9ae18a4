-- +goose Up
-- Nothing on a call's path reads the ledger by number: only callsync
-- explain --number does, for a range of call times, which ledger_by_state
-- (tenant, kind, state, item_time) serves one state at a time
-- (FindLedgerByNumber). Numbers come in no order, so each call written put
-- its entry on a random page of ledger_by_number, and a commit of a window's
-- rows rewrote most of the index's pages.
DROP INDEX ledger_by_number;

-- +goose Down
CREATE INDEX ledger_by_number ON ledger (tenant, kind, number, item_time);
