"""The weekly export package of one authority (../shared/spec/roster-feed.md, "The weekly export
package"): six CSV files and manifest.json in one zip; for people also an XLSX workbook.

    python -m data.export --authority 5000 --snapshot 2026-12-01 --out DIR [--draft]
                          [--variant vendor|people] [--xlsx]

prints the path of the zip it wrote. Variants (docs/exports.md):
- vendor: the spec's files byte-exact: UTF-8 with BOM, header row, every field as received;
- people: the same files with formula-like cells neutralised (data/spreadsheet.py).

The rows are the named statements export_* of queries/export.sql (the scope rule), run for one
authority. A package is a function of its approval: entries, order, timestamps and the manifest's
generation time (= the approval time) are fixed, so a rebuild is byte-identical. Files are written
to a temporary name, fsynced and renamed, so a package is either complete or absent.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import uuid
import zipfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import polars as pl

from common.clock import now_iso
from data import spreadsheet
from data.approvals import Approval, get_approval
from data.snapshots import EXPORT_TABLES, Snapshot, get_snapshot

SCHEMA_VERSION = 1
VARIANTS = ("vendor", "people")
STATEMENTS = {table: f"export_{table.lower()}" for table in EXPORT_TABLES}
ZIP_LEVEL = 1                  # zlib level: CSV of identity numbers gains little from higher levels
NEUTRALISATION_RULE = ("cells and headers starting with = + - @ TAB or CR are prefixed with a single quote (')")


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Stamp:
    """What a package is of: authority, snapshot and approval (None = a draft)."""
    authority: str
    snapshot: Snapshot
    approval: Approval | None
    authority_name: str = ""
    draft_time: str = ""        # generation time of a draft (an approved package uses the approval's)

    @property
    def draft(self) -> bool:
        return self.approval is None

    @property
    def generated_at(self) -> str:
        return self.approval.approved_at if self.approval else self.draft_time

    @property
    def zip_time(self) -> tuple:
        return datetime.fromisoformat(self.generated_at).timetuple()[:6]

    def base_name(self) -> str:
        suffix = "_DRAFT" if self.draft else ""
        return f"MIFKAD_{self.authority}_{self.snapshot.date}{suffix}"

    def file_name(self, table: str) -> str:
        suffix = "_DRAFT" if self.draft else ""
        return f"{table}_{self.authority}_{self.snapshot.date}{suffix}.csv"


def make_stamp(authority: str, snapshot_date: str, draft: bool = False) -> Stamp:
    """Check the snapshot, the authority and the approval; draft=True allows an unapproved snapshot."""
    snapshot = get_snapshot(snapshot_date)
    if snapshot is None:
        raise ExportError(f"no published snapshot dated {snapshot_date}")
    authority = str(authority).strip()
    name = authority_names(snapshot).get(authority)
    if name is None:
        raise ExportError(f"authority {authority} has no localities in snapshot {snapshot_date} (RASHUYOT)")
    approval = get_approval(snapshot_date)
    if approval is None and not draft:
        raise ExportError(f"snapshot {snapshot_date} is not approved for the weekly export: approve it "
                          f"(python -m data.approve --snapshot {snapshot_date} --by EMAIL) or pass --draft "
                          "for a package marked DRAFT")
    return Stamp(authority, snapshot, approval, name, draft_time=now_iso() if approval is None else "")


def authority_names(snapshot: Snapshot) -> dict[str, str]:
    from queries import Scope, run
    ref = run("authorities", Scope(snapshot=snapshot, authority=None))
    return dict(ref.select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows())


def export_tables(snapshot: Snapshot, authority: str) -> dict[str, pl.DataFrame]:
    """The six tables of an authority's census in package order, every column as text, rows in feed
    order (for the workbook; the CSV files are written by DuckDB directly, see copy_csv).

    Runs the named statements' own SQL (queries.sql_of) on a fresh cursor rather than queries.run, so
    national builds do not fill the page cache with whole tables; $authority is bound here exactly as
    the runner binds it.
    """
    from queries import sql_of
    from queries.engine import cursor_for
    cur = cursor_for(snapshot)
    try:
        return {table: cur.sql(sql_of(statement), params={"authority": str(authority)}).pl()
                .with_columns(pl.all().cast(pl.String))
                for table, statement in STATEMENTS.items()}
    finally:
        cur.close()


# ------------------------------------------------------------------------------------------- writing

def csv_sql(cur, statement: str, authority: str, variant: str) -> str:
    """The SELECT a package file is written from: the named statement itself (vendor), or the same
    statement wrapped so that formula-like cells and headers are neutralised (people)."""
    from queries import sql_of
    sql = sql_of(statement)
    if variant == "vendor":
        return sql
    if variant != "people":
        raise ExportError(f"unknown variant {variant!r} (vendor or people)")
    columns = [d[0] for d in cur.execute(f"SELECT * FROM ({sql}) LIMIT 0", {"authority": str(authority)}).description]
    exprs = ", ".join(f"{spreadsheet.neutralise_sql(c)} AS {spreadsheet.quote_ident(spreadsheet.neutralise_text(c))}"
                      for c in columns)
    return f"SELECT {exprs} FROM ({sql}) AS export_rows"


def copy_csv(cur, statement: str, authority: str, variant: str, path: Path) -> int:
    """DuckDB writes one file's CSV in parallel, straight from the snapshot: header, RFC 4180 quoting,
    CRLF line ends (as Excel and the ministry's own files), empty for missing. Returns its row count;
    the byte-order mark is added by the caller."""
    target = str(path).replace("'", "''")
    sql = csv_sql(cur, statement, authority, variant)
    return cur.execute(f"COPY ({sql}) TO '{target}' (FORMAT csv, HEADER, NEW_LINE '\r\n')",
                       {"authority": str(authority)}).fetchone()[0]


def _csv_parts(stamp: Stamp, variants: list[str], scratch: Path) -> Iterator[tuple[str, str, Path, int]]:
    """(table, variant, CSV file, rows) in package order, written one ahead on a worker thread so
    DuckDB writes the next file while the caller compresses this one."""
    from concurrent.futures import ThreadPoolExecutor

    from queries.engine import cursor_for
    cur = cursor_for(stamp.snapshot)
    jobs = [(table, variant) for table in EXPORT_TABLES for variant in variants]
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-copy") as pool:
            futures = [(t, v, scratch / f"{t}.{v}.csv",
                        pool.submit(copy_csv, cur, STATEMENTS[t], stamp.authority, v, scratch / f"{t}.{v}.csv"))
                       for t, v in jobs]
            try:
                for table, variant, path, future in futures:
                    yield table, variant, path, future.result()
            finally:
                for *_, future in futures:
                    future.cancel()
    finally:
        cur.close()


def _entry(name: str, stamp: Stamp) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp.zip_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3      # the same bytes whichever system builds it
    set_level(info, ZIP_LEVEL)
    return info


def set_level(info: zipfile.ZipInfo, level: int) -> None:
    """ZipFile(compresslevel=...) does not apply to entries opened with a ZipInfo: they would get
    zlib's default (6), three times slower for nothing on these files."""
    info._compresslevel = level             # still accepted (as an alias) where the name became public


BOM = b"\xef\xbb\xbf"
BLOCK = 8 << 20


def write_zips(outs: dict[str, BinaryIO], stamp: Stamp, scratch: Path) -> dict[str, dict]:
    """Write one package zip per variant ({"vendor": f, "people": g}); returns each one's manifest.

    Each file is written by DuckDB to `scratch`, then streamed into its zip entry behind the BOM while
    being hashed: zlib and hashlib work outside the interpreter lock, in large blocks."""
    for variant in outs:
        if variant not in VARIANTS:
            raise ExportError(f"unknown variant {variant!r} (vendor or people)")
    files: dict[str, list[dict]] = {variant: [] for variant in outs}
    with ExitStack() as stack:
        zips = {variant: stack.enter_context(zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED,
                                                             compresslevel=ZIP_LEVEL))
                for variant, out in outs.items()}
        for table, variant, path, rows in _csv_parts(stamp, list(outs), scratch):
            name = stamp.file_name(table)
            sha, size = hashlib.sha256(BOM), len(BOM)
            with zips[variant].open(_entry(name, stamp), "w", force_zip64=True) as entry, open(path, "rb") as src:
                entry.write(BOM)
                while block := src.read(BLOCK):
                    sha.update(block)
                    entry.write(block)
                    size += len(block)
            path.unlink()
            files[variant].append({"name": name, "table": table, "rows": rows, "bytes": size,
                                   "sha256": sha.hexdigest()})
        manifests = {}
        for variant, zf in zips.items():
            manifests[variant] = build_manifest(stamp, variant, files[variant])
            zf.writestr(_entry("manifest.json", stamp), manifest_bytes(manifests[variant]))
    return manifests


@contextmanager
def scratch_dir(beside: Path) -> Iterator[Path]:
    """A hidden working folder beside an output file, removed afterwards (a builder that dies leaves
    it named *.tmp, which the next build removes)."""
    import shutil
    import tempfile
    beside.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f".{beside.name}.", suffix=".parts.tmp", dir=beside.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_zip(out: BinaryIO, stamp: Stamp, variant: str, scratch: Path) -> dict:
    """Write one package zip to `out`; returns its manifest."""
    return write_zips({variant: out}, stamp, scratch)[variant]


def build_manifest(stamp: Stamp, variant: str, files: list[dict]) -> dict:
    approval = None if stamp.approval is None else {
        "by": stamp.approval.approved_by, "at": stamp.approval.approved_at, "note": stamp.approval.note}
    manifest = {
        "package": "DRAFT — not approved for the weekly export" if stamp.draft else "weekly export",
        "draft": stamp.draft,
        "schema_version": SCHEMA_VERSION,
        "variant": variant,
        "authority": stamp.authority,
        "authority_name": stamp.authority_name,
        "snapshot": stamp.snapshot.date,
        "approval": approval,
        "generated_at": stamp.generated_at,
        "encoding": "UTF-8 with byte-order mark, RFC 4180, CRLF line ends",
        "files": files,
    }
    if variant == "people":
        manifest["neutralised"] = NEUTRALISATION_RULE
    return manifest


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_workbook(out: BinaryIO, tables: dict[str, pl.DataFrame], stamp: Stamp) -> None:
    """The people's XLSX: one right-to-left sheet per file, every cell text, values exact."""
    title = f"{stamp.base_name()} {stamp.authority_name}".strip()
    spreadsheet.write_xlsx(out, [spreadsheet.Sheet(t, tables[t]) for t in EXPORT_TABLES], title=title,
                           created=datetime.fromisoformat(stamp.generated_at))


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write to a hidden temporary beside `path`, fsync, then rename: readers see all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)        # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def write_atomic(path: Path, body: Callable[[BinaryIO], object]):
    with atomic_file(path) as f:
        return body(f)


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def export(authority: str, snapshot_date: str, out_dir: Path, draft: bool = False, variant: str = "vendor",
           xlsx: bool = False) -> list[Path]:
    """Build one authority's package into out_dir; returns the zip (and the workbook if asked)."""
    if variant not in VARIANTS:
        raise ExportError(f"unknown variant {variant!r} (vendor or people)")
    stamp = make_stamp(authority, snapshot_date, draft)
    out_dir = Path(out_dir)
    zip_path = out_dir / f"{stamp.base_name()}{'' if variant == 'vendor' else '_people'}.zip"
    with scratch_dir(zip_path) as scratch:
        write_atomic(zip_path, lambda f: write_zip(f, stamp, variant, scratch))
    written = [zip_path]
    if xlsx:
        book = out_dir / f"{stamp.base_name()}.xlsx"
        tables = export_tables(stamp.snapshot, stamp.authority)
        write_atomic(book, lambda f: write_workbook(f, tables, stamp))
        written.append(book)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("--authority", required=True, help="authority code (SEMEL_RASHUT)")
    ap.add_argument("--snapshot", required=True, help="snapshot date YYYY-MM-DD")
    ap.add_argument("--out", required=True, type=Path, help="folder to write the package into")
    ap.add_argument("--draft", action="store_true", help="allow an unapproved snapshot (marked DRAFT)")
    ap.add_argument("--variant", choices=VARIANTS, default="vendor",
                    help="vendor: byte-exact files (default); people: formula-like cells neutralised")
    ap.add_argument("--xlsx", action="store_true", help="also write the people's XLSX workbook")
    args = ap.parse_args(argv)
    try:
        paths = export(args.authority, args.snapshot, args.out, draft=args.draft, variant=args.variant,
                       xlsx=args.xlsx)
    except (ExportError, spreadsheet.SpreadsheetError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
