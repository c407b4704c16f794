DROP TABLE acme_accounts;
DROP INDEX certificates_renew_idx;
ALTER TABLE certificates DROP COLUMN renew_at;
ALTER TABLE certificates DROP COLUMN failure;
ALTER TABLE certificates DROP COLUMN source;
