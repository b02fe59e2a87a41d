"""The audit trail: append-only, hash-chained, durable before the audited action goes on.

    record("download", actor="a@b", authority="5000", details={...}, reason="...")
    python -m auth.audit verify      # reports the first broken link, exit 1 if any
    python -m auth.audit prune       # removes events past retention (settings().audit_retention_days)

Each event's hash = SHA-256 of the previous hash and the event's canonical JSON, so an edited,
deleted or reordered event breaks the chain from that point on. The database refuses updates and
deletes (triggers in common/schema/50_audit.sql); the newest sequence number and hash are kept in
`audit_head`, so cutting the newest events off is detected too. Pruning removes runs of old events
and keeps, for each run, the hashes at both ends (a checkpoint) announced by an `audit_pruned` event,
so verify() still walks the chain across the hole. Every event type is described in docs/audit.md.
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import re
import sqlite3
import sys
from dataclasses import dataclass
from datetime import date, timedelta

from common import portal_db
from common.clock import now_iso, today
from common.config import settings

GENESIS = "0" * 64
# Events of approved exports leaving the ministry: kept at least this long whatever the setting.
# A failed delivery attempt stays as long as the attempt it reports, or the attempt would read as done.
EXPORT_EVENTS = frozenset({"export_approved", "download", "vendor_delivery", "vendor_delivery_failed",
                           "vault_collect"})
EXPORT_RETENTION_YEARS = 7
# Announcements of pruning are never pruned: verify() needs them to accept the holes.
PRUNE_EVENT = "audit_pruned"
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def canonical(seq: int, at: str, actor: str, action: str, authority: str | None, details: str, reason: str | None) -> str:
    return json.dumps([seq, at, actor, action, authority, details, reason], ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def _append(con: sqlite3.Connection, action: str, actor: str, authority: str | None, details: dict | None,
            reason: str | None) -> int:
    """Append one event inside the caller's write transaction (BEGIN IMMEDIATE)."""
    if not isinstance(action, str) or not _ACTION_RE.match(action):
        raise ValueError(f"audit action must be a lower-case word such as 'page_view', got {action!r}")
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError(f"audit event '{action}' needs an actor (who did it)")
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    authority = None if authority is None else str(authority)
    head = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, prev = (head["seq"] + 1, head["hash"]) if head else (1, GENESIS)
    at = now_iso()
    digest = chain_hash(prev, canonical(seq, at, actor, action, authority, details_json, reason))
    con.execute(
        "INSERT INTO audit_events (seq, at, actor, action, authority, details, reason, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, actor, action, authority, details_json, reason, prev, digest))
    return seq


def record(action: str, actor: str, authority: str | None = None, details: dict | None = None,
           reason: str | None = None) -> int:
    """Append one event; returns its sequence number once it is durable (synchronous=FULL commit)."""
    with portal_db.transaction() as con:   # BEGIN IMMEDIATE: one writer at a time keeps the chain linear
        return _append(con, action, actor, authority, details, reason)


# ---------------------------------------------------------------------------------------- verify

@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


def runs_digest(runs: list) -> str:
    """SHA-256 over pruned runs (first, last, prev_hash, last_hash, last_at), as announced and stored."""
    rows = [[r["first_seq"], r["last_seq"], r["prev_hash"], r["last_hash"], r["last_at"]] for r in runs]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def _announced_ok(con: sqlite3.Connection) -> set[int]:
    """Seqs of audit_pruned events whose announced runs match the stored checkpoints exactly."""
    by_event: dict[int, list] = {}
    for run in con.execute("SELECT * FROM audit_pruned_runs ORDER BY first_seq"):
        by_event.setdefault(run["pruned_by"], []).append(run)
    ok = set()
    for event in con.execute("SELECT seq, details FROM audit_events WHERE action = ?", (PRUNE_EVENT,)):
        try:
            announced = json.loads(event["details"]).get("runs_sha256")
        except (ValueError, AttributeError):
            continue
        if announced == runs_digest(by_event.get(event["seq"], [])):
            ok.add(event["seq"])
    return ok


def verify() -> Break | None:
    """The first broken link of the chain, or None when every event is intact."""
    con = portal_db.connect()
    try:
        con.execute("BEGIN")      # one consistent read of events, checkpoints and head
        try:
            return _verify(con)
        finally:
            con.execute("COMMIT")
    finally:
        con.close()


def _verify(con: sqlite3.Connection) -> Break | None:
    runs = {r["first_seq"]: r for r in con.execute("SELECT * FROM audit_pruned_runs")}
    announced = _announced_ok(con)
    prev, expected = GENESIS, 1

    def skip_run(before: int | None) -> Break | None:
        """Step over the pruned run starting at `expected` (checkpoint), or say why not."""
        nonlocal prev, expected
        run = runs[expected]
        if run["pruned_by"] not in announced:
            return Break(expected, f"events {run['first_seq']}–{run['last_seq']} were removed without an "
                                   "announced retention pruning (deleted)")
        if run["prev_hash"] != prev:
            return Break(expected, "pruned events do not link to the event before them")
        if before is not None and run["last_seq"] >= before:
            return Break(before, "an event lies inside a pruned run (inserted)")
        prev, expected = run["last_hash"], run["last_seq"] + 1
        return None

    for row in con.execute("SELECT * FROM audit_events ORDER BY seq"):
        while row["seq"] > expected:
            if expected not in runs:
                missing = f"{expected}" if row["seq"] == expected + 1 else f"{expected}–{row['seq'] - 1}"
                return Break(expected, f"event {missing} is missing (deleted; next is {row['seq']})")
            broken = skip_run(row["seq"])
            if broken:
                return broken
        if row["prev_hash"] != prev:
            return Break(row["seq"], "does not link to the event before it (deleted or reordered)")
        body = canonical(row["seq"], row["at"], row["actor"], row["action"], row["authority"],
                         row["details"], row["reason"])
        if chain_hash(prev, body) != row["hash"]:
            return Break(row["seq"], "content does not match its hash (edited)")
        prev, expected = row["hash"], row["seq"] + 1
    while expected in runs:
        broken = skip_run(None)
        if broken:
            return broken
    head = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    last = expected - 1
    if head is None:
        return Break(1, "the chain's head record is missing") if last else None
    if head["seq"] > last:
        gone = f"{last + 1}" if head["seq"] == last + 1 else f"{last + 1}–{head['seq']}"
        return Break(last + 1, f"event {gone} is missing (deleted; the head records event {head['seq']})")
    if head["seq"] < last or head["hash"] != prev:
        return Break(min(head["seq"], last), "the newest events do not match the recorded head")
    return None


def head() -> tuple[int, str] | None:
    """(seq, hash) of the newest event: worth writing down outside the portal, as an anchor."""
    con = portal_db.connect()
    try:
        row = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        return (row["seq"], row["hash"]) if row else None
    finally:
        con.close()


# ----------------------------------------------------------------------------------------- prune

def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:          # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class PruneReport:
    cutoff: date                  # events dated before this day are removed ...
    export_cutoff: date           # ... approved-export events only before this one
    events: int
    runs: list[tuple[int, int]]   # (first_seq, last_seq) of each removed run
    announced_by: int | None      # seq of the audit_pruned event (None: dry run or nothing to do)


def _prunable_runs(con: sqlite3.Connection, cutoff: date, export_cutoff: date) -> list[list[sqlite3.Row]]:
    """Runs of consecutive events that are all past retention; kept events split the runs."""
    rows = con.execute(
        "SELECT seq, at, action, prev_hash, hash FROM audit_events WHERE substr(at, 1, 10) < ? ORDER BY seq",
        (cutoff.isoformat(),)).fetchall()
    runs: list[list[sqlite3.Row]] = []
    last_seq = None
    for row in rows:
        day = row["at"][:10]
        keep = row["action"] == PRUNE_EVENT or (row["action"] in EXPORT_EVENTS and day >= export_cutoff.isoformat())
        if keep:
            last_seq = None
            continue
        if last_seq is not None and row["seq"] == last_seq + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
        last_seq = row["seq"]
    return runs


def prune(by: str, on: date | None = None, dry_run: bool = False) -> PruneReport:
    """Remove events older than the retention setting; approved-export events stay 7 years at least.

    The audit_pruned event, the checkpoints and the deletions are one transaction: either all of them
    are durable or none is.
    """
    on = on or today()
    cutoff = on - timedelta(days=settings().audit_retention_days)
    export_cutoff = min(cutoff, years_before(on, EXPORT_RETENTION_YEARS))
    with portal_db.transaction() as con:
        runs = _prunable_runs(con, cutoff, export_cutoff)
        spans = [(r[0]["seq"], r[-1]["seq"]) for r in runs]
        events = sum(len(r) for r in runs)
        if dry_run or not runs:
            return PruneReport(cutoff, export_cutoff, events, spans, None)
        checkpoints = [{"first_seq": r[0]["seq"], "last_seq": r[-1]["seq"], "prev_hash": r[0]["prev_hash"],
                        "last_hash": r[-1]["hash"], "last_at": r[-1]["at"]} for r in runs]
        seq = _append(con, PRUNE_EVENT, by, None, {
            "cutoff": cutoff.isoformat(), "export_cutoff": export_cutoff.isoformat(), "events": events,
            "runs": len(runs), "first_seq": spans[0][0], "last_seq": spans[-1][1],
            "runs_sha256": runs_digest(checkpoints)}, None)
        for cp in checkpoints:
            con.execute("INSERT INTO audit_pruned_runs (first_seq, last_seq, prev_hash, last_hash, last_at, pruned_by) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (cp["first_seq"], cp["last_seq"], cp["prev_hash"], cp["last_hash"], cp["last_at"], seq))
            con.execute("DELETE FROM audit_events WHERE seq BETWEEN ? AND ?", (cp["first_seq"], cp["last_seq"]))
        return PruneReport(cutoff, export_cutoff, events, spans, seq)


# ------------------------------------------------------------------------------------------- CLI

def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m auth.audit", description="Check or prune the audit trail.")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check the hash chain; exit 1 at the first broken link")
    p = sub.add_parser("prune", help="remove events past retention (settings: audit_retention_days)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.add_argument("--by", default=f"operator:{getpass.getuser()}", help="who runs the pruning (recorded)")
    args = ap.parse_args(argv)
    if args.command == "verify":
        broken = verify()
        if broken:
            print(f"audit chain broken at event {broken.seq}: {broken.problem}")
            return 1
        top = head()
        print("audit chain intact" + (f": newest event {top[0]}, hash {top[1]}" if top else " (no events yet)"))
        return 0
    report = prune(args.by, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {report.events} events in {len(report.runs)} runs dated before {report.cutoff.isoformat()} "
          f"(approved-export events before {report.export_cutoff.isoformat()})")
    if report.announced_by:
        print(f"announced by event {report.announced_by}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
