-- The worker looks for services whose pending cancellation has come due. Ended services
-- keep their last due date, so a scan of services_due_idx grows with history (measured:
-- 0.55-0.85 s every round over 1,000,000 services); this partial index holds only the
-- services with a cancellation.
CREATE INDEX services_cancelling_idx ON services (status, next_due_at) WHERE cancellation IS NOT NULL;
