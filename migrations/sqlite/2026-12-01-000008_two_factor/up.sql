-- The second factor. Secrets are sealed (XChaCha20-Poly1305 under the encryption key);
-- the pending one waits for its first code. The last accepted step makes each code
-- work once, across every instance.
ALTER TABLE accounts ADD COLUMN totp_secret_sealed TEXT NULL;
ALTER TABLE accounts ADD COLUMN totp_pending_secret_sealed TEXT NULL;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT NULL;

-- Single-use recovery codes, stored as SHA-256 digests of 80-bit random codes.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL,
    PRIMARY KEY (account_id, code_hash)
);
