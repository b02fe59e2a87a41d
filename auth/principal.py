"""Build the Principal for a signed-in person from the portal's own records, on every rerun."""
from __future__ import annotations

import json
from datetime import datetime

from auth.permissions import ROLE_ACTIONS, Action, Principal, Role
from common import portal_db
from common.clock import now_iso, today


def record_sign_in(email: str, subject: str, name: str) -> None:
    """Remember who the login provider said this person is (identity only, never rights)."""
    stamp = now_iso()
    with portal_db.transaction() as con:
        con.execute(
            "INSERT INTO users (email, subject, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(email) DO UPDATE SET subject = excluded.subject, name = excluded.name, last_seen = excluded.last_seen",
            (email.lower(), subject, name, stamp, stamp))


def record_activity(email: str) -> None:
    """Note that this person is active now (the idle limit applies across their sessions)."""
    with portal_db.transaction() as con:
        con.execute("UPDATE users SET last_seen = ? WHERE email = ?", (now_iso(), email.lower()))


def last_activity(email: str) -> float | None:
    """When this person was last active in any session (epoch seconds), or None if never seen."""
    con = portal_db.connect()
    try:
        row = con.execute("SELECT last_seen FROM users WHERE email = ?", (email.lower(),)).fetchone()
    finally:
        con.close()
    return datetime.fromisoformat(row[0]).timestamp() if row and row[0] else None


def load_principal(email: str, name: str = "") -> Principal:
    email = (email or "").strip().lower()
    if not email:
        return Principal(email="")
    con = portal_db.connect()
    try:
        ministry = con.execute("SELECT 1 FROM ministry_staff WHERE email = ? AND revoked_at IS NULL",
                               (email,)).fetchone() is not None
        open_authorities = {r[0] for r in con.execute(
            "SELECT authority FROM authority_access WHERE closed_at IS NULL")}
        managed = frozenset(r[0] for r in con.execute(
            "SELECT authority FROM roster_managers WHERE email = ? AND revoked_at IS NULL", (email,))
            if r[0] in open_authorities)
        actions: dict[str, set[Action]] = {a: set(ROLE_ACTIONS[Role.ROSTER_MANAGER]) for a in managed}
        for row in con.execute(
                "SELECT authority, actions FROM grants WHERE grantee = ? AND revoked_at IS NULL AND expires_on >= ?",
                (email, today().isoformat())):
            if row["authority"] in open_authorities:
                actions.setdefault(row["authority"], set()).update(Action(a) for a in json.loads(row["actions"]))
        vendor_ids = frozenset(r[0] for r in con.execute(
            "SELECT vendor_id FROM vendor_users WHERE email = ?", (email,)))
    finally:
        con.close()
    from auth.permissions import AUTHORITY_ACTIONS
    return Principal(
        email=email, name=name, ministry=ministry, managed=managed, vendor_ids=vendor_ids,
        authority_actions={a: frozenset(acts & AUTHORITY_ACTIONS) for a, acts in actions.items()},
    )
