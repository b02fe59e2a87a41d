"""Reading one feed file into a staging Parquet table: find it, know its encoding, check its header,
cut out damaged records, and let DuckDB parse the rest with every field as text.

The staging table has the schema's fields in schema order (an optional field the file lacks is an
empty column, so statements can name it), then the file's unknown columns in file order, then `_line`.
Dates in DD/MM/YYYY that are real dates become YYYY-MM-DD; anything else stays as received for the
checks to report.
"""
from __future__ import annotations

import codecs
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from data.feed_schema import Table, normalise_header
from data.ingest.scan import BOM, MAX_RECORD, Scan, scan

DECODE_CHUNK = 16 * 1024 * 1024


@dataclass
class FeedIssue:
    """A problem found while reading (before the SQL checks): code, line, field and value."""
    code: str
    line: int | None
    field: str | None = None
    value: str | None = None
    ref: str | None = None


class FeedRefused(Exception):
    """The file cannot be used at all; the feed is refused (exit 2)."""

    def __init__(self, prefix: str, file: str | None, issues: list[FeedIssue]):
        super().__init__(f"{prefix}: " + ", ".join(i.code for i in issues))
        self.prefix, self.file, self.issues = prefix, file, issues


@dataclass
class FileRead:
    prefix: str
    path: Path
    encoding: str
    scan: Scan
    columns: list[str]               # staging columns (schema fields, then extras), without _line
    extras: list[str]
    staging: Path
    issues: list[FeedIssue] = field(default_factory=list)
    rows_read: int = 0               # records: good + damaged (blank lines are not records)

    @property
    def name(self) -> str:
        return self.path.name


def find_files(feed_dir: Path, prefixes) -> tuple[dict[str, Path], list[tuple[str, FeedIssue]]]:
    """Exactly one `<PREFIX>*.csv` per prefix. A longer prefix wins a name (none of ours nest)."""
    files = sorted(p for p in feed_dir.iterdir() if p.is_file() and p.name.lower().endswith(".csv"))
    found, problems = {}, []
    for prefix in prefixes:
        matches = [p for p in files if p.name.upper().startswith(prefix)
                   and not any(o != prefix and o.startswith(prefix) and p.name.upper().startswith(o)
                               for o in prefixes)]
        if not matches:
            problems.append((prefix, FeedIssue("E001", None, ref=prefix)))
        elif len(matches) > 1:
            problems.append((prefix, FeedIssue("E002", None, ref=prefix, value=", ".join(p.name for p in matches))))
        else:
            found[prefix] = matches[0]
    return found, problems


def detect_encoding(path: Path) -> str:
    """'utf-8' or 'cp1255'; raises FeedRefused-ready issues for a file in neither."""
    utf8_error = _first_undecodable(path, "utf-8")
    if utf8_error is None:
        return "utf-8"
    offset, non_ascii_before = utf8_error
    if non_ascii_before:
        # Valid multi-byte UTF-8 came before the bad byte: a damaged UTF-8 file, not Windows-1255
        # (decoding it as Windows-1255 would publish garbled Hebrew without a word).
        raise ValueError(("E008", offset))
    cp_error = _first_undecodable(path, "cp1255")
    if cp_error is None:
        return "cp1255"
    raise ValueError(("E003", offset))


def presumed_encoding(path: Path) -> tuple[str, bool]:
    """(encoding, whether the whole file was checked). A file whose first chunk is UTF-8 is presumed
    UTF-8 without decoding the rest here: DuckDB's reader rejects any invalid byte as it reads, and
    then (or when a damaged record it never reads holds one) detect_encoding checks the whole file."""
    with open(path, "rb") as fh:
        head = fh.read(DECODE_CHUNK)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, len(head) < DECODE_CHUNK)
    except UnicodeDecodeError:
        return detect_encoding(path), True
    return "utf-8", len(head) < DECODE_CHUNK


def _first_undecodable(path: Path, encoding: str) -> tuple[int, bool] | None:
    """(offset of the first byte that does not decode, whether non-ASCII text decoded before it)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    base, non_ascii = 0, False
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(DECODE_CHUNK)
            final = not chunk
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as e:
                # e.start counts from the decoder's pending bytes, which precede this chunk.
                return base - pending + e.start, non_ascii or _has_non_ascii(e.object[:e.start])
            if not non_ascii and not text.isascii():
                non_ascii = True
            if final:
                return None
            base += len(chunk)


def _has_non_ascii(data: bytes) -> bool:
    return any(b >= 0x80 for b in data)


def header_columns(prefix: str, names: list[str], table: Table) -> tuple[list[str], list[FeedIssue]]:
    """Normalised header names; feed-level issues for duplicates and missing required columns."""
    # An empty header cell (a trailing comma, say) still heads a column: it is kept under a made-up name.
    norm = [normalise_header(n) or f"UNNAMED_{i + 1}" for i, n in enumerate(names)]
    issues = []
    for name, count in Counter(norm).items():
        if count > 1:
            issues.append(FeedIssue("E005", 1, field=name, value=name))
    for req in table.required:
        if req not in norm:
            issues.append(FeedIssue("E004", 1, field=req, value=req))
    return norm, issues


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _date_expr(col: str) -> str:
    """DD/MM/YYYY that is a real date -> YYYY-MM-DD; anything else as received. The LIKE comes first:
    it turns away ISO dates and blanks without running the regular expression on every value."""
    return (f"CASE WHEN {col} LIKE '__/__/____' AND regexp_full_match({col}, '\\d{{2}}/\\d{{2}}/\\d{{4}}') "
            f"AND try_strptime({col}, '%d/%m/%Y') IS NOT NULL "
            f"THEN substr({col}, 7, 4) || '-' || substr({col}, 4, 2) || '-' || substr({col}, 1, 2) "
            f"ELSE {col} END")


def _record_end_crs(path: Path, sc: Scan) -> np.ndarray:
    """Offsets of the CR of each CRLF that ends the header or a good record, when the file mixes CRLF
    and LF endings (DuckDB's strict reader takes one kind per file); empty otherwise."""
    if not len(sc.ends) or sc.size < 2:
        return np.zeros(0, dtype=np.int64)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    ends = np.concatenate(([sc.header_end], sc.ends))
    ends = ends[(ends >= 2) & (data[np.maximum(ends - 1, 0)] == 10)]
    crs = ends[data[ends - 2] == 13] - 2
    del data
    return crs if 0 < len(crs) < len(ends) else np.zeros(0, dtype=np.int64)


def _write_clean(path: Path, sc: Scan, encoding: str, out: Path, drop: np.ndarray | None = None) -> None:
    """The header and every good record, in UTF-8: damaged records and blank lines left out, and the
    bytes at offsets `drop` (line-ending CRs of a mixed file) left out."""
    drop = np.zeros(0, dtype=np.int64) if drop is None else drop
    cuts = sorted((d.start, d.end) for d in sc.damaged)
    spans, pos = [], sc.header_end
    for start, end in cuts:
        if start > pos:
            spans.append((pos, start))
        pos = max(pos, end)
    if pos < sc.size:
        spans.append((pos, sc.size))
    with open(path, "rb") as src, open(out, "wb") as dst:
        def put(at: int, piece: bytes) -> None:
            lo, hi = np.searchsorted(drop, [at, at + len(piece)])
            if hi > lo:
                piece = np.delete(np.frombuffer(piece, dtype=np.uint8), drop[lo:hi] - at).tobytes()
            dst.write(piece.decode(encoding).encode("utf-8") if encoding != "utf-8" else piece)

        head = src.read(sc.header_end)
        skip = 3 if head.startswith(BOM) else 0
        put(skip, head[skip:])
        for start, end in spans:
            src.seek(start)
            at, left = start, end - start
            while left > 0:
                piece = src.read(min(left, DECODE_CHUNK))
                put(at, piece)
                at += len(piece)
                left -= len(piece)


def damaged_values(read: FileRead, fields: tuple[str, ...]) -> list[tuple[int, tuple[str | None, ...]]]:
    """Best effort: `fields` of each damaged record, read by the header's positions from the record's
    own bytes, so that what refers to a rejected record can say so. Blank lines, over-long lines and
    records with a NUL are left out; a field a record cut short lacks comes back as None. Runs over
    damaged records only, never over the file's good rows."""
    import csv
    import io
    norm = [normalise_header(n) for n in read.scan.header]
    at = [norm.index(f) if f in norm else None for f in fields]
    out = []
    with open(read.path, "rb") as src:
        for d in read.scan.damaged:
            if d.kind in ("blank", "too_long", "nul"):
                continue
            src.seek(d.start)
            text = src.read(d.end - d.start).decode(read.encoding, errors="replace")
            try:
                record = next(csv.reader(io.StringIO(text)), [])
            except csv.Error:
                record = []
            if len(record) != len(norm):     # a quote out of place runs fields together: split at commas
                record = [piece.strip().strip('"') for piece in text.rstrip("\r\n").split(",")]
            values = tuple(record[i].strip() or None if i is not None and i < len(record) else None for i in at)
            out.append((d.line, values))
    return out


def _damaged_records_decode(read: FileRead) -> bool:
    """Whether every damaged record of a file presumed UTF-8 is UTF-8 (the reader never sees them)."""
    if read.encoding != "utf-8":
        return True
    with open(read.path, "rb") as src:
        for d in read.scan.damaged:
            src.seek(d.start)
            try:
                src.read(d.end - d.start).decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


class _ReaderDisagrees(Exception):
    pass


def read_file(con: duckdb.DuckDBPyConnection, prefix: str, path: Path, table: Table, work: Path) -> FileRead:
    """Stage one feed file as Parquet; raises FeedRefused when it cannot be used at all.

    The first pass leaves field counting to DuckDB's strict reader; if it finds a record with the
    wrong number of fields, the file is scanned again counting fields, so each such record is cut out
    and reported on its own line while the rest are read."""
    if path.stat().st_size == 0:
        raise FeedRefused(prefix, path.name, [FeedIssue("E006", 1)])
    try:
        encoding, checked = presumed_encoding(path)
    except ValueError as e:
        code, offset = e.args[0]
        raise FeedRefused(prefix, path.name, [FeedIssue(code, None, ref=str(offset))]) from None
    if checked:
        return _read(con, prefix, path, table, work, encoding, checked=True)
    try:
        read = _read(con, prefix, path, table, work, encoding)
        if _damaged_records_decode(read):
            return read
    except (duckdb.Error, _ReaderDisagrees):
        pass
    # Presumed UTF-8, and the reader objected (or a damaged record it never read holds a byte that
    # is not UTF-8): check the whole file, then read it as what it is.
    try:
        encoding = detect_encoding(path)
    except ValueError as e:
        code, offset = e.args[0]
        raise FeedRefused(prefix, path.name, [FeedIssue(code, None, ref=str(offset))]) from None
    return _read(con, prefix, path, table, work, encoding, checked=True)


def _read(con: duckdb.DuckDBPyConnection, prefix: str, path: Path, table: Table, work: Path, encoding: str,
          checked: bool = False) -> FileRead:
    sc = scan(path, encoding, count_fields=False)
    if not any(h.strip() for h in sc.header):
        raise FeedRefused(prefix, path.name, [FeedIssue("E006", 1)])
    norm, issues = header_columns(prefix, sc.header, table)
    if issues:
        raise FeedRefused(prefix, path.name, issues)
    known = set(table.names)
    extras = [n for n in norm if n not in known]
    read = FileRead(prefix, path, encoding, sc, table.names + extras, extras, work / f"{prefix}.stage.parquet")
    try:
        _stage(con, read, norm, table, work)
    except (duckdb.Error, _ReaderDisagrees):
        if not checked:          # perhaps not UTF-8 after all: the caller checks before anything else
            raise
        read.scan = scan(path, encoding, count_fields=True)
        try:
            _stage(con, read, norm, table, work, drop=_record_end_crs(path, read.scan))
        except (duckdb.Error, _ReaderDisagrees) as e:
            # Nothing this pass knows explains it: refuse the file rather than guess at its rows.
            raise FeedRefused(prefix, path.name, [FeedIssue("E009", None, ref=str(e).splitlines()[0][:300])]) from e
    sc = read.scan
    read.issues += [FeedIssue("W704", 1, field=x, value=x) for x in extras]
    read.rows_read = len(sc.lines) + sum(1 for d in sc.damaged if d.kind != "blank")
    if read.rows_read == 0:
        read.issues.append(FeedIssue("W703", 1))
    return read


def _stage(con: duckdb.DuckDBPyConnection, read: FileRead, norm: list[str], table: Table, work: Path,
           drop: np.ndarray | None = None) -> None:
    sc, prefix = read.scan, read.prefix
    source = read.path
    if sc.damaged or read.encoding != "utf-8" or (drop is not None and len(drop)):
        source = work / f"{prefix}.clean.csv"
        _write_clean(read.path, sc, read.encoding, source, drop)

    position = {n: i for i, n in enumerate(norm)}
    date_fields = {f.name for f in table.fields if f.kind == "date"}
    selects = []
    for name in read.columns:
        if name in position:
            col = f"c{position[name]}"
            selects.append(f"{_date_expr(col) if name in date_fields else col} AS {_quote_ident(name)}")
        else:
            selects.append(f"CAST(NULL AS VARCHAR) AS {_quote_ident(name)}")
    # The line numbers reach DuckDB as runs of consecutive lines (one run for a file without quoted
    # line breaks or damage): a few rows of text instead of millions, and no Arrow registration
    # (which makes the process import pandas: seconds of start-up for nothing).
    lines_file = work / f"{prefix}.lines.csv"
    lines = sc.lines
    breaks = np.flatnonzero(np.diff(lines) != 1) + 1 if len(lines) else np.zeros(0, dtype=np.int64)
    run_starts = np.concatenate(([0], breaks)) if len(lines) else breaks
    run_ends = np.concatenate((breaks, [len(lines)])) if len(lines) else breaks
    with open(lines_file, "w") as fh:
        fh.write("".join(f"{int(i)},{int(lines[a])},{int(lines[a]) + int(b - a)}\n"
                         for i, (a, b) in enumerate(zip(run_starts, run_ends))))
    line_rel = (f"(SELECT unnest(range(a, b)) AS _line FROM (SELECT * FROM read_csv({_sql_str(str(lines_file))}, "
                f"header=false, auto_detect=false, columns={{'i': 'BIGINT', 'a': 'BIGINT', 'b': 'BIGINT'}}) "
                f"ORDER BY i))")
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(norm))) + "}"
    reader = (f"read_csv({_sql_str(str(source))}, header=true, auto_detect=false, columns={columns}, "
              f"delim=',', quote='\"', escape='\"', strict_mode=true, null_padding=false, "
              f"max_line_size={2 * MAX_RECORD + 1024}, encoding='utf-8')")
    if len(sc.lines):
        query = f"SELECT {', '.join(selects)}, CAST(l._line AS INTEGER) AS _line FROM {reader} POSITIONAL JOIN {line_rel} l"
    else:
        query = f"SELECT {', '.join(selects)}, CAST(NULL AS INTEGER) AS _line FROM {reader} WHERE false"
    con.execute(f"COPY ({query}) TO {_sql_str(str(read.staging))} (FORMAT parquet, COMPRESSION snappy)")
    staged = con.execute(f"SELECT count(*), count(_line) FROM read_parquet({_sql_str(str(read.staging))})").fetchall()[0]
    if staged[0] != len(sc.lines) or staged[1] != len(sc.lines):
        raise _ReaderDisagrees(f"{read.name}: the CSV reader found {staged[0]} records where the scan "
                               f"found {len(sc.lines)}")
