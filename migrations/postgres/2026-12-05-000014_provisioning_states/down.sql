DROP TABLE provisioning_states;
