-- Suppression is decided from a few facts per address (mailfate.core.suppression.sufficient_facts),
-- and these indexes reach each one directly, so deciding costs the same however long the history.
-- A rank is a one-character severity, a separator, then the event's timestamp: substr(rank, 3) orders
-- an address's complaints, hard bounces and soft bounces by time.
CREATE INDEX recipients_complaints ON recipients (address, substr(complaint_rank, 3)) WHERE complaint;
CREATE INDEX recipients_hard_bounces ON recipients (address, substr(bounce_rank, 3)) WHERE hard_bounce;
CREATE INDEX recipients_soft_bounces ON recipients (address, substr(bounce_rank, 3)) WHERE status = 'soft_bounced';
-- The latest Delivery of an address is the last entry of its range; it also serves lookups by address.
DROP INDEX recipients_address;
CREATE INDEX recipients_address ON recipients (address, delivered_at);
-- Every trouble row is in one of the indexes above.
DROP INDEX recipients_trouble;
-- The latest lift by hand.
CREATE INDEX suppression_actions_lifts ON suppression_actions (address, at) WHERE action = 'lift';
