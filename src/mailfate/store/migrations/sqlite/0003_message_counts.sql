-- Per message: what its recipients add up to, recounted from recipients whenever a write touches the
-- message (in the same transaction). Reputation figures then read one small row per message instead
-- of joining every recipient to its message.
CREATE TABLE message_counts (
    message_id TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL DEFAULT '',
    configuration_set TEXT,
    from_domain TEXT,
    tags TEXT,
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
    excluded_complaints INTEGER NOT NULL
);
CREATE INDEX message_counts_sent_at ON message_counts (sent_at);
