"""The weekly approval: only ministry staff approve, once per snapshot, audited before it takes
effect; approval builds the packages of every authority with access (in a background process from
the page); people's downloads need the permission at the moment of the click and a purpose, and are
audited before any byte is served."""
from __future__ import annotations

import json
import time

import pytest

from auth import records
from auth.principal import load_principal
from common import portal_db
from data import approve as approve_cli
from data import packages
from data.approvals import get_approval
from tests.conftest import EXPORT_MANAGERS

DATE = "2026-12-01"
ADMIN = "admin@education.gov.il"


def audit_actions() -> list[tuple[str, str | None]]:
    con = portal_db.connect()
    try:
        return [(r["action"], r["authority"]) for r in con.execute("SELECT * FROM audit_events ORDER BY seq")]
    finally:
        con.close()


def last_event(action: str) -> dict:
    con = portal_db.connect()
    try:
        row = con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq DESC LIMIT 1", (action,)).fetchone()
        return dict(row) | {"details": json.loads(row["details"])}
    finally:
        con.close()


def test_the_cli_approval_is_audited_then_builds_the_packages_of_every_authority_with_access(export_records, capsys):
    assert approve_cli.main(["--snapshot", DATE, "--by", ADMIN, "--note", "week 48"]) == 0
    approval = get_approval(DATE)
    assert approval.approved_by == ADMIN and approval.note == "week 48"
    event = last_event("export_approved")
    assert event["actor"] == ADMIN and event["details"]["snapshot"] == DATE and event["at"] <= approval.approved_at
    built = {(p.authority, p.variant) for p in packages.packages_of_snapshot(DATE) if p.ready}
    assert built == {(a, v) for a in EXPORT_MANAGERS for v in packages.VARIANTS}   # 5000 and 10026, no other
    for p in packages.packages_of_snapshot(DATE):
        assert p.path.exists() and p.approved_at == approval.approved_at
    assert "approved by admin@education.gov.il" in capsys.readouterr().out


def test_the_cli_refuses_someone_who_is_not_ministry_staff(export_records, capsys):
    assert approve_cli.main(["--snapshot", DATE, "--by", EXPORT_MANAGERS["5000"]]) == 2
    assert "not ministry staff" in capsys.readouterr().err
    assert get_approval(DATE) is None and packages.packages_of_snapshot(DATE) == []
    assert ("export_approved", None) not in audit_actions()


def test_a_snapshot_is_approved_once_and_an_unknown_one_not_at_all(export_records, capsys):
    assert approve_cli.main(["--snapshot", DATE, "--by", ADMIN]) == 0
    first = get_approval(DATE)
    assert approve_cli.main(["--snapshot", DATE, "--by", ADMIN, "--note", "again"]) == 2
    assert "already approved by admin@education.gov.il" in capsys.readouterr().err
    assert get_approval(DATE) == first
    assert approve_cli.main(["--snapshot", "2026-01-01", "--by", ADMIN]) == 2
    assert "no published snapshot dated 2026-01-01" in capsys.readouterr().err
    assert [a for a, _ in audit_actions()].count("export_approved") == 1


def test_the_background_build_runs_in_its_own_process_and_finishes(export_records):
    packages.approve_snapshot(DATE, by=ADMIN, background=True)
    deadline = time.monotonic() + 240                     # generous: a slow CI machine, never a speed check
    while time.monotonic() < deadline:
        state = packages.progress(DATE)
        if not (state["queued"] or state["building"]):
            break
        time.sleep(0.5)
    assert packages.progress(DATE) == {"queued": 0, "building": 0, "ready": 6, "failed": 0}
    while packages.builder_running(DATE) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not packages.builder_running(DATE)


def test_a_download_needs_the_permission_and_a_purpose_and_is_audited_before_the_bytes(export_records):
    packages.approve_snapshot(DATE, by=ADMIN, background=False)
    book = packages.get_package(DATE, "5000", "xlsx")
    manager = load_principal(EXPORT_MANAGERS["5000"])
    before = len(audit_actions())
    with pytest.raises(packages.DownloadError, match="purpose"):
        packages.open_for_download(manager, book.id, "   ")
    with pytest.raises(packages.DownloadError):                       # another authority's manager
        packages.open_for_download(load_principal(EXPORT_MANAGERS["10026"]), book.id, "placement")
    assert len(audit_actions()) == before                             # refused: nothing served, nothing recorded
    data = packages.open_for_download(manager, book.id, "placing first graders")
    assert data == book.path.read_bytes()
    event = last_event("download")
    assert event["actor"] == EXPORT_MANAGERS["5000"] and event["authority"] == "5000"
    assert event["reason"] == "placing first graders"
    assert event["details"] == {"package": "MIFKAD_5000_2026-12-01.xlsx", "snapshot": DATE, "variant": "xlsx",
                                "sha256": book.sha256, "counts": book.counts}
    (row,) = packages.downloads_of(book.id)
    assert row["actor"] == EXPORT_MANAGERS["5000"] and row["audit_seq"] == event["seq"]


def test_a_revoked_delegation_can_no_longer_download_even_from_an_open_page(export_records):
    packages.approve_snapshot(DATE, by=ADMIN, background=False)
    manager = load_principal(EXPORT_MANAGERS["5000"])
    grant = records.create_grant(manager, "5000", "colleague@tlv.test", ["view_aggregates", "download_export"])
    people_zip = packages.get_package(DATE, "5000", "people")
    assert packages.open_for_download(load_principal("colleague@tlv.test"), people_zip.id, "check")
    records.revoke_grant(manager, grant)
    with pytest.raises(packages.DownloadError):
        packages.open_for_download(load_principal("colleague@tlv.test"), people_zip.id, "check")


def test_the_vendor_variant_is_never_served_to_people(export_records):
    packages.approve_snapshot(DATE, by=ADMIN, background=False)
    exact = packages.get_package(DATE, "5000", "vendor")
    with pytest.raises(packages.DownloadError):
        packages.open_for_download(load_principal(EXPORT_MANAGERS["5000"]), exact.id, "placement")


def test_an_authority_whose_access_opened_after_the_approval_gets_its_packages_when_it_asks(export_records):
    packages.approve_snapshot(DATE, by=ADMIN, background=False)
    records.open_access("2610", by="operator:test", basis="operator")
    assert packages.get_package(DATE, "2610", "vendor") is None
    packages.ensure_packages(DATE, "2610")            # what its export page does on opening
    assert {p.variant for p in packages.packages_of("2610")} == set(packages.VARIANTS)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (packages.builder_running(DATE) or packages.progress(DATE)["queued"]):
        time.sleep(0.3)
    assert {p.variant for p in packages.packages_of("2610") if p.ready} == set(packages.VARIANTS)


def test_a_stored_package_changed_since_it_was_built_is_not_served(export_records):
    packages.approve_snapshot(DATE, by=ADMIN, background=False)
    people_zip = packages.get_package(DATE, "5000", "people")
    people_zip.path.write_bytes(people_zip.path.read_bytes() + b"tampered")
    with pytest.raises(packages.DownloadError, match="checksum"):
        packages.open_for_download(load_principal(EXPORT_MANAGERS["5000"]), people_zip.id, "placement")
    assert ("download", "5000") not in audit_actions() and packages.downloads_of(people_zip.id) == []
