"""Feed generation (not measured, only reused) and ingest with every check vs. DuckDB's bare CSV→Parquet.

The baseline is the least any ingest must do: read each CSV as text and write it as Parquet, with no
validation, no line numbers, no derived tables. Ingest's ratio to it is the price of the checks.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import child
from common.config import REPO_ROOT
from data.snapshots import FEED_TABLES


def generate_feed(feed_dir: Path, students: int, date: str, seed: int, reference: Path | None) -> dict:
    """Write the feed with data.generate, or reuse one made earlier with the same arguments."""
    args = ["--out", str(feed_dir), "--students", str(students), "--date", date, "--seed", str(seed)]
    if reference is not None:
        args += ["--reference", str(reference)]
    # Reuse only a feed of the same arguments and the same generator code.
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((REPO_ROOT / "data").glob("generat*.py"))))
    key = {"args": args, "generator": code.hexdigest()}
    marker = feed_dir / ".bench-args.json"
    if marker.exists() and json.loads(marker.read_text()) == key:
        return {"reused": True, "seconds": None}
    if feed_dir.exists():
        shutil.rmtree(feed_dir)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "data.generate", *args], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise child.ChildFailed(f"data.generate failed (exit {done.returncode}):\n{done.stdout[-4000:]}")
    marker.write_text(json.dumps(key))
    return {"reused": False, "seconds": time.perf_counter() - start}


def feed_files(feed_dir: Path) -> list[Path]:
    return sorted(p for p in feed_dir.iterdir() if p.suffix.lower() == ".csv")


# --- functions run in child processes (bench.child) ---------------------------------------------

def ingest_once(feed_dir: str, date: str) -> dict:
    """One full ingest (every check, derived tables, publish), replacing the date if it exists."""
    from data import ingest
    from data.snapshots import get_snapshot
    result = ingest.ingest(Path(feed_dir), date, replace=get_snapshot(date) is not None)
    if not result.published:
        raise RuntimeError(f"ingest did not publish {date}: {result.status}, exit {result.exit_code}, "
                           f"refusal {result.report.get('refusal')}")
    return {"phases": result.report.get("timings") or {}, "token": get_snapshot(date).token}


def csv_to_parquet(feed_dir: str, out_dir: str) -> dict:
    """The baseline: every CSV read as text and written as Parquet, one COPY per file, no checks."""
    import duckdb
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    con = duckdb.connect()
    for path in feed_files(Path(feed_dir)):
        src = str(path).replace("'", "''")
        dst = str(out / (path.stem + ".parquet")).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{dst}' (FORMAT parquet)")
    # Rows per feed table, for the report (from the Parquet footers: free).
    rows = {}
    for path in sorted(out.glob("*.parquet")):
        table = next((t for t in FEED_TABLES if path.name.upper().startswith(t)), path.stem)
        literal = str(path).replace("'", "''")
        rows[table] = con.execute(f"SELECT sum(num_rows) FROM parquet_file_metadata('{literal}')").fetchone()[0]
    return {"rows": rows}


# --- the stage ------------------------------------------------------------------------------------

def measure(feed_dir: Path, date: str, work: Path, reps: int, env: dict, log) -> dict:
    """Median ingest and baseline times over `reps` runs each, and each one's peak memory."""
    ingest_runs, base_runs = [], []
    for i in range(reps):
        run = child.run("bench.stage_ingest:ingest_once", {"feed_dir": str(feed_dir), "date": date}, env=env,
                        preload=("data.ingest", "data.snapshots"))
        ingest_runs.append(run)
        log(f"  ingest run {i + 1}/{reps}: {run['seconds']:.1f} s, peak {run['peak_rss_mb']:.0f} MB")
        base = child.run("bench.stage_ingest:csv_to_parquet",
                         {"feed_dir": str(feed_dir), "out_dir": str(work / "baseline-parquet")}, env=env,
                         preload=("duckdb",))
        base_runs.append(base)
        log(f"  baseline run {i + 1}/{reps}: {base['seconds']:.1f} s, peak {base['peak_rss_mb']:.0f} MB")
    shutil.rmtree(work / "baseline-parquet", ignore_errors=True)
    return {"ingest": ingest_runs, "baseline": base_runs}
