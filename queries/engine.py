"""One DuckDB database per process, with each snapshot's Parquet files attached as a schema of views.

DuckDB connections are not thread-safe and Streamlit runs sessions on threads: callers take a fresh
cursor per query (`cursor_for`). A snapshot's schema is named after its content token, so a date
re-ingested with --replace gets a new schema and cached results of the old content are never reused.
"""
from __future__ import annotations

import re
import threading

import duckdb

from data.snapshots import DERIVED_TABLES, FEED_TABLES, Snapshot

_lock = threading.Lock()
_db: duckdb.DuckDBPyConnection | None = None
_attached: set[str] = set()


def database() -> duckdb.DuckDBPyConnection:
    global _db
    with _lock:
        if _db is None:
            _db = duckdb.connect(":memory:", config={"autoinstall_known_extensions": "false",
                                                     "autoload_known_extensions": "true"})
        return _db


def schema_name(snapshot: Snapshot) -> str:
    return "snap_" + re.sub(r"[^0-9A-Za-z]", "_", snapshot.token)


def create_views(con: duckdb.DuckDBPyConnection, snapshot: Snapshot, schema: str, derived: bool = True) -> None:
    """Views named after the tables, lower-case (talmidim, mosdot, ..., students, census)."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    tables = [(t, snapshot.feed(t)) for t in FEED_TABLES]
    if derived:
        # a snapshot published before a derived table existed lacks its file: no view, rather than none at all
        tables += [(t, snapshot.derived(t)) for t in DERIVED_TABLES if snapshot.derived(t).exists()]
    for table, path in tables:
        literal = str(path).replace("'", "''")
        con.execute(f'CREATE OR REPLACE VIEW "{schema}".{table.lower()} AS SELECT * FROM read_parquet(\'{literal}\')')


def cursor_for(snapshot: Snapshot) -> duckdb.DuckDBPyConnection:
    """A cursor whose default schema is the snapshot's views."""
    db = database()
    schema = schema_name(snapshot)
    with _lock:
        if schema not in _attached:
            create_views(db, snapshot, schema)
            _attached.add(schema)
    cur = db.cursor()
    cur.execute(f'USE memory."{schema}"')
    return cur
