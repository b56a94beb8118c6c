-- Where the trouble is (docs/insights.md): per recipient, the mailbox provider that hosts it, the time
-- SES took to deliver to it, and the reason of its worst bounce and of its complaint (each goes with
-- its rank, as bounce and complaint_info do). Filled for what was stored before by a data step.
ALTER TABLE recipients ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE recipients ADD COLUMN delivery_ms INTEGER;
ALTER TABLE recipients ADD COLUMN bounce_reason TEXT;
ALTER TABLE recipients ADD COLUMN complaint_reason TEXT;
-- The recipients with a reason (a few percent): the diagnostics find example messages here.
CREATE INDEX recipients_bounce_reasons ON recipients (bounce_reason) WHERE bounce_reason IS NOT NULL;
CREATE INDEX recipients_complaint_reasons ON recipients (complaint_reason) WHERE complaint_reason IS NOT NULL;

-- Per day of sending: what the recipients add up to per recipient domain, provider ('' when not known)
-- and reason (of a bounce or complaint; '' for the others), with the counts of the reputation figures
-- and a histogram of delivery times (latency_N: the buckets of mailfate.core.insights.LATENCY_BOUNDS).
-- Every write adds the difference it makes, in its transaction; a window's whole days read these rows.
CREATE TABLE domain_days (
    sent_day TEXT NOT NULL,
    domain TEXT NOT NULL,
    provider TEXT NOT NULL,
    reason TEXT NOT NULL,
    sent INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    hard_bounces INTEGER NOT NULL,
    soft_bounces INTEGER NOT NULL,
    auto_replies INTEGER NOT NULL,
    complaints INTEGER NOT NULL,
    opens INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    excluded_sent INTEGER NOT NULL,
    excluded_bounces INTEGER NOT NULL,
    excluded_complaints INTEGER NOT NULL,
    latency_0 INTEGER NOT NULL,
    latency_1 INTEGER NOT NULL,
    latency_2 INTEGER NOT NULL,
    latency_3 INTEGER NOT NULL,
    latency_4 INTEGER NOT NULL,
    latency_5 INTEGER NOT NULL,
    latency_6 INTEGER NOT NULL,
    latency_7 INTEGER NOT NULL,
    latency_8 INTEGER NOT NULL,
    latency_9 INTEGER NOT NULL,
    latency_10 INTEGER NOT NULL,
    latency_11 INTEGER NOT NULL,
    latency_12 INTEGER NOT NULL,
    latency_13 INTEGER NOT NULL,
    latency_14 INTEGER NOT NULL,
    latency_15 INTEGER NOT NULL,
    PRIMARY KEY (sent_day, domain, provider, reason)
) WITHOUT ROWID;
