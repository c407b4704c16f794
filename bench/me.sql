-- The statement GET /v1/me runs after verifying the JWT (persistence/src/restrictions.rs
-- `session_with_account`): the session, its account and the restriction lists set on the
-- account and on every account above it, in one statement (one row per account above).
-- pgbench substitutes :sid and :aid textually; the script passes them quoted.
SELECT sessions.id, sessions.account_id, sessions.impersonator_id, sessions.created_at, sessions.ended_at, accounts.id, kind, parent_id, login, email, pending_email, name, status, email_verified, fraud, two_factor_enabled, profile, password_hash, token_version, accounts.version, accounts.created_at, accounts.updated_at, account_restrictions.disabled_actions FROM sessions INNER JOIN accounts ON accounts.id = sessions.account_id INNER JOIN account_tree ON account_tree.descendant_id = accounts.id LEFT OUTER JOIN account_restrictions ON account_restrictions.account_id = account_tree.ancestor_id WHERE sessions.id = :sid AND accounts.id = :aid;
