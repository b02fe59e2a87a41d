"""One small feed per fault kind: each must be reported with its exact code, line and field, the good
rows must still land, and per file accepted + rejected = read.

Tiny feeds reject a large share of a file for one bad row, so these tests raise reject_threshold to 1;
the threshold itself is tested in test_ingest.py.
"""
from __future__ import annotations

import duckdb
import pytest

from data import ingest
from data.snapshots import get_snapshot
from tests.fault_feeds import FEED_DATE, file_of, ident, replace_line, valid_feed, write_feed


@pytest.fixture
def lenient_home(mifkad_home):
    from common import config
    (mifkad_home / "mifkad.toml").write_text("reject_threshold = 1.0\n", encoding="utf-8")
    config._cached.cache_clear()
    return mifkad_home


def errors_and_warnings(result) -> set[tuple]:
    return {(i["prefix"], i["code"], i["line"], i["field"]) for i in result.report["issues"]}


def published_lines(prefix: str) -> list[int]:
    snap = get_snapshot(FEED_DATE)
    return sorted(r[0] for r in duckdb.sql(f"SELECT _line FROM read_parquet('{snap.feed(prefix)}')").fetchall())


def assert_counts_add_up(result) -> None:
    for prefix, f in result.report["files"].items():
        assert f["rows_accepted"] + f["rows_rejected"] == f["rows_read"], prefix


def row_with(prefix: str, **values) -> dict:
    from tests.fault_feeds import _row
    return _row(prefix, **values)


# Each case changes the valid feed's tables; `expected` is every issue the run must report.
def _set(prefix, index, **values):
    def change(t):
        t[prefix][index].update(values)
    return change


def _append(prefix, **values):
    def change(t):
        t[prefix].append(row_with(prefix, **values))
    return change


def _append_copy(prefix, index):
    def change(t):
        t[prefix].append(dict(t[prefix][index]))
    return change


def _two_active(t):
    t["TALMIDIM"][8].update(CODE_STATUS_RISHUM_TA="3", TAARICH_AZIVA="", SHICHVA="5", MAKBILA="1",
                            SHNAT_LIMUDIM="2027", TAARICH_HATCHALA="2025-09-01")


def _links_of_parent_104_broken(t):
    for row in t["GORMEY_KESHER"][6:8]:
        row["CODE_SUG_KIRVA_GOREM_KESHER"] = ""


CLASS = dict(SHNAT_LIMUDIM="2027", SEMEL_MOSAD="513001", MIN_TALMIDIM="10", MAX_TALMIDIM="30")
CASES = {
    "required_field_empty": (_set("TALMIDIM", 8, SHEM_MISHPACHA=""), {("TALMIDIM", "E201", 10, "SHEM_MISHPACHA")}),
    "not_a_whole_number": (_set("TALMIDIM", 8, CODE_SIBAT_AZIVA="x1"), {("TALMIDIM", "E202", 10, "CODE_SIBAT_AZIVA")}),
    "date_in_no_known_format": (_set("PIRTEY_KESHER", 0, TAARICH_IDKUN="2025/11/24"),
                                {("PIRTEY_KESHER", "E203", 2, "TAARICH_IDKUN")}),
    "impossible_date": (_set("TALMIDIM", 8, TAARICH_AZIVA="31/02/2015"), {("TALMIDIM", "E204", 10, "TAARICH_AZIVA")}),
    "impossible_iso_date": (_set("PIRTEY_KESHER", 1, TAARICH_IDKUN="2025-02-29"),
                            {("PIRTEY_KESHER", "E204", 3, "TAARICH_IDKUN")}),
    "birth_date_in_the_future": (_set("TALMIDIM", 8, TAARICH_LEDA="2027-01-01"), {("TALMIDIM", "E205", 10, "TAARICH_LEDA")}),
    "year_not_four_digits": (_set("TALMIDIM", 8, SHNAT_LIMUDIM="26"), {("TALMIDIM", "E206", 10, "SHNAT_LIMUDIM")}),
    "identity_check_digit": (_set("PIRTEY_KESHER", 4, MISPAR_ZEHUT="039337422"),
                             {("PIRTEY_KESHER", "E301", 6, "MISPAR_ZEHUT")}),
    "identity_wrong_length": (_set("PIRTEY_KESHER", 4, MISPAR_ZEHUT="39337423"),
                              {("PIRTEY_KESHER", "E302", 6, "MISPAR_ZEHUT")}),
    "identity_all_zeros": (_set("PIRTEY_KESHER", 4, MISPAR_ZEHUT="000000000"),
                           {("PIRTEY_KESHER", "E303", 6, "MISPAR_ZEHUT")}),
    "passport_number_malformed": (_set("PIRTEY_KESHER", 4, SUG_ZEHUT="2", MISPAR_ZEHUT="AB-12"),
                                  {("PIRTEY_KESHER", "E304", 6, "MISPAR_ZEHUT")}),
    "duplicate_contact_details": (_append_copy("PIRTEY_KESHER", 0), {("PIRTEY_KESHER", "E401", 7, "MISPAR_ZEHUT")}),
    "two_active_placements": (_two_active, {("TALMIDIM", "E402", 10, "CODE_STATUS_RISHUM_TA")}),
    "contact_names_conflict": (_set("GORMEY_KESHER", 1, SHEM_PRATI_GOREM_KESHER="משהה"),
                               {("GORMEY_KESHER", "E403", 3, "SHEM_PRATI_GOREM_KESHER")}),
    "class_repeated": (_append("KITOT", ID_KITA="100004", SHICHVA="2", MAKBILA="1", **CLASS),
                       {("KITOT", "E404", 5, "MAKBILA")}),
    "class_of_unknown_institution": (_append("KITOT", ID_KITA="100005", SHICHVA="2", MAKBILA="1",
                                             **dict(CLASS, SEMEL_MOSAD="999999")),
                                     {("KITOT", "E501", 5, "SEMEL_MOSAD")}),
    "active_placement_without_class": (_set("TALMIDIM", 7, MAKBILA="3"),
                                       {("TALMIDIM", "E502", 9, "SHICHVA"),
                                        ("GORMEY_KESHER", "E506", 11, "MISPAR_ZEHUT_TALMID")}),
    "track_not_offered": (_set("TALMIDIM", 4, SEMEL_MEGAMA_MOSAD="9999"),
                          {("TALMIDIM", "E503", 6, "SEMEL_MEGAMA_MOSAD"),
                           ("GORMEY_KESHER", "E506", 8, "MISPAR_ZEHUT_TALMID")}),
    "residence_locality_unknown": (_set("TALMIDIM", 8, SEMEL_YISHUV_TAL="9999"),
                                   {("TALMIDIM", "E504", 10, "SEMEL_YISHUV_TAL")}),
    "institution_locality_unknown": (_append("MOSDOT", SHNAT_LIMUDIM="2027", SEMEL_MOSAD="513099", SHEM_MOSAD="חדש",
                                             SEMEL_YISHUV="9999"),
                                     {("MOSDOT", "E504", 4, "SEMEL_YISHUV")}),
    "link_to_unknown_student": (_append("GORMEY_KESHER", SUG_ZEHUT_TALMID="1", MISPAR_ZEHUT_TALMID=ident(99),
                                        SUG_ZEHUT_GOREM_KESHER="1", MISPAR_ZEHUT_GOREM_KESHER=ident(101),
                                        SHEM_PRATI_GOREM_KESHER="משה", SHEM_MISHPACHA_GOREM_KESHER="כהן",
                                        CODE_SUG_KIRVA_GOREM_KESHER="1"),
                                {("GORMEY_KESHER", "E505", 12, "MISPAR_ZEHUT_TALMID")}),
    "contact_in_no_link": (_append("PIRTEY_KESHER", SUG_ZEHUT="1", MISPAR_ZEHUT=ident(120)),
                           {("PIRTEY_KESHER", "E507", 7, "MISPAR_ZEHUT")}),
    "contact_whose_links_were_rejected": (_links_of_parent_104_broken,
                                          {("GORMEY_KESHER", "E201", 8, "CODE_SUG_KIRVA_GOREM_KESHER"),
                                           ("GORMEY_KESHER", "E201", 9, "CODE_SUG_KIRVA_GOREM_KESHER"),
                                           ("PIRTEY_KESHER", "E508", 5, "MISPAR_ZEHUT")}),
    "grade_outside_approved_range": (_append("KITOT", ID_KITA="100006", SHICHVA="8", MAKBILA="1", **CLASS),
                                     {("KITOT", "E601", 5, "SHICHVA")}),
    "minimum_above_maximum": (_append("KITOT", ID_KITA="100007", SHICHVA="3", MAKBILA="1",
                                      **dict(CLASS, MIN_TALMIDIM="30", MAX_TALMIDIM="20")),
                              {("KITOT", "E602", 5, "MIN_TALMIDIM")}),
    "grade_beyond_14": (_append("KITOT", ID_KITA="100008", SHICHVA="15", MAKBILA="1", **CLASS),
                        {("KITOT", "E603", 5, "SHICHVA")}),
    "parallel_zero": (_append("KITOT", ID_KITA="100009", SHICHVA="3", MAKBILA="0", **CLASS),
                      {("KITOT", "E604", 5, "MAKBILA")}),
    "approved_range_reversed": (_append("MOSDOT", SHNAT_LIMUDIM="2027", SEMEL_MOSAD="513098", SHEM_MOSAD="הפוך",
                                        SEMEL_YISHUV="5000", ME_SHICHVA_MEUSHAR="9", AD_SHICHVA_MEUSHAR="7"),
                                {("MOSDOT", "E605", 4, "ME_SHICHVA_MEUSHAR")}),
    "duplicate_institution": (_append_copy("MOSDOT", 1), {("MOSDOT", "E401", 4, "SEMEL_MOSAD")}),
    "age_outside_3_to_25_is_a_warning": (_set("TALMIDIM", 8, TAARICH_LEDA="1990-01-01"),
                                         {("TALMIDIM", "W701", 10, "TAARICH_LEDA")}),
    "unknown_code_is_a_warning": (_set("TALMIDIM", 0, CODE_MIN="7"), {("TALMIDIM", "W702", 2, "CODE_MIN")}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_value_fault_is_reported_at_its_line_and_field_and_good_rows_land(name, lenient_home, tmp_path):
    change, expected = CASES[name]
    tables = valid_feed()
    change(tables)
    result = ingest.ingest(write_feed(tmp_path / "feed", tables), FEED_DATE)
    assert result.exit_code == 0, result.report.get("refusal")
    assert errors_and_warnings(result) == expected
    assert_counts_add_up(result)
    for prefix, code, line, _field in expected:
        f = result.report["files"][prefix]
        lines = published_lines(prefix)
        if code.startswith("W"):
            assert line in lines                           # a warning keeps the row
        else:
            assert line not in lines
        assert len(lines) == f["rows_accepted"]
    # Files without issues land whole.
    for prefix, f in result.report["files"].items():
        if prefix not in {e[0] for e in expected}:
            assert f["rows_rejected"] == 0 and len(published_lines(prefix)) == f["rows_read"]


def _write_and_damage(tmp_path, line: int, new: bytes, prefix: str = "PIRTEY_KESHER"):
    folder = write_feed(tmp_path / "feed")
    old = replace_line(folder, prefix, line, new)
    return folder, old


def _good_line(old: bytes) -> bytes:
    return old


DAMAGE = {
    # name: (function of the original line 3 bytes -> damaged bytes, code)
    "wrong_number_of_fields": (lambda old: old.rsplit(b",", 1)[0], "E101"),
    "unterminated_quote": (lambda old: old.replace("ויצמן".encode(), '"ויצמן'.encode()), "E102"),
    "stray_quote_inside_field": (lambda old: old.replace("ויצמן".encode(), 'ויצ"מן'.encode()), "E103"),
    "nul_byte": (lambda old: old.replace(b"052", b"0\x0052"), "E104"),
    "line_over_one_megabyte": (lambda old: old.replace(b"@example.org", b"@" + b"x" * (1024 * 1024) + b".org"), "E105"),
    "lone_carriage_return": (lambda old: old.replace(b"052", b"0\r52"), "E106"),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_each_damaged_row_is_rejected_alone_and_kept_byte_for_byte(name, lenient_home, tmp_path):
    damage, code = DAMAGE[name]
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "PIRTEY_KESHER")
    original = path.read_bytes().split(b"\n")[2]
    damaged = damage(original)
    assert damaged != original
    replace_line(folder, "PIRTEY_KESHER", 3, damaged)
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 0, result.report.get("refusal")
    assert errors_and_warnings(result) == {("PIRTEY_KESHER", code, 3, None)}
    # An editor breaks the line at a lone CR too, so the lines after it are one further down.
    assert published_lines("PIRTEY_KESHER") == ([2, 5, 6, 7] if code == "E106" else [2, 4, 5, 6])
    assert_counts_add_up(result)
    rejected = (get_snapshot(FEED_DATE).path / "rejected" / path.name).read_bytes().split(b"\n")
    assert rejected[1] == damaged


def _person_with_links(tables, prefix: str, key: tuple[str, str], links: str, link_key: tuple[str, str]):
    """(lines of every record of the first person in `prefix` who has links in `links`, their links' lines)."""
    rows = tables[prefix]
    for row in rows:
        person = tuple(row[k] for k in key)
        linked = [j + 2 for j, r in enumerate(tables[links]) if tuple(r[k] for k in link_key) == person]
        if linked:
            return [i + 2 for i, r in enumerate(rows) if tuple(r[k] for k in key) == person], linked
    raise AssertionError(f"the valid feed has no {prefix} record with links")


@pytest.mark.parametrize("damage, code", [(lambda old: old.rsplit(b",", 1)[0], "E101"),
                                          (lambda old: old.replace(b",", b',"', 1), "E102")])
@pytest.mark.parametrize("prefix, key, links, link_key, field, link_code", [
    ("TALMIDIM", ("SUG_ZEHUT", "MISPAR_ZEHUT"), "GORMEY_KESHER", ("SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"),
     "MISPAR_ZEHUT_TALMID", "E506"),
    ("GORMEY_KESHER", ("SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER"), "PIRTEY_KESHER",
     ("SUG_ZEHUT", "MISPAR_ZEHUT"), "MISPAR_ZEHUT", "E508")])
def test_what_refers_to_a_damaged_record_says_that_record_was_rejected(
        lenient_home, tmp_path, damage, code, prefix, key, links, link_key, field, link_code):
    tables = valid_feed()
    lines, linked = _person_with_links(tables, prefix, key, links, link_key)
    folder = write_feed(tmp_path / "feed", tables)
    for line in lines:                      # every record of the person damaged
        original = file_of(folder, prefix).read_bytes().split(b"\n")[line - 1]
        replace_line(folder, prefix, line, damage(original))
    result = ingest.ingest(folder, FEED_DATE)
    found = errors_and_warnings(result)
    assert {(prefix, code, line, None) for line in lines} <= found
    # not "not in the file" (E505/E507): the person is there, in damaged and rejected records
    assert {(links, link_code, n, field) for n in linked} <= found
    assert not {i for i in found if i[0] == links and i[1] in ("E505", "E507")}
    assert_counts_add_up(result)


def test_wrong_field_count_reports_found_and_expected(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    replace_line(folder, "PIRTEY_KESHER", 4, b"1,2,3")
    result = ingest.ingest(folder, FEED_DATE)
    issue = next(i for i in result.report["issues"] if i["code"] == "E101")
    assert (issue["line"], issue["value"], issue["ref"]) == (4, "3", "16")
    assert "found 3, expected 16" in issue["message_en"]
    assert "נמצאו 3" in issue["message_he"]


def test_an_empty_line_is_skipped_with_a_warning(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "PIRTEY_KESHER")
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:3] + [b""] + lines[3:]))
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 0
    assert errors_and_warnings(result) == {("PIRTEY_KESHER", "W705", 4, None)}
    assert published_lines("PIRTEY_KESHER") == [2, 3, 5, 6, 7]
    assert result.report["files"]["PIRTEY_KESHER"]["rows_read"] == 5


def test_a_quoted_line_break_reports_the_line_the_record_starts_on(lenient_home, tmp_path):
    tables = valid_feed()
    tables["MOSDOT"][0]["KTOVET_MOSAD"] = "אלנבי 1\nקומה 2"          # line 2 spans lines 2-3
    tables["MOSDOT"].append(row_with("MOSDOT", SHNAT_LIMUDIM="2027", SEMEL_MOSAD="513098", SHEM_MOSAD="הפוך",
                                     SEMEL_YISHUV="5000", ME_SHICHVA_MEUSHAR="9", AD_SHICHVA_MEUSHAR="7"))
    result = ingest.ingest(write_feed(tmp_path / "feed", tables), FEED_DATE)
    assert errors_and_warnings(result) == {("MOSDOT", "E605", 5, "ME_SHICHVA_MEUSHAR")}
    assert published_lines("MOSDOT") == [2, 4]
    snap = get_snapshot(FEED_DATE)
    address = duckdb.sql(f"SELECT KTOVET_MOSAD FROM read_parquet('{snap.feed('MOSDOT')}') WHERE _line = 2").fetchall()
    assert address == [("אלנבי 1\nקומה 2",)]


def test_a_quote_left_open_spoils_only_its_own_line(lenient_home, tmp_path):
    """An unterminated quote would swallow the rest of the file; reading resumes on the next line."""
    tables = valid_feed()
    tables["MOSDOT"][0]["KTOVET_MOSAD"] = 'כתובת עם "מרכאות"'     # quoted properly by the writer
    folder = write_feed(tmp_path / "feed", tables)
    path = file_of(folder, "TALMIDIM")
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace("אורי".encode(), '"אורי'.encode())    # line 4 opens a quote, never closes
    path.write_bytes(b"\n".join(lines))
    result = ingest.ingest(folder, FEED_DATE)
    assert ("TALMIDIM", "E102", 4, None) in errors_and_warnings(result)
    assert published_lines("TALMIDIM") == [2, 3, 5, 6, 7, 8, 9, 10]
    assert published_lines("MOSDOT") == [2, 3]


def test_a_header_only_file_is_a_warning_and_the_feed_still_publishes(lenient_home, tmp_path):
    tables = valid_feed()
    tables["MEGAMOT"] = []
    for row in tables["TALMIDIM"]:
        row["SEMEL_MEGAMA_MOSAD"] = ""
    result = ingest.ingest(write_feed(tmp_path / "feed", tables), FEED_DATE)
    assert result.exit_code == 0
    assert errors_and_warnings(result) == {("MEGAMOT", "W703", 1, None)}
    assert result.report["files"]["MEGAMOT"]["rows_read"] == 0
    assert published_lines("MEGAMOT") == []


def test_an_unknown_column_is_kept_in_the_snapshot_with_a_warning(lenient_home, tmp_path):
    result = ingest.ingest(write_feed(tmp_path / "feed", extra={"TALMIDIM": "HEARA"}), FEED_DATE)
    assert errors_and_warnings(result) == {("TALMIDIM", "W704", 1, "HEARA")}
    snap = get_snapshot(FEED_DATE)
    rows = duckdb.sql(f"SELECT _line, HEARA FROM read_parquet('{snap.feed('TALMIDIM')}') ORDER BY _line").fetchall()
    assert rows[:2] == [(2, "x2"), (3, "x3")]


# -- the feed as a whole: refused, nothing published, the previous snapshot stays -----------------

def _publish_previous(tmp_path) -> str:
    assert ingest.ingest(write_feed(tmp_path / "prev", date="2026-11-30"), "2026-11-30").exit_code == 0
    return get_snapshot("2026-11-30").token


def _refusal_codes(result) -> set[tuple]:
    return {(r["code"], r["prefix"], r.get("field")) for r in result.report["refusal"]}


def test_a_missing_file_refuses_the_feed_and_keeps_the_previous_snapshot(lenient_home, tmp_path):
    token = _publish_previous(tmp_path)
    folder = write_feed(tmp_path / "feed")
    file_of(folder, "KITOT").unlink()
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 2
    assert _refusal_codes(result) == {("E001", "KITOT", None)}
    assert get_snapshot(FEED_DATE) is None
    assert get_snapshot("2026-11-30").token == token
    assert result.report_path.exists() and "ingest-reports" in str(result.report_path)


def test_two_files_for_one_prefix_refuse_the_feed(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    (folder / "MOSDOT_AM_2027_5000_2026-12-01-04-00-00_from_moe.csv").write_bytes(file_of(folder, "MOSDOT").read_bytes())
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 2 and _refusal_codes(result) == {("E002", "MOSDOT", None)}


def test_a_ministry_style_file_name_is_found(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "TALMIDIM")
    path.rename(folder / "TALMIDIM_AM_2027_5000_2026-12-03-04-00-00_from_moe.csv")
    assert ingest.ingest(folder, FEED_DATE).exit_code == 0


def test_a_missing_required_column_refuses_the_feed(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "TALMIDIM")
    path.write_bytes(path.read_bytes().replace(b"TAARICH_LEDA", b"TAARICH_LIDA", 1))
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 2
    assert _refusal_codes(result) == {("E004", "TALMIDIM", "TAARICH_LEDA")}
    assert "TAARICH_LEDA" in result.report["refusal"][0]["message_en"]
    assert get_snapshot(FEED_DATE) is None


def test_a_column_named_twice_refuses_the_feed(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "MOSDOT")
    path.write_bytes(path.read_bytes().replace(b"MUTAV", b"shem_mosad ", 1))
    result = ingest.ingest(folder, FEED_DATE)
    assert _refusal_codes(result) == {("E005", "MOSDOT", "SHEM_MOSAD")}


def test_an_empty_file_refuses_the_feed(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    file_of(folder, "RASHUYOT").write_bytes(b"")
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 2 and _refusal_codes(result) == {("E006", "RASHUYOT", None)}


def test_a_file_in_neither_encoding_is_refused_with_the_offset_of_the_bad_byte(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "RASHUYOT")
    data = path.read_bytes()
    header_len = data.index(b"\n") + 1
    # 0x81 is undefined in Windows-1255 and cannot start a UTF-8 character.
    path.write_bytes(data[:header_len] + b"5000,\x81" + data[header_len + 5:])
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 2
    refusal = result.report["refusal"][0]
    assert (refusal["code"], refusal["ref"]) == ("E003", str(header_len + 5))
    assert str(header_len + 5) in refusal["message_en"] and str(header_len + 5) in refusal["message_he"]


def test_a_damaged_utf8_file_is_not_mistaken_for_windows_1255(lenient_home, tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "RASHUYOT")
    data = path.read_bytes()
    bad_at = len(data) - 3
    path.write_bytes(data[:bad_at] + b"\xff" + data[bad_at + 1:])
    result = ingest.ingest(folder, FEED_DATE)
    refusal = result.report["refusal"][0]
    assert (refusal["code"], refusal["ref"]) == ("E008", str(bad_at))


@pytest.fixture
def small_first_chunk(monkeypatch):
    """The reader presumes UTF-8 from a file's first chunk: make that chunk a few bytes, so that a
    small file's bad byte lies beyond it, as it does in a large file."""
    from data.ingest import read
    monkeypatch.setattr(read, "DECODE_CHUNK", 64)


@pytest.mark.parametrize("where", ["good_record", "damaged_record"])
def test_a_bad_byte_beyond_the_first_chunk_still_refuses_the_file_at_its_offset(
        lenient_home, tmp_path, small_first_chunk, where):
    folder = write_feed(tmp_path / "feed")
    path = file_of(folder, "TALMIDIM")
    lines = path.read_bytes().split(b"\n")
    if where == "damaged_record":          # a record the CSV reader never sees: one field short
        lines[5] = lines[5].rsplit(b",", 1)[0]
    lines[5] = lines[5].replace("ויצמן".encode(), b"\xff") if "ויצמן".encode() in lines[5] else lines[5] + b"\xff"
    data = b"\n".join(lines)
    path.write_bytes(data)
    assert data.index(b"\xff") > 64
    result = ingest.ingest(folder, FEED_DATE)
    assert result.exit_code == 2
    refusal = result.report["refusal"][0]
    assert (refusal["code"], refusal["ref"]) == ("E008", str(data.index(b"\xff")))


def test_a_windows_1255_file_whose_first_chunk_is_ascii_is_read_as_windows_1255(lenient_home, tmp_path,
                                                                                small_first_chunk):
    result = ingest.ingest(write_feed(tmp_path / "feed", encoding="cp1255"), FEED_DATE)
    assert result.exit_code == 0, result.report.get("refusal")
    assert result.report["files"]["TALMIDIM"]["encoding"] == "cp1255" and result.report["issues_total"] == 0
    snap = get_snapshot(FEED_DATE)
    names = {r[0] for r in duckdb.sql(f"SELECT SHEM_PRATI FROM read_parquet('{snap.feed('TALMIDIM')}')").fetchall()}
    assert "יעל" in names
