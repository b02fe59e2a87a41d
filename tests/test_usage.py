"""Usage statistics over the audit trail: each statistic counts what was recorded, filters narrow it,
a roster manager's view never leaves their authority, and the export is audited and spreadsheet-safe."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest

from auth import audit, records, usage
from auth.principal import load_principal
from common import portal_db
from common.clock import today


@pytest.fixture
def write_at(monkeypatch):
    """record() events as if written at a given day (and hour)."""
    def write(day: str, action: str = "page_view", actor: str = "u@x.test", authority: str | None = "5000",
              hour: int = 10, **kw) -> int:
        monkeypatch.setattr(audit, "now_iso", lambda: f"{day}T{hour:02d}:00:00.000000+02:00")
        return audit.record(action, actor=actor, authority=authority, **kw)
    return write


def manager_of(authority: str, email: str):
    records.open_access(authority, by="operator:test", basis="operator")
    records.appoint_roster_manager(authority, email, by="operator:test")
    return load_principal(email)


def test_filters_narrow_events_by_authority_user_action_and_inclusive_dates(mifkad_home, write_at):
    write_at("2026-11-01", actor="a@x.test", authority="5000")
    write_at("2026-11-02", actor="b@x.test", authority="5000", hour=23)
    write_at("2026-11-03", "download", actor="a@x.test", authority="5000", hour=23)
    write_at("2026-11-04", actor="a@x.test", authority="70")
    seqs = lambda f: usage.events(f)["seq"].to_list()
    assert seqs(usage.EventFilter()) == [4, 3, 2, 1]
    assert seqs(usage.EventFilter(authority="5000")) == [3, 2, 1]
    assert seqs(usage.EventFilter(actor="a@x.test")) == [4, 3, 1]
    assert seqs(usage.EventFilter(action="download")) == [3]
    assert seqs(usage.EventFilter(date_from=date(2026, 11, 2), date_to=date(2026, 11, 3))) == [3, 2]
    assert usage.count_events(usage.EventFilter(authority="5000", actor="a@x.test")) == 2


def test_activity_counts_events_per_day_and_authority(mifkad_home, write_at):
    for day, authority in [("2026-11-01", "5000"), ("2026-11-01", "5000"), ("2026-11-01", "70"),
                           ("2026-11-02", "5000"), ("2026-11-02", None)]:
        write_at(day, authority=authority)
    rows = usage.activity_by_day(usage.EventFilter()).rows()
    assert rows == [(date(2026, 11, 1), "5000", 2), (date(2026, 11, 1), "70", 1),
                    (date(2026, 11, 2), None, 1), (date(2026, 11, 2), "5000", 1)]


def test_daily_counts_stay_in_step_with_the_events_through_pruning(mifkad_home, write_at):
    for day, actor, authority in [("2024-01-01", "a@x.test", "5000"), ("2024-01-01", "a@x.test", "5000"),
                                  ("2024-01-01", "b@x.test", None), ("2026-11-01", "a@x.test", "5000")]:
        write_at(day, actor=actor, authority=authority)
    write_at("2024-01-01", "download", actor="a@x.test")
    con = portal_db.connect()
    con.row_factory = None
    raw = "SELECT substr(at, 1, 10), coalesce(authority, ''), actor, action, count(*) FROM audit_events GROUP BY 1, 2, 3, 4"
    daily = "SELECT day, authority, actor, action, events FROM audit_daily ORDER BY 1, 2, 3, 4"
    assert sorted(con.execute(raw).fetchall()) == con.execute(daily).fetchall()
    assert len(con.execute(daily).fetchall()) == 4
    (mifkad_home / "mifkad.toml").write_text("audit_retention_days = 365\n", encoding="utf-8")
    from common import config
    config._cached.cache_clear()
    assert audit.prune("operator:test", on=date(2026, 12, 3)).events == 3     # the download stays 7 years
    assert sorted(con.execute(raw).fetchall()) == con.execute(daily).fetchall()
    assert ("2024-01-01", "", "b@x.test", "page_view", 1) not in con.execute(daily).fetchall()


def test_downloads_are_counted_per_week_starting_on_sunday(mifkad_home, write_at):
    write_at("2026-11-07", "download", authority="5000")   # Saturday: week of Sunday 1 November
    write_at("2026-11-08", "download", authority="5000")   # Sunday: a new week
    write_at("2026-11-10", "download", authority="70")
    write_at("2026-11-10", "page_view", authority="70")
    assert usage.week_start(date(2026, 11, 7)) == date(2026, 11, 1)
    assert usage.week_start(date(2026, 11, 8)) == date(2026, 11, 8)
    assert usage.downloads_per_week(usage.EventFilter()).rows() == [
        (date(2026, 11, 1), 1, 1), (date(2026, 11, 8), 2, 2)]


def test_authorities_with_access_that_never_downloaded(mifkad_home, write_at):
    for authority in ("5000", "70", "10026"):
        records.open_access(authority, by="operator:test", basis="operator")
    records.close_access("10026", by="operator:test")
    write_at("2026-11-01", "download", authority="5000")
    write_at("2026-11-01", "page_view", authority="70")
    assert usage.authorities_never_downloaded() == ["70"]


def test_delegations_ending_within_30_days_or_unused_for_90_are_listed(mifkad_home, write_at):
    manager = manager_of("5000", "m@x.test")
    soon = records.create_grant(manager, "5000", "soon@x.test", ["view_aggregates"], today() + timedelta(days=20))
    later = records.create_grant(manager, "5000", "busy@x.test", ["view_aggregates"], today() + timedelta(days=300))
    records.create_grant(manager, "5000", "idle@x.test", ["view_aggregates"], today() + timedelta(days=300))
    assert records.get_grant(soon) and records.get_grant(later)
    on = today() + timedelta(days=95)             # every grant is now old enough to have been unused 90 days
    write_at((on - timedelta(days=10)).isoformat(), actor="busy@x.test", authority="5000")
    write_at((on - timedelta(days=5)).isoformat(), actor="idle@x.test", authority="70")   # another authority
    df = usage.delegations_to_review(on=on)
    by_grantee = {r["grantee"]: r for r in df.iter_rows(named=True)}
    assert set(by_grantee) == {"idle@x.test"}          # "soon" has ended by then; "busy" viewed a page
    assert by_grantee["idle@x.test"]["unused"] and not by_grantee["idle@x.test"]["expiring"]
    now = {r["grantee"]: r for r in usage.delegations_to_review().iter_rows(named=True)}
    assert set(now) == {"soon@x.test"} and now["soon@x.test"]["expiring"] and not now["soon@x.test"]["unused"]


def test_personal_view_outliers_are_beyond_median_plus_three_mads(mifkad_home, write_at):
    counts = {"a@x.test": 10, "b@x.test": 12, "c@x.test": 11, "d@x.test": 9, "e@x.test": 40}
    for actor, n in counts.items():
        for i in range(n):
            write_at("2026-11-01", "personal_view", actor=actor, details={"student": f"1:{i:09d}"})
    write_at("2026-11-01", "page_view", actor="f@x.test")
    df = usage.personal_views_per_user(usage.EventFilter())
    assert dict(zip(df["actor"], df["views"])) == counts
    assert df.filter(df["outlier"])["actor"].to_list() == ["e@x.test"]
    assert usage.outlier_threshold(list(counts.values())) == 11 + 3 * 1


def test_equal_counts_with_one_extra_view_are_not_outliers():
    assert usage.outlier_threshold([5, 5, 5, 6]) == 8
    assert usage.outlier_threshold([]) is None


def test_vendor_deliveries_list_each_attempt_and_whether_it_failed(mifkad_home, write_at):
    attempt = {"vendor_id": 1, "vendor": "סופט-אדו", "snapshot": "2026-11-01", "package": "5000_2026-11-01.zip",
               "sha256": "ab" * 32, "counts": {"TALMIDIM": 3}}
    write_at("2026-11-01", "vendor_delivery", actor="system", details={**attempt, "attempt": 1})
    write_at("2026-11-01", "vendor_delivery_failed", actor="system", details={**attempt, "attempt": 1, "error": "disk"})
    write_at("2026-11-02", "vendor_delivery", actor="system", details={**attempt, "attempt": 2})
    write_at("2026-11-02", "vendor_delivery", actor="system", authority="70",
             details={**attempt, "package": "70_2026-11-01.zip", "attempt": 1})
    write_at("2026-11-02", "download", details={"package": "x.zip"})
    df = usage.vendor_deliveries(usage.EventFilter())
    assert df.select("authority", "vendor", "package", "attempt", "failed").rows() == [
        ("70", "סופט-אדו", "70_2026-11-01.zip", 1, False),
        ("5000", "סופט-אדו", "5000_2026-11-01.zip", 2, False),
        ("5000", "סופט-אדו", "5000_2026-11-01.zip", 1, True)]
    assert usage.vendor_deliveries(usage.EventFilter(authority="70"))["package"].to_list() == ["70_2026-11-01.zip"]


def test_student_identities_are_masked_unless_personal_details_are_allowed(mifkad_home, write_at):
    write_at("2026-11-01", "personal_view", details={"student": "1:039337423"})
    masked = json.loads(usage.events(usage.EventFilter())["details"][0])
    shown = json.loads(usage.events(usage.EventFilter(), personal=True)["details"][0])
    assert masked["student"] == "*****7423"
    assert shown["student"] == "1:039337423"


def test_student_search_terms_in_views_and_exports_are_masked_unless_personal_details_are_allowed(
        mifkad_home, write_at):
    searched = {"view": "all", "id": "039337423", "name": "כהן", "grade": 3}
    write_at("2026-11-01", "page_view", details={"page": "students", "filters": searched})
    write_at("2026-11-01", "table_export", details={"page": "students", "filters": searched, "rows": 1})
    for row in usage.events(usage.EventFilter())["details"]:
        masked = json.loads(row)["filters"]
        assert masked == {"view": "all", "id": "*****7423", "name": "•••", "grade": 3}
        assert "039337423" not in row and "כהן" not in row
    data = usage.export_events("ministry@x.test", usage.EventFilter(), personal=False)
    assert "039337423" not in data.decode("utf-8") and "כהן" not in data.decode("utf-8")
    shown = json.loads(usage.events(usage.EventFilter(action="page_view"), personal=True)["details"][0])
    assert shown["filters"]["id"] == "039337423" and shown["filters"]["name"] == "כהן"


def test_masked_events_carry_no_chain_hash_that_would_let_the_hidden_digits_be_guessed(mifkad_home, write_at):
    """Each hash covers the unmasked event: with it, 100,000 guesses recover a masked identity number."""
    from auth import audit
    write_at("2026-11-01", "personal_view", details={"student": "1:039337423"})
    write_at("2026-11-01", "page_view", details={"page": "students", "filters": {"id": "039337423"}})
    masked = usage.events(usage.EventFilter())
    assert masked["hash"].null_count() == masked.height == 2
    header, *lines = usage.export_events("ministry@x.test", usage.EventFilter()).decode("utf-8-sig").splitlines()
    hashes = {row["hash"] for row in csv.DictReader([header, *lines])}
    assert hashes == {""}
    assert all(h for h in usage.events(usage.EventFilter(), personal=True)["hash"])
    assert audit.verify() is None                      # the stored chain itself is untouched


def test_an_authoritys_log_never_widens_to_every_authority():
    with pytest.raises(PermissionError):
        usage.for_authority(None, usage.EventFilter())
    pinned = usage.for_authority("5000", usage.EventFilter(authority="70", actor="a@x.test"))
    assert pinned.authority == "5000" and pinned.actor == "a@x.test"


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_the_export_is_recorded_first_and_holds_exactly_what_it_says(mifkad_home, write_at):
    write_at("2026-11-01", actor="a@x.test", authority="5000")
    write_at("2026-11-02", actor="b@x.test", authority="5000")
    write_at("2026-11-02", actor="c@x.test", authority="70")
    f = usage.EventFilter(authority="5000")
    data = usage.export_events("admin@x.test", f)
    rows = read_csv(data)
    assert rows[0] == list(usage.EVENT_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["2", "1"]
    event = portal_db.connect().execute("SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    assert (event["seq"], event["action"], event["actor"], event["authority"]) == (4, "audit_export", "admin@x.test", None)
    assert json.loads(event["details"]) == {"filters": {"authority": "5000"}, "rows": 2, "through_seq": 3}
    assert audit.verify() is None


def test_a_roster_managers_export_stays_in_their_authority(mifkad_home, write_at):
    write_at("2026-11-01", actor="a@x.test", authority="5000")
    write_at("2026-11-01", actor="a@x.test", authority="70")
    write_at("2026-11-01", "sign_in", actor="a@x.test", authority=None)
    rows = read_csv(usage.export_events("m@x.test", usage.EventFilter(authority="70"), scope_authority="5000"))
    assert [(r[0], r[4]) for r in rows[1:]] == [("1", "5000")]
    event = usage.events(usage.EventFilter(action="audit_export"))
    assert event["authority"].to_list() == ["5000"]


def test_export_cells_that_a_spreadsheet_would_run_are_neutralised(mifkad_home, write_at):
    write_at("2026-11-01", actor="=HYPERLINK(\"http://evil\")", reason="+972501234567", details={"page": "-1"})
    write_at("2026-11-01", actor="@SUM(A1)", reason="\tx")
    rows = read_csv(usage.export_events("admin@x.test", usage.EventFilter()))
    header, first, second = rows[0], rows[2], rows[1]
    cell = lambda row, name: row[header.index(name)]
    assert cell(first, "actor") == "'=HYPERLINK(\"http://evil\")"
    assert cell(first, "reason") == "'+972501234567"
    assert cell(second, "actor") == "'@SUM(A1)"
    assert cell(second, "reason") == "'\tx"
    assert cell(first, "details") == '{"page":"-1"}'          # starts with {: left as it is
    assert cell(first, "at") == "2026-11-01T10:00:00.000000+02:00"
