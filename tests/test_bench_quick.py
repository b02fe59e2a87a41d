"""`make bench-quick` as a smoke test: every stage of the benchmark runs on a small feed and reports
its figures. It fails on errors only (a stage that crashes, a page that shows an error), never on how
fast anything was: speed is what the national `make bench` reports, not what tests decide.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import Figure, table
from bench.stats import p95

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "MIFKAD_HOME": str(work / "home-of-caller")}
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--students", "3000", "--no-reference",
                           "--workdir", str(work)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    return done, work


def test_quick_benchmark_runs_every_stage_without_errors(quick_run):
    done, work = quick_run
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    results = json.loads((work / "results.json").read_text(encoding="utf-8"))
    assert results["errors"] == {}
    assert {"ingest", "queries", "exports", "app"} <= results.keys()


def test_quick_report_has_a_measured_figure_for_each_stage(quick_run):
    done, work = quick_run
    doc = (work / "benchmarks-quick.md").read_text(encoding="utf-8")
    for figure in ("Ingest with every check", "Ingest peak memory", "Page queries", "CSV package",
                   "XLSX workbook", "App process peak memory after visiting every page", "concurrent sessions"):
        rows = [line for line in doc.splitlines() if line.startswith("| " + figure) or
                (line.startswith("| ") and figure in line)]
        assert rows, f"no row for {figure!r} in the report"
        value = rows[0].split("|")[2].strip()
        assert value not in ("", "—"), f"{figure!r} has no value: {rows[0]}"
    assert "## Machine" in doc and "DuckDB" in doc


def test_quick_benchmark_measures_every_page_statement_for_both_authorities(quick_run):
    from bench.stage_queries import page_statements
    done, work = quick_run
    results = json.loads((work / "results.json").read_text(encoding="utf-8"))
    codes = [a["code"] for a in results["authorities"]]
    assert len(codes) == 2 and codes[0] != codes[1]
    measured = {(r["statement"], r["authority"]) for r in results["queries"]["results"]}
    for st in page_statements():
        for code in (codes if st.scope == "authority" else [None]):
            assert (st.name, code) in measured, f"{st.name} not measured for {code}"
    # a student's record, and the classes of a chosen institution with a track, are real views: never empty
    rows = {(r["statement"], r["authority"]): r["rows"] for r in results["queries"]["results"]}
    for name in ("student_record", "student_placements", "students_class_options"):
        for code in codes:
            assert rows[(name, code)] > 0, f"{name} measured on nothing for {code}"


def test_quick_package_rows_match_the_copy_baseline(quick_run):
    """The baseline must export the same rows as the package, or the ratio compares different work."""
    done, work = quick_run
    results = json.loads((work / "results.json").read_text(encoding="utf-8"))
    package = results["exports"]["csv"][0]["result"]["rows"]
    copy = results["exports"]["copy"][0]["result"]["rows"]
    assert package == copy
    assert package["TALMIDIM"] > 0


def test_quick_tour_visits_pages_beyond_home_for_manager_and_ministry(quick_run):
    done, work = quick_run
    app = json.loads((work / "results.json").read_text(encoding="utf-8"))["app"]
    for user in ("tlv-manager", "ministry-admin"):
        pages = {v["page"] for v in app["single"] if v["user"] == user and not v["error"]}
        assert "login" in pages and "home" in pages and len(pages) > 3, (user, pages)


def test_missed_target_is_marked_in_the_table():
    text = table([Figure("ingest", "90 s", target="≤ 60 s", met=False), Figure("memory", "1 GB", met=True)])
    assert "| ingest | 90 s | — | — | ≤ 60 s | **MISSED** |" in text
    assert "| memory | 1 GB | — | — | — | met |" in text


def test_p95_is_the_nearest_rank_value():
    assert p95([float(v) for v in range(1, 21)]) == 19.0
    assert p95([5.0]) == 5.0
    assert p95([]) is None
