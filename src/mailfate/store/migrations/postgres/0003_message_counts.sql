-- Per message: what its recipients add up to, recounted from recipients whenever a write touches the
-- message (in the same transaction). Reputation figures then read one small row per message instead
-- of joining every recipient to its message.
CREATE TABLE message_counts (
    message_id TEXT COLLATE "C" PRIMARY KEY,
    sent_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    configuration_set TEXT COLLATE "C",
    from_domain TEXT COLLATE "C",
    tags TEXT COLLATE "C",
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
    excluded_complaints BIGINT NOT NULL
);
CREATE INDEX message_counts_sent_at ON message_counts (sent_at);
