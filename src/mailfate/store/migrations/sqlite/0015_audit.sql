-- The audit trail (docs/privacy.md): one row per action taken by hand (suppress, lift, forget, replay,
-- dismiss, redeliver, a push to SES, a change made by setup aws), written in the transaction of the
-- action. Retention never prunes it; forget rewrites an erased address in it to its keyed hash.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT -- a JSON object: what else the action says (a count, a region), or NULL
);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_target ON audit (target, id);
