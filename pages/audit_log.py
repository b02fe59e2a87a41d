"""The audit log of one authority, for its roster manager: every event recorded in the open authority
(and only there), filtered by person, action and dates, with personal-detail views per person and an
audited CSV export. Events outside any authority (sign-ins) and other authorities' events never show.
"""
from __future__ import annotations

import streamlit as st

from auth import usage
from auth.permissions import Action
from common.clock import today
from common.i18n import fmt_int, tr
from pages import widgets as W
from pages.context import PageContext
from pages.usage import (SHOWN_EVENTS, action_name, choice, date_filters, events_table,
                         export_button, personal_views_section, total_caption)

TEXT = {
    "title": {"he": "יומן ביקורת — {name}", "en": "Audit log — {name}"},
    "denied": {"he": "יומן הביקורת של הרשות מיועד למנהל/ת המצבה שלה.",
               "en": "An authority's audit log is for its roster manager."},
    "actor": {"he": "משתמש/ת", "en": "User"},
    "action": {"he": "פעולה", "en": "Action"},
    "intro": {"he": "כל הפעולות שנרשמו ברשות זו: צפיות, הורדות, האצלות וייפויי כוח.",
              "en": "Everything recorded in this authority: views, downloads, delegations and powers of attorney."},
    "no_events": {"he": "אין אירועים בסינון שנבחר.", "en": "No events match the filters."},
    "shown": {"he": "מוצגים {shown} האירועים האחרונים מתוך {total}. הייצוא כולל את כולם.",
              "en": "Showing the latest {shown} of {total} events. The export holds them all."},
    "personal": {"he": "צפייה בפרטים אישיים לפי משתמש/ת", "en": "Personal-detail views per user"},
    "events": {"he": "אירועים", "en": "Events"},
    "export": {"he": "ייצוא יומן הרשות (CSV)", "en": "Export the authority's log (CSV)"},
}


def render(ctx: PageContext) -> None:
    authority = ctx.authority
    if not authority or not ctx.allowed(Action.VIEW_AUDIT, authority):   # again here, not only in navigation
        st.error(tr(TEXT, "denied"))
        st.stop()
    names = W.authority_names(ctx)
    st.title(tr(TEXT, "title", name=f"{names.get(authority, ctx.authority_name or authority)} ({authority})"))
    st.caption(tr(TEXT, "intro"))
    date_from, date_to = date_filters("audit")
    options = usage.filter_options(authority, date_from, date_to)
    left, right = st.columns(2)
    with left:
        actor = choice(tr(TEXT, "actor"), options["actor"], "audit_actor")
    with right:
        action = choice(tr(TEXT, "action"), options["action"], "audit_action", action_name)
    f = usage.for_authority(authority, usage.EventFilter(actor=actor, action=action, date_from=date_from,
                                                         date_to=date_to))
    ctx.record_view("audit_log", f.as_details())
    personal = ctx.allowed(Action.VIEW_PERSONAL, authority)

    st.subheader(tr(TEXT, "personal"))
    personal_views_section(f)

    st.subheader(tr(TEXT, "events"))
    total = usage.count_events(f)
    if not total:
        st.info(tr(TEXT, "no_events"))
        return
    if total > SHOWN_EVENTS:
        st.caption(tr(TEXT, "shown", shown=fmt_int(SHOWN_EVENTS), total=fmt_int(total)))
    else:
        st.caption(total_caption(total))
    events_table(usage.events(f, limit=SHOWN_EVENTS, personal=personal), names)
    email = ctx.principal.email
    export_button(tr(TEXT, "export"), lambda: _export_now(email, authority, f),
                  f"audit_{authority}_{today().isoformat()}.csv", "audit_export")


def _export_now(email: str, authority: str, f: usage.EventFilter) -> bytes:
    """Runs on the click, without a rerun: the permission is asked again from the records."""
    from auth.permissions import allowed
    from auth.principal import load_principal
    principal = load_principal(email)
    if not allowed(principal, Action.VIEW_AUDIT, authority):
        raise PermissionError("the audit log is for the authority's roster manager")
    return usage.export_events(email, f, personal=allowed(principal, Action.VIEW_PERSONAL, authority),
                               scope_authority=authority)
