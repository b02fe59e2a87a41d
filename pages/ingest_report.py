"""Ingest review for ministry staff: every published snapshot with its counts, the rejections by code
with (masked) examples, refused feeds and why, and the rejected rows themselves as an audited download.
"""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import current_language, fmt_date, fmt_datetime, fmt_int, tr
from data.ingest import review
from data.ingest.issues import ISSUES
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "דוח קליטת הזנה", "en": "Feed ingest report"},
    "denied": {"he": "הדף מיועד לצוות משרד החינוך.", "en": "This page is for ministry staff."},
    "intro": {"he": "כל הזנה יומית נבדקת לפני פרסומה. שורות שגויות נדחות ונשמרות כפי שהתקבלו; "
                    "הזנה ששיעור הדחייה בה עובר את הסף נדחית כולה, ותמונת המצב הקודמת נשארת בתוקף.",
              "en": "Every daily feed is checked before it is published. Faulty rows are rejected and kept as "
                    "received; a feed whose rejection rate passes the threshold is refused as a whole, and the "
                    "previous snapshot stays current."},
    "published": {"he": "תמונות מצב שפורסמו", "en": "Published snapshots"},
    "refused": {"he": "הזנות שנדחו", "en": "Refused feeds"},
    "none_published": {"he": "עדיין לא פורסמה תמונת מצב.", "en": "No snapshot has been published yet."},
    "none_refused": {"he": "לא נדחתה אף הזנה.", "en": "No feed has been refused."},
    "date": {"he": "תאריך", "en": "Date"},
    "finished": {"he": "הסתיים", "en": "Finished"},
    "read": {"he": "נקראו", "en": "Read"},
    "accepted": {"he": "נקלטו", "en": "Accepted"},
    "rejected": {"he": "נדחו", "en": "Rejected"},
    "warnings": {"he": "אזהרות", "en": "Warnings"},
    "rate": {"he": "שיעור דחייה", "en": "Rejection rate"},
    "approved": {"he": "אושר לייצוא", "en": "Approved for export"},
    "yes": {"he": "כן", "en": "Yes"},
    "no": {"he": "לא", "en": "No"},
    "pick": {"he": "תמונת מצב", "en": "Snapshot"},
    "files": {"he": "קבצים", "en": "Files"},
    "file": {"he": "קובץ", "en": "File"},
    "encoding": {"he": "קידוד", "en": "Encoding"},
    "by_code": {"he": "בעיות לפי קוד", "en": "Issues by code"},
    "no_issues": {"he": "לא נמצאה אף בעיה.", "en": "No issue was found."},
    "code": {"he": "קוד", "en": "Code"},
    "severity": {"he": "חומרה", "en": "Severity"},
    "count": {"he": "מספר", "en": "Count"},
    "line": {"he": "שורה", "en": "Line"},
    "field": {"he": "שדה", "en": "Field"},
    "value": {"he": "ערך", "en": "Value"},
    "message": {"he": "הודעה", "en": "Message"},
    "examples": {"he": "דוגמאות ({shown} מתוך {total})", "en": "Examples ({shown} of {total})"},
    "masked": {"he": "פרטים אישיים מוסתרים בדוגמאות.", "en": "Personal details are masked in the examples."},
    "downloads": {"he": "השורות שנדחו (כפי שהתקבלו)", "en": "Rejected rows (as received)"},
    "download": {"he": "הורדת {name}", "en": "Download {name}"},
    "download_help": {"he": "ההורדה נרשמת ביומן הביקורת. הקובץ מכיל פרטים אישיים.",
                      "en": "The download is recorded in the audit trail. The file holds personal details."},
    "no_rejected": {"he": "אין שורות שנדחו.", "en": "No rows were rejected."},
    "why": {"he": "סיבת הדחייה", "en": "Why it was refused"},
    "feed": {"he": "הזנה כולה", "en": "Whole feed"},
    "error": {"he": "שגיאה (השורה נדחתה)", "en": "Error (row rejected)"},
    "warning": {"he": "אזהרה (השורה נקלטה)", "en": "Warning (row kept)"},
    "truncated": {"he": "בדוח מופיעות עד {n} דוגמאות לכל קוד; הרשימה המלאה בקובץ issues.parquet.",
                  "en": "The report lists up to {n} examples per code; the full list is in issues.parquet."},
}


def _rate(f: dict) -> str:
    read = int(f.get("rows_read") or 0)
    return f"{(int(f.get('rows_rejected') or 0) / read):.2%}" if read else "—"


def _runs_table(runs: list[review.IngestRun], with_approval: bool) -> None:
    data = {
        tr(TEXT, "date"): [fmt_date(r.date) for r in runs],
        tr(TEXT, "finished"): [fmt_datetime(r.finished_at) if r.finished_at else "" for r in runs],
        tr(TEXT, "read"): [fmt_int(r.total("rows_read")) for r in runs],
        tr(TEXT, "accepted"): [fmt_int(r.total("rows_accepted")) for r in runs],
        tr(TEXT, "rejected"): [fmt_int(r.total("rows_rejected")) for r in runs],
        tr(TEXT, "warnings"): [fmt_int(r.total("warnings")) for r in runs],
    }
    if with_approval:
        data[tr(TEXT, "approved")] = [tr(TEXT, "yes") if r.approved else tr(TEXT, "no") for r in runs]
    W.grid(pl.DataFrame(data))


def _files_table(run: review.IngestRun) -> None:
    files = run.report.get("files", {})
    W.grid(pl.DataFrame({
        tr(TEXT, "file"): [f.get("file") or p for p, f in files.items()],
        tr(TEXT, "encoding"): [f.get("encoding") or "" for f in files.values()],
        tr(TEXT, "read"): [fmt_int(f.get("rows_read")) for f in files.values()],
        tr(TEXT, "accepted"): [fmt_int(f.get("rows_accepted")) for f in files.values()],
        tr(TEXT, "rejected"): [fmt_int(f.get("rows_rejected")) for f in files.values()],
        tr(TEXT, "warnings"): [fmt_int(f.get("warnings")) for f in files.values()],
        tr(TEXT, "rate"): [_rate(f) for f in files.values()],
    }))


def _issues_by_code(run: review.IngestRun) -> None:
    st.subheader(tr(TEXT, "by_code"))
    counts = review.code_counts(run.report)
    if not counts:
        st.success(tr(TEXT, "no_issues"))
        return
    lang = current_language()
    st.caption(tr(TEXT, "masked"))
    for c in counts:
        t = ISSUES[c["code"]]
        title = (t.he if lang == "he" else t.en).replace("{value}", "…").replace("{ref}", "…")
        with st.expander(f"{c['code']} · {tr(TEXT, c['severity'])} · {fmt_int(c['count'])} — {title}"):
            examples = review.issue_examples(run.report, c["code"], lang)
            st.caption(tr(TEXT, "examples", shown=len(examples), total=fmt_int(c["count"])))
            W.grid(pl.DataFrame({
                tr(TEXT, "file"): [e["file"] for e in examples],
                tr(TEXT, "line"): [e["line"] for e in examples],
                tr(TEXT, "field"): [e["field"] or "" for e in examples],
                tr(TEXT, "value"): [e["value"] or "" for e in examples],
                tr(TEXT, "message"): [e["message"] for e in examples],
            }, schema_overrides={tr(TEXT, "line"): pl.Int64}))
    if run.report.get("issues_truncated"):
        st.caption(tr(TEXT, "truncated", n=1000))


def _rejected_downloads(ctx: PageContext, run: review.IngestRun, key: str) -> None:
    st.subheader(tr(TEXT, "downloads"))
    files = review.rejected_files(run)
    if not files:
        st.caption(tr(TEXT, "no_rejected"))
        return
    for path in files:
        def build(name=path.name) -> bytes:
            return review.download_rejected(ctx.principal.email, run, name)    # audited before the bytes

        st.download_button(tr(TEXT, "download", name=path.name), data=build, file_name=f"rejected_{run.date}_{path.name}",
                           mime="text/csv", on_click="ignore", help=tr(TEXT, "download_help"),
                           key=f"{key}_{path.name}", icon=":material/download:")


def _published(ctx: PageContext) -> None:
    st.header(tr(TEXT, "published"))
    runs = review.published_runs()
    if not runs:
        st.info(tr(TEXT, "none_published"))
        return
    _runs_table(runs, with_approval=True)
    choice = st.selectbox(tr(TEXT, "pick"), range(len(runs)), format_func=lambda i: fmt_date(runs[i].date),
                          key="ingest_snapshot")
    run = runs[choice]
    ctx.record_view("ingest_report", {"snapshot": run.date})
    st.subheader(tr(TEXT, "files"))
    _files_table(run)
    _issues_by_code(run)
    _rejected_downloads(ctx, run, key=f"pub_{run.folder.name}")


def _refused(ctx: PageContext) -> None:
    st.header(tr(TEXT, "refused"))
    runs = review.refused_runs()
    if not runs:
        st.caption(tr(TEXT, "none_refused"))
        return
    _runs_table(runs, with_approval=False)
    choice = st.selectbox(tr(TEXT, "pick"), range(len(runs)), key="ingest_refused",
                          format_func=lambda i: f"{fmt_date(runs[i].date)} · "
                                                f"{fmt_datetime(runs[i].finished_at) if runs[i].finished_at else ''}")
    run = runs[choice]
    lang = current_language()
    st.markdown(f"**{tr(TEXT, 'why')}**")
    for r in run.report.get("refusal", []):
        where = " · ".join(str(x) for x in (r.get("file") or r.get("prefix"), r.get("field")) if x)
        st.error(f"{r['code']} {where}: {r['message_he'] if lang == 'he' else r['message_en']}")
    if run.report.get("files"):
        _files_table(run)
    if run.report.get("counts_by_code"):
        _issues_by_code(run)
    _rejected_downloads(ctx, run, key=f"ref_{run.folder.name}")


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    if not ctx.allowed(Action.REVIEW_INGEST):      # checked again here, not only by the navigation
        st.error(tr(TEXT, "denied"))
        st.stop()
    st.write(tr(TEXT, "intro"))
    tab_pub, tab_ref = st.tabs([tr(TEXT, "published"), tr(TEXT, "refused")])
    with tab_pub:
        _published(ctx)
    with tab_ref:
        _refused(ctx)
