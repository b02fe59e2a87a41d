"""The generator's world from the real public reference data (../shared/data/reference, read in place,
never copied into the repository): CBS localities and authorities, the ministry's schools, CBS streets,
CBS first-name frequencies and a list of Hebrew surnames.

Decisions (also in docs/generator.md):
- Localities come from the 2021 CBS list. A locality with no municipal status there takes it from the
  2017 list; one with none in either is skipped and reported. Localities only in the 2017 list (small
  places, Bedouin tribes) are added when a school is located in them, under the same rule.
- Authorities: a city (status 0) or local council (99) is its own authority, coded by its locality code;
  a regional council's localities share 10000 + the council's status code.
- School localities are matched to CBS localities by name, in tiers (exact; normalised spelling; without
  a parenthesised qualifier; without the letters ו and י; one part of a hyphenated name), each accepted
  only when it names one locality; current 2021 names first, then 2021 former and merged names, then
  2017 names. Schools listed under a regional council's name go to its most populous locality. What stays unmatched is reported with its number of schools and skipped.
- Population groups: the 2017 list's RELIGION (1 Jewish, 2 Arab, 3 Bedouin tribe, 4 mixed, with the
  mixed localities' Jewish and Arab populations), the 2021 locality type otherwise; Druze and Christian
  localities and Haredi shares from short lists written here (no public file gives them).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import polars as pl

from data.generator_builtin import arab_surnames
from data.generator_world import JEWISH, World

CITY, LOCAL_COUNCIL = "0", "99"
REGIONAL_BASE = 10_000

# Non-Jewish localities whose population is not mostly Muslim: shares (Muslim, Christian, Druze) of the
# Arab population, from general knowledge of these localities (approximate).
ARAB_MIX = {
    "דאלית אל-כרמל": (0.0, 0.0, 1.0), "עספיא": (0.1, 0.15, 0.75), "בית ג'ן": (0.0, 0.0, 1.0),
    "ג'ולס": (0.0, 0.0, 1.0), "ירכא": (0.02, 0.0, 0.98), "חורפיש": (0.0, 0.05, 0.95), "פקיעין (בוקייעה)": (0.05, 0.15, 0.8),
    "כסרא-סמיע": (0.0, 0.0, 1.0), "יאנוח-ג'ת": (0.0, 0.0, 1.0), "סאג'ור": (0.0, 0.0, 1.0), "מג'דל שמס": (0.0, 0.0, 1.0),
    "מסעדה": (0.0, 0.0, 1.0), "בוקעאתא": (0.0, 0.0, 1.0), "עין קנייא": (0.0, 0.0, 1.0), "בית ג'אן": (0.0, 0.0, 1.0),
    "מע'אר": (0.25, 0.2, 0.55), "אבו סנאן": (0.4, 0.2, 0.4), "ראמה": (0.2, 0.5, 0.3), "שפרעם": (0.6, 0.25, 0.15),
    "כפר יאסיף": (0.45, 0.5, 0.05), "פסוטה": (0.0, 1.0, 0.0), "מעיליא": (0.0, 1.0, 0.0), "ג'ש (גוש חלב)": (0.35, 0.65, 0.0),
    "עילבון": (0.25, 0.75, 0.0), "נצרת": (0.7, 0.3, 0.0), "חיפה": (0.4, 0.6, 0.0), "עכו": (0.85, 0.15, 0.0),
    "תל אביב-יפו": (0.75, 0.25, 0.0), "רמלה": (0.8, 0.2, 0.0), "לוד": (0.9, 0.1, 0.0), "מעלות-תרשיחא": (0.6, 0.4, 0.0),
    "עין אל-אסד": (0.0, 0.0, 1.0), "חורפייש": (0.0, 0.05, 0.95),
}
# Jewish localities with many Haredi or religious families: (religious share, Haredi share) among Jews.
# Everywhere else: 13 % religious and 4 % Haredi in towns; more religious in Judea and Samaria.
JEWISH_MIX = {
    "בני ברק": (0.03, 0.95), "ביתר עילית": (0.0, 0.99), "מודיעין עילית": (0.0, 0.99), "אלעד": (0.05, 0.9),
    "עמנואל": (0.1, 0.85), "רכסים": (0.15, 0.75), "קריית יערים": (0.0, 0.95), "ירושלים": (0.25, 0.35),
    "בית שמש": (0.2, 0.55), "צפת": (0.2, 0.4), "אשדוד": (0.15, 0.22), "נתיבות": (0.3, 0.2),
    "אופקים": (0.25, 0.15), "טבריה": (0.2, 0.15), "חריש": (0.15, 0.3), "ערד": (0.1, 0.15),
    "קריית גת": (0.15, 0.1), "פתח תקווה": (0.15, 0.08), "רחובות": (0.15, 0.07), "נתניה": (0.15, 0.06),
    "קריית מלאכי": (0.2, 0.12), "אור יהודה": (0.15, 0.05), "גבעת שמואל": (0.3, 0.02), "אפרת": (0.75, 0.05),
    "קדומים": (0.7, 0.0), "בית אל": (0.85, 0.05), "קריית ארבע": (0.75, 0.05), "מעלה אדומים": (0.3, 0.05),
    "אריאל": (0.15, 0.02), "קרני שומרון": (0.5, 0.02), "אלקנה": (0.8, 0.0), "שלומי": (0.2, 0.05),
}
# Common Israeli surnames with an approximate share of the population (their order matters more than
# the numbers); the long surname list is unranked, so these stand out above it.
COMMON_JEWISH_SURNAMES = ("כהן,לוי,מזרחי,פרץ,ביטון,דהן,אברהם,פרידמן,מלכה,אזולאי,כץ,יוסף,דוד,עמר,אוחיון,חדד,"
                          "גבאי,בן דוד,שפירא,אדרי,חזן,ששון,מימון,ביטן,שטרן,אלון,רוזנברג,גולן,ברק,יעקב,שרעבי,"
                          "אוחנה,סויסה,בן חמו,אשכנזי,גרינברג,חן,קליין").split(",")


def _norm(name: str) -> str:
    """Spelling-insensitive key: no spaces, hyphens or quotes; doubled yod/vav as one."""
    s = name.replace("״", '"').replace("׳", "'").replace("`", "'")
    s = re.sub(r"[\s\-–\"'.]", "", s)
    s = re.sub(r"יי+", "י", s)
    s = re.sub(r"וו+", "ו", s)
    return s


def _no_paren(name: str) -> str:
    return re.sub(r"\(.*?\)", "", name)


def _no_matres(key: str) -> str:
    return key.replace("ו", "").replace("י", "")


class _Matcher:
    """Locality name -> code, by tiers; a tier answers only when it names exactly one locality."""

    def __init__(self, names: list[tuple[str, str]]):
        self.tiers: list[dict[str, set[str]]] = [defaultdict(set) for _ in range(5)]
        for code, name in names:
            self.tiers[0][name.strip()].add(code)
            self.tiers[1][_norm(name)].add(code)
            self.tiers[2][_norm(_no_paren(name))].add(code)
            self.tiers[3][_no_matres(_norm(_no_paren(name)))].add(code)
            for part in re.split(r"-", _no_paren(name)):
                if part.strip() and part.strip() != name.strip():
                    self.tiers[4][_norm(part)].add(code)

    @staticmethod
    def keys(name: str) -> tuple[str, ...]:
        return (name.strip(), _norm(name), _norm(_no_paren(name)), _no_matres(_norm(_no_paren(name))),
                _norm(_no_paren(name)))


def _match(name: str, matchers: list[_Matcher]) -> str | None:
    """The first tier where some list knows the name decides: one locality is a match, several are
    ambiguous (no match). Earlier lists (2021) win over later ones (2017) within a tier."""
    for tier, key in enumerate(_Matcher.keys(name)):
        for m in matchers:
            codes = m.tiers[tier].get(key)
            if codes:
                return next(iter(codes)) if len(codes) == 1 else None
    return None


def _read(path: Path) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema=False, encoding="utf8")
    return df.rename({c: c.replace("\ufeff", "").strip() for c in df.columns})


def _float(s: str | None) -> float:
    try:
        return float(s) if s not in (None, "") else 0.0
    except ValueError:
        return 0.0


def build(reference: Path) -> World:
    notes: list[str] = []
    l21 = _read(reference / "cbs_localities_2021.csv")
    l17 = _read(reference / "cbs_localities_2017_anyway.csv")
    schools_raw = _read(reference / "schools_2020_symbol_name_locality.csv")
    districts = dict(zip(l21["district_id"].to_list(), l21["district_name"].to_list()))
    council_names = {r["municipal_status_id"]: r["municipal_status_name"] for r in l21.iter_rows(named=True)}
    by17 = {r["SEMEL"]: r for r in l17.iter_rows(named=True)}

    # Names for matching: the 2021 names with their previous and merged names, then the 2017 names.
    # A current name wins over another locality's former or merged name.
    aliases: list[tuple[str, str]] = []
    for r in l21.iter_rows(named=True):
        for extra in (r.get("previous_names"), r.get("merged_locality_names")):
            aliases += [(r["id"], x) for x in (extra or "").split(",") if x.strip()]
    matcher21 = _Matcher(list(zip(l21["id"].to_list(), l21["name"].to_list())))
    matcher_alias = _Matcher(aliases)
    matcher17 = _Matcher([(r["SEMEL"], r["NAME"]) for r in l17.iter_rows(named=True)])

    # Schools -> locality codes.
    school_codes, unmatched = [], Counter()
    codes21 = set(l21["id"].to_list())
    # Some schools are listed under their regional council ("בתי ספר של מרחבים"): they go to the
    # council's most populous locality.
    councils = {}
    for r in l21.sort(pl.col("population").cast(pl.Int64, strict=False), descending=True, nulls_last=True) \
            .iter_rows(named=True):
        if r["municipal_status_name"] and r["municipal_status_id"] not in (CITY, LOCAL_COUNCIL):
            councils.setdefault(_norm(r["municipal_status_name"].replace("מועצה אזורית", "")), r["id"])
    for name in schools_raw["shem_yishuv"].to_list():
        code = _match(name, [matcher21, matcher_alias, matcher17])
        if code is None:
            code = next((c for k, c in councils.items() if _norm(name).endswith(k)), None)
        school_codes.append(code)
        if code is None:
            unmatched[name] += 1
    schools_raw = schools_raw.with_columns(SEMEL_YISHUV=pl.Series(school_codes, dtype=pl.String))
    if unmatched:
        notes.append(f"{sum(unmatched.values())} schools in {len(unmatched)} localities not matched to a CBS "
                     "locality, skipped: " + ", ".join(f"{n} ({c})" for n, c in unmatched.most_common()))
    needed17 = {c for c in school_codes if c is not None and c not in codes21}

    # Localities: 2021 rows, plus the 2017-only ones schools need.
    rows, no_status = [], []
    for r in l21.iter_rows(named=True):
        old = by17.get(r["id"], {})
        status = r["municipal_status_id"] or old.get("MUNICIPAL_STANCE")
        rows.append(dict(code=r["id"], name=r["name"], status=status,
                         council=r["municipal_status_name"] if r["municipal_status_id"] else None,
                         district=r["district_name"], pop=_float(r["population"]),
                         lat=_float(r["coordinates_wgs84_latitude"]) or None,
                         lon=_float(r["coordinates_wgs84_longitude"]) or None,
                         form=r["type_of_locality_form"] or "", old=old))
    for code in sorted(needed17, key=int):
        old = by17[code]
        rows.append(dict(code=code, name=old["NAME"], status=old.get("MUNICIPAL_STANCE"), council=None,
                         district=districts.get(old.get("DISTRICT") or "", None), pop=_float(old.get("POPULATION")),
                         lat=None, lon=None, form="", old=old))
    if needed17:
        notes.append(f"{len(needed17)} school localities taken from the 2017 CBS list (missing in 2021)")

    out = []
    for r in rows:
        status = r["status"]
        if not status:
            no_status.append(r["name"])
            continue
        if status in (CITY, LOCAL_COUNCIL):
            rashut, shem, sug = r["code"], r["name"], 1 if status == CITY else 2
        else:
            council = r["council"] or council_names.get(status) or f"מועצה אזורית {status}"
            rashut, shem, sug = str(REGIONAL_BASE + int(status)), council.replace("מועצה אזורית", "").strip(), 3
        out.append(dict(r, rashut=rashut, shem_rashut=shem, sug=sug))
    if no_status:
        without = {r["code"] for r in rows if not r["status"]}
        skipped_schools = sum(1 for c in school_codes if c in without)
        notes.append(f"{len(no_status)} localities with no municipal status (no authority) skipped, with their "
                     f"{skipped_schools} schools: " + ", ".join(sorted(no_status)))

    # Population groups and religious shares.
    mix_arab = {_norm(k): v for k, v in ARAB_MIX.items()}
    mix_jewish = {_norm(k): v for k, v in JEWISH_MIX.items()}
    recs = []
    for r in out:
        old = r["old"]
        religion = (old.get("RELIGION") or "") if old else ""
        jews, arabs = _float(old.get("JEWS")) if old else 0.0, _float(old.get("ARAB")) if old else 0.0
        if religion == "1":
            jewish = 1.0
        elif religion in ("2", "3"):
            jewish = 0.0
        elif religion == "4" and jews + arabs > 0:
            jewish = jews / (jews + arabs)
        else:
            jewish = 0.0 if "לא יהודי" in r["form"] or "בדווים" in r["form"] else 1.0
        key = _norm(r["name"])
        mus, chr_, dru = mix_arab.get(key, (1.0, 0.0, 0.0))
        arab = 1.0 - jewish
        dati, haredi = mix_jewish.get(key, (None, None))
        if dati is None:
            if r["district"] and "יהודה" in r["district"]:
                dati, haredi = 0.55, 0.08
            elif "קיבוצים" in r["form"]:
                dati, haredi = 0.05, 0.0
            elif "מושבים" in r["form"]:
                dati, haredi = 0.2, 0.02
            else:
                dati, haredi = 0.13, 0.04
        bedouin = religion == "3" or "בדווים" in r["form"] or (
            arab > 0.5 and r["district"] == "הדרום")
        recs.append((r["code"], r["name"], r["rashut"], r["shem_rashut"], r["sug"], r["district"], int(r["pop"]),
                     jewish, arab * mus, arab * chr_, arab * dru, dati, haredi, bedouin, r["lon"], r["lat"]))
    loc = pl.DataFrame(recs, orient="row", schema={
        "SEMEL_YISHUV": pl.String, "SHEM_YISHUV": pl.String, "SEMEL_RASHUT": pl.String, "SHEM_RASHUT": pl.String,
        "SUG_RASHUT": pl.Int64, "MACHOZ": pl.String, "POPULATION": pl.Int64, "SHARE_JEWISH": pl.Float64,
        "SHARE_MUSLIM": pl.Float64, "SHARE_CHRISTIAN": pl.Float64, "SHARE_DRUZE": pl.Float64,
        "SHARE_DATI": pl.Float64, "SHARE_HAREDI": pl.Float64, "BEDOUIN": pl.Boolean, "LON": pl.Float64,
        "LAT": pl.Float64})
    # Localities without coordinates (2017-only) take their authority's mean, else the country's centre.
    loc = loc.with_columns(
        pl.col("LON").fill_null(pl.col("LON").mean().over("SEMEL_RASHUT")).fill_null(34.9),
        pl.col("LAT").fill_null(pl.col("LAT").mean().over("SEMEL_RASHUT")).fill_null(31.9),
    ).sort(pl.col("SEMEL_YISHUV").cast(pl.Int64))

    known = set(loc["SEMEL_YISHUV"].to_list())
    schools = schools_raw.filter(pl.col("SEMEL_YISHUV").is_in(list(known))).select(
        pl.col("semel_mosad").str.strip_chars().str.zfill(6).alias("SEMEL_MOSAD"),
        pl.col("shem_mosad").str.strip_chars().alias("SHEM_MOSAD"),
        "SEMEL_YISHUV",
        pl.col("longitude").cast(pl.Float64, strict=False).alias("LONGITUDE"),
        pl.col("latitude").cast(pl.Float64, strict=False).alias("LATITUDE"),
        pl.lit(None, pl.Int64).alias("PIKUACH"), pl.lit(None, pl.Int64).alias("ME_SHICHVA"),
        pl.lit(None, pl.Int64).alias("AD_SHICHVA"), pl.lit(None, pl.Boolean).alias("SPECIAL"),
    ).unique("SEMEL_MOSAD", keep="first", maintain_order=True).sort("SEMEL_MOSAD")

    streets = _read(reference / "cbs_streets_partial_from_anyway.csv").select(
        pl.col("semel_yishuv").str.strip_chars().alias("SEMEL_YISHUV"),
        pl.col("semel_rechov").str.strip_chars().alias("SEMEL_RECHOV"),
        pl.col("shem_rechov").str.strip_chars().alias("SHEM_RECHOV"),
    ).filter(pl.col("SEMEL_YISHUV").is_in(list(known)) & pl.col("SHEM_RECHOV").is_not_null()) \
        .unique(["SEMEL_YISHUV", "SEMEL_RECHOV"], keep="first", maintain_order=True)

    groups = {"Jewish": 0, "Muslim": 1, "Christian-Arab": 2, "Druze": 3}
    first_names = _read(reference / "cbs_babynames_totals_by_sector_sex.csv").select(
        pl.col("sector").replace_strict(groups, default=None, return_dtype=pl.Int64).alias("GROUP"),
        pl.col("sex").replace_strict({"M": 1, "F": 2}, default=None, return_dtype=pl.Int64).alias("SEX"),
        pl.col("name").str.strip_chars().alias("NAME"),
        pl.col("total").cast(pl.Float64, strict=False).alias("WEIGHT"),
    ).drop_nulls().filter(pl.col("WEIGHT") > 0)

    surnames = _jewish_surnames(reference / "hebrew_last_names_dday.txt")
    return World(localities=loc, schools=schools, streets=streets, first_names=first_names,
                 surnames=pl.concat([surnames, arab_surnames()]), notes=notes)


def _jewish_surnames(path: Path) -> pl.DataFrame:
    """The unranked surname list, weighted: the common names above, then a long tail whose order is a
    fixed shuffle (the same for every run, so feeds stay reproducible)."""
    listed = sorted({line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()})
    common = list(COMMON_JEWISH_SURNAMES)
    tail = [n for n in listed if n not in set(common)]
    order = np.random.default_rng(20_240_101).permutation(len(tail))
    weights = [0.35 / (i + 1) ** 0.8 for i in range(len(common))]
    tail_w = 1.0 / (order + 50.0)
    return pl.DataFrame({"GROUP": [JEWISH] * (len(common) + len(tail)), "NAME": common + tail,
                         "WEIGHT": weights + tail_w.tolist()})
