"""The weekly approval of a published snapshot by the ministry's legal department."""
from __future__ import annotations

from dataclasses import dataclass

from common import portal_db
from common.clock import now_iso
from data.snapshots import get_snapshot


class ApprovalError(ValueError):
    pass


@dataclass(frozen=True)
class Approval:
    snapshot: str
    approved_by: str
    approved_at: str
    note: str


def approve(snapshot_date: str, by: str, note: str = "") -> Approval:
    """Record the approval; approving the same snapshot twice keeps the first approval."""
    if get_snapshot(snapshot_date) is None:
        raise ApprovalError(f"no published snapshot dated {snapshot_date}")
    with portal_db.transaction() as con:
        con.execute("INSERT OR IGNORE INTO approvals (snapshot, approved_by, approved_at, note) VALUES (?, ?, ?, ?)",
                    (snapshot_date, by, now_iso(), note))
    approval = get_approval(snapshot_date)
    assert approval is not None
    return approval


def get_approval(snapshot_date: str) -> Approval | None:
    con = portal_db.connect()
    try:
        row = con.execute("SELECT * FROM approvals WHERE snapshot = ?", (snapshot_date,)).fetchone()
        return Approval(**dict(row)) if row else None
    finally:
        con.close()


def list_approvals() -> list[Approval]:
    """Approved weekly exports, newest first."""
    con = portal_db.connect()
    try:
        return [Approval(**dict(r)) for r in con.execute("SELECT * FROM approvals ORDER BY snapshot DESC")]
    finally:
        con.close()
