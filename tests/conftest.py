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
