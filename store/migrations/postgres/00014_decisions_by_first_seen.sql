-- +goose Up
-- An item's decision log entries are found by the first-seen time of its
-- ledger row (ledger.created_at, which never changes) before its id:
-- seen_at is that time when the entry was added (0 when the item had no
-- ledger row then). New calls are first seen in the order callsync reads
-- them, so their entries go to the end of this index; keyed by the id
-- first, each entry went to a random page of it (Enreach's call ids are
-- random), one page rewritten per call.
ALTER TABLE decisions ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE decisions SET seen_at = COALESCE((SELECT l.created_at FROM ledger l
    WHERE l.tenant = decisions.tenant AND l.kind = decisions.kind AND l.enreach_id = decisions.enreach_id), 0);
DROP INDEX decisions_by_item;
CREATE INDEX decisions_by_item ON decisions (tenant, kind, seen_at, enreach_id, id);

-- +goose Down
DROP INDEX decisions_by_item;
CREATE INDEX decisions_by_item ON decisions (tenant, kind, enreach_id, id);
ALTER TABLE decisions DROP COLUMN seen_at;
