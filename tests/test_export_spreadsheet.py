"""Spreadsheet safety: formula-like cells are neutralised in the people's CSV files and kept exact in
the vendor's; the people's workbook holds every value exactly, as text cells that a spreadsheet never
evaluates, with leading zeros kept. The workbook is read back from its XML (no spreadsheet library)."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pytest

from data import export, spreadsheet
from data.approvals import approve
from tests.conftest import _reset_process_caches, open_export_records

DATE = "2026-12-01"
HOSTILE = ['=HYPERLINK("http://x","y")', "+ראשון", "-שני", "@SUM(A1)", "דני & <בני>", "\tטאב"]  # a lone CR is refused by ingest (E106)
PHONE = "+972501234567"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture(scope="module")
def hostile_store(small_feed, tmp_path_factory) -> Path:
    """small_feed with spreadsheet-hostile first names on 5000 residents and a +972 phone, ingested once."""
    from data import ingest
    from data.snapshots import get_snapshot
    feed = tmp_path_factory.mktemp("hostile") / "feed"
    feed.mkdir()
    for src in small_feed.glob("*.csv"):
        (feed / src.name).write_bytes(src.read_bytes())
    talmidim = next(feed.glob("TALMIDIM_*.csv"))
    df = pl.read_csv(talmidim, infer_schema=False).with_row_index("_i")
    rows = df.filter(pl.col("SEMEL_YISHUV_TAL") == "5000")["_i"][: len(HOSTILE)].to_list()
    names = df["SHEM_PRATI"].to_list()
    for i, value in zip(rows, HOSTILE):
        names[i] = value
    df.with_columns(pl.Series("SHEM_PRATI", names)).drop("_i").write_csv(talmidim)
    pirtey = next(feed.glob("PIRTEY_KESHER_*.csv"))
    contacts = pl.read_csv(pirtey, infer_schema=False)
    phones = contacts["MISPAR_NAYAD"].to_list()
    phones[0] = PHONE
    contacts.with_columns(pl.Series("MISPAR_NAYAD", phones)).write_csv(pirtey)
    home = tmp_path_factory.mktemp("hostile-home") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIFKAD_HOME", str(home))
        _reset_process_caches()
        assert ingest.main([str(feed), "--date", DATE]) == 0
        content = get_snapshot(DATE).path
    _reset_process_caches()
    return content


@pytest.fixture
def hostile(mifkad_home, hostile_store, tmp_path):
    """The hostile snapshot, approved, with the three files of 5000 built: (vendor zip, people zip, xlsx)."""
    link = mifkad_home / "snapshots" / DATE
    link.parent.mkdir(parents=True)
    link.symlink_to(hostile_store)
    open_export_records()
    approve(DATE, by="admin@education.gov.il")
    vendor = export.export("5000", DATE, tmp_path / "v")[0]
    people, book = export.export("5000", DATE, tmp_path / "p", variant="people", xlsx=True)
    return vendor, people, book


def csv_cells(zip_path: Path, table: str) -> pl.DataFrame:
    with zipfile.ZipFile(zip_path) as zf:
        data = zf.read(f"{table}_5000_{DATE}.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    return pl.read_csv(io.BytesIO(data[3:]), infer_schema=False)


def sheet_rows(book: Path, sheet: str) -> list[dict[str, str]]:
    """The rows of a sheet as {header: value}, decoding Excel's _xHHHH_ escapes; asserts every data
    cell is an inline string with the Text format and that no cell holds a formula."""
    with zipfile.ZipFile(book) as zf:
        workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        names = [s.get("name") for s in workbook.find("m:sheets", NS)]
        root = ElementTree.fromstring(zf.read(f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"))
    assert root.find("m:sheetViews/m:sheetView", NS).get("rightToLeft") == "1"
    assert not root.findall(".//m:f", NS), "a cell holds a formula"
    rows = []
    for row in root.find("m:sheetData", NS):
        cells = {}
        for c in row:
            assert c.get("t") == "inlineStr", c.attrib
            assert c.get("s") in ("1", "2")            # Text number format (2: the bold header)
            col = re.match(r"[A-Z]+", c.get("r")).group(0)
            text = c.find("m:is/m:t", NS).text or ""
            cells[col] = re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text).replace("_x005F_", "_")
        rows.append(cells)
    header = rows[0]
    return [{header[col]: value for col, value in r.items()} for r in rows[1:]]


def test_formula_like_names_are_neutralised_for_people_and_exact_for_vendors(hostile):
    vendor, people, _ = hostile
    vendor_names = set(csv_cells(vendor, "TALMIDIM")["SHEM_PRATI"])
    people_names = set(csv_cells(people, "TALMIDIM")["SHEM_PRATI"])
    for value in HOSTILE:
        assert value in vendor_names, value
        if value[0] in "=+-@\t\r":
            assert "'" + value in people_names and value not in people_names, value
        else:
            assert value in people_names, value
    assert not [n for n in people_names if n and n[0] in "=+-@\t\r"]


def test_a_plus_phone_is_exact_for_vendors_and_in_the_workbook_and_neutralised_in_the_peoples_csv(hostile):
    vendor, people, book = hostile
    assert PHONE in set(csv_cells(vendor, "PIRTEY_KESHER")["MISPAR_NAYAD"])
    assert "'" + PHONE in set(csv_cells(people, "PIRTEY_KESHER")["MISPAR_NAYAD"])
    assert PHONE in {r.get("MISPAR_NAYAD") for r in sheet_rows(book, "PIRTEY_KESHER")}


def test_the_workbook_holds_every_value_exactly_as_text_in_right_to_left_sheets(hostile):
    vendor, _, book = hostile
    for table in export.EXPORT_TABLES:
        expected = csv_cells(vendor, table)
        rows = sheet_rows(book, table)
        assert len(rows) == expected.height, table
        for want, got in zip(expected.iter_rows(named=True), rows):
            assert {k: v for k, v in want.items() if v is not None} == got, table


def test_leading_zeros_are_kept_in_both_csv_variants_and_in_the_workbook(hostile):
    vendor, people, book = hostile
    zeros = {i for i in csv_cells(vendor, "TALMIDIM")["MISPAR_ZEHUT"] if i.startswith("0")}
    assert zeros
    assert zeros <= set(csv_cells(people, "TALMIDIM")["MISPAR_ZEHUT"])
    assert zeros <= {r["MISPAR_ZEHUT"] for r in sheet_rows(book, "TALMIDIM")}
    codes = {c for c in csv_cells(vendor, "PIRTEY_KESHER")["KIDOMET_NAYAD"] if c}
    assert codes and all(c.startswith("05") for c in codes)
    assert codes <= {r.get("KIDOMET_NAYAD") for r in sheet_rows(book, "PIRTEY_KESHER")}


def test_the_peoples_manifest_names_the_rule_and_hashes_the_neutralised_files(hostile):
    import hashlib
    import json
    _, people, _ = hostile
    with zipfile.ZipFile(people) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["variant"] == "people" and "single quote" in manifest["neutralised"]
        for entry in manifest["files"]:
            assert hashlib.sha256(zf.read(entry["name"])).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("value, shown", [
    ("=1+1", "'=1+1"), ("+972501234567", "'+972501234567"), ("-5", "'-5"), ("@A1", "'@A1"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("a=b", "a=b"), ("0501234567", "0501234567"), ("", ""), (None, None), ("'=x", "'=x"),
])
def test_the_neutralisation_rule_cell_by_cell(value, shown):
    import duckdb
    frame = pl.DataFrame({"c": [value]}, schema={"c": pl.String})
    assert spreadsheet.neutralise(frame)["c"][0] == shown
    assert spreadsheet.neutralise_text(value) == shown
    (in_sql,), = duckdb.sql(f"SELECT {spreadsheet.neutralise_sql('c')} FROM frame").fetchall()
    assert in_sql == shown                        # the rule as the package files are written


def test_headers_that_look_like_formulas_are_neutralised_too():
    frame = pl.DataFrame({"=cmd": ["x"], "NAME": ["y"]})
    assert spreadsheet.neutralise(frame).columns == ["'=cmd", "NAME"]
    assert [spreadsheet.neutralise_text(c) for c in frame.columns] == ["'=cmd", "NAME"]


def _one_sheet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    spreadsheet.write_xlsx(out, [spreadsheet.Sheet("T", frame)], title="t", created=datetime(2026, 12, 1, 9, 0))
    return out.getvalue()


def test_xml_special_and_control_characters_survive_the_workbook(tmp_path):
    values = ["a&b<c>d", "tab\there", "line\nbreak", "bell\x07", "cr\rx", "literal _x0041_ stays", '"quoted"', "   "]
    path = tmp_path / "t.xlsx"
    path.write_bytes(_one_sheet(pl.DataFrame({"V": values})))
    assert [r["V"] for r in sheet_rows(path, "T")] == values


def test_the_same_tables_and_time_give_the_same_workbook_bytes():
    frame = pl.DataFrame({"A": ["1", None, "=x"], "B": ["0012", "x", None]})
    assert _one_sheet(frame) == _one_sheet(frame)


def test_a_cell_longer_than_a_spreadsheet_holds_is_refused_naming_table_row_and_field():
    frame = pl.DataFrame({"A": ["x", "y" * (spreadsheet.MAX_CELL_CHARS + 1)]})
    with pytest.raises(spreadsheet.SpreadsheetError, match="table T, row 2, field A"):
        _one_sheet(frame)


def test_a_table_longer_than_a_sheet_continues_on_a_second_sheet(monkeypatch, tmp_path):
    monkeypatch.setattr(spreadsheet, "MAX_SHEET_ROWS", 3)         # two data rows per sheet
    path = tmp_path / "t.xlsx"
    path.write_bytes(_one_sheet(pl.DataFrame({"A": ["1", "2", "3", "4", "5"]})))
    assert [r["A"] for r in sheet_rows(path, "T")] == ["1", "2"]
    assert [r["A"] for r in sheet_rows(path, "T_2")] == ["3", "4"]
    assert [r["A"] for r in sheet_rows(path, "T_3")] == ["5"]
