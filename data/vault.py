"""The vendor vault: approved packages delivered to the software vendors an authority gave power of
attorney to, with a receipt for each delivery.

Two layers:
- `Vault` stores files: a folder per vendor under MIFKAD_HOME/vault, behind three methods (deliver,
  list, open), so an object store can replace it by implementing the same three.
      vault/vendor-<id>/<snapshot>/<authority>/MIFKAD_<A>_<D>.zip
      vault/vendor-<id>/<snapshot>/<authority>/MIFKAD_<A>_<D>.zip.receipt.json   (written last)
- the functions below keep the `deliveries` records: who should receive what, attempts, receipts,
  retries after a failure, and cancellation when a power of attorney is revoked. Delivery is
  idempotent: delivering the same package again returns the first receipt.

Revoking a power of attorney stops every delivery not yet made (they are cancelled and are never in
the vault); packages already delivered stay with the vendor, who held the authority's power of
attorney when they were sent.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from auth import audit
from auth import vendors as vendor_records
from auth.permissions import Action, Principal, allowed
from common import portal_db
from common.clock import now_iso
from common.config import settings
from data.export import atomic_file

RECEIPT_SUFFIX = ".receipt.json"
_KEY = re.compile(r"^(\d{4}-\d{2}-\d{2})/([0-9A-Za-z_-]+)/([0-9A-Za-z_.-]+\.zip)$")


class VaultError(RuntimeError):
    pass


@dataclass(frozen=True)
class VaultItem:
    key: str              # "<snapshot>/<authority>/<file>", the name open() takes
    snapshot: str
    authority: str
    name: str
    receipt: dict


class Vault:
    """A folder per vendor. Replace with an object store by implementing deliver, list and open."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else settings().vault_dir

    def _folder(self, vendor_id: int) -> Path:
        return self.root / f"vendor-{int(vendor_id)}"

    def deliver(self, vendor_id: int, source: Path, key: str, receipt: dict) -> dict:
        """Copy `source` to the vendor's vault under `key`, verify it, and write the receipt last.
        Delivering the same bytes again returns the existing receipt."""
        if not _KEY.match(key):
            raise VaultError(f"not a vault key: {key!r}")
        dest = self._folder(vendor_id) / key
        receipt_path = dest.with_name(dest.name + RECEIPT_SUFFIX)
        if receipt_path.exists():
            existing = json.loads(receipt_path.read_text(encoding="utf-8"))
            if existing.get("sha256") == receipt["sha256"]:
                return existing
            raise VaultError(f"{key} was already delivered to vendor {vendor_id} with other contents")
        with atomic_file(dest) as out, open(source, "rb") as src:
            sha = hashlib.sha256()
            for block in iter(lambda: src.read(1 << 20), b""):
                sha.update(block)
                out.write(block)
            if sha.hexdigest() != receipt["sha256"]:
                raise VaultError(f"{source.name} does not match its recorded checksum; not delivered")
        with atomic_file(receipt_path) as out:
            out.write((json.dumps(receipt, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        return receipt

    def list(self, vendor_id: int) -> list[VaultItem]:
        """Complete deliveries (those with a receipt), newest week first."""
        folder = self._folder(vendor_id)
        items = []
        for receipt_path in folder.glob(f"*/*/*{RECEIPT_SUFFIX}"):
            key = receipt_path.relative_to(folder).as_posix()[: -len(RECEIPT_SUFFIX)]
            m = _KEY.match(key)
            if m and (folder / key).exists():
                items.append(VaultItem(key, m.group(1), m.group(2), m.group(3),
                                       json.loads(receipt_path.read_text(encoding="utf-8"))))
        return sorted(items, key=lambda i: (i.snapshot, i.authority), reverse=True)

    def open(self, vendor_id: int, key: str) -> BinaryIO:
        """A delivered file of this vendor only: keys are matched against the vendor's own listing."""
        if key not in {item.key for item in self.list(vendor_id)}:
            raise VaultError(f"vendor {vendor_id} has no delivery {key!r}")
        return open(self._folder(vendor_id) / key, "rb")


# ------------------------------------------------------------------------------------ delivery records

@dataclass(frozen=True)
class Delivery:
    id: int
    snapshot: str
    authority: str
    vendor_id: int
    vendor_name: str
    package_id: int
    status: str            # pending | delivered | failed | cancelled
    attempts: int
    last_error: str | None
    created_at: str
    delivered_at: str | None
    receipt: dict | None

    @property
    def key(self) -> str | None:
        return self.receipt.get("key") if self.receipt else None


_SELECT = ("SELECT d.*, v.name AS vendor_name FROM deliveries d JOIN vendors v ON v.id = d.vendor_id ")


def _from_row(row) -> Delivery:
    return Delivery(id=row["id"], snapshot=row["snapshot"], authority=row["authority"], vendor_id=row["vendor_id"],
                    vendor_name=row["vendor_name"], package_id=row["package_id"], status=row["status"],
                    attempts=row["attempts"], last_error=row["last_error"], created_at=row["created_at"],
                    delivered_at=row["delivered_at"],
                    receipt=json.loads(row["receipt"]) if row["receipt"] else None)


def _query(where: str, params: tuple) -> list[Delivery]:
    con = portal_db.connect()
    try:
        return [_from_row(r) for r in con.execute(_SELECT + where, params)]
    finally:
        con.close()


def queue_deliveries(snapshot: str, authority: str) -> list[int]:
    """A pending delivery of the authority's ready vendor package for each vendor holding its power of
    attorney now. Returns the vendor ids queued (existing deliveries are left as they are)."""
    from data.packages import get_package
    package = get_package(snapshot, authority, "vendor")
    if package is None or package.status != "ready":
        return []
    vendor_ids = vendor_records.active_poa_vendors(authority)
    with portal_db.transaction() as con:
        for vendor_id in vendor_ids:
            con.execute("INSERT OR IGNORE INTO deliveries (snapshot, authority, vendor_id, package_id, status, created_at) "
                        "VALUES (?, ?, ?, ?, 'pending', ?)", (snapshot, str(authority), vendor_id, package.id, now_iso()))
    return vendor_ids


def deliver(snapshot: str, authority: str, vault: Vault | None = None) -> list[Delivery]:
    """Queue and attempt the deliveries of one authority's package for one approved snapshot."""
    queue_deliveries(snapshot, authority)
    return attempt_pending(snapshot=snapshot, authority=authority, vault=vault)


def attempt_pending(snapshot: str | None = None, authority: str | None = None,
                    vault: Vault | None = None) -> list[Delivery]:
    """Try every delivery not yet made (pending, or failed before: this is the retry). A delivery
    whose power of attorney has been revoked meanwhile is cancelled instead."""
    vault = vault or Vault()
    where, params = "WHERE d.status IN ('pending', 'failed')", []
    if snapshot:
        where += " AND d.snapshot = ?"
        params.append(snapshot)
    if authority:
        where += " AND d.authority = ?"
        params.append(str(authority))
    attempted = _query(where + " ORDER BY d.id", tuple(params))
    for delivery in attempted:
        if delivery.vendor_id not in vendor_records.active_poa_vendors(delivery.authority):
            _cancel(delivery.id, "power of attorney revoked before delivery")
            continue
        _attempt(delivery, vault)
    return [_query("WHERE d.id = ?", (d.id,))[0] for d in attempted]


def _attempt(delivery: Delivery, vault: Vault) -> None:
    from data.packages import get_package_by_id
    package = get_package_by_id(delivery.package_id)
    key = f"{package.snapshot}/{package.authority}/{package.path.name}"
    details = {"vendor_id": delivery.vendor_id, "vendor": delivery.vendor_name, "snapshot": package.snapshot,
               "package": package.path.name, "sha256": package.sha256, "counts": package.counts,
               "attempt": delivery.attempts + 1}
    # The event is durable before the package leaves for the vendor.
    audit.record("vendor_delivery", actor="system", authority=package.authority, details=details)
    with portal_db.transaction() as con:
        con.execute("UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?", (delivery.id,))
    receipt = {"receipt": "Mifkad vault delivery", "delivery_id": delivery.id, "key": key,
               "vendor_id": delivery.vendor_id, "vendor": delivery.vendor_name, "authority": package.authority,
               "snapshot": package.snapshot, "approved_at": package.approved_at, "file": package.path.name,
               "bytes": package.bytes, "sha256": package.sha256, "counts": package.counts,
               "delivered_at": now_iso()}
    try:
        stored = vault.deliver(delivery.vendor_id, package.path, key, receipt)
    except Exception as exc:        # any storage failure: recorded, and retried by the next attempt_pending
        error = f"{type(exc).__name__}: {exc}"
        with portal_db.transaction() as con:
            con.execute("UPDATE deliveries SET status = 'failed', last_error = ? WHERE id = ?", (error, delivery.id))
        audit.record("vendor_delivery_failed", actor="system", authority=package.authority,
                     details={**details, "error": error})
        return
    with portal_db.transaction() as con:
        con.execute("UPDATE deliveries SET status = 'delivered', delivered_at = ?, receipt = ?, last_error = NULL "
                    "WHERE id = ?", (stored["delivered_at"], json.dumps(stored, ensure_ascii=False), delivery.id))


def _cancel(delivery_id: int, why: str) -> None:
    with portal_db.transaction() as con:
        con.execute("UPDATE deliveries SET status = 'cancelled', last_error = ? "
                    "WHERE id = ? AND status IN ('pending', 'failed')", (why, delivery_id))


def deliveries_of_authority(authority: str) -> list[Delivery]:
    """The receipts an authority sees: every delivery of its packages, newest first."""
    return _query("WHERE d.authority = ? ORDER BY d.snapshot DESC, v.name", (str(authority),))


def deliveries_of_snapshot(snapshot: str) -> list[Delivery]:
    return _query("WHERE d.snapshot = ? ORDER BY d.authority, v.name", (snapshot,))


def delivered_to(vendor_id: int) -> list[Delivery]:
    return _query("WHERE d.vendor_id = ? AND d.status = 'delivered' ORDER BY d.snapshot DESC, d.authority",
                  (int(vendor_id),))


# ---------------------------------------------------------------------------- power of attorney

def authorise_vendor(principal: Principal, authority: str, vendor_id: int, vault: Vault | None = None) -> int:
    """A roster manager gives a registered vendor power of attorney. The latest approved week's
    package goes to the vendor at once; later weeks on each approval."""
    if not allowed(principal, Action.GRANT_POA, authority):
        raise PermissionError("you may not give power of attorney for this authority")
    vendor = next((v for v in vendor_records.list_vendors() if v.id == int(vendor_id)), None)
    if vendor is None:
        raise ValueError(f"no registered vendor with id {vendor_id}")
    audit.record("poa_granted", actor=principal.email, authority=authority,
                 details={"vendor_id": vendor.id, "vendor": vendor.name})
    poa_id = vendor_records.grant_poa(authority, vendor.id, by=principal.email)
    from data.approvals import list_approvals
    for approval in list_approvals()[:1]:
        deliver(approval.snapshot, authority, vault=vault)
    return poa_id


def revoke_vendor(principal: Principal, authority: str, vendor_id: int) -> None:
    """Revoke a power of attorney: no further delivery, and undelivered packages are cancelled."""
    if not allowed(principal, Action.GRANT_POA, authority):
        raise PermissionError("you may not revoke power of attorney for this authority")
    vendor = next((v for v in vendor_records.list_vendors() if v.id == int(vendor_id)), None)
    audit.record("poa_revoked", actor=principal.email, authority=authority,
                 details={"vendor_id": int(vendor_id), "vendor": vendor.name if vendor else None})
    vendor_records.revoke_poa(authority, int(vendor_id), by=principal.email)
    for delivery in _query("WHERE d.authority = ? AND d.vendor_id = ? AND d.status IN ('pending', 'failed')",
                           (str(authority), int(vendor_id))):
        _cancel(delivery.id, f"power of attorney revoked by {principal.email}")


# --------------------------------------------------------------------------------------- collection

def collect(principal: Principal, delivery_id: int, vault: Vault | None = None) -> bytes:
    """A vendor user collects a delivered package: checked, audited, then read."""
    if not allowed(principal, Action.COLLECT_VAULT):
        raise PermissionError("only vendor users collect from the vault")
    found = _query("WHERE d.id = ?", (int(delivery_id),))
    delivery = found[0] if found else None
    if delivery is None or delivery.vendor_id not in principal.vendor_ids or delivery.status != "delivered":
        raise PermissionError("no such delivery in your vault")
    vault = vault or Vault()
    details = {"vendor_id": delivery.vendor_id, "vendor": delivery.vendor_name, "snapshot": delivery.snapshot,
               "package": delivery.receipt["file"],
               "sha256": delivery.receipt["sha256"], "counts": delivery.receipt["counts"]}
    with vault.open(delivery.vendor_id, delivery.key) as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != delivery.receipt["sha256"]:
        raise VaultError(f"{delivery.key} does not match its receipt")
    seq = audit.record("vault_collect", actor=principal.email, authority=delivery.authority, details=details)
    with portal_db.transaction() as con:
        con.execute("INSERT INTO downloads (package_id, actor, channel, vendor_id, at, audit_seq) "
                    "VALUES (?, ?, 'vault', ?, ?, ?)", (delivery.package_id, principal.email, delivery.vendor_id,
                                                      now_iso(), seq))
    return data
