"""Contact quality: can the authority reach its students' families? Students with no contact or no
reachable phone, contacts who do not agree to receive information, invalid phones and e-mails."""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from queries import run

TEXT = {
    "title": {"he": "איכות פרטי הקשר", "en": "Contact quality"},
    "intro": {"he": "אנשי קשר פעילים (ללא תאריך סיום) של תלמידי מצבת הרשות. טלפון תקין: נייד 05X/07X ו-7 ספרות, "
                    "או קווי 02/03/04/08/09 ו-7 ספרות. \"אין טלפון תקין\" כולל תלמידים ללא איש קשר.",
              "en": "Active contacts (no end date) of the authority's census students. A valid phone: mobile 05X/07X "
                    "and 7 digits, or landline 02/03/04/08/09 and 7 digits. \"No reachable phone\" includes students "
                    "with no contact."},
    "students": {"he": "תלמידים", "en": "Students"},
    "links": {"he": "קשרים פעילים", "en": "Active contact links"},
    "problem": {"he": "הצגת שורות", "en": "Show rows"},
    "p_any": {"he": "כל הבעיות", "en": "Any problem"},
    "rows": {"he": "התלמידים ואנשי הקשר", "en": "Students and contacts"},
    "clean": {"he": "לא נמצאו בעיות מסוג זה. אין מה לתקן כרגע.", "en": "No problems of this kind. Nothing to fix now."},
    "fix": {"he": "את פרטי הקשר מתקנים במערכת הרישום של המוסד; התיקון יופיע בתמונת המצב הבאה.",
            "en": "Contact details are corrected in the institution's registration system; corrections appear in the "
                  "next snapshot."},
}
SUMMARY = [("NO_CONTACT", "NO_CONTACT"), ("NO_REACHABLE_PHONE", "NO_PHONE"), ("NOT_AGREEING", "NOT_AGREEING"),
           ("INVALID_PHONE", "INVALID_PHONE"), ("INVALID_EMAIL", "INVALID_EMAIL"), ("MISSING_DETAILS", "MISSING_DETAILS")]
PROBLEMS = [None, "no_contact", "no_phone", "not_agreeing", "invalid_phone", "invalid_email", "missing_details"]
PROBLEM_LABEL = {"no_contact": "NO_CONTACT", "no_phone": "NO_PHONE", "not_agreeing": "NOT_AGREEING",
                 "invalid_phone": "INVALID_PHONE", "invalid_email": "INVALID_EMAIL", "missing_details": "MISSING_DETAILS"}
SHOWN = ["MISPAR_ZEHUT", "FULL_NAME", "SHEM_MOSAD", "KITA", "CONTACT_NAME", "CODE_SUG_KIRVA_GOREM_KESHER",
         "LEKABEL_MEIDA", "PHONE", "EMAIL_RASHI", "PROBLEMS"]
COLUMNS = ["MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SHEM_MOSAD", "SHICHVA", "MAKBILA",
           "CODE_SUG_KIRVA_GOREM_KESHER", "SHEM_PRATI_GOREM_KESHER", "SHEM_MISHPACHA_GOREM_KESHER", "LEKABEL_MEIDA",
           "KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT", "MISPAR_TEL_BAIT", "EMAIL_RASHI", "NO_CONTACT",
           "NO_PHONE", "NOT_AGREEING", "INVALID_PHONE", "INVALID_EMAIL", "MISSING_DETAILS"]


def for_screen(rows: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Names, class and phone joined, and the row's problems named in one column."""
    flags = ["NO_CONTACT", "NO_PHONE", "NOT_AGREEING", "INVALID_PHONE", "INVALID_EMAIL", "MISSING_DETAILS"]
    problems = [", ".join(W.label(f, lang) for f in flags if r[f]) for r in rows.select(flags).iter_rows(named=True)]
    rows = W.with_class(rows, lang).with_columns(
        W.joined([pl.col("SHEM_PRATI"), pl.col("SHEM_MISHPACHA")], " ").alias("FULL_NAME"),
        W.joined([pl.col("SHEM_PRATI_GOREM_KESHER"), pl.col("SHEM_MISHPACHA_GOREM_KESHER")], " ").alias("CONTACT_NAME"),
        pl.coalesce(W.joined([pl.col("KIDOMET_NAYAD"), pl.col("MISPAR_NAYAD")], "-"),
                    W.joined([pl.col("KIDOMET_TEL_BAIT"), pl.col("MISPAR_TEL_BAIT")], "-")).alias("PHONE"),
        pl.Series("PROBLEMS", problems, dtype=pl.Utf8))
    return rows


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if not W.require_census(ctx):
        ctx.record_view("contacts", {})
        return
    W.snapshot_caption(ctx)
    W.masked_note(ctx)
    st.caption(tr(TEXT, "intro", lang))
    scope = ctx.scope()
    summary = run("contacts_quality_summary", scope).row(0, named=True)
    top = st.columns(2)
    top[0].metric(tr(TEXT, "students", lang), fmt_int(summary["STUDENTS"]))
    top[1].metric(tr(TEXT, "links", lang), fmt_int(summary["CONTACT_LINKS"]))
    cols = st.columns(len(SUMMARY))
    for col, (field, lab) in zip(cols, SUMMARY):
        col.metric(W.label(lab, lang), fmt_int(summary[field]))

    problem = st.selectbox(tr(TEXT, "problem", lang), PROBLEMS, key="contacts_problem",
                           format_func=lambda p: tr(TEXT, "p_any", lang) if p is None else W.label(PROBLEM_LABEL[p], lang))
    filters = {"problem": problem} if problem else {}
    ctx.record_view("contacts", filters)
    st.subheader(tr(TEXT, "rows", lang))
    offset = W.page_offset("contacts_page", filters)
    rows = run("contacts_problems", scope, problem=problem, salt=W.SALT, limit=W.PAGE_SIZE, offset=offset)
    if rows.is_empty():
        st.success(tr(TEXT, "clean", lang))
        return
    W.show_table(for_screen(rows, lang), SHOWN, lang, key="contacts_table")
    W.pager("contacts_page", rows["TOTAL_ROWS"][0], lang)
    W.export_button(ctx, "contacts", filters,
                    lambda s: run("contacts_problems", s, problem=problem, salt=W.SALT, limit=W.ALL_ROWS, offset=0),
                    COLUMNS, key="contacts_export", needs=Action.VIEW_ROWS, file_stem="contact_problems")
    st.caption(tr(TEXT, "fix", lang))
