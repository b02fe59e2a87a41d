"""A scripted tour by several people in the browser; then what the usage review and the authority
audit logs show, and what their exports hold, is compared with what the tour did, event by event;
and an edited event in the resulting records is reported by `python -m auth.audit verify`.

Tables are drawn on a canvas (no cell text in the page), so the pages are compared through the
counts they print and through their CSV exports, which must match the stored events cell for cell.
"""
from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from auth import usage
from tests.e2e.helpers import REPO, click_and_wait, login, page_text, screenshot

ADMIN = "admin@education.gov.il"
TLV_MANAGER = "manager.tlv@mifkad.test"
ANALYST = "analyst.tlv@mifkad.test"
REGION_MANAGER = "manager.region@mifkad.test"


def query(stack, sql: str, *params) -> list[dict]:
    con = stack.records()
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def events_after(stack, seq: int) -> list[dict]:
    rows = query(stack, "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq", seq)
    for r in rows:
        r["details"] = json.loads(r["details"])
    return rows


def last_export(stack, start: int, actor: str) -> dict:
    return [e for e in events_after(stack, start) if e["action"] == "audit_export" and e["actor"] == actor][-1]


def open_nav(page: Page, title: str) -> None:
    click_and_wait(page, page.get_by_role("link", name=title))


def choose(page: Page, label: str, value: str) -> None:
    """Pick a value in the Streamlit select box labelled `label` (typing filters its list)."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label)
    box.click()
    box.locator("input").fill(value)
    click_and_wait(page, page.get_by_role("option", name=value, exact=True))


def download_export(page: Page, label: str, path: Path) -> list[list[str]]:
    with page.expect_download() as download:
        page.get_by_role("button", name=label).click()
    download.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "the export must carry a byte-order mark for Excel"
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0] == list(usage.EVENT_COLUMNS)
    return rows[1:]


def assert_export_matches(stack, rows: list[list[str]], export_event: dict, where: str, *params,
                          masked: bool) -> None:
    """The export holds exactly the stored events its own audit event names, cell for cell."""
    through = export_event["details"]["through_seq"]
    stored = query(stack, f"SELECT * FROM audit_events WHERE seq <= ? AND {where} ORDER BY seq DESC",
                   through, *params)
    assert export_event["details"]["rows"] == len(rows) == len(stored)
    for cells, event in zip(rows, stored):
        if masked:
            event["details"] = usage._mask_students(event["details"])
            event["hash"] = None           # a hash beside a masked event would let it be guessed
        assert cells == [str(event["seq"])] + [usage.neutralise(event[c]) for c in usage.EVENT_COLUMNS[1:]]


def test_usage_pages_and_exports_match_the_tour_event_by_event(e2e_stack, new_context, tmp_path):
    start = query(e2e_stack, "SELECT coalesce(max(seq), 0) AS seq FROM audit_events")[0]["seq"]

    # 1. Tel Aviv's roster manager reads the authority's log narrowed to delegations, and exports it.
    manager = login(new_context(), "tlv-manager")
    open_nav(manager, "יומן ביקורת")
    choose(manager, "פעולה", "האצלה חדשה")
    grants = query(e2e_stack, "SELECT count(*) AS n FROM audit_events WHERE authority = '5000' "
                              "AND action = 'grant_created'")[0]["n"]
    assert grants >= 1 and (f"{grants} אירועים" if grants > 1 else "אירוע אחד") in page_text(manager)
    screenshot(manager, "audit_log_manager")
    manager_rows = download_export(manager, "ייצוא יומן הרשות (CSV)", tmp_path / "manager.csv")
    assert any(ANALYST in row[5] for row in manager_rows)          # the demo's delegation to the analyst
    assert_export_matches(e2e_stack, manager_rows, last_export(e2e_stack, start, TLV_MANAGER),
                          "authority = '5000' AND action = 'grant_created'", masked=False)

    # 2. The analyst signs in and out again.
    analyst = login(new_context(), "tlv-analyst")
    analyst.get_by_role("button", name="יציאה").click()
    analyst.wait_for_url(lambda url: not url.startswith(e2e_stack.base_url), timeout=60_000)

    # 3. The regional council's manager opens their log: only their own page view is there.
    region = login(new_context(), "region-manager")
    open_nav(region, "יומן ביקורת")
    assert "(10026)" in page_text(region) and "אירוע אחד" in page_text(region)
    region_rows = download_export(region, "ייצוא יומן הרשות (CSV)", tmp_path / "region.csv")
    assert [(r[2], r[3], r[4]) for r in region_rows] == [(REGION_MANAGER, "page_view", "10026")]
    assert_export_matches(e2e_stack, region_rows, last_export(e2e_stack, start, REGION_MANAGER), "authority = '10026'",
                          masked=False)

    # 4. Ministry staff review the usage: one person's events, the downloads, then export everything.
    admin = login(new_context(), "ministry-admin")
    open_nav(admin, "סקירת שימוש")
    expect(admin.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
    choose(admin, "משתמש/ת", ANALYST)
    admin.get_by_role("tab", name="אירועים").click()
    # Every event of the analyst in the shared trail: other tests' sessions too, and this tour's two.
    analyst_events = query(e2e_stack, "SELECT count(*) AS n FROM audit_events WHERE actor = ?", ANALYST)[0]["n"]
    tour_events = query(e2e_stack, "SELECT action FROM audit_events WHERE actor = ? AND seq > ? ORDER BY seq",
                        ANALYST, start)
    assert [e["action"] for e in tour_events][:1] == ["sign_in"] and "sign_out" in [e["action"] for e in tour_events]
    assert f"{analyst_events} אירועים" in page_text(admin)
    choose(admin, "משתמש/ת", "הכול")
    admin.get_by_role("tab", name="הורדות").click()
    with_access = {r["authority"] for r in query(e2e_stack, "SELECT authority FROM authority_access "
                                                            "WHERE closed_at IS NULL")}
    downloaded = {r["authority"] for r in query(e2e_stack, "SELECT DISTINCT authority FROM audit_events "
                                                           "WHERE action = 'download'")}
    never = with_access - downloaded
    assert {"5000", "10026"} <= with_access
    downloads_text = page_text(admin)
    assert (f"{len(never)} רשויות" in downloads_text) if never else ("הורידו לפחות פעם אחת" in downloads_text)
    admin.get_by_role("tab", name="אירועים").click()
    screenshot(admin, "usage_review")
    admin_rows = download_export(admin, "ייצוא האירועים המסוננים (CSV)", tmp_path / "all.csv")

    # What the tour's people did, in order (background work such as vault deliveries may interleave;
    # home page views are left out: the tour did not ask for them).
    people = {ADMIN, TLV_MANAGER, ANALYST, REGION_MANAGER}
    tour = [(e["actor"], e["action"], e["authority"], e["details"].get("page"), e["details"].get("filters", {}))
            for e in events_after(e2e_stack, start) if e["actor"] in people
            and not (e["action"] == "page_view" and e["details"].get("page") == "home")]
    assert [t[:4] for t in tour] == [
        (TLV_MANAGER, "sign_in", None, None),
        (TLV_MANAGER, "page_view", "5000", "audit_log"),
        (TLV_MANAGER, "page_view", "5000", "audit_log"),
        (TLV_MANAGER, "audit_export", "5000", None),
        (ANALYST, "sign_in", None, None),
        (ANALYST, "sign_out", None, None),
        (REGION_MANAGER, "sign_in", None, None),
        (REGION_MANAGER, "page_view", "10026", "audit_log"),
        (REGION_MANAGER, "audit_export", "10026", None),
        (ADMIN, "sign_in", None, None),
        (ADMIN, "page_view", None, "usage"),
        (ADMIN, "page_view", None, "usage"),
        (ADMIN, "page_view", None, "usage"),
        (ADMIN, "audit_export", None, None),
    ]
    assert tour[2][4]["action"] == "grant_created" and tour[3][4] == tour[2][4]   # exported what was shown
    assert tour[11][4]["actor"] == ANALYST and "actor" not in tour[12][4]
    assert_export_matches(e2e_stack, admin_rows, last_export(e2e_stack, start, ADMIN), "1 = 1", masked=True)

    # Someone with the database file edits one event of the tour: the check command reports it.
    edited_seq = next(e["seq"] for e in events_after(e2e_stack, start)
                      if e["actor"] == ANALYST and e["action"] == "sign_out")
    copy = tmp_path / "copy"
    copy.mkdir()
    source, target = sqlite3.connect(e2e_stack.home / "portal.sqlite"), sqlite3.connect(copy / "portal.sqlite")
    source.backup(target)
    source.close()
    target.execute("DROP TRIGGER audit_no_update")
    target.execute("UPDATE audit_events SET action = 'page_view' WHERE seq = ?", (edited_seq,))
    target.commit()
    target.close()
    check = subprocess.run([sys.executable, "-m", "auth.audit", "verify"], cwd=REPO,
                           env={**e2e_stack.env(), "MIFKAD_HOME": str(copy)}, capture_output=True, text=True,
                           timeout=300)
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"audit chain broken at event {edited_seq}:" in check.stdout
    intact = e2e_stack.python("-m", "auth.audit", "verify")
    assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr
