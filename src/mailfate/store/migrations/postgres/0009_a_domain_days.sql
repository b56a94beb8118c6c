-- Where the trouble is (docs/insights.md): per recipient, the mailbox provider that hosts it, the time
-- SES took to deliver to it, and the reason of its worst bounce and of its complaint (each goes with
-- its rank, as bounce and complaint_info do). Filled for what was stored before by a data step.
ALTER TABLE recipients ADD COLUMN provider TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE recipients ADD COLUMN delivery_ms BIGINT;
ALTER TABLE recipients ADD COLUMN bounce_reason TEXT COLLATE "C";
ALTER TABLE recipients ADD COLUMN complaint_reason TEXT COLLATE "C";
-- The recipients with a reason (a few percent): the diagnostics find example messages here.
CREATE INDEX recipients_bounce_reasons ON recipients (bounce_reason) WHERE bounce_reason IS NOT NULL;
CREATE INDEX recipients_complaint_reasons ON recipients (complaint_reason) WHERE complaint_reason IS NOT NULL;

-- Per day of sending: what the recipients add up to per recipient domain, provider ('' when not known)
-- and reason (of a bounce or complaint; '' for the others), with the counts of the reputation figures
-- and a histogram of delivery times (latency_N: the buckets of mailfate.core.insights.LATENCY_BOUNDS).
-- Every write adds the difference it makes, in its transaction; a window's whole days read these rows.
CREATE TABLE domain_days (
    sent_day TEXT COLLATE "C" NOT NULL,
    domain TEXT COLLATE "C" NOT NULL,
    provider TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    sent BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    hard_bounces BIGINT NOT NULL,
    soft_bounces BIGINT NOT NULL,
    auto_replies BIGINT NOT NULL,
    complaints BIGINT NOT NULL,
    opens BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    excluded_sent BIGINT NOT NULL,
    excluded_bounces BIGINT NOT NULL,
    excluded_complaints BIGINT NOT NULL,
    latency_0 BIGINT NOT NULL,
    latency_1 BIGINT NOT NULL,
    latency_2 BIGINT NOT NULL,
    latency_3 BIGINT NOT NULL,
    latency_4 BIGINT NOT NULL,
    latency_5 BIGINT NOT NULL,
    latency_6 BIGINT NOT NULL,
    latency_7 BIGINT NOT NULL,
    latency_8 BIGINT NOT NULL,
    latency_9 BIGINT NOT NULL,
    latency_10 BIGINT NOT NULL,
    latency_11 BIGINT NOT NULL,
    latency_12 BIGINT NOT NULL,
    latency_13 BIGINT NOT NULL,
    latency_14 BIGINT NOT NULL,
    latency_15 BIGINT NOT NULL,
    PRIMARY KEY (sent_day, domain, provider, reason)
);
