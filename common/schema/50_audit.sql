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

-- Usage statistics filter by action and by person.
CREATE INDEX IF NOT EXISTS audit_by_action ON audit_events (action, at);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor, at);

-- Retention pruning removes runs of consecutive events. Each removed run is remembered here with
-- the hashes at both ends, so the chain still verifies across the hole; the same runs are listed
-- in the 'audit_pruned' event that announced the pruning, which `verify` cross-checks.
CREATE TABLE IF NOT EXISTS audit_pruned_runs (
    first_seq  INTEGER PRIMARY KEY,
    last_seq   INTEGER NOT NULL,
    prev_hash  TEXT NOT NULL,            -- prev_hash of the run's first event
    last_hash  TEXT NOT NULL,            -- hash of the run's last event: the checkpoint
    last_at    TEXT NOT NULL,            -- time of the run's last event
    pruned_by  INTEGER NOT NULL,         -- seq of the 'audit_pruned' event that announced it
    CHECK (last_seq >= first_seq)
);
CREATE TRIGGER IF NOT EXISTS audit_runs_no_update BEFORE UPDATE ON audit_pruned_runs
BEGIN SELECT RAISE(ABORT, 'pruning checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_runs_no_delete BEFORE DELETE ON audit_pruned_runs
BEGIN SELECT RAISE(ABORT, 'pruning checkpoints are append-only'); END;

-- An event may be deleted only inside a run recorded above, which pruning writes in the same
-- transaction just before it deletes; any other delete is refused.
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_pruned_runs r WHERE OLD.seq BETWEEN r.first_seq AND r.last_seq)
BEGIN SELECT RAISE(ABORT, 'audit events are deleted only by retention pruning'); END;

-- The chain's head (last sequence number and hash), advanced with every insert in the same
-- transaction, so removing the newest events is detected too (a chain alone cannot see its tail cut).
CREATE TABLE IF NOT EXISTS audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, seq, hash)
    SELECT 1, seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1;
-- Every new event must follow the head directly, so the chain stays linear whoever writes.
CREATE TRIGGER IF NOT EXISTS audit_append_at_head BEFORE INSERT ON audit_events
WHEN NEW.seq <> COALESCE((SELECT seq FROM audit_head WHERE id = 1), 0) + 1
  OR NEW.prev_hash <> COALESCE((SELECT hash FROM audit_head WHERE id = 1), printf('%.64d', 0))
BEGIN SELECT RAISE(ABORT, 'an audit event must link to the newest event'); END;
CREATE TRIGGER IF NOT EXISTS audit_head_advance AFTER INSERT ON audit_events
BEGIN
    INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, NEW.seq, NEW.hash);
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1 AND seq < NEW.seq;
END;
CREATE TRIGGER IF NOT EXISTS audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq <= OLD.seq OR NEW.hash <> (SELECT hash FROM audit_events WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward to the newest event'); END;
CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit head cannot be removed'); END;

-- Events per day, authority ('' for none), person and action, kept in step by triggers, so usage
-- statistics read thousands of rows instead of millions. Derived data: the chain stays the evidence.
CREATE TABLE IF NOT EXISTS audit_daily (
    day        TEXT NOT NULL,            -- YYYY-MM-DD, Israel time (the first ten characters of `at`)
    authority  TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    events     INTEGER NOT NULL,
    PRIMARY KEY (day, authority, actor, action)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_daily_by_action ON audit_daily (action, day);
INSERT INTO audit_daily (day, authority, actor, action, events)
    SELECT substr(at, 1, 10), coalesce(authority, ''), actor, action, count(*) FROM audit_events
    WHERE NOT EXISTS (SELECT 1 FROM audit_daily)
    GROUP BY 1, 2, 3, 4;
CREATE TRIGGER IF NOT EXISTS audit_daily_count AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_daily (day, authority, actor, action, events)
    VALUES (substr(NEW.at, 1, 10), coalesce(NEW.authority, ''), NEW.actor, NEW.action, 1)
    ON CONFLICT (day, authority, actor, action) DO UPDATE SET events = events + 1;
END;
CREATE TRIGGER IF NOT EXISTS audit_daily_uncount AFTER DELETE ON audit_events
BEGIN
    UPDATE audit_daily SET events = events - 1
    WHERE day = substr(OLD.at, 1, 10) AND authority = coalesce(OLD.authority, '') AND actor = OLD.actor
      AND action = OLD.action;
    DELETE FROM audit_daily WHERE day = substr(OLD.at, 1, 10) AND authority = coalesce(OLD.authority, '')
      AND actor = OLD.actor AND action = OLD.action AND events <= 0;
END;
