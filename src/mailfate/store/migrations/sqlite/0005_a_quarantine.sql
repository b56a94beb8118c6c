-- The quarantine keeps each body byte for byte (NUL bytes and invalid UTF-8 included), its size (a
-- record too large to load is kept by reference: its beginning, and how large it was), and whether
-- anyone could have sent it: bodies posted to /sns before any signature was checked are dropped first
-- when the quarantine is over its size budget.
CREATE TABLE quarantine_0005 (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    transport TEXT NOT NULL,
    location TEXT,
    reason TEXT NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    authenticated INTEGER NOT NULL
);
INSERT INTO quarantine_0005 (id, received_at, transport, location, reason, body, size, authenticated)
    SELECT id, received_at, transport, location, reason, CAST(body AS BLOB), length(CAST(body AS BLOB)),
           transport <> 'sns'
    FROM quarantine;
DROP TABLE quarantine;
ALTER TABLE quarantine_0005 RENAME TO quarantine;
CREATE INDEX quarantine_received_at ON quarantine (received_at);
CREATE INDEX quarantine_unauthenticated ON quarantine (id) WHERE NOT authenticated;
