-- The change feed: one row per change of a recipient's fate or of an address's suppression. A writer
-- appends it without a number; the sequencer (mailfate.store.feed.sequence) numbers committed rows in
-- order, so seq grows in the order changes became visible and a reader by cursor never skips one.
-- AUTOINCREMENT: an id is never reused, even after prune has deleted the newest rows.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER UNIQUE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('fate', 'suppression')),
    address TEXT NOT NULL,
    message_id TEXT,
    -- fate changes: the status before, the causing event (its events.event_key), and the recipient's
    -- summary after (its status with it), a JSON array in the order of mailfate.store.sql.SUMMARY_COLUMNS
    previous_status TEXT,
    cause TEXT,
    fate TEXT,
    -- suppression changes: the whole payload
    payload TEXT
);
CREATE INDEX changes_at ON changes (at);
CREATE INDEX changes_unsequenced ON changes (id) WHERE seq IS NULL;
-- The last number the sequencer handed out: kept apart from the rows, which prune deletes.
CREATE TABLE change_numbers (last INTEGER NOT NULL);
INSERT INTO change_numbers (last) VALUES (0);

-- The suppression last announced in the feed for each suppressed address, to tell when it changes.
CREATE TABLE suppression_state (
    address TEXT PRIMARY KEY,
    expires_at TEXT,
    payload TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX suppression_state_expires ON suppression_state (expires_at) WHERE expires_at IS NOT NULL;

-- Outbound webhooks: how far each URL's outbox has been filled from the feed, and what it delivered.
CREATE TABLE webhook_cursors (
    url TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    last_delivered_at TEXT
);

-- Changes still to deliver (pending) or given up on (failed). A delivered change leaves the outbox.
CREATE TABLE webhook_outbox (
    url TEXT NOT NULL,
    seq INTEGER NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TEXT,
    next_attempt_at TEXT NOT NULL,
    leased_until TEXT NOT NULL DEFAULT '',
    last_status INTEGER,
    last_error TEXT,
    PRIMARY KEY (url, seq)
);
-- The head of each address's queue: changes of one address go out in order.
CREATE INDEX webhook_outbox_pending ON webhook_outbox (url, address, seq) WHERE state = 'pending';
