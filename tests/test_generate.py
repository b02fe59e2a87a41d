"""The feed generator: format, validity, determinism and the data problems it plants on purpose."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from data import generate, idnumber
from data.feed_schema import TABLES
from data.generator_feed import school_year

REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "reference"


def load(feed: Path) -> dict[str, pl.DataFrame]:
    """Every file of a feed, every value as text (as ingest reads them)."""
    out = {}
    for prefix in generate.PREFIXES:
        files = sorted(feed.glob(f"{prefix}_*.csv"))
        files = [f for f in files if f.name[len(prefix) + 1].isdigit()]
        assert len(files) == 1, f"{prefix}: {files}"
        out[prefix] = pl.read_csv(files[0], infer_schema=False)
    return out


@pytest.fixture(scope="module")
def feed(small_feed) -> dict[str, pl.DataFrame]:
    return load(small_feed)


def active(t: pl.DataFrame) -> pl.DataFrame:
    return t.filter((pl.col("CODE_STATUS_RISHUM_TA") == "3") & pl.col("TAARICH_AZIVA").is_null())


def test_files_are_named_by_prefix_and_date_and_carry_every_spec_field(small_feed, feed):
    names = sorted(p.name for p in small_feed.iterdir())
    assert names == sorted(f"{p}_2026-12-01.csv" for p in generate.PREFIXES)
    for prefix, table in TABLES.items():
        assert set(table.names) <= set(feed[prefix].columns), prefix
        for name in table.required:
            assert feed[prefix][name].null_count() == 0, f"{prefix}.{name} has empty required values"
    assert {"LONGITUDE", "LATITUDE"} <= set(feed["MOSDOT"].columns)
    raw = (small_feed / "TALMIDIM_2026-12-01.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.decode("utf-8")


def test_school_year_is_the_one_containing_the_date(feed):
    assert school_year(dt.date(2026, 12, 1)) == 2027
    assert school_year(dt.date(2027, 3, 1)) == 2027
    assert school_year(dt.date(2026, 8, 31)) == 2026
    assert school_year(dt.date(2026, 9, 1)) == 2027
    for prefix in ("TALMIDIM", "MOSDOT", "KITOT", "MEGAMOT"):
        assert feed[prefix]["SHNAT_LIMUDIM"].unique().to_list() == ["2027"]


def test_identity_numbers_are_valid_and_each_belongs_to_one_person(feed):
    t, p = feed["TALMIDIM"], feed["PIRTEY_KESHER"]
    for df in (t, p):
        typed = df.filter(pl.col("SUG_ZEHUT") != "2")
        assert all(idnumber.is_valid(x) and len(x) == 9 for x in typed["MISPAR_ZEHUT"].to_list())
        assert set(df["SUG_ZEHUT"].unique()) <= {"1", "2", "3"}
    students = t.select("SUG_ZEHUT", "MISPAR_ZEHUT").unique()
    contacts = p.select("SUG_ZEHUT", "MISPAR_ZEHUT")
    assert contacts.is_unique().all()
    assert students.join(contacts, on=["SUG_ZEHUT", "MISPAR_ZEHUT"]).height == 0
    # One person, one name and birth date across their rows.
    per_student = t.group_by("SUG_ZEHUT", "MISPAR_ZEHUT").agg(pl.col("TAARICH_LEDA").n_unique().alias("n"))
    assert per_student["n"].max() == 1
    assert (t["SUG_ZEHUT"] == "1").mean() > 0.95


def test_every_reference_in_the_feed_resolves(feed):
    t, g, p, m, k, mg, r = (feed[x] for x in ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MOSDOT", "KITOT",
                                               "MEGAMOT", "RASHUYOT"))
    assert r["SEMEL_YISHUV"].is_unique().all() and m["SEMEL_MOSAD"].is_unique().all()
    assert k["ID_KITA"].is_unique().all() and mg["ID_MEGAMA"].is_unique().all()
    assert k.select("SEMEL_MOSAD", "SHICHVA", "MAKBILA").is_unique().all()
    assert mg.select("SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD").is_unique().all()
    localities = set(r["SEMEL_YISHUV"])
    assert set(m["SEMEL_YISHUV"]) <= localities
    assert set(t["SEMEL_YISHUV_TAL"]) <= localities
    assert set(p["SEMEL_YISHUV"].drop_nulls()) <= localities
    assert set(t["SEMEL_MOSAD"]) <= set(m["SEMEL_MOSAD"])
    assert set(k["SEMEL_MOSAD"]) <= set(m["SEMEL_MOSAD"]) and set(mg["SEMEL_MOSAD"]) <= set(m["SEMEL_MOSAD"])
    # Every placement with a class names an existing class, in a grade the institution is approved for.
    placed = t.filter(pl.col("MAKBILA").is_not_null())
    missing = placed.join(k, on=["SEMEL_MOSAD", "SHICHVA", "MAKBILA"], how="anti")
    assert missing.height == 0
    ranged = t.join(m, on="SEMEL_MOSAD").with_columns(pl.col("SHICHVA", "ME_SHICHVA_MEUSHAR", "AD_SHICHVA_MEUSHAR")
                                                      .cast(pl.Int64))
    assert ranged.filter((pl.col("SHICHVA") < pl.col("ME_SHICHVA_MEUSHAR")) |
                         (pl.col("SHICHVA") > pl.col("AD_SHICHVA_MEUSHAR"))).height == 0
    with_track = t.filter(pl.col("SEMEL_MEGAMA_MOSAD").is_not_null())
    assert with_track.height > 0
    assert with_track.join(mg, on=["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD", "SHICHVA"], how="anti").height == 0
    # Students in grades 10-12 with an active placement all have a track; younger ones none.
    act = active(t).with_columns(pl.col("SHICHVA").cast(pl.Int64))
    assert act.filter(pl.col("SHICHVA") >= 10)["SEMEL_MEGAMA_MOSAD"].null_count() == 0
    assert act.filter(pl.col("SHICHVA") < 10)["SEMEL_MEGAMA_MOSAD"].null_count() == act.filter(pl.col("SHICHVA") < 10).height
    # Links join students and contact persons that exist.
    students = t.select(pl.col("SUG_ZEHUT").alias("SUG_ZEHUT_TALMID"), pl.col("MISPAR_ZEHUT").alias("MISPAR_ZEHUT_TALMID")).unique()
    assert g.join(students, on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"], how="anti").height == 0
    assert students.join(g, on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"], how="anti").height == 0
    contacts = p.select(pl.col("SUG_ZEHUT").alias("SUG_ZEHUT_GOREM_KESHER"), pl.col("MISPAR_ZEHUT").alias("MISPAR_ZEHUT_GOREM_KESHER"))
    assert g.join(contacts, on=["SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER"], how="anti").height == 0
    assert g.select("SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID", "SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER").is_unique().all()
    # At most one active placement per student.
    assert active(t).select("SUG_ZEHUT", "MISPAR_ZEHUT").is_unique().all()


def test_birth_dates_fit_the_grade_and_the_compulsory_age(feed):
    t = active(feed["TALMIDIM"]).with_columns(
        born=pl.col("TAARICH_LEDA").str.to_date().dt.year(), grade=pl.col("SHICHVA").cast(pl.Int64))
    # Grade 1 of 2026/27 (SHNAT_LIMUDIM 2027) are children born in 2020.
    assert (t["born"] == 2027 - 6 - t["grade"]).all()
    assert sorted(t["grade"].unique().to_list()) == list(range(1, 13))


def test_ingest_accepts_the_generated_feed_without_a_single_rejection(published_snapshot):
    report = published_snapshot.report()
    assert report["status"] == "published"
    assert {prefix: f["rows_rejected"] for prefix, f in report["files"].items()} == {p: 0 for p in generate.PREFIXES}
    assert report["files"]["MOSDOT"]["extra_columns"] == ["LONGITUDE", "LATITUDE"]


def test_class_counts_are_the_ministrys_usually_equal_to_the_placements(feed):
    counts = active(feed["TALMIDIM"]).group_by("SEMEL_MOSAD", "SHICHVA", "MAKBILA").len()
    k = feed["KITOT"].join(counts, on=["SEMEL_MOSAD", "SHICHVA", "MAKBILA"], how="left")
    k = k.with_columns(pl.col("len").fill_null(0), pl.col("MISPAR_TALMIDIM", "MAX_TALMIDIM").cast(pl.Int64))
    equal = (k["len"] == k["MISPAR_TALMIDIM"]).mean()
    assert 0.85 < equal < 1.0
    assert (k["len"] > k["MAX_TALMIDIM"]).sum() >= 1
    assert (k["MIN_TALMIDIM"].cast(pl.Int64) <= k["MAX_TALMIDIM"]).all()


def test_planted_problems_are_present(feed):
    t, g, p, mg, m, r = (feed[x] for x in ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MEGAMOT", "MOSDOT",
                                            "RASHUYOT"))
    keys = ["SUG_ZEHUT", "MISPAR_ZEHUT"]
    students = t.select(keys).unique()
    placed = active(t).select(keys).unique()
    unplaced = students.join(placed, on=keys, how="anti")
    assert unplaced.height >= 10
    # Left rows name a leaving date and reason.
    left = t.filter(pl.col("CODE_STATUS_RISHUM_TA") == "5")
    assert left["TAARICH_AZIVA"].null_count() == 0 and left["CODE_SIBAT_AZIVA"].null_count() == 0
    # History: students with an earlier left row and a later active one.
    hist = t.filter(pl.col(keys[1]).is_in(placed[keys[1]].implode())).group_by(keys).agg(
        pl.len().alias("rows"),
        (pl.col("TAARICH_IDKUN_RESHUMA").filter(pl.col("CODE_STATUS_RISHUM_TA") == "5").max() <
         pl.col("TAARICH_IDKUN_RESHUMA").filter(pl.col("CODE_STATUS_RISHUM_TA") == "3").max()).alias("ordered"))
    multi = hist.filter(pl.col("rows") > 1)
    assert multi.height >= 20 and multi["ordered"].all()
    # Cross-authority: living in one authority, placed in another.
    auth = r.select("SEMEL_YISHUV", "SEMEL_RASHUT")
    cross = (active(t).join(auth, left_on="SEMEL_YISHUV_TAL", right_on="SEMEL_YISHUV")
             .join(m.select("SEMEL_MOSAD", "SEMEL_YISHUV"), on="SEMEL_MOSAD")
             .join(auth.rename({"SEMEL_RASHUT": "PLACE_RASHUT"}), on="SEMEL_YISHUV")
             .filter(pl.col("SEMEL_RASHUT") != pl.col("PLACE_RASHUT")))
    assert 0.01 < cross.height / placed.height < 0.2
    assert "10026" in cross["SEMEL_RASHUT"].to_list()
    # Tracks over their approved quota.
    counts = active(t).filter(pl.col("SEMEL_MEGAMA_MOSAD").is_not_null()).group_by("SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD").len()
    over = mg.join(counts, on=["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD"]).filter(
        pl.col("len") > pl.col("MICHSAT_TALMIDIM").cast(pl.Int64))
    assert over.height >= 1
    # Siblings share parents: some contact persons are linked to several students.
    per_contact = g.group_by("SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER").len()
    assert per_contact.filter(pl.col("len") >= 2).height >= 100
    per_student = g.group_by("SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID").len()
    assert set(per_student["len"].unique()) <= {1, 2, 3} and per_student["len"].max() >= 2
    assert set(g["CODE_SUG_KIRVA_GOREM_KESHER"].unique()) >= {"1", "2"}
    # Contacts without a phone, refusing information, or with malformed phone or e-mail.
    assert p.filter(pl.col("MISPAR_NAYAD").is_null() & pl.col("MISPAR_TEL_BAIT").is_null()).height >= 1
    assert (g["LEKABEL_MEIDA"] == "0").sum() >= 1
    assert p.filter(pl.col("MISPAR_NAYAD").str.len_chars() != 7).height >= 1
    emails = p["EMAIL_RASHI"].drop_nulls()
    assert (~emails.str.contains(r"^[^@\s]+@[^@\s]+\.[a-z]+$")).sum() >= 1
    assert emails.str.contains(r"^[^@\s]+@[^@\s]+\.[a-z]+$").mean() > 0.9


def test_built_in_default_has_the_demo_authorities_with_several_institutions(feed):
    r, m, t, mg = feed["RASHUYOT"], feed["MOSDOT"], feed["TALMIDIM"], feed["MEGAMOT"]
    authorities = dict(zip(r["SEMEL_RASHUT"], r["SUG_RASHUT"]))
    assert authorities["5000"] == "1" and authorities["10026"] == "3"
    assert {"1", "2", "3"} <= set(authorities.values())
    assert r.filter(pl.col("SEMEL_RASHUT") == "10026").height >= 3
    per_auth = m.join(r, on="SEMEL_YISHUV").group_by("SEMEL_RASHUT").len()
    assert per_auth["len"].min() >= 2
    # Tel Aviv-Yafo is the largest: most residents.
    residents = t.join(r, left_on="SEMEL_YISHUV_TAL", right_on="SEMEL_YISHUV").group_by("SEMEL_RASHUT").agg(
        pl.col("MISPAR_ZEHUT").n_unique().alias("n")).sort("n", descending=True)
    assert residents["SEMEL_RASHUT"][0] == "5000"
    assert mg.height >= 10 and set(mg["SHICHVA"]) == {"10", "11", "12"}
    assert m["SUG_PIKUACH_TEUR"].null_count() == 0 and m["LATITUDE"].null_count() == 0


def test_same_seed_gives_the_same_bytes_and_another_seed_differs(tmp_path):
    runs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / name
        assert generate.main(["--out", str(out), "--students", "700", "--date", "2027-02-10", "--seed", str(seed)]) == 0
        runs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert runs[0] == runs[1]
    assert runs[0]["TALMIDIM_2027-02-10.csv"] != runs[2]["TALMIDIM_2027-02-10.csv"]


def test_bad_arguments_are_refused_with_a_message(tmp_path, capsys):
    assert generate.main(["--out", str(tmp_path / "x"), "--students", "0"]) == 2
    assert "--students" in capsys.readouterr().err
    assert generate.main(["--out", str(tmp_path / "x"), "--reference", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


needs_reference = pytest.mark.skipif(not (REFERENCE / "cbs_localities_2021.csv").exists(),
                                     reason="the real reference data (../shared/data/reference) is not beside the repo")


@pytest.fixture(scope="module")
def reference_feed(tmp_path_factory) -> tuple[dict[str, pl.DataFrame], str, Path]:
    import contextlib
    import io
    out = tmp_path_factory.mktemp("ref") / "feed"
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        assert generate.main(["--out", str(out), "--reference", str(REFERENCE), "--students", "20000",
                              "--date", "2026-12-01", "--seed", "3"]) == 0
    return load(out), summary.getvalue(), out


@needs_reference
def test_reference_authorities_follow_the_cbs_codes(reference_feed):
    feed, _, _ = reference_feed
    r = feed["RASHUYOT"]
    tlv = r.filter(pl.col("SEMEL_YISHUV") == "5000").row(0, named=True)
    assert (tlv["SEMEL_RASHUT"], tlv["SHEM_RASHUT"], tlv["SUG_RASHUT"]) == ("5000", "תל אביב-יפו", "1")
    mateh = r.filter(pl.col("SEMEL_RASHUT") == "10026")
    assert set(mateh["SHEM_RASHUT"]) == {"מטה יהודה"} and set(mateh["SUG_RASHUT"]) == {"3"} and mateh.height > 40
    authorities = r.select("SEMEL_RASHUT", "SHEM_RASHUT", "SUG_RASHUT").unique()
    assert authorities["SEMEL_RASHUT"].is_unique().all()          # one name and kind per code
    assert 240 <= authorities.height <= 270
    regional = authorities.filter(pl.col("SUG_RASHUT") == "3")
    assert regional["SEMEL_RASHUT"].cast(pl.Int64).min() > 10_000 and regional.height >= 50
    own = r.filter(pl.col("SUG_RASHUT") != "3")
    assert (own["SEMEL_RASHUT"] == own["SEMEL_YISHUV"]).all()


@needs_reference
def test_reference_students_follow_population(reference_feed):
    feed, _, _ = reference_feed
    t, r = feed["TALMIDIM"], feed["RASHUYOT"]
    residents = (t.join(r, left_on="SEMEL_YISHUV_TAL", right_on="SEMEL_YISHUV")
                 .group_by("SEMEL_RASHUT", "MACHOZ").agg(pl.col("MISPAR_ZEHUT").n_unique().alias("n"))
                 .sort("n", descending=True))
    # Jerusalem is the largest authority by population, Tel Aviv-Yafo the largest of its district.
    assert residents["SEMEL_RASHUT"][0] == "3000"
    assert "5000" in residents["SEMEL_RASHUT"][:3].to_list()
    tel_aviv_district = residents.filter(pl.col("MACHOZ") == "תל אביב")
    assert tel_aviv_district["SEMEL_RASHUT"][0] == "5000"
    # About population share x N: Tel Aviv-Yafo has ~5 % of Israel's population.
    share = residents.filter(pl.col("SEMEL_RASHUT") == "5000")["n"][0] / 20000
    assert 0.035 < share < 0.065


@needs_reference
def test_reference_schools_are_real_with_coordinates_and_unmatched_are_reported(reference_feed):
    feed, summary, _ = reference_feed
    m = feed["MOSDOT"]
    assert m.height > 4800 and (m["SEMEL_MOSAD"].str.len_chars() == 6).all()
    assert m["LONGITUDE"].null_count() == 0
    lon = m["LONGITUDE"].cast(pl.Float64)
    assert lon.min() > 34.0 and lon.max() < 36.0
    # "תל אביב - יפו" in the ministry's spelling is the CBS "תל אביב-יפו".
    assert m.filter(pl.col("SEMEL_YISHUV") == "5000").height > 100
    assert "not matched to a CBS locality" in summary and "no municipal status" in summary
    assert set(m["SUG_PIKUACH"]) == {"1", "2", "3", "4", "5"}


def test_school_locality_names_match_across_spellings():
    from data.generator_reference import _Matcher, _match
    matcher = _Matcher([("5000", "תל אביב-יפו"), ("6400", "הרצלייה"), ("2630", "קריית גת"), ("1366", "נווה"),
                        ("970", "תראבין א-צאנע (שבט)"), ("1", "גן"), ("2", "גן")])
    assert _match("תל אביב - יפו", [matcher]) == "5000"
    assert _match("הרצליה", [matcher]) == "6400"
    assert _match("קרית גת", [matcher]) == "2630"
    assert _match("נוה", [matcher]) == "1366"
    assert _match("תראבין א-צאנע(שבט)", [matcher]) == "970"
    assert _match("גן", [matcher]) is None          # ambiguous: two localities
    assert _match("רמת ישי", [matcher]) is None


@needs_reference
def test_ingest_accepts_the_reference_feed_without_a_single_rejection(reference_feed, mifkad_home):
    from data import ingest
    from data.snapshots import get_snapshot
    _, _, out = reference_feed
    assert ingest.main([str(out), "--date", "2026-12-01"]) == 0
    report = get_snapshot("2026-12-01").report()
    assert {prefix: f["rows_rejected"] for prefix, f in report["files"].items()} == {p: 0 for p in generate.PREFIXES}
