"""Reading and changing who may do what: ministry staff, authority access, roster managers, grants.

Every change is written with who and when. Callers are responsible for asking
`auth.permissions.allowed` first; functions here check the rules that belong to the data itself
(a grant never exceeds the grantor's actions, an end date at most two years ahead).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

from auth.permissions import DELEGABLE, Action, Principal
from common import portal_db
from common.clock import now_iso, today
from common.config import settings

DEFAULT_GRANT_DAYS = 365
MAX_GRANT_DAYS = 2 * 365 + 1
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class GrantError(ValueError):
    """A delegation that the rules do not allow; the message says which rule.

    `code` names the rule and `params` fill it in, so pages can say it in the reader's language."""

    def __init__(self, message: str, code: str = "", **params):
        super().__init__(message)
        self.code = code
        self.params = params


def ensure_configured_admins() -> None:
    """The first ministry administrators come from configuration."""
    with portal_db.transaction() as con:
        for email in settings().ministry_admins:
            con.execute(
                "INSERT OR IGNORE INTO ministry_staff (email, appointed_by, appointed_at) VALUES (?, 'configuration', ?)",
                (email.lower(), now_iso()))


def appoint_ministry_staff(email: str, by: str) -> None:
    with portal_db.transaction() as con:
        con.execute(
            "INSERT INTO ministry_staff (email, appointed_by, appointed_at) VALUES (?, ?, ?) "
            "ON CONFLICT(email) DO UPDATE SET revoked_at = NULL, appointed_by = excluded.appointed_by, appointed_at = excluded.appointed_at",
            (email.lower(), by, now_iso()))


def open_access(authority: str, by: str, basis: str) -> None:
    with portal_db.transaction() as con:
        con.execute(
            "INSERT INTO authority_access (authority, opened_by, opened_at, basis) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(authority) DO UPDATE SET opened_by = excluded.opened_by, opened_at = excluded.opened_at, "
            "basis = excluded.basis, closed_by = NULL, closed_at = NULL",
            (str(authority), by, now_iso(), basis))


def close_access(authority: str, by: str) -> None:
    """Close an authority's access, and with it its managers, delegations and powers of attorney."""
    stamp = now_iso()
    with portal_db.transaction() as con:
        con.execute("UPDATE authority_access SET closed_by = ?, closed_at = ? WHERE authority = ? AND closed_at IS NULL",
                    (by, stamp, str(authority)))
        con.execute("UPDATE roster_managers SET revoked_at = ? WHERE authority = ? AND revoked_at IS NULL",
                    (stamp, str(authority)))
        con.execute("UPDATE grants SET revoked_by = ?, revoked_at = ? WHERE authority = ? AND revoked_at IS NULL",
                    (by, stamp, str(authority)))
        con.execute("UPDATE powers_of_attorney SET revoked_by = ?, revoked_at = ? WHERE authority = ? AND revoked_at IS NULL",
                    (by, stamp, str(authority)))


def appoint_roster_manager(authority: str, email: str, by: str) -> None:
    with portal_db.transaction() as con:
        con.execute(
            "INSERT INTO roster_managers (authority, email, appointed_by, appointed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(authority, email) DO UPDATE SET revoked_at = NULL, appointed_by = excluded.appointed_by, "
            "appointed_at = excluded.appointed_at",
            (str(authority), email.lower(), by, now_iso()))


def access_is_open(authority: str) -> bool:
    con = portal_db.connect()
    try:
        row = con.execute("SELECT 1 FROM authority_access WHERE authority = ? AND closed_at IS NULL",
                          (str(authority),)).fetchone()
        return row is not None
    finally:
        con.close()


def authorities_with_access() -> list[str]:
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute(
            "SELECT authority FROM authority_access WHERE closed_at IS NULL ORDER BY authority")]
    finally:
        con.close()


@dataclass(frozen=True)
class Grant:
    id: int
    authority: str
    grantee: str
    actions: frozenset[Action]
    granted_by: str
    granted_at: str
    expires_on: date
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_on >= today()


def _grant_from_row(row) -> Grant:
    return Grant(id=row["id"], authority=row["authority"], grantee=row["grantee"],
                 actions=frozenset(Action(a) for a in json.loads(row["actions"])),
                 granted_by=row["granted_by"], granted_at=row["granted_at"],
                 expires_on=date.fromisoformat(row["expires_on"]), revoked_at=row["revoked_at"])


def _check_grant(grantor: Principal, authority: str, grantee: str, actions, expires_on: date) -> frozenset[Action]:
    from auth.permissions import allowed
    try:
        acts = frozenset(Action(a) for a in actions)
    except ValueError as exc:
        raise GrantError(f"unknown action: {exc}", "unknown_action") from None
    if not allowed(grantor, Action.DELEGATE, authority):
        raise GrantError("you may not delegate access in this authority", "no_delegate")
    if not acts:
        raise GrantError("choose at least one action", "no_actions")
    not_delegable = acts - set(DELEGABLE)
    if not_delegable:
        names = ", ".join(sorted(not_delegable))
        raise GrantError(f"these actions cannot be delegated: {names}", "not_delegable", actions=names)
    beyond = {a for a in acts if not allowed(grantor, a, authority)}
    if beyond:
        names = ", ".join(sorted(beyond))
        raise GrantError(f"you cannot grant what you do not hold: {names}", "beyond_grantor", actions=names)
    if Action.VIEW_PERSONAL in acts and Action.VIEW_ROWS not in acts:
        raise GrantError("personal details need the rows permission too", "personal_needs_rows")
    if not _EMAIL.match(grantee):
        raise GrantError("the colleague's e-mail address is not valid", "bad_email")
    if grantee.lower() == grantor.email.lower():
        raise GrantError("you cannot delegate to yourself", "self")
    if expires_on < today():
        raise GrantError("the end date has passed", "past")
    if expires_on > today() + timedelta(days=MAX_GRANT_DAYS):
        raise GrantError("a grant may last at most two years", "too_long")
    return acts


def _grant_details(grantee: str, acts, expires_on: date, **more) -> dict:
    return {"grantee": grantee.lower(), "actions": sorted(str(a) for a in acts),
            "expires_on": expires_on.isoformat(), **more}


def create_grant(grantor: Principal, authority: str, grantee: str, actions, expires_on: date | None = None) -> int:
    """Delegate `actions` in `authority` to `grantee` until `expires_on` (default one year). Audited
    as grant_created before the grant exists."""
    from auth import audit
    expires_on = expires_on or today() + timedelta(days=DEFAULT_GRANT_DAYS)
    acts = _check_grant(grantor, authority, grantee, actions, expires_on)
    if any(g.active and g.grantee == grantee.lower() for g in grants_of_authority(authority)):
        raise GrantError("this colleague already has a grant here; change it instead", "duplicate")
    audit.record("grant_created", actor=grantor.email, authority=str(authority),
                 details=_grant_details(grantee, acts, expires_on))
    with portal_db.transaction() as con:
        cur = con.execute(
            "INSERT INTO grants (authority, grantee, actions, granted_by, granted_at, expires_on) VALUES (?, ?, ?, ?, ?, ?)",
            (str(authority), grantee.lower(), json.dumps(sorted(acts)), grantor.email, now_iso(), expires_on.isoformat()))
        return cur.lastrowid


def update_grant(grantor: Principal, grant_id: int, actions, expires_on: date) -> None:
    """Change a grant's actions or end date (also to renew an expired one). Audited as grant_changed."""
    from auth import audit
    grant = get_grant(grant_id)
    if grant is None or grant.revoked_at is not None:
        raise GrantError("no such active grant", "no_grant")
    acts = _check_grant(grantor, grant.authority, grant.grantee, actions, expires_on)
    audit.record("grant_changed", actor=grantor.email, authority=grant.authority,
                 details=_grant_details(grant.grantee, acts, expires_on, grant_id=grant_id,
                                        before=_grant_details(grant.grantee, grant.actions, grant.expires_on)))
    with portal_db.transaction() as con:
        con.execute("UPDATE grants SET actions = ?, expires_on = ? WHERE id = ?",
                    (json.dumps(sorted(acts)), expires_on.isoformat(), grant_id))


def revoke_grant(grantor: Principal, grant_id: int) -> None:
    """End a grant now; the colleague loses the access at their next click. Audited as grant_revoked."""
    from auth import audit
    from auth.permissions import allowed
    grant = get_grant(grant_id)
    if grant is None or grant.revoked_at is not None:
        raise GrantError("no such active grant", "no_grant")
    if not allowed(grantor, Action.DELEGATE, grant.authority):
        raise GrantError("you may not revoke grants in this authority", "no_delegate")
    audit.record("grant_revoked", actor=grantor.email, authority=grant.authority,
                 details=_grant_details(grant.grantee, grant.actions, grant.expires_on, grant_id=grant_id))
    with portal_db.transaction() as con:
        con.execute("UPDATE grants SET revoked_by = ?, revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (grantor.email, now_iso(), grant_id))


def get_grant(grant_id: int) -> Grant | None:
    con = portal_db.connect()
    try:
        row = con.execute("SELECT * FROM grants WHERE id = ?", (grant_id,)).fetchone()
        return _grant_from_row(row) if row else None
    finally:
        con.close()


def grants_of_authority(authority: str) -> list[Grant]:
    con = portal_db.connect()
    try:
        rows = con.execute("SELECT * FROM grants WHERE authority = ? ORDER BY revoked_at IS NOT NULL, grantee, id",
                           (str(authority),)).fetchall()
        return [_grant_from_row(r) for r in rows]
    finally:
        con.close()
