-- Raw records, exactly as received. record_key is the SNS MessageId, the EventBridge id, or a hash
-- of the content, so a redelivered record is recognised before anything is derived from it.
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    record_key TEXT NOT NULL UNIQUE,
    transport TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at TEXT NOT NULL,
    note TEXT,
    body TEXT NOT NULL
);
CREATE INDEX records_received_at ON records (received_at);

-- What could not be understood: kept whole, with the reason.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    transport TEXT NOT NULL,
    location TEXT,
    reason TEXT NOT NULL,
    body TEXT NOT NULL
);

-- The mail object, merged from every event of the message.
CREATE TABLE messages (
    message_id TEXT PRIMARY KEY,
    source TEXT,
    from_addresses TEXT,
    subject TEXT,
    sent_at TEXT,
    destination TEXT,
    tags TEXT,
    headers TEXT,
    configuration_set TEXT,
    sending_account TEXT,
    from_domain TEXT
);
CREATE INDEX messages_sent_at ON messages (sent_at);

-- Normalized events, clustered by message so that one message's timeline is one range read.
-- event_key is the event's identity (kind, message, recipient, time, feedback id): the same event that
-- arrives by two routes (identity notification and event publishing, SNS and SQS) is stored once.
CREATE TABLE events (
    message_id TEXT NOT NULL,
    event_key TEXT NOT NULL,
    record_key TEXT NOT NULL,
    transport TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    received_at TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (message_id, event_key)
) WITHOUT ROWID;

-- The fate of each (message, recipient): the merged summary of its events (mailfate.core.fate.Summary).
-- status is derived by the database from the flags, with the rules of mailfate.core.fate.STATUS_RULES.
CREATE TABLE recipients (
    message_id TEXT NOT NULL,
    address TEXT NOT NULL,
    address_raw TEXT NOT NULL DEFAULT '',
    complaint INTEGER NOT NULL DEFAULT 0,
    hard_bounce INTEGER NOT NULL DEFAULT 0,
    reject INTEGER NOT NULL DEFAULT 0,
    render_failure INTEGER NOT NULL DEFAULT 0,
    soft_bounce INTEGER NOT NULL DEFAULT 0,
    ambiguous_bounce INTEGER NOT NULL DEFAULT 0,
    engaged INTEGER NOT NULL DEFAULT 0,
    delayed INTEGER NOT NULL DEFAULT 0,
    opened INTEGER NOT NULL DEFAULT 0,
    clicked INTEGER NOT NULL DEFAULT 0,
    unsubscribed INTEGER NOT NULL DEFAULT 0,
    bounce_rank TEXT NOT NULL DEFAULT '',
    bounce TEXT,
    complaint_rank TEXT NOT NULL DEFAULT '',
    complaint_info TEXT,
    delay_rank TEXT NOT NULL DEFAULT '',
    delay TEXT,
    first_event_at TEXT,
    last_event_at TEXT,
    status TEXT GENERATED ALWAYS AS (
        CASE
            WHEN complaint THEN 'complained'
            WHEN hard_bounce THEN 'bounced'
            WHEN reject THEN 'rejected'
            WHEN render_failure THEN 'failed'
            WHEN soft_bounce OR (ambiguous_bounce AND NOT engaged) THEN 'soft_bounced'
            WHEN engaged THEN 'delivered'
            WHEN delayed THEN 'delayed'
            ELSE 'sent'
        END
    ) STORED,
    PRIMARY KEY (message_id, address)
) WITHOUT ROWID;
CREATE INDEX recipients_address ON recipients (address);
