ALTER TABLE provisioning_states DROP COLUMN held_until;
ALTER TABLE provisioning_states DROP COLUMN held_by;
ALTER TABLE provisioning_states DROP COLUMN applied;
ALTER TABLE provisioning_states DROP COLUMN changes;
