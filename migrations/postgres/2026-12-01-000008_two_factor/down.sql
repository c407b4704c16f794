DROP TABLE recovery_codes;
ALTER TABLE accounts DROP COLUMN totp_last_step;
ALTER TABLE accounts DROP COLUMN totp_pending_secret_sealed;
ALTER TABLE accounts DROP COLUMN totp_secret_sealed;
