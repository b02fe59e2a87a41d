"""Students: every student of the authority's census, filtered, searched, sorted and paged in SQL;
one student's record with placements and contacts; and the unplaced residents to act on.

Only one page of rows reaches the browser. Personal details arrive masked from the query runner
unless the person may view them; opening a student's personal details is audited first.
"""
from __future__ import annotations

import re

import polars as pl
import streamlit as st

from auth import audit
from auth.permissions import Action
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from queries import run
from queries.masking import PERSONAL_SORTS

TEXT = {
    "title": {"he": "תלמידים", "en": "Students"},
    "view": {"he": "תצוגה", "en": "View"},
    "view_all": {"he": "כל התלמידים", "en": "All students"},
    "view_unplaced": {"he": "תושבים לא משובצים", "en": "Unplaced residents"},
    "filters": {"he": "סינון", "en": "Filters"},
    "relation": {"he": "שיוך לרשות", "en": "Relation"},
    "rel_resident": {"he": "כל התושבים", "en": "All residents"},
    "institution": {"he": "מוסד", "en": "Institution"},
    "grade": {"he": "שכבה", "en": "Grade"},
    "class": {"he": "כיתה", "en": "Class"},
    "track": {"he": "מגמה", "en": "Track"},
    "status": {"he": "סטטוס רישום", "en": "Registration status"},
    "locality": {"he": "יישוב מגורים", "en": "Residence locality"},
    "search": {"he": "חיפוש לפי שם או מספר זהות", "en": "Search by name or identity number"},
    "search_masked": {"he": "חיפוש לפי מספר זהות (התאמה מלאה)", "en": "Search by identity number (exact)"},
    "search_help": {"he": "שם: חלק מהשם הפרטי או שם המשפחה, עם או בלי ניקוד ואותיות סופיות. מספר זהות: כל הספרות.",
                    "en": "Name: part of the first name or surname, with or without niqqud and final letters. "
                          "Identity number: all its digits."},
    "name_needs_personal": {"he": "חיפוש לפי שם דורש הרשאה לצפייה בפרטים אישיים. אפשר לחפש לפי מספר זהות מלא.",
                            "en": "Searching by name needs permission to view personal details. You can search by "
                                  "the full identity number."},
    "sort": {"he": "מיון", "en": "Sort by"},
    "descending": {"he": "בסדר יורד", "en": "Descending"},
    "sort_institution": {"he": "מוסד וכיתה", "en": "Institution and class"},
    "sort_name": {"he": "שם משפחה ושם פרטי", "en": "Surname and first name"},
    "sort_grade": {"he": "שכבה וכיתה", "en": "Grade and class"},
    "sort_locality": {"he": "יישוב מגורים", "en": "Residence locality"},
    "sort_birth": {"he": "תאריך לידה", "en": "Date of birth"},
    "sort_id": {"he": "מספר זהות", "en": "Identity number"},
    "open": {"he": "פתיחת כרטיס תלמיד/ה", "en": "Open a student's record"},
    "choose": {"he": "— בחרו תלמיד/ה מהעמוד —", "en": "— choose a student on this page —"},
    "record": {"he": "כרטיס תלמיד/ה", "en": "Student record"},
    "placements": {"he": "שיבוצים (כל השורות בקובץ התלמידים)", "en": "Placements (every row of the students file)"},
    "contacts": {"he": "אנשי קשר", "en": "Contacts"},
    "no_contacts": {"he": "לתלמיד/ה אין אנשי קשר בקובץ. יש לעדכן את פרטי הקשר במערכת הרישום של המוסד.",
                    "en": "This student has no contacts in the feed. Update the contact details in the institution's "
                          "registration system."},
    "gone": {"he": "התלמיד/ה אינו/ה עוד במצבת הרשות.", "en": "This student is no longer in the authority's census."},
    "address": {"he": "כתובת מגורים", "en": "Home address"},
    "placement": {"he": "שיבוץ פעיל", "en": "Active placement"},
    "not_placed": {"he": "אין שיבוץ פעיל", "en": "No active placement"},
    "several": {"he": "שימו לב: לתלמיד/ה {n} שיבוצים פעילים (שגיאת נתונים לדיווח למשרד).",
                "en": "Note: this student has {n} active placements (a data error to report to the ministry)."},
    "unplaced_intro": {"he": "תושבי הרשות בגיל חינוך חובה שאין להם שיבוץ פעיל באף מוסד. יש ליצור קשר עם המשפחה "
                             "ולוודא רישום.",
                       "en": "Residents of compulsory age with no active placement in any institution. Contact the "
                             "family and make sure the child is registered."},
    "no_unplaced": {"he": "כל התושבים בגיל חינוך חובה משובצים. אין מה לטפל כרגע.",
                    "en": "Every resident of compulsory age is placed. Nothing to act on now."},
    "empty_census": {"he": "אין תלמידים במצבת הרשות בתמונת מצב זו.", "en": "The authority's census has no students in this snapshot."},
}
RELATIONS = [None, "resident", "here", "incoming", "elsewhere", "unplaced"]
SORTS = ["institution", "name", "grade", "locality", "birth", "id"]
LIST_SHOWN = ["MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "TAARICH_LEDA", "SHEM_MOSAD", "KITA", "SEMEL_MEGAMA_MOSAD",
              "LAST_STATUS", "SHEM_YISHUV", "RELATION"]
LIST_COLUMNS = ["MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "TAARICH_LEDA", "SHEM_MOSAD", "SHICHVA", "MAKBILA",
                "SEMEL_MEGAMA_MOSAD", "LAST_STATUS", "SHEM_YISHUV", "RELATION"]
UNPLACED_COLUMNS = ["MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "TAARICH_LEDA", "STUDENT_AGE", "LAST_STATUS", "SHEM_YISHUV",
                    "SEMEL_RECHOV_TAL", "MISPAR_BAYIT_TAL", "MISPAR_DIRA_TAL", "MIKUD_7_TAL", "CONTACTS",
                    "SHEM_PRATI_GOREM_KESHER", "SHEM_MISHPACHA_GOREM_KESHER", "CODE_SUG_KIRVA_GOREM_KESHER",
                    "KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT", "MISPAR_TEL_BAIT", "EMAIL_RASHI"]
# On screen the unplaced list is compact (names, address and phone joined); the export keeps each field.
UNPLACED_SHOWN = ["MISPAR_ZEHUT", "FULL_NAME", "TAARICH_LEDA", "STUDENT_AGE", "SHEM_YISHUV", "ADDRESS", "CONTACTS",
                  "CONTACT_NAME", "CODE_SUG_KIRVA_GOREM_KESHER", "PHONE", "EMAIL_RASHI"]
PLACEMENT_COLUMNS = ["SHNAT_LIMUDIM", "SEMEL_MOSAD", "SHEM_MOSAD", "SHICHVA", "MAKBILA", "SEMEL_MEGAMA_MOSAD",
                     "CODE_STATUS_RISHUM_TA", "TAARICH_HATCHALA", "TAARICH_AZIVA", "CODE_SIBAT_AZIVA",
                     "TAARICH_IDKUN_RESHUMA"]
CONTACT_COLUMNS = ["CODE_SUG_KIRVA_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER", "SHEM_PRATI_GOREM_KESHER",
                   "SHEM_MISHPACHA_GOREM_KESHER", "ACTIVE", "LEKABEL_MEIDA", "HAIM_MESHALEM_GOREM_KESHER",
                   "KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT", "MISPAR_TEL_BAIT", "EMAIL_RASHI", "SHEM_YISHUV",
                   "SHEM_RECHOV", "MISPAR_BAYIT", "KNISA", "MISPAR_DIRA", "MIKUD", "TEVAT_DOAR"]


def compact_unplaced(rows: pl.DataFrame, lang: str) -> pl.DataFrame:
    words = {"he": ("רחוב", "בית", "דירה", "מיקוד"), "en": ("street", "house", "flat", "zip")}[lang]

    def tagged(col: str, word: str) -> pl.Expr:
        c = pl.col(col)
        return pl.when(c == "•••").then(c).otherwise(pl.lit(word + " ") + c)

    return rows.with_columns(
        W.joined([pl.col("SHEM_PRATI"), pl.col("SHEM_MISHPACHA")], " ").alias("FULL_NAME"),
        W.joined([tagged(c, w) for c, w in zip(("SEMEL_RECHOV_TAL", "MISPAR_BAYIT_TAL", "MISPAR_DIRA_TAL",
                                                  "MIKUD_7_TAL"), words)], ", ").alias("ADDRESS"),
        W.joined([pl.col("SHEM_PRATI_GOREM_KESHER"), pl.col("SHEM_MISHPACHA_GOREM_KESHER")], " ").alias("CONTACT_NAME"),
        pl.coalesce(W.joined([pl.col("KIDOMET_NAYAD"), pl.col("MISPAR_NAYAD")], "-"),
                    W.joined([pl.col("KIDOMET_TEL_BAIT"), pl.col("MISPAR_TEL_BAIT")], "-")).alias("PHONE"))


def parse_search(text: str) -> tuple[str | None, str | None]:
    """(identity number, name): digits (spaces and dashes allowed) are an identity number."""
    text = (text or "").strip()
    if not text:
        return None, None
    compact = re.sub(r"[\s-]", "", text)
    if compact.isdigit():
        return compact, None
    return None, text


def list_params(filters: dict, sort: str, descending: bool) -> dict:
    return {"mosad": filters.get("institution"), "shichva": filters.get("grade"), "makbila": filters.get("class"),
            "megama": filters.get("track"), "status": filters.get("status"), "res_yishuv": filters.get("locality"),
            "relation": filters.get("relation"), "q_id": filters.get("id"), "q_name": filters.get("name"),
            "salt": W.SALT, "sort": sort, "descending": descending}


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if not W.require_census(ctx):
        ctx.record_view("students", {})
        return
    W.snapshot_caption(ctx)
    W.masked_note(ctx)
    view = st.radio(tr(TEXT, "view", lang), ["all", "unplaced"], horizontal=True, key="students_view",
                    format_func=lambda v: tr(TEXT, f"view_{v}", lang))
    if view == "unplaced":
        _unplaced(ctx)
    else:
        _all_students(ctx)


def _options(ctx: PageContext) -> pl.DataFrame:
    return run("students_filter_options", ctx.scope())


def _select(label: str, options: list, fmt, key: str, lang: str):
    return st.selectbox(label, [None] + options, key=key,
                        format_func=lambda v: tr(W.TEXT, "any", lang) if v is None else fmt(v))


def _filters(ctx: PageContext, opts: pl.DataFrame) -> dict:
    lang = ctx.lang
    personal = ctx.allowed(Action.VIEW_PERSONAL)

    def of(kind: str, frame: pl.DataFrame = opts) -> pl.DataFrame:
        return frame.filter(pl.col("KIND") == kind)

    inst = of("institution")
    inst_names = dict(zip(inst["CODE"], inst["LABEL"]))
    localities = of("locality")
    loc_names = dict(zip(localities["CODE"], localities["LABEL"]))
    f: dict = {}
    with st.expander(tr(TEXT, "filters", lang), expanded=True):
        c = st.columns(4)
        with c[0]:
            f["relation"] = st.selectbox(tr(TEXT, "relation", lang), RELATIONS, key="students_relation",
                                         format_func=lambda v: tr(W.TEXT, "any", lang) if v is None else (
                                             tr(TEXT, "rel_resident", lang) if v == "resident"
                                             else W.code_name(W.RELATION_NAMES, v, lang)))
        with c[1]:
            f["institution"] = _select(tr(TEXT, "institution", lang), inst["CODE"].to_list(),
                                       lambda v: f"{inst_names.get(v) or ''} ({v})", "students_institution", lang)
        # classes and tracks of the chosen institution only
        within = run("students_class_options", ctx.scope(), mosad=f["institution"]) if f["institution"] \
            else opts.head(0)
        with c[2]:
            grades = sorted(int(g) for g in of("grade")["CODE"])
            f["grade"] = _select(tr(TEXT, "grade", lang), grades, lambda v: W.grade_label(v, lang),
                                 "students_grade", lang)
        with c[3]:
            classes = []
            if f["institution"] and f["grade"] is not None:
                classes = [int(code.split("/")[1]) for code in of("class", within)["CODE"]
                           if int(code.split("/")[0]) == f["grade"]]
            f["class"] = _select(tr(TEXT, "class", lang), classes, lambda v: W.class_label(f["grade"], v, lang),
                                 "students_class", lang)
        c = st.columns(4)
        with c[0]:
            tracks = of("track", within)
            track_names = dict(zip(tracks["CODE"], tracks["LABEL"]))
            f["track"] = _select(tr(TEXT, "track", lang), tracks["CODE"].to_list(),
                                 lambda v: f"{track_names.get(v) or ''} ({v})", "students_track", lang)
        with c[1]:
            statuses = sorted(int(s) for s in of("status")["CODE"])
            f["status"] = _select(tr(TEXT, "status", lang), statuses,
                                  lambda v: W.code_name(W.STATUS_NAMES, v, lang), "students_status", lang)
        with c[2]:
            f["locality"] = _select(tr(TEXT, "locality", lang), localities["CODE"].to_list(),
                                    lambda v: f"{loc_names.get(v) or ''} ({v})", "students_locality", lang)
        with c[3]:
            q = st.text_input(tr(TEXT, "search" if personal else "search_masked", lang), key="students_search",
                              help=tr(TEXT, "search_help", lang))
        f["id"], f["name"] = parse_search(q)
        if f["name"] and not personal:
            st.warning(tr(TEXT, "name_needs_personal", lang))
            f["name"] = None
        c = st.columns([3, 1])
        sorts = SORTS if personal else [s for s in SORTS if s not in PERSONAL_SORTS]
        f["sort"] = c[0].selectbox(tr(TEXT, "sort", lang), sorts, key="students_sort",
                                   format_func=lambda s: tr(TEXT, f"sort_{s}", lang))
        f["descending"] = c[1].checkbox(tr(TEXT, "descending", lang), key="students_desc")
    return f


def _all_students(ctx: PageContext) -> None:
    lang = ctx.lang
    opts = _options(ctx)
    f = _filters(ctx, opts)
    sort, descending = f.pop("sort"), f.pop("descending")
    active = {k: v for k, v in f.items() if v is not None}
    ctx.record_view("students", {"view": "all", **active, "sort": sort, "descending": descending})
    params = list_params(f, sort, descending)
    offset = W.page_offset("students_page", {**active, "sort": sort, "descending": descending})
    rows = run("students_list", ctx.scope(), **params, limit=W.PAGE_SIZE, offset=offset)
    if rows.is_empty() and offset:
        st.session_state["students_page"] = 1
        rows = run("students_list", ctx.scope(), **params, limit=W.PAGE_SIZE, offset=0)
    if rows.is_empty():
        W.no_rows(lang, None if active else tr(TEXT, "empty_census", lang))
        return
    total = rows["TOTAL_ROWS"][0]
    W.show_table(W.with_class(rows, lang), LIST_SHOWN, lang, key="students_table")
    W.pager("students_page", total, lang)
    W.export_button(ctx, "students", {**active, "sort": sort},
                    lambda s: run("students_list", s, **params, limit=W.ALL_ROWS, offset=0), LIST_COLUMNS,
                    key="students_export", needs=Action.VIEW_ROWS, file_stem="students")
    _detail_picker(ctx, rows, "students_open")


def _unplaced_order(scope) -> str:
    """Oldest first within a locality, for those who may see birth dates (the order would tell them)."""
    return "birth" if scope.personal else "locality"


def _unplaced(ctx: PageContext) -> None:
    lang = ctx.lang
    st.info(tr(TEXT, "unplaced_intro", lang))
    opts = _options(ctx)
    localities = opts.filter(pl.col("KIND") == "locality")
    loc_names = dict(zip(localities["CODE"], localities["LABEL"]))
    locality = _select(tr(TEXT, "locality", lang), localities["CODE"].to_list(),
                       lambda v: f"{loc_names.get(v) or ''} ({v})", "unplaced_locality", lang)
    filters = {"view": "unplaced", **({"locality": locality} if locality else {})}
    ctx.record_view("students", filters)
    offset = W.page_offset("unplaced_page", filters)
    rows = run("unplaced_residents", ctx.scope(), res_yishuv=locality, salt=W.SALT, sort=_unplaced_order(ctx.scope()),
               limit=W.PAGE_SIZE, offset=offset)
    if rows.is_empty():
        if locality:
            W.no_rows(lang)
        else:
            st.success(tr(TEXT, "no_unplaced", lang))
        return
    W.show_table(compact_unplaced(rows, lang), UNPLACED_SHOWN, lang, key="unplaced_table")
    W.pager("unplaced_page", rows["TOTAL_ROWS"][0], lang)
    W.export_button(ctx, "students", filters,
                    lambda s: run("unplaced_residents", s, res_yishuv=locality, salt=W.SALT, sort=_unplaced_order(s),
                                  limit=W.ALL_ROWS, offset=0),
                    UNPLACED_COLUMNS, key="unplaced_export", needs=Action.VIEW_ROWS, file_stem="unplaced_residents")
    _detail_picker(ctx, rows, "unplaced_open")


def _row_label(row: dict, lang: str) -> str:
    name = " ".join(p for p in (row.get("SHEM_MISHPACHA"), row.get("SHEM_PRATI")) if p and p != "•••")
    where = row.get("SHEM_MOSAD") or row.get("SHEM_YISHUV") or ""
    grade = W.class_label(row.get("SHICHVA"), row.get("MAKBILA"), lang) if row.get("SHICHVA") else ""
    return " · ".join(p for p in (name, row["MISPAR_ZEHUT"], where, grade) if p)


def _detail_picker(ctx: PageContext, rows: pl.DataFrame, key: str) -> None:
    lang = ctx.lang
    labels = {r["STUDENT_REF"]: _row_label(r, lang) for r in rows.iter_rows(named=True)}
    ref = st.selectbox(tr(TEXT, "open", lang), [None] + list(labels), key=key,
                       format_func=lambda r: tr(TEXT, "choose", lang) if r is None else labels[r])
    if ref:
        show_record(ctx, ref)


def show_record(ctx: PageContext, ref: str) -> None:
    """One student's record. Personal details only with that permission, audited before shown."""
    lang = ctx.lang
    scope = ctx.scope()
    record = run("student_record", scope, ref=ref, salt=W.SALT)
    if record.is_empty():
        st.warning(tr(TEXT, "gone", lang))
        return
    r = record.row(0, named=True)
    if scope.personal:
        key = f"{r['SUG_ZEHUT']}:{r['MISPAR_ZEHUT']}"
        seen = st.session_state.setdefault("_personal_views", set())    # once per student and session
        if (ctx.authority, key) not in seen:
            audit.record("personal_view", actor=ctx.principal.email, authority=ctx.authority,
                         details={"page": "students", "student": key, "snapshot": ctx.snapshot.date})
            seen.add((ctx.authority, key))
    st.subheader(tr(TEXT, "record", lang))
    fields = ["SUG_ZEHUT", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "CODE_MIN", "TAARICH_LEDA", "LAST_STATUS"]
    W.show_table(record, fields, lang, key="record_person")
    st.markdown(f"**{tr(TEXT, 'address', lang)}**")
    W.show_table(record, ["SHEM_YISHUV", "SEMEL_RECHOV_TAL", "MISPAR_BAYIT_TAL", "MISPAR_DIRA_TAL", "MIKUD_7_TAL"],
                 lang, key="record_address")
    st.markdown(f"**{tr(TEXT, 'placement', lang)}**")
    if r["PLACED"]:
        W.show_table(record, ["SEMEL_MOSAD", "SHEM_MOSAD", "SHICHVA", "MAKBILA", "SEMEL_MEGAMA_MOSAD"], lang,
                     key="record_placement")
        if (r["ACTIVE_PLACEMENTS"] or 0) > 1:
            st.warning(tr(TEXT, "several", lang, n=fmt_int(r["ACTIVE_PLACEMENTS"])))
    else:
        st.write(tr(TEXT, "not_placed", lang))
    st.markdown(f"**{tr(TEXT, 'placements', lang)}**")
    W.show_table(run("student_placements", scope, ref=ref, salt=W.SALT), PLACEMENT_COLUMNS, lang,
                 key="record_history")
    st.markdown(f"**{tr(TEXT, 'contacts', lang)}**")
    contacts = run("student_contacts", scope, ref=ref, salt=W.SALT)
    if contacts.is_empty():
        st.info(tr(TEXT, "no_contacts", lang))
    else:
        W.show_table(contacts, CONTACT_COLUMNS, lang, key="record_contacts")
