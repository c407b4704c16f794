-- Mail. The outbox is written in the transaction of the change that sends the mail, so
-- a mail goes out exactly when its change committed; the worker delivers it. Workers
-- claim a row with a conditional update on claimed_by/lease_until (as jobs), so two
-- workers never send one mail and a crashed worker's mail comes back when its lease runs
-- out. Bodies that carried a token are blanked once delivered (or given up).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    template TEXT NOT NULL,
    recipient TEXT NOT NULL,
    -- Lowercase recipient and the requesting client address: reset and verification
    -- mails are limited per recipient and per client address, counted here so that every
    -- instance agrees.
    recipient_normalized TEXT NOT NULL,
    client_ip TEXT NULL,
    rate_limited BOOLEAN NOT NULL,
    account_id TEXT NULL REFERENCES accounts (id),
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    carries_secret BOOLEAN NOT NULL,
    claimed_by TEXT NULL,
    lease_until TIMESTAMP NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP NULL,
    failed_at TIMESTAMP NULL
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_recipient_idx ON outbox (recipient_normalized, created_at);
CREATE INDEX outbox_client_ip_idx ON outbox (client_ip, created_at);

-- One-time tokens sent by mail: only their SHA-256 digest is stored. Each is bound to
-- one account and, for verification, to the address it was sent to.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'set_password')),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL
);
CREATE INDEX email_tokens_account_idx ON email_tokens (account_id, purpose);

-- Taken (a no-op update) before the mail limits are counted, so that on PostgreSQL
-- concurrent requests count one after the other and the limit holds exactly.
INSERT INTO counters (name, value) VALUES ('mail_limits', 0);
