-- Plans: what the provider (owner_id NULL) and each reseller sell. Quotas, prices and
-- add-ons are JSON documents validated by the domain crate. Plans are archived, never
-- deleted: services keep the plan they were sold on.
CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    owner_id TEXT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    service_kind TEXT NOT NULL CHECK (service_kind IN ('web_hosting', 'mail_hosting', 'domain', 'ssl_certificate', 'reseller_hosting')),
    quotas TEXT NOT NULL,
    prices TEXT NOT NULL,
    addons TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    archived_at TIMESTAMP NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX plans_owner_idx ON plans (owner_id, id);
