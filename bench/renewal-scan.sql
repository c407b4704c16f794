-- The worker's renewal scan (persistence/src/invoices.rs `services_to_invoice`) over
-- 1,000,000 services on PostgreSQL: the SQL diesel sends, with the values bound.
-- Seed a migrated scratch database (`hostadmin migrate`) with this file's first part,
-- then EXPLAIN the scan (docs/performance.md "Renewal scan"):
--   psql -d renewal_explain -f bench/renewal-scan.sql
-- 1,000 resellers with billing settings, one customer each, 1,000 services per customer
-- due over the next 365 days; 2 % have an invoice for their period already (and are
-- marked handled, as the worker marks them).
BEGIN;
INSERT INTO accounts (id, kind, parent_id, login, email, email_normalized, name, name_lower, status, email_verified,
    fraud, two_factor_enabled, profile, token_version, version, created_at, updated_at)
SELECT 'r-' || g, 'reseller', NULL, 'r-' || g, 'r-' || g || '@x.test', 'r-' || g || '@x.test', 'R', 'r', 'active',
    true, false, false, '{}', 0, 1, now(), now()
FROM generate_series(1, 1000) AS g;
INSERT INTO accounts (id, kind, parent_id, login, email, email_normalized, name, name_lower, status, email_verified,
    fraud, two_factor_enabled, profile, token_version, version, created_at, updated_at)
SELECT 'c-' || g, 'customer', 'r-' || g, 'c-' || g, 'c-' || g || '@x.test', 'c-' || g || '@x.test', 'C', 'c', 'active',
    true, false, false, '{}', 0, 1, now(), now()
FROM generate_series(1, 1000) AS g;
INSERT INTO billing_settings (seller_key, settings, version, updated_at)
SELECT 'r-' || g, '{"legal_name":"R","address":{"street":"s","postal_code":"1","city":"c","country":"NL"}}', 1, now()
FROM generate_series(1, 1000) AS g;
INSERT INTO plans (id, owner_id, name, service_kind, quotas, prices, addons, public, version, created_at, updated_at)
VALUES ('p', NULL, 'P', 'web_hosting', '{}', '[]', '[]', true, 1, now(), now());
INSERT INTO services (id, number, owner_id, plan_id, name, name_lower, kind, status, cycle, addons, quotas,
    registered_at, next_due_at, recurring_amount_minor, currency, auto_renew, allow_overselling, version,
    created_at, updated_at)
SELECT 's-' || g, g, 'c-' || (g % 1000 + 1), 'p', 'S', 's', 'web_hosting',
    CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'active' END, 'monthly', '[]', '{}', now(),
    (now() AT TIME ZONE 'UTC') + make_interval(mins => (g % 525600)::int), 500, 'EUR', g % 10 <> 0, false, 1, now(), now()
FROM generate_series(1, 1000000) AS g;
INSERT INTO invoices (id, kind, number, sequence, status, seller_id, buyer_id, service_id, currency, seller, buyer,
    lines, reverse_charge, subtotal_minor, tax_minor, total_minor, amount_paid_minor, payment_reference,
    renewal_period_start, issued_at, due_at, version, updated_at)
SELECT 'i-' || s.id, 'invoice', 'INV-' || s.number, s.number, 'unpaid', 'r-' || (s.number % 1000 + 1), s.owner_id,
    s.id, 'EUR', '{}', '{}', '[]', false, 500, 0, 500, 0, 'INV', s.next_due_at, now(), s.next_due_at, 1, now()
FROM services AS s WHERE s.number % 50 = 1;
UPDATE services SET renewal_handled_for = next_due_at WHERE number % 50 = 1;
COMMIT;
ANALYZE;

-- The scan, as the worker sends it (the longest seller window: 14 days): a walk of
-- services_renewal_idx in next_due_at order, stopped at 200.
EXPLAIN (ANALYZE, BUFFERS)
SELECT "services"."id" FROM "services"
WHERE auto_renew AND cancellation IS NULL AND status IN ('active', 'suspended')
     AND (renewal_handled_for IS NULL OR renewal_handled_for <> next_due_at)
  AND "services"."next_due_at" <= (now() AT TIME ZONE 'UTC') + interval '14 days'
  AND NOT EXISTS (SELECT 1 FROM "invoices" WHERE "invoices"."service_id" = "services"."id"
      AND "invoices"."renewal_period_start" = "services"."next_due_at" AND "invoices"."status" <> 'void')
ORDER BY "services"."next_due_at" ASC LIMIT 200;
