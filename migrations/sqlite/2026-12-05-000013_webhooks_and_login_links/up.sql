-- Webhook endpoints: each account's own. The secret signs every delivery, so it is kept
-- sealed (it must be read back); after a rotation the previous one signs along until
-- previous_secret_until. A worker holds an endpoint while it delivers to it (claimed_by
-- and lease_until, taken with a conditional update), so deliveries to one endpoint go
-- one at a time and in order, and two workers never send one delivery at once.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- The owner is an operator: it hears of every event.
    sees_all BOOLEAN NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- Why the worker disabled it; NULL when its owner did (or it is enabled).
    disabled_reason TEXT NULL CHECK (disabled_reason IN ('failing')),
    secret_sealed TEXT NOT NULL,
    previous_secret_sealed TEXT NULL,
    previous_secret_until TIMESTAMP NULL,
    -- The first failed attempt since the last success: 5 days of failures disable it.
    failing_since TIMESTAMP NULL,
    claimed_by TEXT NULL,
    lease_until TIMESTAMP NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_account_idx ON webhooks (account_id, id);
CREATE INDEX webhooks_sees_all_idx ON webhooks (sees_all, enabled);

-- The outbox of events: one row per (endpoint, event), written in the transaction of
-- the audited change (so a rolled-back change sends nothing and a committed one is never
-- missed), and the delivery log that the owner reads.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    -- No foreign key: a change that commits while an endpoint is being removed must not
    -- fail because of it. Deliveries of a removed endpoint are never sent and are pruned.
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL REFERENCES audit_events (id),
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NULL,
    last_attempt_at TIMESTAMP NULL,
    last_status_code INTEGER NULL,
    last_error TEXT NULL,
    -- The start of the receiver's answer, truncated before it is stored.
    last_response_body TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (webhook_id, status, id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

-- One-click login links: only the token's SHA-256 digest, single use (used_at is set by
-- a conditional update), valid until expires_at.
CREATE TABLE login_links (
    token_hash TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    -- The service's owner, logged in by the tool.
    account_id TEXT NOT NULL REFERENCES accounts (id),
    tool TEXT NOT NULL CHECK (tool IN ('panel', 'webmail', 'database', 'files')),
    login TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL
);
CREATE INDEX login_links_expiry_idx ON login_links (expires_at);
