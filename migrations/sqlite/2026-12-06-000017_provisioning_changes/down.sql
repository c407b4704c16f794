ALTER TABLE provisioning_states DROP COLUMN applied;
ALTER TABLE provisioning_states DROP COLUMN changes;
