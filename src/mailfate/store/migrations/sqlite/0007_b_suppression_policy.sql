-- The thresholds the kept suppressions were decided by (mailfate.core.suppression.Policy). A process
-- that opens the database for writing with other thresholds decides every suppression again.
CREATE TABLE suppression_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    policy TEXT NOT NULL
);
