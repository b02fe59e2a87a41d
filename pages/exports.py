"""Weekly export: the open authority's packages of the approved weeks, downloaded with a stated
purpose; the powers of attorney the authority gives software vendors; and the delivery receipts.

Downloads are served from the stored files (built in the background on approval, data/packages.py).
The bytes are produced only when the button is clicked, by a callable that reloads the person's
permissions from the portal's records and records the download in the audit trail first.
"""
from __future__ import annotations

import polars as pl
import streamlit as st

from auth import vendors as vendor_records
from auth.permissions import Action
from auth.principal import load_principal
from common.i18n import fmt_date, fmt_datetime, fmt_int, tr
from data import packages, vault
from data.approvals import list_approvals
from pages import widgets as W
from pages.context import PageContext

WEEKS_SHOWN = 12        # approved weeks listed; older packages stay stored and audited

TEXT = {
    "title": {"he": "ייצוא שבועי", "en": "Weekly export"},
    "intro": {"he": "קובצי הייצוא השבועי של {authority}, כפי שאישרה הלשכה המשפטית של משרד החינוך. "
                    "כל הורדה נרשמת ביומן הביקורת יחד עם מטרתה.",
              "en": "{authority}'s weekly export packages, as approved by the Ministry of Education's legal "
                    "department. Every download is recorded in the audit log with its purpose."},
    "no_approvals": {"he": "עדיין לא אושר ייצוא שבועי. הקבצים יופיעו כאן לאחר אישור הלשכה המשפטית.",
                     "en": "No weekly export has been approved yet. Packages appear here once the legal department "
                           "approves a week."},
    "not_allowed": {"he": "אין לך הרשאה להוריד את הייצוא השבועי של הרשות הפתוחה.",
                    "en": "You may not download the open authority's weekly export."},
    "purpose": {"he": "מטרת ההורדה (חובה)", "en": "Purpose of the download (required)"},
    "purpose_help": {"he": "לדוגמה: שיבוץ לכיתות א' לשנת הלימודים הבאה. יש ללחוץ Enter לאחר ההקלדה.",
                     "en": "For example: placing next year's first graders. Press Enter after typing."},
    "purpose_needed": {"he": "כדי להוריד קובץ יש לכתוב את מטרת ההורדה.",
                       "en": "Write the purpose of the download to enable the buttons."},
    "week": {"he": "ייצוא שבועי מ-{date}", "en": "Weekly export of {date}"},
    "approved": {"he": "אושר על ידי {by} ב-{at}", "en": "Approved by {by} on {at}"},
    "note": {"he": "הערת האישור: {note}", "en": "Approval note: {note}"},
    "zip": {"he": "הורדת קובצי CSV (zip)", "en": "Download CSV files (zip)"},
    "xlsx": {"he": "הורדת גיליון Excel", "en": "Download Excel workbook"},
    "size": {"he": "גודל", "en": "Size"},
    "sha": {"he": "SHA-256 של הקובץ", "en": "File SHA-256"},
    "col_file": {"he": "קובץ", "en": "File"},
    "col_rows": {"he": "שורות", "en": "Rows"},
    "col_sha": {"he": "SHA-256", "en": "SHA-256"},
    "safe_note": {"he": "בקבצים להורדה תא שמתחיל ב-= + - @ מקבל גרש (') בתחילתו, כדי שגיליון אלקטרוני לא יריץ "
                        "אותו כנוסחה. בגיליון ה-Excel הערכים מדויקים וכל התאים הם טקסט.",
                  "en": "In the downloadable CSV files, a cell starting with = + - @ gets a leading quote (') so a "
                        "spreadsheet never runs it as a formula. In the Excel workbook values are exact and every "
                        "cell is text."},
    "building": {"he": "בהכנה…", "en": "Being prepared…"},
    "failed": {"he": "הכנת הקובץ נכשלה; צוות המשרד קיבל את פרטי התקלה.",
               "en": "Preparing this file failed; ministry staff have the details."},
    "progress": {"he": "מכין קבצים: {ready} מתוך {total} מוכנים", "en": "Preparing packages: {ready} of {total} ready"},
    "poa": {"he": "ייפוי כוח לספק תוכנה", "en": "Power of attorney for a software vendor"},
    "poa_intro": {"he": "ספק שקיבל ייפוי כוח מקבל את קובץ הייצוא של הרשות לכספת שלו בכל אישור שבועי (והשבוע "
                        "האחרון שאושר נשלח אליו מיד). ביטול ייפוי הכוח עוצר את המשלוח הבא ומבטל משלוחים שטרם נמסרו.",
                  "en": "A vendor holding power of attorney receives the authority's package in its vault on every "
                        "weekly approval (and the latest approved week at once). Revoking stops the next delivery "
                        "and cancels deliveries not yet made."},
    "vendor": {"he": "ספק", "en": "Vendor"},
    "no_vendors": {"he": "אין ספקים רשומים. משרד החינוך רושם ספקים לאחר שחתמו על הצהרת הספק.",
                   "en": "No vendors are registered. The ministry registers vendors once they sign the declaration."},
    "consent": {"he": "אני נותן/ת בשם הרשות ייפוי כוח לספק זה לקבל את קובץ הייצוא השבועי של הרשות",
                "en": "On behalf of the authority I give this vendor power of attorney to receive our weekly export"},
    "grant": {"he": "מתן ייפוי כוח", "en": "Give power of attorney"},
    "consent_needed": {"he": "יש לסמן את תיבת ההסכמה.", "en": "Tick the consent box first."},
    "granted": {"he": "ניתן ייפוי כוח ל{vendor}.", "en": "Power of attorney given to {vendor}."},
    "revoke": {"he": "ביטול ייפוי כוח", "en": "Revoke power of attorney"},
    "revoked": {"he": "ייפוי הכוח של {vendor} בוטל.", "en": "{vendor}'s power of attorney was revoked."},
    "active": {"he": "ספקים עם ייפוי כוח בתוקף", "en": "Vendors holding power of attorney"},
    "none_active": {"he": "אין כרגע ספק עם ייפוי כוח.", "en": "No vendor holds power of attorney now."},
    "history": {"he": "היסטוריית ייפוי הכוח", "en": "Power of attorney history"},
    "col_vendor": {"he": "ספק", "en": "Vendor"},
    "col_granted_by": {"he": "ניתן על ידי", "en": "Given by"},
    "col_granted_at": {"he": "ניתן ב", "en": "Given on"},
    "col_revoked_by": {"he": "בוטל על ידי", "en": "Revoked by"},
    "col_revoked_at": {"he": "בוטל ב", "en": "Revoked on"},
    "receipts": {"he": "אישורי מסירה לספקים", "en": "Delivery receipts"},
    "no_receipts": {"he": "עדיין לא נמסרו קבצים לספקים.", "en": "No package has been delivered to a vendor yet."},
    "col_week": {"he": "שבוע", "en": "Week"},
    "col_status": {"he": "מצב", "en": "Status"},
    "col_delivered": {"he": "נמסר ב", "en": "Delivered on"},
    "col_counts": {"he": "שורות", "en": "Rows"},
    "col_attempts": {"he": "ניסיונות", "en": "Attempts"},
    "col_error": {"he": "הערה", "en": "Note"},
    "declaration": {"he": "הצהרת הספק (להדפסה)", "en": "Vendor declaration (to print)"},
}
STATUS = {
    "pending": {"he": "ממתין", "en": "pending"},
    "delivered": {"he": "נמסר", "en": "delivered"},
    "failed": {"he": "נכשל, ינוסה שוב", "en": "failed, will retry"},
    "cancelled": {"he": "בוטל (ייפוי הכוח בוטל)", "en": "cancelled (power of attorney revoked)"},
}
_FLASH = "exports_flash"


def _size(n: int | None) -> str:
    if not n:
        return "—"
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{n / 1024:.0f} KB"


def _loader(email: str, package_id: int, purpose: str):
    """The download's bytes, built on click: permission from the records now, audited first."""
    def load() -> bytes:
        return packages.open_for_download(load_principal(email), package_id, purpose)
    return load


def _progress(authority: str, weeks: list[str]) -> None:
    mine = [p for p in packages.packages_of(authority) if p.snapshot in weeks]
    pending = [p for p in mine if p.status in ("queued", "building")]
    if not pending:
        return

    @st.fragment(run_every=3)
    def watch() -> None:
        now = [p for p in packages.packages_of(authority) if p.snapshot in weeks]
        ready = sum(p.ready for p in now)
        st.progress(ready / max(len(now), 1), text=tr(TEXT, "progress", ready=ready, total=len(now)))
        if not any(p.status in ("queued", "building") for p in now):
            st.rerun()          # everything is ready: show the download buttons

    watch()


def _week(ctx: PageContext, approval, purpose: str) -> None:
    lang = ctx.lang
    found = {p.variant: p for p in packages.packages_of(ctx.authority) if p.snapshot == approval.snapshot}
    with st.container(border=True):
        st.subheader(tr(TEXT, "week", date=fmt_date(approval.snapshot)))
        st.caption(tr(TEXT, "approved", by=approval.approved_by, at=fmt_datetime(approval.approved_at)))
        if approval.note:
            st.caption(tr(TEXT, "note", note=approval.note))
        people_zip, book = found.get("people"), found.get("xlsx")
        if people_zip and people_zip.ready:
            W.grid(pl.DataFrame({
                tr(TEXT, "col_file"): [f["name"] for f in people_zip.files],
                tr(TEXT, "col_rows"): [fmt_int(f["rows"]) for f in people_zip.files],
                tr(TEXT, "col_sha"): [f["sha256"] for f in people_zip.files],
            }))
        cols = st.columns(2)
        for col, package, label, mime in ((cols[0], people_zip, "zip", "application/zip"),
                                          (cols[1], book, "xlsx",
                                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
            with col:
                if package is None or package.status in ("queued", "building"):
                    st.caption(f"{tr(TEXT, label)}: {tr(TEXT, 'building')}")
                    continue
                if package.status == "failed":
                    st.caption(f"{tr(TEXT, label)}: {tr(TEXT, 'failed')}")
                    continue
                st.download_button(tr(TEXT, label), data=_loader(ctx.principal.email, package.id, purpose),
                                   file_name=package.path.name, mime=mime, on_click="ignore",
                                   disabled=not purpose, key=f"download_{package.id}", icon=":material/download:")
                st.caption(f"{tr(TEXT, 'size')}: {_size(package.bytes)}  \n{tr(TEXT, 'sha')}: `{package.sha256}`")


def _poa(ctx: PageContext) -> None:
    from pages.vendors import declaration_pdf
    authority = ctx.authority
    st.header(tr(TEXT, "poa"))
    st.write(tr(TEXT, "poa_intro"))
    registered = vendor_records.list_vendors()
    names = {v.id: v.name for v in registered}
    active = set(vendor_records.active_poa_vendors(authority))
    st.subheader(tr(TEXT, "active"))
    if active:
        st.write(", ".join(names.get(v, str(v)) for v in sorted(active)))
    else:
        st.caption(tr(TEXT, "none_active"))
    if not registered:
        st.info(tr(TEXT, "no_vendors"))
    else:
        candidates = [v.id for v in registered if v.id not in active]
        if candidates:
            with st.form("poa_grant", clear_on_submit=True):
                vendor_id = st.selectbox(tr(TEXT, "vendor"), candidates, format_func=lambda v: names[v],
                                         key="poa_vendor")
                consent = st.checkbox(tr(TEXT, "consent"), key="poa_consent")
                if st.form_submit_button(tr(TEXT, "grant"), type="primary"):
                    if not consent:
                        st.error(tr(TEXT, "consent_needed"))
                    else:
                        vault.authorise_vendor(load_principal(ctx.principal.email), authority, vendor_id)
                        st.session_state[_FLASH] = tr(TEXT, "granted", vendor=names[vendor_id])
                        st.rerun()
        if active:
            with st.form("poa_revoke"):
                vendor_id = st.selectbox(tr(TEXT, "vendor"), sorted(active), format_func=lambda v: names.get(v, str(v)),
                                         key="poa_revoke_vendor")
                if st.form_submit_button(tr(TEXT, "revoke")):
                    vault.revoke_vendor(load_principal(ctx.principal.email), authority, vendor_id)
                    st.session_state[_FLASH] = tr(TEXT, "revoked", vendor=names.get(vendor_id, str(vendor_id)))
                    st.rerun()
    history = vendor_records.poa_history(authority)
    if history:
        with st.expander(tr(TEXT, "history")):
            W.grid(pl.DataFrame({
                tr(TEXT, "col_vendor"): [h["vendor_name"] for h in history],
                tr(TEXT, "col_granted_by"): [h["granted_by"] for h in history],
                tr(TEXT, "col_granted_at"): [fmt_datetime(h["granted_at"]) for h in history],
                tr(TEXT, "col_revoked_by"): [h["revoked_by"] or "" for h in history],
                tr(TEXT, "col_revoked_at"): [fmt_datetime(h["revoked_at"]) for h in history],
            }))
    st.download_button(tr(TEXT, "declaration"), data=declaration_pdf, file_name="vendor-declaration.pdf",
                       mime="application/pdf", on_click="ignore", key="poa_declaration")


def _receipts(ctx: PageContext) -> None:
    st.header(tr(TEXT, "receipts"))
    rows = vault.deliveries_of_authority(ctx.authority)
    if not rows:
        st.caption(tr(TEXT, "no_receipts"))
        return
    W.grid(pl.DataFrame({
        tr(TEXT, "col_week"): [fmt_date(d.snapshot) for d in rows],
        tr(TEXT, "col_vendor"): [d.vendor_name for d in rows],
        tr(TEXT, "col_status"): [tr(STATUS, d.status) for d in rows],
        tr(TEXT, "col_delivered"): [fmt_datetime(d.delivered_at) for d in rows],
        tr(TEXT, "col_counts"): [fmt_int(sum(d.receipt["counts"].values())) if d.receipt else "" for d in rows],
        tr(TEXT, "col_sha"): [d.receipt["sha256"] if d.receipt else "" for d in rows],
        tr(TEXT, "col_attempts"): [d.attempts for d in rows],
        tr(TEXT, "col_error"): [d.last_error or "" for d in rows],
    }))


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    if not ctx.authority or not ctx.allowed(Action.DOWNLOAD_EXPORT):
        st.error(tr(TEXT, "not_allowed"))
        return
    ctx.record_view("exports")
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash)
    st.write(tr(TEXT, "intro", authority=ctx.authority_name or ctx.authority))
    approvals = list_approvals()[:WEEKS_SHOWN]
    if not approvals:
        st.info(tr(TEXT, "no_approvals"))
    else:
        for approval in approvals[:1]:
            packages.ensure_packages(approval.snapshot, ctx.authority)
        _progress(ctx.authority, [a.snapshot for a in approvals])
        purpose = st.text_input(tr(TEXT, "purpose"), key="export_purpose", max_chars=300,
                                help=tr(TEXT, "purpose_help")).strip()
        if not purpose:
            st.caption(tr(TEXT, "purpose_needed"))
        st.caption(tr(TEXT, "safe_note"))
        for approval in approvals:
            _week(ctx, approval, purpose)
    if ctx.allowed(Action.GRANT_POA):
        _poa(ctx)
    _receipts(ctx)
