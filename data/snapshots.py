"""Where published snapshots live, and how readers find them.

Layout under MIFKAD_HOME/snapshots/:
    <YYYY-MM-DD>                 a symlink, the published snapshot of that date; switched atomically
    .store/<YYYY-MM-DD>.<token>/ the immutable content a symlink points to:
        feed/<PREFIX>.parquet    the seven feed tables: every field (and unknown extra columns) as text
                                 exactly as received, dates as YYYY-MM-DD, plus _line (source line)
        derived/CENSUS.parquet   one row per (authority, student) in that authority's census, with the
                                 student's residence, active placement and compulsory age
        derived/AUTHORITY_COUNTS.parquet  per authority: students, residents, incoming, unplaced
        report.json              the ingest report
        rejected/                rejected rows, byte for byte, one file per feed file
A reader resolves the symlink once and reads only the directory it points to, so it never sees half a
snapshot and a replaced snapshot stays readable until it is released.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from common.config import settings

FEED_TABLES = ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MOSDOT", "KITOT", "MEGAMOT", "RASHUYOT")
EXPORT_TABLES = ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MOSDOT", "KITOT", "MEGAMOT")
# Built by the ingest in this order, each by the statement derive_<name> (queries/derive.sql).
# Working tables live only in the ingest's memory; derived tables are published.
WORKING_TABLES = ("STUDENTS",)
DERIVED_TABLES = ("CENSUS", "AUTHORITY_COUNTS")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Snapshot:
    date: str           # YYYY-MM-DD
    path: Path          # the resolved, immutable content directory

    @property
    def token(self) -> str:
        """Identifies this content; changes when a date is re-ingested with --replace."""
        return self.path.name

    def feed(self, table: str) -> Path:
        return self.path / "feed" / f"{table}.parquet"

    def derived(self, table: str) -> Path:
        return self.path / "derived" / f"{table}.parquet"

    def report(self) -> dict:
        p = self.path / "report.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def snapshots_root() -> Path:
    return settings().snapshots_dir


def list_snapshots() -> list[Snapshot]:
    """Published snapshots, oldest first."""
    root = snapshots_root()
    if not root.exists():
        return []
    found = []
    for entry in root.iterdir():
        if DATE_RE.match(entry.name) and entry.is_symlink():
            target = entry.resolve()
            if (target / "report.json").exists():
                found.append(Snapshot(entry.name, target))
    return sorted(found, key=lambda s: s.date)


def get_snapshot(date: str) -> Snapshot | None:
    for snap in list_snapshots():
        if snap.date == date:
            return snap
    return None


def latest_snapshot() -> Snapshot | None:
    snaps = list_snapshots()
    return snaps[-1] if snaps else None
