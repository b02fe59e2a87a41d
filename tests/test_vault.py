"""The vendor vault: each approval's package reaches the vaults of the vendors holding the
authority's power of attorney, with a receipt; delivery is idempotent and retried after a failure;
revoking the power of attorney stops the next delivery and cancels what was not yet delivered; a
vendor's user collects only their own vendor's deliveries, each collection audited first."""
from __future__ import annotations

import json

import pytest

from auth import vendors as vendor_records
from auth.principal import load_principal
from common import portal_db
from data import packages, vault
from data.approvals import approve
from tests.conftest import EXPORT_MANAGERS, open_export_records

DATE = "2026-12-01"
TLV, REGION = "5000", "10026"


class FailingVault(vault.Vault):
    """A vault whose storage is down for the first `failures` deliveries to `vendor_id` (a network
    store that is unreachable for a while)."""

    def __init__(self, vendor_id: int, failures: int):
        super().__init__()
        self.vendor_id, self.failures = vendor_id, failures

    def deliver(self, vendor_id, source, key, receipt):
        if vendor_id == self.vendor_id and self.failures > 0:
            self.failures -= 1
            raise OSError("vault storage unreachable")
        return super().deliver(vendor_id, source, key, receipt)


@pytest.fixture(autouse=True)
def one_quick_retry_round(monkeypatch):
    """The builder's own retry rounds, without their pauses."""
    monkeypatch.setattr(packages, "RETRY_PAUSES", (0,))


@pytest.fixture
def vendors(export_records):
    """Two vendors, each with a user; SoftEdu holds Tel Aviv-Yafo's power of attorney, Regio the region's."""
    soft = vendor_records.register_vendor("SoftEdu", "office@softedu.test", by="admin@education.gov.il")
    regio = vendor_records.register_vendor("Regio", "office@regio.test", by="admin@education.gov.il")
    vendor_records.add_vendor_user(soft, "vendor@softedu.test", by="admin@education.gov.il")
    vendor_records.add_vendor_user(regio, "user@regio.test", by="admin@education.gov.il")
    vault.authorise_vendor(load_principal(EXPORT_MANAGERS[TLV]), TLV, soft)
    vault.authorise_vendor(load_principal(EXPORT_MANAGERS[REGION]), REGION, regio)
    return {"soft": soft, "regio": regio}


def approve_and_build(vault_impl=None, date: str = DATE):
    return packages.approve_snapshot(date, by="admin@education.gov.il", background=False, vault=vault_impl)


def audit_events(action: str) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r) | {"details": json.loads(r["details"])}
                for r in con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq", (action,))]
    finally:
        con.close()


def test_approval_delivers_each_package_to_the_vaults_of_the_vendors_holding_its_power_of_attorney(vendors):
    approve_and_build()
    store = vault.Vault()
    soft_items, regio_items = store.list(vendors["soft"]), store.list(vendors["regio"])
    assert [(i.snapshot, i.authority, i.name) for i in soft_items] == [(DATE, TLV, "MIFKAD_5000_2026-12-01.zip")]
    assert [(i.snapshot, i.authority) for i in regio_items] == [(DATE, REGION)]
    package = packages.get_package(DATE, TLV, "vendor")
    with store.open(vendors["soft"], soft_items[0].key) as f:
        assert f.read() == package.path.read_bytes()          # the vendor gets the byte-exact package
    receipt = soft_items[0].receipt
    assert receipt["sha256"] == package.sha256 and receipt["counts"] == package.counts
    assert receipt["vendor"] == "SoftEdu" and receipt["authority"] == TLV and receipt["delivered_at"]
    (delivery,) = vault.deliveries_of_authority(TLV)
    assert delivery.status == "delivered" and delivery.receipt == receipt and delivery.attempts == 1
    events = audit_events("vendor_delivery")
    assert {(e["authority"], e["details"]["vendor"], e["details"]["sha256"]) for e in events} == {
        (TLV, "SoftEdu", package.sha256), (REGION, "Regio", packages.get_package(DATE, REGION, "vendor").sha256)}
    assert all(e["details"]["counts"] for e in events)


def test_delivering_again_is_idempotent(vendors):
    approve_and_build()
    (first,) = vault.deliveries_of_authority(TLV)
    with portal_db.transaction() as con:         # as if the record of a finished delivery had been lost
        con.execute("UPDATE deliveries SET status = 'pending' WHERE id = ?", (first.id,))
    (again,) = vault.attempt_pending(snapshot=DATE, authority=TLV)
    assert again.status == "delivered" and again.receipt == first.receipt      # the first receipt, not a new one
    assert len(vault.Vault().list(vendors["soft"])) == 1


def test_the_builder_retries_a_delivery_that_failed_once(vendors):
    approve_and_build(FailingVault(vendors["soft"], failures=1))
    (delivery,) = vault.deliveries_of_authority(TLV)
    assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.last_error is None
    assert [i.authority for i in vault.Vault().list(vendors["soft"])] == [TLV]
    assert [e["details"]["attempt"] for e in audit_events("vendor_delivery") if e["authority"] == TLV] == [1, 2]


def test_a_delivery_still_failing_is_recorded_and_delivered_by_a_later_retry(vendors):
    approve_and_build(FailingVault(vendors["soft"], failures=100))
    (failed,) = vault.deliveries_of_authority(TLV)
    assert failed.status == "failed" and "vault storage unreachable" in failed.last_error and failed.attempts == 2
    assert vault.Vault().list(vendors["soft"]) == []
    assert vault.deliveries_of_authority(REGION)[0].status == "delivered"      # one vendor's outage is its own
    (retried,) = vault.attempt_pending()                                       # e.g. python -m data.packages deliver
    assert retried.status == "delivered" and retried.last_error is None and retried.attempts == 3
    assert [i.authority for i in vault.Vault().list(vendors["soft"])] == [TLV]


def test_revoking_power_of_attorney_cancels_undelivered_packages_and_stops_the_next_delivery(
        mifkad_home, two_week_snapshots):
    earlier, later = two_week_snapshots
    open_export_records()
    soft = vendor_records.register_vendor("SoftEdu", "office@softedu.test", by="admin@education.gov.il")
    vendor_records.add_vendor_user(soft, "vendor@softedu.test", by="admin@education.gov.il")
    manager = load_principal(EXPORT_MANAGERS[TLV])
    vault.authorise_vendor(manager, TLV, soft)
    approve_and_build(FailingVault(soft, failures=100), date=earlier.date)      # delivery fails: not delivered yet
    assert vault.deliveries_of_authority(TLV)[0].status == "failed"
    vault.revoke_vendor(manager, TLV, soft)
    (cancelled,) = vault.deliveries_of_authority(TLV)
    assert cancelled.status == "cancelled"
    assert vault.attempt_pending() == []                                  # nothing left to retry
    approve_and_build(date=later.date)                                    # the next week: no delivery
    assert [d.status for d in vault.deliveries_of_authority(TLV)] == ["cancelled"]
    assert vault.Vault().list(soft) == [] and vault.delivered_to(soft) == []
    vendor_user = load_principal("vendor@softedu.test")
    with pytest.raises(PermissionError):
        vault.collect(vendor_user, cancelled.id)
    assert [e["action"] for e in audit_events("poa_revoked")] == ["poa_revoked"]


def test_a_vendor_user_collects_only_their_own_vendors_deliveries_and_each_collection_is_audited(vendors):
    approve_and_build()
    soft_delivery = vault.deliveries_of_authority(TLV)[0]
    regio_delivery = vault.deliveries_of_authority(REGION)[0]
    soft_user = load_principal("vendor@softedu.test")
    data = vault.collect(soft_user, soft_delivery.id)
    assert data == packages.get_package(DATE, TLV, "vendor").path.read_bytes()
    (event,) = audit_events("vault_collect")
    assert event["actor"] == "vendor@softedu.test" and event["authority"] == TLV
    assert event["details"]["sha256"] == soft_delivery.receipt["sha256"] and event["details"]["vendor"] == "SoftEdu"
    with pytest.raises(PermissionError):
        vault.collect(soft_user, regio_delivery.id)
    with pytest.raises(PermissionError):
        vault.collect(load_principal(EXPORT_MANAGERS[TLV]), soft_delivery.id)     # not a vendor user
    assert len(audit_events("vault_collect")) == 1


def test_the_vault_opens_only_keys_of_the_vendors_own_listing(vendors):
    approve_and_build()
    store = vault.Vault()
    regio_key = store.list(vendors["regio"])[0].key
    for key in (regio_key, f"../vendor-{vendors['regio']}/{regio_key}", "/etc/passwd"):
        with pytest.raises(vault.VaultError):
            store.open(vendors["soft"], key)


def test_giving_power_of_attorney_delivers_the_latest_approved_week_at_once(export_records):
    approve_and_build()
    late = vendor_records.register_vendor("Late", "office@late.test", by="admin@education.gov.il")
    assert vault.Vault().list(late) == []
    vault.authorise_vendor(load_principal(EXPORT_MANAGERS[TLV]), TLV, late)
    assert [(i.snapshot, i.authority) for i in vault.Vault().list(late)] == [(DATE, TLV)]
    (event,) = audit_events("poa_granted")
    assert event["actor"] == EXPORT_MANAGERS[TLV] and event["details"]["vendor"] == "Late"


def test_only_someone_who_may_give_power_of_attorney_can_give_or_revoke_it(export_records):
    soft = vendor_records.register_vendor("SoftEdu", "office@softedu.test", by="admin@education.gov.il")
    outsider = load_principal(EXPORT_MANAGERS[REGION])             # manages another authority
    with pytest.raises(PermissionError):
        vault.authorise_vendor(outsider, TLV, soft)
    with pytest.raises(PermissionError):
        vault.revoke_vendor(outsider, TLV, soft)
    assert vendor_records.active_poa_vendors(TLV) == []
    assert audit_events("poa_granted") == []
