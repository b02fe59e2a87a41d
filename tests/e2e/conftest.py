"""The end-to-end harness: one running stack per test session, and Debian's chromium.

`e2e_stack` builds the demo data from the generator's built-in default (3,000 students, no real
reference data, so every machine gets the same feed) in a fresh MIFKAD_HOME, seeds the preset users'
records and starts the login provider, SMTP and SMS fakes and the app on free ports (never 8501/9400,
so `make run` can run beside the tests). Browser contexts come from pytest-playwright (`page`,
`context`, `new_context`), launched from /usr/bin/chromium; sign in with `helpers.login`.

The stack is shared by every e2e test of the session, in any order: count only the audit events
after your own `audit_mark()`, and put back records you change (`reseed()` restores the preset users').
"""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
E2E_STUDENTS = 3000


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e carries the e2e marker (`-m "not e2e"` skips the browser)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class E2EStack:
    home: Path
    base_url: str
    oidc_url: str
    snapshot_date: str
    stack: object            # devtools.stack.Stack

    def env(self) -> dict:
        return self.stack.env()

    def python(self, *args: str) -> subprocess.CompletedProcess:
        """Run `python -m ...` against the stack's MIFKAD_HOME (e.g. the operator CLI)."""
        return subprocess.run([sys.executable, *args], cwd=REPO, env=self.env(), capture_output=True, text=True,
                              timeout=300)

    def reseed(self) -> None:
        """Put the preset users' records back (e.g. the analyst's grant after a revocation test)."""
        done = self.python("-c", f"from devtools.demo import seed_records; seed_records({self.snapshot_date!r})")
        assert done.returncode == 0, done.stderr

    def records(self) -> sqlite3.Connection:
        """A read-only connection to the stack's portal records (grants, audit events ...)."""
        con = sqlite3.connect(f"file:{self.home / 'portal.sqlite'}?mode=ro", uri=True, timeout=30)
        con.row_factory = sqlite3.Row
        return con

    def audit_mark(self) -> int:
        """The newest audit event's sequence number: the stack is shared by every e2e test of the
        session, so a test counts only the events after its own mark (see audit_since)."""
        con = self.records()
        try:
            return con.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()[0]
        finally:
            con.close()

    def audit_since(self, mark: int) -> list[dict]:
        con = self.records()
        try:
            return [dict(r) for r in con.execute("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq", (mark,))]
        finally:
            con.close()

    def log(self, name: str = "app.log") -> str:
        path = self.home / "logs" / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory) -> E2EStack:
    from devtools.stack import Stack

    missing = [m for m in ("data.generate", "data.ingest") if _find(m) is None]
    if missing:
        pytest.fail(f"the e2e stack needs {', '.join(missing)} (the feed generator and ingest) to build demo data")
    home = tmp_path_factory.mktemp("e2e") / "home"
    home.mkdir()
    stack = Stack(home=home, app_port=free_port(), oidc_port=free_port(), smtp_port=free_port(),
                  sms_port=free_port())
    env = stack.env()
    # The built-in default feed, not the real reference data: the same numbers on every machine.
    env["MIFKAD_REFERENCE_DIR"] = str(home / "no-reference-data")
    build = subprocess.run([sys.executable, "-m", "devtools.demo", "--students", str(E2E_STUDENTS)], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"building the e2e demo data failed:\n{build.stdout}\n{build.stderr}")
    snapshot_date = sorted(p.name for p in (home / "snapshots").iterdir() if not p.name.startswith("."))[-1]
    try:
        stack.start()
    except Exception as exc:
        logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in (home / "logs").glob("*.log"))
        stack.stop()
        pytest.fail(f"the e2e stack did not start: {exc}\n{logs}")
    try:
        yield E2EStack(home=home, base_url=f"http://127.0.0.1:{stack.app_port}",
                       oidc_url=f"http://127.0.0.1:{stack.oidc_port}", snapshot_date=snapshot_date, stack=stack)
    finally:
        stack.stop()


def _find(module: str):
    import importlib.util
    try:
        return importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM} (`make browser` installs it)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, e2e_stack):
    # A tall window: Streamlit scrolls inside its own container, so full-page screenshots need height.
    return {**browser_context_args, "base_url": e2e_stack.base_url, "viewport": {"width": 1400, "height": 1800},
            "locale": "he-IL", "timezone_id": "Asia/Jerusalem", "accept_downloads": True}
