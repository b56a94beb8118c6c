-- The suppression list in the order a person reads it (user2 before user10 before user111): a key in
-- which every number is written with its length first (core.addresses.natural_key), filled for the
-- rows already there by the data step that follows this migration. Lists page by (sort_key, address).
ALTER TABLE suppression_state ADD COLUMN sort_key TEXT NOT NULL DEFAULT '';
CREATE INDEX suppression_state_order ON suppression_state (sort_key, address);
