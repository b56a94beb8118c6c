-- Rule 6: a not-spam complaint means the mail reached the mailbox, so it counts as delivered.
ALTER TABLE recipients ADD COLUMN not_spam BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE recipients DROP COLUMN status;
ALTER TABLE recipients ADD COLUMN status TEXT GENERATED ALWAYS AS (
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
) STORED;
-- Recipients that already have a not-spam complaint (details are written with sorted keys, no spaces).
UPDATE recipients SET not_spam = TRUE WHERE EXISTS (
    SELECT 1 FROM events e WHERE e.message_id = recipients.message_id AND e.recipient = recipients.address
    AND e.kind = 'Complaint' AND e.details LIKE '%"feedback_type":"not-spam"%'
);
