-- A change of reputation level (docs/changes-and-webhooks.md) is a change of the feed too: its kind is
-- 'reputation', its address the key that orders it in the outbox (reputation:METRIC:SCOPE), and its
-- payload the whole JSON. SQLite cannot change a CHECK constraint: the table is rebuilt, keeping its
-- AUTOINCREMENT counter (an id is never reused).
CREATE TABLE changes_0009 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER UNIQUE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('fate', 'suppression', 'reputation')),
    address TEXT NOT NULL,
    message_id TEXT,
    previous_status TEXT,
    cause TEXT,
    fate TEXT,
    payload TEXT
);
INSERT INTO changes_0009 (id, seq, at, kind, address, message_id, previous_status, cause, fate, payload)
    SELECT id, seq, at, kind, address, message_id, previous_status, cause, fate, payload FROM changes;
DELETE FROM sqlite_sequence WHERE name = 'changes_0009';
INSERT INTO sqlite_sequence (name, seq) SELECT 'changes_0009', seq FROM sqlite_sequence WHERE name = 'changes';
DROP TABLE changes;
ALTER TABLE changes_0009 RENAME TO changes;
CREATE INDEX changes_at ON changes (at);
CREATE INDEX changes_unsequenced ON changes (id) WHERE seq IS NULL;

-- The reputation level last announced per configuration set ('' for all mail) and rate, and the end of
-- the window it was counted over: an evaluation of an older window never overrides a newer one.
CREATE TABLE reputation_state (
    scope TEXT NOT NULL,
    metric TEXT NOT NULL CHECK (metric IN ('bounce', 'complaint')),
    level TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    PRIMARY KEY (scope, metric)
) WITHOUT ROWID;
