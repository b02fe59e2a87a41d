"""Named, parameterised SQL statements, each scoped, and the one function that runs them.

Statements live in queries/*.sql as blocks:

    -- name: students_by_grade
    -- scope: authority            (or: national — aggregates for ministry staff, no children's rows;
                                    reference — reads only the localities table, for any signed-in user)
    SELECT ... WHERE c.SEMEL_RASHUT = $authority ...

`run(name, scope, **params)` binds $authority from the Scope (never from the caller), masks personal
details unless the scope allows them, and caches results keyed by everything that shapes them:
statement, snapshot content, authority, masking and parameters.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from data.snapshots import Snapshot
from queries.engine import authority_cursor, cursor_for, SLICE_TABLES
from queries.masking import mask_personal, needs_personal

if TYPE_CHECKING:        # polars is imported where results are made: the ingest reads statements only
    import polars as pl

SQL_DIR = Path(__file__).parent
_CENSUS_TABLES = re.compile(r"\b(talmidim|gormey_kesher|pirtey_kesher|mosdot|kitot|megamot|students|census|contacts|authority_counts)\b",
                            re.I)
_HEADER = re.compile(r"^--\s*(name|scope|doc):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Statement:
    name: str
    scope: str        # "authority" | "national" | "snapshot" (ingest-time derivations only)
    sql: str
    source: str       # file name, for error messages
    doc: str = ""


@dataclass(frozen=True)
class Scope:
    """Whose census a query may read. Built by the app from the Principal, per rerun."""
    snapshot: Snapshot
    authority: str | None          # None only for national statements
    personal: bool = False         # may see names, identity numbers, phones, addresses


class ScopeError(PermissionError):
    pass


def _parse(path: Path) -> list[Statement]:
    statements, meta, body = [], {}, []

    def flush():
        if meta.get("name"):
            statements.append(Statement(meta["name"], meta.get("scope", ""), "\n".join(body).strip(),
                                        path.name, meta.get("doc", "")))

    for line in path.read_text(encoding="utf-8").splitlines():
        m = _HEADER.match(line)
        if m and m.group(1) == "name":
            flush()
            meta, body = {"name": m.group(2)}, []
        elif m:
            meta[m.group(1)] = m.group(2)
        else:
            body.append(line)
    flush()
    return statements


@lru_cache(maxsize=1)
def statements() -> dict[str, Statement]:
    found: dict[str, Statement] = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        for st in _parse(path):
            if st.name in found:
                raise ValueError(f"statement {st.name} defined twice ({found[st.name].source}, {st.source})")
            if st.scope not in {"authority", "national", "reference", "snapshot"}:
                raise ValueError(f"{st.source}: statement {st.name} must declare -- scope: "
                                 "authority|national|reference|snapshot")
            if st.scope == "reference" and _CENSUS_TABLES.search(st.sql):
                raise ValueError(f"{st.source}: reference statement {st.name} may read only rashuyot")
            if st.scope == "authority" and "$authority" not in st.sql:
                raise ValueError(f"{st.source}: authority statement {st.name} does not filter by $authority")
            found[st.name] = st
    return found


def sql_of(name: str) -> str:
    return statements()[name].sql


def _freeze(params: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


def run(name: str, scope: Scope, **params) -> pl.DataFrame:
    """Run a named statement within a scope; results are masked unless scope.personal."""
    st = statements()[name]
    if "authority" in params:
        raise ScopeError("the authority comes from the scope, never from parameters")
    if st.scope == "authority":
        if not scope.authority:
            raise ScopeError(f"{name} needs an authority scope")
    elif st.scope in ("national", "reference"):
        if scope.authority is not None:
            raise ScopeError(f"{name} is a {st.scope} statement; run it with authority=None")
    else:
        raise ScopeError(f"{name} is an ingest-time statement, not for pages")
    if not scope.personal and (refused := needs_personal(params)):
        raise ScopeError(f"{name}: {', '.join(refused)} needs permission to view personal details")
    return _cached_run(name, scope.snapshot, scope.authority, scope.personal, _freeze(params))


@lru_cache(maxsize=512)
def _cached_run(name: str, snapshot: Snapshot, authority: str | None, personal: bool, frozen: tuple) -> pl.DataFrame:
    st = statements()[name]
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in frozen}
    used = set(re.findall(r"\$(\w+)", st.sql))
    if authority is not None:
        params["authority"] = authority
    params = {k: v for k, v in params.items() if k in used}
    missing = used - params.keys()
    if missing:
        raise TypeError(f"{name} needs parameters: {', '.join(sorted(missing))}")
    if authority is not None:
        # the authority's slice, with the slice tables this statement reads
        with authority_cursor(snapshot, authority, _slice_tables_read(st)) as cur:
            df = _fetch(cur, st.sql, params)
    else:
        cur = cursor_for(snapshot)
        try:
            df = _fetch(cur, st.sql, params)
        finally:
            cur.close()
    return df if personal else mask_personal(df)


# execute() plans a statement once; the relation API (sql().pl()) binds it twice, which costs more than
# a page query's own work. Its Arrow result is a copy, which DuckDB warns about; for page-sized results
# the copy is the cheaper of the two.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


def _fetch(cur, sql: str, params: dict) -> pl.DataFrame:
    import polars as pl
    return pl.from_arrow(cur.execute(sql, params).to_arrow_table())


@lru_cache(maxsize=None)
def _slice_tables_read(st: Statement) -> set[str]:
    return {t for t, _ in SLICE_TABLES if re.search(rf"\b{t}\b", st.sql)}


def clear_cache() -> None:
    _cached_run.cache_clear()
