-- The audit trail: append-only, each event hash-chained to the previous one. Owned by auth/audit.py.
CREATE TABLE IF NOT EXISTS audit_events (
    seq        INTEGER PRIMARY KEY,      -- 1, 2, 3 ... with no gaps
    at         TEXT NOT NULL,            -- ISO timestamp, Israel time
    actor      TEXT NOT NULL,            -- e-mail, or 'system' / 'operator:<name>'
    action     TEXT NOT NULL,            -- e.g. 'page_view', 'download', 'grant_created'
    authority  TEXT,
    details    TEXT NOT NULL,            -- canonical JSON
    reason     TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (at);
CREATE INDEX IF NOT EXISTS audit_by_authority ON audit_events (authority, at);
-- The portal never updates or deletes an event; retention pruning goes through auth.audit only.
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
