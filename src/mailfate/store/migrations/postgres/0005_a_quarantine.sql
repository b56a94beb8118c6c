-- The quarantine keeps each body byte for byte (NUL bytes and invalid UTF-8 included), its size (a
-- record too large to load is kept by reference: its beginning, and how large it was), and whether
-- anyone could have sent it: bodies posted to /sns before any signature was checked are dropped first
-- when the quarantine is over its size budget.
ALTER TABLE quarantine ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE quarantine ADD COLUMN size BIGINT;
ALTER TABLE quarantine ADD COLUMN authenticated BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE quarantine SET size = octet_length(body), authenticated = (transport <> 'sns');
ALTER TABLE quarantine ALTER COLUMN size SET NOT NULL;
ALTER TABLE quarantine ALTER COLUMN authenticated DROP DEFAULT;
CREATE INDEX quarantine_received_at ON quarantine (received_at);
CREATE INDEX quarantine_unauthenticated ON quarantine (id) WHERE NOT authenticated;
