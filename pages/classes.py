"""Classes: how full each class of the authority's institutions is, counted from the placements,
beside its minimum and maximum and beside the number the ministry reports."""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from queries import run

TEXT = {
    "title": {"he": "כיתות ותפוסה", "en": "Classes and occupancy"},
    "intro": {"he": "התפוסה נספרת מהשיבוצים הפעילים של תלמידי מצבת הרשות, ומוצגת לצד מספר התלמידים שמדווח המשרד "
                    "(MISPAR_TALMIDIM). כיתה מסומנת כשהספירה שונה מנתון המשרד, מעל המקסימום או מתחת למינימום.",
              "en": "Occupancy is counted from the active placements of the authority's census students, shown beside "
                    "the number the ministry reports (MISPAR_TALMIDIM). A class is flagged when the count differs "
                    "from the ministry's, is over its maximum or under its minimum."},
    "institution": {"he": "מוסד", "en": "Institution"},
    "grade": {"he": "שכבה", "en": "Grade"},
    "show": {"he": "הצגה", "en": "Show"},
    "show_all": {"he": "כל הכיתות", "en": "All classes"},
    "show_flagged": {"he": "רק כיתות מסומנות", "en": "Flagged classes only"},
    "show_over": {"he": "מעל המקסימום", "en": "Over maximum"},
    "show_under": {"he": "מתחת למינימום", "en": "Under minimum"},
    "show_differs": {"he": "שונה מנתון המשרד", "en": "Differs from the ministry"},
    "classes": {"he": "כיתות", "en": "Classes"},
    "over": {"he": "מעל המקסימום", "en": "Over maximum"},
    "under": {"he": "מתחת למינימום", "en": "Under minimum"},
    "differs": {"he": "שונות מנתון המשרד", "en": "Differ from the ministry"},
    "summary": {"he": "סיכום לפי מוסד ושכבה", "en": "Summary by institution and grade"},
    "per_class": {"he": "כיתות", "en": "Classes"},
    "no_classes": {"he": "אין כיתות למוסדות הרשות בקובץ הכיתות (KITOT) של תמונת מצב זו. הכיתות מגיעות מהמשרד "
                         "יחד עם הקובץ היומי.",
                   "en": "The classes file (KITOT) of this snapshot has no classes for the authority's institutions. "
                         "Classes come from the ministry with the daily feed."},
}
CLASS_SHOWN = ["SHEM_MOSAD", "KITA", "TEUR_SUG_KITA", "MIN_TALMIDIM", "MAX_TALMIDIM", "PLACED", "MISPAR_TALMIDIM",
               "OVER_MAX", "UNDER_MIN", "DIFFERS_FROM_MINISTRY"]
SUMMARY_SHOWN = ["SHEM_MOSAD", "SHICHVA", "CLASSES", "CAPACITY", "PLACED", "MISPAR_TALMIDIM", "OVER_MAX", "UNDER_MIN",
                 "DIFFERS_FROM_MINISTRY"]
CLASS_COLUMNS = ["SHEM_MOSAD", "SEMEL_MOSAD", "SHEM_KITA", "SHICHVA", "MAKBILA", "TEUR_SUG_KITA", "MIN_TALMIDIM",
                 "MAX_TALMIDIM", "PLACED", "MISPAR_TALMIDIM", "OVER_MAX", "UNDER_MIN", "DIFFERS_FROM_MINISTRY"]
SUMMARY_COLUMNS = ["SHEM_MOSAD", "SEMEL_MOSAD", "SHICHVA", "CLASSES", "CAPACITY", "PLACED", "MISPAR_TALMIDIM",
                   "OVER_MAX", "UNDER_MIN", "DIFFERS_FROM_MINISTRY"]
SHOW = {"all": None, "flagged": None, "over": "OVER_MAX", "under": "UNDER_MIN", "differs": "DIFFERS_FROM_MINISTRY"}


def select_flag(df: pl.DataFrame, show: str) -> pl.DataFrame:
    if show == "all":
        return df
    if show == "flagged":
        return df.filter(pl.col("OVER_MAX") | pl.col("UNDER_MIN") | pl.col("DIFFERS_FROM_MINISTRY"))
    return df.filter(pl.col(SHOW[show]).fill_null(False))


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if not W.require_census(ctx):
        ctx.record_view("classes", {})
        return
    W.snapshot_caption(ctx)
    st.caption(tr(TEXT, "intro", lang))
    scope = ctx.scope()
    everything = run("classes_occupancy", scope, mosad=None, shichva=None)
    if everything.is_empty():
        ctx.record_view("classes", {})
        st.info(tr(TEXT, "no_classes", lang))
        return
    inst = everything.select("SEMEL_MOSAD", "SHEM_MOSAD").unique(maintain_order=True)
    names = dict(zip(inst["SEMEL_MOSAD"], inst["SHEM_MOSAD"]))
    c = st.columns(3)
    mosad = c[0].selectbox(tr(TEXT, "institution", lang), [None] + inst["SEMEL_MOSAD"].to_list(), key="classes_mosad",
                           format_func=lambda v: tr(W.TEXT, "any", lang) if v is None else f"{names.get(v)} ({v})")
    grades = sorted(g for g in everything["SHICHVA"].unique().to_list() if g is not None)
    grade = c[1].selectbox(tr(TEXT, "grade", lang), [None] + grades, key="classes_grade",
                           format_func=lambda v: tr(W.TEXT, "any", lang) if v is None else W.grade_label(v, lang))
    show = c[2].selectbox(tr(TEXT, "show", lang), list(SHOW), key="classes_show",
                          format_func=lambda v: tr(TEXT, f"show_{v}", lang))
    filters = {k: v for k, v in {"institution": mosad, "grade": grade, "show": show}.items() if v is not None}
    ctx.record_view("classes", filters)

    classes = run("classes_occupancy", scope, mosad=mosad, shichva=grade)
    m = st.columns(4)
    m[0].metric(tr(TEXT, "classes", lang), fmt_int(classes.height))
    m[1].metric(tr(TEXT, "over", lang), fmt_int(classes["OVER_MAX"].sum()))
    m[2].metric(tr(TEXT, "under", lang), fmt_int(classes["UNDER_MIN"].sum()))
    m[3].metric(tr(TEXT, "differs", lang), fmt_int(classes["DIFFERS_FROM_MINISTRY"].sum()))

    st.subheader(tr(TEXT, "per_class", lang))
    shown = select_flag(classes, show)
    if shown.is_empty():
        W.no_rows(lang)
    else:
        W.show_table(W.with_class(shown, lang), CLASS_SHOWN, lang, key="classes_table")
        W.export_button(ctx, "classes", filters,
                        lambda s: select_flag(run("classes_occupancy", s, mosad=mosad, shichva=grade), show),
                        CLASS_COLUMNS, key="classes_export", needs=Action.VIEW_AGGREGATES)

    st.subheader(tr(TEXT, "summary", lang))
    summary = run("classes_by_institution_grade", scope)
    if mosad:
        summary = summary.filter(pl.col("SEMEL_MOSAD") == mosad)
    if grade is not None:
        summary = summary.filter(pl.col("SHICHVA") == grade)
    W.show_table(summary, SUMMARY_SHOWN, lang, key="classes_summary")

    def summary_of(s):
        out = run("classes_by_institution_grade", s)
        if mosad:
            out = out.filter(pl.col("SEMEL_MOSAD") == mosad)
        return out.filter(pl.col("SHICHVA") == grade) if grade is not None else out

    W.export_button(ctx, "classes", {**filters, "table": "summary"}, summary_of, SUMMARY_COLUMNS,
                    key="classes_summary_export", needs=Action.VIEW_AGGREGATES, file_stem="classes_summary")
