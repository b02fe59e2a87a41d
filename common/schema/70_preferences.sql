-- Each person's choices that outlive a browser tab: the portal's language. Owned by common/i18n.py.
CREATE TABLE IF NOT EXISTS preferences (
    email       TEXT PRIMARY KEY COLLATE NOCASE,
    lang        TEXT NOT NULL CHECK (lang IN ('he', 'en')),
    updated_at  TEXT NOT NULL
);
