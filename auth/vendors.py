"""Software vendors, their users, and the powers of attorney authorities give them."""
from __future__ import annotations

from dataclasses import dataclass

from common import portal_db
from common.clock import now_iso


@dataclass(frozen=True)
class Vendor:
    id: int
    name: str
    contact_email: str
    contact_phone: str | None
    declaration_file: str | None
    registered_by: str
    registered_at: str


def register_vendor(name: str, contact_email: str, by: str, contact_phone: str | None = None,
                    declaration_file: str | None = None) -> int:
    name = name.strip()
    if not name:
        raise ValueError("vendor name is required")
    if "@" not in contact_email:
        raise ValueError("vendor contact e-mail is not valid")
    with portal_db.transaction() as con:
        cur = con.execute(
            "INSERT INTO vendors (name, contact_email, contact_phone, declaration_file, registered_by, registered_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (name, contact_email.strip().lower(), contact_phone, declaration_file, by, now_iso()))
        return cur.lastrowid


def add_vendor_user(vendor_id: int, email: str, by: str) -> None:
    with portal_db.transaction() as con:
        con.execute("INSERT OR IGNORE INTO vendor_users (vendor_id, email, added_by, added_at) VALUES (?, ?, ?, ?)",
                    (vendor_id, email.strip().lower(), by, now_iso()))


def vendor_users(vendor_id: int) -> list[str]:
    """E-mails of a vendor's portal users."""
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute("SELECT email FROM vendor_users WHERE vendor_id = ? ORDER BY email",
                                          (vendor_id,))]
    finally:
        con.close()


def list_vendors() -> list[Vendor]:
    con = portal_db.connect()
    try:
        return [Vendor(**dict(r)) for r in con.execute(
            "SELECT id, name, contact_email, contact_phone, declaration_file, registered_by, registered_at "
            "FROM vendors ORDER BY name")]
    finally:
        con.close()


def vendor_by_name(name: str) -> Vendor | None:
    return next((v for v in list_vendors() if v.name == name), None)


def grant_poa(authority: str, vendor_id: int, by: str) -> int:
    """Give a vendor power of attorney for an authority (idempotent while one is active)."""
    with portal_db.transaction() as con:
        row = con.execute("SELECT id FROM powers_of_attorney WHERE authority = ? AND vendor_id = ? AND revoked_at IS NULL",
                          (str(authority), vendor_id)).fetchone()
        if row:
            return row["id"]
        cur = con.execute("INSERT INTO powers_of_attorney (authority, vendor_id, granted_by, granted_at) VALUES (?, ?, ?, ?)",
                          (str(authority), vendor_id, by, now_iso()))
        return cur.lastrowid


def revoke_poa(authority: str, vendor_id: int, by: str) -> None:
    with portal_db.transaction() as con:
        con.execute("UPDATE powers_of_attorney SET revoked_by = ?, revoked_at = ? "
                    "WHERE authority = ? AND vendor_id = ? AND revoked_at IS NULL",
                    (by, now_iso(), str(authority), vendor_id))


def active_poa_vendors(authority: str) -> list[int]:
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute(
            "SELECT vendor_id FROM powers_of_attorney WHERE authority = ? AND revoked_at IS NULL ORDER BY vendor_id",
            (str(authority),))]
    finally:
        con.close()


def authorities_authorising(vendor_id: int) -> list[str]:
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute(
            "SELECT authority FROM powers_of_attorney WHERE vendor_id = ? AND revoked_at IS NULL ORDER BY authority",
            (vendor_id,))]
    finally:
        con.close()


def poa_history(authority: str) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r) for r in con.execute(
            "SELECT p.*, v.name AS vendor_name FROM powers_of_attorney p JOIN vendors v ON v.id = p.vendor_id "
            "WHERE p.authority = ? ORDER BY p.granted_at DESC", (str(authority),))]
    finally:
        con.close()
