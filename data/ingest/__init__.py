"""Validated ingest of the daily national feed into a published snapshot.

    python -m data.ingest FEED_DIR --date YYYY-MM-DD [--replace]

Reads the seven files (read.py, scan.py), checks every row (checks.py), and either publishes the
snapshot atomically (data/publish.py) or refuses the whole feed, leaving the current snapshot as it was.
Every run writes a report (report.py): in the snapshot when published, under
MIFKAD_HOME/ingest-reports/ when refused. Error codes and messages: issues.py and docs/ingest.md.

Exit codes: 0 published · 1 refused: a file's rejection rate passed the threshold · 2 refused: the
feed is unusable (a file or required column missing, undecodable, empty, unreadable as CSV) or the
arguments are wrong · 3 the date is already published and --replace was not given.

`ingest(feed_dir, date, replace=False) -> IngestResult` is the library call (the benchmark uses it).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path

import duckdb

from auth import audit
from common.clock import now_iso, today
from common.config import settings
from data import publish
from data.feed_schema import ORDER, TABLES
from data.ingest import report as rep
from data.ingest.checks import REFERRED_PEOPLE, Checker
from data.ingest.issues import message
from data.ingest.read import FeedRefused, FileRead, damaged_values, find_files, read_file
from data.snapshots import DERIVED_TABLES, FEED_TABLES, WORKING_TABLES, Snapshot

OK, REFUSED_THRESHOLD, REFUSED_FEED, ALREADY_PUBLISHED = 0, 1, 2, 3
ACTOR = "operator"
# Staging a file keeps about one core busy: the three large files at once share the two cores to the
# end, where two at a time left the third to run alone on one core after the others (2 s of 10).
READ_THREADS = 3
# DuckDB's share of the 3 GB budget; past it, DuckDB spills to the work folder instead of growing.
MEMORY_LIMIT = "1500MB"


@dataclass
class IngestResult:
    exit_code: int
    status: str                        # "published" | "refused" | "exists"
    date: str
    report: dict = field(default_factory=dict)
    report_path: Path | None = None
    snapshot_path: Path | None = None

    @property
    def published(self) -> bool:
        return self.status == "published"


def _reports_dir() -> Path:
    return settings().home / "ingest-reports"


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    (work / "spill").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": "false", "autoload_known_extensions": "true",
        "temp_directory": str(work / "spill"), "memory_limit": MEMORY_LIMIT,
        "preserve_insertion_order": "true"})
    con.execute("SET enable_progress_bar = false")
    return con


def _refusal(code: str, prefix: str | None, file: str | None, line=None, field=None, value=None, ref=None) -> dict:
    return {"code": code, "prefix": prefix, "file": file, "line": line, "field": field, "value": value, "ref": ref,
            "message_he": message(code, "he", value, ref), "message_en": message(code, "en", value, ref)}


def ingest(feed_dir: str | Path, date: str, replace: bool = False, *, before_switch=None) -> IngestResult:
    """Validate the feed in feed_dir and publish it as snapshot `date`, or refuse it.

    `before_switch` (for tests) runs after the new content is durable, just before the symlink switch."""
    feed_dir = Path(feed_dir)
    Date.fromisoformat(date)                     # raises ValueError on a bad date
    clock = _Clock()
    report: dict = {"schema_version": rep.SCHEMA_VERSION, "date": date, "feed_dir": str(feed_dir.resolve()),
                    "started_at": now_iso(), "threshold": settings().reject_threshold, "replace": replace,
                    "files": {}, "counts_by_code": {}, "issues": [], "issues_total": 0, "refusal": []}

    with publish.ingest_lock():
        publish.clean_orphans()
        if publish.is_published(date) and not replace:
            report.update(status="exists", exit_code=ALREADY_PUBLISHED)
            audit.record("ingest_refused", actor=ACTOR, details={"date": date, "reason": "already_published"},
                         reason="the date is already published; --replace was not given")
            return IngestResult(ALREADY_PUBLISHED, "exists", date, report)
        work = settings().home / ".ingest-work" / f"{date}.{secrets.token_hex(4)}"
        shutil.rmtree(work.parent, ignore_errors=True)       # leftovers of killed runs (we hold the lock)
        work.mkdir(parents=True)
        con = _connect(work)
        try:
            return _run(con, feed_dir, date, work, report, clock, before_switch)
        finally:
            con.close()
            shutil.rmtree(work, ignore_errors=True)


def _read_all(con, found: dict[str, Path], work: Path) -> dict[str, FileRead | FeedRefused]:
    """Stage the files READ_THREADS at a time, biggest first: staging a file keeps about one core busy
    (its line numbers join the CSV reader's rows in order)."""
    def one(prefix: str) -> FileRead | FeedRefused:
        cur = con.cursor()
        try:
            return read_file(cur, prefix, found[prefix], TABLES[prefix], work)
        except FeedRefused as e:
            return e
        finally:
            cur.close()

    order = sorted(found, key=lambda p: found[p].stat().st_size, reverse=True)
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        futures = {prefix: pool.submit(one, prefix) for prefix in order}
        return {prefix: f.result() for prefix, f in futures.items()}


class _Clock:
    """Seconds per phase, kept in the report (the benchmark reads them)."""

    def __init__(self):
        self.start = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(self.laps.get(name, 0) + now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return round(time.monotonic() - self.start, 3)


def _run(con, feed_dir: Path, date: str, work: Path, report: dict, clock: _Clock, before_switch) -> IngestResult:
    reads: dict[str, FileRead] = {}
    if not feed_dir.is_dir():
        report["refusal"].append(_refusal("E001", None, None, ref=str(feed_dir)))
        return _refuse(con, report, reads, date, REFUSED_FEED, clock)
    found, problems = find_files(feed_dir, FEED_TABLES)
    for prefix, issue in problems:
        report["refusal"].append(_refusal(issue.code, prefix, None, value=issue.value, ref=issue.ref))
    outcomes = _read_all(con, found, work)
    for prefix in ORDER:
        if prefix not in outcomes:
            continue
        outcome = outcomes[prefix]
        if isinstance(outcome, FeedRefused):
            for i in outcome.issues:
                report["refusal"].append(_refusal(i.code, prefix, outcome.file, i.line, i.field, i.value, i.ref))
        else:
            reads[prefix] = outcome
    clock.lap("read")
    if report["refusal"]:
        return _refuse(con, report, reads, date, REFUSED_FEED, clock)

    damaged_people = {p: [values for _, values in damaged_values(reads[p], fields)]
                      for p, fields in REFERRED_PEOPLE.items() if p in reads and reads[p].scan.damaged}
    checker = Checker(con, {p: str(r.staging) for p, r in reads.items()}, date, damaged_people)
    checker.run()
    rep.load_issue_types(con)
    rep.add_read_issues(con, reads, work)
    rep.finish_issues(con, reads)
    clock.lap("checks")

    threshold = settings().reject_threshold
    rejected: dict[str, object] = {}
    for prefix, r in reads.items():
        sql_rej = rep.rejected_lines(con, prefix)
        rejected[prefix] = sql_rej
        damaged = sum(1 for d in r.scan.damaged if d.kind != "blank")
        n_rej = len(sql_rej) + damaged
        n_acc = len(r.scan.lines) - len(sql_rej)
        warnings = con.execute("SELECT count(*) FROM issues_full WHERE prefix = ? AND severity = 'warning'",
                               [prefix]).fetchall()[0][0]
        assert n_acc + n_rej == r.rows_read, f"{prefix}: accepted + rejected != read"
        rate = n_rej / r.rows_read if r.rows_read else 0.0
        report["files"][prefix] = {"file": r.name, "encoding": r.encoding, "bom": r.scan.has_bom,
                                   "rows_read": r.rows_read, "rows_accepted": n_acc, "rows_rejected": n_rej,
                                   "warnings": warnings, "reject_rate": round(rate, 6), "extra_columns": r.extras}
        if rate > threshold:
            report["refusal"].append(_refusal("E007", prefix, r.name, value=f"{rate:.2%}", ref=f"{threshold:.2%}"))
    report["counts_by_code"] = rep.counts_by_code(con)
    report["issues"], report["issues_total"] = rep.issue_rows(con)
    report["issues_truncated"] = len(report["issues"]) < report["issues_total"]
    clock.lap("report")
    if report["refusal"]:
        return _refuse(con, report, reads, date, REFUSED_THRESHOLD, clock, rejected)

    store = publish.new_store(date)
    try:
        _write_snapshot(con, store, date, reads, rejected, clock)
        report.update(status="published", exit_code=OK, snapshot=str(settings().snapshots_dir / date),
                      token=store.name, finished_at=now_iso(), timings=clock.laps, duration_s=clock.total())
        rep.write_json(store / "report.json", report)

        def audit_then_hook():
            audit.record("ingest_published", actor=ACTOR, details={
                "date": date, "token": store.name, "replace": report["replace"],
                "files": {p: {k: f[k] for k in ("rows_read", "rows_accepted", "rows_rejected")}
                          for p, f in report["files"].items()}})
            if before_switch is not None:
                before_switch()

        publish.switch(date, store, before_switch=audit_then_hook)
        clock.lap("publish")
    except BaseException:
        shutil.rmtree(store, ignore_errors=True)
        raise
    publish.apply_retention(today())
    clock.lap("retention")
    return IngestResult(OK, "published", date, report, store / "report.json", store)


def _write_snapshot(con, store: Path, date: str, reads: dict[str, FileRead], rejected: dict, clock: _Clock) -> None:
    (store / "feed").mkdir()
    (store / "derived").mkdir()
    for prefix, r in reads.items():
        target = store / "feed" / f"{prefix}.parquet"
        if len(rejected[prefix]) == 0:
            os.replace(r.staging, target)       # nothing rejected: the staged table is the table
        else:
            con.execute(f"COPY (SELECT * FROM acc_{prefix.lower()}) TO '{_esc(target)}' "
                        f"(FORMAT parquet, COMPRESSION snappy)")
        clock.lap("write_feed")
        rep.write_rejected(r, rejected[prefix], store / "rejected")
        clock.lap("write_rejected")
    con.execute(f"COPY (SELECT * FROM issues_full) TO '{_esc(store / 'issues.parquet')}' (FORMAT parquet)")
    clock.lap("write_issues")
    _derive(con, Snapshot(date, store))
    clock.lap("derive")


def _derive(con, snap: Snapshot) -> None:
    """The working tables (STUDENTS) in memory, then each derived table of data/snapshots.py in its order
    (CENSUS, ...) written beside the feed, by the statements derive_<name> of queries/*.sql over the
    accepted tables just written; each one is a table or view for the statements after it."""
    from queries import statements
    from queries.engine import create_views
    create_views(con, snap, "publish", derived=False)
    con.execute('USE memory."publish"')
    # The statements sort their own output; not keeping scan order saves memory on big groupings.
    con.execute("SET preserve_insertion_order = false")
    try:
        for table in WORKING_TABLES:
            con.execute(f"CREATE OR REPLACE TABLE {table.lower()} AS {statements()[f'derive_{table.lower()}'].sql}")
        for table in DERIVED_TABLES:
            target = _esc(snap.derived(table))
            con.execute(f"COPY ({statements()[f'derive_{table.lower()}'].sql}) TO '{target}' "
                        f"(FORMAT parquet, COMPRESSION snappy)")
            con.execute(f"CREATE OR REPLACE VIEW {table.lower()} AS SELECT * FROM read_parquet('{target}')")
        for table in WORKING_TABLES:
            con.execute(f"DROP TABLE {table.lower()}")
    finally:
        con.execute("USE memory.main")
        con.execute("SET preserve_insertion_order = true")


def _esc(path: Path) -> str:
    return str(path).replace("'", "''")


def _refuse(con, report: dict, reads: dict[str, FileRead], date: str, code: int, clock: _Clock,
            rejected: dict | None = None) -> IngestResult:
    """Nothing is published; the report (and the rejected rows, if checked) go to ingest-reports/."""
    out = _reports_dir() / f"{date}.{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    out.mkdir(parents=True)
    for prefix, r in reads.items():
        report["files"].setdefault(prefix, {"file": r.name, "encoding": r.encoding, "rows_read": r.rows_read})
        if rejected is not None:
            rep.write_rejected(r, rejected[prefix], out / "rejected")
    if rejected is not None:
        con.execute(f"COPY (SELECT * FROM issues_full) TO '{_esc(out / 'issues.parquet')}' (FORMAT parquet)")
    report.update(status="refused", exit_code=code, finished_at=now_iso(), timings=clock.laps,
                  duration_s=clock.total(), report_path=str(out / "report.json"))
    rep.write_json(out / "report.json", report)
    audit.record("ingest_refused", actor=ACTOR, details={
        "date": date, "report": out.name, "exit_code": code, "codes": sorted({r["code"] for r in report["refusal"]})},
        reason="; ".join(r["message_en"] for r in report["refusal"])[:1000])
    return IngestResult(code, "refused", date, report, out / "report.json")


def list_refused() -> list[dict]:
    """Reports of refused feeds, newest first (for the ministry page)."""
    root = _reports_dir()
    if not root.exists():
        return []
    found = []
    for d in sorted(root.iterdir(), reverse=True):
        p = d / "report.json"
        if p.exists():
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except ValueError:
                continue
            data["_dir"] = str(d)
            found.append(data)
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data.ingest", description="Validate and publish the daily feed.")
    ap.add_argument("feed_dir")
    ap.add_argument("--date", required=True, help="snapshot date, YYYY-MM-DD")
    ap.add_argument("--replace", action="store_true", help="replace an already published snapshot of that date")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        print(f"--date must be YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
        return REFUSED_FEED
    try:
        Date.fromisoformat(args.date)
    except ValueError:
        print(f"--date {args.date} is not a real date", file=sys.stderr)
        return REFUSED_FEED
    result = ingest(args.feed_dir, args.date, replace=args.replace)
    if result.status == "exists":
        print(f"snapshot {args.date} is already published; use --replace to replace it "
              f"(the current one stays published)", file=sys.stderr)
        print(f"תמונת המצב {args.date} כבר פורסמה; יש להוסיף ‎--replace‎ כדי להחליפה", file=sys.stderr)
        return result.exit_code
    print(rep.summary_text(result.report | {"report_path": str(result.report_path or "")}))
    return result.exit_code
