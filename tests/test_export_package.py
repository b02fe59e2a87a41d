"""The weekly export package holds exactly the spec's scope rule, in the spec's format.

The expected rows are computed here, independently, from the feed's own CSV files with polars (not
through queries/derive.sql), and compared with the package identity by identity and row by row."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from data import export
from data.approvals import approve
from data.snapshots import EXPORT_TABLES

DATE = "2026-12-01"
AUTHORITIES = ("5000", "2610", "1015", "472", "10026")   # every authority of the generator's built-in world
KEYS = {"TALMIDIM": ["SUG_ZEHUT", "MISPAR_ZEHUT"], "GORMEY_KESHER": ["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID",
        "SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER"], "PIRTEY_KESHER": ["SUG_ZEHUT", "MISPAR_ZEHUT"],
        "MOSDOT": ["SEMEL_MOSAD"], "KITOT": ["ID_KITA"], "MEGAMOT": ["ID_MEGAMA"]}


# ------------------------------------------------------------ the scope rule, from the feed itself

def read_feed(folder: Path, prefix: str) -> pl.DataFrame:
    """A feed file as received: every field text, empty cells missing, dates written as ISO."""
    path = next(folder.glob(f"{prefix}_*.csv"))
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else _decode(raw)
    frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    iso = [pl.when(pl.col(c).str.contains(r"^\d{2}/\d{2}/\d{4}$"))
           .then(pl.col(c).str.replace(r"^(\d{2})/(\d{2})/(\d{4})$", "$3-$2-$1")).otherwise(pl.col(c)).alias(c)
           for c in frame.columns if c.startswith("TAARICH")]
    return frame.with_columns(iso) if iso else frame


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1255")


def expected_package(feed: Path, authority: str) -> dict[str, pl.DataFrame]:
    """The spec's scope rule for authority A, step by step."""
    rashuyot, mosdot = read_feed(feed, "RASHUYOT"), read_feed(feed, "MOSDOT")
    talmidim = read_feed(feed, "TALMIDIM").with_row_index("_line")
    localities = set(rashuyot.filter(pl.col("SEMEL_RASHUT") == authority)["SEMEL_YISHUV"])           # 1
    institutions = set(mosdot.filter(pl.col("SEMEL_YISHUV").is_in(localities))["SEMEL_MOSAD"])       # 2
    active = (pl.col("CODE_STATUS_RISHUM_TA") == "3") & pl.col("TAARICH_AZIVA").is_null()
    # Residence: the most recently updated row (ties: the active row, then the later line), and the
    # compulsory age taken from that row: born from Y-22 to Y-7, Y = SHNAT_LIMUDIM.
    latest = (talmidim.with_columns(active.alias("_active"))
              .sort(["TAARICH_IDKUN_RESHUMA", "_active", "_line"], descending=True, nulls_last=True)
              .group_by(["SUG_ZEHUT", "MISPAR_ZEHUT"], maintain_order=True).first())
    born = pl.col("TAARICH_LEDA").str.slice(0, 4).cast(pl.Int32, strict=False)
    year = pl.col("SHNAT_LIMUDIM").cast(pl.Int32, strict=False)
    compulsory = latest.filter(born.is_between(year - 22, year - 7))
    ids = lambda df: set(zip(df["SUG_ZEHUT"], df["MISPAR_ZEHUT"]))
    residents = ids(compulsory.filter(pl.col("SEMEL_YISHUV_TAL").is_in(localities)))
    placed = ids(talmidim.filter(active & pl.col("SEMEL_MOSAD").is_in(institutions)))
    students = (residents | placed) & ids(compulsory)                                                 # 3
    gormey = read_feed(feed, "GORMEY_KESHER")
    links = gormey.filter(pl.Series([k in students for k in zip(gormey["SUG_ZEHUT_TALMID"],
                                                                 gormey["MISPAR_ZEHUT_TALMID"])]))
    contacts = set(zip(links["SUG_ZEHUT_GOREM_KESHER"], links["MISPAR_ZEHUT_GOREM_KESHER"]))
    pirtey = read_feed(feed, "PIRTEY_KESHER")
    return {                                                                                          # 4
        "TALMIDIM": talmidim.filter(pl.Series([k in students for k in zip(talmidim["SUG_ZEHUT"],
                                                                           talmidim["MISPAR_ZEHUT"])])).drop("_line"),
        "GORMEY_KESHER": links,
        "PIRTEY_KESHER": pirtey.filter(pl.Series([k in contacts for k in zip(pirtey["SUG_ZEHUT"],
                                                                              pirtey["MISPAR_ZEHUT"])])),
        "MOSDOT": mosdot.filter(pl.col("SEMEL_MOSAD").is_in(institutions)),
        "KITOT": read_feed(feed, "KITOT").filter(pl.col("SEMEL_MOSAD").is_in(institutions)),
        "MEGAMOT": read_feed(feed, "MEGAMOT").filter(pl.col("SEMEL_MOSAD").is_in(institutions)),
    }


# ------------------------------------------------------------------------------ reading a package

def read_package(path: Path) -> tuple[dict[str, pl.DataFrame], dict, dict[str, bytes]]:
    """(tables, manifest, raw file bytes) of a package zip; every field read as text."""
    with zipfile.ZipFile(path) as zf:
        raw = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(raw["manifest.json"])
    tables = {}
    for entry in manifest["files"]:
        data = raw[entry["name"]]
        assert data.startswith(b"\xef\xbb\xbf"), f"{entry['name']} has no byte-order mark"
        tables[entry["table"]] = pl.read_csv(io.BytesIO(data[3:]), infer_schema=False)
    return tables, manifest, raw


def as_rows(frame: pl.DataFrame, columns: list[str]) -> list[tuple]:
    return sorted(frame.select(columns).rows(), key=lambda r: tuple("" if v is None else v for v in r))


@pytest.fixture
def approved(export_records):
    approve(DATE, by="admin@education.gov.il", note="week 48")
    return export_records


def build(tmp_path: Path, authority: str, **kw) -> Path:
    return export.export(authority, DATE, tmp_path / "out", **kw)[0]


# -------------------------------------------------------------------------------------------- tests

@pytest.mark.parametrize("authority", AUTHORITIES)
def test_every_authority_package_holds_exactly_the_rows_of_the_scope_rule(approved, small_feed, tmp_path, authority):
    tables, _, _ = read_package(build(tmp_path, authority))
    expected = expected_package(small_feed, authority)
    for table in EXPORT_TABLES:
        got, want = tables[table], expected[table]
        assert set(got.columns) == set(want.columns), table
        # identity by identity (or key by key), then every row with every field exactly as received
        assert set(got.select(KEYS[table]).rows()) == set(want.select(KEYS[table]).rows()), table
        assert as_rows(got, want.columns) == as_rows(want, want.columns), table
    assert tables["TALMIDIM"].height > 0 and tables["MOSDOT"].height > 0


def test_students_living_in_one_authority_and_placed_in_another_are_in_both_packages(approved, small_feed, tmp_path):
    ids = {}
    for authority in AUTHORITIES:
        tables, _, _ = read_package(build(tmp_path / authority, authority))
        ids[authority] = set(tables["TALMIDIM"].select("SUG_ZEHUT", "MISPAR_ZEHUT").rows())
    shared = [(a, b) for a in AUTHORITIES for b in AUTHORITIES if a < b and ids[a] & ids[b]]
    assert shared, "the feed plants students who cross authority lines; some must be in two packages"


def test_package_files_have_the_spec_names_a_bom_the_feed_header_and_crlf_lines(approved, small_feed, tmp_path):
    path = build(tmp_path, "5000")
    assert path.name == "MIFKAD_5000_2026-12-01.zip"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names == [f"{t}_5000_{DATE}.csv" for t in EXPORT_TABLES] + ["manifest.json"]
        for table in EXPORT_TABLES:
            data = zf.read(f"{table}_5000_{DATE}.csv")
            header = data[3:].split(b"\r\n", 1)[0].decode("utf-8")
            assert data[:3] == b"\xef\xbb\xbf"
            assert header.split(",") == read_feed(small_feed, table).columns     # incl. unknown extra columns
            assert b"\r\n" in data and data.endswith(b"\r\n")
    assert {"LATITUDE", "LONGITUDE"} <= set(read_feed(small_feed, "MOSDOT").columns)


def test_identity_numbers_and_codes_keep_their_leading_zeros(approved, small_feed, tmp_path):
    tables, _, raw = read_package(build(tmp_path, "5000"))
    zeros = [i for i in tables["TALMIDIM"]["MISPAR_ZEHUT"] if i.startswith("0")]
    assert zeros, "the generator writes nine-digit numbers, some with leading zeros"
    csv_text = raw[f"TALMIDIM_5000_{DATE}.csv"].decode("utf-8-sig")
    for number in zeros[:20]:
        assert f",{number}," in csv_text
    assert set(zeros) <= set(read_feed(small_feed, "TALMIDIM")["MISPAR_ZEHUT"])


def test_manifest_holds_the_approval_counts_and_checksums_of_the_files(approved, tmp_path):
    import hashlib
    from data.approvals import get_approval
    tables, manifest, raw = read_package(build(tmp_path, "10026"))
    approval = get_approval(DATE)
    assert manifest["authority"] == "10026" and manifest["snapshot"] == DATE and manifest["draft"] is False
    assert manifest["approval"] == {"by": "admin@education.gov.il", "at": approval.approved_at, "note": "week 48"}
    assert manifest["generated_at"] == approval.approved_at
    assert manifest["schema_version"] == export.SCHEMA_VERSION and manifest["variant"] == "vendor"
    for entry in manifest["files"]:
        assert entry["sha256"] == hashlib.sha256(raw[entry["name"]]).hexdigest()
        assert entry["bytes"] == len(raw[entry["name"]])
        assert entry["rows"] == tables[entry["table"]].height


def test_rebuilding_the_same_approval_gives_byte_identical_packages(approved, tmp_path):
    for variant in export.VARIANTS:
        first = build(tmp_path / "a", "5000", variant=variant, xlsx=True)
        second = build(tmp_path / "b", "5000", variant=variant, xlsx=True)
        assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a" / "out" / "MIFKAD_5000_2026-12-01.xlsx").read_bytes() == \
           (tmp_path / "b" / "out" / "MIFKAD_5000_2026-12-01.xlsx").read_bytes()


def test_the_cli_refuses_an_unapproved_snapshot_unless_asked_for_a_draft(export_records, tmp_path, capsys):
    out = tmp_path / "out"
    assert export.main(["--authority", "5000", "--snapshot", DATE, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not approved" in err and "--draft" in err
    assert not out.exists() or not list(out.iterdir())


def test_a_draft_says_so_in_its_manifest_and_file_names(export_records, tmp_path, capsys):
    assert export.main(["--authority", "5000", "--snapshot", DATE, "--out", str(tmp_path), "--draft"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == tmp_path / "MIFKAD_5000_2026-12-01_DRAFT.zip"
    tables, manifest, raw = read_package(printed)
    assert manifest["draft"] is True and manifest["approval"] is None and "DRAFT" in manifest["package"]
    assert all(name.endswith("_DRAFT.csv") for name in raw if name != "manifest.json")


def test_an_unknown_authority_or_snapshot_is_refused_with_a_clear_error(approved, tmp_path, capsys):
    assert export.main(["--authority", "99999", "--snapshot", DATE, "--out", str(tmp_path)]) == 2
    assert "authority 99999" in capsys.readouterr().err
    assert export.main(["--authority", "5000", "--snapshot", "2020-01-01", "--out", str(tmp_path)]) == 2
    assert "no published snapshot dated 2020-01-01" in capsys.readouterr().err


@pytest.fixture(scope="module")
def reference_feed_store(tmp_path_factory):
    """A feed generated from the real public reference data (localities, authorities, schools), and
    its ingested snapshot: (feed folder, snapshot content)."""
    from common.config import settings
    from data import generate, ingest
    from data.snapshots import get_snapshot
    from tests.conftest import _reset_process_caches
    reference = settings().reference_dir
    if not (reference / "cbs_localities_2021.csv").exists():
        pytest.skip(f"the public reference data is not beside the checkout ({reference})")
    feed = tmp_path_factory.mktemp("reference-feed") / "feed"
    assert generate.main(["--out", str(feed), "--reference", str(reference), "--students", "6000",
                          "--date", DATE, "--seed", "11"]) == 0
    home = tmp_path_factory.mktemp("reference-home") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIFKAD_HOME", str(home))
        _reset_process_caches()
        assert ingest.main([str(feed), "--date", DATE]) == 0
        content = get_snapshot(DATE).path
    _reset_process_caches()
    return feed, content


def test_packages_of_real_authorities_hold_exactly_the_scope_rule(mifkad_home, reference_feed_store, tmp_path):
    feed, content = reference_feed_store
    (mifkad_home / "snapshots").mkdir()
    (mifkad_home / "snapshots" / DATE).symlink_to(content)
    approve(DATE, by="admin@education.gov.il")
    rashuyot = read_feed(feed, "RASHUYOT")
    talmidim = read_feed(feed, "TALMIDIM")
    by_size = (talmidim.join(rashuyot, left_on="SEMEL_YISHUV_TAL", right_on="SEMEL_YISHUV")
               .group_by("SEMEL_RASHUT").len().sort(["len", "SEMEL_RASHUT"], descending=True)["SEMEL_RASHUT"])
    regional = rashuyot.filter(pl.col("SUG_RASHUT") == "3")["SEMEL_RASHUT"].unique().sort()
    chosen = list(dict.fromkeys([*by_size[:4], *regional[:2], *by_size[-2:]]))
    assert len(chosen) >= 6
    for authority in chosen:
        tables, _, _ = read_package(build(tmp_path / authority, authority))
        expected = expected_package(feed, authority)
        for table in EXPORT_TABLES:
            got, want = tables[table], expected[table]
            assert set(got.select(KEYS[table]).rows()) == set(want.select(KEYS[table]).rows()), (authority, table)
            assert as_rows(got, want.columns) == as_rows(want, want.columns), (authority, table)
