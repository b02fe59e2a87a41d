"""In chromium, as Tel Aviv-Yafo's analyst (aggregates and rows, no personal details): every census page
opens without an error, draws its charts and tables, and is saved as a screenshot under
test-artifacts/; a table export downloads for real, masked, and is in the audit trail."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import click_and_wait, login, open_page, page_text, screenshot

PAGES = [
    # (page, navigation title, heading, what the page must show)
    ("overview", "סקירה כללית", "סקירה כללית", "plotly"),
    ("students", "תלמידים", "תלמידים", "table"),
    ("classes", "כיתות", "כיתות ותפוסה", "table"),
    ("tracks", "מגמות", "מגמות ומכסות", "table"),
    ("institutions", "מוסדות", "מוסדות החינוך ברשות", "plotly"),
    ("contacts", "איכות פרטי הקשר", "איכות פרטי הקשר", "table"),
    ("changes", "שינויים מהשבוע שעבר", "שינויים בין תמונות מצב", "text"),
]


@pytest.fixture(scope="module")
def analyst(e2e_stack, browser):
    context = browser.new_context(base_url=e2e_stack.base_url, viewport={"width": 1400, "height": 2000},
                                  locale="he-IL", timezone_id="Asia/Jerusalem", accept_downloads=True)
    page = login(context, "tlv-analyst")
    yield page
    context.close()


@pytest.mark.parametrize("slug,title,heading,shows", PAGES, ids=[p[0] for p in PAGES])
def test_each_census_page_opens_for_the_analyst(analyst, slug, title, heading, shows):
    page = open_page(analyst, title)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    if shows == "plotly":
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        # charts keep their own left-to-right layout inside the right-to-left page
        direction = page.locator("[data-testid='stPlotlyChart']").first.evaluate("e => getComputedStyle(e).direction")
        assert direction == "ltr"
    elif shows == "table":
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    screenshot(page, f"census-{slug}-tlv-analyst")


def test_the_analyst_sees_masked_students_and_exports_them_masked_and_audited(analyst, e2e_stack):
    page = open_page(analyst, "תלמידים")
    assert "פרטים אישיים מוסתרים" in page_text(page)
    button = page.get_by_role("button", name="ייצוא הטבלה (CSV)")
    with page.expect_download() as info:
        button.click()
    data = open(info.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("מספר זהות,")
    assert len(lines) > 100 and all(line.startswith("*****") for line in lines[1:])
    con = e2e_stack.records()
    try:
        events = [json.loads(r["details"]) for r in con.execute(
            "SELECT details FROM audit_events WHERE action = 'table_export' AND actor = 'analyst.tlv@mifkad.test'")]
    finally:
        con.close()
    assert any(e["page"] == "students" and e["rows"] == len(lines) - 1 and e["personal"] is False for e in events)


def test_the_overview_in_english_reads_left_to_right(analyst):
    page = open_page(analyst, "סקירה כללית")
    click_and_wait(page, page.get_by_test_id("stSidebar").get_by_text("English"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    screenshot(page, "census-overview-english-tlv-analyst")
    click_and_wait(page, page.get_by_test_id("stSidebar").get_by_text("עברית"))


def test_the_national_picture_for_ministry_staff(e2e_stack, browser):
    context = browser.new_context(base_url=e2e_stack.base_url, viewport={"width": 1400, "height": 2000},
                                  locale="he-IL", timezone_id="Asia/Jerusalem")
    try:
        page = login(context, "ministry-admin")
        page = open_page(page, "תמונה ארצית")
        expect(page.get_by_role("heading", name="תמונה ארצית")).to_be_visible()
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
        screenshot(page, "census-national-ministry-admin")
    finally:
        context.close()
