-- Access requests (Form A), their history, and the committee's decisions (Form B). Owned by auth/requests.py.
CREATE TABLE IF NOT EXISTS access_requests (
    id              INTEGER PRIMARY KEY,
    authority       TEXT NOT NULL,
    authority_name  TEXT NOT NULL,
    requester       TEXT NOT NULL COLLATE NOCASE,   -- who filed it (e-mail)
    appointee       TEXT NOT NULL COLLATE NOCASE,   -- the person to appoint as roster manager (e-mail)
    state           TEXT NOT NULL,                  -- see auth/requests.py State
    form            TEXT NOT NULL,                  -- Form A fields, canonical JSON
    signed_pdf      TEXT,                           -- stored upload name under MIFKAD_HOME/uploads
    signed_pdf_name TEXT,                           -- the file name the requester uploaded, for display
    feedback        TEXT NOT NULL DEFAULT '',       -- the ministry's latest feedback when returned
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS access_requests_by_state ON access_requests (state, updated_at);
CREATE INDEX IF NOT EXISTS access_requests_by_authority ON access_requests (authority);
-- Every change of state, with who and when. Never updated or deleted.
CREATE TABLE IF NOT EXISTS request_events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES access_requests(id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    from_state  TEXT,                               -- NULL when the draft is created
    to_state    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS request_events_by_request ON request_events (request_id, id);
CREATE TRIGGER IF NOT EXISTS request_events_no_update BEFORE UPDATE ON request_events
BEGIN SELECT RAISE(ABORT, 'request events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS request_events_no_delete BEFORE DELETE ON request_events
BEGIN SELECT RAISE(ABORT, 'request events are append-only'); END;
-- The committee's decision as recorded by ministry staff; Form B is produced from it.
CREATE TABLE IF NOT EXISTS committee_decisions (
    request_id     INTEGER PRIMARY KEY REFERENCES access_requests(id),
    outcome        TEXT NOT NULL CHECK (outcome IN ('approved', 'rejected')),
    decided_on     TEXT NOT NULL,                   -- ISO date of the committee's decision
    committee_ref  TEXT NOT NULL,
    notes          TEXT NOT NULL DEFAULT '',
    recorded_by    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
);
