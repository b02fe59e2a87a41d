-- The legal department's weekly approval of a published snapshot as the week's export.
CREATE TABLE IF NOT EXISTS approvals (
    snapshot     TEXT PRIMARY KEY,   -- snapshot date, YYYY-MM-DD
    approved_by  TEXT NOT NULL,
    approved_at  TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT ''
);
