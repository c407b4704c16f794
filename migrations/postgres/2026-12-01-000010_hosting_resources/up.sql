-- The hosting resources of a service: domains with their child hosts and DNS records,
-- mailboxes and forwards, FTP users, databases and certificates. Every row belongs to
-- one service (service_id), so quotas count per service and, through the owner, per
-- reseller package. Secrets are stored as hashes (mailbox and FTP passwords, in forms
-- the servers verify) or sealed with the installation's encryption key (database
-- passwords and private keys, which the provisioner needs in clear).

-- One owner per name across the installation: `name` is lowercase punycode without
-- the final dot.
CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unicode_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hosted', 'registered')),
    owner_id TEXT NOT NULL REFERENCES accounts (id),
    -- The `domain` service of a registered domain; null for a hosted one.
    service_id TEXT NULL REFERENCES services (id),
    -- The hosting service the domain is served by (and counted against).
    hosting_service_id TEXT NULL REFERENCES services (id),
    -- Space-separated host names; null: the provider's name servers (DNS managed here).
    nameservers TEXT NULL,
    locked BOOLEAN NOT NULL,
    auto_renew BOOLEAN NOT NULL,
    expires_at TIMESTAMP NULL,
    redirect_type TEXT NULL CHECK (redirect_type IN ('301', '302', 'masked')),
    redirect_target TEXT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX domains_name_key ON domains (name);
CREATE INDEX domains_owner_idx ON domains (owner_id, id);
CREATE INDEX domains_hosting_service_idx ON domains (hosting_service_id, id);

-- Child hosts (glue): a host name below the domain with its addresses.
CREATE TABLE domain_hosts (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    -- Space-separated IPv4 and IPv6 addresses.
    ips TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX domain_hosts_hostname_key ON domain_hosts (hostname);
CREATE INDEX domain_hosts_domain_idx ON domain_hosts (domain_id, hostname);

-- DNS records of a domain's zone; `name` relative to the zone (`@` the apex).
CREATE TABLE dns_records (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL REFERENCES services (id),
    record_type TEXT NOT NULL CHECK (record_type IN ('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'NS')),
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    ttl INTEGER NOT NULL,
    priority INTEGER NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dns_records_domain_idx ON dns_records (domain_id, name, id);
CREATE INDEX dns_records_service_idx ON dns_records (service_id);

-- The SOA serial of each zone that changed since its domain was added (YYYYMMDDnn,
-- RFC 1912 2.2, always growing); a zone without a row has the first serial of the day
-- its domain was added. Apart from the domain's row, which other changes touch too.
CREATE TABLE dns_zones (
    domain_id TEXT PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    serial BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One row per mail address in use (a mailbox or a forward source), so that the two
-- kinds can never take one address twice, even when created at the same moment.
CREATE TABLE mail_addresses (
    address TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('mailbox', 'forward')),
    resource_id TEXT NOT NULL
);

CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    domain_id TEXT NOT NULL REFERENCES domains (id),
    address TEXT NOT NULL,
    -- Dovecot's form: `{ARGON2ID}$argon2id$...`.
    password_hash TEXT NOT NULL,
    quota_mb BIGINT NOT NULL,
    description TEXT NOT NULL,
    panel_login BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX mailboxes_address_key ON mailboxes (address);
CREATE INDEX mailboxes_service_idx ON mailboxes (service_id, id);
CREATE INDEX mailboxes_domain_idx ON mailboxes (domain_id);

CREATE TABLE forwards (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    domain_id TEXT NOT NULL REFERENCES domains (id),
    source TEXT NOT NULL,
    -- A JSON array of 1-50 addresses (a quoted local part may hold a space).
    destinations TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX forwards_source_key ON forwards (source);
CREATE INDEX forwards_service_idx ON forwards (service_id, id);
CREATE INDEX forwards_domain_idx ON forwards (domain_id);

CREATE TABLE ftp_users (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- Relative to the service's root; '' is the root itself.
    directory TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ftp_users_username_key ON ftp_users (username);
CREATE INDEX ftp_users_service_idx ON ftp_users (service_id, id);

CREATE TABLE databases (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    engine TEXT NOT NULL CHECK (engine IN ('mysql', 'postgresql')),
    -- Stored names, prefixed with the service number: `1042_shop`.
    name TEXT NOT NULL,
    db_user TEXT NOT NULL,
    -- Sealed: the provisioner needs it in clear to create the user.
    password_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX databases_engine_name_key ON databases (engine, name);
CREATE UNIQUE INDEX databases_engine_user_key ON databases (engine, db_user);
CREATE INDEX databases_service_idx ON databases (service_id, id);

-- Certificates: uploaded ones, and those waiting for the signed certificate of a CSR
-- made here (certificate_pem null until then). The private key never leaves the server.
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    common_name TEXT NOT NULL,
    -- Space-separated DNS names.
    sans TEXT NOT NULL,
    subject TEXT NULL,
    issuer TEXT NULL,
    not_before TIMESTAMP NULL,
    not_after TIMESTAMP NULL,
    certificate_pem TEXT NULL,
    chain_pem TEXT NULL,
    csr_pem TEXT NULL,
    -- SHA-256 of the public key (SubjectPublicKeyInfo DER), hex: matches an upload
    -- without a key to the key of its CSR.
    public_key_sha256 TEXT NOT NULL,
    private_key_sealed TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX certificates_service_idx ON certificates (service_id, id);
CREATE INDEX certificates_public_key_idx ON certificates (service_id, public_key_sha256);
