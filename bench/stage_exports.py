"""Export packages for the largest authority: the CSV package (data.export, vendor variant) and the
people's XLSX workbook, against DuckDB COPYing the same six statements (queries/export.sql) to CSV.

The baseline is the least any export must do: run the six scoped statements and write plain CSV.
The package adds what the spec asks beyond that: byte-order mark, zip, SHA-256, manifest, atomic write.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path


# Imported before the clock starts in each child: first imports are not the export's time.
PRELOAD = ("duckdb", "polars", "data.export", "data.snapshots", "queries", "queries.engine")


def _fresh(out_dir: str) -> Path:
    out = Path(out_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


# --- run in child processes (bench.child) -----------------------------------------------------

def csv_package(authority: str, date: str, out_dir: str) -> dict:
    """The approved weekly package (six CSVs + manifest in a zip), as `python -m data.export` builds it."""
    from data import export
    out = _fresh(out_dir)
    paths = export.export(authority, date, out, variant="vendor")
    manifest_rows = {}
    import json
    import zipfile
    with zipfile.ZipFile(paths[0]) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    for f in manifest["files"]:
        manifest_rows[f["table"]] = f["rows"]
    return {"bytes": paths[0].stat().st_size, "rows": manifest_rows}


def xlsx_workbook(authority: str, date: str, out_dir: str) -> dict:
    """The people's workbook: the six tables read, then written as one XLSX (timed separately)."""
    from data import export
    out = _fresh(out_dir)
    stamp = export.make_stamp(authority, date)
    start = time.perf_counter()
    tables = export.export_tables(stamp.snapshot, stamp.authority)
    read_s = time.perf_counter() - start
    book = out / f"{stamp.base_name()}.xlsx"
    start = time.perf_counter()
    export.write_atomic(book, lambda f: export.write_workbook(f, tables, stamp))
    write_s = time.perf_counter() - start
    cells = sum(t.height * t.width for t in tables.values())
    return {"bytes": book.stat().st_size, "read_s": read_s, "write_s": write_s, "cells": cells}


def copy_baseline(authority: str, date: str, out_dir: str) -> dict:
    """DuckDB COPY of the six export statements to CSV files, nothing else."""
    from data.snapshots import EXPORT_TABLES, get_snapshot
    from queries import sql_of
    from queries.engine import cursor_for
    out = _fresh(out_dir)
    cur = cursor_for(get_snapshot(date))
    literal = "'" + str(authority).replace("'", "''") + "'"
    rows = {}
    try:
        for table in EXPORT_TABLES:
            sql = sql_of(f"export_{table.lower()}").replace("$authority", literal)
            target = str(out / f"{table}.csv").replace("'", "''")
            rows[table] = cur.execute(f"COPY ({sql}) TO '{target}' (FORMAT csv, HEADER)").fetchone()[0]
    finally:
        cur.close()
    return {"rows": rows, "bytes": sum(p.stat().st_size for p in out.iterdir())}


def production_build(authority: str, date: str) -> dict:
    """What approval starts for each authority: the background builder's vendor and people zips and the
    workbook (data/packages.py), queued and built here in the foreground. Leaves the packages ready,
    so the app's export page serves them instead of starting a build during the page tour."""
    from data import packages
    packages.queue(date, [authority])
    progress = packages.build_queued(date)
    mine = {p.variant: p.status for p in packages.packages_of(authority) if p.snapshot == date}
    if any(status != "ready" for status in mine.values()):
        raise RuntimeError(f"packages of {authority} not ready after the build: {mine}")
    return {"progress": progress, "variants": sorted(mine)}


# --- the stage ------------------------------------------------------------------------------------

def measure(authority: str, date: str, work: Path, reps: int, xlsx_reps: int, env: dict, log) -> dict:
    from bench import child
    runs: dict[str, list[dict]] = {"csv": [], "copy": [], "xlsx": []}
    for i in range(reps):
        for key, target, kwargs in (
                ("csv", "csv_package", {"out_dir": str(work / "package")}),
                ("copy", "copy_baseline", {"out_dir": str(work / "copy")})):
            run = child.run(f"bench.stage_exports:{target}", {"authority": authority, "date": date, **kwargs},
                            env=env, preload=PRELOAD)
            runs[key].append(run)
            log(f"  {key} run {i + 1}/{reps}: {run['seconds']:.2f} s, peak {run['peak_rss_mb']:.0f} MB")
    for i in range(xlsx_reps):
        run = child.run("bench.stage_exports:xlsx_workbook",
                        {"authority": authority, "date": date, "out_dir": str(work / "xlsx")}, env=env,
                        preload=PRELOAD)
        runs["xlsx"].append(run)
        log(f"  xlsx run {i + 1}/{xlsx_reps}: {run['seconds']:.1f} s, peak {run['peak_rss_mb']:.0f} MB")
    run = child.run("bench.stage_exports:production_build", {"authority": authority, "date": date}, env=env,
                    preload=PRELOAD + ("data.packages",))
    runs["production"] = [run]
    log(f"  background builder (vendor + people zips, workbook): {run['seconds']:.1f} s, "
        f"peak {run['peak_rss_mb']:.0f} MB")
    for name in ("package", "copy", "xlsx"):
        shutil.rmtree(work / name, ignore_errors=True)
    return runs
