-- A change of reputation level (docs/changes-and-webhooks.md) is a change of the feed too: its kind is
-- 'reputation', its address the key that orders it in the outbox (reputation:METRIC:SCOPE), and its
-- payload the whole JSON.
ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('fate', 'suppression', 'reputation'));

-- The reputation level last announced per configuration set ('' for all mail) and rate, and the end of
-- the window it was counted over: an evaluation of an older window never overrides a newer one.
CREATE TABLE reputation_state (
    scope TEXT COLLATE "C" NOT NULL,
    metric TEXT COLLATE "C" NOT NULL CHECK (metric IN ('bounce', 'complaint')),
    level TEXT COLLATE "C" NOT NULL,
    evaluated_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (scope, metric)
);
