-- The change feed: one row per change of a recipient's fate or of an address's suppression. A writer
-- appends it without a number; the sequencer (mailfate.store.feed.sequence) numbers committed rows in
-- order, so seq grows in the order changes became visible and a reader by cursor never skips one,
-- however many writers commit in whatever order.
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    seq BIGINT UNIQUE,
    at TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('fate', 'suppression')),
    address TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C",
    -- fate changes: the status before, the causing event (its events.event_key), and the recipient's
    -- summary after (its status with it), a JSON array in the order of mailfate.store.sql.SUMMARY_COLUMNS
    previous_status TEXT COLLATE "C",
    cause TEXT COLLATE "C",
    fate TEXT COLLATE "C",
    -- suppression changes: the whole payload
    payload TEXT COLLATE "C"
);
CREATE INDEX changes_at ON changes (at);
CREATE INDEX changes_unsequenced ON changes (id) WHERE seq IS NULL;
-- The last number the sequencer handed out: kept apart from the rows, which prune deletes.
CREATE TABLE change_numbers (last BIGINT NOT NULL);
INSERT INTO change_numbers (last) VALUES (0);

-- The suppression last announced in the feed for each suppressed address, to tell when it changes.
CREATE TABLE suppression_state (
    address TEXT COLLATE "C" PRIMARY KEY,
    expires_at TEXT COLLATE "C",
    payload TEXT COLLATE "C" NOT NULL
);
CREATE INDEX suppression_state_expires ON suppression_state (expires_at) WHERE expires_at IS NOT NULL;

-- Outbound webhooks: how far each URL's outbox has been filled from the feed, and what it delivered.
CREATE TABLE webhook_cursors (
    url TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    last_delivered_at TEXT COLLATE "C"
);

-- Changes still to deliver (pending) or given up on (failed). A delivered change leaves the outbox.
CREATE TABLE webhook_outbox (
    url TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    address TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TEXT COLLATE "C",
    next_attempt_at TEXT COLLATE "C" NOT NULL,
    leased_until TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_status INTEGER,
    last_error TEXT COLLATE "C",
    PRIMARY KEY (url, seq)
);
-- The head of each address's queue: changes of one address go out in order.
CREATE INDEX webhook_outbox_pending ON webhook_outbox (url, address, seq) WHERE state = 'pending';
