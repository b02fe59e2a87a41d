"""Usage review for ministry staff: who used the portal, how, and what left it — from the audit trail.

Activity per authority over time, downloads per week, authorities that never downloaded, delegations
to review, personal-detail views per person (outliers flagged), vendor deliveries, and the filtered
events themselves with an audited CSV export. Ministry staff never see children's details: student
identities inside events are masked here.
"""
from __future__ import annotations

from datetime import timedelta

import plotly.express as px
import polars as pl
import streamlit as st

from auth import usage
from auth.permissions import Action
from common.clock import today
from common.i18n import fmt_date, fmt_datetime, fmt_int, tr
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "סקירת שימוש", "en": "Usage review"},
    "denied": {"he": "הדף מיועד לצוות משרד החינוך.", "en": "This page is for ministry staff."},
    "authority": {"he": "רשות", "en": "Authority"},
    "actor": {"he": "משתמש/ת", "en": "User"},
    "action": {"he": "פעולה", "en": "Action"},
    "date_from": {"he": "מתאריך", "en": "From"},
    "date_to": {"he": "עד תאריך", "en": "To"},
    "all": {"he": "הכול", "en": "All"},
    "bad_dates": {"he": "תאריך הסיום קודם לתאריך ההתחלה.", "en": "The end date is before the start date."},
    "tab_activity": {"he": "פעילות", "en": "Activity"},
    "tab_downloads": {"he": "הורדות", "en": "Downloads"},
    "tab_delegations": {"he": "האצלות", "en": "Delegations"},
    "tab_personal": {"he": "צפייה בפרטים אישיים", "en": "Personal-detail views"},
    "tab_vendors": {"he": "העברות לספקים", "en": "Vendor deliveries"},
    "tab_events": {"he": "אירועים", "en": "Events"},
    "activity_title": {"he": "אירועים ביום לפי רשות", "en": "Events per day by authority"},
    "no_events": {"he": "אין אירועים בסינון שנבחר.", "en": "No events match the filters."},
    "day": {"he": "יום", "en": "Day"},
    "events": {"he": "אירועים", "en": "Events"},
    "no_authority": {"he": "ללא רשות", "en": "No authority"},
    "week": {"he": "שבוע (מיום א')", "en": "Week (from Sunday)"},
    "downloads": {"he": "הורדות", "en": "Downloads"},
    "authorities": {"he": "רשויות", "en": "Authorities"},
    "never": {"he": "רשויות עם גישה שמעולם לא הורידו את הקובץ השבועי", "en": "Authorities with access that never downloaded"},
    "never_count": {"he": "{count} רשויות", "en": "{count} authorities"},
    "never_none": {"he": "כל הרשויות שיש להן גישה הורידו לפחות פעם אחת.", "en": "Every authority with access has downloaded."},
    "deleg_caption": {"he": "האצלות פעילות שמסתיימות בתוך {days} ימים, או שלא נעשה בהן שימוש (צפייה בדף) {unused} ימים.",
                      "en": "Active delegations ending within {days} days, or unused (no page view) for {unused} days."},
    "deleg_none": {"he": "אין האצלות הדורשות תשומת לב.", "en": "No delegation needs attention."},
    "grantee": {"he": "מקבל/ת ההאצלה", "en": "Grantee"},
    "actions": {"he": "הרשאות", "en": "Actions"},
    "granted_by": {"he": "הואצל ע\"י", "en": "Granted by"},
    "expires_on": {"he": "בתוקף עד", "en": "Valid until"},
    "last_view": {"he": "צפייה אחרונה", "en": "Last view"},
    "expiring": {"he": "מסתיימת בקרוב", "en": "Ending soon"},
    "unused": {"he": "לא בשימוש", "en": "Unused"},
    "personal_caption": {"he": "חריג: יותר מהחציון + 3 × סטיית החציון המוחלטת (MAD, לפחות 1). הסף כעת: {threshold}.",
                         "en": "Outlier: more than the median + 3 × the median absolute deviation (MAD, at least 1). "
                               "Threshold now: {threshold}."},
    "personal_none": {"he": "אין צפיות בפרטים אישיים בסינון שנבחר.", "en": "No personal-detail views match the filters."},
    "views": {"he": "צפיות", "en": "Views"},
    "students": {"he": "תלמידים שונים", "en": "Distinct students"},
    "outlier": {"he": "חריג", "en": "Outlier"},
    "outliers": {"he": "משתמשים חריגים: {names}", "en": "Outliers: {names}"},
    "vendors_none": {"he": "אין העברות לספקים בסינון שנבחר.", "en": "No vendor deliveries match the filters."},
    "at": {"he": "מועד", "en": "When"},
    "vendor": {"he": "ספק", "en": "Vendor"},
    "package": {"he": "חבילה", "en": "Package"},
    "snapshot": {"he": "תמונת מצב", "en": "Snapshot"},
    "attempt": {"he": "ניסיון", "en": "Attempt"},
    "outcome": {"he": "תוצאה", "en": "Outcome"},
    "failed": {"he": "נכשלה", "en": "Failed"},
    "delivered": {"he": "הועברה", "en": "Delivered"},
    "details": {"he": "פרטים", "en": "Details"},
    "reason": {"he": "מטרה", "en": "Purpose"},
    "seq": {"he": "מס'", "en": "No."},
    "shown": {"he": "מוצגים {shown} האירועים האחרונים מתוך {total}. הייצוא כולל את כולם.",
              "en": "Showing the latest {shown} of {total} events. The export holds them all."},
    "total": {"he": "{total} אירועים", "en": "{total} events"},
    "total_one": {"he": "אירוע אחד", "en": "1 event"},
    "export": {"he": "ייצוא האירועים המסוננים (CSV)", "en": "Export the filtered events (CSV)"},
    "export_help": {"he": "הייצוא עצמו נרשם ביומן הביקורת.", "en": "The export itself is recorded in the audit trail."},
}

# Every event type, named for people (docs/audit.md describes their fields).
ACTION_NAMES = {
    "sign_in": {"he": "כניסה", "en": "Sign-in"},
    "sign_out": {"he": "יציאה", "en": "Sign-out"},
    "session_expired": {"he": "פקיעת חיבור", "en": "Session expired"},
    "page_view": {"he": "צפייה בדף", "en": "Page view"},
    "personal_view": {"he": "צפייה בפרטים אישיים", "en": "Personal-detail view"},
    "table_export": {"he": "ייצוא טבלה", "en": "Table export"},
    "download": {"he": "הורדת קובץ שבועי", "en": "Weekly package download"},
    "vendor_delivery_failed": {"he": "העברה לספק נכשלה", "en": "Vendor delivery failed"},
    "vault_collect": {"he": "איסוף מהכספת", "en": "Vault collection"},
    "vendor_delivery": {"he": "העברה לספק", "en": "Vendor delivery"},
    "grant_created": {"he": "האצלה חדשה", "en": "Delegation created"},
    "grant_changed": {"he": "שינוי האצלה", "en": "Delegation changed"},
    "grant_revoked": {"he": "ביטול האצלה", "en": "Delegation revoked"},
    "poa_granted": {"he": "ייפוי כוח לספק", "en": "Power of attorney granted"},
    "poa_revoked": {"he": "ביטול ייפוי כוח", "en": "Power of attorney revoked"},
    "request_state": {"he": "שינוי מצב בקשה", "en": "Request state change"},
    "request_form_saved": {"he": "שמירת טופס בקשה", "en": "Request form saved"},
    "request_pdf_attached": {"he": "צירוף טופס חתום", "en": "Signed form attached"},
    "request_pdf_download": {"he": "הורדת טופס חתום", "en": "Signed form downloaded"},
    "request_state_not_applied": {"he": "שינוי מצב בקשה שלא בוצע", "en": "Request change not applied"},
    "form_b_download": {"he": "הורדת טופס ב'", "en": "Form B downloaded"},
    "notification_retry": {"he": "שליחה חוזרת של הודעה", "en": "Notification resent"},
    "export_approved": {"he": "אישור ייצוא שבועי", "en": "Weekly export approved"},
    "vendor_registered": {"he": "רישום ספק", "en": "Vendor registered"},
    "ministry_staff_appointed": {"he": "מינוי לצוות המשרד", "en": "Ministry staff appointed"},
    "access_opened": {"he": "פתיחת גישה לרשות", "en": "Authority access opened"},
    "access_closed": {"he": "סגירת גישה לרשות", "en": "Authority access closed"},
    "roster_manager_appointed": {"he": "מינוי מנהל/ת מצבה", "en": "Roster manager appointed"},
    "ingest_published": {"he": "פרסום תמונת מצב", "en": "Snapshot published"},
    "ingest_refused": {"he": "קליטה נדחתה", "en": "Ingest refused"},
    "ingest_rejects_download": {"he": "הורדת שורות שנדחו", "en": "Rejected rows downloaded"},
    "audit_export": {"he": "ייצוא יומן ביקורת", "en": "Audit export"},
    "audit_pruned": {"he": "גיזום לפי מדיניות שמירה", "en": "Retention pruning"},
}

SHOWN_EVENTS = 500
DEFAULT_DAYS = 90


def action_name(action: str | None) -> str:
    return tr(ACTION_NAMES, action) if action in ACTION_NAMES else (action or "")


# Date fields read day/month/year left to right inside the right-to-left page (the field's segments
# are laid out by direction, so 04/09/2026 would otherwise show as 2026/09/04).
DATE_CSS = '<style>[data-testid="stDateInputField"] { direction: ltr; }</style>'


def total_caption(total: int) -> str:
    return tr(TEXT, "total_one") if total == 1 else tr(TEXT, "total", total=fmt_int(total))


def date_filters(key: str) -> tuple:
    """From/to dates shown DD/MM/YYYY; the default is the last 90 days."""
    st.html(DATE_CSS)
    left, right = st.columns(2)
    date_from = left.date_input(tr(TEXT, "date_from"), value=today() - timedelta(days=DEFAULT_DAYS),
                                format="DD/MM/YYYY", key=f"{key}_from")
    date_to = right.date_input(tr(TEXT, "date_to"), value=today(), format="DD/MM/YYYY", key=f"{key}_to")
    if date_from and date_to and date_to < date_from:
        st.error(tr(TEXT, "bad_dates"))
        st.stop()
    return date_from or None, date_to or None


def choice(label: str, options: list[str], key: str, format_func=str) -> str | None:
    picked = st.selectbox(label, [""] + options, key=key,
                          format_func=lambda v: tr(TEXT, "all") if v == "" else format_func(v))
    return picked or None


def events_table(df: pl.DataFrame, names: dict[str, str]) -> None:
    """Events for reading: dates DD/MM/YYYY, action and authority names."""
    shown = pl.DataFrame({
        tr(TEXT, "seq"): df["seq"],
        tr(TEXT, "at"): [fmt_datetime(v) for v in df["at"]],
        tr(TEXT, "actor"): df["actor"],
        tr(TEXT, "action"): [action_name(a) for a in df["action"]],
        tr(TEXT, "authority"): [W.authority_label(names, a) for a in df["authority"]],
        tr(TEXT, "reason"): df["reason"].fill_null(""),
        tr(TEXT, "details"): df["details"],
    })
    W.grid(shown)


def export_button(label: str, build, file_name: str, key: str) -> None:
    """The only way events leave: the bytes are built on click by the audited export."""
    st.download_button(label, data=build, file_name=file_name, mime="text/csv",
                       on_click="ignore", help=tr(TEXT, "export_help"), key=key, icon=":material/download:")


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    if not ctx.allowed(Action.REVIEW_USAGE):      # checked again here, not only by the navigation
        st.error(tr(TEXT, "denied"))
        st.stop()
    names = W.authority_names(ctx)
    date_from, date_to = date_filters("usage")
    options = usage.filter_options(date_from=date_from, date_to=date_to)
    cols = st.columns(3)
    with cols[0]:
        authority = choice(tr(TEXT, "authority"), options["authority"], "usage_authority",
                           lambda a: W.authority_label(names, a))
    with cols[1]:
        actor = choice(tr(TEXT, "actor"), options["actor"], "usage_actor")
    with cols[2]:
        action = choice(tr(TEXT, "action"), sorted(set(options["action"]) | set(ACTION_NAMES)), "usage_action",
                        action_name)
    f = usage.EventFilter(authority=authority, actor=actor, action=action, date_from=date_from, date_to=date_to)
    ctx.record_view("usage", f.as_details())

    tabs = st.tabs([tr(TEXT, k) for k in ("tab_activity", "tab_downloads", "tab_delegations", "tab_personal",
                                          "tab_vendors", "tab_events")])
    with tabs[0]:
        _activity(f, names)
    with tabs[1]:
        _downloads(f, names)
    with tabs[2]:
        _delegations(authority, names)
    with tabs[3]:
        _personal_views(f)
    with tabs[4]:
        _vendor_deliveries(f, names)
    with tabs[5]:
        _events(ctx, f, names)


def _activity(f: usage.EventFilter, names: dict[str, str]) -> None:
    df = usage.activity_by_day(f)
    if df.is_empty():
        st.info(tr(TEXT, "no_events"))
        return
    df = df.with_columns(pl.col("authority").map_elements(
        lambda a: W.authority_label(names, a), return_dtype=pl.Utf8).fill_null(tr(TEXT, "no_authority")))
    fig = px.bar(df.to_pandas(), x="day", y="events", color="authority", title=tr(TEXT, "activity_title"),
                 labels={"day": tr(TEXT, "day"), "events": tr(TEXT, "events"), "authority": tr(TEXT, "authority")})
    fig.update_xaxes(tickformat="%d/%m/%Y")
    st.plotly_chart(fig, width="stretch")
    st.caption(total_caption(df["events"].sum()))


def _downloads(f: usage.EventFilter, names: dict[str, str]) -> None:
    weekly = usage.downloads_per_week(f)
    if weekly.is_empty():
        st.info(tr(TEXT, "no_events"))
    else:
        fig = px.bar(weekly.to_pandas(), x="week", y="downloads",
                     labels={"week": tr(TEXT, "week"), "downloads": tr(TEXT, "downloads")})
        fig.update_xaxes(tickformat="%d/%m/%Y")
        st.plotly_chart(fig, width="stretch")
        W.grid(pl.DataFrame({tr(TEXT, "week"): [fmt_date(w) for w in weekly["week"]],
                                   tr(TEXT, "downloads"): weekly["downloads"],
                                   tr(TEXT, "authorities"): weekly["authorities"]}))
    st.subheader(tr(TEXT, "never"))
    never = usage.authorities_never_downloaded()
    if f.authority:
        never = [a for a in never if a == f.authority]
    if never:
        st.caption(tr(TEXT, "never_count", count=fmt_int(len(never))))
        W.grid(pl.DataFrame({tr(TEXT, "authority"): [W.authority_label(names, a) for a in never]}))
    else:
        st.success(tr(TEXT, "never_none"))


def _delegations(authority: str | None, names: dict[str, str]) -> None:
    st.caption(tr(TEXT, "deleg_caption", days=usage.EXPIRING_DAYS, unused=usage.UNUSED_DAYS))
    df = usage.delegations_to_review()
    if authority:
        df = df.filter(pl.col("authority") == authority)
    if df.is_empty():
        st.success(tr(TEXT, "deleg_none"))
        return
    yes = "✔"
    W.grid(pl.DataFrame({
        tr(TEXT, "authority"): [W.authority_label(names, a) for a in df["authority"]],
        tr(TEXT, "grantee"): df["grantee"],
        tr(TEXT, "actions"): df["actions"],
        tr(TEXT, "granted_by"): df["granted_by"],
        tr(TEXT, "expires_on"): [fmt_date(d) for d in df["expires_on"]],
        tr(TEXT, "last_view"): [fmt_date(d) for d in df["last_view"]],
        tr(TEXT, "expiring"): [yes if v else "" for v in df["expiring"]],
        tr(TEXT, "unused"): [yes if v else "" for v in df["unused"]],
    }))


def personal_views_section(f: usage.EventFilter) -> None:
    """Views per person with outliers flagged; shared with the roster manager's audit log."""
    df = usage.personal_views_per_user(f)
    if df.is_empty():
        st.info(tr(TEXT, "personal_none"))
        return
    threshold = usage.outlier_threshold(df["views"].to_list())
    st.caption(tr(TEXT, "personal_caption", threshold=f"{threshold:g}"))
    outliers = df.filter(pl.col("outlier"))["actor"].to_list()
    if outliers:
        st.warning(tr(TEXT, "outliers", names=", ".join(outliers)))
    table = W.reading_order(pl.DataFrame({
        tr(TEXT, "actor"): df["actor"], tr(TEXT, "views"): df["views"], tr(TEXT, "students"): df["students"],
        tr(TEXT, "outlier"): ["⚠" if v else "" for v in df["outlier"]],
    })).to_pandas()
    flagged = df["outlier"].to_list()
    styled = table.style.apply(lambda row: ["background-color: #ffe0e0" if flagged[row.name] else ""] * len(row),
                               axis=1)
    st.dataframe(styled, hide_index=True, width="stretch")


def _personal_views(f: usage.EventFilter) -> None:
    personal_views_section(f)


def _vendor_deliveries(f: usage.EventFilter, names: dict[str, str]) -> None:
    df = usage.vendor_deliveries(f)
    if df.is_empty():
        st.info(tr(TEXT, "vendors_none"))
        return
    W.grid(pl.DataFrame({
        tr(TEXT, "at"): [fmt_datetime(v) for v in df["at"]],
        tr(TEXT, "authority"): [W.authority_label(names, a) for a in df["authority"]],
        tr(TEXT, "vendor"): df["vendor"],
        tr(TEXT, "snapshot"): [fmt_date(d) if d else "" for d in df["snapshot"]],
        tr(TEXT, "package"): df["package"],
        tr(TEXT, "attempt"): df["attempt"],
        tr(TEXT, "outcome"): [tr(TEXT, "failed") if v else tr(TEXT, "delivered") for v in df["failed"]],
        "SHA-256": df["sha256"],
    }))


def _events(ctx: PageContext, f: usage.EventFilter, names: dict[str, str]) -> None:
    total = usage.count_events(f)
    if not total:
        st.info(tr(TEXT, "no_events"))
        return
    df = usage.events(f, limit=SHOWN_EVENTS)
    if total > SHOWN_EVENTS:
        st.caption(tr(TEXT, "shown", shown=fmt_int(SHOWN_EVENTS), total=fmt_int(total)))
    else:
        st.caption(total_caption(total))
    events_table(df, names)
    export_button(tr(TEXT, "export"), lambda: _export_now(ctx.principal.email, f),
                  f"audit_events_{today().isoformat()}.csv", "usage_export")


def _export_now(email: str, f: usage.EventFilter) -> bytes:
    """Runs on the click, without a rerun: the permission is asked again from the records."""
    from auth.permissions import allowed
    from auth.principal import load_principal
    if not allowed(load_principal(email), Action.REVIEW_USAGE):
        raise PermissionError("usage review is for ministry staff")
    return usage.export_events(email, f)
