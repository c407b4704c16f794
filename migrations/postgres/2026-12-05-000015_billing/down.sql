ALTER TABLE outbox DROP COLUMN invoice_id;
DROP TABLE credit_transactions;
DROP TABLE credit_balances;
DROP TABLE payments;
DROP TABLE invoices;
DROP TABLE orders;
DROP TABLE billing_settings;
DELETE FROM counters WHERE name LIKE 'order_number:%' OR name LIKE 'invoice_number:%';
