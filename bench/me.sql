-- The statements GET /v1/me runs after verifying the JWT: the session, the account, its restrictions.
-- pgbench substitutes :sid and :aid textually; the script passes them quoted.
SELECT id, account_id, impersonator_id, created_at, ended_at FROM sessions WHERE id = :sid LIMIT 1;
SELECT id, kind, parent_id, login, email, pending_email, name, status, email_verified, fraud, two_factor_enabled, profile, password_hash, token_version, version, created_at, updated_at FROM accounts WHERE id = :aid LIMIT 1;
-- The restrictions in force: the lists set on the account and every account above it.
SELECT disabled_actions FROM account_restrictions WHERE account_id IN (SELECT ancestor_id FROM account_tree WHERE descendant_id = :aid);
