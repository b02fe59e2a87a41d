"""Overview: the authority's census at a glance, and how it moved since the last approved week."""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_date, fmt_delta, fmt_int, tr
from data.approvals import list_approvals
from data.snapshots import get_snapshot
from pages import widgets as W
from pages.context import PageContext
from queries import run

TEXT = {
    "title": {"he": "סקירה כללית", "en": "Overview"},
    "intro": {"he": "מצבת התלמידים של {name}: תושבי הרשות בגיל חינוך חובה ותלמידים הלומדים במוסדותיה.",
              "en": "{name}'s census: residents of compulsory-school age and students of its institutions."},
    "compared": {"he": "השינוי לעומת הייצוא השבועי המאושר הקודם ({date}).",
                 "en": "Change since the previous approved weekly export ({date})."},
    "no_previous": {"he": "אין עדיין ייצוא שבועי מאושר קודם להשוואה; השינויים יוצגו לאחר שהמשרד יאשר ייצוא שבועי.",
                    "en": "There is no earlier approved weekly export to compare with yet; changes appear once the "
                          "ministry approves a weekly export."},
    "no_students": {"he": "אין תלמידים במצבת הרשות בתמונת מצב זו. בדקו שהרשות והיישובים שלה מופיעים בקובץ הרשויות.",
                    "en": "This snapshot has no students in the authority's census. Check that the authority and "
                          "its localities appear in the localities file."},
    "by_grade": {"he": "תלמידים לפי שכבה", "en": "Students by grade"},
    "grade": {"he": "שכבה", "en": "Grade"},
    "students": {"he": "תלמידים", "en": "Students"},
    "by_supervision": {"he": "תלמידים במוסדות הרשות לפי פיקוח ומגזר", "en": "Students in the authority's institutions by supervision and sector"},
    "by_institution": {"he": "תלמידים לפי מוסד ({n} הגדולים)", "en": "Students by institution (largest {n})"},
    "composition": {"he": "תושבים ותלמידי חוץ", "en": "Residents and incoming students"},
    "unplaced": {"he": "תושבים בגיל חינוך חובה שאינם משובצים, לפי גיל", "en": "Unplaced residents of compulsory age, by age"},
    "age": {"he": "גיל", "en": "Age"},
    "no_unplaced": {"he": "כל התושבים בגיל חינוך חובה משובצים במוסד.", "en": "Every resident of compulsory age is placed."},
    "institutions_table": {"he": "טבלת המוסדות", "en": "Institutions table"},
    "unknown": {"he": "לא ידוע", "en": "Unknown"},
    # short headings for the headline numbers (the charts use the full ones)
    "m_STUDENTS": {"he": "תלמידים", "en": "Students"},
    "m_RESIDENTS": {"he": "תושבים", "en": "Residents"},
    "m_INCOMING": {"he": "תלמידי חוץ", "en": "Incoming"},
    "m_STUDYING_ELSEWHERE": {"he": "לומדים מחוץ לרשות", "en": "Studying elsewhere"},
    "m_UNPLACED_RESIDENTS": {"he": "לא משובצים", "en": "Unplaced"},
    "m_INSTITUTIONS": {"he": "מוסדות", "en": "Institutions"},
    "m_CLASSES": {"he": "כיתות", "en": "Classes"},
    "help_INCOMING": {"he": "לומדים במוסדות הרשות ומתגוררים מחוצה לה", "en": "Study in the authority, live elsewhere"},
    "help_STUDYING_ELSEWHERE": {"he": "תושבי הרשות המשובצים במוסד של רשות אחרת",
                                "en": "Residents placed in another authority's institution"},
    "help_UNPLACED_RESIDENTS": {"he": "תושבים בגיל חינוך חובה ללא שיבוץ פעיל",
                                "en": "Residents of compulsory age with no active placement"},
}
HEADLINE = ["STUDENTS", "RESIDENTS", "INCOMING", "STUDYING_ELSEWHERE", "UNPLACED_RESIDENTS", "INSTITUTIONS", "CLASSES"]
TOP_INSTITUTIONS = 20


def previous_approved(ctx: PageContext):
    """The newest approved weekly snapshot older than the one shown, if it is still published."""
    for approval in list_approvals():
        if approval.snapshot < ctx.snapshot.date:
            snap = get_snapshot(approval.snapshot)
            if snap is not None:
                return snap
    return None


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    ctx.record_view("overview", {})
    if not W.require_census(ctx):
        return
    st.caption(tr(TEXT, "intro", lang, name=ctx.authority_name or ctx.authority))
    W.snapshot_caption(ctx)
    scope = ctx.scope()
    head = run("overview_headline", scope).row(0, named=True)

    before = None
    prev = previous_approved(ctx)
    if prev is not None:
        before = run("overview_headline", ctx.scope(prev)).row(0, named=True)
        st.caption(tr(TEXT, "compared", lang, date=fmt_date(prev.date)))
    else:
        st.caption(tr(TEXT, "no_previous", lang))

    cols = st.columns(len(HEADLINE))
    for col, key in zip(cols, HEADLINE):
        delta = None if before is None else fmt_delta(head[key] - before[key])
        col.metric(tr(TEXT, f"m_{key}", lang), fmt_int(head[key]), delta=delta,
                   delta_color="inverse" if key == "UNPLACED_RESIDENTS" else "normal",
                   help=tr(TEXT, f"help_{key}", lang) if f"help_{key}" in TEXT else None)

    if head["STUDENTS"] == 0:
        st.info(tr(TEXT, "no_students", lang))
        return

    left, right = st.columns(2)
    with left:
        _grades(scope, lang)
    with right:
        _composition(head, lang)
    left, right = st.columns(2)
    with left:
        _supervision(scope, lang)
    with right:
        _unplaced(scope, lang)
    _institutions(ctx, scope, lang)


def _grades(scope, lang: str) -> None:
    df = run("overview_by_grade", scope).filter(pl.col("SHICHVA").is_not_null())
    grades = [W.grade_label(g, lang) for g in df["SHICHVA"]]
    series = {W.label(c, lang): df[c].to_list() for c in ("RESIDENTS_HERE", "INCOMING", "STUDYING_ELSEWHERE")}
    W.show_chart(W.bar_chart(grades, series, title=tr(TEXT, "by_grade", lang), lang=lang,
                             x_title=tr(TEXT, "grade", lang), y_title=tr(TEXT, "students", lang), ordered_axis=True),
                 key="overview_grades")


def _composition(head: dict, lang: str) -> None:
    here = head["RESIDENTS"] - head["STUDYING_ELSEWHERE"] - head["UNPLACED_RESIDENTS"]
    parts = {W.label("RESIDENTS_HERE", lang): here, W.label("INCOMING", lang): head["INCOMING"],
             W.label("STUDYING_ELSEWHERE", lang): head["STUDYING_ELSEWHERE"],
             W.label("UNPLACED_RESIDENTS", lang): head["UNPLACED_RESIDENTS"]}
    W.show_chart(W.pie_chart(list(parts), list(parts.values()), title=tr(TEXT, "composition", lang), lang=lang),
                 key="overview_composition")


def _supervision(scope, lang: str) -> None:
    df = run("overview_by_supervision", scope)
    unknown = tr(TEXT, "unknown", lang)
    supervision = list(dict.fromkeys(v or unknown for v in df["SUG_PIKUACH_TEUR"]))
    series: dict[str, list] = {}
    for sector in dict.fromkeys(v or unknown for v in df["MIGZAR_TEUR"]):
        counts = {(r["SUG_PIKUACH_TEUR"] or unknown): r["STUDENTS"] for r in df.iter_rows(named=True)
                  if (r["MIGZAR_TEUR"] or unknown) == sector}
        series[sector] = [counts.get(s, 0) for s in supervision]
    W.show_chart(W.bar_chart(supervision, series, title=tr(TEXT, "by_supervision", lang), lang=lang,
                             y_title=tr(TEXT, "students", lang)), key="overview_supervision")


def _unplaced(scope, lang: str) -> None:
    df = run("overview_unplaced", scope)
    if df.is_empty():
        st.success(tr(TEXT, "no_unplaced", lang))
        return
    ages = sorted(a for a in df["AGE"].unique().to_list() if a is not None)
    series = {}
    for name in dict.fromkeys(df["SHEM_YISHUV"].fill_null(tr(TEXT, "unknown", lang)).to_list()):
        part = df.filter(pl.col("SHEM_YISHUV").fill_null(tr(TEXT, "unknown", lang)) == name)
        counts = dict(zip(part["AGE"].to_list(), part["STUDENTS"].to_list()))
        series[name] = [counts.get(a, 0) for a in ages]
    W.show_chart(W.bar_chart([str(a) for a in ages], series, title=tr(TEXT, "unplaced", lang), lang=lang,
                             x_title=tr(TEXT, "age", lang), y_title=tr(TEXT, "students", lang), ordered_axis=True),
                 key="overview_unplaced")


def _institutions(ctx: PageContext, scope, lang: str) -> None:
    df = run("overview_by_institution", scope)
    if df.is_empty():
        return
    top = df.head(TOP_INSTITUTIONS)
    series = {W.label(c, lang): top[c].to_list() for c in ("RESIDENTS", "INCOMING")}
    W.show_chart(W.bar_chart(top["SHEM_MOSAD"].to_list(), series, lang=lang, horizontal=True,
                             title=tr(TEXT, "by_institution", lang, n=min(TOP_INSTITUTIONS, df.height)),
                             height=120 + 24 * top.height), key="overview_institutions")
    columns = ["SEMEL_MOSAD", "SHEM_MOSAD", "STUDENTS", "RESIDENTS", "INCOMING"]
    with st.expander(tr(TEXT, "institutions_table", lang)):
        W.show_table(df, columns, lang, key="overview_institutions_table")
        W.export_button(ctx, "overview", {}, lambda s: run("overview_by_institution", s), columns,
                        key="overview_export", needs=Action.VIEW_AGGREGATES, file_stem="institutions_students")
