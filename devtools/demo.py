"""Build the demo: a generated feed, ingested as today's snapshot, approved, and the preset users'
records (roster managers, an analyst's delegation, a vendor with power of attorney).

    python -m devtools.demo            # does nothing when a snapshot already exists
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.clock import today
from common.config import settings
from data.snapshots import latest_snapshot
from devtools.users import PRESET_USERS, TEL_AVIV

DEMO_STUDENTS = 60_000


def seed_records(snapshot_date: str) -> None:
    """The portal records the preset users need. Idempotent."""
    from auth import vendors
    from auth.principal import load_principal
    from auth.records import (appoint_roster_manager, create_grant, ensure_configured_admins, grants_of_authority,
                              open_access)
    from data.approvals import get_approval
    from data.packages import approve_snapshot

    ensure_configured_admins()
    for user in PRESET_USERS:
        if user["role"] == "roster_manager":
            open_access(user["authority"], by="operator:demo", basis="operator")
            appoint_roster_manager(user["authority"], user["email"], by="operator:demo")
    managers = {u["authority"]: u["email"] for u in PRESET_USERS if u["role"] == "roster_manager"}
    for user in PRESET_USERS:
        if user["role"] == "analyst":
            existing = [g for g in grants_of_authority(user["authority"]) if g.grantee == user["email"] and g.active]
            if not existing:
                create_grant(load_principal(managers[user["authority"]]), user["authority"], user["email"], user["actions"])
        if user["role"] == "vendor":
            vendor = vendors.vendor_by_name(user["vendor"])
            vendor_id = vendor.id if vendor else vendors.register_vendor(
                user["vendor"], user["email"], by="operator:demo", contact_phone="03-5550000")
            vendors.add_vendor_user(vendor_id, user["email"], by="operator:demo")
            vendors.grant_poa(TEL_AVIV, vendor_id, by=managers[TEL_AVIV])
    if get_approval(snapshot_date) is None:   # the real approval path: packages built and delivered
        admin = settings().ministry_admins[0]
        approve_snapshot(snapshot_date, by=admin, note="demo data: approved for the weekly export", background=False)


def build(students: int = DEMO_STUDENTS, force: bool = False) -> str:
    from data import generate, ingest
    existing = latest_snapshot()
    if existing and not force:
        seed_records(existing.date)
        return existing.date
    date = today().isoformat()
    feed_dir = settings().home / "feeds" / date
    args = ["--out", str(feed_dir), "--students", str(students), "--date", date, "--seed", "1"]
    if settings().reference_dir.exists():
        args += ["--reference", str(settings().reference_dir)]
    if generate.main(args) != 0:
        raise SystemExit("demo: the feed generator failed")
    code = ingest.main([str(feed_dir), "--date", date] + (["--replace"] if force else []))
    if code != 0:
        raise SystemExit(f"demo: ingest failed with exit code {code}")
    seed_records(date)
    return date


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--students", type=int, default=DEMO_STUDENTS)
    ap.add_argument("--force", action="store_true", help="rebuild even if a snapshot exists")
    args = ap.parse_args(argv)
    date = build(args.students, args.force)
    print(f"demo snapshot {date} ready under {settings().home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
