"""Shared fixtures. Each test gets its own MIFKAD_HOME, so no test sees another's records."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

REFERENCE_DIR = REPO.parent / "shared" / "data" / "reference"


@pytest.fixture(autouse=True, scope="session")
def _no_legacy_pages_folder():
    """AppTest, like the server (devtools/serve.py), must always run app.py and its login gate."""
    from devtools.serve import disable_legacy_pages_folder
    disable_legacy_pages_folder()


def _reset_process_caches() -> None:
    from common import config, portal_db
    import queries
    config._cached.cache_clear()
    portal_db._initialised.clear()
    queries.clear_cache()


@pytest.fixture
def mifkad_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty MIFKAD_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MIFKAD_HOME", str(home))
    _reset_process_caches()
    yield home
    _reset_process_caches()


@pytest.fixture(scope="session")
def small_feed(tmp_path_factory) -> Path:
    """A small feed from the generator's built-in default (no reference data), made once per run."""
    from data import generate
    out = tmp_path_factory.mktemp("feed") / "feed"
    assert generate.main(["--out", str(out), "--students", "3000", "--date", "2026-12-01", "--seed", "7"]) == 0
    return out


@pytest.fixture
def published_snapshot(mifkad_home, small_feed):
    """small_feed ingested as snapshot 2026-12-01 into this test's MIFKAD_HOME."""
    from data import ingest
    from data.snapshots import get_snapshot
    assert ingest.main([str(small_feed), "--date", "2026-12-01"]) == 0
    return get_snapshot("2026-12-01")


class AppSession:
    """app.py in AppTest, signed in as one person. `open(slug)` asks for a page by its address, as a
    browser does for /slug (a page not registered for this person falls back to the home page)."""

    def __init__(self, email: str, name: str = ""):
        from streamlit.testing.v1 import AppTest
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        self.at.user = {"is_logged_in": True, "email": email, "name": name or email, "sub": email}

    def run(self) -> "AppSession":
        self.at.run()
        assert not self.at.exception, [e.message for e in self.at.exception]
        return self

    def open(self, slug: str) -> "AppSession":
        from streamlit.util import calc_hash
        self.at._page_hash = calc_hash(slug)     # what st.Page(url_path=slug) registers
        return self.run()

    def text(self) -> str:
        """Everything the run wrote: titles, markdown, captions, alerts and metrics."""
        at = self.at
        parts = [e.value for kind in (at.title, at.header, at.subheader, at.markdown, at.caption, at.info,
                                      at.success, at.warning, at.error) for e in kind]
        parts += [f"{m.label} {m.value}" for m in at.metric]
        return "\n".join(str(p) for p in parts)


@pytest.fixture
def app_session(mifkad_home):
    """Factory of AppTest sessions of app.py: app_session("manager.tlv@mifkad.test").run()."""
    return AppSession
