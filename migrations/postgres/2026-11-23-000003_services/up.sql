-- Gapless counters (PostgreSQL sequences skip numbers after a rollback; a counter row
-- incremented inside the creating transaction does not).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('service_number', 1000);

-- Services: what an account bought, on the plan it was sold with. Quotas are copied from
-- the plan and its add-ons at the sale, so a later plan change does not move them.
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES accounts (id),
    plan_id TEXT NOT NULL REFERENCES plans (id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('web_hosting', 'mail_hosting', 'domain', 'ssl_certificate', 'reseller_hosting')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'cancelled', 'terminated', 'expired')),
    cycle TEXT NOT NULL,
    addons TEXT NOT NULL,
    quotas TEXT NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    next_due_at TIMESTAMP NOT NULL,
    recurring_amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    auto_renew BOOLEAN NOT NULL,
    cancellation TEXT NULL,
    suspension_reason TEXT NULL,
    allow_overselling BOOLEAN NOT NULL,
    password_hash TEXT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX services_number_key ON services (number);
CREATE INDEX services_owner_idx ON services (owner_id, id);
CREATE INDEX services_due_idx ON services (next_due_at);
