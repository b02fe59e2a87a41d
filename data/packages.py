"""Export packages of approved snapshots: approval, background build, storage, downloads.

    python -m data.packages build --snapshot YYYY-MM-DD     # build what is queued (the background job)
    python -m data.packages deliver                          # retry vendor deliveries not yet made
    python -m data.packages status [--snapshot YYYY-MM-DD]

On approval (`approve_snapshot`) every authority with access gets three packages, queued in the
`packages` table and built by one background process per snapshot (a subprocess, so it survives page
reruns and app restarts, and its CPU work does not slow the pages):
    MIFKAD_HOME/packages/<D>/<A>/MIFKAD_<A>_<D>.zip           vendor: byte-exact CSV (vaults get this)
    MIFKAD_HOME/packages/<D>/<A>/people/MIFKAD_<A>_<D>.zip    people: formula-like cells neutralised
    MIFKAD_HOME/packages/<D>/<A>/people/MIFKAD_<A>_<D>.xlsx   people: the workbook
First both zips of every authority (and their vault deliveries), then the workbooks, so downloads
open quickly. A row turns 'ready' only after its file is renamed into place; a killed builder leaves
at most a hidden temporary file, and its 'building' rows are queued again by the next builder.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from auth import audit
from auth.permissions import Action, Principal, allowed
from common import portal_db
from common.clock import now_iso
from common.config import REPO_ROOT, settings
from data import export
from data.approvals import Approval, ApprovalError, approve, get_approval
from data.snapshots import get_snapshot

VARIANTS = ("vendor", "people", "xlsx")
CSV_VARIANTS = ("vendor", "people")
PEOPLE_VARIANTS = ("people", "xlsx")      # what the portal serves to people
RETRY_PAUSES = (2, 10, 30)                # seconds between the builder's retry rounds of failed deliveries


@dataclass(frozen=True)
class Package:
    id: int
    snapshot: str
    authority: str
    variant: str
    status: str
    approved_at: str
    file: str | None
    bytes: int | None
    sha256: str | None
    counts: dict
    files: list
    error: str | None
    queued_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def path(self) -> Path:
        return settings().packages_dir / self.file if self.file else relative_path(self.snapshot, self.authority,
                                                                                  self.variant, False)

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def relative_path(snapshot: str, authority: str, variant: str, relative: bool = True) -> Path:
    base = f"MIFKAD_{authority}_{snapshot}"
    name = {"vendor": f"{base}.zip", "people": f"people/{base}.zip", "xlsx": f"people/{base}.xlsx"}[variant]
    rel = Path(snapshot) / authority / name
    return rel if relative else settings().packages_dir / rel


def _from_row(row) -> Package:
    return Package(id=row["id"], snapshot=row["snapshot"], authority=row["authority"], variant=row["variant"],
                   status=row["status"], approved_at=row["approved_at"], file=row["file"], bytes=row["bytes"],
                   sha256=row["sha256"], counts=json.loads(row["counts"] or "{}"),
                   files=json.loads(row["files"] or "[]"), error=row["error"], queued_at=row["queued_at"],
                   started_at=row["started_at"], finished_at=row["finished_at"])


def _select(where: str, params: tuple) -> list[Package]:
    con = portal_db.connect()
    try:
        return [_from_row(r) for r in con.execute(f"SELECT * FROM packages {where}", params)]
    finally:
        con.close()


def get_package(snapshot: str, authority: str, variant: str) -> Package | None:
    found = _select("WHERE snapshot = ? AND authority = ? AND variant = ?", (snapshot, str(authority), variant))
    return found[0] if found else None


def get_package_by_id(package_id: int) -> Package | None:
    found = _select("WHERE id = ?", (int(package_id),))
    return found[0] if found else None


def packages_of(authority: str) -> list[Package]:
    """An authority's packages, newest week first."""
    return _select("WHERE authority = ? ORDER BY snapshot DESC, variant", (str(authority),))


def packages_of_snapshot(snapshot: str) -> list[Package]:
    return _select("WHERE snapshot = ? ORDER BY authority, variant", (snapshot,))


def progress(snapshot: str) -> dict[str, int]:
    """How many of a snapshot's packages are queued, building, ready or failed."""
    counts = {"queued": 0, "building": 0, "ready": 0, "failed": 0}
    for package in packages_of_snapshot(snapshot):
        counts[package.status] += 1
    return counts


# ------------------------------------------------------------------------------------------ approval

def approve_snapshot(snapshot: str, by: str, note: str = "", background: bool = True, vault=None,
                     say=lambda msg: None) -> Approval:
    """The legal department's weekly approval: recorded (audited first), then the packages of every
    authority with access are built (in the background unless background=False) and delivered."""
    from auth.records import authorities_with_access
    snap = get_snapshot(snapshot)
    if snap is None:
        raise ApprovalError(f"no published snapshot dated {snapshot}")
    earlier = get_approval(snapshot)
    if earlier is not None:
        raise ApprovalError(f"snapshot {snapshot} was already approved by {earlier.approved_by} at {earlier.approved_at}")
    audit.record("export_approved", actor=by, details={"snapshot": snapshot, "content": snap.token, "note": note},
                 reason=note or None)
    approval = approve(snapshot, by=by, note=note)
    queue(snapshot, authorities_with_access())
    if background:
        start_background_build(snapshot)
    else:
        build_queued(snapshot, vault=vault, say=say)
    return approval


def queue(snapshot: str, authorities: list[str]) -> int:
    """Queue the three packages of each authority for an approved snapshot (existing rows stay)."""
    approval = get_approval(snapshot)
    if approval is None:
        raise ApprovalError(f"snapshot {snapshot} is not approved")
    added = 0
    with portal_db.transaction() as con:
        for authority in authorities:
            for variant in VARIANTS:
                cur = con.execute(
                    "INSERT OR IGNORE INTO packages (snapshot, authority, variant, status, approved_at, queued_at) "
                    "VALUES (?, ?, ?, 'queued', ?, ?)", (snapshot, str(authority), variant, approval.approved_at, now_iso()))
                added += cur.rowcount
    return added


def ensure_packages(snapshot: str, authority: str) -> None:
    """An approved week whose packages for this authority were never queued (its access opened after
    the approval, or the approval came from elsewhere) gets them queued and built now."""
    if get_approval(snapshot) is None:
        return
    rows = packages_of_snapshot(snapshot)
    if len({p.variant for p in rows if p.authority == str(authority)}) < len(VARIANTS):
        queue(snapshot, [authority])        # only when missing: pages call this on every rerun
        rows = packages_of_snapshot(snapshot)
    if any(p.status in ("queued", "building") for p in rows):
        start_background_build(snapshot)    # a no-op while a builder is at work


def requeue_failed(snapshot: str) -> int:
    """Queue failed packages of a snapshot again (after the cause was fixed) and start the builder."""
    with portal_db.transaction() as con:
        count = con.execute("UPDATE packages SET status = 'queued', error = NULL "
                            "WHERE snapshot = ? AND status = 'failed'", (snapshot,)).rowcount
    if count:
        start_background_build(snapshot)
    return count


# ------------------------------------------------------------------------------------------ building

def _lock_path(snapshot: str) -> Path:
    return settings().packages_dir / f".build-{snapshot}.lock"


@contextmanager
def _builder_lock(snapshot: str) -> Iterator[bool]:
    """One builder per snapshot: an exclusive lock on a file, released by the kernel if it dies."""
    path = _lock_path(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def builder_running(snapshot: str) -> bool:
    with _builder_lock(snapshot) as got:
        return not got


def start_background_build(snapshot: str) -> int | None:
    """Start the builder process for a snapshot unless one is running; returns its pid."""
    if builder_running(snapshot):
        return None
    home = settings().home
    log_dir = home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MIFKAD_HOME": str(home)}
    with open(log_dir / f"packages-{snapshot}.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "data.packages", "build", "--snapshot", snapshot],
                                cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    # Reap it when it ends, so a long-running app leaves no zombie processes behind.
    threading.Thread(target=proc.wait, name=f"reap-packages-{snapshot}", daemon=True).start()
    return proc.pid


def _claim(snapshot: str, variants: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """Mark the next authority's queued packages of these variants as building by this process."""
    marks = ",".join("?" * len(variants))
    with portal_db.transaction() as con:
        row = con.execute(f"SELECT authority FROM packages WHERE snapshot = ? AND status = 'queued' "
                          f"AND variant IN ({marks}) ORDER BY authority LIMIT 1", (snapshot, *variants)).fetchone()
        if row is None:
            return None
        claimed = [r[0] for r in con.execute(
            f"UPDATE packages SET status = 'building', builder_pid = ?, started_at = ?, error = NULL "
            f"WHERE snapshot = ? AND authority = ? AND status = 'queued' AND variant IN ({marks}) RETURNING variant",
            (os.getpid(), now_iso(), snapshot, row[0], *variants))]
    return row[0], claimed


def _finish(snapshot: str, authority: str, variant: str, path: Path, counts: dict, files: list) -> None:
    with portal_db.transaction() as con:
        con.execute("UPDATE packages SET status = 'ready', file = ?, bytes = ?, sha256 = ?, counts = ?, files = ?, "
                    "finished_at = ?, error = NULL WHERE snapshot = ? AND authority = ? AND variant = ?",
                    (path.relative_to(settings().packages_dir).as_posix(), path.stat().st_size, export.sha256_of(path),
                     json.dumps(counts), json.dumps(files, ensure_ascii=False), now_iso(), snapshot, authority, variant))


def _fail(snapshot: str, authority: str, variants: list[str], error: str) -> None:
    marks = ",".join("?" * len(variants))
    with portal_db.transaction() as con:
        con.execute(f"UPDATE packages SET status = 'failed', error = ?, finished_at = ? "
                    f"WHERE snapshot = ? AND authority = ? AND variant IN ({marks})",
                    (error, now_iso(), snapshot, authority, *variants))


def build_csv(snapshot: str, authority: str, variants: list[str]) -> dict[str, dict]:
    """The zips of one authority (one per variant); returns the manifests."""
    stamp = export.make_stamp(authority, snapshot)
    paths = {v: relative_path(snapshot, authority, v, relative=False) for v in variants}
    with export.scratch_dir(paths[variants[0]]) as scratch, _atomic_files(list(paths.values())) as outs:
        manifests = export.write_zips(dict(zip(variants, outs)), stamp, scratch)
    for variant, manifest in manifests.items():
        _finish(snapshot, authority, variant, paths[variant], {f["table"]: f["rows"] for f in manifest["files"]},
                manifest["files"])
    return manifests


def build_xlsx(snapshot: str, authority: str) -> Path:
    stamp = export.make_stamp(authority, snapshot)
    tables = export.export_tables(stamp.snapshot, authority)
    path = relative_path(snapshot, authority, "xlsx", relative=False)
    export.write_atomic(path, lambda f: export.write_workbook(f, tables, stamp))
    counts = {t: f.height for t, f in tables.items()}
    _finish(snapshot, authority, "xlsx", path, counts, [{"sheet": t, "rows": n} for t, n in counts.items()])
    return path


@contextmanager
def _atomic_files(paths: list[Path]):
    """Several files renamed into place together, only if all of them were written."""
    from contextlib import ExitStack
    with ExitStack() as stack:
        yield [stack.enter_context(export.atomic_file(p)) for p in paths]


def build_queued(snapshot: str, vault=None, say=lambda msg: None) -> dict[str, int]:
    """Build every queued package of a snapshot, deliver the vendor packages, retry failed
    deliveries. Returns the final progress; returns at once if another builder holds the snapshot."""
    from data import vault as vaults
    with _builder_lock(snapshot) as got:
        if not got:
            say(f"another builder is working on {snapshot}")
            return progress(snapshot)
        # What a dead builder left half-done: its rows start again, its hidden temporaries go.
        with portal_db.transaction() as con:
            con.execute("UPDATE packages SET status = 'queued' WHERE snapshot = ? AND status = 'building'", (snapshot,))
        for leftover in (settings().packages_dir / snapshot).glob("**/.*.tmp"):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        while (claim := _claim(snapshot, CSV_VARIANTS)) is not None:
            authority, variants = claim
            try:
                build_csv(snapshot, authority, variants)
            except Exception as exc:        # one authority's failure must not stop the others
                _fail(snapshot, authority, variants, f"{type(exc).__name__}: {exc}")
                say(f"{authority}: failed: {exc}")
                continue
            say(f"{authority}: packages ready")
            vaults.deliver(snapshot, authority, vault=vault)
        while (claim := _claim(snapshot, ("xlsx",))) is not None:
            authority, _ = claim
            try:
                build_xlsx(snapshot, authority)
                say(f"{authority}: workbook ready")
            except Exception as exc:
                _fail(snapshot, authority, ["xlsx"], f"{type(exc).__name__}: {exc}")
                say(f"{authority}: workbook failed: {exc}")
        for pause in RETRY_PAUSES:          # a vault that was briefly unreachable gets a few more tries
            if not any(d.status == "failed" for d in vaults.deliveries_of_snapshot(snapshot)):
                break
            time.sleep(pause)
            vaults.attempt_pending(snapshot=snapshot, vault=vault)
    return progress(snapshot)


# ----------------------------------------------------------------------------------------- downloads

class DownloadError(PermissionError):
    pass


def open_for_download(principal: Principal, package_id: int, purpose: str) -> bytes:
    """The bytes of a people's package, after checking the permission now and recording the
    download durably (audit event first, then the downloads row)."""
    package = get_package_by_id(package_id)
    if package is None or not package.ready or package.variant not in PEOPLE_VARIANTS:
        raise DownloadError("no such package")
    if not allowed(principal, Action.DOWNLOAD_EXPORT, package.authority):
        raise DownloadError("you may not download this authority's export")
    purpose = (purpose or "").strip()
    if not purpose:
        raise DownloadError("a download needs its purpose")
    data = package.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != package.sha256:     # never serve a file changed since it was built
        raise DownloadError(f"{package.path.name} does not match its recorded checksum")
    seq = audit.record("download", actor=principal.email, authority=package.authority,
                       details={"package": package.path.name, "snapshot": package.snapshot, "variant": package.variant,
                                "sha256": package.sha256, "counts": package.counts}, reason=purpose)
    with portal_db.transaction() as con:
        con.execute("INSERT INTO downloads (package_id, actor, channel, purpose, at, audit_seq) "
                    "VALUES (?, ?, 'portal', ?, ?, ?)", (package.id, principal.email, purpose, now_iso(), seq))
    return data


def downloads_of(package_id: int) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r) for r in con.execute("SELECT * FROM downloads WHERE package_id = ? ORDER BY at", (package_id,))]
    finally:
        con.close()


# -------------------------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data.packages", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the queued packages of an approved snapshot")
    b.add_argument("--snapshot", required=True)
    sub.add_parser("deliver", help="retry vendor deliveries not yet made")
    s = sub.add_parser("status", help="packages per status")
    s.add_argument("--snapshot")
    args = ap.parse_args(argv)
    if args.command == "build":
        if get_approval(args.snapshot) is None:
            print(f"packages: snapshot {args.snapshot} is not approved", file=sys.stderr)
            return 2
        result = build_queued(args.snapshot, say=lambda m: print(f"{now_iso()} {m}", flush=True))
        print(f"{now_iso()} {args.snapshot}: {result}")
        return 1 if result["failed"] else 0
    if args.command == "deliver":
        from data import vault as vaults
        done = vaults.attempt_pending()
        for d in done:
            print(f"{d.snapshot} {d.authority} -> {d.vendor_name}: {d.status}{' (' + d.last_error + ')' if d.last_error else ''}")
        return 1 if any(d.status == "failed" for d in done) else 0
    from data.approvals import list_approvals
    for snapshot in [args.snapshot] if args.snapshot else [a.snapshot for a in list_approvals()]:
        print(snapshot, progress(snapshot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
