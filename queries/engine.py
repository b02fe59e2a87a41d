"""One DuckDB database per process: each snapshot's Parquet files as a schema, and each authority's
slice of a snapshot as a schema of its own, held in memory.

DuckDB connections are not thread-safe and Streamlit runs sessions on threads: callers take a fresh
cursor per query (`cursor_for`, `authority_cursor`). A snapshot's schema is named after its content
token, so a date re-ingested with --replace gets a new schema and nothing of the old content is reused.

Snapshot schema (`snap_<token>`): views over the large feed tables and CENSUS; the small tables
(institutions, classes, tracks, localities, per-authority counts) copied into memory, since every page
reads them, with the Hebrew ranks of institutions and localities (queries/order.sql) and each
authority's district (reference.sql).

Authority slice (`slice_<token>_<authority>`): the authority's census rows in memory, with the placed
students counted per class (statement slice_class_counts), built when a page of that authority first
runs a statement, and its contact links (statement slice_contacts) built the first time a statement
reads `contacts`; every other name is a view on the snapshot schema. A page
then reads a few hundred thousand rows in memory instead of the national Parquet files. Slices are
kept within settings().slice_cache_mb: past it, the least recently used slices no query is reading are
dropped. The slice holds one authority's rows only, and the statements still filter by $authority.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import duckdb

from common.config import settings
from data.snapshots import DERIVED_TABLES, FEED_TABLES, Snapshot

# Copied into memory per snapshot: small, and read by nearly every page.
IN_MEMORY_TABLES = ("MOSDOT", "KITOT", "MEGAMOT", "RASHUYOT", "AUTHORITY_COUNTS")
# Built per authority slice, in this order, from the snapshot: (table, statement). The first two are
# built when the slice is (every page reads them); contacts when a statement first reads them.
SLICE_TABLES = (("census", None), ("class_counts", "slice_class_counts"), ("contacts", "slice_contacts"))
WITH_SLICE = {"census", "class_counts"}
# Built in memory when a snapshot is attached, from the snapshot's small tables: (table, statement).
ATTACHED_TABLES = (("institution_order", "order_institutions"), ("locality_order", "order_localities"),
                   ("authority_district", "authority_districts"))

_lock = threading.RLock()            # guards the registries below and every schema change
_db: duckdb.DuckDBPyConnection | None = None
_attached: set[str] = set()


@dataclass
class _Slice:
    schema: str
    built: set[str] = field(default_factory=set)
    bytes: int = 0
    readers: int = 0
    building: threading.Lock = field(default_factory=threading.Lock)


_slices: OrderedDict[tuple[str, str], _Slice] = OrderedDict()   # least recently used first


def database() -> duckdb.DuckDBPyConnection:
    global _db
    with _lock:
        if _db is None:
            _db = duckdb.connect(":memory:", config={"autoinstall_known_extensions": "false",
                                                     "autoload_known_extensions": "true"})
            _db.execute("SET enable_progress_bar = false")
        return _db


def schema_name(snapshot: Snapshot) -> str:
    return "snap_" + re.sub(r"[^0-9A-Za-z]", "_", snapshot.token)


def _slice_schema(snapshot: Snapshot, authority: str) -> str:
    # the code's digest keeps two codes that differ only in punctuation from sharing a name
    digest = hashlib.sha256(authority.encode()).hexdigest()[:12]
    return f"slice_{re.sub(r'[^0-9A-Za-z]', '_', snapshot.token)}_{re.sub(r'[^0-9A-Za-z]', '_', authority)}_{digest}"


def _literal(path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection, snapshot: Snapshot, schema: str, derived: bool = True,
                 in_memory: tuple[str, ...] = ()) -> None:
    """Views named after the tables, lower-case (talmidim, mosdot, ..., census); the tables named in
    in_memory are copied into memory instead."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    tables = [(t, snapshot.feed(t)) for t in FEED_TABLES]
    if derived:
        # a snapshot published before a derived table existed lacks its file: no view, rather than none at all
        tables += [(t, snapshot.derived(t)) for t in DERIVED_TABLES if snapshot.derived(t).exists()]
    for table, path in tables:
        kind = "TABLE" if table in in_memory else "VIEW"
        con.execute(f'CREATE OR REPLACE {kind} "{schema}".{table.lower()} AS SELECT * FROM read_parquet({_literal(path)})')


def _attach(snapshot: Snapshot) -> str:
    schema = schema_name(snapshot)
    with _lock:
        if schema not in _attached:
            cur = database().cursor()
            try:
                create_views(cur, snapshot, schema, in_memory=IN_MEMORY_TABLES)
                _derive_missing(cur, snapshot, schema)
                _build_attached(cur, schema)
            finally:
                cur.close()
            _attached.add(schema)
    return schema


def _derive_missing(cur, snapshot: Snapshot, schema: str) -> None:
    """A snapshot published before a small derived table existed gets it computed in memory, by the
    same statement the ingest runs (CENSUS itself is in every snapshot this code reads)."""
    from queries import statements
    cur.execute(f'USE memory."{schema}"')
    for table in DERIVED_TABLES:
        if table in IN_MEMORY_TABLES and not snapshot.derived(table).exists():
            cur.execute(f'CREATE TABLE "{schema}".{table.lower()} AS {statements()[f"derive_{table.lower()}"].sql}')


def _build_attached(cur, schema: str) -> None:
    """The Hebrew ranks of institutions and localities (queries/order.sql) and each authority's
    district (queries/reference.sql), once per snapshot."""
    from queries import statements
    cur.execute(f'USE memory."{schema}"')
    for table, statement in ATTACHED_TABLES:
        cur.execute(f'CREATE TABLE "{schema}".{table} AS {statements()[statement].sql}')


def cursor_for(snapshot: Snapshot) -> duckdb.DuckDBPyConnection:
    """A cursor whose default schema is the snapshot's (national tables: for national statements,
    exports and ingest-time work)."""
    schema = _attach(snapshot)
    cur = database().cursor()
    cur.execute(f'USE memory."{schema}"')
    return cur


def _table_bytes(cur) -> int:
    return cur.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                       "WHERE tag = 'IN_MEMORY_TABLE'").fetchone()[0]


def _build(cur, snapshot: Snapshot, authority: str, sl: _Slice, table: str, statement: str | None) -> None:
    """Create one table of a slice (caller holds sl.building)."""
    from queries import statements
    snap = schema_name(snapshot)
    before = _table_bytes(cur)
    if statement is None:         # the authority's rows of a snapshot table
        cur.execute(f'CREATE TABLE "{sl.schema}".{table} AS SELECT * FROM "{snap}".{table} '
                    f'WHERE SEMEL_RASHUT = $authority', {"authority": authority})
    else:                         # a named statement, run inside the slice (it reads the slice's census)
        cur.execute(f'USE memory."{sl.schema}"')
        cur.execute(f'CREATE TABLE "{sl.schema}".{table} AS {statements()[statement].sql}', {"authority": authority})
    grown = max(0, _table_bytes(cur) - before)
    with _lock:
        sl.built.add(table)
        sl.bytes += grown


def _new_slice(cur, snapshot: Snapshot, authority: str) -> _Slice:
    """The slice's schema: a view for every snapshot table, replaced by the slice's own tables as they
    are built (caller holds _lock)."""
    sl = _Slice(_slice_schema(snapshot, authority))
    snap = schema_name(snapshot)
    cur.execute(f'CREATE SCHEMA "{sl.schema}"')
    names = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = $s "
                                       "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = $s",
                                       {"s": snap}).fetchall()]
    own = {t for t, _ in SLICE_TABLES}
    for name in names:
        if name not in own:
            cur.execute(f'CREATE VIEW "{sl.schema}".{name} AS SELECT * FROM "{snap}".{name}')
    return sl


def _evict(cur) -> None:
    """Drop least recently used slices that no query is reading until the rest fit (caller holds _lock).
    The slice used last always stays: a budget smaller than one authority still serves that authority."""
    budget = settings().slice_cache_mb * 1024 * 1024
    for key in list(_slices)[:-1]:
        if sum(s.bytes for s in _slices.values()) <= budget:
            break
        sl = _slices[key]
        if sl.readers == 0:
            cur.execute(f'DROP SCHEMA "{sl.schema}" CASCADE')
            del _slices[key]


@contextmanager
def authority_cursor(snapshot: Snapshot, authority: str, tables: set[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the authority's slice of the snapshot, with the slice tables named in `tables`
    built; the slice is kept from being dropped until the cursor is closed."""
    _attach(snapshot)
    key = (snapshot.token, authority)
    db = database()
    with _lock:
        sl = _slices.get(key)
        if sl is None:
            cur = db.cursor()
            try:
                sl = _slices[key] = _new_slice(cur, snapshot, authority)
            finally:
                cur.close()
        _slices.move_to_end(key)
        sl.readers += 1
    cur = db.cursor()
    try:
        wanted = [(t, st) for t, st in SLICE_TABLES if (t in WITH_SLICE or t in tables) and t not in sl.built]
        if wanted:
            with sl.building:      # one session builds, the others wait for it
                for table, statement in wanted:
                    if table not in sl.built:
                        _build(cur, snapshot, authority, sl, table, statement)
        cur.execute(f'USE memory."{sl.schema}"')
        yield cur
    finally:
        with _lock:
            sl.readers -= 1
            _evict(cur)            # now that this slice may be idle too
        cur.close()


def slice_stats() -> list[dict]:
    """What the slice cache holds (for the benchmark and tests)."""
    with _lock:
        return [{"snapshot": k[0], "authority": k[1], "tables": sorted(s.built), "bytes": s.bytes,
                 "readers": s.readers} for k, s in _slices.items()]


def drop_slices() -> None:
    """Forget every slice (tests; the benchmark's cold runs)."""
    with _lock:
        cur = database().cursor()
        try:
            for key, sl in list(_slices.items()):
                cur.execute(f'DROP SCHEMA IF EXISTS "{sl.schema}" CASCADE')
                del _slices[key]
        finally:
            cur.close()
