"""Changes: who joined or left the authority's census between two snapshots, and who changed
institution, grade or class. Counts for everyone with the page; the rows need the rows permission.

Each side is read in the authority's scope of its own snapshot; the two are joined on STUDENT_KEY
(an opaque key), so masked identity numbers never need to be compared.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_date, fmt_int, tr
from data.snapshots import list_snapshots
from pages import widgets as W
from pages.context import PageContext
from queries import Scope, run

TEXT = {
    "title": {"he": "שינויים בין תמונות מצב", "en": "Changes between snapshots"},
    "before": {"he": "תמונת מצב קודמת", "en": "Earlier snapshot"},
    "after": {"he": "תמונת מצב מאוחרת", "en": "Later snapshot"},
    "order": {"he": "תמונת המצב הקודמת צריכה להיות מוקדמת מהמאוחרת.", "en": "The earlier snapshot must come first."},
    "one_snapshot": {"he": "פורסמה עד כה תמונת מצב אחת בלבד. השינויים יוצגו לאחר שתפורסם תמונת מצב נוספת.",
                     "en": "Only one snapshot has been published so far. Changes appear once another is published."},
    "kind": {"he": "סוג השינוי", "en": "Kind of change"},
    "k_any": {"he": "כל השינויים", "en": "All changes"},
    "arrived": {"he": "הצטרפו למצבה", "en": "Joined the census"},
    "left": {"he": "יצאו מהמצבה", "en": "Left the census"},
    "institution": {"he": "עברו מוסד", "en": "Changed institution"},
    "grade": {"he": "עברו שכבה", "en": "Changed grade"},
    "class": {"he": "עברו כיתה", "en": "Changed class"},
    "none": {"he": "אין שינויים בין שתי תמונות המצב.", "en": "No changes between the two snapshots."},
    "rows_need": {"he": "פירוט התלמידים דורש הרשאה לצפייה ברשומות.", "en": "The list of students needs the rows permission."},
    "between": {"he": "בין {before} לבין {after}", "en": "Between {before} and {after}"},
}
KINDS = ["arrived", "left", "institution", "grade", "class"]
SHOWN = ["CHANGE", "MISPAR_ZEHUT", "FULL_NAME", "SHEM_MOSAD_BEFORE", "KITA_BEFORE", "SHEM_MOSAD_AFTER", "KITA_AFTER"]
COLUMNS = ["CHANGE", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SHEM_MOSAD_BEFORE", "SHEM_MOSAD_AFTER",
           "SHICHVA_BEFORE", "SHICHVA_AFTER", "MAKBILA_BEFORE", "MAKBILA_AFTER"]
SUMMARY_COLUMNS = ["CHANGE", "STUDENTS"]


def compare(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """One row per student whose membership or placement differs; CHANGE is the first that applies
    of arrived, left, institution, grade, class. Sides are changes_side results (key and placement)."""
    keep = ["STUDENT_KEY", "MISPAR_ZEHUT", "SHEM_PRATI", "SHEM_MISHPACHA", "SEMEL_MOSAD", "SHICHVA", "MAKBILA"]
    b = before.select(keep).rename({c: f"{c}_BEFORE" for c in keep})
    a = after.select(keep).rename({c: f"{c}_AFTER" for c in keep})
    j = b.join(a, left_on="STUDENT_KEY_BEFORE", right_on="STUDENT_KEY_AFTER", how="full", coalesce=False)

    def differs(col: str) -> pl.Expr:
        return pl.col(f"{col}_BEFORE").ne_missing(pl.col(f"{col}_AFTER"))

    change = (pl.when(pl.col("STUDENT_KEY_BEFORE").is_null()).then(pl.lit("arrived"))
              .when(pl.col("STUDENT_KEY_AFTER").is_null()).then(pl.lit("left"))
              .when(differs("SEMEL_MOSAD")).then(pl.lit("institution"))
              .when(differs("SHICHVA")).then(pl.lit("grade"))
              .when(differs("MAKBILA")).then(pl.lit("class")))
    order = {k: i for i, k in enumerate(KINDS)}
    side = lambda c: pl.coalesce(f"{c}_AFTER", f"{c}_BEFORE").alias(c)  # noqa: E731
    return (j.with_columns(change.alias("CHANGE"))
            .filter(pl.col("CHANGE").is_not_null())
            .select(side("STUDENT_KEY"), "CHANGE", side("MISPAR_ZEHUT"), side("SHEM_PRATI"), side("SHEM_MISHPACHA"),
                    "SEMEL_MOSAD_BEFORE", "SEMEL_MOSAD_AFTER", "SHICHVA_BEFORE", "SHICHVA_AFTER", "MAKBILA_BEFORE",
                    "MAKBILA_AFTER")
            .with_columns(pl.col("CHANGE").replace_strict(order, return_dtype=pl.Int8).alias("_order"))
            .sort(["_order", "SEMEL_MOSAD_AFTER", "SEMEL_MOSAD_BEFORE", "STUDENT_KEY"], nulls_last=True)
            .drop("_order"))


def changes_between(scope: Scope, before_snapshot, after_snapshot) -> pl.DataFrame:
    """Both sides in the same authority and masking, each from its own snapshot: keys and placements."""
    before = run("changes_side", replace(scope, snapshot=before_snapshot), salt=W.SALT)
    after = run("changes_side", replace(scope, snapshot=after_snapshot), salt=W.SALT)
    return compare(before, after)


def described(scope: Scope, rows: pl.DataFrame, before_snapshot, after_snapshot) -> pl.DataFrame:
    """Changed rows with the names of the institutions before and after."""
    names = pl.concat([run("changes_institutions", replace(scope, snapshot=s)) for s in (after_snapshot, before_snapshot)],
                      how="vertical_relaxed").unique("SEMEL_MOSAD", keep="first")
    name_of = dict(zip(names["SEMEL_MOSAD"], names["SHEM_MOSAD"]))
    return rows.with_columns(
        pl.col("SEMEL_MOSAD_BEFORE").replace_strict(name_of, default=pl.col("SEMEL_MOSAD_BEFORE")).alias("SHEM_MOSAD_BEFORE"),
        pl.col("SEMEL_MOSAD_AFTER").replace_strict(name_of, default=pl.col("SEMEL_MOSAD_AFTER")).alias("SHEM_MOSAD_AFTER"))


def summarise(changes: pl.DataFrame) -> pl.DataFrame:
    counts = dict(changes.group_by("CHANGE").len().iter_rows())
    return pl.DataFrame({"CHANGE": KINDS, "STUDENTS": [counts.get(k, 0) for k in KINDS]})


def default_before(snapshots: list, after) -> object:
    """The newest snapshot at least a week older than `after`, else the one just before it."""
    earlier = [s for s in snapshots if s.date < after.date]
    week_ago = (date.fromisoformat(after.date) - timedelta(days=7)).isoformat()
    weekly = [s for s in earlier if s.date <= week_ago]
    return (weekly or earlier)[-1]


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if not W.require_census(ctx):
        ctx.record_view("changes", {})
        return
    snapshots = list_snapshots()
    if len(snapshots) < 2:
        ctx.record_view("changes", {})
        st.info(tr(TEXT, "one_snapshot", lang))
        return
    by_date = {s.date: s for s in snapshots}
    dates = [s.date for s in reversed(snapshots)]          # newest first
    after_default = ctx.snapshot.date if ctx.snapshot.date in by_date else dates[0]
    before_default = default_before(snapshots, by_date[after_default]).date
    c = st.columns(3)
    before_date = c[0].selectbox(tr(TEXT, "before", lang), dates, index=dates.index(before_default),
                                 format_func=fmt_date, key="changes_before")
    after_date = c[1].selectbox(tr(TEXT, "after", lang), dates, index=dates.index(after_default),
                                format_func=fmt_date, key="changes_after")
    kind = c[2].selectbox(tr(TEXT, "kind", lang), [None] + KINDS, key="changes_kind",
                          format_func=lambda k: tr(TEXT, "k_any", lang) if k is None else tr(TEXT, k, lang))
    filters = {"before": before_date, "after": after_date, **({"kind": kind} if kind else {})}
    ctx.record_view("changes", filters)
    if before_date >= after_date:
        st.warning(tr(TEXT, "order", lang))
        return
    st.caption(tr(TEXT, "between", lang, before=fmt_date(before_date), after=fmt_date(after_date)))
    before_snap, after_snap = by_date[before_date], by_date[after_date]
    changes = changes_between(ctx.scope(), before_snap, after_snap)
    summary = summarise(changes)
    cols = st.columns(len(KINDS))
    for col, (k, n) in zip(cols, summary.iter_rows()):
        col.metric(tr(TEXT, k, lang), fmt_int(n))
    if changes.is_empty():
        st.info(tr(TEXT, "none", lang))
        return

    def named(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(pl.col("CHANGE").replace_strict({k: tr(TEXT, k, lang) for k in KINDS}))

    W.export_button(ctx, "changes", {**filters, "table": "summary"},
                    lambda s: named(summarise(changes_between(s, before_snap, after_snap))), SUMMARY_COLUMNS,
                    key="changes_summary_export", needs=Action.VIEW_AGGREGATES, file_stem="changes_summary")
    if not ctx.allowed(Action.VIEW_ROWS):
        st.caption(tr(TEXT, "rows_need", lang))
        return
    W.masked_note(ctx)

    def rows_of(s: Scope) -> pl.DataFrame:
        out = changes_between(s, before_snap, after_snap)
        return named(described(s, out.filter(pl.col("CHANGE") == kind) if kind else out, before_snap, after_snap))

    shown = changes.filter(pl.col("CHANGE") == kind) if kind else changes
    if shown.is_empty():
        W.no_rows(lang)
        return
    offset = W.page_offset("changes_page", filters)
    page = named(described(ctx.scope(), shown.slice(offset, W.PAGE_SIZE), before_snap, after_snap))
    page = W.with_class(W.with_class(page, lang, "SHICHVA_BEFORE", "MAKBILA_BEFORE", "KITA_BEFORE"), lang,
                        "SHICHVA_AFTER", "MAKBILA_AFTER", "KITA_AFTER")
    page = page.with_columns(W.joined([pl.col("SHEM_PRATI"), pl.col("SHEM_MISHPACHA")], " ").alias("FULL_NAME"))
    W.show_table(page, SHOWN, lang, key="changes_table")
    W.pager("changes_page", shown.height, lang)
    W.export_button(ctx, "changes", filters, rows_of, COLUMNS, key="changes_export", needs=Action.VIEW_ROWS)
