"""Page queries: every statement the pages run, for the largest authority and a small one, timed
through `queries.run` (warm DuckDB, result cache cleared before each run) against a straightforward
pandas version of the same query (bench/pandas_baselines.py) on tables already loaded in memory.
Warm includes the authority's slice (queries/engine.py), whose build, the first page of an authority
in a snapshot, is timed on its own first.

Each statement runs once untimed (warm: Parquet footers read, views attached, code paths loaded),
then repeatedly, until both a minimum number of runs and a time budget are reached. The personal
flag is off, so the runner's masking is part of the time (the heavier case); lists are in the page's
default order, by institution (without personal details a list cannot be ordered by name).
"""
from __future__ import annotations

import re
import time

from bench.stats import median, p95

SALT = "bench"
PAGE_SIZE = 100
SKIP_SOURCES = {"derive.sql", "export.sql", "slices.sql"}  # ingest-time derivations, the package's own rows,
                                                          # and the slice builds (timed on their own)


def page_statements() -> list:
    """Statements the pages run: authority, national and reference scopes, exports and derivations aside."""
    from queries import statements
    return [st for st in statements().values()
            if st.scope in ("authority", "national", "reference") and st.source not in SKIP_SOURCES]


def default_params(sql: str, student_ref: str | None = None, mosad: str | None = None) -> dict:
    """A page's first view: no filter chosen, first page, institution order; one student opened by
    reference; `mosad` only where a statement answers for one chosen institution."""
    defaults = {"salt": SALT, "limit": PAGE_SIZE, "offset": 0, "sort": "institution", "descending": False,
                "ref": student_ref, "mosad": mosad}
    used = set(re.findall(r"\$(\w+)", sql)) - {"authority"}
    return {name: defaults.get(name) for name in used}


# Statements a page runs only once an institution is chosen (their list of classes, say).
NEEDS_INSTITUTION = {"students_class_options"}


def params_for(snapshot, st, authority: str | None) -> dict:
    ref = _a_student(snapshot, authority)["STUDENT_REF"] if "$ref" in st.sql else None
    mosad = _a_student(snapshot, authority, in_track=True)["SEMEL_MOSAD"] if st.name in NEEDS_INSTITUTION else None
    return default_params(st.sql, ref, mosad)


def _time_runs(fn, min_runs: int, max_runs: int, budget_s: float) -> list[float]:
    """At least min_runs, then more while within the budget (fast statements get more runs)."""
    fn()                                   # warm, untimed
    times: list[float] = []
    spent = 0.0
    while len(times) < max_runs and (len(times) < min_runs or spent < budget_s):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed * 1000)
        spent += elapsed
    return times


def _top_operators(cur, sql: str, params: dict, count: int = 3) -> list[dict]:
    """Where a query's time goes: its most expensive operators from DuckDB's JSON profile, each with
    its share of the summed operator time."""
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/profile.json"
        cur.execute("PRAGMA enable_profiling = 'json'")
        cur.execute(f"PRAGMA profiling_output = '{path}'")
        try:
            cur.sql(sql, params=params).fetchall()
        finally:
            cur.execute("PRAGMA disable_profiling")
        profile = json.loads(open(path, encoding="utf-8").read() or "{}")
    ops: list[dict] = []

    def walk(node: dict) -> None:
        extra = node.get("extra_info") or {}
        detail = (extra.get("Filename(s)") or extra.get("Table") or extra.get("Conditions")
                  or extra.get("Aggregates") or "")
        if isinstance(detail, list):
            detail = " ".join(map(str, detail))
        if extra.get("Filename(s)"):          # a file's table name, not its path
            detail = str(detail).rsplit("/", 1)[-1].removesuffix(".parquet")
        ops.append({"operator": str(node.get("name", "?")).strip(), "detail": str(detail)[:50],
                    "ms": float(node.get("timing") or 0) * 1000, "rows": node.get("intermediate_rows")})
        for kid in node.get("children", []):
            walk(kid)

    for root in profile.get("operator", []):
        walk(root)
    total = sum(o["ms"] for o in ops)
    for op in ops:
        op["share"] = op["ms"] / total if total else None
    return sorted(ops, key=lambda o: -o["ms"])[:count]


# --- run in a child process (bench.child) -----------------------------------------------------

def measure(date: str, authorities: list[str], min_runs: int, max_runs: int, budget_s: float,
            pandas_min_runs: int, pandas_budget_s: float, profile_slowest: int = 3) -> dict:
    import queries
    from data.snapshots import get_snapshot
    from queries.engine import authority_cursor, cursor_for

    snapshot = get_snapshot(date)
    if snapshot is None:
        raise RuntimeError(f"no snapshot {date}")
    baselines = _load_baselines(snapshot)
    slices = [_slice_build(snapshot, a) for a in authorities]
    results = []
    for st in page_statements():
        for authority in (authorities if st.scope == "authority" else [None]):
            scope = queries.Scope(snapshot=snapshot, authority=authority, personal=False)
            params = params_for(snapshot, st, authority)

            def run_duckdb():
                queries.clear_cache()
                return queries.run(st.name, scope, **params)

            rows = run_duckdb().height
            duck = _time_runs(run_duckdb, min_runs, max_runs, budget_s)
            entry = {"statement": st.name, "source": st.source, "scope": st.scope, "authority": authority,
                     "rows": rows, "runs": len(duck), "median_ms": median(duck), "p95_ms": p95(duck)}
            fn = baselines["functions"].get(st.name)
            if fn is not None:
                tables = baselines["tables"]

                def run_pandas():
                    return fn(tables, authority, **params) if authority is not None else fn(tables, **params)

                pd_times = _time_runs(run_pandas, pandas_min_runs, max_runs, pandas_budget_s)
                reads = _tables_read(st.sql, baselines["read_ms"])
                entry.update({"pandas_runs": len(pd_times), "pandas_median_ms": median(pd_times),
                              "pandas_p95_ms": p95(pd_times), "pandas_tables": reads,
                              "pandas_read_ms": sum(baselines["read_ms"][t] for t in reads)})
            results.append(entry)
            print(f"  {st.name:<30} {authority or 'national':>8}: {rows:>7} rows, p95 {entry['p95_ms']:8.1f} ms"
                  + (f", pandas {entry['pandas_p95_ms']:8.1f} ms" if "pandas_p95_ms" in entry else ""), flush=True)
    # Where the time goes in the slowest statements for the largest authority.
    largest = [r for r in results if r["authority"] in (authorities[0], None)]
    for r in sorted(largest, key=lambda r: -r["p95_ms"])[:profile_slowest]:
        st = queries.statements()[r["statement"]]
        params = params_for(snapshot, st, r["authority"])
        try:
            if r["authority"] is not None:
                params["authority"] = r["authority"]
                with authority_cursor(snapshot, r["authority"], {"census", "contacts"}) as cur:
                    r["top_operators"] = _top_operators(cur, st.sql, params)
            else:
                cur = cursor_for(snapshot)
                try:
                    r["top_operators"] = _top_operators(cur, st.sql, params)
                finally:
                    cur.close()
        except Exception as exc:        # a profile is a nice-to-have for the analysis, not a figure
            r["top_operators_error"] = str(exc)[:200]
    return {"results": results, "slices": slices, "pandas_load_s": baselines["load_s"], "pandas_missing": baselines["missing"],
            "pandas_read_ms": baselines["read_ms"], "pandas_memory_mb": baselines["memory_mb"]}


def _slice_build(snapshot, authority: str) -> dict:
    """The first page of an authority in a snapshot: its census rows and class counts, then its
    contacts, into memory."""
    from queries import engine
    engine.drop_slices()
    start = time.perf_counter()
    with engine.authority_cursor(snapshot, authority, set()):
        census_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    with engine.authority_cursor(snapshot, authority, {"contacts"}):
        contacts_ms = (time.perf_counter() - start) * 1000
    held = [s for s in engine.slice_stats() if s["authority"] == authority]
    entry = {"authority": authority, "census_ms": census_ms, "contacts_ms": contacts_ms,
             "mb": held[0]["bytes"] / 2**20 if held else None}
    print(f"  slice {authority:>8}: census {census_ms:7.0f} ms, contacts {contacts_ms:7.0f} ms, "
          f"{entry['mb'] or 0:6.0f} MB", flush=True)
    return entry


def _tables_read(sql: str, read_ms: dict) -> list[str]:
    """The pandas tables a statement needs, judged by the views its SQL names: what a pandas app
    without tables held in memory would read from Parquet for this page."""
    return sorted(t for t in read_ms if re.search(rf"\b{re.escape(t)}\b", sql, re.I))


def _a_student(snapshot, authority: str, in_track: bool = False) -> dict:
    """The first student of the authority's list (placed in a track, if asked): what a person opens."""
    import polars as pl

    import queries
    scope = queries.Scope(snapshot=snapshot, authority=authority, personal=False)
    params = default_params(queries.sql_of("students_list"))
    if in_track:     # the first page may hold no track (an elementary school first): look further
        params["limit"] = 1 << 40
    page = queries.run("students_list", scope, **params)
    if in_track:
        page = page.filter(pl.col("SEMEL_MEGAMA_MOSAD").is_not_null())
    return page.row(0, named=True) if page.height else {"STUDENT_REF": None, "SEMEL_MOSAD": None}


def _load_baselines(snapshot) -> dict:
    """The pandas versions of the page statements and the tables they read, loaded once (untimed)."""
    import importlib
    try:
        pandas_baselines = importlib.import_module("bench.pandas_baselines")
    except ModuleNotFoundError as exc:      # not written yet: DuckDB figures alone, reported as such
        if exc.name != "bench.pandas_baselines":
            raise
        return {"tables": None, "functions": {}, "load_s": 0.0, "read_ms": {}, "memory_mb": None,
                "missing": sorted(st.name for st in page_statements())}
    import pandas as pd
    start = time.perf_counter()
    tables = pandas_baselines.load_tables(snapshot)
    load_s = time.perf_counter() - start
    functions = dict(pandas_baselines.BASELINES)
    missing = sorted(st.name for st in page_statements() if st.name not in functions)
    # What holding them costs: each table's read time from Parquet, and their memory in pandas.
    read_ms = {}
    for name in tables:
        start = time.perf_counter()
        if name == "contacts":         # not a file: read the links and details, and build it
            pandas_baselines.contacts_table(tables["census"], pd.read_parquet(snapshot.feed("GORMEY_KESHER")),
                                            pd.read_parquet(snapshot.feed("PIRTEY_KESHER")))
        else:
            path = snapshot.derived(name.upper())
            pd.read_parquet(path if path.exists() else snapshot.feed(name.upper()))
        read_ms[name] = (time.perf_counter() - start) * 1000
    memory_mb = sum(int(df.memory_usage(deep=True).sum()) for df in tables.values()) / 2**20
    return {"tables": tables, "functions": functions, "load_s": load_s, "missing": missing,
            "read_ms": read_ms, "memory_mb": memory_mb}
