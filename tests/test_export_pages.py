"""The weekly export page (roster managers, and colleagues delegated the download) and the vendor's
vault page, in AppTest behind app.py's login gate. AppTest does not fetch a download button's bytes:
what the buttons serve is tested in tests/test_approval.py and tests/test_vault.py, and for real in
the browser (tests/e2e/test_export_download.py)."""
from __future__ import annotations

import json

import pytest

from auth import records
from auth import vendors as vendor_records
from auth.principal import load_principal
from common import portal_db
from data import packages, vault
from queries import Scope, run
from tests.conftest import EXPORT_MANAGERS

DATE = "2026-12-01"
TLV = "5000"
MANAGER = EXPORT_MANAGERS[TLV]


@pytest.fixture
def approved(export_records):
    packages.approve_snapshot(DATE, by="admin@education.gov.il", note="week 48", background=False)
    return export_records


@pytest.fixture
def vendor(export_records):
    vendor_id = vendor_records.register_vendor("SoftEdu", "office@softedu.test", by="admin@education.gov.il")
    vendor_records.add_vendor_user(vendor_id, "vendor@softedu.test", by="admin@education.gov.il")
    return vendor_id


def actions() -> list[str]:
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute("SELECT action FROM audit_events ORDER BY seq")]
    finally:
        con.close()


def test_the_manager_sees_the_approved_week_with_its_files_and_checksums(approved, app_session):
    s = app_session(MANAGER).open("exports")
    text = s.text()
    assert "ייצוא שבועי" in text and "01/12/2026" in text and "admin@education.gov.il" in text
    people_zip = packages.get_package(DATE, TLV, "people")
    book = packages.get_package(DATE, TLV, "xlsx")
    assert people_zip.sha256 in text and book.sha256 in text
    (files,) = [d.value for d in s.at.dataframe if "TALMIDIM_5000_2026-12-01.csv" in d.value.to_string()]
    from pages.exports import TEXT
    assert set(files[TEXT["col_sha"]["he"]]) == {f["sha256"] for f in people_zip.files}
    assert files.columns[-1] == TEXT["col_file"]["he"]      # in Hebrew the first column stands at the right
    buttons = {b.label: b for b in s.at.download_button}
    assert {"הורדת קובצי CSV (zip)", "הורדת גיליון Excel"} <= set(buttons)


def test_packages_still_being_built_show_progress_then_their_buttons(export_records, app_session):
    import time
    from data.approvals import approve
    approve(DATE, by="admin@education.gov.il")        # recorded without building (as an older approval)
    s = app_session(MANAGER).open("exports")          # opening the page queues and starts the build
    assert "בהכנה" in s.text() and not [b for b in s.at.download_button if b.key.startswith("download_")]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (packages.builder_running(DATE) or packages.progress(DATE)["queued"]):
        time.sleep(0.3)
    s.run()
    assert "בהכנה" not in s.text()
    assert len([b for b in s.at.download_button if b.key.startswith("download_")]) == 2


def test_the_download_buttons_wait_for_a_purpose(approved, app_session):
    s = app_session(MANAGER).open("exports")
    package_buttons = [b for b in s.at.download_button if b.key.startswith("download_")]
    assert package_buttons and all(b.proto.disabled for b in package_buttons)
    s.at.text_input(key="export_purpose").input("placing first graders")
    s.run()
    package_buttons = [b for b in s.at.download_button if b.key.startswith("download_")]
    assert package_buttons and not any(b.proto.disabled for b in package_buttons)


def test_an_analyst_without_the_download_action_cannot_reach_the_page(approved, app_session):
    manager = load_principal(MANAGER)
    records.create_grant(manager, TLV, "analyst.tlv@mifkad.test", ["view_aggregates", "view_rows"])
    s = app_session("analyst.tlv@mifkad.test").open("exports")
    assert "ייצוא שבועי" not in [t.value for t in s.at.title]
    assert not [b for b in s.at.download_button if b.key.startswith("download_")]


def test_a_colleague_delegated_the_download_gets_the_page_but_not_power_of_attorney(approved, vendor, app_session):
    records.create_grant(load_principal(MANAGER), TLV, "colleague@tlv.test", ["view_aggregates", "download_export"])
    s = app_session("colleague@tlv.test").open("exports")
    assert "ייצוא שבועי" in [t.value for t in s.at.title]
    assert "ייפוי כוח לספק תוכנה" not in s.text()
    assert not [f for f in s.at.form if "poa" in (f.proto.form_id or "")]


def test_power_of_attorney_is_given_with_consent_recorded_and_revoked(approved, vendor, app_session):
    s = app_session(MANAGER).open("exports")
    s.at.selectbox(key="poa_vendor").select(vendor)
    next(b for b in s.at.button if b.label == "מתן ייפוי כוח").click()
    s.run()
    assert "יש לסמן את תיבת ההסכמה" in s.text()                        # no consent ticked: nothing given
    assert vendor_records.active_poa_vendors(TLV) == []
    s.at.selectbox(key="poa_vendor").select(vendor)
    s.at.checkbox(key="poa_consent").check()
    next(b for b in s.at.button if b.label == "מתן ייפוי כוח").click()
    s.run()
    assert vendor_records.active_poa_vendors(TLV) == [vendor]
    assert "ניתן ייפוי כוח לSoftEdu" in s.text()
    (poa,) = vendor_records.poa_history(TLV)
    assert poa["granted_by"] == MANAGER and poa["granted_at"]
    assert "poa_granted" in actions()
    # the latest approved week went to the vendor at once, and the receipt shows on the page
    (delivery,) = vault.deliveries_of_authority(TLV)
    assert delivery.status == "delivered" and delivery.receipt["sha256"] in s.text() + _frames_text(s)
    s.at.selectbox(key="poa_revoke_vendor").select(vendor)
    next(b for b in s.at.button if b.label == "ביטול ייפוי כוח").click()
    s.run()
    assert vendor_records.active_poa_vendors(TLV) == []
    (poa,) = vendor_records.poa_history(TLV)
    assert poa["revoked_by"] == MANAGER and poa["revoked_at"]
    assert actions().count("poa_revoked") == 1


def _frames_text(s) -> str:
    return "\n".join(d.value.to_string() for d in s.at.dataframe)


def test_a_vendor_user_sees_only_the_packages_of_authorities_that_authorised_the_vendor(approved, vendor, app_session):
    other = vendor_records.register_vendor("Regio", "office@regio.test", by="admin@education.gov.il")
    vault.authorise_vendor(load_principal(MANAGER), TLV, vendor)
    vault.authorise_vendor(load_principal(EXPORT_MANAGERS["10026"]), "10026", other)
    s = app_session("vendor@softedu.test").open("vault")
    text = s.text()
    assert "כספת הספק" in text and "(5000) · שבוע" in text and "(10026)" not in text
    names = dict(run("authorities", Scope(approved, None)).select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows())
    tlv_name = names["5000"]
    assert f"{tlv_name} (5000)" in text                      # named, not only numbered
    (button,) = [b for b in s.at.download_button if b.key.startswith("collect_")]
    assert button.label == "איסוף הקובץ"
    view = json.loads(_last_details("page_view"))
    assert view["page"] == "vault"


def test_a_roster_manager_has_no_vault_page(approved, app_session):
    s = app_session(MANAGER).open("vault")
    assert "כספת הספק" not in [t.value for t in s.at.title]


def _last_details(action: str) -> str:
    con = portal_db.connect()
    try:
        return con.execute("SELECT details FROM audit_events WHERE action = ? ORDER BY seq DESC LIMIT 1",
                           (action,)).fetchone()[0]
    finally:
        con.close()
