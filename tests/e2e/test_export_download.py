"""In chromium, through the real login provider: Tel Aviv-Yafo's roster manager opens the weekly
export, waits for the packages of the approved week to be built, states a purpose, downloads the
zip, and the file holds the six CSV files of the spec (BOM, header) and a manifest that matches them;
the download is in the audit trail before the file arrived."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import duckdb
import polars as pl
from playwright.sync_api import expect

from tests.e2e.helpers import login, open_page, screenshot, wait_for_app

TLV = "5000"
TABLES = ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MOSDOT", "KITOT", "MEGAMOT")
BUILD_TIMEOUT_MS = 240_000       # the packages are built in the background on the first visit


def census_ids(e2e_stack) -> set[tuple[str, str]]:
    census = e2e_stack.home / "snapshots" / e2e_stack.snapshot_date / "derived" / "CENSUS.parquet"
    return set(duckdb.sql(f"SELECT SUG_ZEHUT, MISPAR_ZEHUT FROM read_parquet('{census}') WHERE SEMEL_RASHUT = ?",
                          params=[TLV]).fetchall())


def test_roster_manager_downloads_the_weekly_package_and_it_opens_as_the_spec_says(e2e_stack, context, tmp_path):
    date = e2e_stack.snapshot_date
    page = login(context, "tlv-manager")
    open_page(page, "ייצוא שבועי")
    expect(page.get_by_role("heading", name="ייצוא שבועי", exact=True)).to_be_visible()
    zip_button = page.get_by_role("button", name="הורדת קובצי CSV (zip)")
    expect(zip_button).to_be_visible(timeout=BUILD_TIMEOUT_MS)
    wait_for_app(page)
    expect(zip_button).to_be_disabled()                           # no purpose yet
    purpose = page.get_by_role("textbox", name="מטרת ההורדה (חובה)")
    purpose.fill("בדיקת קצה לקצה")
    purpose.press("Enter")
    wait_for_app(page)
    expect(zip_button).to_be_enabled()
    screenshot(page, "exports-tlv-manager")

    with page.expect_download(timeout=120_000) as download:
        zip_button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"MIFKAD_{TLV}_{date}.zip"

    with zipfile.ZipFile(saved) as zf:
        assert zf.namelist() == [f"{t}_{TLV}_{date}.csv" for t in TABLES] + ["manifest.json"]
        manifest = json.loads(zf.read("manifest.json"))
        raw = {t: zf.read(f"{t}_{TLV}_{date}.csv") for t in TABLES}
    assert manifest["authority"] == TLV and manifest["snapshot"] == date and manifest["variant"] == "people"
    assert manifest["approval"]["by"] and manifest["draft"] is False
    for entry in manifest["files"]:
        data = raw[entry["table"]]
        assert data.startswith(b"\xef\xbb\xbf"), entry["name"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        frame = pl.read_csv(io.BytesIO(data[3:]), infer_schema=False)
        assert frame.height == entry["rows"]
    students = pl.read_csv(io.BytesIO(raw["TALMIDIM"][3:]), infer_schema=False)
    assert raw["TALMIDIM"][3:].split(b"\r\n", 1)[0].startswith(b"SHNAT_LIMUDIM,")
    assert set(students.select("SUG_ZEHUT", "MISPAR_ZEHUT").rows()) == census_ids(e2e_stack)

    con = e2e_stack.records()
    try:
        event = con.execute("SELECT * FROM audit_events WHERE action = 'download' ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        con.close()
    assert event["actor"] == "manager.tlv@mifkad.test" and event["authority"] == TLV
    assert event["reason"] == "בדיקת קצה לקצה"
    assert json.loads(event["details"])["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
