-- The statements GET /v1/me runs after verifying the JWT: the session, then the account with its restrictions.
-- pgbench substitutes :sid and :aid textually; the script passes them quoted.
SELECT id, account_id, impersonator_id, created_at, ended_at FROM sessions WHERE id = :sid LIMIT 1;
-- The account with the restriction lists set on it and on every account above it, in one statement.
SELECT accounts.id, kind, parent_id, login, email, pending_email, name, status, email_verified, fraud, two_factor_enabled, profile, password_hash, token_version, accounts.version, accounts.created_at, accounts.updated_at, account_restrictions.disabled_actions FROM accounts INNER JOIN account_tree ON account_tree.descendant_id = accounts.id LEFT OUTER JOIN account_restrictions ON account_restrictions.account_id = account_tree.ancestor_id WHERE accounts.id = :aid;
