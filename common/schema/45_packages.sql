-- Export packages built from approved snapshots, their downloads, and their deliveries to vendor
-- vaults. Owned by data/packages.py (packages, downloads) and data/vault.py (deliveries).

-- One row per (snapshot, authority, variant): 'vendor' (byte-exact CSV zip), 'people' (CSV zip with
-- formula-like cells neutralised) and 'xlsx' (the people's workbook). A row is 'ready' only once its
-- file has been renamed into place, so a reader never finds a half-written package.
CREATE TABLE IF NOT EXISTS packages (
    id           INTEGER PRIMARY KEY,
    snapshot     TEXT NOT NULL,          -- YYYY-MM-DD
    authority    TEXT NOT NULL,
    variant      TEXT NOT NULL CHECK (variant IN ('vendor', 'people', 'xlsx')),
    status       TEXT NOT NULL CHECK (status IN ('queued', 'building', 'ready', 'failed')),
    approved_at  TEXT NOT NULL,          -- the approval it was built from (= its generation time)
    file         TEXT,                   -- path under MIFKAD_HOME/packages
    bytes        INTEGER,
    sha256       TEXT,                   -- of the whole file as served
    counts       TEXT,                   -- JSON {table: rows}
    files        TEXT,                   -- JSON [{name, table, rows, bytes, sha256}] as in the manifest
    builder_pid  INTEGER,
    queued_at    TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    error        TEXT,
    UNIQUE (snapshot, authority, variant)
);
CREATE INDEX IF NOT EXISTS packages_by_status ON packages (status, snapshot);

-- Every download of a package from the portal (people) or collection from a vault (vendors); the
-- audit trail holds the same event, this table answers "who has this package" quickly.
CREATE TABLE IF NOT EXISTS downloads (
    id          INTEGER PRIMARY KEY,
    package_id  INTEGER NOT NULL REFERENCES packages(id),
    actor       TEXT NOT NULL COLLATE NOCASE,
    channel     TEXT NOT NULL CHECK (channel IN ('portal', 'vault')),
    vendor_id   INTEGER REFERENCES vendors(id),
    purpose     TEXT,
    at          TEXT NOT NULL,
    audit_seq   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS downloads_by_package ON downloads (package_id);

-- One row per (snapshot, authority, vendor): the vendor package sent to a vault under a power of
-- attorney. 'cancelled' when the power of attorney was revoked before delivery.
CREATE TABLE IF NOT EXISTS deliveries (
    id            INTEGER PRIMARY KEY,
    snapshot      TEXT NOT NULL,
    authority     TEXT NOT NULL,
    vendor_id     INTEGER NOT NULL REFERENCES vendors(id),
    package_id    INTEGER NOT NULL REFERENCES packages(id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    delivered_at  TEXT,
    receipt       TEXT,                  -- JSON receipt as the vault wrote it
    UNIQUE (snapshot, authority, vendor_id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_vendor ON deliveries (vendor_id, status);
