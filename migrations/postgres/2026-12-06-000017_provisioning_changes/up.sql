-- Which changes of a followed resource its server holds. `changes` counts the changes
-- queued for it (each in the change's own transaction); `applied` is the count a
-- successful job had seen before it read what to apply. A resource is ready only when
-- the two are equal, and a job claimed when they are is not carried out again: a later
-- job already applied its change (a driver always applies the newest state).
ALTER TABLE provisioning_states ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE provisioning_states ADD COLUMN applied BIGINT NOT NULL DEFAULT 0;
-- A resource not ready has a change its server may not hold yet.
UPDATE provisioning_states SET changes = 1 WHERE status <> 'ready';
-- The job applying the resource now (its id), until when: one at a time, so that an
-- older state read by one job never lands on the server after a newer one. A job that
-- died holding it holds it no longer than `held_until`.
ALTER TABLE provisioning_states ADD COLUMN held_by TEXT NULL;
ALTER TABLE provisioning_states ADD COLUMN held_until TIMESTAMP NULL;
