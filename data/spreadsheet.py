"""Making exported tables safe to open in a spreadsheet: formula neutralisation for CSV, and an XLSX
writer whose every cell is a text cell.

The rule (docs/exports.md):
- CSV files for people: any cell (and any header) that starts with `=`, `+`, `-`, `@`, a tab or a
  carriage return gets a single quote `'` in front, as OWASP recommends for CSV injection. No
  exceptions: a phone written `+972...` becomes `'+972...` in the people's CSV, because a rule with
  exceptions ("unless it looks like a phone") is one an attacker can aim at. The vendor files are
  never changed.
- XLSX for people: values stay exact (phones keep their `+`), because every cell is written as an
  inline text string with the Text number format: a spreadsheet shows it, never evaluates it, and
  never drops a leading zero, even when someone edits the cell.

The XLSX writer is our own and small: xlsxwriter writes about four microseconds a cell in Python,
about 80 s for the largest authority's 20 million cells. Here each sheet's XML is built column-wise by
polars (Rust) and streamed through zlib, so the whole workbook takes seconds. The output is
deterministic: the same tables and timestamp give the same bytes.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import BinaryIO, Iterable
from xml.sax.saxutils import escape

import polars as pl
import pyarrow as pa

# Cells a spreadsheet may run as a formula (OWASP "CSV injection").
FORMULA_CHARS = "=+-@\t\r"
FORMULA_START = r"^[=+\-@\t\r]"
QUOTE = "'"

# The XLSX limits we must respect rather than silently truncate.
MAX_SHEET_ROWS = 1_048_576
MAX_CELL_CHARS = 32_767
MAX_SHEET_NAME = 31

# Characters XML 1.0 cannot carry (and CR, which XML parsers turn into LF): written the way Excel
# itself writes them, as _xHHHH_; a literal "_xHHHH_" in the data is protected as _x005F_xHHHH_.
_XML_UNSAFE = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)]
_NEEDS_XML_WORK = r"[&<>\x00-\x08\x0B-\x1F]|_x[0-9A-Fa-f]{4}_"


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """The people's variant of a table: formula-like cells and headers prefixed with a single quote."""
    exprs = []
    for name in df.columns:
        col = pl.col(name).cast(pl.String)
        exprs.append(pl.when(col.str.contains(FORMULA_START)).then(pl.lit(QUOTE) + col).otherwise(col)
                     .alias(neutralise_text(name)))
    return df.select(exprs)


def neutralise_text(value: str | None) -> str | None:
    """The same rule for one string (headers, and for readers of this module: the rule in one line)."""
    if value and value[0] in FORMULA_CHARS:
        return QUOTE + value
    return value


def neutralise_sql(column: str) -> str:
    """The same rule as a DuckDB expression over a text column (the package files are written by
    DuckDB's COPY)."""
    col = quote_ident(column)
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_CHARS)
    return f"CASE WHEN left({col}, 1) IN ({starts}) THEN '{QUOTE}{QUOTE}' || {col} ELSE {col} END"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------------- XLSX

@dataclass(frozen=True)
class Sheet:
    name: str
    frame: pl.DataFrame


class SpreadsheetError(ValueError):
    """A table the XLSX format cannot hold as it is; the message names the table, row and field."""


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _xml_text(col: pl.Expr) -> pl.Expr:
    """Escape a string column for element content, the Excel way for control characters."""
    col = (col.str.replace_all(r"_(x[0-9A-Fa-f]{4}_)", "_x005F_$1")
           .str.replace_all("&", "&amp;", literal=True)
           .str.replace_all("<", "&lt;", literal=True)
           .str.replace_all(">", "&gt;", literal=True))
    for ch in _XML_UNSAFE:
        col = col.str.replace_all(ch, f"_x{ord(ch):04X}_", literal=True)
    return col


def _check_cells(name: str, frame: pl.DataFrame) -> None:
    if not frame.width:
        return
    longest = frame.select(pl.col(c).cast(pl.String).str.len_chars().max() for c in frame.columns).row(0)
    for column, length in zip(frame.columns, longest):
        if length is not None and length > MAX_CELL_CHARS:
            row = frame.with_row_index("_row").filter(
                pl.col(column).cast(pl.String).str.len_chars() > MAX_CELL_CHARS)["_row"][0]
            raise SpreadsheetError(f"table {name}, row {row + 1}, field {column}: {length} characters, "
                                   f"more than a spreadsheet cell holds ({MAX_CELL_CHARS})")


def _split(sheets: Iterable[Sheet]) -> list[Sheet]:
    """A table longer than a sheet continues on NAME_2, NAME_3 ... (each with the header row)."""
    out = []
    per_sheet = MAX_SHEET_ROWS - 1
    for sheet in sheets:
        if len(sheet.name) > MAX_SHEET_NAME - 2 or any(c in sheet.name for c in "[]:*?/\\"):
            raise SpreadsheetError(f"sheet name {sheet.name!r} is not allowed in XLSX")
        if sheet.frame.height <= per_sheet:
            out.append(sheet)
            continue
        for part, offset in enumerate(range(0, sheet.frame.height, per_sheet), start=1):
            suffix = "" if part == 1 else f"_{part}"
            out.append(Sheet(sheet.name + suffix, sheet.frame.slice(offset, per_sheet)))
    return out


def _sheet_rows(frame: pl.DataFrame, first_row: int) -> memoryview:
    """The <row> XML of a slice of a table, as UTF-8 bytes: every cell an inline string with style 1
    (Text), built column-wise by polars and taken from the Arrow buffer without a copy."""
    checks = [pl.col(c).cast(pl.String).str.contains(_NEEDS_XML_WORK).any().alias(f"x{i}")
              for i, c in enumerate(frame.columns)]
    checks += [pl.col(c).cast(pl.String).str.contains(r"^\s|\s$").any().alias(f"s{i}")
               for i, c in enumerate(frame.columns)]
    flags = frame.select(checks).row(0, named=True) if frame.height else {}
    row_no = (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).cast(pl.String)
    parts: list[pl.Expr] = [pl.lit('<row r="'), row_no, pl.lit('">')]
    for i, name in enumerate(frame.columns):
        col = pl.col(name).cast(pl.String)
        text = _xml_text(col) if flags.get(f"x{i}") else col
        # xml:space only in columns that need it: leading or trailing spaces would otherwise be dropped
        open_t = '<t xml:space="preserve">' if flags.get(f"s{i}") else "<t>"
        cell = pl.concat_str([pl.lit(f'<c r="{_column_letters(i)}'), row_no,
                              pl.lit(f'" s="1" t="inlineStr"><is>{open_t}'), text, pl.lit("</t></is></c>")])
        parts.append(pl.when(col.is_null()).then(pl.lit("")).otherwise(cell))
    parts.append(pl.lit("</row>"))
    xml = frame.select(pl.concat_str(parts).alias("x"))["x"].to_arrow()
    if isinstance(xml, pa.ChunkedArray):
        xml = xml.combine_chunks()
    if xml.type != pa.large_string():
        xml = xml.cast(pa.large_string())
    if len(xml) == 0:
        return memoryview(b"")
    _, offsets, data = xml.buffers()
    offsets = pa.Array.from_buffers(pa.int64(), len(xml) + 1, [None, offsets], offset=xml.offset)
    return memoryview(data)[offsets[0].as_py():offsets[-1].as_py()]


def _write_sheet(out: BinaryIO, sheet: Sheet, selected: bool) -> None:
    frame = sheet.frame
    ncols = max(frame.width, 1)
    last = f"{_column_letters(ncols - 1)}{frame.height + 1}"
    tab_selected = ' tabSelected="1"' if selected else ""
    header = "".join(
        f'<c r="{_column_letters(i)}1" s="2" t="inlineStr"><is><t xml:space="preserve">{escape(name)}</t></is></c>'
        for i, name in enumerate(frame.columns))
    out.write((
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<dimension ref="A1:{last}"/>'
        f'<sheetViews><sheetView rightToLeft="1"{tab_selected} workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f'<cols><col min="1" max="{ncols}" width="16" style="1" customWidth="1"/></cols>'
        f'<sheetData><row r="1">{header}</row>').encode("utf-8"))
    # Slices keep memory flat: a slice's rows are joined into one string and handed to zlib.
    for offset in range(0, frame.height, 50_000):
        out.write(_sheet_rows(frame.slice(offset, 50_000), offset + 2))
    out.write(b"</sheetData></worksheet>")


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Arial"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Arial"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _parts(sheets: list[Sheet], title: str, created: datetime) -> dict[str, str]:
    # W3CDTF in UTC; a naive time is taken as UTC already.
    utc = created.astimezone(timezone.utc) if created.tzinfo else created
    stamp = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1))
    sheet_list = "".join(f'<sheet name="{escape(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, s in enumerate(sheets, start=1))
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return {
        "[Content_Types].xml": head +
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + overrides +
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>',
        "_rels/.rels": head +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
        'Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
        'Target="docProps/app.xml"/></Relationships>',
        "docProps/core.xml": head +
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dc:title>{escape(title)}</dc:title><dc:creator>Mifkad</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>',
        "docProps/app.xml": head +
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        '<Application>Mifkad</Application></Properties>',
        "xl/workbook.xml": head +
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets>{sheet_list}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": head +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + sheet_rels +
        f'<Relationship Id="rId{len(sheets) + 1}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '</Relationships>',
        "xl/styles.xml": _STYLES,
    }


def write_xlsx(out: BinaryIO, sheets: Iterable[Sheet], title: str, created: datetime,
               compresslevel: int = 1) -> None:
    """Write a workbook: one right-to-left sheet per table, header row bold and frozen, text cells.

    `created` stamps the document properties and every zip entry, so the bytes depend only on the
    tables and that time.
    """
    sheets = _split(sheets)
    for sheet in sheets:
        _check_cells(sheet.name, sheet.frame)
    stamp = created.timetuple()[:6]

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info._compresslevel = compresslevel       # an entry opened by ZipInfo ignores the ZipFile's level
        return info

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        parts = _parts(sheets, title, created)
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "docProps/app.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"):
            zf.writestr(entry(name), parts[name].encode("utf-8"), compresslevel=compresslevel)
        for i, sheet in enumerate(sheets, start=1):
            with zf.open(entry(f"xl/worksheets/sheet{i}.xml"), "w", force_zip64=True) as f:
                _write_sheet(f, sheet, selected=(i == 1))
