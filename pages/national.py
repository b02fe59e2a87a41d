"""National picture for ministry staff: counts per authority only, never a child's row."""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from queries import run

TEXT = {
    "title": {"he": "תמונה ארצית", "en": "National picture"},
    "intro": {"he": "מספרים מצטברים לכל רשות לפי כלל המצבה. אין כאן פרטים של תלמידים.",
              "en": "Totals per authority under the census rule. No student's details appear here."},
    "authorities": {"he": "רשויות", "en": "Authorities"},
    "district": {"he": "מחוז", "en": "District"},
    "top": {"he": "תושבים לא משובצים: {n} הרשויות המובילות", "en": "Unplaced residents: the top {n} authorities"},
    "no_authorities": {"he": "בתמונת המצב אין רשויות (קובץ RASHUYOT ריק).",
                       "en": "The snapshot has no authorities (the RASHUYOT file is empty)."},
}
COUNTS = ["STUDENTS", "RESIDENTS", "INCOMING", "STUDYING_ELSEWHERE", "UNPLACED_RESIDENTS", "INSTITUTIONS", "CLASSES"]
COLUMNS = ["SHEM_RASHUT", "SEMEL_RASHUT", "SUG_RASHUT", "MACHOZ", *COUNTS]
TOP = 15


def narrow(df: pl.DataFrame, district: str | None) -> pl.DataFrame:
    return df if district is None else df.filter(pl.col("MACHOZ").fill_null("") == district)


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if ctx.snapshot is None:
        ctx.record_view("national", {})
        st.info(tr(W.TEXT, "no_snapshot", lang))
        return
    W.snapshot_caption(ctx)
    st.caption(tr(TEXT, "intro", lang))
    everything = run("national_by_authority", ctx.national_scope())
    if everything.is_empty():
        ctx.record_view("national", {})
        st.info(tr(TEXT, "no_authorities", lang))
        return
    districts = [None] + sorted({d or "" for d in everything["MACHOZ"].to_list()})
    district = st.selectbox(tr(TEXT, "district", lang), districts, key="national_district",
                            format_func=lambda d: tr(W.TEXT, "any", lang) if d is None else d or "—")
    filters = {"district": district} if district is not None else {}
    ctx.record_view("national", filters)
    df = narrow(everything, district)
    # two rows of four: eight metrics in one row cut their labels short
    cols = st.columns(4) + st.columns(4)
    cols[0].metric(tr(TEXT, "authorities", lang), fmt_int(df.height))
    # A student living in one authority and studying in another is in both censuses: the headline
    # counts each student once, the other counts (each student in one authority) add up.
    students = run("national_students", ctx.national_scope(), district=district)["STUDENTS"][0]
    for col, key in zip(cols[1:], COUNTS):
        col.metric(W.label(key, lang), fmt_int(students if key == "STUDENTS" else df[key].sum()))
    top = df.filter(pl.col("UNPLACED_RESIDENTS") > 0).sort("UNPLACED_RESIDENTS", descending=True).head(TOP)
    if not top.is_empty():
        W.show_chart(W.bar_chart(top["SHEM_RASHUT"].to_list(), {W.label("UNPLACED_RESIDENTS", lang): top["UNPLACED_RESIDENTS"].to_list()},
                                 title=tr(TEXT, "top", lang, n=top.height), lang=lang, horizontal=True,
                                 height=120 + 24 * top.height), key="national_unplaced")
    W.show_table(df, COLUMNS, lang, key="national_table")
    W.export_button(ctx, "national", filters, lambda s: narrow(run("national_by_authority", s), district), COLUMNS,
                    key="national_export", needs=Action.NATIONAL_AGGREGATES, file_stem="national")
