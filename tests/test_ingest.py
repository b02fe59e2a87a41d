"""Ingest end to end: real feeds in their variations publish; publishing is atomic; --replace, the
rejection threshold and retention behave; the report and the audit trail say what happened."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from data import ingest, publish
from data.snapshots import get_snapshot, list_snapshots
from tests.fault_feeds import FEED_DATE, file_of, valid_feed, write_feed

REPO = Path(__file__).resolve().parent.parent


def feed_rows(snap, prefix: str, cols: str = "*") -> list[tuple]:
    return duckdb.sql(f"SELECT {cols} FROM read_parquet('{snap.feed(prefix)}') ORDER BY _line").fetchall()


def audit_events(action: str) -> list[dict]:
    from common import portal_db
    con = portal_db.connect()
    try:
        return [dict(r) for r in con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq", (action,))]
    finally:
        con.close()


def test_the_generated_feed_publishes_with_zero_rejections(published_snapshot):
    report = published_snapshot.report()
    assert report["status"] == "published"
    for prefix, f in report["files"].items():
        assert f["rows_rejected"] == 0, (prefix, report["counts_by_code"])
        assert f["rows_accepted"] == f["rows_read"] > 0
    assert not [c for c, v in report["counts_by_code"].items() if v["severity"] == "error"]
    census = duckdb.sql(f"SELECT count(*) FROM read_parquet('{published_snapshot.derived('CENSUS')}')").fetchall()
    counts = duckdb.sql(f"SELECT sum(STUDENTS) FROM read_parquet('{published_snapshot.derived('AUTHORITY_COUNTS')}')")
    assert census[0][0] > 0 and counts.fetchall()[0][0] == census[0][0]


def test_the_snapshot_keeps_every_field_as_text_with_its_source_line(mifkad_home, tmp_path):
    result = ingest.ingest(write_feed(tmp_path / "feed"), FEED_DATE)
    assert result.exit_code == 0
    snap = get_snapshot(FEED_DATE)
    schema = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{snap.feed('TALMIDIM')}')").fetchall()}
    assert schema.pop("_line") == "INTEGER"
    assert set(schema.values()) == {"VARCHAR"}
    rows = feed_rows(snap, "TALMIDIM", "MIKUD_7_TAL, MISPAR_ZEHUT, _line")
    assert rows[0] == ("0460914", valid_feed()["TALMIDIM"][0]["MISPAR_ZEHUT"], 2)   # leading zeros kept
    for table in ("CENSUS", "AUTHORITY_COUNTS"):
        assert snap.derived(table).exists()
    assert not snap.derived("STUDENTS").exists()      # a working table of the ingest, not published
    assert (snap.path / "report.json").exists()


@pytest.mark.parametrize("variant", ["windows_1255", "utf8_bom", "dd_mm_yyyy", "shuffled_columns", "crlf_line_ends"])
def test_real_file_variations_publish_the_same_content(variant, mifkad_home, tmp_path):
    options = {"windows_1255": dict(encoding="cp1255"), "utf8_bom": dict(bom=True),
               "dd_mm_yyyy": dict(dmy=True), "shuffled_columns": dict(shuffle=True),
               "crlf_line_ends": dict(crlf=True)}[variant]
    assert ingest.ingest(write_feed(tmp_path / "plain"), "2026-11-30").exit_code == 0
    result = ingest.ingest(write_feed(tmp_path / variant, **options), FEED_DATE)
    assert result.exit_code == 0, result.report.get("refusal")
    assert result.report["issues_total"] == 0
    plain, other = get_snapshot("2026-11-30"), get_snapshot(FEED_DATE)
    for prefix in ("TALMIDIM", "MOSDOT", "GORMEY_KESHER", "PIRTEY_KESHER"):
        cols = ", ".join(f'"{c}"' for c in duckdb.sql(f"SELECT * FROM read_parquet('{plain.feed(prefix)}')").columns)
        assert feed_rows(other, prefix, cols) == feed_rows(plain, prefix, cols)
    if variant == "windows_1255":
        assert result.report["files"]["TALMIDIM"]["encoding"] == "cp1255"
        assert feed_rows(other, "TALMIDIM", "SHEM_PRATI")[0] == ("יעל",)
    if variant == "dd_mm_yyyy":
        assert feed_rows(other, "TALMIDIM", "TAARICH_LEDA")[0] == ("2019-03-04",)


def test_header_names_match_without_case_spaces_or_bom(mifkad_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "KITOT")
    data = path.read_bytes()
    header, rest = data.split(b"\n", 1)
    header = b"\xef\xbb\xbf" + b",".join(b" " + h.lower() + b" " for h in header.split(b","))
    path.write_bytes(header + b"\n" + rest)
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 0 and result.report["issues_total"] == 0
    assert feed_rows(get_snapshot(FEED_DATE), "KITOT", "ID_KITA")[0] == ("100001",)


def test_mixed_line_ends_and_a_trailing_comma_in_the_header_still_publish(mifkad_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "PIRTEY_KESHER")
    lines = path.read_bytes().split(b"\n")
    lines[2] += b"\r"                                        # one CRLF among LF line ends
    path.write_bytes(b"\n".join(lines))
    path = file_of(folder, "KITOT")
    path.write_bytes(b"\n".join(line + b"," if line else line for line in path.read_bytes().split(b"\n")))
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 0, result.report.get("refusal")
    assert {(i["code"], i["prefix"], i["field"]) for i in result.report["issues"]} == {("W704", "KITOT", "UNNAMED_14")}
    snap = get_snapshot(FEED_DATE)
    assert feed_rows(snap, "PIRTEY_KESHER", "TAARICH_IDKUN, _line")[1] == ("2025-11-24", 3)
    assert feed_rows(snap, "KITOT", "UNNAMED_14")[0] == (None,)


def test_the_same_date_is_refused_without_replace_and_replaced_with_it(mifkad_home, tmp_path):
    assert ingest.ingest(write_feed(tmp_path / "one"), FEED_DATE).exit_code == 0
    first = get_snapshot(FEED_DATE)
    tables = valid_feed()
    tables["MOSDOT"][0]["SHEM_MOSAD"] = "שם חדש"
    again = ingest.ingest(write_feed(tmp_path / "two", tables), FEED_DATE)
    assert (again.exit_code, again.status) == (3, "exists")
    assert get_snapshot(FEED_DATE).token == first.token
    replaced = ingest.ingest(write_feed(tmp_path / "two", tables), FEED_DATE, replace=True)
    assert replaced.exit_code == 0
    now = get_snapshot(FEED_DATE)
    assert now.token != first.token
    assert feed_rows(now, "MOSDOT", "SHEM_MOSAD")[0] == ("שם חדש",)
    # The replaced content stays readable for a reader that resolved the link before the switch.
    assert feed_rows(first, "MOSDOT", "SHEM_MOSAD")[0] == ("יסודי בבלי",)


def test_a_failure_just_before_the_switch_leaves_the_old_snapshot_current(mifkad_home, tmp_path):
    assert ingest.ingest(write_feed(tmp_path / "one"), FEED_DATE).exit_code == 0
    old = get_snapshot(FEED_DATE)

    def crash():
        raise OSError("disk gone")

    with pytest.raises(OSError):
        ingest.ingest(write_feed(tmp_path / "two"), FEED_DATE, replace=True, before_switch=crash)
    assert get_snapshot(FEED_DATE).token == old.token
    assert [s.token for s in list_snapshots()] == [old.token]
    stores = list((mifkad_home / "snapshots" / ".store").iterdir())
    assert [s.name for s in stores] == [old.token]


KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from data import ingest
def die():
    os.kill(os.getpid(), signal.SIGKILL)
ingest.ingest({feed!r}, {date!r}, replace=True, before_switch=die)
"""


def test_a_process_killed_during_publishing_leaves_the_old_snapshot_and_the_next_run_cleans_up(mifkad_home, tmp_path):
    assert ingest.ingest(write_feed(tmp_path / "one"), FEED_DATE).exit_code == 0
    old = get_snapshot(FEED_DATE)
    feed = write_feed(tmp_path / "two")
    script = KILL_SCRIPT.format(repo=str(REPO), feed=str(feed), date=FEED_DATE)
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert get_snapshot(FEED_DATE).token == old.token
    leftovers = [s.name for s in (mifkad_home / "snapshots" / ".store").iterdir() if s.name != old.token]
    assert leftovers                                    # the killed run's complete-but-unpublished content
    assert len(feed_rows(get_snapshot(FEED_DATE), "TALMIDIM", "_line")) == 9
    assert ingest.ingest(write_feed(tmp_path / "three"), "2026-12-02").exit_code == 0
    assert not list((mifkad_home / "snapshots").glob(".*.tmp"))
    # Complete content might have been published a moment before the kill: it waits out the grace period.
    publish.clean_orphans(now=time.time() + publish.RELEASE_GRACE_SECONDS + 1)
    remaining = {s.name for s in (mifkad_home / "snapshots" / ".store").iterdir()}
    assert not remaining & set(leftovers)
    assert get_snapshot(FEED_DATE).token == old.token and get_snapshot("2026-12-02") is not None


def test_a_half_written_snapshot_from_a_crashed_run_is_removed_by_the_next_run(mifkad_home, tmp_path):
    half = mifkad_home / "snapshots" / ".store" / f"{FEED_DATE}.crashed"
    (half / "feed").mkdir(parents=True)
    (half / "feed" / "TALMIDIM.parquet").write_bytes(b"PAR1")
    assert ingest.ingest(write_feed(tmp_path / "feed"), FEED_DATE).exit_code == 0
    assert not half.exists()
    assert get_snapshot(FEED_DATE) is not None


def test_a_feed_over_the_rejection_threshold_is_refused_and_the_previous_snapshot_stays(mifkad_home, tmp_path):
    assert ingest.ingest(write_feed(tmp_path / "prev", date="2026-11-30"), "2026-11-30").exit_code == 0
    previous = get_snapshot("2026-11-30")
    tables = valid_feed()
    tables["PIRTEY_KESHER"][0]["TAARICH_IDKUN"] = "not a date"      # 1 of 5 rows: 20% > 5%
    result = ingest.ingest(write_feed(tmp_path / "feed", tables), FEED_DATE)
    assert (result.exit_code, result.status) == (1, "refused")
    assert get_snapshot(FEED_DATE) is None
    assert [s.token for s in list_snapshots()] == [previous.token]
    refusal = result.report["refusal"]
    assert [(r["code"], r["prefix"], r["value"]) for r in refusal] == [("E007", "PIRTEY_KESHER", "20.00%")]
    saved = json.loads(result.report_path.read_text(encoding="utf-8"))
    assert result.report_path.parent.parent == mifkad_home / "ingest-reports"
    assert saved["issues"][0]["code"] == "E203" and saved["issues"][0]["line"] == 2
    assert (result.report_path.parent / "rejected" / file_of(tmp_path / "feed", "PIRTEY_KESHER").name).exists()
    assert ingest.list_refused()[0]["date"] == FEED_DATE
    events = audit_events("ingest_refused")
    assert events and events[-1]["actor"] == "operator" and "E007" in events[-1]["details"]


def test_the_threshold_is_a_setting(mifkad_home, tmp_path, monkeypatch):
    from common import config
    monkeypatch.setenv("MIFKAD_REJECT_THRESHOLD", "0.25")
    config._cached.cache_clear()
    tables = valid_feed()
    tables["PIRTEY_KESHER"][0]["TAARICH_IDKUN"] = "not a date"      # 20% <= 25%
    assert ingest.ingest(write_feed(tmp_path / "feed", tables), FEED_DATE).exit_code == 0


def test_the_report_counts_and_explains_in_hebrew_and_english(mifkad_home, tmp_path, monkeypatch):
    from common import config
    monkeypatch.setenv("MIFKAD_REJECT_THRESHOLD", "1")
    config._cached.cache_clear()
    tables = valid_feed()
    tables["TALMIDIM"][8]["TAARICH_AZIVA"] = "31/02/2015"
    tables["TALMIDIM"][0]["CODE_MIN"] = "7"
    result = ingest.ingest(write_feed(tmp_path / "feed", tables), FEED_DATE)
    report = get_snapshot(FEED_DATE).report()
    assert report["counts_by_code"]["E204"]["count"] == 1 and report["counts_by_code"]["W702"]["count"] == 1
    talmidim = report["files"]["TALMIDIM"]
    assert (talmidim["rows_read"], talmidim["rows_accepted"], talmidim["rows_rejected"], talmidim["warnings"]) == (9, 8, 1, 1)
    issue = next(i for i in report["issues"] if i["code"] == "E204")
    assert issue["file"] == f"TALMIDIM_{FEED_DATE}.csv" and issue["value"] == "31/02/2015"
    assert issue["message_en"] == "The date '31/02/2015' does not exist"
    assert issue["message_he"] == "התאריך '31/02/2015' אינו קיים בלוח השנה"
    full = duckdb.sql(f"SELECT code, line, field FROM read_parquet('{get_snapshot(FEED_DATE).path / 'issues.parquet'}') "
                      "ORDER BY line").fetchall()
    assert full == [("W702", 2, "CODE_MIN"), ("E204", 10, "TAARICH_AZIVA")]
    events = audit_events("ingest_published")
    assert events[-1]["actor"] == "operator" and json.loads(events[-1]["details"])["date"] == FEED_DATE
    assert result.published


def test_the_command_line_prints_a_summary_and_returns_the_exit_code(mifkad_home, tmp_path, capsys):
    folder = write_feed(tmp_path / "feed")
    assert ingest.main([str(folder), "--date", FEED_DATE]) == 0
    out = capsys.readouterr().out
    assert "PUBLISHED" in out and "TALMIDIM" in out and "9" in out
    assert ingest.main([str(folder), "--date", FEED_DATE]) == 3
    assert "--replace" in capsys.readouterr().err
    assert ingest.main([str(folder), "--date", "2026-02-31"]) == 2
    file_of(folder, "MEGAMOT").unlink()
    assert ingest.main([str(folder), "--date", "2026-12-02"]) == 2
    assert "E001" in capsys.readouterr().out


def test_python_dash_m_runs_the_ingest(mifkad_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    proc = subprocess.run([sys.executable, "-m", "data.ingest", str(folder), "--date", FEED_DATE], cwd=REPO,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert get_snapshot(FEED_DATE) is not None


def test_retention_deletes_old_daily_snapshots_but_never_approved_ones(mifkad_home, tmp_path, monkeypatch):
    from common import config
    from data.approvals import approve
    monkeypatch.setenv("MIFKAD_SNAPSHOT_RETENTION_DAYS", "10")
    config._cached.cache_clear()
    folder = write_feed(tmp_path / "feed")
    for day in ("2026-11-01", "2026-11-08"):
        assert ingest.ingest(folder, day).exit_code == 0
    approve("2026-11-08", by="legal@education.gov.il")
    old_content = get_snapshot("2026-11-01").path
    assert ingest.ingest(folder, "2026-12-15").exit_code == 0      # retention runs after publishing
    assert [s.date for s in list_snapshots()] == ["2026-11-08", "2026-12-15"]
    assert old_content.exists()                  # released, kept for readers during the grace period
    assert publish.apply_retention(date(2026, 12, 20)) == []
    publish.apply_retention(date(2026, 12, 20), now=time.time() + publish.RELEASE_GRACE_SECONDS + 1)
    assert not old_content.exists()
    assert [s.date for s in list_snapshots()] == ["2026-11-08", "2026-12-15"]


def test_retention_runs_after_each_publish_counting_from_the_newest_snapshot(mifkad_home, tmp_path, monkeypatch):
    from common import config
    monkeypatch.setenv("MIFKAD_SNAPSHOT_RETENTION_DAYS", "30")
    config._cached.cache_clear()
    folder = write_feed(tmp_path / "feed")
    assert ingest.ingest(folder, "2026-08-01").exit_code == 0
    assert get_snapshot("2026-08-01") is not None          # the newest snapshot is never the one deleted
    assert ingest.ingest(folder, FEED_DATE).exit_code == 0
    assert [s.date for s in list_snapshots()] == [FEED_DATE]


def test_every_issue_code_is_documented_with_both_messages():
    from data.ingest.issues import ISSUES
    doc = (REPO / "docs" / "ingest.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:5]]
            for line in doc.splitlines() if line.startswith("| E") or line.startswith("| W")}
    assert set(rows) == set(ISSUES)
    for code, t in ISSUES.items():
        assert rows[code] == [t.severity, t.he, t.en], code
