"""In chromium, through the real login provider: Tel Aviv-Yafo's roster manager signs in, sees her
authority's overview numbers and opens the students page, whose table offers no download of its own."""
from __future__ import annotations

import duckdb
from playwright.sync_api import expect

from common.i18n import fmt_int
from tests.e2e.helpers import login, open_page, page_text, screenshot, toolbar_buttons

TLV = "5000"


def census_counts(e2e_stack, authority: str) -> dict:
    """The authority's census, counted straight from the snapshot's derived table."""
    census = e2e_stack.home / "snapshots" / e2e_stack.snapshot_date / "derived" / "CENSUS.parquet"
    students, residents = duckdb.sql(
        f"SELECT count(*), count(*) FILTER (IS_RESIDENT) FROM read_parquet('{census}') WHERE SEMEL_RASHUT = ?",
        params=[authority]).fetchall()[0]
    return {"students": students, "residents": residents}


def metric_value(page, label: str) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label)).first
    return metric.locator("[data-testid='stMetricValue']").inner_text().strip()


def test_roster_manager_signs_in_and_sees_her_authoritys_census(e2e_stack, context):
    counts = census_counts(e2e_stack, TLV)
    assert counts["students"] > 0
    page = login(context, "tlv-manager")
    assert "דנה כהן" in page_text(page)
    assert "תל אביב-יפו (5000)" in page_text(page)           # home: the open authority

    open_page(page, "סקירה כללית")
    expect(page.get_by_role("heading", name="סקירה כללית")).to_be_visible()
    assert metric_value(page, "תלמידים") == fmt_int(counts["students"])
    screenshot(page, "overview-tlv-manager")

    open_page(page, "תלמידים")
    expect(page.get_by_role("heading", name="תלמידים")).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    # The pager counts every student of the census; the manager sees personal details (no masked note).
    assert f"מתוך {fmt_int(counts['students'])}" in page_text(page)
    screenshot(page, "students-tlv-manager")

    # Tables have no download of their own (client.disableDataExport): data leaves only audited.
    labels = toolbar_buttons(page)
    assert "Search" in labels                                               # the toolbar is there ...
    assert not [label for label in labels if "download" in label.lower()]  # ... without a download
