-- Notifications: the in-portal inbox and the outbox of e-mails and SMS. Owned by common/notify.py.
CREATE TABLE IF NOT EXISTS inbox (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT NOT NULL COLLATE NOCASE,
    created_at  TEXT NOT NULL,
    subject_he  TEXT NOT NULL,
    subject_en  TEXT NOT NULL,
    body_he     TEXT NOT NULL,
    body_en     TEXT NOT NULL,
    topic       TEXT NOT NULL DEFAULT '',           -- e.g. 'request:12', to group and link
    read_at     TEXT
);
CREATE INDEX IF NOT EXISTS inbox_by_recipient ON inbox (recipient, read_at, id);
-- One row per message to send. The background worker claims pending rows (status 'sending'),
-- and on failure puts them back as 'pending' with a later next_attempt_at, until MAX_ATTEMPTS.
CREATE TABLE IF NOT EXISTS outbox (
    id               INTEGER PRIMARY KEY,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient        TEXT NOT NULL,                 -- e-mail address or phone number
    subject          TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    topic            TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,                 -- ISO timestamp in UTC (compares as text across DST)
    claimed_at       TEXT,                          -- UTC, like next_attempt_at
    last_error       TEXT,
    sent_at          TEXT,
    failed_at        TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
