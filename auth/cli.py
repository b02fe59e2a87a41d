"""Operator commands for who may do what, until access requests are approved in the portal itself.

    python -m auth.cli appoint-ministry --email E          # a ministry staff member
    python -m auth.cli open-access --authority A           # open authority A's census
    python -m auth.cli appoint-manager --authority A --email E
    python -m auth.cli close-access --authority A          # also ends A's managers, grants, powers of attorney
    python -m auth.cli list                                # who holds what now

Each change is audited (actor "operator:<login name>") before it is written. Authority codes are
checked against the latest snapshot's localities table when one is published.
"""
from __future__ import annotations

import argparse
import getpass
import re
import sys

from auth import audit, records
from common import portal_db

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UsageError(ValueError):
    pass


def _operator() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except Exception:       # no login name (some containers): still say it came from the command line
        return "operator:cli"


def _email(value: str) -> str:
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise UsageError(f"--email: {value!r} is not an e-mail address")
    return email


def _authority(value: str) -> str:
    code = value.strip()
    if not code.isdigit():
        raise UsageError(f"--authority: {value!r} is not an authority code (SEMEL_RASHUT, digits)")
    from data.snapshots import latest_snapshot
    snapshot = latest_snapshot()
    if snapshot is not None:
        from queries import Scope, run
        known = set(run("authorities", Scope(snapshot=snapshot, authority=None))["SEMEL_RASHUT"].to_list())
        if code not in known:
            raise UsageError(f"--authority: {code} is not an authority in snapshot {snapshot.date} (RASHUYOT.SEMEL_RASHUT)")
    return code


def appoint_ministry(args) -> str:
    email = _email(args.email)
    actor = _operator()
    audit.record("ministry_staff_appointed", actor=actor, details={"email": email}, reason=args.reason)
    records.appoint_ministry_staff(email, by=actor)
    return f"{email} is ministry staff"


def open_access(args) -> str:
    authority = _authority(args.authority)
    actor = _operator()
    audit.record("access_opened", actor=actor, authority=authority, details={"basis": "operator"}, reason=args.reason)
    records.open_access(authority, by=actor, basis="operator")
    return f"access to authority {authority} is open"


def close_access(args) -> str:
    authority = _authority(args.authority)
    if not records.access_is_open(authority):
        raise UsageError(f"--authority: access to authority {authority} is not open")
    actor = _operator()
    audit.record("access_closed", actor=actor, authority=authority, details={}, reason=args.reason)
    records.close_access(authority, by=actor)
    return f"access to authority {authority} is closed; its managers, grants and powers of attorney ended"


def appoint_manager(args) -> str:
    authority = _authority(args.authority)
    email = _email(args.email)
    actor = _operator()
    audit.record("roster_manager_appointed", actor=actor, authority=authority, details={"email": email},
                 reason=args.reason)
    records.appoint_roster_manager(authority, email, by=actor)
    note = "" if records.access_is_open(authority) else \
        f" (access to {authority} is not open: run open-access --authority {authority} for it to take effect)"
    return f"{email} is roster manager of authority {authority}{note}"


def list_holders(args) -> str:
    from common.clock import today
    records.ensure_configured_admins()      # the configured administrators are ministry staff too
    con = portal_db.connect()
    try:
        lines = ["ministry staff:"]
        lines += [f"  {r['email']}  (by {r['appointed_by']}, {r['appointed_at'][:10]})"
                  for r in con.execute("SELECT * FROM ministry_staff WHERE revoked_at IS NULL ORDER BY email")]
        lines.append("open authorities:")
        for acc in con.execute("SELECT * FROM authority_access WHERE closed_at IS NULL ORDER BY authority"):
            lines.append(f"  {acc['authority']}  (opened by {acc['opened_by']}, {acc['opened_at'][:10]}, basis {acc['basis']})")
            for m in con.execute("SELECT email FROM roster_managers WHERE authority = ? AND revoked_at IS NULL "
                                 "ORDER BY email", (acc["authority"],)):
                lines.append(f"    manager  {m['email']}")
        lines.append("active grants:")
        for g in con.execute("SELECT * FROM grants WHERE revoked_at IS NULL AND expires_on >= ? "
                             "ORDER BY authority, grantee", (today().isoformat(),)):
            lines.append(f"  {g['authority']}  {g['grantee']}  {g['actions']}  until {g['expires_on']}  (by {g['granted_by']})")
    finally:
        con.close()
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m auth.cli", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name, func, *, authority=False, email=False, change=True):
        p = sub.add_parser(name)
        if authority:
            p.add_argument("--authority", required=True, help="authority code (SEMEL_RASHUT)")
        if email:
            p.add_argument("--email", required=True)
        if change:
            p.add_argument("--reason", default=None, help="why (kept in the audit trail)")
        p.set_defaults(func=func)

    command("appoint-ministry", appoint_ministry, email=True)
    command("open-access", open_access, authority=True)
    command("close-access", close_access, authority=True)
    command("appoint-manager", appoint_manager, authority=True, email=True)
    command("list", list_holders, change=False)
    args = ap.parse_args(argv)
    try:
        print(args.func(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
