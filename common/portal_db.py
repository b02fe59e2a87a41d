"""The portal's own records (who may do what, requests, approvals, audit) in one SQLite file.

SQLite with WAL: safe for many Streamlit session threads and for CLI commands at the same time.
Each part of the portal owns a schema file in common/schema/ (applied in name order, idempotent).
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from common.config import settings

SCHEMA_DIR = Path(__file__).with_name("schema")
_initialised: set[Path] = set()


def _apply_schema(con: sqlite3.Connection) -> None:
    for sql_file in sorted(SCHEMA_DIR.glob("*.sql")):
        con.executescript(sql_file.read_text(encoding="utf-8"))


def connect(path: Path | None = None) -> sqlite3.Connection:
    """A new connection (one per thread/call site); creates the schema on first use."""
    path = Path(path or settings().portal_db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")  # an audit event is durable before the action proceeds
    con.execute("PRAGMA foreign_keys=ON")
    if path not in _initialised:
        _apply_schema(con)
        _initialised.add(path)
    return con


@contextmanager
def transaction(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, so concurrent writers queue instead of failing half-way."""
    con = connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
