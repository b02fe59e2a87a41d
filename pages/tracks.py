"""Tracks: the students placed in each track of the authority's institutions, beside the quota the
institution requested and the quota the ministry approved, with the approval status."""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from queries import run

TEXT = {
    "title": {"he": "מגמות ומכסות", "en": "Tracks and quotas"},
    "intro": {"he": "משובצים: תלמידי מצבת הרשות ששיבוצם הפעיל במגמה. מכסה מבוקשת ומכסה מאושרת מקובץ המגמות (MEGAMOT).",
              "en": "Placed: the authority's census students whose active placement is in the track. Requested and "
                    "approved quotas come from the tracks file (MEGAMOT)."},
    "institution": {"he": "מוסד", "en": "Institution"},
    "status": {"he": "סטטוס אישור", "en": "Approval status"},
    "over_only": {"he": "רק מגמות מעל המכסה המאושרת", "en": "Only tracks over the approved quota"},
    "tracks": {"he": "מגמות", "en": "Tracks"},
    "placed": {"he": "משובצים במגמות", "en": "Placed in tracks"},
    "over": {"he": "מעל המכסה המאושרת", "en": "Over approved quota"},
    "chart": {"he": "משובצים מול מכסות", "en": "Placed versus quotas"},
    "no_tracks": {"he": "למוסדות הרשות אין מגמות בקובץ המגמות (MEGAMOT) של תמונת מצב זו. מגמות קיימות בדרך כלל "
                        "בחטיבה העליונה.",
                  "en": "The tracks file (MEGAMOT) of this snapshot has no tracks for the authority's institutions. "
                        "Tracks usually exist in upper secondary schools."},
    "no_status": {"he": "ללא סטטוס", "en": "No status"},
}
SHOWN = ["SHEM_MOSAD", "SHEM_MEGAMA_MOSAD", "SHICHVA", "PLACED", "MICHSAT_TALMIDIM_MEVUKESHET", "MICHSAT_TALMIDIM",
         "TEUR_STATUS_ISHUR_MEGAMA", "OVER_APPROVED"]
COLUMNS = ["SHEM_MOSAD", "SEMEL_MOSAD", "SHEM_MEGAMA_MOSAD", "SEMEL_MEGAMA_MOSAD", "TEUR_MEGAMA", "SHICHVA", "PLACED",
           "MICHSAT_TALMIDIM_MEVUKESHET", "MICHSAT_TALMIDIM", "TEUR_STATUS_ISHUR_MEGAMA", "TAARICH_STATUS_ISHUR_MEGAMA",
           "OVER_APPROVED", "OVER_REQUESTED"]
CHART_LIMIT = 30


def narrow(df: pl.DataFrame, status: str | None, over_only: bool) -> pl.DataFrame:
    if status is not None:
        df = df.filter(pl.col("TEUR_STATUS_ISHUR_MEGAMA").fill_null("") == status)
    return df.filter(pl.col("OVER_APPROVED").fill_null(False)) if over_only else df


def render(ctx: PageContext) -> None:
    lang = ctx.lang
    st.title(tr(TEXT, "title", lang))
    if not W.require_census(ctx):
        ctx.record_view("tracks", {})
        return
    W.snapshot_caption(ctx)
    st.caption(tr(TEXT, "intro", lang))
    scope = ctx.scope()
    everything = run("tracks_quota", scope, mosad=None)
    if everything.is_empty():
        ctx.record_view("tracks", {})
        st.info(tr(TEXT, "no_tracks", lang))
        return
    inst = everything.select("SEMEL_MOSAD", "SHEM_MOSAD").unique(maintain_order=True)
    names = dict(zip(inst["SEMEL_MOSAD"], inst["SHEM_MOSAD"]))
    statuses = sorted({s or "" for s in everything["TEUR_STATUS_ISHUR_MEGAMA"].to_list()})
    c = st.columns(3)
    mosad = c[0].selectbox(tr(TEXT, "institution", lang), [None] + inst["SEMEL_MOSAD"].to_list(), key="tracks_mosad",
                           format_func=lambda v: tr(W.TEXT, "any", lang) if v is None else f"{names.get(v)} ({v})")
    status = c[1].selectbox(tr(TEXT, "status", lang), [None] + statuses, key="tracks_status",
                            format_func=lambda v: tr(W.TEXT, "any", lang) if v is None else (v or tr(TEXT, "no_status", lang)))
    over_only = c[2].checkbox(tr(TEXT, "over_only", lang), key="tracks_over")
    filters = {k: v for k, v in {"institution": mosad, "status": status, "over_only": over_only or None}.items()
               if v is not None}
    ctx.record_view("tracks", filters)

    tracks = narrow(run("tracks_quota", scope, mosad=mosad), status, over_only)
    m = st.columns(3)
    m[0].metric(tr(TEXT, "tracks", lang), fmt_int(tracks.height))
    m[1].metric(tr(TEXT, "placed", lang), fmt_int(tracks["PLACED"].sum()))
    m[2].metric(tr(TEXT, "over", lang), fmt_int(tracks["OVER_APPROVED"].fill_null(False).sum()))

    if tracks.is_empty():
        W.no_rows(lang)
        return
    if mosad:
        top = tracks.head(CHART_LIMIT)
        labels = [f"{n or c} · {W.grade_label(g, lang)}" if g else (n or c)
                  for n, c, g in zip(top["SHEM_MEGAMA_MOSAD"], top["SEMEL_MEGAMA_MOSAD"], top["SHICHVA"])]
        fig = W.bar_chart(labels, {W.label("PLACED", lang): top["PLACED"].to_list()}, title=tr(TEXT, "chart", lang),
                          lang=lang, horizontal=True, height=120 + 26 * top.height)
        fig.add_scatter(y=labels, x=top["MICHSAT_TALMIDIM"].to_list(), mode="markers", name=W.label("MICHSAT_TALMIDIM", lang),
                        marker={"symbol": "line-ns-open", "size": 18, "line": {"width": 3}})
        fig.add_scatter(y=labels, x=top["MICHSAT_TALMIDIM_MEVUKESHET"].to_list(), mode="markers",
                        name=W.label("MICHSAT_TALMIDIM_MEVUKESHET", lang),
                        marker={"symbol": "diamond-open", "size": 10})
        fig.update_layout(showlegend=True)
        W.show_chart(fig, key="tracks_chart")
    W.show_table(tracks, SHOWN, lang, key="tracks_table")
    W.export_button(ctx, "tracks", filters, lambda s: narrow(run("tracks_quota", s, mosad=mosad), status, over_only),
                    COLUMNS, key="tracks_export", needs=Action.VIEW_AGGREGATES)
