-- Accounts and the tree they form: operator > reseller > sub-reseller > customer.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('operator', 'reseller', 'customer')),
    parent_id TEXT NULL REFERENCES accounts (id),
    login TEXT NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    pending_email TEXT NULL,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'blocked')),
    email_verified BOOLEAN NOT NULL,
    fraud BOOLEAN NOT NULL,
    two_factor_enabled BOOLEAN NOT NULL,
    profile TEXT NOT NULL,
    password_hash TEXT NULL,
    token_version BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX accounts_login_key ON accounts (login);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_normalized);
CREATE INDEX accounts_parent_idx ON accounts (parent_id, id);
CREATE INDEX accounts_name_idx ON accounts (name_lower text_pattern_ops);
CREATE INDEX accounts_login_prefix_idx ON accounts (login text_pattern_ops);
CREATE INDEX accounts_email_prefix_idx ON accounts (email_normalized text_pattern_ops);

-- Closure table: one row per (ancestor, descendant) pair, the account itself at depth 0,
-- so "everything below X" is one indexed lookup.
CREATE TABLE account_tree (
    ancestor_id TEXT NOT NULL REFERENCES accounts (id),
    descendant_id TEXT NOT NULL REFERENCES accounts (id),
    depth INTEGER NOT NULL CHECK (depth >= 0),
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX account_tree_descendant_idx ON account_tree (descendant_id, depth);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    impersonator_id TEXT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NULL,
    ended_reason TEXT NULL
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

-- Refresh tokens are stored as SHA-256 digests; a spent one presented again ends its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP NULL
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at TIMESTAMP NULL,
    last_used_at TIMESTAMP NULL,
    revoked_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, id);

-- Append-only: the triggers below refuse every UPDATE and DELETE.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    action TEXT NOT NULL,
    actor_id TEXT NULL,
    on_behalf_of TEXT NULL,
    api_key_id TEXT NULL,
    ip TEXT NULL,
    request_id TEXT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    account_id TEXT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
-- TRUNCATE fires no row trigger: refuse it by statement.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER NULL,
    response_body TEXT NULL,
    response_headers TEXT NULL,
    locked_until TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, idempotency_key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

-- Failed logins, counted per submitted login and per client address (both as digests).
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_subject_idx ON login_failures (subject, at);
