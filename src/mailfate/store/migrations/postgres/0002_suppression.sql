-- The earliest Delivery of each (message, recipient), for the soft-bounce suppression rule.
ALTER TABLE recipients ADD COLUMN delivered_at TEXT COLLATE "C";

-- Only the rows that can suppress an address: a small part of the table, so listing suppressions
-- reads this index instead of every recipient.
CREATE INDEX recipients_trouble ON recipients (address)
    WHERE complaint OR hard_bounce OR soft_bounce OR ambiguous_bounce;

-- Suppressions added and lifted by hand (or pulled from the SES account-level list).
CREATE TABLE suppression_actions (
    id BIGSERIAL PRIMARY KEY,
    address TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL CHECK (action IN ('suppress', 'lift')),
    at TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C",
    UNIQUE (address, action, at)
);
CREATE INDEX suppression_actions_address ON suppression_actions (address);
