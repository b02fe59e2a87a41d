"""A straightforward pandas version of every census page statement, for `make bench` to time beside
the SQL (bench/stage_queries.py), on tables loaded in memory once.

    tables = load_tables(snapshot)                      # untimed
    BASELINES["students_list"](tables, "5000", sort="name", limit=100, offset=0, ...)

Each function takes the statement's parameters and returns the statement's columns, in its order,
with the same rows (tests/test_queries_baselines.py checks this on the small feed). "Straightforward"
means what a careful analyst would write in pandas: boolean masks, merge, groupby, sort_values, apply
where a row-wise function is natural. Hebrew order is approximated by code point with final letters
read as regular ones (pandas has no ICU collation).
"""
from __future__ import annotations

import hashlib

import pandas as pd

FINALS = str.maketrans("ךםןףץ", "כמנפצ")
NIQQUD = {cp: None for cp in range(0x0591, 0x05C8) if cp not in (0x05BE, 0x05C0, 0x05C3, 0x05C6)}
TABLES = {"census": "CENSUS"}
FEED = ("TALMIDIM", "MOSDOT", "KITOT", "MEGAMOT", "RASHUYOT")
MOBILE = r"0[57][0-9]{8}"
HOME = r"0[23489][0-9]{7}|0[57][0-9]{8}"
EMAIL = r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}"


def load_tables(snapshot) -> dict[str, pd.DataFrame]:
    tables = {name: pd.read_parquet(snapshot.derived(table)) for name, table in TABLES.items()}
    tables.update({t.lower(): pd.read_parquet(snapshot.feed(t)) for t in FEED})
    tables["contacts"] = contacts_table(tables["census"], pd.read_parquet(snapshot.feed("GORMEY_KESHER")),
                                        pd.read_parquet(snapshot.feed("PIRTEY_KESHER")))
    return tables


def _phone_valid(prefix: pd.Series, number: pd.Series, pattern: str) -> pd.Series:
    """NULL when nothing is written; else the digits (a leading 972 read as 0) match the pattern."""
    digits = (prefix.fillna("") + number.fillna("")).str.replace(r"[^0-9]", "", regex=True) \
        .str.replace(r"^972", "0", regex=True)
    return digits.str.fullmatch(pattern).astype("boolean").where(prefix.notna() | number.notna())


def contacts_table(census: pd.DataFrame, links: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """Every authority's census students' contact links with the checks of slice_contacts
    (queries/slices.sql), built once with the other tables (untimed): the pandas versions then take an
    authority's rows by a mask, as they do from census."""
    c = census[["SEMEL_RASHUT", "SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SEMEL_MOSAD", "SHICHVA",
                "MAKBILA", "IS_RESIDENT", "PLACED"]]
    k = c.merge(links.rename(columns={"_line": "LINE"}), left_on=["SUG_ZEHUT", "MISPAR_ZEHUT"],
                right_on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"]).drop(columns=["SUG_ZEHUT", "MISPAR_ZEHUT"])
    p = persons.drop(columns="_line").rename(columns={"SUG_ZEHUT": "P_SUG", "MISPAR_ZEHUT": "P_MISPAR"})
    p["MOBILE_VALID"] = _phone_valid(p["KIDOMET_NAYAD"], p["MISPAR_NAYAD"], MOBILE)
    p["HOME_VALID"] = _phone_valid(p["KIDOMET_TEL_BAIT"], p["MISPAR_TEL_BAIT"], HOME)
    p["EMAIL_VALID"] = p["EMAIL_RASHI"].str.strip(" ").str.fullmatch(EMAIL).astype("boolean") \
        .where(p["EMAIL_RASHI"].notna())
    k = k.merge(p, left_on=["SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER"], right_on=["P_SUG", "P_MISPAR"],
                how="left")
    k["HAS_DETAILS"] = k["P_MISPAR"].notna()
    k["ACTIVE"] = k["TAARICH_SIYUM_GOREM_KESHER"].isna()
    student = [k["SEMEL_RASHUT"], k["SUG_ZEHUT_TALMID"], k["MISPAR_ZEHUT_TALMID"]]
    reach = k["ACTIVE"] & (k["MOBILE_VALID"].fillna(False) | k["HOME_VALID"].fillna(False)).astype(bool)
    k["STUDENT_REACHABLE"] = reach.groupby(student).transform("any")
    k["FIRST_ACTIVE"] = (k["LINE"] == k["LINE"].where(k["ACTIVE"]).groupby(student).transform("min")).astype(bool)
    k["ANY_PROBLEM"] = (~k["STUDENT_REACHABLE"] | (k["LEKABEL_MEIDA"] == "0").fillna(False)
                       | ~k["MOBILE_VALID"].fillna(True).astype(bool) | ~k["HOME_VALID"].fillna(True).astype(bool)
                       | ~k["EMAIL_VALID"].fillna(True).astype(bool) | ~k["HAS_DETAILS"])
    return k.drop(columns=["P_SUG", "P_MISPAR"])


# --- helpers -----------------------------------------------------------------------------------------

def _he(s: pd.Series) -> pd.Series:
    """A sort key for Hebrew text: final letters read as regular ones; missing values stay missing."""
    return s.map(lambda v: v.translate(FINALS) if isinstance(v, str) else v)


def _census(t, authority) -> pd.DataFrame:
    c = t["census"]
    return c[c["SEMEL_RASHUT"] == authority]


def _institutions(t, authority) -> pd.DataFrame:
    r = t["rashuyot"]
    m = t["mosdot"]
    return m[m["SEMEL_YISHUV"].isin(r.loc[r["SEMEL_RASHUT"] == authority, "SEMEL_YISHUV"])]


def _ref(salt: str, sug: str, mispar: str, mosad) -> str:
    """STUDENT_REF as the statements make it: md5 of salt and key, then the institution (or -)."""
    place = mosad if isinstance(mosad, str) else "-"
    return hashlib.md5(f"{salt}{sug}:{mispar}".encode()).hexdigest() + "." + place


def _refs(df: pd.DataFrame, salt: str) -> pd.Series:
    if not len(df):
        return pd.Series([], dtype=object)
    mosad = df["SEMEL_MOSAD"] if "SEMEL_MOSAD" in df.columns else pd.Series(None, index=df.index)
    return pd.Series([_ref(salt, s, m, p) for s, m, p in zip(df["SUG_ZEHUT"], df["MISPAR_ZEHUT"], mosad)],
                     index=df.index)


def _int(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("Int64")


def _relation(c: pd.DataFrame) -> pd.Series:
    out = pd.Series("unplaced", index=c.index)
    out[c["PLACED"]] = "elsewhere"
    out[c["IS_PLACED"]] = "incoming"
    out[c["IS_PLACED"] & c["IS_RESIDENT"]] = "here"
    return out


def _placed_counts(t, authority, by: list[str]) -> pd.DataFrame:
    c = _census(t, authority)
    return c[c["IS_PLACED"]].groupby(by, dropna=False).size().rename("N").reset_index()


# --- overview -------------------------------------------------------------------------------------------

def overview_headline(t, authority, **_) -> pd.DataFrame:
    c = _census(t, authority)
    inst = _institutions(t, authority)
    k = t["kitot"]
    return pd.DataFrame([{
        "STUDENTS": len(c), "RESIDENTS": int(c["IS_RESIDENT"].sum()),
        "INCOMING": int((c["IS_PLACED"] & ~c["IS_RESIDENT"]).sum()),
        "STUDYING_ELSEWHERE": int((c["IS_RESIDENT"] & c["PLACED"] & ~c["IS_PLACED"]).sum()),
        "UNPLACED_RESIDENTS": int((c["IS_RESIDENT"] & ~c["PLACED"]).sum()),
        "INSTITUTIONS": len(inst), "CLASSES": int(k["SEMEL_MOSAD"].isin(inst["SEMEL_MOSAD"]).sum()),
    }])


def overview_by_grade(t, authority, **_) -> pd.DataFrame:
    c = _census(t, authority)
    c = c[c["PLACED"]]
    g = c.assign(RESIDENTS_HERE=c["IS_RESIDENT"] & c["IS_PLACED"], INCOMING=c["IS_PLACED"] & ~c["IS_RESIDENT"],
                 STUDYING_ELSEWHERE=~c["IS_PLACED"])
    out = g.groupby("SHICHVA", dropna=False)[["RESIDENTS_HERE", "INCOMING", "STUDYING_ELSEWHERE"]].sum().reset_index()
    return out.sort_values("SHICHVA", na_position="last").reset_index(drop=True)


def overview_by_supervision(t, authority, **_) -> pd.DataFrame:
    inst = _institutions(t, authority)[["SEMEL_MOSAD", "SUG_PIKUACH_TEUR", "MIGZAR_TEUR"]].fillna("")
    placed = _placed_counts(t, authority, ["SEMEL_MOSAD"])
    m = inst.merge(placed, on="SEMEL_MOSAD", how="left").fillna({"N": 0})
    out = m.groupby(["SUG_PIKUACH_TEUR", "MIGZAR_TEUR"]).agg(STUDENTS=("N", "sum"), INSTITUTIONS=("SEMEL_MOSAD", "size"))
    out = out.reset_index()
    out["STUDENTS"] = out["STUDENTS"].astype(int)
    return out.sort_values(["STUDENTS", "SUG_PIKUACH_TEUR", "MIGZAR_TEUR"], ascending=[False, True, True],
                           key=lambda s: s if s.name == "STUDENTS" else _he(s)).reset_index(drop=True)


def overview_by_institution(t, authority, **_) -> pd.DataFrame:
    inst = _institutions(t, authority)[["SEMEL_MOSAD", "SHEM_MOSAD"]]
    c = _census(t, authority)
    c = c[c["IS_PLACED"]]
    per = c.groupby("SEMEL_MOSAD").agg(RESIDENTS=("IS_RESIDENT", "sum"), STUDENTS=("IS_RESIDENT", "size")).reset_index()
    m = inst.merge(per, on="SEMEL_MOSAD", how="left").fillna({"RESIDENTS": 0, "STUDENTS": 0})
    m["STUDENTS"] = m["STUDENTS"].astype(int)
    m["RESIDENTS"] = m["RESIDENTS"].astype(int)
    m["INCOMING"] = m["STUDENTS"] - m["RESIDENTS"]
    m = m.sort_values(["STUDENTS", "SHEM_MOSAD", "SEMEL_MOSAD"], ascending=[False, True, True],
                      key=lambda s: _he(s) if s.name == "SHEM_MOSAD" else s)
    return m[["SEMEL_MOSAD", "SHEM_MOSAD", "STUDENTS", "RESIDENTS", "INCOMING"]].reset_index(drop=True)


def overview_unplaced(t, authority, **_) -> pd.DataFrame:
    c = _census(t, authority)
    u = c[c["IS_RESIDENT"] & ~c["PLACED"]].merge(t["rashuyot"][["SEMEL_YISHUV", "SHEM_YISHUV"]],
                                                    left_on="RES_YISHUV", right_on="SEMEL_YISHUV", how="left")
    u["AGE"] = u["SHNAT_LIMUDIM"] - 1 - pd.to_datetime(u["TAARICH_LEDA"]).dt.year
    out = u.groupby(["RES_YISHUV", "SHEM_YISHUV", "AGE"], dropna=False).size().rename("STUDENTS").reset_index()
    return out.sort_values(["SHEM_YISHUV", "AGE"], key=lambda s: _he(s) if s.name == "SHEM_YISHUV" else s)


# --- students --------------------------------------------------------------------------------------------

def _normalise_name(s: pd.Series) -> pd.Series:
    return s.fillna("").map(lambda v: " ".join(v.lower().translate(NIQQUD).split()).translate(FINALS))


def students_list(t, authority, mosad=None, shichva=None, makbila=None, megama=None, status=None, res_yishuv=None,
                  relation=None, q_id=None, q_name=None, salt="", sort="institution", descending=False, limit=50,
                  offset=0, **_) -> pd.DataFrame:
    c = _census(t, authority).copy()
    c["RELATION"] = _relation(c)
    keep = pd.Series(True, index=c.index)
    for col, value in (("SEMEL_MOSAD", mosad), ("SHICHVA", shichva), ("MAKBILA", makbila),
                       ("SEMEL_MEGAMA_MOSAD", megama), ("LAST_STATUS", status), ("RES_YISHUV", res_yishuv)):
        if value is not None:
            keep &= c[col] == value
    if relation == "resident":
        keep &= c["IS_RESIDENT"]
    elif relation is not None:
        keep &= c["RELATION"] == relation
    if q_id is not None:
        keep &= (c["MISPAR_ZEHUT"] == q_id) | (c["MISPAR_ZEHUT"] == q_id.zfill(9))
    if q_name is not None:
        needle = _normalise_name(pd.Series([q_name]))[0]
        first, last = _normalise_name(c["SHEM_PRATI"]), _normalise_name(c["SHEM_MISHPACHA"])
        keep &= (first + " " + last).str.contains(needle, regex=False) | \
            (last + " " + first).str.contains(needle, regex=False)
    f = c[keep]
    f = f.merge(t["mosdot"][["SEMEL_MOSAD", "SHEM_MOSAD"]], on="SEMEL_MOSAD", how="left")
    f = f.merge(t["rashuyot"][["SEMEL_YISHUV", "SHEM_YISHUV"]], left_on="RES_YISHUV", right_on="SEMEL_YISHUV",
                how="left")
    keys = {"name": ["SHEM_MISHPACHA", "SHEM_PRATI"], "institution": ["SHEM_MOSAD", "SEMEL_MOSAD", "SHICHVA", "MAKBILA"],
            "grade": ["SHICHVA", "MAKBILA"], "locality": ["SHEM_YISHUV"], "birth": ["TAARICH_LEDA"], "id": []}[sort]
    f = f.sort_values(keys + ["SUG_ZEHUT", "MISPAR_ZEHUT"], ascending=[not descending] * len(keys) + [True, True],
                      na_position="last", key=lambda s: _he(s) if s.dtype == object or str(s.dtype) == "str" else s)
    if sort == "id" and descending:
        f = f.iloc[::-1]
    page = f.iloc[offset: offset + limit].copy()
    page["STUDENT_REF"] = _refs(page, salt)
    page["TOTAL_ROWS"] = len(f)
    return page[["STUDENT_REF", "SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "TAARICH_LEDA", "CODE_MIN",
                 "SEMEL_MOSAD", "SHEM_MOSAD", "SHICHVA", "MAKBILA", "SEMEL_MEGAMA_MOSAD", "LAST_STATUS", "RES_YISHUV",
                 "SHEM_YISHUV", "RELATION", "TOTAL_ROWS"]].reset_index(drop=True)


def students_filter_options(t, authority, **_) -> pd.DataFrame:
    c = _census(t, authority)
    parts = []
    placed = c[c["SEMEL_MOSAD"].notna()]
    inst = placed.groupby("SEMEL_MOSAD")["IS_PLACED"].any().reset_index()
    inst = inst.merge(t["mosdot"][["SEMEL_MOSAD", "SHEM_MOSAD"]], on="SEMEL_MOSAD", how="left")
    parts.append(pd.DataFrame({"KIND": "institution", "CODE": inst["SEMEL_MOSAD"], "LABEL": inst["SHEM_MOSAD"],
                               "OUTSIDE": ~inst["IS_PLACED"]}))
    grades = c["SHICHVA"].dropna().unique()
    parts.append(pd.DataFrame({"KIND": "grade", "CODE": [str(int(g)) for g in grades], "LABEL": None, "OUTSIDE": False}))
    statuses = c["LAST_STATUS"].dropna().unique()
    parts.append(pd.DataFrame({"KIND": "status", "CODE": [str(int(x)) for x in statuses], "LABEL": None,
                               "OUTSIDE": False}))
    loc = c[["RES_YISHUV"]].dropna().drop_duplicates().merge(t["rashuyot"][["SEMEL_YISHUV", "SHEM_YISHUV"]],
                                                              left_on="RES_YISHUV", right_on="SEMEL_YISHUV", how="left")
    parts.append(pd.DataFrame({"KIND": "locality", "CODE": loc["RES_YISHUV"], "LABEL": loc["SHEM_YISHUV"],
                               "OUTSIDE": False}))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out.sort_values(["KIND", "OUTSIDE", "LABEL", "CODE"], na_position="last",
                           key=lambda s: _he(s) if s.name == "LABEL" else s).reset_index(drop=True)


def students_class_options(t, authority, mosad=None, **_) -> pd.DataFrame:
    c = _census(t, authority)
    c = c[c["SEMEL_MOSAD"] == mosad]
    cls = c.dropna(subset=["SHICHVA", "MAKBILA"])[["SHICHVA", "MAKBILA"]].drop_duplicates() \
        .sort_values(["SHICHVA", "MAKBILA"])
    classes = pd.DataFrame({"KIND": "class", "CODE": cls["SHICHVA"].astype(int).astype(str) + "/"
                            + cls["MAKBILA"].astype(int).astype(str), "LABEL": None})
    tr = c[c["SEMEL_MEGAMA_MOSAD"].notna()][["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD"]].drop_duplicates()
    tr = tr.merge(t["megamot"][["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD", "SHEM_MEGAMA_MOSAD"]].drop_duplicates(
        ["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD"]), on=["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD"], how="left")
    tracks = pd.DataFrame({"KIND": "track", "CODE": tr["SEMEL_MEGAMA_MOSAD"], "LABEL": tr["SHEM_MEGAMA_MOSAD"]}) \
        .sort_values(["LABEL", "CODE"], key=lambda s: _he(s) if s.name == "LABEL" else s)
    return pd.concat([classes, tracks], ignore_index=True)


def _by_ref(t, authority, ref, salt) -> pd.DataFrame:
    c = _census(t, authority)
    place = ref.split(".")[1]
    c = c[c["SEMEL_MOSAD"].fillna("-") == place]
    return c[_refs(c, salt) == ref]


def student_record(t, authority, ref=None, salt="", **_) -> pd.DataFrame:
    s = _by_ref(t, authority, ref, salt)
    s = s.merge(t["rashuyot"][["SEMEL_YISHUV", "SHEM_YISHUV"]], left_on="RES_YISHUV", right_on="SEMEL_YISHUV",
                how="left").merge(t["mosdot"][["SEMEL_MOSAD", "SHEM_MOSAD"]], on="SEMEL_MOSAD", how="left")
    return s[["SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "CODE_MIN", "TAARICH_LEDA", "SHNAT_LIMUDIM",
              "LAST_STATUS", "RES_YISHUV", "SHEM_YISHUV", "SEMEL_RECHOV_TAL", "MISPAR_BAYIT_TAL", "MISPAR_DIRA_TAL",
              "MIKUD_7_TAL", "TAARICH_IDKUN_RESHUMA", "PLACED", "ACTIVE_PLACEMENTS", "SEMEL_MOSAD", "SHEM_MOSAD",
              "SHICHVA", "MAKBILA", "SEMEL_MEGAMA_MOSAD", "IS_RESIDENT", "IS_PLACED"]]


def student_placements(t, authority, ref=None, salt="", **_) -> pd.DataFrame:
    s = _by_ref(t, authority, ref, salt)[["SUG_ZEHUT", "MISPAR_ZEHUT"]]
    rows = t["talmidim"].merge(s, on=["SUG_ZEHUT", "MISPAR_ZEHUT"])
    rows = rows.merge(t["mosdot"][["SEMEL_MOSAD", "SHEM_MOSAD"]], on="SEMEL_MOSAD", how="left")
    out = pd.DataFrame({
        "SHNAT_LIMUDIM": rows["SHNAT_LIMUDIM"], "SEMEL_MOSAD": rows["SEMEL_MOSAD"], "SHEM_MOSAD": rows["SHEM_MOSAD"],
        "SHICHVA": _int(rows["SHICHVA"]), "MAKBILA": _int(rows["MAKBILA"]),
        "SEMEL_MEGAMA_MOSAD": rows["SEMEL_MEGAMA_MOSAD"], "CODE_STATUS_RISHUM_TA": _int(rows["CODE_STATUS_RISHUM_TA"]),
        "TAARICH_HATCHALA": pd.to_datetime(rows["TAARICH_HATCHALA"], errors="coerce").dt.date,
        "TAARICH_AZIVA": pd.to_datetime(rows["TAARICH_AZIVA"], errors="coerce").dt.date,
        "CODE_SIBAT_AZIVA": rows["CODE_SIBAT_AZIVA"],
        "TAARICH_IDKUN_RESHUMA": pd.to_datetime(rows["TAARICH_IDKUN_RESHUMA"], errors="coerce").dt.date,
        "_line": rows["_line"]})
    return out.sort_values(["TAARICH_IDKUN_RESHUMA", "_line"], ascending=False, na_position="last").drop(columns="_line")


CONTACT_FIELDS = ["KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT", "MISPAR_TEL_BAIT", "EMAIL_RASHI"]


def student_contacts(t, authority, ref=None, salt="", **_) -> pd.DataFrame:
    s = _by_ref(t, authority, ref, salt)[["SUG_ZEHUT", "MISPAR_ZEHUT"]]
    k = t["contacts"]
    k = k[k["SEMEL_RASHUT"] == authority].merge(s, left_on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"],
                                                right_on=["SUG_ZEHUT", "MISPAR_ZEHUT"])
    k = k.merge(t["rashuyot"][["SEMEL_YISHUV", "SHEM_YISHUV"]], on="SEMEL_YISHUV", how="left")
    k["CODE_SUG_KIRVA_GOREM_KESHER"] = _int(k["CODE_SUG_KIRVA_GOREM_KESHER"])
    for col in ("TAARICH_HATCHALA_GOREM_KESHER", "TAARICH_SIYUM_GOREM_KESHER"):
        k[col] = pd.to_datetime(k[col], errors="coerce").dt.date
    k = k.sort_values(["ACTIVE", "CODE_SUG_KIRVA_GOREM_KESHER", "LINE"], ascending=[False, True, True],
                      na_position="last")
    return k[["SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER", "SHEM_PRATI_GOREM_KESHER",
              "SHEM_MISHPACHA_GOREM_KESHER", "CODE_SUG_KIRVA_GOREM_KESHER", "HAIM_MESHALEM_GOREM_KESHER", "LEKABEL_MEIDA",
              "TAARICH_HATCHALA_GOREM_KESHER", "TAARICH_SIYUM_GOREM_KESHER", "ACTIVE", *CONTACT_FIELDS, "SEMEL_YISHUV",
              "SHEM_YISHUV", "SEMEL_RECHOV", "SHEM_RECHOV", "MISPAR_BAYIT", "KNISA", "MISPAR_DIRA", "MIKUD", "TEVAT_DOAR"]]


def unplaced_residents(t, authority, res_yishuv=None, salt="", sort="locality", limit=50, offset=0, **_) -> pd.DataFrame:
    c = _census(t, authority)
    u = c[c["IS_RESIDENT"] & ~c["PLACED"]]
    if res_yishuv is not None:
        u = u[u["RES_YISHUV"] == res_yishuv]
    k = t["contacts"]
    k = k[(k["SEMEL_RASHUT"] == authority) & k["ACTIVE"]].drop(columns=["SHEM_PRATI", "SHEM_MISHPACHA"])
    k = k.merge(u[["SUG_ZEHUT", "MISPAR_ZEHUT"]], left_on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"],
                right_on=["SUG_ZEHUT", "MISPAR_ZEHUT"])
    k = k.assign(AGREES=k["LEKABEL_MEIDA"] == "1", HAS_MOBILE=k["MISPAR_NAYAD"].notna())
    best = k.sort_values(["AGREES", "HAS_MOBILE", "LINE"], ascending=[False, False, True]) \
        .drop_duplicates(["SUG_ZEHUT", "MISPAR_ZEHUT"])
    best = best[["SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI_GOREM_KESHER", "SHEM_MISHPACHA_GOREM_KESHER",
                 "CODE_SUG_KIRVA_GOREM_KESHER", *CONTACT_FIELDS]]
    out = u.merge(best, on=["SUG_ZEHUT", "MISPAR_ZEHUT"], how="left").merge(
        t["rashuyot"][["SEMEL_YISHUV", "SHEM_YISHUV"]], left_on="RES_YISHUV", right_on="SEMEL_YISHUV", how="left")
    out["CONTACTS"] = out["ACTIVE_CONTACTS"]
    out["CODE_SUG_KIRVA_GOREM_KESHER"] = _int(out["CODE_SUG_KIRVA_GOREM_KESHER"])
    out["STUDENT_AGE"] = out["SHNAT_LIMUDIM"] - 1 - pd.to_datetime(out["TAARICH_LEDA"]).dt.year
    out["STUDENT_REF"] = _refs(out, salt)
    out = out.sort_values(["SHEM_YISHUV"] + (["TAARICH_LEDA"] if sort == "birth" else []) + ["STUDENT_REF"],
                          na_position="last", key=lambda s: _he(s) if s.name == "SHEM_YISHUV" else s)
    out["TOTAL_ROWS"] = len(out)
    page = out.iloc[offset: offset + limit].copy()
    return page[["STUDENT_REF", "SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "TAARICH_LEDA", "STUDENT_AGE",
                 "LAST_STATUS", "RES_YISHUV", "SHEM_YISHUV", "SEMEL_RECHOV_TAL", "MISPAR_BAYIT_TAL", "MISPAR_DIRA_TAL",
                 "MIKUD_7_TAL", "CONTACTS", "SHEM_PRATI_GOREM_KESHER", "SHEM_MISHPACHA_GOREM_KESHER",
                 "CODE_SUG_KIRVA_GOREM_KESHER", *CONTACT_FIELDS, "TOTAL_ROWS"]].reset_index(drop=True)


# --- classes, tracks, institutions -------------------------------------------------------------------

def _classes(t, authority, mosad=None, shichva=None) -> pd.DataFrame:
    inst = _institutions(t, authority)[["SEMEL_MOSAD", "SHEM_MOSAD"]]
    if mosad is not None:
        inst = inst[inst["SEMEL_MOSAD"] == mosad]
    k = t["kitot"].merge(inst, on="SEMEL_MOSAD")
    for col in ("SHICHVA", "MAKBILA", "MIN_TALMIDIM", "MAX_TALMIDIM", "MISPAR_TALMIDIM"):
        k[col] = _int(k[col])
    if shichva is not None:
        k = k[k["SHICHVA"] == shichva]
    placed = _placed_counts(t, authority, ["SEMEL_MOSAD", "SHICHVA", "MAKBILA"])
    placed["SHICHVA"], placed["MAKBILA"] = _int(placed["SHICHVA"]), _int(placed["MAKBILA"])
    k = k.merge(placed, on=["SEMEL_MOSAD", "SHICHVA", "MAKBILA"], how="left")
    k["PLACED"] = k["N"].fillna(0).astype(int)
    k["OVER_MAX"] = (k["PLACED"] > k["MAX_TALMIDIM"]).astype("boolean")
    k["UNDER_MIN"] = (k["PLACED"] < k["MIN_TALMIDIM"]).astype("boolean")
    k["DIFFERS_FROM_MINISTRY"] = k["MISPAR_TALMIDIM"].isna() | (k["MISPAR_TALMIDIM"] != k["PLACED"])
    return k


def classes_occupancy(t, authority, mosad=None, shichva=None, **_) -> pd.DataFrame:
    k = _classes(t, authority, mosad, shichva).sort_values(["SHEM_MOSAD", "SEMEL_MOSAD", "SHICHVA", "MAKBILA"],
                                                           key=lambda s: _he(s) if s.name == "SHEM_MOSAD" else s)
    return k[["ID_KITA", "SEMEL_MOSAD", "SHEM_MOSAD", "SHICHVA", "MAKBILA", "SHEM_KITA", "TEUR_SUG_KITA",
              "TEUR_STATUS_ISHUR", "MIN_TALMIDIM", "MAX_TALMIDIM", "MISPAR_TALMIDIM", "PLACED", "OVER_MAX", "UNDER_MIN",
              "DIFFERS_FROM_MINISTRY"]].reset_index(drop=True)


def classes_by_institution_grade(t, authority, **_) -> pd.DataFrame:
    k = _classes(t, authority)
    out = k.groupby(["SEMEL_MOSAD", "SHEM_MOSAD", "SHICHVA"], dropna=False).agg(
        CLASSES=("ID_KITA", "size"), CAPACITY=("MAX_TALMIDIM", "sum"), PLACED=("PLACED", "sum"),
        MISPAR_TALMIDIM=("MISPAR_TALMIDIM", "sum"), OVER_MAX=("OVER_MAX", "sum"), UNDER_MIN=("UNDER_MIN", "sum"),
        DIFFERS_FROM_MINISTRY=("DIFFERS_FROM_MINISTRY", "sum")).reset_index()
    return out.sort_values(["SHEM_MOSAD", "SEMEL_MOSAD", "SHICHVA"],
                           key=lambda s: _he(s) if s.name == "SHEM_MOSAD" else s).reset_index(drop=True)


def tracks_quota(t, authority, mosad=None, **_) -> pd.DataFrame:
    inst = _institutions(t, authority)[["SEMEL_MOSAD", "SHEM_MOSAD"]]
    if mosad is not None:
        inst = inst[inst["SEMEL_MOSAD"] == mosad]
    g = t["megamot"].merge(inst, on="SEMEL_MOSAD")
    for col in ("SHICHVA", "MICHSAT_TALMIDIM_MEVUKESHET", "MICHSAT_TALMIDIM"):
        g[col] = _int(g[col])
    g["TAARICH_STATUS_ISHUR_MEGAMA"] = pd.to_datetime(g["TAARICH_STATUS_ISHUR_MEGAMA"], errors="coerce").dt.date
    placed = _placed_counts(t, authority, ["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD"])
    g = g.merge(placed, on=["SEMEL_MOSAD", "SEMEL_MEGAMA_MOSAD"], how="left")
    g["PLACED"] = g["N"].fillna(0).astype(int)
    g["OVER_APPROVED"] = (g["PLACED"] > g["MICHSAT_TALMIDIM"]).astype("boolean")
    g["OVER_REQUESTED"] = (g["PLACED"] > g["MICHSAT_TALMIDIM_MEVUKESHET"]).astype("boolean")
    g = g.sort_values(["SHEM_MOSAD", "SEMEL_MOSAD", "SHICHVA", "SHEM_MEGAMA_MOSAD", "SEMEL_MEGAMA_MOSAD"], na_position="last",
                      key=lambda s: _he(s) if s.name in ("SHEM_MOSAD", "SHEM_MEGAMA_MOSAD") else s)
    return g[["ID_MEGAMA", "SEMEL_MOSAD", "SHEM_MOSAD", "SEMEL_MEGAMA", "SEMEL_MEGAMA_MOSAD", "SHEM_MEGAMA_MOSAD",
              "TEUR_MEGAMA", "SHICHVA", "MICHSAT_TALMIDIM_MEVUKESHET", "MICHSAT_TALMIDIM", "STATUS_ISHUR_MEGAMA",
              "TEUR_STATUS_ISHUR_MEGAMA", "TAARICH_STATUS_ISHUR_MEGAMA", "PLACED", "OVER_APPROVED",
              "OVER_REQUESTED"]].reset_index(drop=True)


def institutions_list(t, authority, **_) -> pd.DataFrame:
    r = t["rashuyot"]
    inst = _institutions(t, authority).merge(r[["SEMEL_YISHUV", "SHEM_YISHUV"]], on="SEMEL_YISHUV", how="left")
    c = _census(t, authority)
    c = c[c["IS_PLACED"]]
    per = c.groupby("SEMEL_MOSAD").agg(STUDENTS=("IS_RESIDENT", "size"), RESIDENTS=("IS_RESIDENT", "sum")).reset_index()
    classes = t["kitot"].groupby("SEMEL_MOSAD").size().rename("CLASSES").reset_index()
    tracks = t["megamot"].groupby("SEMEL_MOSAD").size().rename("TRACKS").reset_index()
    m = inst.merge(per, on="SEMEL_MOSAD", how="left").merge(classes, on="SEMEL_MOSAD", how="left") \
        .merge(tracks, on="SEMEL_MOSAD", how="left")
    for col in ("STUDENTS", "RESIDENTS", "CLASSES", "TRACKS"):
        m[col] = m[col].fillna(0).astype(int)
    for col in ("ME_SHICHVA_MEUSHAR", "AD_SHICHVA_MEUSHAR"):
        m[col] = _int(m[col])
    for col in ("LONGITUDE", "LATITUDE"):
        m[col] = pd.to_numeric(m[col], errors="coerce") if col in m.columns else float("nan")
    m = m.sort_values(["SHEM_MOSAD", "SEMEL_MOSAD"], key=lambda s: _he(s) if s.name == "SHEM_MOSAD" else s)
    return m[["SEMEL_MOSAD", "SHEM_MOSAD", "SEMEL_YISHUV", "SHEM_YISHUV", "KTOVET_MOSAD", "SUG_PIKUACH_TEUR", "MIGZAR_TEUR",
              "SUG_CHINUCH_TEUR", "SHLAV_CHINUCH_TEUR", "SUG_MOSAD_TEUR", "MAAMAD_MISHPATI_TEUR", "ME_SHICHVA_MEUSHAR",
              "AD_SHICHVA_MEUSHAR", "STUDENTS", "RESIDENTS", "CLASSES", "TRACKS", "LONGITUDE", "LATITUDE"]] \
        .reset_index(drop=True)


# --- contacts ----------------------------------------------------------------------------------------

def _active_links(t, authority) -> pd.DataFrame:
    k = t["contacts"]
    k = k[(k["SEMEL_RASHUT"] == authority) & k["ACTIVE"]].copy()
    k["INVALID_PHONE"] = ~k["MOBILE_VALID"].fillna(True).astype(bool) | ~k["HOME_VALID"].fillna(True).astype(bool)
    k["INVALID_EMAIL"] = ~k["EMAIL_VALID"].fillna(True).astype(bool)
    k["NOT_AGREEING"] = k["LEKABEL_MEIDA"] == "0"
    k["MISSING_DETAILS"] = ~k["HAS_DETAILS"]
    return k


def contacts_quality_summary(t, authority, **_) -> pd.DataFrame:
    students = len(_census(t, authority))
    k = _active_links(t, authority)
    per = k.groupby(["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"])["STUDENT_REACHABLE"].any()
    return pd.DataFrame([{
        "STUDENTS": students, "NO_CONTACT": students - len(per), "NO_REACHABLE_PHONE": students - int(per.sum()),
        "CONTACT_LINKS": len(k), "MISSING_DETAILS": int(k["MISSING_DETAILS"].sum()),
        "NOT_AGREEING": int(k["NOT_AGREEING"].sum()), "INVALID_PHONE": int(k["INVALID_PHONE"].sum()),
        "INVALID_EMAIL": int(k["INVALID_EMAIL"].sum())}])


PROBLEM_COLUMN = {"no_contact": "NO_CONTACT", "no_phone": "NO_PHONE", "not_agreeing": "NOT_AGREEING",
                  "invalid_phone": "INVALID_PHONE", "invalid_email": "INVALID_EMAIL", "missing_details": "MISSING_DETAILS"}


def contacts_problems(t, authority, problem=None, salt="", limit=50, offset=0, **_) -> pd.DataFrame:
    c = _census(t, authority)[["SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SEMEL_MOSAD", "SHICHVA",
                               "MAKBILA"]]
    k = _active_links(t, authority)
    rows = c.merge(k.drop(columns=["SHEM_PRATI", "SHEM_MISHPACHA", "SEMEL_MOSAD", "SHICHVA", "MAKBILA"]),
                   left_on=["SUG_ZEHUT", "MISPAR_ZEHUT"], right_on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"],
                   how="left")
    rows["NO_CONTACT"] = rows["SUG_ZEHUT_TALMID"].isna()
    rows["NO_PHONE"] = ~rows["STUDENT_REACHABLE"].fillna(False).astype(bool)
    for col in ("NOT_AGREEING", "INVALID_PHONE", "INVALID_EMAIL", "MISSING_DETAILS"):
        rows[col] = rows[col].fillna(False).astype(bool)
    if problem in PROBLEM_COLUMN:
        rows = rows[rows[PROBLEM_COLUMN[problem]]]
    else:
        rows = rows[rows[list(PROBLEM_COLUMN.values())].any(axis=1)]
    rows = rows.merge(t["mosdot"][["SEMEL_MOSAD", "SHEM_MOSAD"]], on="SEMEL_MOSAD", how="left")
    rows["CODE_SUG_KIRVA_GOREM_KESHER"] = _int(rows["CODE_SUG_KIRVA_GOREM_KESHER"])
    rows = rows.sort_values(["SHEM_MOSAD", "SEMEL_MOSAD", "SHICHVA", "MAKBILA", "SUG_ZEHUT", "MISPAR_ZEHUT", "LINE"],
                            na_position="last", key=lambda s: _he(s) if s.name == "SHEM_MOSAD" else s)
    rows["TOTAL_ROWS"] = len(rows)
    page = rows.iloc[offset: offset + limit].copy()
    page["STUDENT_REF"] = _refs(page, salt)
    return page[["STUDENT_REF", "SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SEMEL_MOSAD", "SHEM_MOSAD",
                 "SHICHVA", "MAKBILA", "MISPAR_ZEHUT_GOREM_KESHER", "SHEM_PRATI_GOREM_KESHER",
                 "SHEM_MISHPACHA_GOREM_KESHER", "CODE_SUG_KIRVA_GOREM_KESHER", "LEKABEL_MEIDA", *CONTACT_FIELDS[:4],
                 "EMAIL_RASHI", "NO_CONTACT", "NO_PHONE", "NOT_AGREEING", "INVALID_PHONE", "INVALID_EMAIL",
                 "MISSING_DETAILS", "TOTAL_ROWS"]].reset_index(drop=True)


# --- changes, national, reference ------------------------------------------------------------------------

def _key(salt: str, sug: str, mispar: str) -> str:
    """The pandas versions' STUDENT_KEY (the statements use DuckDB's hash, which pandas cannot compute):
    equally opaque and stable within a process, so the two versions do the same work."""
    return hashlib.md5(f"{salt}|{sug}|{mispar}".encode()).hexdigest()


def changes_side(t, authority, salt="", **_) -> pd.DataFrame:
    c = _census(t, authority)
    keys = [_key(salt, s, m) for s, m in zip(c["SUG_ZEHUT"], c["MISPAR_ZEHUT"])]
    out = c[["SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SEMEL_MOSAD", "SHICHVA", "MAKBILA"]].copy()
    out.insert(0, "STUDENT_KEY", keys)
    return out.reset_index(drop=True)


def changes_institutions(t, authority, **_) -> pd.DataFrame:
    c = _census(t, authority)
    m = c[["SEMEL_MOSAD"]].dropna().drop_duplicates().merge(t["mosdot"][["SEMEL_MOSAD", "SHEM_MOSAD"]], on="SEMEL_MOSAD")
    return m.reset_index(drop=True)


def _districts(r) -> pd.DataFrame:
    """Each authority's district: the one holding most of its localities (ties: the first by name)."""
    n = r.groupby(["SEMEL_RASHUT", "MACHOZ"], dropna=False).size().rename("N").reset_index()
    n = n.sort_values(["SEMEL_RASHUT", "N", "MACHOZ"], ascending=[True, False, True], na_position="last")
    return n.drop_duplicates("SEMEL_RASHUT")[["SEMEL_RASHUT", "MACHOZ"]]


def national_by_authority(t, **_) -> pd.DataFrame:
    r = t["rashuyot"]
    auth = r.groupby("SEMEL_RASHUT").agg(SHEM_RASHUT=("SHEM_RASHUT", "first"), SUG_RASHUT=("SUG_RASHUT", "first")) \
        .reset_index().merge(_districts(r), on="SEMEL_RASHUT")
    c = t["census"]
    cen = c.assign(INCOMING=c["IS_PLACED"] & ~c["IS_RESIDENT"],
                   STUDYING_ELSEWHERE=c["IS_RESIDENT"] & c["PLACED"] & ~c["IS_PLACED"],
                   UNPLACED_RESIDENTS=c["IS_RESIDENT"] & ~c["PLACED"]).groupby("SEMEL_RASHUT").agg(
        STUDENTS=("IS_RESIDENT", "size"), RESIDENTS=("IS_RESIDENT", "sum"), INCOMING=("INCOMING", "sum"),
        STUDYING_ELSEWHERE=("STUDYING_ELSEWHERE", "sum"), UNPLACED_RESIDENTS=("UNPLACED_RESIDENTS", "sum")).reset_index()
    m = t["mosdot"].merge(r[["SEMEL_YISHUV", "SEMEL_RASHUT"]], on="SEMEL_YISHUV")
    inst = m.groupby("SEMEL_RASHUT").size().rename("INSTITUTIONS").reset_index()
    cls = t["kitot"].merge(m[["SEMEL_MOSAD", "SEMEL_RASHUT"]], on="SEMEL_MOSAD").groupby("SEMEL_RASHUT").size() \
        .rename("CLASSES").reset_index()
    out = auth.merge(cen, on="SEMEL_RASHUT", how="left").merge(inst, on="SEMEL_RASHUT", how="left") \
        .merge(cls, on="SEMEL_RASHUT", how="left")
    for col in ("STUDENTS", "RESIDENTS", "INCOMING", "STUDYING_ELSEWHERE", "UNPLACED_RESIDENTS", "INSTITUTIONS", "CLASSES"):
        out[col] = out[col].fillna(0).astype(int)
    return out.sort_values(["SHEM_RASHUT", "SEMEL_RASHUT"], key=lambda s: _he(s) if s.name == "SHEM_RASHUT" else s) \
        .reset_index(drop=True)


def national_students(t, district=None, **_) -> pd.DataFrame:
    d = _districts(t["rashuyot"])
    shown = set(d["SEMEL_RASHUT"] if district is None else d.loc[d["MACHOZ"].fillna("") == district, "SEMEL_RASHUT"])
    c = t["census"]
    elsewhere = c["RES_RASHUT"].isna() | ~c["RES_RASHUT"].isin(shown)
    return pd.DataFrame({"STUDENTS": [int((c["SEMEL_RASHUT"].isin(shown) & (c["IS_RESIDENT"] | elsewhere)).sum())]})


def authorities(t, **_) -> pd.DataFrame:
    r = t["rashuyot"]
    out = r.groupby("SEMEL_RASHUT").agg(SHEM_RASHUT=("SHEM_RASHUT", "first"), SUG_RASHUT=("SUG_RASHUT", "first"),
                                        LOCALITIES=("SEMEL_YISHUV", "size")).reset_index().merge(_districts(r), on="SEMEL_RASHUT")
    out = out[["SEMEL_RASHUT", "SHEM_RASHUT", "SUG_RASHUT", "MACHOZ", "LOCALITIES"]]
    return out.sort_values("SHEM_RASHUT", key=_he).reset_index(drop=True)


BASELINES = {f.__name__: f for f in (
    overview_headline, overview_by_grade, overview_by_supervision, overview_by_institution, overview_unplaced,
    students_list, students_filter_options, students_class_options, student_record, student_placements,
    student_contacts, unplaced_residents,
    classes_occupancy, classes_by_institution_grade, tracks_quota, institutions_list, contacts_quality_summary, contacts_problems, changes_side,
    changes_institutions,
    national_by_authority, national_students, authorities)}
