"""The audit trail is append-only and tamper-evident: the portal cannot change an event, and an
attacker with the database file who edits, deletes, reorders or cuts off events is reported by
`python -m auth.audit verify` at the first broken link."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from auth import audit
from common import portal_db
from common.config import settings

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def fill(n: int = 6) -> list[int]:
    return [audit.record("page_view", actor=f"user{i % 3}@x.test", authority="5000",
                         details={"page": "students", "filters": {"grade": i}}) for i in range(n)]


def attacker() -> sqlite3.Connection:
    """A raw connection to the database file, with the protecting triggers dropped, as someone with
    file access would do it."""
    con = sqlite3.connect(settings().portal_db_path, isolation_level=None)
    con.row_factory = sqlite3.Row
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')
    return con


def test_events_link_into_one_chain_and_verify(mifkad_home):
    seqs = fill()
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert audit.verify() is None
    con = portal_db.connect()
    rows = con.execute("SELECT * FROM audit_events ORDER BY seq").fetchall()
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:]))
    assert audit.head() == (6, rows[-1]["hash"])


def test_record_returns_the_sequence_number_of_the_stored_event(mifkad_home):
    seq = audit.record("download", actor="m@x.test", authority=5000, details={"package": "p.zip"},
                       reason="weekly update")
    row = portal_db.connect().execute("SELECT * FROM audit_events WHERE seq = ?", (seq,)).fetchone()
    assert (row["action"], row["actor"], row["authority"], row["reason"]) == \
        ("download", "m@x.test", "5000", "weekly update")
    assert row["details"] == '{"package":"p.zip"}'


@pytest.mark.parametrize("action, actor, message", [
    ("", "a@x.test", "lower-case word"),
    ("Page View", "a@x.test", "lower-case word"),
    ("page_view", "", "needs an actor"),
])
def test_record_refuses_an_event_without_a_proper_action_or_actor(mifkad_home, action, actor, message):
    with pytest.raises(ValueError, match=message):
        audit.record(action, actor=actor)
    assert audit.head() is None


@pytest.mark.parametrize("sql, message", [
    ("UPDATE audit_events SET actor = 'someone@else.test' WHERE seq = 2", "append-only"),
    ("DELETE FROM audit_events WHERE seq = 2", "only by retention pruning"),
    ("DELETE FROM audit_events", "only by retention pruning"),
    ("INSERT INTO audit_events (seq, at, actor, action, details, prev_hash, hash) "
     "VALUES (99, '2026-01-01', 'x', 'page_view', '{}', 'a', 'b')", "must link to the newest event"),
    ("UPDATE audit_head SET seq = 1", "only moves forward"),
    ("DELETE FROM audit_head", "cannot be removed"),
])
def test_the_database_refuses_changes_to_recorded_events(mifkad_home, sql, message):
    fill(3)
    con = portal_db.connect()
    with pytest.raises(sqlite3.DatabaseError, match=message):
        con.execute(sql)
    assert con.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 3
    assert audit.verify() is None


def test_an_edited_event_is_detected_at_that_event(mifkad_home):
    fill()
    attacker().execute("UPDATE audit_events SET details = '{\"page\":\"nothing to see\"}' WHERE seq = 4")
    broken = audit.verify()
    assert broken is not None and broken.seq == 4 and "edited" in broken.problem


def test_an_edit_with_a_recomputed_hash_is_detected_at_the_next_event(mifkad_home):
    fill()
    con = attacker()
    row = con.execute("SELECT * FROM audit_events WHERE seq = 3").fetchone()
    new_hash = audit.chain_hash(row["prev_hash"], audit.canonical(3, row["at"], "innocent@x.test", row["action"],
                                                                  row["authority"], row["details"], row["reason"]))
    con.execute("UPDATE audit_events SET actor = 'innocent@x.test', hash = ? WHERE seq = 3", (new_hash,))
    broken = audit.verify()
    assert broken is not None and broken.seq == 4 and "does not link" in broken.problem


def test_a_deleted_event_is_detected(mifkad_home):
    fill()
    attacker().execute("DELETE FROM audit_events WHERE seq = 3")
    broken = audit.verify()
    assert broken is not None and broken.seq == 3 and "missing" in broken.problem


def test_a_deleted_first_event_is_detected(mifkad_home):
    fill()
    attacker().execute("DELETE FROM audit_events WHERE seq = 1")
    broken = audit.verify()
    assert broken is not None and broken.seq == 1


def test_cutting_off_the_newest_events_is_detected(mifkad_home):
    fill()
    attacker().execute("DELETE FROM audit_events WHERE seq >= 5")
    broken = audit.verify()
    assert broken is not None and broken.seq == 5 and "head records event 6" in broken.problem


def test_reordered_events_are_detected(mifkad_home):
    fill()
    con = attacker()
    con.execute("UPDATE audit_events SET seq = -1 WHERE seq = 2")
    con.execute("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    con.execute("UPDATE audit_events SET seq = 3 WHERE seq = -1")
    broken = audit.verify()
    assert broken is not None and broken.seq == 2


def test_renumbering_to_hide_a_deletion_is_detected(mifkad_home):
    fill()
    con = attacker()
    con.execute("DELETE FROM audit_events WHERE seq = 3")
    con.execute("UPDATE audit_events SET seq = seq - 1 WHERE seq > 3")
    con.execute("UPDATE audit_head SET seq = 5")
    broken = audit.verify()
    assert broken is not None and broken.seq == 3


def test_verify_command_reports_the_first_broken_link_with_exit_1(mifkad_home):
    fill()
    cmd = [sys.executable, "-m", "auth.audit", "verify"]
    ok = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0 and "intact" in ok.stdout and audit.head()[1] in ok.stdout
    con = attacker()
    con.execute("UPDATE audit_events SET reason = 'changed' WHERE seq = 2")
    con.execute("UPDATE audit_events SET reason = 'changed' WHERE seq = 5")
    bad = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "audit chain broken at event 2:" in bad.stdout


def test_verify_of_an_empty_trail_is_intact(mifkad_home):
    assert audit.verify() is None
    assert audit.main(["verify"]) == 0
