"""The audit trail: append-only, hash-chained, durable before the audited action goes on.

    record("download", actor="a@b", authority="5000", details={...}, reason="...")
    python -m auth.audit verify      # reports the first broken link, exit 1 if any

Each event's hash = SHA-256 of the previous hash and the event's canonical JSON, so an edited,
deleted or reordered event breaks the chain from that point on.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass

from common import portal_db
from common.clock import now_iso

GENESIS = "0" * 64


def canonical(seq: int, at: str, actor: str, action: str, authority: str | None, details: str, reason: str | None) -> str:
    return json.dumps([seq, at, actor, action, authority, details, reason], ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def record(action: str, actor: str, authority: str | None = None, details: dict | None = None,
           reason: str | None = None) -> int:
    """Append one event; returns its sequence number once it is durable (synchronous=FULL commit)."""
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    authority = None if authority is None else str(authority)
    with portal_db.transaction() as con:   # BEGIN IMMEDIATE: one writer at a time keeps the chain linear
        last = con.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
        at = now_iso()
        digest = chain_hash(prev, canonical(seq, at, actor, action, authority, details_json, reason))
        con.execute(
            "INSERT INTO audit_events (seq, at, actor, action, authority, details, reason, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, authority, details_json, reason, prev, digest))
    return seq


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


def verify() -> Break | None:
    """The first broken link of the chain, or None when every event is intact."""
    con = portal_db.connect()
    try:
        prev, expected_seq = None, None
        for row in con.execute("SELECT * FROM audit_events ORDER BY seq"):
            if prev is None:
                prev = row["prev_hash"]           # retention may have pruned the oldest events
                expected_seq = row["seq"]
            if row["seq"] != expected_seq:
                return Break(expected_seq, f"event {expected_seq} is missing (next is {row['seq']})")
            if row["prev_hash"] != prev:
                return Break(row["seq"], "does not link to the event before it (deleted or reordered)")
            body = canonical(row["seq"], row["at"], row["actor"], row["action"], row["authority"],
                             row["details"], row["reason"])
            if chain_hash(prev, body) != row["hash"]:
                return Break(row["seq"], "content does not match its hash (edited)")
            prev, expected_seq = row["hash"], row["seq"] + 1
        return None
    finally:
        con.close()


def main(argv: list[str]) -> int:
    if argv[:1] != ["verify"]:
        print("usage: python -m auth.audit verify", file=sys.stderr)
        return 2
    broken = verify()
    if broken:
        print(f"audit chain broken at event {broken.seq}: {broken.problem}")
        return 1
    print("audit chain intact")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
