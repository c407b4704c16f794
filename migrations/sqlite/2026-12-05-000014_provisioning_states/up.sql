-- Where a hosting resource stands on the real server behind it (docs/drivers.md): one row
-- per resource a configured driver carries out (a domain's DNS zone, a database). No row:
-- the built-in driver keeps it, and it is ready. `error` is the driver's last failure,
-- kept while the worker retries (pending) and when it gave up (failed).
CREATE TABLE provisioning_states (
    resource_kind TEXT NOT NULL CHECK (resource_kind IN ('dns_zone', 'database')),
    resource_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    error TEXT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (resource_kind, resource_id)
);
