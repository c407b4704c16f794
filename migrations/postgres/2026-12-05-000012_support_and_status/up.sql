-- Support tickets between an account (the customer) and its seller: the account above
-- it, or the provider (seller_id NULL) for a top-level account. Numbers are gapless per
-- seller, from a counter row per seller in `counters` ('ticket_number:<seller id>' or
-- 'ticket_number:provider') incremented in the creating transaction.
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL,
    seller_id TEXT NULL REFERENCES accounts (id),
    customer_id TEXT NOT NULL REFERENCES accounts (id),
    service_id TEXT NULL REFERENCES services (id),
    direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    subject TEXT NOT NULL,
    subject_lower TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    created_by TEXT NOT NULL REFERENCES accounts (id),
    -- The last reply either side can see; internal notes leave it alone.
    last_reply_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tickets_seller_number_key ON tickets (seller_id, number);
CREATE UNIQUE INDEX tickets_provider_number_key ON tickets (number) WHERE seller_id IS NULL;
CREATE INDEX tickets_customer_idx ON tickets (customer_id, id);
CREATE INDEX tickets_service_idx ON tickets (service_id, id);

-- The messages of a ticket; internal notes are the seller's side's only.
CREATE TABLE ticket_messages (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    author_id TEXT NOT NULL REFERENCES accounts (id),
    side TEXT NOT NULL CHECK (side IN ('customer', 'seller')),
    internal BOOLEAN NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (side = 'seller' OR NOT internal)
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);

-- Files attached to a ticket, stored in the database: an upload is one insert, so a
-- refused or failed one leaves nothing behind. An attachment belongs to its uploader
-- until a message of the uploader's takes it (message_id); then whoever sees the
-- message sees the file.
CREATE TABLE ticket_attachments (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    message_id TEXT NULL REFERENCES ticket_messages (id),
    uploader_id TEXT NOT NULL REFERENCES accounts (id),
    side TEXT NOT NULL CHECK (side IN ('customer', 'seller')),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'application/pdf', 'text/plain')),
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id, id);
CREATE INDEX ticket_attachments_message_idx ON ticket_attachments (message_id);
CREATE INDEX ticket_attachments_pending_idx ON ticket_attachments (created_at) WHERE message_id IS NULL;

-- What an account wants to be mailed about; no row: the defaults.
CREATE TABLE notification_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    ticket_replies BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The status page: components with their own status, and incidents that lower the
-- components they affect while they last (planned ones only within their window).
CREATE TABLE status_components (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    group_name TEXT NULL,
    status TEXT NOT NULL CHECK (status IN ('operational', 'maintenance', 'degraded', 'partial_outage', 'major_outage')),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE status_incidents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('outage', 'fault', 'maintenance', 'change')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    impact TEXT NOT NULL CHECK (impact IN ('degraded', 'partial_outage', 'major_outage', 'maintenance')),
    -- The stage its last update set.
    progress TEXT NOT NULL CHECK (progress IN ('investigating', 'identified', 'monitoring', 'resolved', 'scheduled', 'in_progress', 'completed')),
    scheduled_start TIMESTAMP NULL,
    scheduled_end TIMESTAMP NULL,
    -- When it was resolved or completed; NULL while it is not.
    resolved_at TIMESTAMP NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX status_incidents_kind_idx ON status_incidents (kind, id);
CREATE INDEX status_incidents_unresolved_idx ON status_incidents (id) WHERE resolved_at IS NULL;

CREATE TABLE status_incident_components (
    incident_id TEXT NOT NULL REFERENCES status_incidents (id),
    component_id TEXT NOT NULL REFERENCES status_components (id),
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX status_incident_components_component_idx ON status_incident_components (component_id);

CREATE TABLE status_incident_updates (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES status_incidents (id),
    progress TEXT NOT NULL CHECK (progress IN ('investigating', 'identified', 'monitoring', 'resolved', 'scheduled', 'in_progress', 'completed')),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX status_incident_updates_incident_idx ON status_incident_updates (incident_id, id);
