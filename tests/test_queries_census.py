"""The census pages' statements against counts computed independently, with polars, from the feed's
CSV files: the spec's scope rule is re-implemented here (not read from the derived tables), and each
statement's result must agree with it for an authority, and never reach outside that authority."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from queries import Scope, ScopeError, run, statements

A = "5000"             # Tel Aviv-Yafo in the generator's built-in world
SALT = "test-salt"
KEY = ["SUG_ZEHUT", "MISPAR_ZEHUT"]
FINALS = str.maketrans("ךםןףץ", "כמנפצ")


def _date(col: str) -> pl.Expr:
    c = pl.col(col)
    return pl.coalesce(c.str.to_date("%Y-%m-%d", strict=False), c.str.to_date("%d/%m/%Y", strict=False))


class Oracle:
    """The spec's definitions, straight from the seven CSV files."""

    def __init__(self, feed_dir: Path):
        self.t = {}
        for prefix in ("TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER", "MOSDOT", "KITOT", "MEGAMOT", "RASHUYOT"):
            (path,) = [p for p in Path(feed_dir).glob(f"{prefix}_*.csv")]
            df = pl.read_csv(path, infer_schema=False)
            df = df.rename({c: c.lstrip("\ufeff") for c in df.columns})
            self.t[prefix] = df.with_row_index("_line", offset=2)
        r = self.t["RASHUYOT"]
        self.locality_authority = dict(zip(r["SEMEL_YISHUV"], r["SEMEL_RASHUT"]))
        m = self.t["MOSDOT"]
        self.institution_authority = {s: self.locality_authority.get(y) for s, y in zip(m["SEMEL_MOSAD"], m["SEMEL_YISHUV"])}
        self.students = self._students()

    def _students(self) -> pl.DataFrame:
        t = self.t["TALMIDIM"].with_columns(
            UPDATED=_date("TAARICH_IDKUN_RESHUMA"), STARTED=_date("TAARICH_HATCHALA"), BORN=_date("TAARICH_LEDA"),
            ACTIVE=(pl.col("CODE_STATUS_RISHUM_TA") == "3") & pl.col("TAARICH_AZIVA").is_null(),
            YEAR=pl.col("SHNAT_LIMUDIM").cast(pl.Int32))
        latest = (t.sort(["UPDATED", "ACTIVE", "_line"], descending=True, nulls_last=True)
                  .unique(KEY, keep="first")
                  .select(*KEY, "SHEM_PRATI", "SHEM_MISHPACHA", "BORN", "YEAR", "SEMEL_YISHUV_TAL",
                          pl.col("CODE_STATUS_RISHUM_TA").cast(pl.Int32).alias("LAST_STATUS")))
        active = (t.filter("ACTIVE").sort(["STARTED", "_line"], descending=True, nulls_last=True)
                  .group_by(KEY, maintain_order=True)
                  .agg(pl.first("SEMEL_MOSAD"), pl.first("SHICHVA").cast(pl.Int32), pl.first("MAKBILA").cast(pl.Int32),
                       pl.first("SEMEL_MEGAMA_MOSAD"), pl.len().alias("ACTIVE_PLACEMENTS")))
        s = latest.join(active, on=KEY, how="left")
        loc, inst = self.locality_authority, self.institution_authority
        return s.with_columns(
            COMPULSORY=pl.col("BORN").dt.year().is_between(pl.col("YEAR") - 22, pl.col("YEAR") - 7).fill_null(False),
            RES_RASHUT=pl.col("SEMEL_YISHUV_TAL").replace_strict(loc, default=None),
            PLACE_RASHUT=pl.col("SEMEL_MOSAD").replace_strict(inst, default=None),
            PLACED=pl.col("SEMEL_MOSAD").is_not_null())

    def census(self, authority: str) -> pl.DataFrame:
        """Authority's students: compulsory age, living there or actively placed in its institutions."""
        return self.students.filter(pl.col("COMPULSORY") & ((pl.col("RES_RASHUT") == authority)
                                                            | (pl.col("PLACE_RASHUT") == authority))).with_columns(
            IS_RESIDENT=(pl.col("RES_RASHUT") == authority).fill_null(False),
            IS_PLACED=(pl.col("PLACE_RASHUT") == authority).fill_null(False))

    def institutions(self, authority: str) -> pl.DataFrame:
        return self.t["MOSDOT"].filter(pl.col("SEMEL_MOSAD").replace_strict(self.institution_authority, default=None)
                                       == authority)

    def classes(self, authority: str) -> pl.DataFrame:
        return self.t["KITOT"].filter(pl.col("SEMEL_MOSAD").is_in(self.institutions(authority)["SEMEL_MOSAD"].to_list()))

    def tracks(self, authority: str) -> pl.DataFrame:
        return self.t["MEGAMOT"].filter(pl.col("SEMEL_MOSAD").is_in(self.institutions(authority)["SEMEL_MOSAD"].to_list()))

    def headline(self, authority: str) -> dict:
        c = self.census(authority)
        return {
            "STUDENTS": c.height,
            "RESIDENTS": c.filter("IS_RESIDENT").height,
            "INCOMING": c.filter(pl.col("IS_PLACED") & ~pl.col("IS_RESIDENT")).height,
            "STUDYING_ELSEWHERE": c.filter(pl.col("IS_RESIDENT") & pl.col("PLACED") & ~pl.col("IS_PLACED")).height,
            "UNPLACED_RESIDENTS": c.filter(pl.col("IS_RESIDENT") & ~pl.col("PLACED")).height,
            "INSTITUTIONS": self.institutions(authority).height,
            "CLASSES": self.classes(authority).height,
        }

    def active_links(self, authority: str) -> pl.DataFrame:
        c = self.census(authority).select(pl.col("SUG_ZEHUT").alias("SUG_ZEHUT_TALMID"),
                                          pl.col("MISPAR_ZEHUT").alias("MISPAR_ZEHUT_TALMID"))
        g = self.t["GORMEY_KESHER"].filter(pl.col("TAARICH_SIYUM_GOREM_KESHER").is_null())
        g = g.join(c, on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"], how="semi")
        p = self.t["PIRTEY_KESHER"].drop("_line").rename({"SUG_ZEHUT": "SUG_ZEHUT_GOREM_KESHER",
                                                          "MISPAR_ZEHUT": "MISPAR_ZEHUT_GOREM_KESHER"})
        return g.join(p.with_columns(HAS_DETAILS=pl.lit(True)),
                      on=["SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER"], how="left")


def phone_ok(prefix, number, home: bool) -> bool:
    digits = re.sub(r"[^0-9]", "", (prefix or "") + (number or ""))
    digits = "0" + digits[3:] if digits.startswith("972") else digits
    pattern = r"0[23489][0-9]{7}|0[57][0-9]{8}" if home else r"0[57][0-9]{8}"
    return re.fullmatch(pattern, digits) is not None


def email_bad(email) -> bool:
    return email is not None and re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}", email.strip()) is None


@pytest.fixture(scope="module")
def oracle(small_feed) -> Oracle:
    return Oracle(small_feed)


@pytest.fixture
def scope(census_snapshot) -> Scope:
    return Scope(snapshot=census_snapshot, authority=A, personal=True)


def list_params(**over) -> dict:
    params = {"mosad": None, "shichva": None, "makbila": None, "megama": None, "status": None, "res_yishuv": None,
              "relation": None, "q_id": None, "q_name": None, "salt": SALT, "sort": "institution", "descending": False,
              "limit": 1 << 40, "offset": 0}
    params.update(over)
    return params


def keys(df: pl.DataFrame) -> set[tuple[str, str]]:
    return set(zip(df["SUG_ZEHUT"], df["MISPAR_ZEHUT"]))


# --- overview ------------------------------------------------------------------------------------

def test_the_feed_used_here_was_accepted_whole(census_snapshot, oracle):
    # The oracle reads the raw CSV files; it agrees with ingest only when ingest rejected nothing.
    files = census_snapshot.report()["files"]
    assert set(files) == set(oracle.t)
    assert {p: f["rows_rejected"] for p, f in files.items()} == {p: 0 for p in files}
    assert {p: f["rows_accepted"] for p, f in files.items()} == {p: df.height for p, df in oracle.t.items()}


@pytest.mark.parametrize("authority", ["5000", "2610", "472", "1015"])
def test_headline_numbers_match_the_scope_rule_for_each_authority(census_snapshot, oracle, authority):
    got = run("overview_headline", Scope(census_snapshot, authority)).row(0, named=True)
    assert got == oracle.headline(authority)


def test_the_test_authority_has_every_kind_of_student(oracle):
    h = oracle.headline(A)
    assert min(h["INCOMING"], h["STUDYING_ELSEWHERE"], h["UNPLACED_RESIDENTS"]) > 0, h


def test_students_by_grade_split_residents_incoming_and_elsewhere(scope, oracle):
    c = oracle.census(A).filter("PLACED")
    expected = {}
    for g, res, here in c.select("SHICHVA", "IS_RESIDENT", "IS_PLACED").iter_rows():
        row = expected.setdefault(g, [0, 0, 0])
        row[0 if (res and here) else 1 if here else 2] += 1
    got = run("overview_by_grade", scope)
    assert {r[0]: list(r[1:]) for r in got.iter_rows()} == expected


def test_students_by_supervision_and_sector_count_those_placed_in_the_authority(scope, oracle):
    inst = oracle.institutions(A)
    placed = oracle.census(A).filter("IS_PLACED").group_by("SEMEL_MOSAD").len()
    n = dict(placed.iter_rows())
    expected: dict = {}
    for mosad, sup, sector in inst.select("SEMEL_MOSAD", "SUG_PIKUACH_TEUR", "MIGZAR_TEUR").iter_rows():
        e = expected.setdefault((sup or "", sector or ""), [0, 0])
        e[0] += n.get(mosad, 0)
        e[1] += 1
    got = run("overview_by_supervision", scope)
    assert {(r[0], r[1]): [r[2], r[3]] for r in got.iter_rows()} == expected
    assert got["STUDENTS"].to_list() == sorted(got["STUDENTS"].to_list(), reverse=True)


def test_students_by_institution_cover_every_institution_of_the_authority(scope, oracle):
    c = oracle.census(A).filter("IS_PLACED")
    got = run("overview_by_institution", scope)
    assert set(got["SEMEL_MOSAD"]) == set(oracle.institutions(A)["SEMEL_MOSAD"])
    for mosad, students, residents, incoming in got.select("SEMEL_MOSAD", "STUDENTS", "RESIDENTS", "INCOMING").iter_rows():
        mine = c.filter(pl.col("SEMEL_MOSAD") == mosad)
        assert (students, residents, incoming) == (mine.height, mine.filter("IS_RESIDENT").height,
                                                   mine.filter(~pl.col("IS_RESIDENT")).height)


def test_unplaced_residents_by_age_and_locality(scope, oracle):
    u = oracle.census(A).filter(pl.col("IS_RESIDENT") & ~pl.col("PLACED"))
    expected = {}
    for loc, born, year in u.select("SEMEL_YISHUV_TAL", "BORN", "YEAR").iter_rows():
        k = (loc, year - 1 - born.year)
        expected[k] = expected.get(k, 0) + 1
    got = run("overview_unplaced", scope)
    assert {(r["RES_YISHUV"], r["AGE"]): r["STUDENTS"] for r in got.iter_rows(named=True)} == expected


# --- students ------------------------------------------------------------------------------------

def test_the_student_list_holds_exactly_the_authoritys_census(scope, oracle):
    got = run("students_list", scope, **list_params())
    assert keys(got) == keys(oracle.census(A))
    assert got.height == got["TOTAL_ROWS"][0] == oracle.census(A).height


@pytest.mark.parametrize("relation,rule", [
    ("resident", pl.col("IS_RESIDENT")),
    ("here", pl.col("IS_RESIDENT") & pl.col("IS_PLACED")),
    ("incoming", pl.col("IS_PLACED") & ~pl.col("IS_RESIDENT")),
    ("elsewhere", pl.col("IS_RESIDENT") & pl.col("PLACED") & ~pl.col("IS_PLACED")),
    ("unplaced", pl.col("IS_RESIDENT") & ~pl.col("PLACED")),
])
def test_the_relation_filter_picks_its_group(scope, oracle, relation, rule):
    got = run("students_list", scope, **list_params(relation=relation))
    assert keys(got) == keys(oracle.census(A).filter(rule))


def test_institution_grade_class_and_track_filters_narrow_to_those_placements(scope, oracle):
    with_track = oracle.census(A).filter(pl.col("SEMEL_MEGAMA_MOSAD").is_not_null())
    mosad, grade, makbila, track = with_track.select("SEMEL_MOSAD", "SHICHVA", "MAKBILA", "SEMEL_MEGAMA_MOSAD").row(0)
    c = oracle.census(A)
    for params, rule in [
        ({"mosad": mosad}, pl.col("SEMEL_MOSAD") == mosad),
        ({"mosad": mosad, "shichva": grade}, (pl.col("SEMEL_MOSAD") == mosad) & (pl.col("SHICHVA") == grade)),
        ({"mosad": mosad, "shichva": grade, "makbila": makbila},
         (pl.col("SEMEL_MOSAD") == mosad) & (pl.col("SHICHVA") == grade) & (pl.col("MAKBILA") == makbila)),
        ({"mosad": mosad, "megama": track}, (pl.col("SEMEL_MOSAD") == mosad) & (pl.col("SEMEL_MEGAMA_MOSAD") == track)),
    ]:
        got = run("students_list", scope, **list_params(**params))
        expected = c.filter(rule)
        assert expected.height > 0 and keys(got) == keys(expected), params


def test_status_and_residence_filters(scope, oracle):
    c = oracle.census(A)
    status = c.filter(~pl.col("PLACED"))["LAST_STATUS"][0]
    assert keys(run("students_list", scope, **list_params(status=status))) == keys(c.filter(pl.col("LAST_STATUS") == status))
    loc = c.filter(~pl.col("IS_RESIDENT"))["SEMEL_YISHUV_TAL"][0]
    assert keys(run("students_list", scope, **list_params(res_yishuv=loc))) == \
        keys(c.filter(pl.col("SEMEL_YISHUV_TAL") == loc))


def test_identity_search_is_exact_and_works_without_leading_zeros_and_when_masked(census_snapshot, oracle):
    c = oracle.census(A)
    target = c.filter(pl.col("MISPAR_ZEHUT").str.starts_with("0")).row(0, named=True) if \
        c.filter(pl.col("MISPAR_ZEHUT").str.starts_with("0")).height else c.row(0, named=True)
    for personal in (True, False):
        s = Scope(census_snapshot, A, personal=personal)
        for q in (target["MISPAR_ZEHUT"], target["MISPAR_ZEHUT"].lstrip("0")):
            got = run("students_list", s, **list_params(q_id=q))
            assert got.height == 1, (personal, q)
            shown = got["MISPAR_ZEHUT"][0]
            assert shown == (target["MISPAR_ZEHUT"] if personal else "*****" + target["MISPAR_ZEHUT"][-4:])
    assert run("students_list", Scope(census_snapshot, A, True), **list_params(q_id=target["MISPAR_ZEHUT"][:-1])).height == 0


def test_an_identity_number_of_another_authoritys_student_finds_nothing(scope, oracle):
    outside = oracle.students.join(oracle.census(A), on=KEY, how="anti").row(0, named=True)
    assert run("students_list", scope, **list_params(q_id=outside["MISPAR_ZEHUT"])).height == 0


def _with_niqqud(word: str) -> str:
    return "".join(ch + "\u05b8" for ch in word)          # a qamats under every letter


def test_name_search_ignores_niqqud_and_final_letters_and_word_order(scope, oracle):
    c = oracle.census(A)
    target = next(r for r in c.iter_rows(named=True) if r["SHEM_MISHPACHA"][-1] in "ךםןףץ")
    surname, first = target["SHEM_MISHPACHA"], target["SHEM_PRATI"]
    regular = surname.translate(FINALS)

    def norm(s):
        return s.translate(FINALS)

    for q in (f"{first} {surname}", f"{surname} {first}", f"{first} {regular}", _with_niqqud(f"{surname}  {first}"),
              f"  {first[:-1] if len(first) > 2 else first}"):
        got = run("students_list", scope, **list_params(q_name=q))
        assert (target["SUG_ZEHUT"], target["MISPAR_ZEHUT"]) in keys(got), q
    query = norm(f"{surname} {first}")
    expected = {(k, m) for k, m, f, l in c.select(*KEY, "SHEM_PRATI", "SHEM_MISHPACHA").iter_rows()
                if query in norm(f"{l} {f}") or query in norm(f"{f} {l}")}
    assert keys(run("students_list", scope, **list_params(q_name=f"{surname} {first}"))) == expected


def test_name_sort_follows_hebrew_order(scope):
    got = run("students_list", scope, **list_params(sort="name"))
    primary = [f"{a} {b}".translate(FINALS) for a, b in zip(got["SHEM_MISHPACHA"], got["SHEM_PRATI"])]
    assert primary == sorted(primary)
    down = run("students_list", scope, **list_params(sort="name", descending=True))
    assert [f"{a} {b}".translate(FINALS) for a, b in zip(down["SHEM_MISHPACHA"], down["SHEM_PRATI"])] == \
        sorted(primary, reverse=True)


def test_grade_and_birth_sorts(scope):
    got = run("students_list", scope, **list_params(sort="grade"))
    placed = [(g, m) for g, m in zip(got["SHICHVA"], got["MAKBILA"]) if g is not None]
    assert placed == sorted(placed)
    assert got["SHICHVA"][-1] is None                    # unplaced last
    born = run("students_list", scope, **list_params(sort="birth"))["TAARICH_LEDA"].to_list()
    assert born == sorted(born)


def test_pages_partition_the_list_without_overlap(scope, oracle):
    size = 97
    seen: list = []
    offset = 0
    while True:
        page = run("students_list", scope, **list_params(sort="name", limit=size, offset=offset))
        if page.is_empty():
            break
        assert page.height <= size
        seen += list(zip(page["SUG_ZEHUT"], page["MISPAR_ZEHUT"]))
        offset += size
    assert len(seen) == len(set(seen)) == oracle.census(A).height


def test_masking_hides_names_ids_and_birth_dates_without_the_personal_permission(census_snapshot):
    got = run("students_list", Scope(census_snapshot, A, personal=False), **list_params(limit=20))
    assert set(got["SHEM_PRATI"]) == {"•••"} and set(got["SHEM_MISHPACHA"]) == {"•••"}
    assert all(re.fullmatch(r"\*{5}\d{4}", v) for v in got["MISPAR_ZEHUT"])
    assert set(got["TAARICH_LEDA"]) == {"•••"}


@pytest.mark.parametrize("over", [{"sort": "name"}, {"sort": "birth"}, {"sort": "id"}, {"q_name": "כהן"}])
def test_without_the_personal_permission_no_sort_or_search_by_a_hidden_field_runs(census_snapshot, over):
    with pytest.raises(ScopeError, match="personal details"):
        run("students_list", Scope(census_snapshot, A, personal=False), **list_params(**over))
    allowed = run("students_list", Scope(census_snapshot, A, personal=True), **list_params(**over))
    assert allowed.columns and "STUDENT_REF" in allowed.columns      # the same view runs with the permission


def test_students_of_one_class_are_not_in_identity_number_order(census_snapshot):
    """Ties fall to a salted hash: ordered by identity number, a masked list would rank the hidden digits."""
    rows = run("students_list", Scope(census_snapshot, A, personal=True), **list_params(sort="institution"))
    classes = [part["MISPAR_ZEHUT"].to_list() for _, part in
               rows.group_by("SEMEL_MOSAD", "SHICHVA", "MAKBILA", maintain_order=True) if part.height >= 5]
    assert classes and any(ids != sorted(ids) for ids in classes)


def test_the_unplaced_list_hides_each_childs_age_without_the_personal_permission(census_snapshot, scope):
    masked = run("unplaced_residents", Scope(census_snapshot, A, personal=False), res_yishuv=None, salt=SALT,
                 sort="locality", limit=1 << 40, offset=0)
    shown = run("unplaced_residents", scope, res_yishuv=None, salt=SALT, sort="birth", limit=1 << 40, offset=0)
    assert masked.height == shown.height > 0
    assert set(masked["STUDENT_AGE"]) == {"•••"} and all(6 <= a <= 21 for a in shown["STUDENT_AGE"])


def test_filter_options_come_from_the_authoritys_census(scope, oracle):
    opts = run("students_filter_options", scope)
    c = oracle.census(A)
    inst = opts.filter(pl.col("KIND") == "institution")
    assert set(inst["CODE"]) == set(c["SEMEL_MOSAD"].drop_nulls())
    outside = set(inst.filter("OUTSIDE")["CODE"])
    assert outside == set(c.filter(pl.col("PLACED") & ~pl.col("IS_PLACED"))["SEMEL_MOSAD"])
    assert set(opts.filter(pl.col("KIND") == "locality")["CODE"]) == set(c["SEMEL_YISHUV_TAL"])
    assert {int(g) for g in opts.filter(pl.col("KIND") == "grade")["CODE"]} == set(c["SHICHVA"].drop_nulls())
    assert {int(s) for s in opts.filter(pl.col("KIND") == "status")["CODE"]} == set(c["LAST_STATUS"])
    mosad = c.filter(pl.col("SEMEL_MEGAMA_MOSAD").is_not_null())["SEMEL_MOSAD"][0]
    within = run("students_class_options", scope, mosad=mosad)
    mine = c.filter(pl.col("SEMEL_MOSAD") == mosad)
    assert set(within.filter(pl.col("KIND") == "class")["CODE"]) == \
        {f"{g}/{m}" for g, m in mine.select("SHICHVA", "MAKBILA").drop_nulls().iter_rows()}
    assert set(within.filter(pl.col("KIND") == "track")["CODE"]) == set(mine["SEMEL_MEGAMA_MOSAD"].drop_nulls())


def _ref(scope, sug: str, mispar: str) -> str:
    got = run("students_list", scope, **list_params(q_id=mispar))
    (ref,) = [r for r, s in zip(got["STUDENT_REF"], got["SUG_ZEHUT"]) if s == sug]
    return ref


def test_a_students_record_placements_and_contacts(scope, oracle):
    c = oracle.census(A)
    links = oracle.active_links(A)
    target = c.join(links.select(pl.col("SUG_ZEHUT_TALMID").alias("SUG_ZEHUT"),
                                 pl.col("MISPAR_ZEHUT_TALMID").alias("MISPAR_ZEHUT")), on=KEY, how="semi") \
        .filter("PLACED").row(0, named=True)
    ref = _ref(scope, target["SUG_ZEHUT"], target["MISPAR_ZEHUT"])
    record = run("student_record", scope, ref=ref, salt=SALT).row(0, named=True)
    assert (record["MISPAR_ZEHUT"], record["SEMEL_MOSAD"], record["SHICHVA"]) == \
        (target["MISPAR_ZEHUT"], target["SEMEL_MOSAD"], target["SHICHVA"])
    rows = oracle.t["TALMIDIM"].filter((pl.col("SUG_ZEHUT") == target["SUG_ZEHUT"]) &
                                       (pl.col("MISPAR_ZEHUT") == target["MISPAR_ZEHUT"]))
    assert run("student_placements", scope, ref=ref, salt=SALT).height == rows.height
    all_links = oracle.t["GORMEY_KESHER"].filter((pl.col("SUG_ZEHUT_TALMID") == target["SUG_ZEHUT"]) &
                                                 (pl.col("MISPAR_ZEHUT_TALMID") == target["MISPAR_ZEHUT"]))
    contacts = run("student_contacts", scope, ref=ref, salt=SALT)
    assert set(contacts["MISPAR_ZEHUT_GOREM_KESHER"]) == set(all_links["MISPAR_ZEHUT_GOREM_KESHER"])
    phones = dict(zip(oracle.t["PIRTEY_KESHER"]["MISPAR_ZEHUT"], oracle.t["PIRTEY_KESHER"]["MISPAR_NAYAD"]))
    assert {r["MISPAR_ZEHUT_GOREM_KESHER"]: r["MISPAR_NAYAD"] for r in contacts.iter_rows(named=True)} == \
        {k: phones.get(k) for k in all_links["MISPAR_ZEHUT_GOREM_KESHER"]}


def test_contacts_are_masked_without_the_personal_permission(census_snapshot, oracle):
    masked = Scope(census_snapshot, A, personal=False)
    target = oracle.census(A).join(oracle.active_links(A).select(pl.col("SUG_ZEHUT_TALMID").alias("SUG_ZEHUT"),
                                   pl.col("MISPAR_ZEHUT_TALMID").alias("MISPAR_ZEHUT")), on=KEY, how="semi").row(0, named=True)
    ref = _ref(masked, target["SUG_ZEHUT"], target["MISPAR_ZEHUT"])
    contacts = run("student_contacts", masked, ref=ref, salt=SALT)
    assert contacts.height > 0
    for col in ("SHEM_PRATI_GOREM_KESHER", "MISPAR_NAYAD", "SHEM_RECHOV"):
        assert set(contacts[col].drop_nulls()) <= {"•••"}
    assert all(v.startswith("*****") for v in contacts["MISPAR_ZEHUT_GOREM_KESHER"])


def test_a_reference_from_another_authority_opens_nothing(census_snapshot, oracle):
    other = "2610"
    s_other = Scope(census_snapshot, other, personal=True)
    outsider = oracle.census(other).join(oracle.census(A), on=KEY, how="anti").row(0, named=True)
    ref = _ref(s_other, outsider["SUG_ZEHUT"], outsider["MISPAR_ZEHUT"])
    mine = Scope(census_snapshot, A, personal=True)
    for name in ("student_record", "student_placements", "student_contacts"):
        assert run(name, mine, ref=ref, salt=SALT).is_empty(), name


def test_unplaced_residents_list_with_address_and_a_contact(scope, oracle):
    u = oracle.census(A).filter(pl.col("IS_RESIDENT") & ~pl.col("PLACED"))
    got = run("unplaced_residents", scope, res_yishuv=None, salt=SALT, sort="birth", limit=1 << 40, offset=0)
    assert keys(got) == keys(u)
    links = oracle.active_links(A)
    counts = dict(links.group_by("MISPAR_ZEHUT_TALMID").len().iter_rows())
    for r in got.iter_rows(named=True):
        assert r["CONTACTS"] == counts.get(r["MISPAR_ZEHUT"], 0)
        assert r["TOTAL_ROWS"] == u.height
    page = run("unplaced_residents", scope, res_yishuv=None, salt=SALT, sort="birth", limit=5, offset=0)
    assert page.height == min(5, u.height)


def test_the_unplaced_list_is_oldest_first_only_for_those_who_may_see_birth_dates(census_snapshot, scope):
    by_birth = run("unplaced_residents", scope, res_yishuv=None, salt=SALT, sort="birth", limit=1 << 40, offset=0)
    for _, part in by_birth.group_by("SHEM_YISHUV", maintain_order=True):
        assert part["TAARICH_LEDA"].to_list() == sorted(part["TAARICH_LEDA"].to_list())
    masked = Scope(census_snapshot, A, personal=False)
    with pytest.raises(ScopeError):
        run("unplaced_residents", masked, res_yishuv=None, salt=SALT, sort="birth", limit=1 << 40, offset=0)
    plain = run("unplaced_residents", masked, res_yishuv=None, salt=SALT, sort="locality", limit=1 << 40, offset=0)
    for _, part in plain.group_by("SHEM_YISHUV", maintain_order=True):     # by opaque reference, not age
        assert part["STUDENT_REF"].to_list() == sorted(part["STUDENT_REF"].to_list())


# --- classes, tracks, institutions ------------------------------------------------------------------

def test_class_occupancy_is_counted_from_the_census_placements(scope, oracle):
    placed = oracle.census(A).filter("IS_PLACED").group_by("SEMEL_MOSAD", "SHICHVA", "MAKBILA").len()
    n = {(m, g, k): c for m, g, k, c in placed.iter_rows()}
    got = run("classes_occupancy", scope, mosad=None, shichva=None)
    assert set(got["ID_KITA"]) == set(oracle.classes(A)["ID_KITA"])
    assert got["PLACED"].sum() == sum(n.values())
    for r in got.iter_rows(named=True):
        count = n.get((r["SEMEL_MOSAD"], r["SHICHVA"], r["MAKBILA"]), 0)
        assert r["PLACED"] == count
        assert r["OVER_MAX"] == (r["MAX_TALMIDIM"] is not None and count > r["MAX_TALMIDIM"])
        assert r["UNDER_MIN"] == (r["MIN_TALMIDIM"] is not None and count < r["MIN_TALMIDIM"])
        assert r["DIFFERS_FROM_MINISTRY"] == (r["MISPAR_TALMIDIM"] != count)


def test_the_generators_planted_overfull_classes_show_up_somewhere(census_snapshot, oracle):
    over = sum(run("classes_occupancy", Scope(census_snapshot, a), mosad=None, shichva=None)["OVER_MAX"].sum()
               for a in set(oracle.locality_authority.values()))
    assert over > 0


def test_class_summary_adds_up_per_institution_and_grade(scope):
    classes = run("classes_occupancy", scope, mosad=None, shichva=None)
    summary = run("classes_by_institution_grade", scope)
    assert summary["CLASSES"].sum() == classes.height
    assert summary["PLACED"].sum() == classes["PLACED"].sum()
    assert summary["OVER_MAX"].sum() == classes["OVER_MAX"].sum()
    mosad, grade = classes.select("SEMEL_MOSAD", "SHICHVA").row(0)
    one = run("classes_occupancy", scope, mosad=mosad, shichva=grade)
    assert one.height == classes.filter((pl.col("SEMEL_MOSAD") == mosad) & (pl.col("SHICHVA") == grade)).height


def test_track_placements_and_quotas(scope, oracle):
    placed = oracle.census(A).filter("IS_PLACED").group_by("SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD").len()
    n = {(m, t): c for m, t, c in placed.iter_rows()}
    got = run("tracks_quota", scope, mosad=None)
    assert set(got["ID_MEGAMA"]) == set(oracle.tracks(A)["ID_MEGAMA"])
    for r in got.iter_rows(named=True):
        count = n.get((r["SEMEL_MOSAD"], r["SEMEL_MEGAMA_MOSAD"]), 0)
        assert r["PLACED"] == count
        assert r["OVER_APPROVED"] == (r["MICHSAT_TALMIDIM"] is not None and count > r["MICHSAT_TALMIDIM"])


def test_institutions_with_students_classes_tracks_and_coordinates(scope, oracle):
    got = run("institutions_list", scope)
    inst = oracle.institutions(A)
    assert set(got["SEMEL_MOSAD"]) == set(inst["SEMEL_MOSAD"])
    placed = dict(oracle.census(A).filter("IS_PLACED").group_by("SEMEL_MOSAD").len().iter_rows())
    classes = dict(oracle.classes(A).group_by("SEMEL_MOSAD").len().iter_rows())
    tracks = dict(oracle.tracks(A).group_by("SEMEL_MOSAD").len().iter_rows())
    lon = dict(zip(inst["SEMEL_MOSAD"], inst["LONGITUDE"]))
    for r in got.iter_rows(named=True):
        m = r["SEMEL_MOSAD"]
        assert (r["STUDENTS"], r["CLASSES"], r["TRACKS"]) == (placed.get(m, 0), classes.get(m, 0), tracks.get(m, 0))
        assert r["LONGITUDE"] == pytest.approx(float(lon[m]))


# --- contacts ---------------------------------------------------------------------------------------

def test_contact_quality_summary(scope, oracle):
    c = oracle.census(A)
    links = oracle.active_links(A)
    ok = [phone_ok(a, b, False) or phone_ok(x, y, True) for a, b, x, y in
          links.select("KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT", "MISPAR_TEL_BAIT").iter_rows()]
    reachable = {s for s, good in zip(links["MISPAR_ZEHUT_TALMID"], ok) if good}
    with_contact = set(links["MISPAR_ZEHUT_TALMID"])
    invalid_phone = sum(1 for a, b, x, y in links.select("KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT",
                                                         "MISPAR_TEL_BAIT").iter_rows()
                        if ((a or b) is not None and not phone_ok(a, b, False))
                        or ((x or y) is not None and not phone_ok(x, y, True)))
    expected = {
        "STUDENTS": c.height,
        "NO_CONTACT": sum(1 for m in c["MISPAR_ZEHUT"] if m not in with_contact),
        "NO_REACHABLE_PHONE": sum(1 for m in c["MISPAR_ZEHUT"] if m not in reachable),
        "CONTACT_LINKS": links.height,
        "MISSING_DETAILS": links.filter(pl.col("HAS_DETAILS").is_null()).height,
        "NOT_AGREEING": links.filter(pl.col("LEKABEL_MEIDA") == "0").height,
        "INVALID_PHONE": invalid_phone,
        "INVALID_EMAIL": sum(1 for e in links["EMAIL_RASHI"] if email_bad(e)),
    }
    assert run("contacts_quality_summary", scope).row(0, named=True) == expected
    assert expected["NOT_AGREEING"] > 0 and expected["INVALID_PHONE"] + expected["INVALID_EMAIL"] > 0


@pytest.mark.parametrize("problem,summary_field,per_student", [
    ("no_contact", "NO_CONTACT", True), ("no_phone", "NO_REACHABLE_PHONE", True),
    ("not_agreeing", "NOT_AGREEING", False), ("invalid_phone", "INVALID_PHONE", False),
    ("invalid_email", "INVALID_EMAIL", False), ("missing_details", "MISSING_DETAILS", False)])
def test_problem_rows_agree_with_the_summary(scope, problem, summary_field, per_student):
    summary = run("contacts_quality_summary", scope).row(0, named=True)
    rows = run("contacts_problems", scope, problem=problem, salt=SALT, limit=1 << 40, offset=0)
    count = len(keys(rows)) if per_student else rows.height
    assert count == summary[summary_field]


def test_phone_and_email_rules():
    assert phone_ok("050", "1234567", False) and phone_ok("", "+972-50-123-4567", False)
    assert not phone_ok("03", "1234567", False) and phone_ok("03", "1234567", True)
    assert not phone_ok("05", "1234567", False) and not phone_ok("050", "123456", False)
    assert email_bad("name@domain") and email_bad("a b@c.il") and not email_bad("a.b@c.co.il")


# --- national ----------------------------------------------------------------------------------------

def test_national_counts_per_authority(census_snapshot, oracle):
    got = run("national_by_authority", Scope(census_snapshot, None))
    authorities = set(oracle.locality_authority.values())
    assert set(got["SEMEL_RASHUT"]) == authorities
    for r in got.iter_rows(named=True):
        assert {k: r[k] for k in oracle.headline(r["SEMEL_RASHUT"])} == oracle.headline(r["SEMEL_RASHUT"])
    assert "MISPAR_ZEHUT" not in got.columns and got["INSTITUTIONS"].sum() == oracle.t["MOSDOT"].height


def _districts(r: pl.DataFrame) -> dict[str, str]:
    """Each authority's district: the one holding most of its localities (ties: the first by name)."""
    n = r.group_by("SEMEL_RASHUT", "MACHOZ").len().sort(["SEMEL_RASHUT", "len", "MACHOZ"],
                                                        descending=[False, True, False], nulls_last=True)
    return {a: d or "" for a, d in n.unique("SEMEL_RASHUT", keep="first").select("SEMEL_RASHUT", "MACHOZ").iter_rows()}


def test_national_students_count_each_student_once_nationally_and_per_district(census_snapshot, oracle):
    district_of = _districts(oracle.t["RASHUYOT"])
    for district in [None, *sorted(set(district_of.values()))]:
        shown = {a for a, d in district_of.items() if district is None or d == district}
        expected = set().union(*(keys(oracle.census(a)) for a in shown))
        got = run("national_students", Scope(census_snapshot, None), district=district)
        assert got["STUDENTS"].to_list() == [len(expected)], district
    per_authority = run("national_by_authority", Scope(census_snapshot, None))["STUDENTS"].sum()
    assert run("national_students", Scope(census_snapshot, None), district=None)["STUDENTS"][0] < per_authority


def test_an_authority_with_localities_in_two_districts_is_in_one_district_everywhere():
    """Its table row, the district filter and the headline agree (the district of most localities)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE rashuyot AS SELECT * FROM (VALUES "
                "('1', 'א', '10', 'חוף', 'מועצה אזורית', 'תל אביב'), ('2', 'ב', '10', 'חוף', 'מועצה אזורית', 'המרכז'), "
                "('3', 'ג', '10', 'חוף', 'מועצה אזורית', 'המרכז'), ('4', 'ד', '20', 'עיר', 'עירייה', 'תל אביב')) "
                "t(SEMEL_YISHUV, SHEM_YISHUV, SEMEL_RASHUT, SHEM_RASHUT, SUG_RASHUT, MACHOZ)")
    con.execute("CREATE TABLE authority_counts AS SELECT * FROM (VALUES ('10', 3, 0, 0, 0, 0, 0, 0), "
                "('20', 1, 0, 0, 0, 0, 0, 0)) t(SEMEL_RASHUT, STUDENTS, RESIDENTS, INCOMING, STUDYING_ELSEWHERE, "
                "UNPLACED_RESIDENTS, INSTITUTIONS, CLASSES)")
    con.execute(f"CREATE TABLE authority_district AS {statements()['authority_districts'].sql}")
    con.execute("CREATE TABLE census AS SELECT * FROM (VALUES ('10', true, '10'), ('10', true, '10'), "
                "('10', true, '10'), ('20', true, '20')) t(SEMEL_RASHUT, IS_RESIDENT, RES_RASHUT)")
    table = dict(con.execute(f"SELECT SEMEL_RASHUT, MACHOZ FROM ({statements()['national_by_authority'].sql})").fetchall())
    assert table == {"10": "המרכז", "20": "תל אביב"}
    students = lambda d: con.execute(statements()["national_students"].sql, {"district": d}).fetchone()[0]
    assert (students("המרכז"), students("תל אביב"), students(None)) == (3, 1, 4)
    assert dict(con.execute(f"SELECT SEMEL_RASHUT, MACHOZ FROM ({statements()['authorities'].sql})").fetchall()) == table


# --- the scope guarantee, statement by statement ------------------------------------------------------

def _default(name: str, census_snapshot) -> dict:
    st = statements()[name]
    used = set(re.findall(r"\$(\w+)", st.sql)) - {"authority"}
    defaults = {"salt": SALT, "limit": 1 << 40, "offset": 0, "sort": "name", "descending": False}
    return {k: defaults.get(k) for k in used}


MINE = [n for n, s in statements().items() if s.scope == "authority" and s.source in {
    "overview.sql", "students.sql", "classes.sql", "tracks.sql", "institutions.sql", "contacts.sql", "changes.sql"}]


@pytest.mark.parametrize("name", MINE)
def test_no_statement_reaches_a_student_or_institution_outside_the_authority(census_snapshot, oracle, name):
    params = _default(name, census_snapshot)
    scope = Scope(census_snapshot, A, personal=True)
    if "ref" in params:
        params["ref"] = run("students_list", scope, **list_params(limit=1))["STUDENT_REF"][0]
    got = run(name, scope, **params)
    census = keys(oracle.census(A))
    if {"SUG_ZEHUT", "MISPAR_ZEHUT"} <= set(got.columns) and name != "student_contacts":
        assert keys(got) <= census, name
    if "MISPAR_ZEHUT_TALMID" in got.columns:
        assert set(got["MISPAR_ZEHUT_TALMID"]) <= {m for _, m in census}
    own = set(oracle.institutions(A)["SEMEL_MOSAD"])
    if name in {"classes_occupancy", "classes_by_institution_grade", "tracks_quota", "institutions_list",
                "overview_by_institution"}:
        assert set(got["SEMEL_MOSAD"]) <= own and got.height > 0, name


def test_every_statement_of_the_pages_declares_the_authority_scope_and_uses_it():
    for name in MINE:
        assert "$authority" in statements()[name].sql
    assert statements()["national_by_authority"].scope == "national"


# --- changes between two snapshots ---------------------------------------------------------------------

def test_changes_between_two_weeks_match_the_feeds(two_week_snapshots, small_feed, earlier_feed):
    from pages.changes import changes_between, described, summarise
    before_snap, after_snap = two_week_snapshots
    scope = Scope(after_snap, A, personal=True)
    got = described(scope, changes_between(scope, before_snap, after_snap), before_snap, after_snap)
    placement = ["SEMEL_MOSAD", "SHICHVA", "MAKBILA"]
    b = Oracle(earlier_feed).census(A).select(*KEY, *placement)
    a = Oracle(small_feed).census(A).select(*KEY, *placement)
    j = b.join(a, on=KEY, how="full", coalesce=True, suffix="_A")
    expected = {}
    for r in j.iter_rows(named=True):
        key = (r["SUG_ZEHUT"], r["MISPAR_ZEHUT"])
        if key not in keys(a):
            kind = "left"
        elif key not in keys(b):
            kind = "arrived"
        elif r["SEMEL_MOSAD"] != r["SEMEL_MOSAD_A"]:
            kind = "institution"
        elif r["SHICHVA"] != r["SHICHVA_A"]:
            kind = "grade"
        elif r["MAKBILA"] != r["MAKBILA_A"]:
            kind = "class"
        else:
            continue
        expected[key[1]] = kind
    assert dict(zip(got["MISPAR_ZEHUT"], got["CHANGE"])) == expected
    assert set(expected.values()) == {"arrived", "left", "institution", "grade", "class"}
    assert dict(summarise(got).iter_rows()) == {k: list(expected.values()).count(k)
                                                for k in ("arrived", "left", "institution", "grade", "class")}
