"""Synthetic people on a world: students, families, contact persons, placements, classes and tracks,
returned as the seven feed tables (every value text, as the files carry it).

Everything is vectorised over numpy arrays: the only Python loops run over localities, school-grade
combinations or tracks, never over students, so the national feed (~2.3 million students) is fast.
Realistic problems are planted on purpose (see docs/generator.md): unplaced compulsory-age residents,
students studying in another authority, placement history, classes over their maximum, tracks over
their quota, contacts without a phone or refusing information, malformed phones and e-mails. None of
them breaks the ingest rules: identity numbers stay valid and every reference resolves.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import polars as pl

from data import idnumber
from data.generator_schools import MAAMAD, MIGZAR, SHLAV, SUG_CHINUCH, SUG_MOSAD, complete_schools
from data.generator_world import (ARAB, CHRISTIAN, DATI, DRUZE, DRUZE_STREAM, HAREDI, JEWISH, MAMLACHTI, MUSLIM,
                                  PIKUACH, World)

# Proportions of the planted phenomena (fractions of students, classes, tracks or contacts).
UNPLACED = 0.012          # compulsory-age residents with no active placement
HISTORY = 0.04            # students with an earlier, left placement this year
MOVED_WITH_HISTORY = 0.3  # of those, the earlier row has another residence locality
AWAY = 0.03               # study outside their authority by choice
AWAY_REGIONAL = (0.05, 0.2)  # the same in regional councils' localities: elementary, grades 7-12
OVER_MAX_CLASSES = 0.02
MISCOUNTED_CLASSES = 0.03
OVER_QUOTA_TRACKS = 0.05
PASSPORT, TEMPORARY = 0.005, 0.003
NO_PHONE, NO_INFO = 0.03, 0.03
BAD_PHONE, BAD_EMAIL = 0.007, 0.01

GRADE_LETTERS = ["", "א", "ב", "ג", "ד", "ה", "ו", "ז", "ח", "ט", "י", "יא", "יב", "יג", "יד"]
STATUS = {1: "נרשם", 2: "מועמד", 3: "משובץ", 4: "לא נרשם", 5: "עזב"}
SIBAT_AZIVA = [1, 2, 3, 4, 9]      # מעבר דירה, ירידה מהארץ, נשירה, חינוך ביתי, אחר
KIRVA = {1: "אב", 2: "אם", 3: "אפוטרופוס", 4: "קרוב משפחה", 9: "אחר"}
SUG_KITA = {1: "רגילה", 2: "חינוך מיוחד"}
STATUS_ISHUR = {1: "מאושר", 2: "בבדיקה"}
MOBILE_PREFIXES = np.array(["050", "052", "053", "054", "055", "058"])
AREA_CODE = {"ירושלים": "02", "תל אביב": "03", "המרכז": "09", "חיפה": "04", "הצפון": "04", "הדרום": "08",
             "יהודה והשומרון": "02"}
EMAIL_DOMAINS = np.array(["gmail.com", "walla.co.il", "hotmail.com", "yahoo.com", "012.net.il", "bezeqint.net"])
EMAIL_HANDLES = np.array("dana yossi noa avi maya omer tamar itay shira eyal lior moshe rina adi gal hila ron "
                         "yael amir nir sara david mohammad ahmad rami lina nour samer fadi reem".split())
# Ministry track codes (this project's reference values) and names; Haredi and Arab schools differ a little.
TRACKS = [("101", "מדעי המחשב"), ("102", "ביולוגיה"), ("103", "פיזיקה"), ("104", "כימיה"), ("105", "ספרות"),
          ("106", "היסטוריה"), ("107", "אמנות"), ("108", "תקשורת"), ("109", "מדעי החברה"), ("110", "מוזיקה"),
          ("111", "תיאטרון"), ("112", "הנדסת תוכנה"), ("113", "אלקטרוניקה"), ("114", "מנהל עסקים"),
          ("115", "גיאוגרפיה"), ("116", "חינוך גופני")]
TRACKS_HAREDI = [("201", "תורה שבעל פה"), ("202", "תלמוד"), ("203", "מחשבת ישראל"), ("101", "מדעי המחשב"),
                 ("114", "מנהל עסקים")]
TRACKS_ARAB_EXTRA = [("301", "ספרות ערבית"), ("302", "מורשת")]


@dataclass
class FeedResult:
    tables: dict[str, pl.DataFrame]
    stats: dict = field(default_factory=dict)


def school_year(date: dt.date) -> int:
    """SHNAT_LIMUDIM containing date: the year in which the school year (from September) ends."""
    return date.year + 1 if date.month >= 9 else date.year


def _runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of a sorted array with where each run starts and its length. (numpy's own
    np.unique takes a hashing path on large integer arrays that is many times slower than sorting.)"""
    if not len(sorted_values):
        return sorted_values, np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    return sorted_values[first], first, np.diff(np.r_[first, len(sorted_values)])


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(values, kind="stable")
    uniq, first, counts = _runs(values[order])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.repeat(np.arange(len(uniq)), counts)
    return uniq, inverse


def _pick_weighted(query_group: np.ndarray, table_group: np.ndarray, table_weight: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """For each query, the index of a table row of the same group, drawn by weight. Vectorised: each
    group's cumulative weights are scaled into [rank, rank + 1) and one searchsorted finds them all.
    Every queried group must exist in the table."""
    order = np.argsort(table_group, kind="stable")
    tg, tw = table_group[order], table_weight[order].astype(np.float64)
    groups, starts, _ = _runs(tg)
    ends = np.append(starts[1:], len(tg))
    rank = np.repeat(np.arange(len(groups)), ends - starts)
    cw = np.cumsum(tw)
    base = np.concatenate([[0.0], cw])[starts]
    total = cw[ends - 1] - base
    key = rank + (cw - np.repeat(base, ends - starts)) / np.repeat(total, ends - starts)
    qrank = np.searchsorted(groups, query_group)
    if np.any(qrank >= len(groups)) or np.any(groups[np.minimum(qrank, len(groups) - 1)] != query_group):
        raise ValueError("a queried group is missing from the table")
    pos = np.searchsorted(key, qrank + rng.random(len(query_group)), side="right")
    pos = np.minimum(pos, np.repeat(ends, 1)[qrank] - 1)  # guards the rank + 1.0 edge of rounding
    return order[pos]


def _dates(days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 -> ISO date strings."""
    return pl.Series(np.asarray(days, dtype=np.int64)).cast(pl.Int32).cast(pl.Date).cast(pl.String)


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String).str.zfill(width)


def _text(values) -> pl.Series:
    return pl.Series(np.asarray(values)).cast(pl.String)


def _where(mask: np.ndarray, yes: pl.Series, no: pl.Series | None = None) -> pl.Series:
    """Element-wise choice between two text Series (no Series = missing)."""
    frame = pl.DataFrame({"m": np.asarray(mask, dtype=bool), "y": yes})
    if no is None:
        return frame.select(pl.when(pl.col("m")).then(pl.col("y")).alias("v")).to_series()
    return frame.with_columns(n=no).select(pl.when(pl.col("m")).then(pl.col("y")).otherwise(pl.col("n"))
                                          .alias("v")).to_series()


def _null_where(series: pl.Series, mask: np.ndarray) -> pl.Series:
    return _where(~np.asarray(mask, dtype=bool), series)


class _Addresses:
    """Addresses in a locality: a real street where the locality has streets, else the CBS code 9000
    (the locality's own name), as in villages without street names. Kept as indices until written."""

    def __init__(self, world: World, loc_code: np.ndarray, loc_regional: np.ndarray, rng: np.random.Generator):
        L = len(loc_code)
        self.rng, self.loc_regional = rng, loc_regional
        self.loc_code = pl.Series(loc_code)
        self.loc_name = world.localities["SHEM_YISHUV"]
        self.loc_num = self.loc_code.str.to_integer(strict=False).fill_null(0).to_numpy()
        streets = world.streets.join(pl.DataFrame({"SEMEL_YISHUV": loc_code, "_loc": np.arange(L)}),
                                     on="SEMEL_YISHUV", how="inner").sort("_loc", "SEMEL_RECHOV")
        self.street_loc = streets["_loc"].to_numpy()
        self.street_code, self.street_name = streets["SEMEL_RECHOV"], streets["SHEM_RECHOV"]
        self.street_num = self.street_code.str.to_integer(strict=False).fill_null(9000).to_numpy()
        self.has_streets = np.zeros(L, dtype=bool)
        self.has_streets[self.street_loc] = True

    def draw(self, locs: np.ndarray) -> dict:
        n, rng = len(locs), self.rng
        street = np.full(n, -1, dtype=np.int64)
        with_st = self.has_streets[locs]
        if with_st.any():
            street[with_st] = _pick_weighted(locs[with_st], self.street_loc, np.ones(len(self.street_loc)), rng)
        house = np.minimum(1 + (rng.pareto(1.3, n) * 12).astype(np.int64), 180)
        flat = np.where(self.loc_regional[locs] | (rng.random(n) < 0.3), 0, rng.integers(1, 30, n))
        rech_num = np.where(street >= 0, self.street_num[np.maximum(street, 0)], 9000)
        mikud = 1_000_000 + (self.loc_num[locs] * 7919 + rech_num * 131 + house // 10) % 9_000_000
        return {"loc": locs, "street": street, "house": house, "flat": flat, "mikud": mikud}

    def take(self, a: dict, idx: np.ndarray | None = None) -> dict:
        return a if idx is None else {k: v[idx] for k, v in a.items()}

    def street_code_of(self, a: dict) -> pl.Series:
        st = a["street"]
        return _where(st >= 0, self.street_code.gather(np.maximum(st, 0)), pl.Series(["9000"] * len(st)))

    def street_name_of(self, a: dict) -> pl.Series:
        st = a["street"]
        return _where(st >= 0, self.street_name.gather(np.maximum(st, 0)), self.loc_name.gather(a["loc"]))


def build_feed(world: World, n_students: int, date: dt.date, seed: int,
               emit: Callable[[str, pl.DataFrame], None] | None = None) -> FeedResult:
    """The feed's tables. With `emit`, each table is handed to it as soon as it is made and not kept,
    so the national feed never holds all seven in memory at once."""
    rng = np.random.default_rng(seed)
    tables: dict[str, pl.DataFrame] = {}

    def put(prefix: str, df: pl.DataFrame) -> None:
        if emit is None:
            tables[prefix] = df
        else:
            emit(prefix, df)
    year = school_year(date)
    year_start = _day(dt.date(year - 1, 9, 1))
    today = _day(date)

    # ---------------------------------------------------------------- localities and authorities
    loc = world.localities
    L = loc.height
    loc_code_np = loc["SEMEL_YISHUV"].to_numpy()
    loc_code = loc["SEMEL_YISHUV"]
    auth_codes, loc_auth = _unique_inverse(loc["SEMEL_RASHUT"].to_numpy())
    loc_regional = loc["SUG_RASHUT"].to_numpy() == 3
    loc_area = pl.Series([AREA_CODE.get(m, "08") for m in loc["MACHOZ"].fill_null("").to_list()], dtype=pl.String)
    pop = loc["POPULATION"].fill_null(0).to_numpy().astype(np.float64)
    shares = np.column_stack([loc[c].fill_null(0.0).to_numpy() for c in
                              ("SHARE_JEWISH", "SHARE_MUSLIM", "SHARE_CHRISTIAN", "SHARE_DRUZE")])
    shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1e-12)
    loc_x, loc_y = loc["LON"].fill_null(35.0).to_numpy(), loc["LAT"].fill_null(31.8).to_numpy()
    addresses = _Addresses(world, loc_code_np, loc_regional, rng)

    # Students per locality by population share (largest remainder, so the total is exact).
    raw = pop / pop.sum() * n_students
    per_loc = np.floor(raw).astype(np.int64)
    short = n_students - per_loc.sum()
    per_loc[np.argsort(-(raw - per_loc), kind="stable")[:short]] += 1
    stu_loc = np.repeat(np.arange(L), per_loc)
    N = n_students

    # ---------------------------------------------------------------- families
    sizes = rng.choice([1, 2, 3, 4], p=[0.50, 0.28, 0.15, 0.07], size=N)
    starts = np.cumsum(sizes) - sizes
    new_family = np.zeros(N, dtype=bool)
    new_family[starts[starts < N]] = True
    new_family[0] = True
    new_family[1:] |= stu_loc[1:] != stu_loc[:-1]
    stu_fam = np.cumsum(new_family) - 1
    F = int(stu_fam[-1]) + 1
    fam_loc = stu_loc[new_family]
    cum = np.cumsum(shares[fam_loc], axis=1)
    fam_group = (rng.random(F)[:, None] >= cum[:, :3]).sum(axis=1)
    u = rng.random(F)
    dati_share = loc["SHARE_DATI"].fill_null(0.0).to_numpy()[fam_loc]
    haredi_share = loc["SHARE_HAREDI"].fill_null(0.0).to_numpy()[fam_loc]
    fam_stream = np.select([fam_group == DRUZE, fam_group != JEWISH, u < haredi_share, u < haredi_share + dati_share],
                           [DRUZE_STREAM, ARAB, HAREDI, DATI], MAMLACHTI)

    names_tbl, sur_tbl = world.first_names, world.surnames
    sur_groups, first_groups = set(sur_tbl["GROUP"].to_list()), set(names_tbl["GROUP"].to_list())
    sur_group_np, sur_w = sur_tbl["GROUP"].to_numpy(), sur_tbl["WEIGHT"].to_numpy()
    first_key_tbl = names_tbl["GROUP"].to_numpy() * 10 + names_tbl["SEX"].to_numpy()
    first_w = names_tbl["WEIGHT"].to_numpy()

    def fallback(groups: np.ndarray, available: set) -> np.ndarray:
        # A group without names of its own borrows the nearest one (Christian/Druze -> Muslim -> Jewish).
        out = groups.copy()
        for g, alts in ((CHRISTIAN, (MUSLIM, JEWISH)), (DRUZE, (MUSLIM, JEWISH)), (MUSLIM, (JEWISH,)),
                        (JEWISH, (MUSLIM,))):
            if g not in available:
                out[out == g] = next(a for a in alts if a in available)
        return out

    def first_name(groups: np.ndarray, sex: np.ndarray) -> pl.Series:
        idx = _pick_weighted(fallback(groups, first_groups) * 10 + sex, first_key_tbl, first_w, rng)
        return names_tbl["NAME"].gather(idx)

    def surname_idx(groups: np.ndarray) -> np.ndarray:
        return _pick_weighted(fallback(groups, sur_groups), sur_group_np, sur_w, rng)

    fam_surname = surname_idx(fam_group)
    fam_addr = addresses.draw(fam_loc)

    # ---------------------------------------------------------------- students
    grade_w = 1.02 ** (12 - np.arange(1, 13))
    grade = rng.choice(np.arange(1, 13), p=grade_w / grade_w.sum(), size=N)
    sex = rng.integers(1, 3, N)
    birth_year = year - 6 - grade
    y0 = np.asarray(birth_year - 1970, dtype="int64").astype("datetime64[Y]")
    first_day = y0.astype("datetime64[D]").astype(np.int64)
    year_len = (y0 + 1).astype("datetime64[D]").astype(np.int64) - first_day
    birth = first_day + (rng.random(N) * year_len).astype(np.int64)
    stu_group = fam_group[stu_fam]
    stu_stream = fam_stream[stu_fam]
    stu_first = first_name(stu_group, sex)

    # ---------------------------------------------------------------- schools and placement
    schools = complete_schools(world, rng)
    S = schools.height
    code_to_loc = {c: i for i, c in enumerate(loc_code_np)}
    s_loc = np.array([code_to_loc[c] for c in schools["SEMEL_YISHUV"].to_list()], dtype=np.int64)
    s_auth = loc_auth[s_loc]
    s_stream = schools["PIKUACH"].to_numpy()
    s_me, s_ad = schools["ME_SHICHVA"].to_numpy(), schools["AD_SHICHVA"].to_numpy()
    s_weight = schools["WEIGHT"].to_numpy()
    s_special = schools["SPECIAL"].to_numpy()
    s_x, s_y = schools["X"].to_numpy(), schools["Y"].to_numpy()
    coslat = np.cos(np.radians(31.5))

    away_p = np.where(loc_regional[stu_loc], np.where(grade >= 7, AWAY_REGIONAL[1], AWAY_REGIONAL[0]), AWAY)
    away = rng.random(N) < away_p
    combo = ((stu_loc * 8 + stu_stream) * 16 + grade) * 2 + away
    combos, stu_combo = _unique_inverse(combo)
    stream_alts = {MAMLACHTI: (DATI,), DATI: (MAMLACHTI,), HAREDI: (DATI, MAMLACHTI), ARAB: (DRUZE_STREAM,),
                   DRUZE_STREAM: (ARAB,)}
    pools: dict[tuple[int, int], np.ndarray] = {}

    def pool(stream: int, g: int) -> np.ndarray:
        # Schools a child of this stream can attend in grade g; another stream's when none exists.
        # (Special-education schools are in the pool with a low weight: few children are referred.)
        key = (stream, g)
        if key not in pools:
            offers = (s_me <= g) & (s_ad >= g)
            found = np.flatnonzero(offers & (s_stream == stream))
            for alt in stream_alts.get(stream, ()):
                if len(found):
                    break
                found = np.flatnonzero(offers & (s_stream == alt))
            if not len(found):
                found = np.flatnonzero(offers)
            pools[key] = found
        return pools[key]

    cand_combo, cand_school, cand_weight = [], [], []
    for ci, c in enumerate(combos):
        is_away, g, stream, li = c % 2, (c // 2) % 16, (c // 32) % 8, c // 256
        p = pool(int(stream), int(g))
        if not len(p):
            raise ValueError(f"no school in the world offers grade {g}")
        same_auth = s_auth[p] == loc_auth[li]
        d = (s_x[p] - loc_x[li]) ** 2 * coslat ** 2 + (s_y[p] - loc_y[li]) ** 2
        if is_away and (~same_auth).any():
            chosen = p[~same_auth][np.argsort(d[~same_auth], kind="stable")[:4]]
        else:
            local = p[s_loc[p] == li]
            if len(local):
                chosen = local
            elif same_auth.any():
                chosen = p[same_auth]
            else:
                chosen = p[np.argsort(d, kind="stable")[:3]]
        cand_combo.append(np.full(len(chosen), ci))
        cand_school.append(chosen)
        cand_weight.append(s_weight[chosen])
    cand_school = np.concatenate(cand_school)
    stu_school = cand_school[_pick_weighted(stu_combo, np.concatenate(cand_combo), np.concatenate(cand_weight), rng)]

    # ---------------------------------------------------------------- statuses
    unplaced = rng.random(N) < UNPLACED
    active = ~unplaced
    history = active & (rng.random(N) < HISTORY)

    # ---------------------------------------------------------------- classes (KITOT)
    act_idx = np.flatnonzero(active)
    target = np.where(s_special, rng.integers(8, 13, S), rng.integers(24, 33, S))
    sg = stu_school[act_idx] * 16 + grade[act_idx]
    order = np.lexsort((rng.random(len(act_idx)), sg))
    groups, g_start, g_count = _runs(sg[order])
    n_classes = np.maximum(1, np.ceil(g_count / target[groups // 16]).astype(np.int64))
    rank_in_group = np.arange(len(order)) - np.repeat(g_start, g_count)
    makbila = np.zeros(N, dtype=np.int64)
    makbila[act_idx[order]] = rank_in_group % np.repeat(n_classes, g_count) + 1
    cls_school = np.repeat(groups // 16, n_classes)
    cls_grade = np.repeat(groups % 16, n_classes)
    cls_makbila = np.arange(n_classes.sum()) - np.repeat(np.cumsum(n_classes) - n_classes, n_classes) + 1
    cls_key = (cls_school * 16 + cls_grade) * 4096 + cls_makbila      # sorted, as groups are
    cls_count = np.bincount(np.searchsorted(cls_key, ((stu_school * 16 + grade) * 4096 + makbila)[act_idx]),
                            minlength=len(cls_key))
    C = len(cls_key)
    cls_special = s_special[cls_school]
    cls_max = np.maximum(np.where(cls_special, 14, rng.choice([32, 34, 36, 40], C)), cls_count)
    over = (rng.random(C) < OVER_MAX_CLASSES) & (cls_count >= 8)
    cls_max = np.where(over, cls_count - rng.integers(1, 4, C), cls_max)
    # The minimum never passes the maximum (ingest rejects such a class), even in an over-full one.
    cls_min = np.minimum(np.where(cls_special, 6, rng.choice([10, 15, 20], C)), cls_max)
    miscount = rng.random(C) < MISCOUNTED_CLASSES
    cls_mispar = np.maximum(0, cls_count + np.where(miscount, rng.choice([-3, -2, -1, 1, 2, 3], C), 0))

    # ---------------------------------------------------------------- tracks (MEGAMOT), grades 10-12
    hs_groups = groups[groups % 16 >= 10]
    n_tracks = np.clip(np.round(g_count[groups % 16 >= 10] / 28).astype(np.int64) + 1, 1, 6)
    trk_rows = []
    for key, m in zip(hs_groups.tolist(), n_tracks.tolist()):
        si = key // 16
        options = TRACKS_HAREDI if s_stream[si] == HAREDI else \
            (TRACKS[:10] + TRACKS_ARAB_EXTRA if s_stream[si] in (ARAB, DRUZE_STREAM) else TRACKS)
        for j, t in enumerate(rng.choice(len(options), size=min(m, len(options)), replace=False)):
            trk_rows.append((key, j + 1, options[t][0], options[t][1]))
    T = len(trk_rows)
    trk_key = np.array([r[0] for r in trk_rows], dtype=np.int64)
    trk_j = np.array([r[1] for r in trk_rows], dtype=np.int64)
    # A track for each active student in grades 10-12, uniformly among the school-grade's tracks.
    stu_track = np.zeros(N, dtype=np.int64)
    hs_idx = np.flatnonzero(active & (grade >= 10))
    trk_count = np.zeros(T, dtype=np.int64)
    if len(hs_idx):
        hs_key = stu_school[hs_idx] * 16 + grade[hs_idx]
        tracks_per = np.bincount(trk_key, minlength=int(hs_key.max()) + 1)
        stu_track[hs_idx] = (rng.random(len(hs_idx)) * tracks_per[hs_key]).astype(np.int64) + 1
        trk_full = trk_key * 16 + trk_j                                  # sorted: rows were made in order
        trk_count = np.bincount(np.searchsorted(trk_full, hs_key * 16 + stu_track[hs_idx]), minlength=T)
    quota = trk_count + rng.integers(0, 9, T)
    over_q = (rng.random(T) < OVER_QUOTA_TRACKS) & (trk_count >= 5)
    quota = np.where(over_q, trk_count - rng.integers(1, 5, T), quota)

    # ---------------------------------------------------------------- placement dates
    # Active rows: the placement began when the student entered the school (1 September).
    entered = np.maximum(s_me[stu_school], 1)
    start_year = year - 1 - np.clip(grade - entered, 0, 11)
    september = np.asarray((start_year - 1970) * 12 + 8, dtype="int64").astype("datetime64[M]")
    hatchala = np.minimum(september.astype("datetime64[D]").astype(np.int64), today)
    idkun = hatchala + (rng.random(N) * (today - hatchala + 1)).astype(np.int64)

    # Donors: the class a student left is one that really exists (a random active student's of the same
    # grade, preferably living in the same locality), so every reference in the feed resolves.
    act_key = grade[act_idx] * 1_000_000 + stu_loc[act_idx]
    act_order = np.argsort(act_key, kind="stable")
    act_sorted_key, act_sorted_grade = act_key[act_order], grade[act_idx][act_order]

    def has_donor(who: np.ndarray) -> np.ndarray:
        g = grade[who]
        return np.searchsorted(act_sorted_grade, g, "right") > np.searchsorted(act_sorted_grade, g, "left")

    def donors(who: np.ndarray) -> np.ndarray:
        qk = grade[who] * 1_000_000 + stu_loc[who]
        lo, hi = np.searchsorted(act_sorted_key, qk, "left"), np.searchsorted(act_sorted_key, qk, "right")
        glo = np.searchsorted(act_sorted_grade, grade[who], "left")
        ghi = np.searchsorted(act_sorted_grade, grade[who], "right")
        empty = hi <= lo
        lo, hi = np.where(empty, glo, lo), np.where(empty, ghi, hi)
        if np.any(hi <= lo):
            raise ValueError("no active student in some grade to take a left class from")
        return act_idx[act_order[lo + (rng.random(len(who)) * (hi - lo)).astype(np.int64)]]

    un_idx = np.flatnonzero(unplaced)
    # (In a tiny feed a grade may have no active student to have left a class of: such a student is
    # registered but not placed instead.)
    un_left = (rng.random(len(un_idx)) < 0.8) & has_donor(un_idx)
    hist_idx = np.flatnonzero(history)
    n_un_left = int(un_left.sum())

    # Left rows: unplaced students who left, and the earlier placement of students with history.
    left_who = np.concatenate([un_idx[un_left], hist_idx])
    n_left = len(left_who)
    left_donor = donors(left_who) if n_left else np.array([], dtype=np.int64)
    aziva = year_start - 200 + (rng.random(n_left) * (today - 1 - (year_start - 200))).astype(np.int64)
    left_start = np.minimum(aziva - 1, year_start - 365 * rng.integers(0, 3, n_left))
    sibat = np.where(np.arange(n_left) >= n_un_left, 1, rng.choice(SIBAT_AZIVA, n_left))
    left_idkun = np.minimum(aziva + rng.integers(0, 10, n_left), today)
    # A student with history started the current placement after leaving the earlier one.
    hatchala[hist_idx] = np.minimum(aziva[n_un_left:] + rng.integers(1, 8, len(hist_idx)), today)
    left_idkun[n_un_left:] = np.minimum(left_idkun[n_un_left:], hatchala[hist_idx] - 1)
    idkun[hist_idx] = hatchala[hist_idx] + (rng.random(len(hist_idx)) * (today - hatchala[hist_idx] + 1)).astype(np.int64)
    # Some of them moved: the earlier row gives the old residence (where the left class's donor lives).
    moved = np.zeros(n_left, dtype=bool)
    moved[n_un_left:] = rng.random(len(hist_idx)) < MOVED_WITH_HISTORY

    # Unplaced students never placed: registered / candidate / not registered, at the school they chose.
    other_who = un_idx[~un_left]
    n_other = len(other_who)
    other_status = rng.choice([1, 2, 4], n_other)
    other_idkun = today - rng.integers(0, 120, n_other)

    # ---------------------------------------------------------------- identity numbers
    comp_tbl = [[1, 2], [2], [1], [3], [1, 2, 4]]
    comp = np.searchsorted(np.cumsum([0.86, 0.08, 0.02, 0.01, 0.03]), rng.random(F), side="right")
    comp = np.minimum(comp, len(comp_tbl) - 1)
    comp_len = np.array([len(c) for c in comp_tbl])[comp]
    K = int(comp_len.sum())
    need = N + K
    # One draw of distinct eight-digit prefixes for students and contact persons alike.
    prefixes = _runs(np.sort(rng.integers(1_000_000, 40_000_000, int(need * 1.05) + 100)))[0]
    while len(prefixes) < need:
        prefixes = _runs(np.sort(np.concatenate([prefixes, rng.integers(1_000_000, 40_000_000, need)])))[0]
    prefixes = rng.permutation(prefixes)[:need]
    ids = idnumber.make_valid_many(prefixes)
    # Passports carry the prefix's eight digits without a check digit; identity and temporary numbers are
    # nine digits with one. (SUG_ZEHUT, MISPAR_ZEHUT) stays unique because the prefixes are distinct.
    stu_sug = np.where(rng.random(N) < PASSPORT, 2, np.where(rng.random(N) < TEMPORARY, 3, 1))
    stu_id = _where(stu_sug == 2, _digits(prefixes[:N], 8), _digits(ids[:N], 9))
    con_sug = np.where(rng.random(K) < PASSPORT, 2, 1)
    con_id = _where(con_sug == 2, _digits(prefixes[N:], 8), _digits(ids[N:], 9))

    # ---------------------------------------------------------------- TALMIDIM
    rows_student = np.concatenate([act_idx, left_who, other_who])
    R = len(rows_student)
    n_act = len(act_idx)
    row_school = np.concatenate([stu_school[act_idx], stu_school[left_donor], stu_school[other_who]])
    row_makbila = np.concatenate([makbila[act_idx], makbila[left_donor], np.zeros(n_other, np.int64)])
    row_track = np.concatenate([stu_track[act_idx], stu_track[left_donor], np.zeros(n_other, np.int64)])
    row_status = np.concatenate([np.full(n_act, 3), np.full(n_left, 5), other_status])
    row_start = np.concatenate([hatchala[act_idx], left_start, np.zeros(n_other, np.int64)])
    row_has_start = np.concatenate([np.ones(n_act + n_left, bool), np.zeros(n_other, bool)])
    row_left = np.concatenate([np.zeros(n_act, bool), np.ones(n_left, bool), np.zeros(n_other, bool)])
    row_aziva = np.concatenate([np.zeros(n_act, np.int64), aziva, np.zeros(n_other, np.int64)])
    row_sibat = np.concatenate([np.zeros(n_act, np.int64), sibat, np.zeros(n_other, np.int64)])
    row_idkun = np.concatenate([idkun[act_idx], left_idkun, other_idkun])
    row_moved = np.concatenate([np.zeros(n_act, bool), moved, np.zeros(n_other, bool)])
    row_addr = addresses.take(fam_addr, stu_fam[rows_student])
    if row_moved.any():
        old = addresses.draw(stu_loc[left_donor[moved]])
        for k in row_addr:
            row_addr[k] = row_addr[k].copy()
            row_addr[k][row_moved] = old[k]
    row_grade = grade[rows_student]
    megama = pl.Series(row_grade).cast(pl.String) + _digits(row_track, 2)

    s_codes = schools["SEMEL_MOSAD"]
    talmidim = pl.DataFrame({
        "SHNAT_LIMUDIM": pl.Series([str(year)] * R),
        "SUG_ZEHUT": _text(stu_sug[rows_student]),
        "MISPAR_ZEHUT": stu_id.gather(rows_student),
        "SHEM_PRATI": stu_first.gather(rows_student),
        "SHEM_MISHPACHA": sur_tbl["NAME"].gather(fam_surname[stu_fam[rows_student]]),
        "CODE_MIN": _text(sex[rows_student]),
        "TAARICH_LEDA": _dates(birth[rows_student]),
        "SEMEL_MOSAD": s_codes.gather(row_school),
        "SHICHVA": _text(row_grade),
        "MAKBILA": _null_where(_text(row_makbila), row_makbila == 0),
        "SEMEL_MEGAMA_MOSAD": _null_where(megama, row_track == 0),
        "CODE_STATUS_RISHUM_TA": _text(row_status),
        "TAARICH_HATCHALA": _null_where(_dates(row_start), ~row_has_start),
        "TAARICH_AZIVA": _null_where(_dates(row_aziva), ~row_left),
        "CODE_SIBAT_AZIVA": _null_where(_text(row_sibat), ~row_left),
        "SEMEL_YISHUV_TAL": loc_code.gather(row_addr["loc"]),
        "SEMEL_RECHOV_TAL": addresses.street_code_of(row_addr),
        "MISPAR_BAYIT_TAL": _text(row_addr["house"]),
        "MISPAR_DIRA_TAL": _null_where(_text(row_addr["flat"]), row_addr["flat"] == 0),
        "MIKUD_7_TAL": _text(row_addr["mikud"]),
        "TAARICH_IDKUN_RESHUMA": _dates(row_idkun),
    })
    # File order: by student, earlier rows first (as the ministry appends history).
    put("TALMIDIM", talmidim[np.lexsort((row_idkun, rows_student))])
    del talmidim, row_addr, megama

    # ---------------------------------------------------------------- contact persons and links
    con_fam = np.repeat(np.arange(F), comp_len)
    con_pos = np.arange(K) - np.repeat(np.cumsum(comp_len) - comp_len, comp_len)
    rel_matrix = np.zeros((len(comp_tbl), 3), dtype=np.int64)
    for i, c in enumerate(comp_tbl):
        rel_matrix[i, :len(c)] = c
    con_rel = rel_matrix[comp[con_fam], con_pos]
    con_sex = np.where(con_rel == 1, 1, np.where(con_rel == 2, 2, rng.integers(1, 3, K)))
    con_group = fam_group[con_fam]
    con_first = first_name(con_group, con_sex)
    # Fathers carry the family name, most mothers too; others often their own.
    keeps_family_name = (con_rel == 1) | ((con_rel == 2) & (rng.random(K) < 0.8)) | (rng.random(K) < 0.3)
    con_surname = sur_tbl["NAME"].gather(np.where(keeps_family_name, fam_surname[con_fam], surname_idx(con_group)))
    con_no_info = rng.random(K) < NO_INFO

    # Links: each student to every contact person of the family.
    fam_con_start = np.cumsum(comp_len) - comp_len
    n_links = comp_len[stu_fam]
    link_stu = np.repeat(np.arange(N), n_links)
    link_con = np.repeat(fam_con_start[stu_fam], n_links) + (np.arange(n_links.sum()) -
                                                            np.repeat(np.cumsum(n_links) - n_links, n_links))
    Lk = len(link_stu)
    link_rel = con_rel[link_con]
    # A relative's link sometimes ended (he no longer takes care of the child).
    ended = (link_rel == 4) & (rng.random(Lk) < 0.5)
    link_birth = birth[link_stu]
    link_start = np.where(link_rel <= 2, link_birth,
                          link_birth + (rng.random(Lk) * (today - link_birth)).astype(np.int64))
    link_end = np.minimum(link_start + 30 + (rng.random(Lk) * (today - link_start)).astype(np.int64), today)
    gormey = pl.DataFrame({
        "SUG_ZEHUT_TALMID": _text(stu_sug[link_stu]),
        "MISPAR_ZEHUT_TALMID": stu_id.gather(link_stu),
        "SUG_ZEHUT_GOREM_KESHER": _text(con_sug[link_con]),
        "MISPAR_ZEHUT_GOREM_KESHER": con_id.gather(link_con),
        "SHEM_PRATI_GOREM_KESHER": con_first.gather(link_con),
        "SHEM_MISHPACHA_GOREM_KESHER": con_surname.gather(link_con),
        "CODE_SUG_KIRVA_GOREM_KESHER": _text(link_rel),
        "HAIM_MESHALEM_GOREM_KESHER": _text((con_pos[link_con] == 0).astype(np.int64)),
        "LEKABEL_MEIDA": _text((~con_no_info[link_con]).astype(np.int64)),
        "TAARICH_HATCHALA_GOREM_KESHER": _dates(link_start),
        "TAARICH_SIYUM_GOREM_KESHER": _null_where(_dates(link_end), ~ended),
    })
    put("GORMEY_KESHER", gormey)
    del gormey, link_stu, link_con, link_rel, link_birth, link_start, link_end, ended

    # Contact details: mobile (sometimes malformed or missing), home phone, e-mail, the family address.
    con_addr = addresses.take(fam_addr, con_fam)
    no_phone = rng.random(K) < NO_PHONE
    has_mobile = ~no_phone & (rng.random(K) < 0.97)
    bad_phone = has_mobile & (rng.random(K) < BAD_PHONE)
    mobile = _digits(rng.integers(2_000_000, 10_000_000, K), 7)
    mobile = _where(bad_phone, mobile.str.slice(0, 6), mobile)
    has_home = ~no_phone & (rng.random(K) < 0.25)
    has_mail = rng.random(K) < 0.55
    bad_mail = has_mail & (rng.random(K) < BAD_EMAIL)
    handle = pl.Series(EMAIL_HANDLES).gather(rng.integers(0, len(EMAIL_HANDLES), K))
    domain = pl.Series(EMAIL_DOMAINS).gather(rng.integers(0, len(EMAIL_DOMAINS), K))
    num = _text(rng.integers(1, 999, K))
    email = _where(bad_mail, handle + num + " at " + domain, handle + "." + num + "@" + domain)
    has_knisa = rng.random(K) < 0.1
    knisa = pl.Series(["א", "ב", "ג"]).gather(rng.integers(0, 3, K))
    tevat = np.where(loc_regional[con_addr["loc"]] & (rng.random(K) < 0.3), rng.integers(1, 999, K), 0)
    con_idkun = today - rng.integers(0, 1100, K)
    pirtey = pl.DataFrame({
        "SUG_ZEHUT": _text(con_sug),
        "MISPAR_ZEHUT": con_id,
        "KIDOMET_NAYAD": _null_where(pl.Series(MOBILE_PREFIXES).gather(rng.integers(0, len(MOBILE_PREFIXES), K)),
                                     ~has_mobile),
        "MISPAR_NAYAD": _null_where(mobile, ~has_mobile),
        "KIDOMET_TEL_BAIT": _null_where(loc_area.gather(con_addr["loc"]), ~has_home),
        "MISPAR_TEL_BAIT": _null_where(_digits(rng.integers(2_000_000, 10_000_000, K), 7), ~has_home),
        "EMAIL_RASHI": _null_where(email, ~has_mail),
        "SEMEL_YISHUV": loc_code.gather(con_addr["loc"]),
        "SEMEL_RECHOV": addresses.street_code_of(con_addr),
        "SHEM_RECHOV": addresses.street_name_of(con_addr),
        "MISPAR_BAYIT": _text(con_addr["house"]),
        "KNISA": _null_where(knisa, ~has_knisa),
        "MISPAR_DIRA": _null_where(_text(con_addr["flat"]), con_addr["flat"] == 0),
        "MIKUD": _text(con_addr["mikud"]),
        "TEVAT_DOAR": _null_where(_text(tevat), tevat == 0),
        "TAARICH_IDKUN": _dates(con_idkun),
    })
    put("PIRTEY_KESHER", pirtey)
    del pirtey

    # ---------------------------------------------------------------- MOSDOT, KITOT, MEGAMOT, RASHUYOT
    mosdot = _mosdot(schools, year, addresses, s_loc, loc_area, rng)
    kitot = pl.DataFrame({
        "SHNAT_LIMUDIM": [str(year)] * C,
        "ID_KITA": _text(np.arange(C) + 100_001),
        "SEMEL_MOSAD": s_codes.gather(cls_school),
        "SHICHVA": _text(cls_grade),
        "MAKBILA": _text(cls_makbila),
        "SHEM_KITA": [f"{GRADE_LETTERS[g]}'{m}" if len(GRADE_LETTERS[g]) == 1 else f"{GRADE_LETTERS[g]}{m}"
                      for g, m in zip(cls_grade.tolist(), cls_makbila.tolist())],
        "CODE_SUG_KITA": _text(np.where(cls_special, 2, 1)),
        "TEUR_SUG_KITA": [SUG_KITA[c] for c in np.where(cls_special, 2, 1).tolist()],
        "MIN_TALMIDIM": _text(cls_min),
        "MAX_TALMIDIM": _text(cls_max),
        "MISPAR_TALMIDIM": _text(cls_mispar),
    }, schema_overrides={"SHEM_KITA": pl.String, "TEUR_SUG_KITA": pl.String, "SHNAT_LIMUDIM": pl.String})
    cls_status = np.where(rng.random(C) < 0.05, 2, 1)
    kitot = kitot.with_columns(STATUS_ISHUR=_text(cls_status),
                               TEUR_STATUS_ISHUR=pl.Series([STATUS_ISHUR[c] for c in cls_status.tolist()],
                                                           dtype=pl.String))

    trk_grade = trk_key % 16
    trk_status = np.where(rng.random(T) < 0.06, 2, 1)
    trk_names = [r[3] for r in trk_rows]
    megamot = pl.DataFrame({
        "SHNAT_LIMUDIM": [str(year)] * T,
        "ID_MEGAMA": _text(np.arange(T) + 500_001),
        "SEMEL_MOSAD": s_codes.gather(trk_key // 16),
        "SEMEL_MEGAMA": [r[2] for r in trk_rows],
        "SEMEL_MEGAMA_MOSAD": _text(trk_grade) + _digits(trk_j, 2),
        "SHEM_MEGAMA_MOSAD": [f"{n} {GRADE_LETTERS[g]}" for n, g in zip(trk_names, trk_grade.tolist())],
        "TEUR_MEGAMA": trk_names,
        "SHICHVA": _text(trk_grade),
        "MICHSAT_TALMIDIM_MEVUKESHET": _text(np.maximum(quota, trk_count) + rng.integers(0, 6, T)),
        "MICHSAT_TALMIDIM": _text(quota),
        "STATUS_ISHUR_MEGAMA": _text(trk_status),
        "TEUR_STATUS_ISHUR_MEGAMA": [STATUS_ISHUR[c] for c in trk_status.tolist()],
        "TAARICH_STATUS_ISHUR_MEGAMA": _dates(_day(dt.date(year - 1, 3, 1)) + rng.integers(0, 150, T)),
    }, schema_overrides={c: pl.String for c in ("SHNAT_LIMUDIM", "SEMEL_MEGAMA", "SHEM_MEGAMA_MOSAD",
                                                "TEUR_MEGAMA", "TEUR_STATUS_ISHUR_MEGAMA")})

    rashuyot = loc.select("SEMEL_YISHUV", "SHEM_YISHUV", "SEMEL_RASHUT", "SHEM_RASHUT",
                          pl.col("SUG_RASHUT").cast(pl.String), "MACHOZ")

    for prefix, df in (("MOSDOT", mosdot), ("KITOT", kitot), ("MEGAMOT", megamot), ("RASHUYOT", rashuyot)):
        put(prefix, df)
    cross = active & (s_auth[stu_school] != loc_auth[stu_loc])
    stats = {
        "school_year": year, "students": N, "families": F, "contact_persons": K,
        "authorities": len(auth_codes), "localities": L, "institutions": S,
        "unplaced_residents": int(unplaced.sum()), "students_with_history": int(history.sum()),
        "cross_authority_students": int(cross.sum()), "classes_over_max": int((cls_count > cls_max).sum()),
        "tracks_over_quota": int((trk_count > quota).sum()),
        "regional_council_students_elsewhere": int((cross & loc_regional[stu_loc]).sum()),
    }
    return FeedResult(tables=tables, stats=stats)


def _mosdot(schools: pl.DataFrame, year: int, addresses: _Addresses, s_loc: np.ndarray, loc_area: pl.Series,
            rng: np.random.Generator) -> pl.DataFrame:
    S = schools.height
    addr = addresses.draw(s_loc)
    street = addresses.street_name_of(addr).to_list()
    town = addresses.loc_name.gather(s_loc).to_list()
    phone = rng.integers(2_000_000, 10_000_000, S)
    special = schools["SPECIAL"].to_numpy()
    chinuch = np.where(special, 2, 1)

    def coded(name: str, codes: np.ndarray, table: dict) -> dict:
        return {name: _text(codes), f"{name}_TEUR": pl.Series([table[int(c)] for c in codes], dtype=pl.String)}

    return pl.DataFrame({
        "SHNAT_LIMUDIM": pl.Series([str(year)] * S, dtype=pl.String),
        "SEMEL_MOSAD": schools["SEMEL_MOSAD"],
        "SHEM_MOSAD": schools["SHEM_MOSAD"],
        "SEMEL_YISHUV": schools["SEMEL_YISHUV"],
        "KTOVET_MOSAD": pl.Series([f"{n} {h}, {t}" if n != t else f"{t} {h}"
                                   for n, h, t in zip(street, addr["house"].tolist(), town)], dtype=pl.String),
        "TELEPHONE_MOSAD": loc_area.gather(s_loc) + "-" + _text(phone),
        **coded("SUG_PIKUACH", schools["PIKUACH"].to_numpy(), PIKUACH),
        **coded("MIGZAR", schools["MIGZAR"].to_numpy(), MIGZAR),
        **coded("SUG_CHINUCH", chinuch, SUG_CHINUCH),
        **coded("SHLAV_CHINUCH", schools["SHLAV"].to_numpy(), SHLAV),
        **coded("SUG_MOSAD", schools["SUG_MOSAD"].to_numpy(), SUG_MOSAD),
        **coded("MAAMAD_MISHPATI", schools["MAAMAD"].to_numpy(), MAAMAD),
        "ME_SHICHVA_MEUSHAR": _text(schools["ME_SHICHVA"].to_numpy()),
        "AD_SHICHVA_MEUSHAR": _text(schools["AD_SHICHVA"].to_numpy()),
        "MUTAV": _text(schools["MUTAV"].to_numpy()),
        # Extra columns (the spec carries unknown columns into exports): for the institutions map.
        "LONGITUDE": schools["LONGITUDE"].round(6).cast(pl.String),
        "LATITUDE": schools["LATITUDE"].round(6).cast(pl.String),
    })


__all__ = ["build_feed", "school_year", "FeedResult"]
