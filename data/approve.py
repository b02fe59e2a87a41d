"""The weekly approval from the command line, for operators:

    python -m data.approve --snapshot 2026-12-01 --by legal@education.gov.il [--note "..."]

Records the approval (audited), then builds the packages of every authority with access and delivers
them to the vaults of vendors holding power of attorney, printing progress. The person named by --by
must be ministry staff (who may approve exports); the approval is theirs, not the operator's.
"""
from __future__ import annotations

import argparse
import sys

from auth.permissions import Action, allowed
from auth.principal import load_principal
from auth.records import ensure_configured_admins
from common.clock import now_iso
from data.approvals import ApprovalError
from data.packages import approve_snapshot


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data.approve", description=__doc__.split("\n\n")[0])
    ap.add_argument("--snapshot", required=True, help="published snapshot date YYYY-MM-DD")
    ap.add_argument("--by", required=True, help="e-mail of the ministry staff member approving")
    ap.add_argument("--note", default="", help="a note kept with the approval")
    ap.add_argument("--background", action="store_true",
                    help="start the package build in the background instead of waiting for it")
    args = ap.parse_args(argv)
    ensure_configured_admins()
    if not allowed(load_principal(args.by), Action.APPROVE_EXPORTS):
        print(f"approve: {args.by} is not ministry staff and may not approve the weekly export", file=sys.stderr)
        return 2
    say = (lambda msg: print(f"{now_iso()} {msg}", flush=True))
    try:
        approval = approve_snapshot(args.snapshot, by=args.by.strip().lower(), note=args.note,
                                    background=args.background, say=say)
    except ApprovalError as exc:
        print(f"approve: {exc}", file=sys.stderr)
        return 2
    say(f"snapshot {approval.snapshot} approved by {approval.approved_by} at {approval.approved_at}")
    if args.background:
        say("packages are being built in the background (python -m data.packages status)")
        return 0
    from data.packages import progress
    result = progress(approval.snapshot)
    say(f"packages: {result}")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
