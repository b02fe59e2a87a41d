-- Software vendors, their users and the powers of attorney authorities gave them.
CREATE TABLE IF NOT EXISTS vendors (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    contact_email    TEXT NOT NULL,
    contact_phone    TEXT,
    declaration_file TEXT,           -- stored upload name under MIFKAD_HOME/uploads
    registered_by    TEXT NOT NULL,
    registered_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vendor_users (
    vendor_id  INTEGER NOT NULL REFERENCES vendors(id),
    email      TEXT NOT NULL COLLATE NOCASE,
    added_by   TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (vendor_id, email)
);
CREATE TABLE IF NOT EXISTS powers_of_attorney (
    id          INTEGER PRIMARY KEY,
    authority   TEXT NOT NULL,
    vendor_id   INTEGER NOT NULL REFERENCES vendors(id),
    granted_by  TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    revoked_by  TEXT,
    revoked_at  TEXT
);
