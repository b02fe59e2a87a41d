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

import numpy as np
import polars as pl

from data import idnumber
from data.generator_schools import MAAMAD, MIGZAR, SHLAV, SUG_CHINUCH, SUG_MOSAD, complete_schools
from data.generator_world import (ARAB, CHRISTIAN, DATI, DRUZE, DRUZE_STREAM, HAREDI, JEWISH, MAMLACHTI, MUSLIM,
                                  PIKUACH, SUG_RASHUT, World)

# Proportions of the planted phenomena (fractions of students, classes, tracks or contacts).
UNPLACED = 0.012          # compulsory-age residents with no active placement
HISTORY = 0.04            # students with an earlier, left placement this year
MOVED_WITH_HISTORY = 0.3  # of those, the earlier row has another residence locality
AWAY = 0.03               # study outside their authority by choice
AWAY_REGIONAL = 0.15      # the same, for regional councils' localities
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


def _pick_weighted(query_group: np.ndarray, table_group: np.ndarray, table_weight: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """For each query, the index of a table row of the same group, drawn by weight. Vectorised: each
    group's cumulative weights are scaled into [rank, rank + 1) and one searchsorted finds them all.
    Every queried group must exist in the table."""
    order = np.argsort(table_group, kind="stable")
    tg, tw = table_group[order], table_weight[order].astype(np.float64)
    groups, starts = np.unique(tg, return_index=True)
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
    return pl.Series(days.astype("datetime64[D]").astype(str))


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def _text(values) -> pl.Series:
    return pl.Series(np.asarray(values)).cast(pl.String)


def build_feed(world: World, n_students: int, date: dt.date, seed: int) -> FeedResult:
    rng = np.random.default_rng(seed)
    year = school_year(date)
    year_start = _day(dt.date(year - 1, 9, 1))
    today = _day(date)

    # ---------------------------------------------------------------- localities and authorities
    loc = world.localities
    L = loc.height
    loc_code = loc["SEMEL_YISHUV"].to_numpy()
    loc_name = loc["SHEM_YISHUV"].to_numpy()
    auth_codes, loc_auth = np.unique(loc["SEMEL_RASHUT"].to_numpy(), return_inverse=True)
    loc_regional = loc["SUG_RASHUT"].to_numpy() == 3
    loc_area = np.array([AREA_CODE.get(m, "08") for m in loc["MACHOZ"].fill_null("").to_list()])
    pop = loc["POPULATION"].fill_null(0).to_numpy().astype(np.float64)
    shares = np.column_stack([loc[c].fill_null(0.0).to_numpy() for c in
                              ("SHARE_JEWISH", "SHARE_MUSLIM", "SHARE_CHRISTIAN", "SHARE_DRUZE")])
    shares = shares / np.maximum(shares.sum(axis=1, keepdims=True), 1e-12)
    loc_x, loc_y = loc["LON"].fill_null(35.0).to_numpy(), loc["LAT"].fill_null(31.8).to_numpy()

    # Students per locality by population share (largest remainder, so the total is exact).
    raw = pop / pop.sum() * n_students
    per_loc = np.floor(raw).astype(np.int64)
    short = n_students - per_loc.sum()
    per_loc[np.argsort(-(raw - per_loc), kind="stable")[:short]] += 1
    stu_loc = np.repeat(np.arange(L), per_loc)
    N = n_students

    # ---------------------------------------------------------------- families
    sizes = rng.choice([1, 2, 3, 4], p=[0.42, 0.33, 0.17, 0.08], size=N)
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

    names_tbl = world.first_names
    sur_tbl = world.surnames
    sur_groups = set(sur_tbl["GROUP"].to_list())
    first_groups = set(names_tbl["GROUP"].to_list())

    def fallback(groups: np.ndarray, available: set) -> np.ndarray:
        # A group without names of its own borrows the nearest one (Christian/Druze -> Muslim -> Jewish).
        out = groups.copy()
        for g, alts in ((CHRISTIAN, (MUSLIM, JEWISH)), (DRUZE, (MUSLIM, JEWISH)), (MUSLIM, (JEWISH,)),
                        (JEWISH, (MUSLIM,))):
            if g not in available:
                alt = next(a for a in alts if a in available)
                out[out == g] = alt
        return out

    sur_g = fallback(fam_group, sur_groups)
    fam_surname_idx = _pick_weighted(sur_g, sur_tbl["GROUP"].to_numpy(), sur_tbl["WEIGHT"].to_numpy(), rng)
    sur_names = sur_tbl["NAME"].to_numpy()
    first_key_tbl = names_tbl["GROUP"].to_numpy() * 10 + names_tbl["SEX"].to_numpy()
    first_w = names_tbl["WEIGHT"].to_numpy()
    first_names = names_tbl["NAME"].to_numpy()

    def first_name(groups: np.ndarray, sex: np.ndarray) -> np.ndarray:
        return first_names[_pick_weighted(fallback(groups, first_groups) * 10 + sex, first_key_tbl, first_w, rng)]

    # Family address: a real street of the locality where it has streets, else the CBS code 9000
    # (the locality's own name, as in villages without street names).
    streets = world.streets.join(pl.DataFrame({"SEMEL_YISHUV": loc_code, "_loc": np.arange(L)}),
                                 on="SEMEL_YISHUV", how="inner").sort("_loc", "SEMEL_RECHOV")
    st_loc = streets["_loc"].to_numpy()
    has_streets = np.zeros(L, dtype=bool)
    has_streets[np.unique(st_loc)] = True

    loc_num = pl.Series(loc_code).str.to_integer(strict=False).fill_null(0).to_numpy()

    def address(locs: np.ndarray):
        n = len(locs)
        rechov = np.full(n, "9000", dtype=object)
        shem = loc_name[locs].astype(object)
        with_st = has_streets[locs]
        if with_st.any() and streets.height:
            idx = _pick_weighted(locs[with_st], st_loc, np.ones(len(st_loc)), rng)
            rechov[with_st] = streets["SEMEL_RECHOV"].to_numpy()[idx]
            shem[with_st] = streets["SHEM_RECHOV"].to_numpy()[idx]
        house = np.minimum(1 + (rng.pareto(1.3, n) * 12).astype(np.int64), 180)
        flat = np.where(loc_regional[locs] | (rng.random(n) < 0.3), 0, rng.integers(1, 30, n))
        code_num = loc_num[locs]
        rech_num = pl.Series(rechov.astype(str)).str.to_integer(strict=False).fill_null(0).to_numpy()
        mikud = 1_000_000 + (code_num * 7919 + rech_num * 131 + house // 10) % 9_000_000
        return rechov.astype(str), shem.astype(str), house, flat, mikud

    fam_rechov, fam_rechov_name, fam_house, fam_flat, fam_mikud = address(fam_loc)

    # ---------------------------------------------------------------- students
    grade_w = 1.02 ** (12 - np.arange(1, 13))
    grade = rng.choice(np.arange(1, 13), p=grade_w / grade_w.sum(), size=N)
    sex = rng.integers(1, 3, N)
    birth_year = year - 6 - grade
    y0 = (np.asarray(birth_year - 1970, dtype="int64")).astype("datetime64[Y]")
    first_day = y0.astype("datetime64[D]").astype(np.int64)
    year_len = (y0 + 1).astype("datetime64[D]").astype(np.int64) - first_day
    birth = first_day + (rng.random(N) * year_len).astype(np.int64)
    stu_group = fam_group[stu_fam]
    stu_stream = fam_stream[stu_fam]
    stu_first = first_name(stu_group, sex)
    stu_surname = sur_names[fam_surname_idx][stu_fam]

    # ---------------------------------------------------------------- schools and placement
    schools = complete_schools(world, rng)
    S = schools.height
    code_to_loc = {c: i for i, c in enumerate(loc_code)}
    s_loc = np.array([code_to_loc[c] for c in schools["SEMEL_YISHUV"].to_list()], dtype=np.int64)
    s_auth = loc_auth[s_loc]
    s_stream = schools["PIKUACH"].to_numpy()
    s_me, s_ad = schools["ME_SHICHVA"].to_numpy(), schools["AD_SHICHVA"].to_numpy()
    s_weight = schools["WEIGHT"].to_numpy()
    s_special = schools["SPECIAL"].to_numpy()
    s_x, s_y = schools["X"].to_numpy(), schools["Y"].to_numpy()
    coslat = np.cos(np.radians(31.5))

    away_p = np.where(loc_regional[stu_loc], AWAY_REGIONAL, AWAY)
    away = rng.random(N) < away_p
    combo = ((stu_loc * 8 + stu_stream) * 16 + grade) * 2 + away
    combos, stu_combo = np.unique(combo, return_inverse=True)
    stream_alts = {MAMLACHTI: (DATI,), DATI: (MAMLACHTI,), HAREDI: (DATI, MAMLACHTI), ARAB: (DRUZE_STREAM,),
                   DRUZE_STREAM: (ARAB,)}
    pools: dict[tuple[int, int], np.ndarray] = {}

    def pool(stream: int, g: int) -> np.ndarray:
        # Schools a child of this stream can attend in grade g (special education is for referred
        # children only: it receives a small share through its low weight, in its own stream).
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
        is_away = c % 2
        g = (c // 2) % 16
        stream = (c // 32) % 8
        li = c // 256
        p = pool(int(stream), int(g))
        if not len(p):
            raise ValueError(f"no school in the world offers grade {g}")
        same_auth = s_auth[p] == loc_auth[li]
        d = (s_x[p] - loc_x[li]) ** 2 * coslat ** 2 + (s_y[p] - loc_y[li]) ** 2
        if is_away and (~same_auth).any():
            other = p[~same_auth]
            near = other[np.argsort(d[~same_auth], kind="stable")[:4]]
            chosen, w = near, s_weight[near]
        else:
            local = p[s_loc[p] == li]
            if len(local):
                chosen = local
            elif same_auth.any():
                chosen = p[same_auth]
            else:
                chosen = p[np.argsort(d, kind="stable")[:3]]
            w = s_weight[chosen]
        cand_combo.append(np.full(len(chosen), ci))
        cand_school.append(chosen)
        cand_weight.append(w)
    cand_combo = np.concatenate(cand_combo)
    cand_school = np.concatenate(cand_school)
    stu_school = cand_school[_pick_weighted(stu_combo, cand_combo, np.concatenate(cand_weight), rng)]

    # ---------------------------------------------------------------- statuses
    unplaced = rng.random(N) < UNPLACED
    active = ~unplaced
    history = active & (rng.random(N) < HISTORY)

    # ---------------------------------------------------------------- classes (KITOT)
    act_idx = np.flatnonzero(active)
    target = np.where(s_special, rng.integers(8, 13, S), rng.integers(24, 33, S))
    sg = stu_school[act_idx] * 16 + grade[act_idx]
    order = np.lexsort((rng.random(len(act_idx)), sg))
    sg_sorted = sg[order]
    groups, g_start, g_count = np.unique(sg_sorted, return_index=True, return_counts=True)
    n_classes = np.maximum(1, np.ceil(g_count / target[groups // 16]).astype(np.int64))
    rank_in_group = np.arange(len(order)) - np.repeat(g_start, g_count)
    makbila = np.zeros(N, dtype=np.int64)
    makbila[act_idx[order]] = rank_in_group % np.repeat(n_classes, g_count) + 1
    # One row per (school, grade, makbila), including the students' count.
    cls_school = np.repeat(groups // 16, n_classes)
    cls_grade = np.repeat(groups % 16, n_classes)
    cls_makbila = np.arange(n_classes.sum()) - np.repeat(np.cumsum(n_classes) - n_classes, n_classes) + 1
    cls_key = (cls_school * 16 + cls_grade) * 4096 + cls_makbila
    stu_cls_key = (stu_school * 16 + grade) * 4096 + makbila
    cls_count = np.zeros(len(cls_key), dtype=np.int64)
    np.add.at(cls_count, np.searchsorted(cls_key, stu_cls_key[act_idx]), 1)
    C = len(cls_key)
    cls_special = s_special[cls_school]
    cls_max = np.maximum(np.where(cls_special, 14, rng.choice([32, 34, 36, 40], C)), cls_count)
    over = (rng.random(C) < OVER_MAX_CLASSES) & (cls_count >= 8)
    cls_max = np.where(over, cls_count - rng.integers(1, 4, C), cls_max)
    cls_min = np.where(cls_special, 6, rng.choice([10, 15, 20], C))
    miscount = rng.random(C) < MISCOUNTED_CLASSES
    cls_mispar = np.maximum(0, cls_count + np.where(miscount, rng.choice([-3, -2, -1, 1, 2, 3], C), 0))

    # ---------------------------------------------------------------- tracks (MEGAMOT), grades 10-12
    hs = active & (grade >= 10)
    hs_groups = groups[groups % 16 >= 10]
    hs_counts = g_count[groups % 16 >= 10]
    n_tracks = np.clip(np.round(hs_counts / 28).astype(np.int64) + 1, 1, 6)
    trk_rows = []
    for key, m in zip(hs_groups, n_tracks):
        si = key // 16
        options = TRACKS_HAREDI if s_stream[si] == HAREDI else \
            (TRACKS[:10] + TRACKS_ARAB_EXTRA if s_stream[si] in (ARAB, DRUZE_STREAM) else TRACKS)
        picks = rng.choice(len(options), size=min(m, len(options)), replace=False)
        for j, t in enumerate(picks):
            trk_rows.append((key, j + 1, options[t][0], options[t][1]))
    trk_key = np.array([r[0] for r in trk_rows], dtype=np.int64)
    trk_j = np.array([r[1] for r in trk_rows], dtype=np.int64)
    n_of_group = dict(zip(hs_groups.tolist(), np.minimum(n_tracks, 99).tolist()))
    # A track per high-school student, uniformly among its school-grade's tracks.
    stu_track = np.zeros(N, dtype=np.int64)
    hs_idx = np.flatnonzero(hs)
    if len(hs_idx):
        tracks_per = np.bincount(trk_key, minlength=int(groups.max()) + 1 if len(groups) else 1)
        m = tracks_per[(stu_school[hs_idx] * 16 + grade[hs_idx])]
        stu_track[hs_idx] = (rng.random(len(hs_idx)) * m).astype(np.int64) + 1
    stu_megama = np.where(stu_track > 0, np.char.add(grade.astype(str), np.char.zfill(stu_track.astype(str), 2)), "")
    T = len(trk_rows)
    trk_full = trk_key * 16 + trk_j
    trk_count = np.zeros(T, dtype=np.int64)
    if len(hs_idx):
        order_t = np.argsort(trk_full, kind="stable")
        pos = np.searchsorted(trk_full[order_t], (stu_school[hs_idx] * 16 + grade[hs_idx]) * 16 + stu_track[hs_idx])
        np.add.at(trk_count, order_t[pos], 1)
    quota = trk_count + rng.integers(0, 9, T)
    over_q = (rng.random(T) < OVER_QUOTA_TRACKS) & (trk_count >= 5)
    quota = np.where(over_q, trk_count - rng.integers(1, 5, T), quota)
    del n_of_group

    # ---------------------------------------------------------------- TALMIDIM rows
    # Active rows: the placement began when the student entered the school (1 September).
    entered = np.maximum(s_me[stu_school], 1)
    start_year = year - 1 - np.clip(grade - entered, 0, 11)
    september = np.asarray((start_year - 1970) * 12 + 8, dtype="int64").astype("datetime64[M]")
    hatchala = september.astype("datetime64[D]").astype(np.int64)
    hatchala = np.minimum(hatchala, today)
    idkun = hatchala + (rng.random(N) * (today - hatchala + 1)).astype(np.int64)

    # Donors: the class a student left is one that really exists (a random active student's of the same
    # grade, preferably living in the same locality), so every reference in the feed resolves.
    def donors(who: np.ndarray) -> np.ndarray:
        key_act = grade[act_idx] * 1_000_000 + stu_loc[act_idx]
        o = np.argsort(key_act, kind="stable")
        sk = key_act[o]
        qk = grade[who] * 1_000_000 + stu_loc[who]
        lo, hi = np.searchsorted(sk, qk, "left"), np.searchsorted(sk, qk, "right")
        gk = grade[act_idx][o]
        glo, ghi = np.searchsorted(gk, grade[who], "left"), np.searchsorted(gk, grade[who], "right")
        empty = hi <= lo
        lo, hi = np.where(empty, glo, lo), np.where(empty, ghi, hi)
        if np.any(hi <= lo):
            raise ValueError("no active student in some grade to take a left class from")
        return act_idx[o[lo + (rng.random(len(who)) * (hi - lo)).astype(np.int64)]]

    un_idx = np.flatnonzero(unplaced)
    un_left = rng.random(len(un_idx)) < 0.8
    hist_idx = np.flatnonzero(history)

    # Left rows (unplaced students who left, and the earlier placement of students with history).
    left_who = np.concatenate([un_idx[un_left], hist_idx])
    left_donor = donors(left_who) if len(left_who) else np.array([], dtype=np.int64)
    aziva = year_start - 200 + (rng.random(len(left_who)) * (today - 1 - (year_start - 200))).astype(np.int64)
    left_start = np.minimum(aziva - 1, year_start - 365 * rng.integers(0, 3, len(left_who)))
    sibat = np.where(np.arange(len(left_who)) >= un_left.sum(), 1, rng.choice(SIBAT_AZIVA, len(left_who)))
    left_idkun = np.minimum(aziva + rng.integers(0, 10, len(left_who)), today)
    # A student with history started the current placement after leaving the earlier one.
    n_un_left = int(un_left.sum())
    h_aziva = aziva[n_un_left:]
    hatchala[hist_idx] = np.minimum(h_aziva + rng.integers(1, 8, len(hist_idx)), today)
    left_idkun[n_un_left:] = np.minimum(left_idkun[n_un_left:], hatchala[hist_idx] - 1)
    idkun[hist_idx] = hatchala[hist_idx] + (rng.random(len(hist_idx)) * (today - hatchala[hist_idx] + 1)).astype(np.int64)
    # Some of them moved: the earlier row lists the old residence.
    left_loc = stu_loc[left_who].copy()
    moved = np.zeros(len(left_who), dtype=bool)
    moved[n_un_left:] = rng.random(len(hist_idx)) < MOVED_WITH_HISTORY
    left_loc[moved] = stu_loc[left_donor[moved]]

    # Unplaced students who never got placed: registered / candidate / not registered, at their school.
    other_who = un_idx[~un_left]
    other_status = rng.choice([1, 2, 4], len(other_who))
    other_idkun = today - rng.integers(0, 120, len(other_who))

    rows_student = np.concatenate([act_idx, left_who, other_who])
    R = len(rows_student)
    n_act, n_left = len(act_idx), len(left_who)
    row_school = np.concatenate([stu_school[act_idx], stu_school[left_donor], stu_school[other_who]])
    row_makbila = np.concatenate([makbila[act_idx], makbila[left_donor], np.zeros(len(other_who), np.int64)])
    row_megama = np.concatenate([stu_megama[act_idx], stu_megama[left_donor], np.full(len(other_who), "")])
    row_status = np.concatenate([np.full(n_act, 3), np.full(n_left, 5), other_status])
    row_start = np.concatenate([hatchala[act_idx], left_start, np.zeros(len(other_who), np.int64)])
    row_has_start = np.concatenate([np.ones(n_act + n_left, bool), np.zeros(len(other_who), bool)])
    row_aziva = np.concatenate([np.zeros(n_act, np.int64), aziva, np.zeros(len(other_who), np.int64)])
    row_has_aziva = np.concatenate([np.zeros(n_act, bool), np.ones(n_left, bool), np.zeros(len(other_who), bool)])
    row_sibat = np.concatenate([np.zeros(n_act, np.int64), sibat, np.zeros(len(other_who), np.int64)])
    row_idkun = np.concatenate([idkun[act_idx], left_idkun, other_idkun])
    row_loc = np.concatenate([stu_loc[act_idx], left_loc, stu_loc[other_who]])
    row_moved = np.concatenate([np.zeros(n_act, bool), moved, np.zeros(len(other_who), bool)])

    # Identity numbers: one draw of distinct eight-digit prefixes for students and contact persons.
    comp_tbl = [[1, 2], [2], [1], [3], [1, 2, 4]]
    comp = np.searchsorted(np.cumsum([0.78, 0.15, 0.03, 0.02, 0.02]), rng.random(F), side="right")
    comp = np.minimum(comp, len(comp_tbl) - 1)
    comp_len = np.array([len(c) for c in comp_tbl])[comp]
    K = int(comp_len.sum())
    need = N + K
    prefixes = np.unique(rng.integers(1_000_000, 40_000_000, int(need * 1.05) + 100))
    while len(prefixes) < need:
        prefixes = np.unique(np.concatenate([prefixes, rng.integers(1_000_000, 40_000_000, need)]))
    prefixes = rng.permutation(prefixes)[:need]
    ids = idnumber.make_valid_many(prefixes)
    stu_sug = np.where(rng.random(N) < PASSPORT, 2, np.where(rng.random(N) < TEMPORARY, 3, 1))
    # Passports carry the prefix's digits without a check digit; identity and temporary numbers are
    # nine digits with one. (SUG_ZEHUT, MISPAR_ZEHUT) stays unique because prefixes are distinct.
    stu_id = np.where(stu_sug == 2, _digits(prefixes[:N], 8).to_numpy(), _digits(ids[:N], 9).to_numpy())

    row_sug = stu_sug[rows_student]
    row_id = stu_id[rows_student]
    # Addresses of the rows: the family's, or a fresh one in the old locality for movers.
    r_rechov = fam_rechov[stu_fam[rows_student]].astype(object)
    r_house = fam_house[stu_fam[rows_student]].copy()
    r_flat = fam_flat[stu_fam[rows_student]].copy()
    r_mikud = fam_mikud[stu_fam[rows_student]].copy()
    if row_moved.any():
        m_rechov, _, m_house, m_flat, m_mikud = address(row_loc[row_moved])
        r_rechov[row_moved] = m_rechov
        r_house[row_moved], r_flat[row_moved], r_mikud[row_moved] = m_house, m_flat, m_mikud

    s_codes = schools["SEMEL_MOSAD"].to_numpy()
    talmidim = pl.DataFrame({
        "SHNAT_LIMUDIM": np.full(R, str(year)),
        "SUG_ZEHUT": _text(row_sug),
        "MISPAR_ZEHUT": row_id,
        "SHEM_PRATI": stu_first[rows_student],
        "SHEM_MISHPACHA": stu_surname[rows_student],
        "CODE_MIN": _text(sex[rows_student]),
        "TAARICH_LEDA": _dates(birth[rows_student]),
        "SEMEL_MOSAD": s_codes[row_school],
        "SHICHVA": _text(grade[rows_student]),
        "MAKBILA": _text(row_makbila),
        "SEMEL_MEGAMA_MOSAD": row_megama,
        "CODE_STATUS_RISHUM_TA": _text(row_status),
        "TAARICH_HATCHALA": _dates(row_start),
        "TAARICH_AZIVA": _dates(row_aziva),
        "CODE_SIBAT_AZIVA": _text(row_sibat),
        "SEMEL_YISHUV_TAL": loc_code[row_loc],
        "SEMEL_RECHOV_TAL": pl.Series(r_rechov.astype(str)),
        "MISPAR_BAYIT_TAL": _text(r_house),
        "MISPAR_DIRA_TAL": _text(r_flat),
        "MIKUD_7_TAL": _text(r_mikud),
        "TAARICH_IDKUN_RESHUMA": _dates(row_idkun),
    }).with_columns(
        pl.when(pl.Series(row_makbila == 0)).then(None).otherwise(pl.col("MAKBILA")).alias("MAKBILA"),
        pl.when(pl.col("SEMEL_MEGAMA_MOSAD") == "").then(None).otherwise(pl.col("SEMEL_MEGAMA_MOSAD"))
        .alias("SEMEL_MEGAMA_MOSAD"),
        pl.when(pl.Series(row_has_start)).then(pl.col("TAARICH_HATCHALA")).alias("TAARICH_HATCHALA"),
        pl.when(pl.Series(row_has_aziva)).then(pl.col("TAARICH_AZIVA")).alias("TAARICH_AZIVA"),
        pl.when(pl.Series(row_has_aziva)).then(pl.col("CODE_SIBAT_AZIVA")).alias("CODE_SIBAT_AZIVA"),
        pl.when(pl.Series(r_flat == 0)).then(None).otherwise(pl.col("MISPAR_DIRA_TAL")).alias("MISPAR_DIRA_TAL"),
    )
    # File order: by student, earlier rows first (as the ministry appends history).
    talmidim = talmidim.with_columns(_s=pl.Series(rows_student), _i=pl.Series(row_idkun)) \
        .sort("_s", "_i", maintain_order=True).drop("_s", "_i")

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
    own_surname = sur_names[_pick_weighted(fallback(con_group, sur_groups), sur_tbl["GROUP"].to_numpy(),
                                           sur_tbl["WEIGHT"].to_numpy(), rng)]
    keeps_family_name = (con_rel == 1) | ((con_rel == 2) & (rng.random(K) < 0.8)) | (rng.random(K) < 0.3)
    con_surname = np.where(keeps_family_name, sur_names[fam_surname_idx][con_fam], own_surname)
    con_sug = np.where(rng.random(K) < PASSPORT, 2, 1)
    con_id = np.where(con_sug == 2, _digits(prefixes[N:], 8).to_numpy(), _digits(ids[N:], 9).to_numpy())
    con_no_info = rng.random(K) < NO_INFO

    # Links: every student to each contact of the family (students sorted by family, as are contacts).
    fam_con_start = np.cumsum(comp_len) - comp_len
    n_links = comp_len[stu_fam]
    link_stu = np.repeat(np.arange(N), n_links)
    link_con = np.repeat(fam_con_start[stu_fam], n_links) + (np.arange(n_links.sum()) -
                                                            np.repeat(np.cumsum(n_links) - n_links, n_links))
    Lk = len(link_stu)
    link_rel = con_rel[link_con]
    # A relative's link sometimes ended (he no longer takes care of the child).
    ended = (link_rel == 4) & (rng.random(Lk) < 0.5)
    link_start = np.where(link_rel <= 2, birth[link_stu], birth[link_stu] + (rng.random(Lk) * (today - birth[link_stu])).astype(np.int64))
    link_end = np.minimum(link_start + 30 + (rng.random(Lk) * (today - link_start)).astype(np.int64), today)
    gormey = pl.DataFrame({
        "SUG_ZEHUT_TALMID": _text(stu_sug[link_stu]),
        "MISPAR_ZEHUT_TALMID": stu_id[link_stu],
        "SUG_ZEHUT_GOREM_KESHER": _text(con_sug[link_con]),
        "MISPAR_ZEHUT_GOREM_KESHER": con_id[link_con],
        "SHEM_PRATI_GOREM_KESHER": con_first[link_con],
        "SHEM_MISHPACHA_GOREM_KESHER": con_surname[link_con],
        "CODE_SUG_KIRVA_GOREM_KESHER": _text(link_rel),
        "HAIM_MESHALEM_GOREM_KESHER": _text((con_pos[link_con] == 0).astype(np.int64)),
        "LEKABEL_MEIDA": _text((~con_no_info[link_con]).astype(np.int64)),
        "TAARICH_HATCHALA_GOREM_KESHER": _dates(link_start),
        "TAARICH_SIYUM_GOREM_KESHER": _dates(link_end),
    }).with_columns(pl.when(pl.Series(ended)).then(pl.col("TAARICH_SIYUM_GOREM_KESHER"))
                    .alias("TAARICH_SIYUM_GOREM_KESHER"))

    # Contact details: mobile (sometimes malformed or missing), home phone, e-mail, the family address.
    c_loc = fam_loc[con_fam]
    no_phone = rng.random(K) < NO_PHONE
    has_mobile = ~no_phone & (rng.random(K) < 0.97)
    mobile = rng.integers(2_000_000, 10_000_000, K)
    bad_phone = has_mobile & (rng.random(K) < BAD_PHONE)
    mobile_txt = _digits(mobile, 7)
    mobile_txt = pl.select(pl.when(pl.Series(bad_phone)).then(mobile_txt.str.slice(0, 6)).otherwise(mobile_txt)).to_series()
    has_home = ~no_phone & (rng.random(K) < 0.25)
    home = rng.integers(2_000_000, 10_000_000, K)
    has_mail = rng.random(K) < 0.55
    bad_mail = has_mail & (rng.random(K) < BAD_EMAIL)
    handle = pl.Series(EMAIL_HANDLES[rng.integers(0, len(EMAIL_HANDLES), K)])
    domain = pl.Series(EMAIL_DOMAINS[rng.integers(0, len(EMAIL_DOMAINS), K)])
    num = _text(rng.integers(1, 999, K))
    email = pl.select(pl.when(pl.Series(bad_mail))
                      .then(pl.concat_str([handle, num, pl.lit(" at "), domain]))
                      .otherwise(pl.concat_str([handle, pl.lit("."), num, pl.lit("@"), domain]))).to_series()
    knisa = np.where(rng.random(K) < 0.1, rng.choice(np.array(["א", "ב", "ג"]), K), "")
    tevat = np.where(loc_regional[c_loc] & (rng.random(K) < 0.3), rng.integers(1, 999, K), 0)
    con_idkun = today - rng.integers(0, 1100, K)
    pirtey = pl.DataFrame({
        "SUG_ZEHUT": _text(con_sug),
        "MISPAR_ZEHUT": con_id,
        "KIDOMET_NAYAD": MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), K)],
        "MISPAR_NAYAD": mobile_txt,
        "KIDOMET_TEL_BAIT": loc_area[c_loc],
        "MISPAR_TEL_BAIT": _digits(home, 7),
        "EMAIL_RASHI": email,
        "SEMEL_YISHUV": loc_code[c_loc],
        "SEMEL_RECHOV": fam_rechov[con_fam],
        "SHEM_RECHOV": fam_rechov_name[con_fam],
        "MISPAR_BAYIT": _text(fam_house[con_fam]),
        "KNISA": knisa,
        "MISPAR_DIRA": _text(fam_flat[con_fam]),
        "MIKUD": _text(fam_mikud[con_fam]),
        "TEVAT_DOAR": _text(tevat),
        "TAARICH_IDKUN": _dates(con_idkun),
    }).with_columns(
        pl.when(pl.Series(has_mobile)).then(pl.col("KIDOMET_NAYAD")).alias("KIDOMET_NAYAD"),
        pl.when(pl.Series(has_mobile)).then(pl.col("MISPAR_NAYAD")).alias("MISPAR_NAYAD"),
        pl.when(pl.Series(has_home)).then(pl.col("KIDOMET_TEL_BAIT")).alias("KIDOMET_TEL_BAIT"),
        pl.when(pl.Series(has_home)).then(pl.col("MISPAR_TEL_BAIT")).alias("MISPAR_TEL_BAIT"),
        pl.when(pl.Series(has_mail)).then(pl.col("EMAIL_RASHI")).alias("EMAIL_RASHI"),
        pl.when(pl.col("KNISA") == "").then(None).otherwise(pl.col("KNISA")).alias("KNISA"),
        pl.when(pl.Series(fam_flat[con_fam] == 0)).then(None).otherwise(pl.col("MISPAR_DIRA")).alias("MISPAR_DIRA"),
        pl.when(pl.Series(tevat == 0)).then(None).otherwise(pl.col("TEVAT_DOAR")).alias("TEVAT_DOAR"),
    )

    # ---------------------------------------------------------------- MOSDOT, KITOT, MEGAMOT, RASHUYOT
    s_addr_rechov, s_addr_name, s_addr_house, _, _ = address(s_loc)
    s_phone = rng.integers(2_000_000, 10_000_000, S)
    pik = schools["PIKUACH"].to_numpy()
    migzar, shlav = schools["MIGZAR"].to_numpy(), schools["SHLAV"].to_numpy()
    sug_mosad, maamad = schools["SUG_MOSAD"].to_numpy(), schools["MAAMAD"].to_numpy()
    chinuch = np.where(s_special, 2, 1)

    def teur(codes: np.ndarray, table: dict) -> list[str]:
        return [table[int(c)] for c in codes]

    mosdot = pl.DataFrame({
        "SHNAT_LIMUDIM": np.full(S, str(year)),
        "SEMEL_MOSAD": s_codes,
        "SHEM_MOSAD": schools["SHEM_MOSAD"],
        "SEMEL_YISHUV": loc_code[s_loc],
        "KTOVET_MOSAD": [f"{n} {h}, {ln}" if r != "9000" else f"{ln} {h}"
                         for n, h, ln, r in zip(s_addr_name, s_addr_house, loc_name[s_loc], s_addr_rechov)],
        "TELEPHONE_MOSAD": [f"{a}-{p}" for a, p in zip(loc_area[s_loc], s_phone)],
        "SUG_PIKUACH": _text(pik), "SUG_PIKUACH_TEUR": teur(pik, PIKUACH),
        "MIGZAR": _text(migzar), "MIGZAR_TEUR": teur(migzar, MIGZAR),
        "SUG_CHINUCH": _text(chinuch), "SUG_CHINUCH_TEUR": teur(chinuch, SUG_CHINUCH),
        "SHLAV_CHINUCH": _text(shlav), "SHLAV_CHINUCH_TEUR": teur(shlav, SHLAV),
        "SUG_MOSAD": _text(sug_mosad), "SUG_MOSAD_TEUR": teur(sug_mosad, SUG_MOSAD),
        "MAAMAD_MISHPATI": _text(maamad), "MAAMAD_MISHPATI_TEUR": teur(maamad, MAAMAD),
        "ME_SHICHVA_MEUSHAR": _text(s_me), "AD_SHICHVA_MEUSHAR": _text(s_ad),
        "MUTAV": _text(schools["MUTAV"].to_numpy()),
        # Extra columns (the spec carries unknown columns into exports): for the institutions map.
        "LONGITUDE": schools["LONGITUDE"].round(6).cast(pl.String),
        "LATITUDE": schools["LATITUDE"].round(6).cast(pl.String),
    })

    shem_kita = [f"{GRADE_LETTERS[g]}'{m}" if len(GRADE_LETTERS[g]) == 1 else f"{GRADE_LETTERS[g]}{m}"
                 for g, m in zip(cls_grade, cls_makbila)]
    cls_status = np.where(rng.random(C) < 0.05, 2, 1)
    kitot = pl.DataFrame({
        "SHNAT_LIMUDIM": np.full(C, str(year)),
        "ID_KITA": _text(np.arange(C) + 100_001),
        "SEMEL_MOSAD": s_codes[cls_school],
        "SHICHVA": _text(cls_grade),
        "MAKBILA": _text(cls_makbila),
        "SHEM_KITA": shem_kita,
        "CODE_SUG_KITA": _text(np.where(cls_special, 2, 1)),
        "TEUR_SUG_KITA": teur(np.where(cls_special, 2, 1), SUG_KITA),
        "MIN_TALMIDIM": _text(cls_min),
        "MAX_TALMIDIM": _text(cls_max),
        "MISPAR_TALMIDIM": _text(cls_mispar),
        "STATUS_ISHUR": _text(cls_status),
        "TEUR_STATUS_ISHUR": teur(cls_status, STATUS_ISHUR),
    })

    trk_school = trk_key // 16
    trk_grade = trk_key % 16
    trk_status = np.where(rng.random(T) < 0.06, 2, 1)
    trk_status_date = _day(dt.date(year - 1, 3, 1)) + rng.integers(0, 150, T)
    trk_names = [r[3] for r in trk_rows]
    megamot = pl.DataFrame({
        "SHNAT_LIMUDIM": np.full(T, str(year)),
        "ID_MEGAMA": _text(np.arange(T) + 500_001),
        "SEMEL_MOSAD": s_codes[trk_school] if T else np.array([], dtype=str),
        "SEMEL_MEGAMA": [r[2] for r in trk_rows],
        "SEMEL_MEGAMA_MOSAD": pl.Series(np.char.add(trk_grade.astype(str), np.char.zfill(trk_j.astype(str), 2))),
        "SHEM_MEGAMA_MOSAD": [f"{n} {GRADE_LETTERS[g]}" for n, g in zip(trk_names, trk_grade)],
        "TEUR_MEGAMA": trk_names,
        "SHICHVA": _text(trk_grade),
        "MICHSAT_TALMIDIM_MEVUKESHET": _text(np.maximum(quota, trk_count) + rng.integers(0, 6, T)),
        "MICHSAT_TALMIDIM": _text(quota),
        "STATUS_ISHUR_MEGAMA": _text(trk_status),
        "TEUR_STATUS_ISHUR_MEGAMA": teur(trk_status, STATUS_ISHUR),
        "TAARICH_STATUS_ISHUR_MEGAMA": _dates(trk_status_date),
    }, schema_overrides={c: pl.String for c in ("SEMEL_MOSAD", "SEMEL_MEGAMA", "SHEM_MEGAMA_MOSAD", "TEUR_MEGAMA")})

    rashuyot = loc.select(
        "SEMEL_YISHUV", "SHEM_YISHUV", "SEMEL_RASHUT", "SHEM_RASHUT",
        pl.col("SUG_RASHUT").cast(pl.String), pl.col("MACHOZ"),
    )

    tables = {"TALMIDIM": talmidim, "GORMEY_KESHER": gormey, "PIRTEY_KESHER": pirtey, "MOSDOT": mosdot,
              "KITOT": kitot, "MEGAMOT": megamot, "RASHUYOT": rashuyot}
    stu_auth = loc_auth[stu_loc]
    cross = active & (s_auth[stu_school] != stu_auth)
    stats = {
        "school_year": year, "students": N, "families": F, "contact_persons": K,
        "authorities": len(auth_codes), "localities": L, "institutions": S,
        "unplaced_residents": int(unplaced.sum()), "students_with_history": int(history.sum()),
        "cross_authority_students": int(cross.sum()), "classes_over_max": int((cls_count > cls_max).sum()),
        "tracks_over_quota": int((trk_count > quota).sum()),
        "regional_council_students_elsewhere": int((cross & loc_regional[stu_loc]).sum()),
    }
    return FeedResult(tables=tables, stats=stats)


__all__ = ["build_feed", "school_year", "FeedResult", "SUG_RASHUT"]
