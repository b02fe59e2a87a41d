"""In chromium: an analyst without personal details sees masked rows (and still finds a student by
exact identity number); pages outside their navigation are unreachable by address; and when the roster manager revokes the grant in her own browser, the analyst's very next
click has no access any more — without signing out."""
from __future__ import annotations

import re

import duckdb
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import choose, click_and_wait, login, open_page, page_text, screenshot, table_rows, \
    rerun_after, wait_for_app, wait_for_table

ANALYST = "analyst.tlv@mifkad.test"
MASKED_NOTE = "פרטים אישיים מוסתרים"
NO_ACCESS = "אין לך עדיין הרשאה לצפות במצבה של רשות"


@pytest.fixture
def restore_records(e2e_stack):
    """Tests here change the shared stack's records: put the preset users' records back after each."""
    yield
    e2e_stack.reseed()


def a_tel_aviv_student(e2e_stack) -> str:
    census = e2e_stack.home / "snapshots" / e2e_stack.snapshot_date / "derived" / "CENSUS.parquet"
    (number,), = duckdb.sql(f"SELECT min(MISPAR_ZEHUT) FROM read_parquet('{census}') WHERE SEMEL_RASHUT = '5000' "
                            "AND SUG_ZEHUT = '1'").fetchall()
    return number


def test_analyst_sees_masked_rows_finds_a_student_by_exact_number_and_cannot_open_other_pages(e2e_stack, context):
    analyst = login(context, "tlv-analyst")
    open_page(analyst, "תלמידים")
    assert MASKED_NOTE in page_text(analyst)
    header, *body = table_rows(analyst)
    ids, first_names = header.index("מספר זהות"), header.index("שם פרטי")
    assert body and all(re.fullmatch(r"\*{5}\d{4}", row[ids]) for row in body), body[:2]
    assert {row[first_names] for row in body} == {"•••"}

    number = a_tel_aviv_student(e2e_stack)
    search = analyst.get_by_role("textbox", name="חיפוש לפי מספר זהות (התאמה מלאה)")
    search.fill(number)
    rerun_after(analyst, lambda: search.press("Enter"))     # the search runs in SQL on the real number
    header, *body = wait_for_table(analyst, lambda rows: len(rows) == 2)
    assert [row[ids] for row in body] == ["*****" + number[-4:]]
    assert number not in page_text(analyst)
    screenshot(analyst, "students-analyst-masked-search")

    # A page outside the analyst's navigation is unreachable by its address: the home page runs instead.
    analyst.goto("/delegation")
    wait_for_app(analyst)
    expect(analyst.get_by_role("heading", name="האצלת הרשאות")).to_have_count(0)
    assert "שלום" in page_text(analyst)
    nav = analyst.get_by_test_id("stSidebarNav").inner_text()
    assert "האצלת הרשאות" not in nav and "תלמידים" in nav


def test_revoking_a_grant_ends_the_analysts_access_at_their_next_click(e2e_stack, new_context, restore_records):
    analyst = login(new_context(), "tlv-analyst")
    open_page(analyst, "תלמידים")
    assert MASKED_NOTE in page_text(analyst)

    manager = login(new_context(), "tlv-manager")
    open_page(manager, "האצלת הרשאות")
    choose(manager, "עמית/ה", ANALYST)
    click_and_wait(manager, manager.get_by_role("button", name="ביטול ההרשאה"))
    expect(manager.get_by_text(f"ההרשאה של {ANALYST} בוטלה.")).to_be_visible()   # after the page's own rerun
    screenshot(manager, "delegation-revoked")

    # The analyst's next click, in the same session: no sign-out, no reload.
    click_and_wait(analyst, analyst.get_by_text("בסדר יורד"))
    assert NO_ACCESS in page_text(analyst)
    assert MASKED_NOTE not in page_text(analyst)
    nav = analyst.get_by_test_id("stSidebarNav").inner_text()
    assert "תלמידים" not in nav and "סקירה כללית" not in nav
    screenshot(analyst, "analyst-after-revocation")

    con = e2e_stack.records()
    try:
        last = con.execute("SELECT actor, details FROM audit_events WHERE action = 'grant_revoked' "
                           "ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        con.close()
    assert last["actor"] == "manager.tlv@mifkad.test" and f'"grantee":"{ANALYST}"' in last["details"]
