-- Authorized users: a grantor shares services it owns with a grantee, who accepts. A
-- declined, withdrawn or given-back grant is deleted; the audit log keeps its history.
-- Without selected services (all_services) a grant covers everything the grantor owns,
-- now and later.
CREATE TABLE authorizations (
    id TEXT PRIMARY KEY,
    grantor_id TEXT NOT NULL REFERENCES accounts (id),
    grantee_id TEXT NOT NULL REFERENCES accounts (id),
    -- Comma-separated permission names: view, manage, billing, support.
    permissions TEXT NOT NULL,
    all_services BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP NULL,
    CHECK (grantor_id <> grantee_id)
);
-- Every service request of a grantee looks up its active grants by these.
CREATE INDEX authorizations_grantee_status_idx ON authorizations (grantee_id, status, grantor_id);
-- The lists: given (newest first) and received (newest first).
CREATE INDEX authorizations_grantor_idx ON authorizations (grantor_id, id);
CREATE INDEX authorizations_grantee_idx ON authorizations (grantee_id, id);

-- The services a grant is limited to (none: all_services). A row per service keeps the
-- reach lookups on indexes instead of parsing lists.
CREATE TABLE authorization_services (
    authorization_id TEXT NOT NULL REFERENCES authorizations (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL REFERENCES services (id),
    PRIMARY KEY (authorization_id, service_id)
);
CREATE INDEX authorization_services_service_idx ON authorization_services (service_id);
