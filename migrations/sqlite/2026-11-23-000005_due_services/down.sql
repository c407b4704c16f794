DROP INDEX services_cancelling_idx;
