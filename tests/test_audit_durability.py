"""Events survive a writer killed mid-stream, and concurrent writers (threads and processes, as
Streamlit sessions and command-line tools are) lose none and keep the chain linear."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from auth import audit
from common import portal_db

REPO = Path(__file__).resolve().parent.parent

# A writer that prints each sequence number record() acknowledged, then keeps going until killed.
WRITER = """
import sys
from auth import audit
tag = sys.argv[1]
i = 0
while True:
    seq = audit.record("page_view", actor=tag + "@x.test", authority="5000", details={"page": "p", "i": i})
    print(seq, flush=True)
    i += 1
"""

# A writer that records a fixed number of events and reports their sequence numbers.
BATCH = """
import sys
from auth import audit
tag, n = sys.argv[1], int(sys.argv[2])
print(" ".join(str(audit.record("page_view", actor=tag, details={"i": i})) for i in range(n)), flush=True)
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def stored_seqs() -> list[int]:
    return [r[0] for r in portal_db.connect().execute("SELECT seq FROM audit_events ORDER BY seq")]


def test_every_acknowledged_event_survives_a_killed_writer(mifkad_home):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, "crash"], cwd=REPO, env=_env(),
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    acknowledged = []
    try:
        for line in writer.stdout:           # read acknowledgements until enough, then kill -9 mid-stream
            acknowledged.append(int(line))
            if len(acknowledged) == 200:
                break
    finally:
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    portal_db._initialised.clear()             # as a fresh process would: recovery from the WAL
    stored = stored_seqs()
    assert set(acknowledged) <= set(stored)
    assert stored == list(range(1, len(stored) + 1))
    assert audit.verify() is None
    # The trail goes on from where the killed writer stopped.
    assert audit.record("sign_in", actor="next@x.test") == len(stored) + 1
    assert audit.verify() is None


def test_concurrent_threads_lose_no_event_and_keep_one_chain(mifkad_home):
    start = threading.Barrier(8)

    def session(tag: int) -> list[int]:
        start.wait()
        return [audit.record("page_view", actor=f"t{tag}@x.test", details={"i": i}) for i in range(25)]

    with ThreadPoolExecutor(8) as pool:
        returned = [seq for seqs in pool.map(session, range(8)) for seq in seqs]
    assert sorted(returned) == list(range(1, 201))
    assert stored_seqs() == list(range(1, 201))
    con = portal_db.connect()
    per_actor = dict(con.execute("SELECT actor, count(*) FROM audit_events GROUP BY actor").fetchall())
    assert per_actor == {f"t{t}@x.test": 25 for t in range(8)}
    assert audit.verify() is None


def test_concurrent_processes_lose_no_event_and_keep_one_chain(mifkad_home):
    procs = [subprocess.Popen([sys.executable, "-c", BATCH, f"p{p}@x.test", "40"], cwd=REPO, env=_env(),
                              stdout=subprocess.PIPE, text=True) for p in range(4)]
    returned = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        returned += [int(s) for s in out.split()]
    assert sorted(returned) == list(range(1, 161))
    assert stored_seqs() == list(range(1, 161))
    assert audit.verify() is None
