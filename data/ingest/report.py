"""The ingest report: counts per file, every rejection and warning with code, file, line, field, value and
its message in Hebrew and English, counts by code; plus the rejected rows, byte for byte.

report.json lists at most ISSUES_PER_CODE issues of each code (a feed with half a million warnings must
still open in a browser); issues.parquet beside it holds every one of them.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np

from data.ingest.issues import ISSUES
from data.ingest.read import FileRead

ISSUES_PER_CODE = 1000
SCHEMA_VERSION = 1


def load_issue_types(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE issue_types (code VARCHAR, severity VARCHAR, he VARCHAR, en VARCHAR)")
    con.executemany("INSERT INTO issue_types VALUES (?, ?, ?, ?)",
                    [(t.code, t.severity, t.he, t.en) for t in ISSUES.values()])


def add_read_issues(con: duckdb.DuckDBPyConnection, reads: dict[str, FileRead], work: Path) -> None:
    """Issues found while reading (damaged rows, header warnings) join the SQL checks' issues."""
    rows = []
    for prefix, r in reads.items():
        for i in r.issues:
            rows.append((prefix, i.line, i.field, i.code, i.value, i.ref))
        for d in r.scan.damaged:
            code = {"field_count": "E101", "unterminated": "E102", "stray_quote": "E103", "nul": "E104",
                    "too_long": "E105", "bare_cr": "E106", "blank": "W705"}[d.kind]
            value = str(d.found) if code == "E101" else None
            ref = str(len(r.scan.header)) if code == "E101" else str(1024 * 1024) if code == "E105" else None
            rows.append((prefix, d.line, None, code, value, ref))
    if rows:
        # Through a CSV file: executemany costs a round trip per row, and damage can be plentiful.
        path = work / "read_issues.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
        con.execute(f"INSERT INTO issues SELECT * FROM read_csv('{str(path).replace(chr(39), chr(39) * 2)}', "
                    "header=false, auto_detect=false, columns={'prefix': 'VARCHAR', 'line': 'INTEGER', "
                    "'field': 'VARCHAR', 'code': 'VARCHAR', 'value': 'VARCHAR', 'ref': 'VARCHAR'}, "
                    "delim=',', quote='\"', escape='\"')")


def finish_issues(con: duckdb.DuckDBPyConnection, reads: dict[str, FileRead]) -> None:
    """The full issue list with file names, severities and both messages, ordered for reading."""
    con.execute("CREATE OR REPLACE TEMP TABLE files (prefix VARCHAR, file VARCHAR)")
    con.executemany("INSERT INTO files VALUES (?, ?)", [(p, r.name) for p, r in reads.items()])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE issues_full AS
        SELECT i.code, t.severity, f.file, i.prefix, i.line, i.field, i.value, i.ref,
               replace(replace(t.he, '{value}', coalesce(i.value, '')), '{ref}', coalesce(i.ref, '')) AS message_he,
               replace(replace(t.en, '{value}', coalesce(i.value, '')), '{ref}', coalesce(i.ref, '')) AS message_en
        FROM issues i JOIN issue_types t USING (code) LEFT JOIN files f USING (prefix)
        ORDER BY i.prefix, i.line NULLS FIRST, i.code, i.field""")


def rejected_lines(con: duckdb.DuckDBPyConnection, prefix: str) -> np.ndarray:
    """Lines of rows the SQL checks rejected (damaged records are counted apart: they never staged)."""
    rows = con.execute("SELECT _line FROM rej_" + prefix.lower() + " ORDER BY _line").fetchnumpy()["_line"]
    return np.asarray(rows, dtype=np.int64)


def write_rejected(r: FileRead, sql_rejected: np.ndarray, out_dir: Path) -> int:
    """rejected/<file name>: the header line, then every rejected record exactly as its bytes arrived,
    in line order. Returns the number of records written."""
    sc = r.scan
    idx = np.searchsorted(sc.lines, sql_rejected)
    spans = [(int(s), int(e), int(l)) for s, e, l in zip(sc.starts[idx], sc.ends[idx], sql_rejected)]
    spans += [(d.start, d.end, d.line) for d in sc.damaged if d.kind != "blank"]
    if not spans:
        return 0
    spans.sort(key=lambda s: s[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(r.path, "rb") as src, open(out_dir / r.name, "wb") as dst:
        head = src.read(sc.header_end)
        dst.write(head if head.endswith(b"\n") else head + b"\n")
        for start, end, _line in spans:
            src.seek(start)
            piece = src.read(end - start)
            dst.write(piece)
            if not piece.endswith(b"\n"):      # the file's last record had no line break
                dst.write(b"\n")
    return len(spans)


def issue_rows(con: duckdb.DuckDBPyConnection, per_code: int = ISSUES_PER_CODE) -> tuple[list[dict], int]:
    total = con.execute("SELECT count(*) FROM issues_full").fetchall()[0][0]
    rel = con.sql(f"""
        SELECT * EXCLUDE (n) FROM (
            SELECT *, row_number() OVER (PARTITION BY code ORDER BY prefix, line NULLS FIRST) AS n FROM issues_full)
        WHERE n <= {int(per_code)} ORDER BY prefix, line NULLS FIRST, code""")
    cols = rel.columns
    return [dict(zip(cols, row)) for row in rel.fetchall()], total


def counts_by_code(con: duckdb.DuckDBPyConnection) -> dict:
    out = {}
    for code, severity, n, files in con.execute(
            "SELECT code, severity, count(*), list(DISTINCT prefix ORDER BY prefix) FROM issues_full "
            "GROUP BY code, severity ORDER BY code").fetchall():
        t = ISSUES[code]
        out[code] = {"count": n, "severity": severity, "files": files, "he": t.he, "en": t.en}
    return out


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def summary_text(report: dict) -> str:
    """The operator's summary on stdout."""
    lines = [f"ingest {report.get('date')}: {report.get('status').upper()}"]
    for prefix, f in report.get("files", {}).items():
        lines.append(f"  {prefix:<14} {f.get('file') or '-':<40} read {f.get('rows_read', 0):>9,}  "
                     f"accepted {f.get('rows_accepted', 0):>9,}  rejected {f.get('rows_rejected', 0):>7,}  "
                     f"warnings {f.get('warnings', 0):>7,}")
    for code, c in report.get("counts_by_code", {}).items():
        title = c["en"].replace("'{value}'", "…").replace("{value}", "…").replace("{ref}", "…")
        lines.append(f"  {code} {c['severity']:<7} {c['count']:>9,}  {title}")
    for r in report.get("refusal") or []:
        lines.append(f"  REFUSED {r['code']} {r.get('file') or r.get('prefix') or ''}: {r['message_en']}")
        lines.append(f"          {r['message_he']}")
    if report.get("snapshot"):
        lines.append(f"  published: {report['snapshot']}")
    if report.get("report_path"):
        lines.append(f"  report: {report['report_path']}")
    return "\n".join(lines)
