"""The ministry's ingest page: snapshots with counts, rejections by code with masked examples, refused
feeds and why, audited downloads of the rejected rows; nobody else can open it."""
from __future__ import annotations

import json

from auth import records
from common import portal_db
from data import ingest
from data.ingest import review
from tests.fault_feeds import FEED_DATE, file_of, valid_feed, write_feed

MINISTRY = "admin@education.gov.il"
MANAGER = "manager.tlv@mifkad.test"


def _feeds(mifkad_home, tmp_path):
    """One published snapshot with a rejected row and a warning, and one refused feed."""
    (mifkad_home / "mifkad.toml").write_text("reject_threshold = 0.25\n", encoding="utf-8")
    from common import config
    config._cached.cache_clear()
    tables = valid_feed()
    tables["PIRTEY_KESHER"][4]["MISPAR_ZEHUT"] = "039337422"            # bad check digit: rejected
    tables["TALMIDIM"][0]["CODE_MIN"] = "7"                             # unknown code: warning
    assert ingest.ingest(write_feed(tmp_path / "ok", tables), FEED_DATE).exit_code == 0
    bad = valid_feed()
    for row in bad["PIRTEY_KESHER"][:2]:
        row["TAARICH_IDKUN"] = "yesterday"                              # 2 of 5: over 25%
    assert ingest.ingest(write_feed(tmp_path / "bad", bad), "2026-12-02").exit_code == 1


def _events(action):
    con = portal_db.connect()
    try:
        return [dict(r) for r in con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq", (action,))]
    finally:
        con.close()


def test_ministry_staff_see_snapshots_codes_and_refused_feeds(mifkad_home, tmp_path, app_session):
    _feeds(mifkad_home, tmp_path)
    records.ensure_configured_admins()
    s = app_session(MINISTRY).open("ingest_report")
    text = s.text()
    assert "דוח קליטת הזנה" in text
    expanders = [e.label for e in s.at.expander]
    assert any(label.startswith("E301") for label in expanders)
    assert any(label.startswith("W702") for label in expanders)
    assert "E007" in text and "PIRTEY_KESHER" in text                       # why the other feed was refused
    shown = "\n".join(str(d.value) for d in s.at.dataframe)
    assert "039337422" not in shown and "*****7422" in shown                # identity numbers masked
    assert any(b.label.startswith("הורדת PIRTEY_KESHER") for b in s.at.get("download_button"))
    assert _events("page_view")[-1]["details"] and "ingest_report" in _events("page_view")[-1]["details"]


def test_nobody_else_can_open_the_ingest_page(mifkad_home, tmp_path, app_session):
    _feeds(mifkad_home, tmp_path)
    records.ensure_configured_admins()
    records.open_access("5000", by="operator:test", basis="operator")
    records.appoint_roster_manager("5000", MANAGER, by="operator:test")
    s = app_session(MANAGER).open("ingest_report")
    assert "דוח קליטת הזנה" not in s.text()
    assert not [e for e in s.at.expander if e.label.startswith("E301")]


def test_the_rejected_rows_download_is_audited_before_the_bytes_are_served(mifkad_home, tmp_path):
    _feeds(mifkad_home, tmp_path)
    run = review.published_runs()[0]
    (path,) = review.rejected_files(run)
    before = len(_events("ingest_rejects_download"))
    data = review.download_rejected(MINISTRY, run, path.name)
    event = _events("ingest_rejects_download")[before]
    assert event["actor"] == MINISTRY
    assert json.loads(event["details"]) == {"snapshot": FEED_DATE, "status": "published", "folder": run.folder.name,
                                            "file": file_of(tmp_path / "ok", "PIRTEY_KESHER").name}
    original = file_of(tmp_path / "ok", "PIRTEY_KESHER").read_bytes().split(b"\n")
    assert data.split(b"\n")[:2] == [original[0], original[5]]              # header, then line 6 as received
    refused = review.refused_runs()[0]
    assert [p.name for p in review.rejected_files(refused)] == [path.name]


def test_a_file_outside_the_rejected_folder_cannot_be_downloaded(mifkad_home, tmp_path):
    _feeds(mifkad_home, tmp_path)
    run = review.published_runs()[0]
    import pytest
    with pytest.raises(FileNotFoundError):
        review.download_rejected(MINISTRY, run, "../report.json")
    assert not _events("ingest_rejects_download")
