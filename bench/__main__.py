"""`python -m bench [--quick]`: run every stage, print the table, write the report.

The national run (default) writes docs/benchmarks.md; --quick writes benchmarks-quick.md in the work
folder, so a smoke run never replaces the committed national figures. The work folder (default
MIFKAD_HOME/bench) keeps the generated feed for the next run with the same arguments and a fresh
MIFKAD_HOME of its own for the snapshot, portal records and packages.

Exit status: 0 when every stage ran, whatever the figures; 1 when a stage failed or a page showed an
error in the single-session tour. Missed targets are findings, reported in the table, never errors.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from common.config import REPO_ROOT, settings

NATIONAL_STUDENTS = 2_300_000
QUICK_STUDENTS = 20_000
STAGES = ("ingest", "queries", "exports", "app")

# Repetitions: (national, quick).
PLAN = {
    "ingest_reps": (3, 1),
    "query_min_runs": (10, 2), "query_max_runs": (60, 3), "query_budget_s": (3.0, 0.1),
    "pandas_min_runs": (5, 1), "pandas_budget_s": (8.0, 0.1),
    "export_reps": (3, 1), "xlsx_reps": (2, 1),
    "sessions": (20, 1), "page_timeout_s": (180.0, 120.0), "repeat_tour": (True, False),
}


def log(message: str) -> None:
    print(message, flush=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small size and few repetitions: a smoke test")
    ap.add_argument("--students", type=int, help=f"feed size (default {NATIONAL_STUDENTS:,}; quick {QUICK_STUDENTS:,})")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--date", default="2026-12-01", help="the snapshot's date")
    ap.add_argument("--workdir", type=Path, help="work folder (default MIFKAD_HOME/bench)")
    ap.add_argument("--doc", type=Path, help="where to write the report (default docs/benchmarks.md; "
                                             "quick: WORKDIR/benchmarks-quick.md)")
    ap.add_argument("--authority", help="measure this authority instead of the largest (e.g. 5000)")
    ap.add_argument("--no-reference", action="store_true", help="use the generator's built-in world")
    ap.add_argument("--reps", type=int, help="runs of ingest, baseline and packages (default 3; quick 1)")
    ap.add_argument("--sessions", type=int, help="concurrent browser sessions (default 20; quick 2)")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: write the report again from WORKDIR/results.json")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help="comma-separated subset of " + ",".join(STAGES) + "; without ingest, the work "
                         "folder's snapshot from an earlier run is reused")
    return ap.parse_args(argv)


def pick_authorities(date: str, forced: str | None = None) -> list[dict]:
    """The largest authority by census size (or the one asked for), and a small one (the first
    quartile of those with at least 100 students), with names from RASHUYOT."""
    import duckdb

    from data.snapshots import get_snapshot
    snap = get_snapshot(date)
    con = duckdb.connect()
    census = str(snap.derived("CENSUS")).replace("'", "''")
    rashuyot = str(snap.feed("RASHUYOT")).replace("'", "''")
    rows = con.execute(f"""
        SELECT c.SEMEL_RASHUT, any_value(r.SHEM_RASHUT), c.N
        FROM (SELECT SEMEL_RASHUT, count(*) AS N FROM read_parquet('{census}') GROUP BY ALL) c
        LEFT JOIN read_parquet('{rashuyot}') r USING (SEMEL_RASHUT)
        GROUP BY c.SEMEL_RASHUT, c.N ORDER BY c.N DESC, c.SEMEL_RASHUT""").fetchall()
    if not rows:
        raise RuntimeError("the snapshot's census is empty")
    largest = rows[0]
    if forced:
        largest = next((r for r in rows if r[0] == forced), None)
        if largest is None:
            raise RuntimeError(f"authority {forced} has no students in the snapshot's census")
    rest = [r for r in rows if r[2] >= 100 and r[0] != largest[0]] or [r for r in rows if r[0] != largest[0]]
    role = "largest" if largest == rows[0] else "chosen"
    chosen = [{"role": role, "code": largest[0], "name": largest[1], "students": largest[2]}]
    if rest:
        small = rest[(len(rest) * 3) // 4] if len(rest) > 1 else rest[0]
        chosen.append({"role": "small", "code": small[0], "name": small[1], "students": small[2]})
    return chosen


def write_report(res: dict, doc: Path, command: str) -> None:
    """Figures from the measurements, the document from the figures; prints the table."""
    from bench.report import app_figures, document, export_figures, ingest_figures, query_figures, table
    figures = []
    for name, build in (("ingest", lambda: ingest_figures(res["ingest"])),
                        ("queries", lambda: query_figures(res["queries"], res["authorities"])),
                        ("exports", lambda: export_figures(res["exports"], res["authorities"][0])),
                        ("app", lambda: app_figures(res["app"]))):
        if name in res:
            figures += build()
    res["figures"] = figures
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(document(res, command), encoding="utf-8")
    log("")
    log(table(figures))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    q = 1 if args.quick else 0
    plan = {k: v[q] for k, v in PLAN.items()}
    if args.sessions:
        plan["sessions"] = args.sessions
    if args.reps:
        plan.update(ingest_reps=args.reps, export_reps=args.reps, xlsx_reps=min(args.reps, plan["xlsx_reps"]))
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        log(f"bench: unknown stages {', '.join(sorted(unknown))}")
        return 2
    students = args.students or (QUICK_STUDENTS if args.quick else NATIONAL_STUDENTS)
    workdir = (args.workdir or settings().home / "bench").resolve()
    reference = None if args.no_reference or not settings().reference_dir.exists() else settings().reference_dir
    feed_dir = workdir / f"feed-{students}-s{args.seed}-{'reference' if reference else 'builtin'}"
    home = workdir / "home"
    doc = args.doc or (workdir / "benchmarks-quick.md" if args.quick else REPO_ROOT / "docs" / "benchmarks.md")
    command = "python -m bench" + (" --quick" if args.quick else "")

    if args.report_only:
        res = json.loads((workdir / "results.json").read_text(encoding="utf-8"))
        write_report(res, doc, "python -m bench" + (" --quick" if res["config"]["quick"] else ""))
        log(f"\nreport written to {doc}")
        return 0
    from bench import machine
    res: dict = {"machine": machine.describe(), "errors": {},
                 "config": {"students": students, "seed": args.seed, "date": args.date,
                            "reference": reference is not None, "quick": args.quick, "plan": plan}}
    if "ingest" in stages:
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    # Every child process, and this one, work in the benchmark's own home.
    os.environ["MIFKAD_HOME"] = str(home)
    os.environ["MIFKAD_REFERENCE_DIR"] = str(reference or workdir / "no-reference-data")
    from common import config
    config._cached.cache_clear()
    env = {"MIFKAD_HOME": str(home)}
    started = time.perf_counter()
    log(f"bench: {students:,} students, work folder {workdir}")

    def stage(name: str, fn):
        log(f"[{name}]")
        res["machine"].setdefault("stage_load", {})[name] = machine.load_average()
        t0 = time.perf_counter()
        try:
            res[name] = fn()
        except Exception as exc:
            res["errors"][name] = f"{type(exc).__name__}: {exc}"
            log(traceback.format_exc())
        res.setdefault("stage_seconds", {})[name] = time.perf_counter() - t0
        log(f"[{name}] {time.perf_counter() - t0:.0f} s")

    from bench import stage_ingest
    if "ingest" in stages:
        def gen_and_ingest():
            feed = stage_ingest.generate_feed(feed_dir, students, args.date, args.seed, reference)
            log("  feed reused" if feed["reused"] else f"  feed generated in {feed['seconds']:.0f} s")
            res["feed"] = feed
            out = stage_ingest.measure(feed_dir, args.date, workdir, plan["ingest_reps"], env, log)
            res["feed"]["rows"] = out["baseline"][-1]["result"]["rows"]
            return out
        stage("ingest", gen_and_ingest)
    from data.snapshots import get_snapshot
    if get_snapshot(args.date) is None:
        res["errors"].setdefault("ingest", f"no snapshot {args.date} in the work folder")
    else:
        res["authorities"] = pick_authorities(args.date, args.authority)
        for a in res["authorities"]:
            log(f"  {a['role']} authority: {a['name']} ({a['code']}), {a['students']:,} students")
        codes = [a["code"] for a in res["authorities"]]
        largest = res["authorities"][0]
        from bench import child, stage_app, stage_exports
        if "queries" in stages:
            def queries_stage():
                run = child.run("bench.stage_queries:measure", {
                    "date": args.date, "authorities": codes, "min_runs": plan["query_min_runs"],
                    "max_runs": plan["query_max_runs"], "budget_s": plan["query_budget_s"],
                    "pandas_min_runs": plan["pandas_min_runs"], "pandas_budget_s": plan["pandas_budget_s"]},
                    env=env, echo=log)
                out = run["result"]
                out["peak_rss_mb"] = run["peak_rss_mb"]
                return out
            stage("queries", queries_stage)
        if "exports" in stages or "app" in stages:
            stage_app.seed_records(args.date, largest["code"], stage_app.tour_users()[0]["email"])
        if "exports" in stages:
            stage("exports", lambda: stage_exports.measure(largest["code"], args.date, workdir,
                                                           plan["export_reps"], plan["xlsx_reps"], env, log))
        if "app" in stages:
            if "exports" not in res:    # packages ready, as after approval: no build during the tour
                child.run("bench.stage_exports:production_build", {"authority": largest["code"], "date": args.date},
                          env=env)
            stage("app", lambda: stage_app.measure(home, args.date, largest["code"], plan["sessions"],
                                                   plan["page_timeout_s"], plan["repeat_tour"], log))

    res["config"]["total_s"] = time.perf_counter() - started
    res["machine"]["load_at_end"] = machine.load_average()
    (workdir / "results.json").write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str),
                                          encoding="utf-8")
    write_report(res, doc, command)
    log(f"\nreport written to {doc} in {time.perf_counter() - started:.0f} s")
    failed = dict(res["errors"])
    if "app" in res:
        page_errors = [v for v in res["app"]["single"] if v["error"]]
        if page_errors:
            failed["app pages"] = "; ".join(f"{v['session']}/{v['page']}: {v['error']}" for v in page_errors)
    for name, msg in failed.items():
        log(f"bench: {name} failed: {msg.splitlines()[0] if msg else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
