"""The ministry's pages of the weekly export, in AppTest behind app.py's login gate: approving a
snapshot (with a confirmation), and registering software vendors with their signed declaration."""
from __future__ import annotations

import json
import math
import time

import pytest

from auth import vendors as vendor_records
from common import portal_db
from common.config import settings
from data import packages
from data.approvals import get_approval
from tests.conftest import EXPORT_MANAGERS

DATE = "2026-12-01"
ADMIN = "admin@education.gov.il"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def events(action: str) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r) | {"details": json.loads(r["details"])}
                for r in con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq", (action,))]
    finally:
        con.close()


def wait_for_builder(deadline_s: float = 240) -> None:
    """The page starts a builder process; let it finish before the test's home is removed."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and (packages.builder_running(DATE) or packages.progress(DATE)["queued"]):
        time.sleep(0.3)


def test_ministry_staff_approve_a_snapshot_after_confirming(export_records, app_session):
    s = app_session(ADMIN).open("approvals")
    assert "אישור הייצוא השבועי" in s.text()
    s.at.text_area(key="approve_note").input("שבוע 48")
    next(b for b in s.at.button if b.label == "אישור").click()
    s.run()
    assert "יש לסמן את תיבת האישור" in s.text() and get_approval(DATE) is None
    s.at.text_area(key="approve_note").input("שבוע 48")
    s.at.checkbox(key="approve_confirm").check()
    next(b for b in s.at.button if b.label == "אישור").click()
    s.run()
    try:
        approval = get_approval(DATE)
        assert approval.approved_by == ADMIN and approval.note == "שבוע 48"
        assert "אושרה" in s.text()
        assert [e["details"]["snapshot"] for e in events("export_approved")] == [DATE]
        assert {p.authority for p in packages.packages_of_snapshot(DATE)} == set(EXPORT_MANAGERS)
    finally:
        wait_for_builder()
    assert packages.progress(DATE)["ready"] == 6
    s.run()
    assert "01/12/2026" in "\n".join(d.value.to_string() for d in s.at.dataframe)


def test_a_roster_manager_reaches_neither_the_approval_nor_the_vendor_page(export_records, app_session):
    for slug, title in (("approvals", "אישור הייצוא השבועי"), ("vendors", "ספקי תוכנה")):
        s = app_session(EXPORT_MANAGERS["5000"]).open(slug)
        assert title not in [t.value for t in s.at.title]


def register(s, name: str, upload: tuple[str, bytes, str] | None, users: str = "") -> None:
    s.at.text_input(key="vendor_name").input(name)
    s.at.text_input(key="vendor_email").input("Office@SoftEdu.test")
    s.at.text_input(key="vendor_phone").input("03-5550000")
    s.at.text_input(key="vendor_users").input(users)
    if upload:
        s.at.file_uploader(key="vendor_pdf").set_value(upload)
    next(b for b in s.at.button if b.label == "רישום").click()
    s.run()


def test_ministry_staff_register_a_vendor_with_a_signed_declaration(export_records, app_session):
    s = app_session(ADMIN).open("vendors")
    register(s, "סופט-אדו בע\"מ", ("declaration.pdf", PDF, "application/pdf"),
             users="vendor@softedu.test, second@softedu.test")
    assert "נרשם" in s.text()
    vendor = vendor_records.vendor_by_name("סופט-אדו בע\"מ")
    assert vendor.contact_email == "office@softedu.test" and vendor.registered_by == ADMIN
    assert vendor_records.vendor_users(vendor.id) == ["second@softedu.test", "vendor@softedu.test"]
    stored = settings().uploads_dir / vendor.declaration_file
    assert stored.read_bytes() == PDF and vendor.declaration_file != "declaration.pdf"
    (event,) = events("vendor_registered")
    assert event["actor"] == ADMIN and event["details"]["vendor"] == vendor.name
    assert event["details"]["declaration_file"] == vendor.declaration_file
    assert "סופט-אדו" in "\n".join(d.value.to_string() for d in s.at.dataframe)


@pytest.mark.parametrize("upload, message", [
    (("declaration.pdf", b"MZ\x90\x00 not a document", "application/pdf"), "הוא תוכנה"),
    (("declaration.pdf", b"<html>%PDF-</html>", "application/pdf"), "אינו מסמך PDF"),
    (None, "יש לצרף את ההצהרה החתומה"),
])
def test_a_vendor_without_a_real_pdf_declaration_is_not_registered(export_records, app_session, upload, message):
    s = app_session(ADMIN).open("vendors")
    register(s, "SoftEdu", upload)
    assert any(message in e.value for e in s.at.error) or message in s.text()
    assert vendor_records.list_vendors() == [] and events("vendor_registered") == []


def test_a_declaration_over_the_size_limit_is_refused(export_records, app_session, monkeypatch):
    from common import config
    monkeypatch.setenv("MIFKAD_UPLOAD_MAX_BYTES", "40")
    config._cached.cache_clear()
    s = app_session(ADMIN).open("vendors")
    register(s, "SoftEdu", ("declaration.pdf", PDF, "application/pdf"))
    assert any("גדול מדי" in e.value for e in s.at.error)
    assert vendor_records.list_vendors() == []


def test_the_declaration_uploader_states_the_portals_size_limit(export_records, app_session):
    uploader = app_session(ADMIN).open("vendors").at.file_uploader(key="vendor_pdf")
    limit_mb = settings().upload_max_bytes / 1048576
    assert f"עד {limit_mb:g} MB" in uploader.label
    assert uploader.proto.max_upload_size_mb == math.ceil(limit_mb)     # the widget's own note agrees


def test_the_vendor_declaration_prints_as_a_hebrew_pdf():
    from pages.vendors import declaration_pdf
    data = declaration_pdf()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]
