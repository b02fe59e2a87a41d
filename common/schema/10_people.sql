-- Who may do what: the portal's own records. Owned by auth/.
CREATE TABLE IF NOT EXISTS users (
    email       TEXT PRIMARY KEY COLLATE NOCASE,
    subject     TEXT,
    name        TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ministry_staff (
    email        TEXT PRIMARY KEY COLLATE NOCASE,
    appointed_by TEXT NOT NULL,
    appointed_at TEXT NOT NULL,
    revoked_at   TEXT
);
-- An authority's access to its census: opened by an approved access request (or an operator
-- command until then), closed by a rejection or revocation.
CREATE TABLE IF NOT EXISTS authority_access (
    authority   TEXT PRIMARY KEY,
    opened_by   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    closed_by   TEXT,
    closed_at   TEXT,
    basis       TEXT NOT NULL        -- e.g. 'request:12' or 'operator'
);
CREATE TABLE IF NOT EXISTS roster_managers (
    authority    TEXT NOT NULL,
    email        TEXT NOT NULL COLLATE NOCASE,
    appointed_by TEXT NOT NULL,
    appointed_at TEXT NOT NULL,
    revoked_at   TEXT,
    PRIMARY KEY (authority, email)
);
-- Delegations: a roster manager grants a colleague some of their own actions, until a date.
CREATE TABLE IF NOT EXISTS grants (
    id          INTEGER PRIMARY KEY,
    authority   TEXT NOT NULL,
    grantee     TEXT NOT NULL COLLATE NOCASE,
    actions     TEXT NOT NULL,       -- JSON list of action names
    granted_by  TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    expires_on  TEXT NOT NULL,       -- ISO date, last valid day
    revoked_by  TEXT,
    revoked_at  TEXT
);
CREATE INDEX IF NOT EXISTS grants_by_grantee ON grants (grantee);
