"""Properties: generated valid feeds pass with no rejection; changing one cell yields exactly one issue,
at that cell; the byte scan agrees with Python's csv module on records and lines wherever the file is
cut into chunks; the SQL check digit agrees with data/idnumber.py."""
from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from data import generate, idnumber, ingest
from data.ingest import scan as scanmod
from data.ingest.checks import id_check_sql
from tests.fault_feeds import file_of

DATE = "2026-12-01"


@pytest.fixture(scope="module")
def generated_feeds(tmp_path_factory) -> dict[int, Path]:
    feeds = {}
    for seed in (3, 11):
        out = tmp_path_factory.mktemp(f"gen{seed}") / "feed"
        assert generate.main(["--out", str(out), "--students", "300", "--date", DATE, "--seed", str(seed)]) == 0
        feeds[seed] = out
    return feeds


@pytest.fixture
def lenient_home(mifkad_home):
    from common import config
    (mifkad_home / "mifkad.toml").write_text("reject_threshold = 1.0\n", encoding="utf-8")
    config._cached.cache_clear()
    return mifkad_home


@pytest.mark.parametrize("seed", [3, 11])
def test_a_generated_valid_feed_passes_with_zero_rejections(seed, generated_feeds, mifkad_home):
    result = ingest.ingest(generated_feeds[seed], DATE)
    assert result.exit_code == 0
    assert all(f["rows_rejected"] == 0 for f in result.report["files"].values()), result.report["counts_by_code"]
    assert {c for c, v in result.report["counts_by_code"].items() if v["severity"] != "warning"} == set()


# (prefix, field, new value, expected code): each change touches one cell of a row nothing depends on,
# so exactly one issue may follow.
MUTATIONS = [
    ("PIRTEY_KESHER", "TAARICH_IDKUN", lambda v: "2025-02-30", "E204"),
    ("PIRTEY_KESHER", "MISPAR_ZEHUT", lambda v: v[:8] + str((int(v[8]) + 1) % 10), "E301"),
    ("PIRTEY_KESHER", "TAARICH_IDKUN", lambda v: "1.1.2025", "E203"),
    ("TALMIDIM", "CODE_MIN", lambda v: "7", "W702"),
    ("TALMIDIM", "TAARICH_LEDA", lambda v: "1980-05-05", "W701"),
    ("GORMEY_KESHER", "LEKABEL_MEIDA", lambda v: "5", "W702"),
    ("GORMEY_KESHER", "HAIM_MESHALEM_GOREM_KESHER", lambda v: "yes", "E202"),
]


def _rewrite_one_cell(src: Path, dst: Path, prefix: str, field: str, pick: int, change) -> tuple[int, str]:
    shutil.copytree(src, dst)
    path = file_of(dst, prefix)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    col = rows[0].index(field)
    candidates = [i for i in range(1, len(rows)) if prefix != "PIRTEY_KESHER" or field != "MISPAR_ZEHUT"
                  or rows[i][rows[0].index("SUG_ZEHUT")] == "1"]
    if prefix == "GORMEY_KESHER":
        # A link is the only one of its contact person: rejecting it would take their details too.
        contact = rows[0].index("MISPAR_ZEHUT_GOREM_KESHER")
        counts = {}
        for r in rows[1:]:
            counts[r[contact]] = counts.get(r[contact], 0) + 1
        candidates = [i for i in candidates if counts[rows[i][contact]] > 1]
    i = candidates[pick % len(candidates)]
    rows[i][col] = change(rows[i][col])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return i + 1, rows[i][col]


@pytest.fixture(scope="module")
def baseline_issues(generated_feeds, tmp_path_factory) -> set[tuple]:
    """The issues (warnings) the unchanged feed already has, so each example compares against them."""
    import os
    from tests.conftest import _reset_process_caches
    home = tmp_path_factory.mktemp("baseline-home")
    old = os.environ.get("MIFKAD_HOME")
    os.environ["MIFKAD_HOME"] = str(home)
    _reset_process_caches()
    try:
        result = ingest.ingest(generated_feeds[3], DATE)
    finally:
        if old is None:
            os.environ.pop("MIFKAD_HOME", None)
        else:
            os.environ["MIFKAD_HOME"] = old
        _reset_process_caches()
    assert result.exit_code == 0
    return {(i["prefix"], i["code"], i["line"], i["field"]) for i in result.report["issues"]}


@settings(max_examples=7, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, len(MUTATIONS) - 1), pick=st.integers(0, 10_000))
def test_changing_one_cell_yields_exactly_one_issue_at_that_cell(which, pick, generated_feeds, baseline_issues,
                                                                  monkeypatch, tmp_path_factory):
    from tests.conftest import _reset_process_caches
    prefix, field, change, code = MUTATIONS[which]
    home = tmp_path_factory.mktemp("home")
    (home / "mifkad.toml").write_text("reject_threshold = 1.0\n", encoding="utf-8")
    monkeypatch.setenv("MIFKAD_HOME", str(home))
    _reset_process_caches()
    feed = tmp_path_factory.mktemp("mutated") / "feed"
    line, _value = _rewrite_one_cell(generated_feeds[3], feed, prefix, field, pick, change)
    result = ingest.ingest(feed, DATE)
    assert result.exit_code == 0, result.report.get("refusal")
    issues = {(i["prefix"], i["code"], i["line"], i["field"]) for i in result.report["issues"]}
    assert issues - baseline_issues == {(prefix, code, line, field)}
    assert baseline_issues - issues <= {(prefix, c, line, field) for c in ("W701", "W702")}
    f = result.report["files"][prefix]
    assert f["rows_rejected"] == (0 if code.startswith("W") else 1)
    assert f["rows_accepted"] + f["rows_rejected"] == f["rows_read"]


def _records_by_csv_module(data: bytes) -> list[tuple[int, list[str]]]:
    """(line the record starts on, fields) as Python's csv module reads them."""
    out = []
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    start = reader.line_num + 1
    for row in reader:
        out.append((start, row))
        start = reader.line_num + 1
    return out


cell = st.text(alphabet=st.sampled_from(list('ab,"\n\r xא1')), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=40),
       chunk=st.integers(64, 400), crlf=st.booleans())
def test_the_scan_finds_the_records_and_lines_the_csv_module_finds(rows, chunk, crlf, tmp_path_factory, monkeypatch):
    if not crlf:
        # With LF line ends the csv module leaves a CR unquoted, and then reads it as a line end itself.
        rows = [[c.replace("\r", "r") for c in r] for r in rows]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows([["A", "B", "C"]] + rows)
    data = buf.getvalue().encode("utf-8")
    path = tmp_path_factory.mktemp("scan") / "f.csv"
    path.write_bytes(data)
    monkeypatch.setattr(scanmod, "CHUNK", chunk)
    monkeypatch.setattr(scanmod, "MAX_RECORD", 10_000)
    sc = scanmod.scan(path)
    expected = _records_by_csv_module(data)[1:]
    # A lone CR (not before LF) is damage by this scan's rule, even quoted; the csv module accepts it.
    bare = {i for i, r in enumerate(rows) if any(re.search("\r(?!\n)", c) for c in r)}
    assert [(d.line, d.kind) for d in sc.damaged] == [(expected[i][0], "bare_cr") for i in sorted(bare)]
    expected = [e for i, e in enumerate(expected) if i not in bare]
    assert sc.lines.tolist() == [line for line, _ in expected]
    for (start, end), (_line, fields) in zip(zip(sc.starts, sc.ends), expected):
        record = data[start:end].decode("utf-8")
        assert next(csv.reader(io.StringIO(record, newline=""))) == fields


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.text(alphabet="ab1 ", max_size=5), min_size=3, max_size=3), min_size=3, max_size=30),
       bad=st.integers(0, 1000), kind=st.sampled_from(["stray", "unterminated", "short", "long"]),
       chunk=st.integers(64, 300))
def test_one_damaged_record_costs_only_its_own_line(rows, bad, kind, chunk, tmp_path_factory, monkeypatch):
    lines = ["A,B,C"] + [",".join(r) for r in rows]
    i = 1 + bad % len(rows)
    lines[i] = {"stray": lines[i] + 'x"y', "unterminated": '"' + lines[i], "short": "z",
                "long": lines[i] + ",extra"}[kind]
    if kind == "stray" and lines[i].startswith('x"'):
        return
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path_factory.mktemp("dmg") / "f.csv"
    path.write_bytes(data)
    monkeypatch.setattr(scanmod, "CHUNK", chunk)
    monkeypatch.setattr(scanmod, "MAX_RECORD", 10_000)
    sc = scanmod.scan(path)
    assert [d.line for d in sc.damaged] == [i + 1]
    assert sc.lines.tolist() == [n + 1 for n in range(1, len(lines)) if n != i]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_the_sql_check_digit_agrees_with_idnumber(digits):
    assume(digits != "000000000")          # all zeros is its own code (E303), not a check-digit failure
    got = duckdb.sql(f"SELECT {id_check_sql(str(int(digits)) + '::BIGINT')}").fetchall()[0][0]
    assert got == idnumber.is_valid(digits)
