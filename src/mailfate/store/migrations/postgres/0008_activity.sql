-- The activity list: recipients newest first, by (sent_at, message_id, address), under any filter.
-- Each recipient keeps its message's send time, so that its own indexes give that order.
ALTER TABLE recipients ADD COLUMN sent_at TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE recipients SET sent_at = COALESCE((SELECT m.sent_at FROM messages m WHERE m.message_id = recipients.message_id), '');
CREATE INDEX recipients_status_sent ON recipients (status, sent_at, message_id, address);
CREATE INDEX recipients_auto_replies ON recipients (sent_at, message_id, address) WHERE status = 'delivered' AND ambiguous_bounce;
-- Messages in time order with their tie-break: the list's first page is the end of this index.
DROP INDEX messages_sent_at;
CREATE INDEX messages_sent_at ON messages (sent_at, message_id);
-- What messages and recipients are found by (mailfate.core.search): a message's own terms have the
-- address '', a recipient's its address. Byte order ("C"): a prefix's terms are one range.
-- The key is the index: any term's rows, newest first. Filled
-- for what is already stored by the migration's data step (mailfate.store.terms).
CREATE TABLE search_terms (
    term TEXT COLLATE "C" NOT NULL,
    sent_at TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (term, sent_at, message_id, address)
);
-- A subject's words, each after a space (" order 42 confirmed"): a search word that begins one of
-- them is found in it with LIKE '% word%', for rows that another filter found first.
ALTER TABLE messages ADD COLUMN subject_words TEXT COLLATE "C";
