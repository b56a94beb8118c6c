-- Rule 6: a not-spam complaint means the mail reached the mailbox, so it counts as delivered. The
-- status column is generated, and SQLite cannot change a generated column: the table is rebuilt.
DROP INDEX recipients_address;
DROP INDEX recipients_trouble;
CREATE TABLE recipients_0005 (
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
    delivered_at TEXT,
    not_spam INTEGER NOT NULL DEFAULT 0,
    status TEXT GENERATED ALWAYS AS (
        CASE
            WHEN complaint THEN 'complained'
            WHEN hard_bounce THEN 'bounced'
            WHEN reject THEN 'rejected'
            WHEN render_failure THEN 'failed'
            WHEN soft_bounce OR (ambiguous_bounce AND NOT engaged) THEN 'soft_bounced'
            WHEN engaged OR not_spam THEN 'delivered'
            WHEN delayed THEN 'delayed'
            ELSE 'sent'
        END
    ) STORED,
    PRIMARY KEY (message_id, address)
) WITHOUT ROWID;
INSERT INTO recipients_0005 (message_id, address, address_raw, complaint, hard_bounce, reject, render_failure, soft_bounce, ambiguous_bounce, engaged, delayed, opened, clicked, unsubscribed, bounce_rank, bounce, complaint_rank, complaint_info, delay_rank, delay, first_event_at, last_event_at, delivered_at)
    SELECT message_id, address, address_raw, complaint, hard_bounce, reject, render_failure, soft_bounce, ambiguous_bounce, engaged, delayed, opened, clicked, unsubscribed, bounce_rank, bounce, complaint_rank, complaint_info, delay_rank, delay, first_event_at, last_event_at, delivered_at FROM recipients;
DROP TABLE recipients;
ALTER TABLE recipients_0005 RENAME TO recipients;
CREATE INDEX recipients_address ON recipients (address);
CREATE INDEX recipients_trouble ON recipients (address)
    WHERE complaint OR hard_bounce OR soft_bounce OR ambiguous_bounce;
-- Recipients that already have a not-spam complaint (details are written with sorted keys, no spaces).
UPDATE recipients SET not_spam = 1 WHERE EXISTS (
    SELECT 1 FROM events e WHERE e.message_id = recipients.message_id AND e.recipient = recipients.address
    AND e.kind = 'Complaint' AND e.details LIKE '%"feedback_type":"not-spam"%'
);
