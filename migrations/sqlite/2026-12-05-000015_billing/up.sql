-- Billing: what each seller (a reseller, or the provider: seller_id NULL) invoices with,
-- the orders its buyers place, the invoices and credit notes it issues, the payments it
-- records, and each buyer's credit with it. Money is integers of minor units.
--
-- Order and invoice numbers are gapless per seller, from counter rows in `counters`
-- ('order_number:<seller>', 'invoice_number:<seller>', '<seller>' an account id or
-- 'provider') incremented in the issuing transaction.

-- A seller's settings (JSON of domain::billing::settings::BillingSettings): one row per
-- seller; seller_key is the reseller's account id or 'provider'.
CREATE TABLE billing_settings (
    seller_key TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL,
    seller_id TEXT NULL REFERENCES accounts (id),
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    -- The service every item is about, when there is one (renewals, plan changes, and a
    -- new service once created): grants with `billing` on it reach the order.
    service_id TEXT NULL REFERENCES services (id),
    currency TEXT NOT NULL,
    -- The priced items as the API shows them (JSON).
    items TEXT NOT NULL,
    total_minor BIGINT NOT NULL CHECK (total_minor >= 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'cancelled', 'failed')),
    failure TEXT NULL,
    note TEXT NULL,
    invoice_id TEXT NULL,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX orders_seller_number_key ON orders (seller_id, number);
CREATE UNIQUE INDEX orders_provider_number_key ON orders (number) WHERE seller_id IS NULL;
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id);
CREATE INDEX orders_service_idx ON orders (service_id, id);

CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    -- The seller's prefix and sequence, as issued.
    number TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'void')),
    seller_id TEXT NULL REFERENCES accounts (id),
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    service_id TEXT NULL REFERENCES services (id),
    currency TEXT NOT NULL,
    -- Copies of the parties and the lines as issued (JSON): never changed afterwards.
    seller TEXT NOT NULL,
    buyer TEXT NOT NULL,
    lines TEXT NOT NULL,
    reverse_charge BOOLEAN NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    -- Negative on a credit note, as its total.
    amount_paid_minor BIGINT NOT NULL,
    payment_reference TEXT NOT NULL,
    order_id TEXT NULL REFERENCES orders (id),
    credit_note_for TEXT NULL REFERENCES invoices (id),
    -- A renewal invoice: the start of the period it bills (the service's next_due_at
    -- when it was issued). One per service and period, whatever the number of workers
    -- (a void one, of a renewal that was stopped, makes room for a new one).
    renewal_period_start TIMESTAMP NULL,
    -- The reminder before due and the notice after, each sent once.
    reminder_sent_at TIMESTAMP NULL,
    overdue_notice_sent_at TIMESTAMP NULL,
    issued_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'invoice' AND total_minor >= 0 AND amount_paid_minor BETWEEN 0 AND total_minor)
        OR (kind = 'credit_note' AND total_minor <= 0 AND amount_paid_minor BETWEEN total_minor AND 0))
);
CREATE UNIQUE INDEX invoices_seller_sequence_key ON invoices (seller_id, sequence);
CREATE UNIQUE INDEX invoices_provider_sequence_key ON invoices (sequence) WHERE seller_id IS NULL;
CREATE INDEX invoices_buyer_idx ON invoices (buyer_id, id);
CREATE INDEX invoices_service_idx ON invoices (service_id, id);
CREATE INDEX invoices_order_idx ON invoices (order_id);
CREATE UNIQUE INDEX invoices_renewal_period_key ON invoices (service_id, renewal_period_start)
    WHERE renewal_period_start IS NOT NULL AND status <> 'void';
CREATE INDEX invoices_unpaid_due_idx ON invoices (status, due_at);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('bank_transfer', 'cash', 'card', 'other', 'credit')),
    reference TEXT NULL,
    received_at TIMESTAMP NOT NULL,
    recorded_by TEXT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_invoice_idx ON payments (invoice_id, id);

-- A buyer's credit with its seller, per currency; never below zero.
CREATE TABLE credit_balances (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, currency)
);

-- Every change of a balance, with why.
CREATE TABLE credit_transactions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    balance_minor BIGINT NOT NULL CHECK (balance_minor >= 0),
    reason TEXT NOT NULL,
    invoice_id TEXT NULL REFERENCES invoices (id),
    payment_id TEXT NULL REFERENCES payments (id),
    created_by TEXT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX credit_transactions_account_idx ON credit_transactions (account_id, id);

-- A mail about an invoice carries it as a PDF, rendered when the mail is delivered from
-- the stored invoice (no foreign key: the column only says what to attach, and SQLite
-- cannot drop a column a foreign key names).
ALTER TABLE outbox ADD COLUMN invoice_id TEXT NULL;

-- The worker's renewal scan walks this index in `next_due_at` order: the services that
-- renew and whose current period was not handled yet (invoiced, or passed over because
-- their seller keeps no billing settings). `renewal_handled_for` is that period's start.
ALTER TABLE services ADD COLUMN renewal_handled_for TIMESTAMP NULL;
CREATE INDEX services_renewal_idx ON services (next_due_at)
    WHERE auto_renew AND cancellation IS NULL AND status IN ('active', 'suspended')
        AND (renewal_handled_for IS NULL OR renewal_handled_for <> next_due_at);
