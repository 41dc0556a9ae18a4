-- +goose Up
-- The tenants a replica cannot run now (their preflight failed there),
-- one name a line: the other replicas leave such a tenant to a replica
-- that can, so a replica-local failure (network, DNS, a token fetch) does
-- not stop the tenant while another replica could run it.
ALTER TABLE replicas ADD COLUMN excluded_tenants TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE replicas DROP COLUMN excluded_tenants;
