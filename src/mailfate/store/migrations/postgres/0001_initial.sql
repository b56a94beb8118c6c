-- Every text column compares in byte order (COLLATE "C"), as Python and SQLite do: fate merges keep
-- the greater rank and the message list pages by text, so the order must be the same everywhere.

-- Raw records, exactly as received. record_key is the SNS MessageId, the EventBridge id, or a hash
-- of the content, so a redelivered record is recognised before anything is derived from it.
CREATE TABLE records (
    id BIGSERIAL PRIMARY KEY,
    record_key TEXT COLLATE "C" NOT NULL UNIQUE,
    transport TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    note TEXT COLLATE "C",
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX records_received_at ON records (received_at);

-- What could not be understood: kept whole, with the reason.
CREATE TABLE quarantine (
    id BIGSERIAL PRIMARY KEY,
    received_at TEXT COLLATE "C" NOT NULL,
    transport TEXT COLLATE "C" NOT NULL,
    location TEXT COLLATE "C",
    reason TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);

-- The mail object, merged from every event of the message.
CREATE TABLE messages (
    message_id TEXT COLLATE "C" PRIMARY KEY,
    source TEXT COLLATE "C",
    from_addresses TEXT COLLATE "C",
    subject TEXT COLLATE "C",
    sent_at TEXT COLLATE "C",
    destination TEXT COLLATE "C",
    tags TEXT COLLATE "C",
    headers TEXT COLLATE "C",
    configuration_set TEXT COLLATE "C",
    sending_account TEXT COLLATE "C",
    from_domain TEXT COLLATE "C"
);
CREATE INDEX messages_sent_at ON messages (sent_at);

-- Normalized events, clustered by message so that one message's timeline is one range read.
-- event_key is the event's identity (kind, message, recipient, time, feedback id): the same event that
-- arrives by two routes (identity notification and event publishing, SNS and SQS) is stored once.
CREATE TABLE events (
    message_id TEXT COLLATE "C" NOT NULL,
    event_key TEXT COLLATE "C" NOT NULL,
    record_key TEXT COLLATE "C" NOT NULL,
    transport TEXT COLLATE "C" NOT NULL,
    recipient TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    timestamp TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    details TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (message_id, event_key)
);

-- The fate of each (message, recipient): the merged summary of its events (mailfate.core.fate.Summary).
-- status is derived by the database from the flags, with the rules of mailfate.core.fate.STATUS_RULES.
CREATE TABLE recipients (
    message_id TEXT COLLATE "C" NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    address_raw TEXT COLLATE "C" NOT NULL DEFAULT '',
    complaint BOOLEAN NOT NULL DEFAULT FALSE,
    hard_bounce BOOLEAN NOT NULL DEFAULT FALSE,
    reject BOOLEAN NOT NULL DEFAULT FALSE,
    render_failure BOOLEAN NOT NULL DEFAULT FALSE,
    soft_bounce BOOLEAN NOT NULL DEFAULT FALSE,
    ambiguous_bounce BOOLEAN NOT NULL DEFAULT FALSE,
    engaged BOOLEAN NOT NULL DEFAULT FALSE,
    delayed BOOLEAN NOT NULL DEFAULT FALSE,
    opened BOOLEAN NOT NULL DEFAULT FALSE,
    clicked BOOLEAN NOT NULL DEFAULT FALSE,
    unsubscribed BOOLEAN NOT NULL DEFAULT FALSE,
    bounce_rank TEXT COLLATE "C" NOT NULL DEFAULT '',
    bounce TEXT COLLATE "C",
    complaint_rank TEXT COLLATE "C" NOT NULL DEFAULT '',
    complaint_info TEXT COLLATE "C",
    delay_rank TEXT COLLATE "C" NOT NULL DEFAULT '',
    delay TEXT COLLATE "C",
    first_event_at TEXT COLLATE "C",
    last_event_at TEXT COLLATE "C",
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
);
CREATE INDEX recipients_address ON recipients (address);
