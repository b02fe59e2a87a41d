"""The weekly approval, for the ministry's legal department: choose a published snapshot, approve it
as the week's export with a note, and follow the packages being built and delivered.

Approval is recorded (audited first) by data.packages.approve_snapshot, which then starts the
background builder; this page only shows its progress.
"""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth.permissions import Action
from common.i18n import fmt_date, fmt_datetime, fmt_int, tr
from data import packages, vault
from data.approvals import ApprovalError, get_approval, list_approvals
from data.snapshots import list_snapshots
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "אישור הייצוא השבועי", "en": "Weekly export approval"},
    "not_allowed": {"he": "אישור הייצוא השבועי שמור לצוות משרד החינוך.",
                    "en": "Approving the weekly export is for ministry staff."},
    "intro": {"he": "רק תמונת מצב שאושרה כאן יוצאת מהפורטל: כקובץ להורדה למנהלי המצבה, וככספת לספקים שקיבלו "
                    "ייפוי כוח. עם האישור נבנים הקבצים של כל רשות שיש לה גישה.",
              "en": "Only a snapshot approved here leaves the portal: as a download for roster managers, and to "
                    "the vaults of vendors holding power of attorney. Approval builds every authorised authority's "
                    "packages."},
    "approve": {"he": "אישור תמונת מצב", "en": "Approve a snapshot"},
    "none": {"he": "אין תמונת מצב שפורסמה וטרם אושרה.", "en": "No published snapshot is waiting for approval."},
    "snapshot": {"he": "תמונת המצב", "en": "Snapshot"},
    "summary": {"he": "נקלטו {accepted} שורות, נדחו {rejected}.", "en": "{accepted} rows accepted, {rejected} rejected."},
    "note": {"he": "הערה לאישור", "en": "Approval note"},
    "confirm": {"he": "בדקתי ואני מאשר/ת את תמונת המצב כייצוא השבועי", "en": "I have checked and approve this "
                                                                           "snapshot as the weekly export"},
    "submit": {"he": "אישור", "en": "Approve"},
    "confirm_needed": {"he": "יש לסמן את תיבת האישור.", "en": "Tick the confirmation box first."},
    "approved": {"he": "תמונת המצב מ-{date} אושרה. הקבצים נבנים ברקע.",
                 "en": "The snapshot of {date} is approved. Packages are being built in the background."},
    "weeks": {"he": "שבועות שאושרו", "en": "Approved weeks"},
    "no_weeks": {"he": "עדיין לא אושר ייצוא.", "en": "No export has been approved yet."},
    "col_week": {"he": "שבוע", "en": "Week"},
    "col_by": {"he": "אושר על ידי", "en": "Approved by"},
    "col_at": {"he": "אושר ב", "en": "Approved on"},
    "col_note": {"he": "הערה", "en": "Note"},
    "col_ready": {"he": "קבצים מוכנים", "en": "Packages ready"},
    "col_failed": {"he": "נכשלו", "en": "Failed"},
    "col_delivered": {"he": "נמסרו לספקים", "en": "Delivered to vendors"},
    "progress": {"he": "בונה קבצים לשבוע {date}: {ready} מתוך {total}", "en": "Building {date}: {ready} of {total}"},
    "failures": {"he": "קבצים שנכשלו", "en": "Failed packages"},
    "col_authority": {"he": "רשות", "en": "Authority"},
    "col_variant": {"he": "סוג", "en": "Kind"},
    "col_error": {"he": "שגיאה", "en": "Error"},
    "retry_builds": {"he": "בנייה חוזרת של הקבצים שנכשלו", "en": "Build the failed packages again"},
    "retry_deliveries": {"he": "ניסיון חוזר למסירות שנכשלו", "en": "Retry failed deliveries"},
    "retried": {"he": "בוצע.", "en": "Done."},
}
VARIANT_NAMES = {"vendor": {"he": "ספק (CSV מדויק)", "en": "vendor (exact CSV)"},
                 "people": {"he": "להורדה (CSV)", "en": "people (CSV)"},
                 "xlsx": {"he": "להורדה (Excel)", "en": "people (Excel)"}}
_FLASH = "approvals_flash"


def _report_counts(snapshot) -> tuple[int, int] | None:
    files = snapshot.report().get("files") or {}
    try:
        return (sum(int(f.get("rows_accepted", 0)) for f in files.values()),
                sum(int(f.get("rows_rejected", 0)) for f in files.values()))
    except (AttributeError, TypeError, ValueError):
        return None


def _approve(ctx: PageContext) -> None:
    st.header(tr(TEXT, "approve"))
    waiting = [s for s in reversed(list_snapshots()) if get_approval(s.date) is None]
    if not waiting:
        st.caption(tr(TEXT, "none"))
        return
    by_date = {s.date: s for s in waiting}
    with st.form("approve_snapshot"):
        chosen = st.selectbox(tr(TEXT, "snapshot"), list(by_date), format_func=fmt_date, key="approve_choice")
        note = st.text_area(tr(TEXT, "note"), max_chars=1000, key="approve_note")
        confirm = st.checkbox(tr(TEXT, "confirm"), key="approve_confirm")
        submitted = st.form_submit_button(tr(TEXT, "submit"), type="primary")
    counts = _report_counts(by_date[chosen])
    if counts:
        st.caption(tr(TEXT, "summary", accepted=fmt_int(counts[0]), rejected=fmt_int(counts[1])))
    if not submitted:
        return
    if not confirm:
        st.error(tr(TEXT, "confirm_needed"))
        return
    try:
        packages.approve_snapshot(chosen, by=ctx.principal.email, note=note.strip())
    except ApprovalError as exc:
        st.error(str(exc))
        return
    st.session_state[_FLASH] = tr(TEXT, "approved", date=fmt_date(chosen))
    st.rerun()


def _weeks() -> None:
    st.header(tr(TEXT, "weeks"))
    approvals = list_approvals()
    if not approvals:
        st.caption(tr(TEXT, "no_weeks"))
        return
    building = [a.snapshot for a in approvals if any(
        p.status in ("queued", "building") for p in packages.packages_of_snapshot(a.snapshot))]
    if building:
        @st.fragment(run_every=3)
        def watch() -> None:
            done = True
            for snapshot in building:
                counts = packages.progress(snapshot)
                total = sum(counts.values())
                st.progress(counts["ready"] / max(total, 1),
                            text=tr(TEXT, "progress", date=fmt_date(snapshot), ready=counts["ready"], total=total))
                done = done and not (counts["queued"] or counts["building"])
            if done:
                st.rerun()
        watch()
    rows = []
    for a in approvals:
        counts = packages.progress(a.snapshot)
        delivered = sum(1 for d in vault.deliveries_of_snapshot(a.snapshot) if d.status == "delivered")
        rows.append((fmt_date(a.snapshot), a.approved_by, fmt_datetime(a.approved_at), a.note,
                     f"{counts['ready']} / {sum(counts.values())}", counts["failed"], delivered))
    cols = ["col_week", "col_by", "col_at", "col_note", "col_ready", "col_failed", "col_delivered"]
    W.grid(pl.DataFrame(rows, schema=[tr(TEXT, c) for c in cols], orient="row"))
    failed = [p for a in approvals for p in packages.packages_of_snapshot(a.snapshot) if p.status == "failed"]
    if failed:
        st.subheader(tr(TEXT, "failures"))
        W.grid(pl.DataFrame({
            tr(TEXT, "col_week"): [fmt_date(p.snapshot) for p in failed],
            tr(TEXT, "col_authority"): [p.authority for p in failed],
            tr(TEXT, "col_variant"): [tr(VARIANT_NAMES, p.variant) for p in failed],
            tr(TEXT, "col_error"): [p.error or "" for p in failed],
        }))
        if st.button(tr(TEXT, "retry_builds"), key="retry_builds"):
            for snapshot in sorted({p.snapshot for p in failed}):
                packages.requeue_failed(snapshot)
            st.rerun()
    if any(d.status == "failed" for a in approvals for d in vault.deliveries_of_snapshot(a.snapshot)):
        if st.button(tr(TEXT, "retry_deliveries"), key="retry_deliveries"):
            vault.attempt_pending()
            st.session_state[_FLASH] = tr(TEXT, "retried")
            st.rerun()


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    if not ctx.allowed(Action.APPROVE_EXPORTS):
        st.error(tr(TEXT, "not_allowed"))
        return
    ctx.record_view("approvals")
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash)
    st.write(tr(TEXT, "intro"))
    _approve(ctx)
    _weeks()
