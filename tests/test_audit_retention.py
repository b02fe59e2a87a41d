"""Retention pruning removes old events by configuration, keeps approved-export events 7 years at
least, and leaves a chain that still verifies; a deletion dressed up as pruning is still caught."""
from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

from auth import audit
from common import portal_db
from common.config import settings

TODAY = date(2026, 12, 3)


@pytest.fixture
def write_at(monkeypatch):
    """record() events as if written on a given day."""
    def write(day: str, action: str = "page_view", **kw) -> int:
        monkeypatch.setattr(audit, "now_iso", lambda: f"{day}T10:00:00.000000+02:00")
        return audit.record(action, actor=kw.pop("actor", "u@x.test"), authority=kw.pop("authority", "5000"), **kw)
    return write


def actions_left() -> list[tuple[int, str]]:
    con = portal_db.connect()
    return [(r["seq"], r["action"]) for r in con.execute("SELECT seq, action FROM audit_events ORDER BY seq")]


def set_retention(home, days: int) -> None:
    (home / "mifkad.toml").write_text(f"audit_retention_days = {days}\n", encoding="utf-8")
    from common import config
    config._cached.cache_clear()


def test_prune_removes_events_past_retention_and_the_chain_still_verifies(mifkad_home, write_at):
    set_retention(mifkad_home, 365)
    for day in ("2024-01-10", "2025-12-02", "2025-12-03"):     # the first two are past 365 days
        write_at(day)
    write_at("2026-12-01")
    report = audit.prune("operator:test", on=TODAY)
    assert report.events == 2 and report.runs == [(1, 2)]
    assert actions_left() == [(3, "page_view"), (4, "page_view"), (5, "audit_pruned")]
    assert audit.verify() is None


def test_approved_export_events_are_kept_seven_years_whatever_the_setting(mifkad_home, write_at):
    set_retention(mifkad_home, 30)
    write_at("2018-06-01", "download")                 # older than 7 years: may go
    write_at("2020-01-01", "page_view")
    for action in sorted(audit.EXPORT_EVENTS):         # 6 years old: must stay
        write_at("2020-12-01", action)
    write_at("2020-12-02", "page_view")
    write_at("2026-11-01", "sign_in")
    report = audit.prune("operator:test", on=TODAY)
    n = len(audit.EXPORT_EVENTS)
    kept = [a for _, a in actions_left()]
    assert kept == sorted(audit.EXPORT_EVENTS) + ["audit_pruned"]
    assert report.runs == [(1, 2), (3 + n, 4 + n)] and report.events == 4
    assert audit.verify() is None


def test_pruning_events_are_never_pruned_and_repeated_pruning_verifies(mifkad_home, write_at):
    set_retention(mifkad_home, 10)
    write_at("2026-01-01")
    audit.prune("operator:test", on=date(2026, 2, 1))          # event 2 announces the first pruning
    write_at("2026-03-01")
    write_at("2026-03-02")
    audit.prune("operator:test", on=TODAY)
    assert actions_left() == [(2, "audit_pruned"), (5, "audit_pruned")]
    assert audit.verify() is None
    assert audit.prune("operator:test", on=TODAY).events == 0   # nothing left to remove, nothing recorded
    assert actions_left()[-1] == (5, "audit_pruned")


def test_the_pruning_event_says_what_was_removed(mifkad_home, write_at):
    set_retention(mifkad_home, 100)
    write_at("2025-01-01")
    write_at("2025-01-02")
    report = audit.prune("operator:ops", on=TODAY)
    row = portal_db.connect().execute("SELECT * FROM audit_events WHERE seq = ?", (report.announced_by,)).fetchone()
    details = json.loads(row["details"])
    assert row["actor"] == "operator:ops"
    assert details["events"] == 2 and details["runs"] == 1
    assert (details["first_seq"], details["last_seq"]) == (1, 2)
    assert details["cutoff"] == "2026-08-25"


def test_a_dry_run_removes_nothing_and_records_nothing(mifkad_home, write_at):
    set_retention(mifkad_home, 10)
    write_at("2025-01-01")
    report = audit.prune("operator:test", on=TODAY, dry_run=True)
    assert report.events == 1 and report.announced_by is None
    assert actions_left() == [(1, "page_view")]


def test_prune_command_uses_the_configured_retention(mifkad_home, write_at, capsys):
    set_retention(mifkad_home, 10)
    write_at("2020-01-01")
    write_at("2020-01-02")
    assert audit.main(["prune", "--by", "operator:cron"]) == 0
    assert "removed 2 events in 1 runs" in capsys.readouterr().out
    assert audit.main(["verify"]) == 0


def test_a_deletion_disguised_as_pruning_is_detected(mifkad_home, write_at):
    """An attacker adds a checkpoint for events they want gone; no pruning event announced it."""
    for day in ("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"):
        write_at(day)
    con = sqlite3.connect(settings().portal_db_path, isolation_level=None)
    con.row_factory = sqlite3.Row
    two, three = (con.execute("SELECT * FROM audit_events WHERE seq = ?", (s,)).fetchone() for s in (2, 3))
    con.execute("INSERT INTO audit_pruned_runs VALUES (2, 3, ?, ?, ?, 4)", (two["prev_hash"], three["hash"], three["at"]))
    con.execute("DELETE FROM audit_events WHERE seq BETWEEN 2 AND 3")     # the trigger lets it through now
    broken = audit.verify()
    assert broken is not None and broken.seq == 2 and "without an announced retention pruning" in broken.problem


def test_events_removed_after_a_real_pruning_are_detected(mifkad_home, write_at):
    set_retention(mifkad_home, 100)
    write_at("2025-01-01")
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        write_at(day)
    audit.prune("operator:test", on=TODAY)
    con = sqlite3.connect(settings().portal_db_path, isolation_level=None)
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute("DELETE FROM audit_events WHERE seq = 3")
    broken = audit.verify()
    assert broken is not None and broken.seq == 3 and "missing" in broken.problem
