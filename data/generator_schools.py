"""Plausible school attributes. No public file gives a school's supervision type, sector, legal status or
approved grade range together with its symbol, so the generator infers them: from words in the name
("תלמוד תורה" is Haredi, "ממ\"ד" is state-religious, "תיכון" is upper-secondary ...), from the population
of the school's locality, and otherwise at random with fixed proportions. Values a world already sets
(the built-in default sets them all) are kept.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from data.generator_world import ARAB, DATI, DRUZE_STREAM, HAREDI, MAMLACHTI, World

MIGZAR = {1: "יהודי", 2: "ערבי", 3: "דרוזי", 4: "בדואי"}
SUG_CHINUCH = {1: "רגיל", 2: "חינוך מיוחד"}
SHLAV = {1: "יסודי", 2: "חטיבת ביניים", 3: "עליון", 4: "שש-שנתי", 5: "יסודי וחטיבת ביניים", 6: "שתים-עשרה שנתי"}
SUG_MOSAD = {1: "בית ספר", 2: "ישיבה", 3: "אולפנה", 4: "תלמוד תורה"}
MAAMAD = {1: "רשמי", 2: "מוכר שאינו רשמי", 3: "מוסד פטור"}

# Name words that reveal a school's kind. Checked in order; the first match wins.
_HAREDI_WORDS = ("תלמוד תורה", "ת\"ת", "ת''ת", "בית יעקב", "בית רבקה", "חב\"ד", "חסידי", "ישיבה קטנה",
                 "חיידר", "חדר ", "בית אהרון", "מעיין החינוך", "אהבת תורה", "חדרי")
_DATI_WORDS = ("ממ\"ד", "ממ''ד", "ממלכתי דתי", "ממלכתי-דתי", "דתי", "אולפנ", "ישיבה תיכונית", "ישיבת",
               "בני עקיבא", "נועם", "צביה", "אמי\"ת", "אמית", "תורני", "תורנית", "מורשה")
_SPECIAL_WORDS = ("חינוך מיוחד", "לחנ\"מ", "חנ\"מ", "מיוחד", "שיקומי", "אקי\"ם", "לחרשים", "לעיוורים",
                  "אוטיס", "תקשורת", "טיפולי")
_HIGH_WORDS = ("תיכון", "תיכונית", "מקיף", "אולפנ", "ישיבה", "ישיבת", "מכללה", "עתיד", "אורט", "עמל")
_MIDDLE_WORDS = ("חטיבת ביניים", "חט\"ב", "חט''ב", "חטיבה")
_ELEM_WORDS = ("יסודי", "יסודית", "בי\"ס יסודי", "תלמוד תורה", "ת\"ת", "גן ")


def _has_any(names: pl.Series, words: tuple[str, ...]) -> np.ndarray:
    hit = np.zeros(len(names), dtype=bool)
    for w in words:
        hit |= names.str.contains(w, literal=True).fill_null(False).to_numpy()
    return hit


def _cover_all_grades(authority, names, pik, me, ad, inferred, named_stage, symbols) -> None:
    """An authority with several schools usually offers every grade: where the inferred ranges leave a
    band (7-9 or 10-12) uncovered, widen one of its schools whose name does not state its stage to 7-12
    (in place). Authorities with one or two schools keep sending older children elsewhere."""
    order = np.lexsort((symbols, authority))
    bounds = np.flatnonzero(np.r_[True, authority[order][1:] != authority[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = order[a:b]
        if len(idx) < 3:
            continue
        for lo, hi in ((7, 9), (10, 12)):
            if ((me[idx] <= lo) & (ad[idx] >= hi)).any() or ((me[idx] <= hi) & (ad[idx] >= lo)).any():
                continue
            free = idx[inferred[idx] & ~named_stage[idx] & (pik[idx] != 3)]
            if len(free):
                pick = free[-1]
                me[pick], ad[pick] = 7, 12


def complete_schools(world: World, rng: np.random.Generator) -> pl.DataFrame:
    """The world's schools with every attribute the feed needs, one row per school (same order)."""
    s = world.schools.join(world.localities.select("SEMEL_YISHUV", "SEMEL_RASHUT", "SHARE_JEWISH", "SHARE_MUSLIM",
                                                   "SHARE_CHRISTIAN", "SHARE_DRUZE", "SHARE_DATI",
                                                   "SHARE_HAREDI", "BEDOUIN", "LON", "LAT"),
                           on="SEMEL_YISHUV", how="left", maintain_order="left")
    n = s.height
    names = s["SHEM_MOSAD"]
    u = rng.random((n, 6))

    # Supervision: kept if set; else from the locality's population groups, then name words.
    pik = s["PIKUACH"].to_numpy().astype(float)
    jew, mus, chr_, dru = (s[c].fill_null(0.0).to_numpy() for c in
                           ("SHARE_JEWISH", "SHARE_MUSLIM", "SHARE_CHRISTIAN", "SHARE_DRUZE"))
    dati, haredi = s["SHARE_DATI"].fill_null(0.0).to_numpy(), s["SHARE_HAREDI"].fill_null(0.0).to_numpy()
    haredi_word, dati_word = _has_any(names, _HAREDI_WORDS), _has_any(names, _DATI_WORDS)
    # A school in a mixed locality is Arab with the locality's Arab share, unless its name is Jewish-religious.
    arab_share = mus + chr_
    is_druze = (u[:, 0] < dru)
    is_arab = ~is_druze & (u[:, 0] < dru + arab_share) & ~haredi_word & ~dati_word
    jewish_kind = np.where(haredi_word, HAREDI, np.where(dati_word, DATI,
                           # Unnamed Jewish schools: religious and Haredi in proportion to the locality,
                           # halved because the name words already catch many of them.
                           np.where(u[:, 1] < haredi * 0.5, HAREDI,
                                    np.where(u[:, 1] < haredi * 0.5 + dati * 0.6, DATI, MAMLACHTI))))
    inferred = np.where(is_druze, DRUZE_STREAM, np.where(is_arab, ARAB, jewish_kind))
    pik = np.where(np.isnan(pik), inferred, pik).astype(np.int64)

    # Approved grade range: kept if set; else from name words, else a plausible mix.
    me = s["ME_SHICHVA"].to_numpy().astype(float)
    ad = s["AD_SHICHVA"].to_numpy().astype(float)
    high, middle, elem = _has_any(names, _HIGH_WORDS), _has_any(names, _MIDDLE_WORDS), _has_any(names, _ELEM_WORDS)
    ranges = np.array([(1, 6), (1, 8), (7, 9), (10, 12), (7, 12), (1, 12), (9, 12)])
    pick_any = np.searchsorted(np.cumsum([0.60, 0.07, 0.09, 0.08, 0.12, 0.04, 0.0]), u[:, 2], side="right")
    pick_any = np.minimum(pick_any, len(ranges) - 1)
    choice = np.where(middle, 2, np.where(high, np.where(u[:, 3] < 0.5, 4, 3), np.where(elem, 0, pick_any)))
    # Haredi elementary schools usually run to grade 8; their yeshivot ketanot from grade 9.
    choice = np.where((pik == HAREDI) & (choice == 0), 1, choice)
    choice = np.where((pik == HAREDI) & (choice == 3), 6, choice)
    inferred_range = np.isnan(me)
    me = np.where(inferred_range, ranges[choice, 0], me).astype(np.int64)
    ad = np.where(inferred_range, ranges[choice, 1], ad).astype(np.int64)
    _cover_all_grades(s["SEMEL_RASHUT"].to_numpy(), names, pik, me, ad, inferred_range, high | middle | elem,
                      s["SEMEL_MOSAD"].to_numpy())

    special = s["SPECIAL"].to_numpy()
    special_inferred = _has_any(names, _SPECIAL_WORDS) | (u[:, 4] < 0.02)
    special = np.array([sp if sp is not None else inf for sp, inf in zip(special, special_inferred)], dtype=bool)

    sug_mosad = np.where(_has_any(names, ("תלמוד תורה", "ת\"ת")), 4,
                         np.where(_has_any(names, ("אולפנ",)), 3, np.where(_has_any(names, ("ישיבה", "ישיבת")), 2, 1)))
    # Legal status: Haredi schools are mostly recognised-unofficial or exempt; a few others are recognised.
    maamad = np.where(pik == HAREDI, np.where(u[:, 5] < 0.7, 2, 3),
                      np.where(u[:, 5] < 0.04, 2, 1))
    bedouin = s["BEDOUIN"].fill_null(False).to_numpy()
    migzar = np.select([pik <= HAREDI, pik == DRUZE_STREAM, bedouin], [1, 3, 4], 2)
    shlav_of = {(1, 6): 1, (7, 9): 2, (10, 12): 3, (9, 12): 3, (7, 12): 4, (1, 8): 5, (1, 9): 5, (1, 12): 6}
    shlav = np.array([shlav_of.get((a, b), 6 if a <= 6 and b >= 10 else (1 if b <= 6 else 4))
                      for a, b in zip(me, ad)], dtype=np.int64)
    mutav = np.where(maamad == 1, 1, np.where(u[:, 4] < 0.5, 2, 3))
    # Size: a relative weight for how many of an area's children choose the school.
    weight = rng.lognormal(0.0, 0.5, n) * np.where(special, 0.15, 1.0)

    lon = s["LONGITUDE"].fill_null(s["LON"]).to_numpy()
    lat = s["LATITUDE"].fill_null(s["LAT"]).to_numpy()
    return s.select("SEMEL_MOSAD", "SHEM_MOSAD", "SEMEL_YISHUV", "SEMEL_RASHUT", "LONGITUDE", "LATITUDE").with_columns(
        PIKUACH=pl.Series(pik), ME_SHICHVA=pl.Series(me), AD_SHICHVA=pl.Series(ad), SPECIAL=pl.Series(special),
        SUG_MOSAD=pl.Series(sug_mosad), MAAMAD=pl.Series(maamad), MIGZAR=pl.Series(migzar),
        SHLAV=pl.Series(shlav), MUTAV=pl.Series(mutav), WEIGHT=pl.Series(weight),
        X=pl.Series(lon), Y=pl.Series(lat),
    )


__all__ = ["complete_schools", "MIGZAR", "SUG_CHINUCH", "SHLAV", "SUG_MOSAD", "MAAMAD"]
