"""Institutions: the authority's schools with their supervision, sector, legal status, grade range,
students, classes and tracks, and where they are (a plain plot of coordinates: no map tiles)."""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from queries import run

TEXT = {
    "title": {"he": "מוסדות החינוך ברשות", "en": "The authority's institutions"},
    "supervision": {"he": "פיקוח", "en": "Supervision"},
    "sector": {"he": "מגזר", "en": "Sector"},
    "legal": {"he": "מעמד משפטי", "en": "Legal status"},
    "institutions": {"he": "מוסדות", "en": "Institutions"},
    "students": {"he": "תלמידים", "en": "Students"},
    "classes": {"he": "כיתות", "en": "Classes"},
    "map": {"he": "מיקום המוסדות (גודל הנקודה: מספר התלמידים)", "en": "Where the institutions are (marker size: students)"},
    "no_coordinates": {"he": "לקובץ המוסדות אין עמודות קואורדינטות (LONGITUDE, LATITUDE), ולכן אין מפה.",
                       "en": "The institutions file has no coordinate columns (LONGITUDE, LATITUDE), so there is no map."},
    "no_institutions": {"he": "אין מוסדות חינוך ביישובי הרשות בקובץ המוסדות (MOSDOT) של תמונת מצב זו.",
                        "en": "The institutions file (MOSDOT) of this snapshot has no institutions in the authority's "
                              "localities."},
    "grades": {"he": "שכבות", "en": "Grades"},
}
SHOWN = ["SHEM_MOSAD", "SHEM_YISHUV", "SUG_PIKUACH_TEUR", "MIGZAR_TEUR", "SHLAV_CHINUCH_TEUR", "MAAMAD_MISHPATI_TEUR",
         "GRADES", "STUDENTS", "RESIDENTS", "CLASSES", "TRACKS"]
COLUMNS = ["SHEM_MOSAD", "SEMEL_MOSAD", "SHEM_YISHUV", "SUG_PIKUACH_TEUR", "MIGZAR_TEUR", "SUG_CHINUCH_TEUR",
           "SHLAV_CHINUCH_TEUR", "MAAMAD_MISHPATI_TEUR", "ME_SHICHVA_MEUSHAR", "AD_SHICHVA_MEUSHAR", "STUDENTS",
           "RESIDENTS", "CLASSES", "TRACKS", "KTOVET_MOSAD"]


def narrow(df: pl.DataFrame, supervision: str | None, sector: str | None, legal: str | None) -> pl.DataFrame:
    for col, value in (("SUG_PIKUACH_TEUR", supervision), ("MIGZAR_TEUR", sector), ("MAAMAD_MISHPATI_TEUR", legal)):
        if value is not None:
            df = df.filter(pl.col(col).fill_null("") == value)
    return df


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if not W.require_census(ctx):
        ctx.record_view("institutions", {})
        return
    W.snapshot_caption(ctx)
    everything = run("institutions_list", ctx.scope())
    if everything.is_empty():
        ctx.record_view("institutions", {})
        st.info(tr(TEXT, "no_institutions", lang))
        return

    def choices(col: str) -> list:
        return [None] + sorted({v or "" for v in everything[col].to_list()})

    any_ = tr(W.TEXT, "any", lang)
    c = st.columns(3)
    supervision = c[0].selectbox(tr(TEXT, "supervision", lang), choices("SUG_PIKUACH_TEUR"), key="inst_supervision",
                                 format_func=lambda v: any_ if v is None else v or "—")
    sector = c[1].selectbox(tr(TEXT, "sector", lang), choices("MIGZAR_TEUR"), key="inst_sector",
                            format_func=lambda v: any_ if v is None else v or "—")
    legal = c[2].selectbox(tr(TEXT, "legal", lang), choices("MAAMAD_MISHPATI_TEUR"), key="inst_legal",
                           format_func=lambda v: any_ if v is None else v or "—")
    filters = {k: v for k, v in {"supervision": supervision, "sector": sector, "legal": legal}.items() if v is not None}
    ctx.record_view("institutions", filters)

    inst = narrow(everything, supervision, sector, legal)
    m = st.columns(3)
    m[0].metric(tr(TEXT, "institutions", lang), fmt_int(inst.height))
    m[1].metric(tr(TEXT, "students", lang), fmt_int(inst["STUDENTS"].sum()))
    m[2].metric(tr(TEXT, "classes", lang), fmt_int(inst["CLASSES"].sum()))
    if inst.is_empty():
        W.no_rows(lang)
        return

    located = inst.filter(pl.col("LONGITUDE").is_not_null() & pl.col("LATITUDE").is_not_null())
    if located.is_empty():
        st.caption(tr(TEXT, "no_coordinates", lang))
    else:
        text = [f"{n} ({c})<br>{tr(TEXT, 'students', lang)}: {fmt_int(s)}<br>{tr(TEXT, 'grades', lang)}: "
                f"{W.grade_label(lo, lang)}–{W.grade_label(hi, lang)}"
                for n, c, s, lo, hi in located.select("SHEM_MOSAD", "SEMEL_MOSAD", "STUDENTS", "ME_SHICHVA_MEUSHAR",
                                                      "AD_SHICHVA_MEUSHAR").iter_rows()]
        W.show_chart(W.plain_map(located["LONGITUDE"].to_list(), located["LATITUDE"].to_list(), text,
                                 located["STUDENTS"].to_list(), title=tr(TEXT, "map", lang), lang=lang),
                     key="institutions_map")
    grades = [f"{W.grade_label(lo, lang)}–{W.grade_label(hi, lang)}" if lo is not None and hi is not None else ""
              for lo, hi in zip(inst["ME_SHICHVA_MEUSHAR"], inst["AD_SHICHVA_MEUSHAR"])]
    W.show_table(inst.with_columns(pl.Series("GRADES", grades)), SHOWN, lang, key="institutions_table")
    W.export_button(ctx, "institutions", filters,
                    lambda s: narrow(run("institutions_list", s), supervision, sector, legal), COLUMNS,
                    key="institutions_export", needs=Action.VIEW_AGGREGATES)
