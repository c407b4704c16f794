-- Certificates ordered from an ACME CA by the worker (docs/drivers.md "Automatic
-- certificates"). `source`: how the row came to be: uploaded with its key, the
-- certificate of a CSR made here, or ordered through ACME. `failure`: the CA's reason
-- when an order failed for good (a row without a certificate is then `failed`; an issued
-- one keeps its certificate and tries again later). `renew_at`: when an ACME
-- certificate is ordered again; null while an order for it runs, and for other sources.
ALTER TABLE certificates ADD COLUMN source TEXT NOT NULL DEFAULT 'upload' CHECK (source IN ('upload', 'csr', 'acme'));
UPDATE certificates SET source = 'csr' WHERE csr_pem IS NOT NULL;
ALTER TABLE certificates ADD COLUMN failure TEXT NULL;
ALTER TABLE certificates ADD COLUMN renew_at TIMESTAMP NULL;
-- The worker's renewal scan walks this index from its start.
CREATE INDEX certificates_renew_idx ON certificates (renew_at) WHERE renew_at IS NOT NULL;

-- The ACME account hostadmin made at each CA (CAs limit how many accounts one client
-- creates), its credentials (the account's private key) sealed with the installation's
-- encryption key.
CREATE TABLE acme_accounts (
    directory_url TEXT NOT NULL PRIMARY KEY,
    credentials_sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
