"""Publishing a snapshot atomically, and deleting old ones (layout in data/snapshots.py).

A snapshot's content is written into a fresh `.store/<date>.<token>/`, flushed to disk, and only then is
the `<date>` symlink switched to it with one rename (os.replace of a temporary symlink). A reader
therefore sees the old content or the new, never half; a crash or kill at any point leaves the old
symlink in place, and the half-written store directory is removed by the next run (`clean_orphans`).

Content that a symlink stops pointing to (replaced or retired) is kept for RELEASE_GRACE_SECONDS, so a
page that resolved the symlink a moment earlier can finish reading it.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from common.config import settings
from data.snapshots import DATE_RE

STORE = ".store"
RELEASED = ".released"          # marker file: when the content stopped being published
COMPLETE = ".complete"          # marker file: every file was written and flushed
RELEASE_GRACE_SECONDS = 3600


class PublishError(RuntimeError):
    pass


def root() -> Path:
    return settings().snapshots_dir


@contextmanager
def ingest_lock():
    """One ingest (or retention run) at a time, so a store directory being written is never 'orphaned'."""
    root().mkdir(parents=True, exist_ok=True)
    with open(root() / ".ingest.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def is_published(day: str) -> bool:
    return (root() / day).is_symlink()


def new_store(day: str) -> Path:
    token = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
    path = root() / STORE / f"{day}.{token}"
    path.mkdir(parents=True)
    return path


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush every file and directory under path (directories too, so the names are durable)."""
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def switch(day: str, store: Path, before_switch=None) -> None:
    """Make `store` the published content of `day` in one atomic rename.

    `before_switch` runs after the content is durable and just before the rename (the audit record
    goes there; tests inject failures there)."""
    (store / COMPLETE).write_text(time.strftime("%Y-%m-%dT%H:%M:%S"), encoding="utf-8")
    fsync_tree(store)
    _fsync_path(store.parent)
    link = root() / day
    previous = link.resolve() if link.is_symlink() else None
    tmp = root() / f".{day}.{store.name}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.join(STORE, store.name), tmp)
    if before_switch is not None:
        before_switch()
    os.replace(tmp, link)
    _fsync_path(root())
    if previous is not None and previous != store.resolve():
        _release(previous)


def _release(store: Path) -> None:
    try:
        (store / RELEASED).write_text(str(time.time()), encoding="utf-8")
    except OSError:
        pass


def _published_targets() -> set[str]:
    names = set()
    for entry in root().iterdir():
        if entry.is_symlink():
            names.add(os.path.basename(os.readlink(entry)))
    return names


def clean_orphans(now: float | None = None) -> list[str]:
    """Remove store directories no symlink points to, and leftover temporary symlinks. Call under
    ingest_lock (a run in progress owns an unpublished directory).

    A directory never completed is a crashed run's half: removed at once. A complete one may have been
    published a moment ago (replaced or retired; or a run killed right after the switch, before it
    could mark the old content released), so a reader may still hold it: it goes after the grace
    period, counted from its release mark or, lacking one, from its completion."""
    now = time.time() if now is None else now
    store_root = root() / STORE
    removed = []
    if not store_root.exists():
        return removed
    for entry in root().iterdir():
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_symlink():
            entry.unlink()
    published = _published_targets()
    for store in store_root.iterdir():
        if store.name in published or not store.is_dir():
            continue
        if (store / COMPLETE).exists():
            if now - _since(store) < RELEASE_GRACE_SECONDS:
                continue
        shutil.rmtree(store, ignore_errors=True)
        removed.append(store.name)
    return removed


def _since(store: Path) -> float:
    """When the content stopped being (or could last have been) published."""
    try:
        return float((store / RELEASED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        try:
            return (store / COMPLETE).stat().st_mtime
        except OSError:
            return 0.0


def apply_retention(today: date, now: float | None = None) -> list[str]:
    """Delete daily snapshots more than snapshot_retention_days older than the newest snapshot (or than
    today, if that is earlier), never an approved one; then orphans. Returns the dates deleted.

    Counting from the newest snapshot means a feed that stops arriving for a while does not wipe the
    history, and the snapshot just published is never the one deleted."""
    from data.approvals import get_approval
    if not root().exists():
        return []
    dates = sorted(e.name for e in root().iterdir() if e.is_symlink() and DATE_RE.match(e.name))
    if not dates:
        clean_orphans(now)
        return []
    reference = min(today, date.fromisoformat(dates[-1]))
    keep_after = reference - timedelta(days=settings().snapshot_retention_days)
    deleted = []
    for name in dates:
        entry = root() / name
        if date.fromisoformat(name) >= keep_after or get_approval(name) is not None:
            continue
        target = entry.resolve()
        entry.unlink()
        _fsync_path(root())
        _release(target)
        deleted.append(entry.name)
    clean_orphans(now)
    return deleted
