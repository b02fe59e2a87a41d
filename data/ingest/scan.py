"""Finds the records of a CSV file and the damaged ones among them, with numpy over the raw bytes.

Why our own pass and not only the CSV reader: every record needs the line it starts on (a quoted line
break makes records and lines differ), and a damaged record must be cut out byte for byte without
losing its neighbours. The pass works on bytes, so it serves UTF-8 and Windows-1255 alike (the bytes
, " CR LF and NUL mean the same in both).

How quoting is followed without a loop per byte: in a well-formed file the parity of the number of
quotes before a byte says whether the byte is inside a quoted field. A damaged quote flips that parity
for the rest of the file, so both parities ("universes") are worked out for every line at once, and the
only Python loop runs over damaged records: after one, reading resumes on the next line in whichever
universe that line really starts in.

A record is damaged when it has the wrong number of fields, a quote that neither opens nor closes a
field (nor is a doubled quote inside one), a quote left open, a NUL byte, a carriage return not
followed by a line feed, or more than MAX_RECORD bytes.
"""
from __future__ import annotations

import csv
import io
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_RECORD = 1024 * 1024          # a record longer than this is damage, not data
CHUNK = 32 * 1024 * 1024          # bytes scanned at a time: bounds memory on big files
BOM = b"\xef\xbb\xbf"
QUOTE, COMMA, LF, CR = 34, 44, 10, 13

# Kinds of damage, in the order they are reported when a record has several.
NUL, TOO_LONG, UNTERMINATED, STRAY_QUOTE, BARE_CR, FIELD_COUNT, BLANK = (
    "nul", "too_long", "unterminated", "stray_quote", "bare_cr", "field_count", "blank")


@dataclass
class Damage:
    line: int
    start: int          # byte offsets in the file, end exclusive (terminator included)
    end: int
    kind: str
    found: int = 0      # number of fields found, for FIELD_COUNT


@dataclass
class Scan:
    header: list[str]               # header names as written (decoded, BOM removed)
    header_end: int                 # byte offset just after the header line
    has_bom: bool
    starts: np.ndarray              # byte offset of each good record
    ends: np.ndarray                # byte offset just after each good record (terminator included)
    lines: np.ndarray               # line each good record starts on (header = line 1)
    damaged: list[Damage] = field(default_factory=list)
    size: int = 0

    @property
    def clean(self) -> bool:
        return not self.damaged


def _open(path: Path) -> tuple[mmap.mmap | None, int]:
    size = path.stat().st_size
    if size == 0:
        return None, 0
    with open(path, "rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), size


def read_header(path: Path, encoding: str) -> tuple[list[str], int, bool]:
    """The header names, the offset after the header line and whether the file starts with a BOM."""
    with open(path, "rb") as fh:
        head = fh.read(MAX_RECORD + 3)
    has_bom = head.startswith(BOM)
    start = 3 if has_bom else 0
    nl = head.find(b"\n", start)
    end = len(head) if nl < 0 else nl + 1
    text = head[start:end].decode(encoding, errors="replace").rstrip("\r\n")
    names = next(csv.reader(io.StringIO(text)), []) if text.strip() else []
    return names, end, has_bom


def _per_line(positions: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of the sorted byte positions fall in each line (bounds: line starts, then the end)."""
    return np.diff(np.searchsorted(positions, bounds))


class _Universe:
    """Records of a chunk as seen when line 0 starts outside quotes (u=0) or inside them (u=1)."""

    def __init__(self, ends_here, commas, badq, nul, bare_cr, lens, blank_line, ncols):
        last = np.flatnonzero(ends_here)                    # last line of each complete record
        first = np.concatenate(([0], last[:-1] + 1)) if len(last) else np.zeros(0, dtype=np.int64)
        self.first, self.last = first, last
        # Lines that start a record in this universe -> record index.
        self.record_of_line = np.full(len(ends_here) + 1, -1, dtype=np.int64)
        self.record_of_line[first] = np.arange(len(first))

        def seg(a):
            c = np.concatenate(([0], np.cumsum(a)))
            return c[last + 1] - c[first]

        nfields = seg(commas) + 1
        self.nfields = nfields
        nbytes = seg(lens)
        nlines = last - first + 1
        kind = np.full(len(first), "", dtype=object)
        single = nlines == 1
        blank = single & blank_line[first] if len(first) else np.zeros(0, dtype=bool)
        checks = [
            (seg(nul) > 0, NUL),
            (nbytes > MAX_RECORD, TOO_LONG),
            (seg(badq) > 0, STRAY_QUOTE),
            (seg(bare_cr) > 0, BARE_CR),
            (nfields != ncols if ncols is not None else np.zeros(len(first), dtype=bool), FIELD_COUNT),
        ]
        bad = blank.copy()
        for cond, name in reversed(checks):
            kind[cond] = name
            bad |= cond
        kind[blank] = BLANK
        self.kind = kind
        self.bad = np.flatnonzero(bad)
        self.badq_line = badq
        self.multi = ~single


def _scan_chunk(buf, base: int, end: int, final: bool, ncols: int | None, first_line: int,
                starts_out: list, ends_out: list, lines_out: list, damaged: list,
                lone_cr_out: list) -> tuple[int, int]:
    """Scan bytes [base, end); returns (offset where the next chunk starts, its first line number)."""
    b = np.frombuffer(buf, dtype=np.uint8, count=end - base, offset=base)
    n = len(b)
    nl = np.flatnonzero(b == LF)
    line_starts = np.concatenate(([0], nl + 1))
    if line_starts[-1] == n:                        # the chunk ends right after a LF
        line_starts = line_starts[:-1]
    nlines = len(line_starts)
    line_ends = np.concatenate((line_starts[1:], [n]))
    complete = np.ones(nlines, dtype=bool)          # line ends with a LF (or at the file's end)
    if len(nl) < nlines and not final:
        complete[-1] = False
    lens = line_ends - line_starts

    bounds = np.concatenate((line_starts, [n]))
    nul = _per_line(np.flatnonzero(b == 0), bounds)
    cr = np.flatnonzero(b == CR)
    if len(cr):
        nxt = np.where(cr + 1 < n, b[np.minimum(cr + 1, n - 1)], LF if final else 0)
        cr = cr[(nxt != LF) & ((cr + 1 < n) | final)]
    bare_cr = _per_line(cr, bounds)
    content = lens - (b[line_ends - 1] == LF) - ((lens >= 2) & (b[np.maximum(line_ends - 2, 0)] == CR))
    blank_line = content == 0
    # Field counting is the costly part (every comma's position); ncols=None skips it.
    cpos = np.flatnonzero(b == COMMA) if ncols is not None else np.zeros(0, dtype=np.int64)

    qp = np.flatnonzero(b == QUOTE)
    if not len(qp):
        par_end = np.zeros(nlines, dtype=np.uint8)
        commas = (_per_line(cpos, bounds),) * 2
        badq = (np.zeros(nlines, dtype=np.int64),) * 2
    else:
        # Parity of the quotes up to each byte: even = outside a quoted field (in universe 0).
        if len(qp) * 16 > n:
            # Densely quoted (every field quoted): one cumulative pass beats millions of binary searches.
            par = np.cumsum(b == QUOTE, dtype=np.uint8)
            par &= 1
            par_end = par[line_ends - 1]
            cpar = par[cpos].astype(bool)
            del par
        else:
            par_end = (np.searchsorted(qp, line_ends - 1, side="right") & 1).astype(np.uint8)
            cpar = (np.searchsorted(qp, cpos) & 1).astype(bool)
        commas = (_per_line(cpos[~cpar], bounds), _per_line(cpos[cpar], bounds))
        del cpar
        prev = np.where(qp > 0, b[np.maximum(qp - 1, 0)], LF)
        nxt = np.where(qp + 1 < n, b[np.minimum(qp + 1, n - 1)], COMMA)
        ok_open = (prev == COMMA) | (prev == LF) | (prev == QUOTE) | (qp == 0)
        ok_close = (nxt == COMMA) | (nxt == LF) | (nxt == CR) | (nxt == QUOTE)
        odd = (np.arange(len(qp)) & 1).astype(bool)   # quotes before this one: odd -> inside a field
        bad0 = np.where(odd, ~ok_close, ~ok_open)
        bad1 = np.where(odd, ~ok_open, ~ok_close)
        badq = (_per_line(qp[bad0], bounds), _per_line(qp[bad1], bounds))
    universes = []
    for u in (0, 1):
        ends_here = (par_end == u) & complete
        if final and nlines:
            ends_here[-1] = True                    # end of file ends the last record, closed or not
        universes.append(_Universe(ends_here, commas[u], badq[u], nul, bare_cr, lens, blank_line, ncols))
    if final and nlines:
        # A record that reaches the end of the file with a quote still open is unterminated.
        for u, un in enumerate(universes):
            if len(un.last) and par_end[-1] != u:
                i = len(un.last) - 1
                un.kind[i] = UNTERMINATED
                if not len(un.bad) or un.bad[-1] != i:
                    un.bad = np.append(un.bad, i)

    line, u = 0, 0
    while line < nlines:
        un = universes[u]
        r = un.record_of_line[line]
        if r < 0:
            # No record starting here ends inside this chunk. Short enough: carry it to the next chunk.
            if line_ends[-1] - line_starts[line] <= MAX_RECORD or not complete[line]:
                break
            # Longer than any record may be: a quote opened on this line swallowed the lines after it.
            fl = line
            kind = TOO_LONG if lens[fl] > MAX_RECORD else STRAY_QUOTE if un.badq_line[fl] else UNTERMINATED
            damaged.append(Damage(first_line + fl, base + int(line_starts[fl]), base + int(line_ends[fl]), kind))
            line, u = fl + 1, int(par_end[fl])
            continue
        k = np.searchsorted(un.bad, r)
        stop = int(un.bad[k]) if k < len(un.bad) else len(un.first)
        if stop > r:
            starts_out.append(base + line_starts[un.first[r:stop]])
            ends_out.append(base + line_ends[un.last[r:stop]])
            lines_out.append(first_line + un.first[r:stop])
        if stop == len(un.first):
            line = int(un.last[-1]) + 1
            break
        fl, ll = int(un.first[stop]), int(un.last[stop])
        kind = un.kind[stop]
        if un.multi[stop] and kind in (STRAY_QUOTE, UNTERMINATED, TOO_LONG):
            # A quote opened on line fl swallowed the lines after it: only line fl is damaged, and
            # reading resumes on the next line in the parity that line really starts in.
            kind = TOO_LONG if lens[fl] > MAX_RECORD else STRAY_QUOTE if un.badq_line[fl] else UNTERMINATED
            damaged.append(Damage(first_line + fl, base + int(line_starts[fl]), base + int(line_ends[fl]), kind))
            line, u = fl + 1, int(par_end[fl])
            continue
        damaged.append(Damage(first_line + fl, base + int(line_starts[fl]), base + int(line_ends[ll]), kind,
                              int(un.nfields[stop])))
        line = ll + 1
    if line >= nlines:
        lone_cr_out.append(base + cr)
        return end, first_line + nlines
    # Lines from `line` on form a record the chunk cuts: the next chunk starts there (parity resets).
    lone_cr_out.append(base + cr[cr < line_starts[line]])
    return base + int(line_starts[line]), first_line + line


def scan(path: Path, encoding: str = "utf-8", count_fields: bool = True) -> Scan:
    """Scan a CSV file; the header's field count is what every record must have.

    count_fields=False skips counting fields (the costly part): the caller then lets the strict CSV
    reader vouch for field counts, and scans again with counting only if the reader objects."""
    header, header_end, has_bom = read_header(path, encoding)
    names = [h.replace("\ufeff", "") for h in header]
    mm, size = _open(path)
    starts, ends, lines, damaged, lone_cr = [], [], [], [], []
    ncols = len(names) if count_fields else None
    try:
        pos, line = header_end, 2
        while mm is not None and pos < size:
            end = min(size, pos + CHUNK)
            final = end == size
            new_pos, new_line = _scan_chunk(mm, pos, end, final, ncols, line, starts, ends, lines, damaged, lone_cr)
            if new_pos == pos and not final:
                # One record longer than a chunk: widen until it ends (it is damage beyond MAX_RECORD).
                end = min(size, pos + 2 * CHUNK + MAX_RECORD)
                new_pos, new_line = _scan_chunk(mm, pos, end, end == size, ncols, line,
                                                starts, ends, lines, damaged, lone_cr)
                if new_pos == pos:
                    raise ValueError(f"{path.name}: cannot find the end of the record on line {line}")
            pos, line = new_pos, new_line
    finally:
        if mm is not None:
            mm.close()
    cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    starts_a, lines_a, crs = cat(starts), cat(lines), cat(lone_cr)
    if len(crs):
        # An editor breaks the line at a lone CR too: lines after one count it (such records are damage).
        lines_a = lines_a + np.searchsorted(crs, starts_a)
        for d in damaged:
            d.line += int(np.searchsorted(crs, d.start))
    return Scan(names, header_end, has_bom, starts_a, cat(ends), lines_a, damaged, size)
