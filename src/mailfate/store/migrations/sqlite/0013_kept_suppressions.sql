-- Suppressions that outlive the facts that decided them (docs/privacy.md): kept when retention prunes
-- the fates that caused them (by address), or when an address is erased (by its keyed hash,
-- hmac-sha256:HEX, never the address). mailfate.core.suppression.suppression_of counts each as a fact.
CREATE TABLE kept_suppressions (
    address TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    kept_at TEXT NOT NULL
) WITHOUT ROWID;
-- A fingerprint of the key the hashes were made with: a process given another key is told so.
CREATE TABLE erasure_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL
);
