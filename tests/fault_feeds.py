"""Tiny roster feeds built in code, for ingest tests: one valid feed, and ways to damage it.

`valid_feed()` returns the seven tables as lists of row dicts (every field as text, in the spec's field
order). `write_feed()` writes them as the ministry would, with options for the variations real files
arrive in (Windows-1255, a byte-order mark, DD/MM/YYYY dates, shuffled columns, an extra column).
Tests change a cell or the raw text, then look for the exact code, line and field in the report.

Line numbers: the header is line 1, so row i of a table (0-based) is on line i + 2.
"""
from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from data.feed_schema import TABLES
from data.idnumber import make_valid

FEED_DATE = "2026-12-01"
YEAR = "2027"


def ident(n: int) -> str:
    """A valid nine-digit identity number, distinct for each n."""
    return make_valid(f"{30_000_000 + n:08d}")


def _row(prefix: str, **values) -> dict:
    row = {name: "" for name in TABLES[prefix].names}
    row.update({k: str(v) for k, v in values.items()})
    return row


def valid_feed() -> dict[str, list[dict]]:
    """Two localities of one city and one of a council; an elementary and a high school; eight
    students (one with a past placement), their parents, classes and one track."""
    rashuyot = [
        _row("RASHUYOT", SEMEL_YISHUV="5000", SHEM_YISHUV="תל אביב-יפו", SEMEL_RASHUT="5000",
             SHEM_RASHUT="תל אביב-יפו", SUG_RASHUT="1", MACHOZ="תל אביב"),
        _row("RASHUYOT", SEMEL_YISHUV="6100", SHEM_YISHUV="בני ברק", SEMEL_RASHUT="6100",
             SHEM_RASHUT="בני ברק", SUG_RASHUT="1", MACHOZ="תל אביב"),
        _row("RASHUYOT", SEMEL_YISHUV="1143", SHEM_YISHUV="צור הדסה", SEMEL_RASHUT="10026",
             SHEM_RASHUT="מטה יהודה", SUG_RASHUT="3", MACHOZ="ירושלים"),
    ]
    mosdot = [
        _row("MOSDOT", SHNAT_LIMUDIM=YEAR, SEMEL_MOSAD="513001", SHEM_MOSAD="יסודי בבלי", SEMEL_YISHUV="5000",
             KTOVET_MOSAD="אלנבי 1, תל אביב-יפו", SUG_PIKUACH="1", SUG_PIKUACH_TEUR="ממלכתי",
             ME_SHICHVA_MEUSHAR="1", AD_SHICHVA_MEUSHAR="6"),
        _row("MOSDOT", SHNAT_LIMUDIM=YEAR, SEMEL_MOSAD="640011", SHEM_MOSAD='תיכון "הדר"', SEMEL_YISHUV="6100",
             SUG_PIKUACH="2", SUG_PIKUACH_TEUR="ממלכתי-דתי", ME_SHICHVA_MEUSHAR="7", AD_SHICHVA_MEUSHAR="12"),
    ]
    kitot = [
        _row("KITOT", SHNAT_LIMUDIM=YEAR, ID_KITA="100001", SEMEL_MOSAD="513001", SHICHVA="2", MAKBILA="1",
             SHEM_KITA="ב'1", MIN_TALMIDIM="10", MAX_TALMIDIM="36", MISPAR_TALMIDIM="3"),
        _row("KITOT", SHNAT_LIMUDIM=YEAR, ID_KITA="100002", SEMEL_MOSAD="513001", SHICHVA="5", MAKBILA="1",
             SHEM_KITA="ה'1", MIN_TALMIDIM="10", MAX_TALMIDIM="36", MISPAR_TALMIDIM="2"),
        _row("KITOT", SHNAT_LIMUDIM=YEAR, ID_KITA="100003", SEMEL_MOSAD="640011", SHICHVA="11", MAKBILA="2",
             SHEM_KITA="יא2", MIN_TALMIDIM="10", MAX_TALMIDIM="40", MISPAR_TALMIDIM="3"),
    ]
    megamot = [
        _row("MEGAMOT", SHNAT_LIMUDIM=YEAR, ID_MEGAMA="500001", SEMEL_MOSAD="640011", SEMEL_MEGAMA="103",
             SEMEL_MEGAMA_MOSAD="1001", SHEM_MEGAMA_MOSAD="פיזיקה", TEUR_MEGAMA="פיזיקה", SHICHVA="11",
             TAARICH_STATUS_ISHUR_MEGAMA="2026-05-01"),
    ]
    students = [  # (n, first, last, sex, birth, school, grade, parallel, track, residence)
        (1, "יעל", "כהן", 2, "2019-03-04", "513001", 2, 1, "", "5000"),
        (2, "נועם", "כהן", 1, "2019-07-19", "513001", 2, 1, "", "5000"),
        (3, "אורי", "לוי", 1, "2016-01-30", "513001", 5, 1, "", "5000"),
        (4, "מאיה", "לוי", 2, "2016-11-02", "513001", 5, 1, "", "1143"),
        (5, "דוד", "פרץ", 1, "2010-05-13", "640011", 11, 2, "1001", "6100"),
        (6, "שרה", "פרץ", 2, "2010-08-27", "640011", 11, 2, "1001", "6100"),
        (7, "רחל", "מזרחי", 2, "2010-02-11", "640011", 11, 2, "", "5000"),
        (8, "יוסף", "מזרחי", 1, "2019-12-24", "513001", 2, 1, "", "5000"),
    ]
    talmidim = []
    for n, first, last, sex, birth, school, grade, parallel, track, res in students:
        talmidim.append(_row(
            "TALMIDIM", SHNAT_LIMUDIM=YEAR, SUG_ZEHUT="1", MISPAR_ZEHUT=ident(n), SHEM_PRATI=first,
            SHEM_MISHPACHA=last, CODE_MIN=sex, TAARICH_LEDA=birth, SEMEL_MOSAD=school, SHICHVA=grade,
            MAKBILA=parallel, SEMEL_MEGAMA_MOSAD=track, CODE_STATUS_RISHUM_TA="3", TAARICH_HATCHALA="2026-09-01",
            SEMEL_YISHUV_TAL=res, SEMEL_RECHOV_TAL="108", MISPAR_BAYIT_TAL="1", MIKUD_7_TAL="0460914",
            TAARICH_IDKUN_RESHUMA="2026-10-12"))
    # Student 3's past placement: left the high school's feeder grade last year.
    talmidim.append(_row(
        "TALMIDIM", SHNAT_LIMUDIM="2026", SUG_ZEHUT="1", MISPAR_ZEHUT=ident(3), SHEM_PRATI="אורי",
        SHEM_MISHPACHA="לוי", CODE_MIN="1", TAARICH_LEDA="2016-01-30", SEMEL_MOSAD="513001", SHICHVA="4",
        MAKBILA="1", CODE_STATUS_RISHUM_TA="5", TAARICH_HATCHALA="2025-09-01", TAARICH_AZIVA="2026-06-30",
        CODE_SIBAT_AZIVA="1", SEMEL_YISHUV_TAL="5000", TAARICH_IDKUN_RESHUMA="2026-06-30"))
    parents = {  # parent n -> (first, last, children)
        101: ("משה", "כהן", [1, 2]), 102: ("רות", "כהן", [1, 2]), 103: ("אבי", "לוי", [3, 4]),
        104: ("חנה", "פרץ", [5, 6]), 105: ("עמית", "מזרחי", [7, 8]),
    }
    gormey, pirtey = [], []
    for p, (first, last, children) in parents.items():
        for child in children:
            gormey.append(_row(
                "GORMEY_KESHER", SUG_ZEHUT_TALMID="1", MISPAR_ZEHUT_TALMID=ident(child), SUG_ZEHUT_GOREM_KESHER="1",
                MISPAR_ZEHUT_GOREM_KESHER=ident(p), SHEM_PRATI_GOREM_KESHER=first, SHEM_MISHPACHA_GOREM_KESHER=last,
                CODE_SUG_KIRVA_GOREM_KESHER="1" if p % 2 else "2", HAIM_MESHALEM_GOREM_KESHER="1",
                LEKABEL_MEIDA="1", TAARICH_HATCHALA_GOREM_KESHER="2019-03-04"))
        pirtey.append(_row(
            "PIRTEY_KESHER", SUG_ZEHUT="1", MISPAR_ZEHUT=ident(p), KIDOMET_NAYAD="052", MISPAR_NAYAD="1234567",
            EMAIL_RASHI=f"parent{p}@example.org", SEMEL_YISHUV="5000", SHEM_RECHOV="ויצמן", MISPAR_BAYIT="1",
            MIKUD="0460914", TAARICH_IDKUN="2025-11-24"))
    return {"RASHUYOT": rashuyot, "MOSDOT": mosdot, "KITOT": kitot, "MEGAMOT": megamot, "TALMIDIM": talmidim,
            "GORMEY_KESHER": gormey, "PIRTEY_KESHER": pirtey}


def to_dmy(value: str) -> str:
    return f"{value[8:10]}/{value[5:7]}/{value[0:4]}" if len(value) == 10 and value[4] == "-" else value


def csv_text(prefix: str, rows: list[dict], *, columns: list[str] | None = None, dmy: bool = False,
             header: list[str] | None = None, line_end: str = "\n") -> str:
    columns = columns or TABLES[prefix].names
    date_fields = {f.name for f in TABLES[prefix].fields if f.kind == "date"}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=line_end)
    w.writerow(header or columns)
    for row in rows:
        w.writerow([to_dmy(row.get(c, "")) if dmy and c in date_fields else row.get(c, "") for c in columns])
    return buf.getvalue()


def write_feed(folder: Path, tables: dict[str, list[dict]] | None = None, *, encoding: str = "utf-8",
               bom: bool = False, dmy: bool = False, shuffle: bool = False, extra: dict[str, str] | None = None,
               crlf: bool = False, date: str = FEED_DATE) -> Path:
    """Write the seven files as <PREFIX>_<date>.csv. extra: {prefix: column} adds a column whose
    value is 'x<line>' on every row."""
    tables = tables if tables is not None else valid_feed()
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    for prefix, rows in tables.items():
        columns = list(TABLES[prefix].names)
        if extra and prefix in extra:
            rows = [dict(r, **{extra[prefix]: f"x{i + 2}"}) for i, r in enumerate(rows)]
            columns.append(extra[prefix])
        if shuffle:
            rng.shuffle(columns)
        text = csv_text(prefix, rows, columns=columns, dmy=dmy, line_end="\r\n" if crlf else "\n")
        data = text.encode(encoding)
        (folder / f"{prefix}_{date}.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return folder


def file_of(folder: Path, prefix: str) -> Path:
    return next(p for p in folder.iterdir() if p.name.startswith(prefix + "_"))


def replace_line(folder: Path, prefix: str, line: int, new: bytes) -> bytes:
    """Replace one physical line (1-based, without its line break) with raw bytes; returns the old line."""
    path = file_of(folder, prefix)
    lines = path.read_bytes().split(b"\n")
    old = lines[line - 1]
    lines[line - 1] = new
    path.write_bytes(b"\n".join(lines))
    return old
