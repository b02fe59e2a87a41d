"""Home: who you are, what you may do here, and where to start."""
from __future__ import annotations

import streamlit as st

from auth.permissions import Action, Role
from common.i18n import fmt_date, tr
from pages.context import PageContext

TEXT = {
    "title": {"he": "מפקד — פורטל מצבת התלמידים", "en": "Mifkad — the student census portal"},
    "hello": {"he": "שלום {name}", "en": "Hello {name}"},
    "roles": {"he": "התפקידים שלך", "en": "Your roles"},
    "no_access": {"he": "אין לך עדיין הרשאה לצפות במצבה של רשות. מנהל/ת המצבה של הרשות יכול/ה להאציל לך הרשאה, "
                        "או שהרשות מגישה בקשת גישה (טופס א').",
                  "en": "You have no access to an authority's census yet. Your authority's roster manager can "
                        "delegate access to you, or the authority files an access request (Form A)."},
    "authority": {"he": "רשות פתוחה: {name} ({code})", "en": "Open authority: {name} ({code})"},
    "snapshot": {"he": "תמונת המצב העדכנית: {date}", "en": "Latest snapshot: {date}"},
    "no_snapshot": {"he": "עדיין לא פורסמה תמונת מצב. צוות המשרד טוען את הקובץ היומי (python -m data.ingest).",
                    "en": "No snapshot has been published yet. Ministry staff load the daily feed (python -m data.ingest)."},
}
ROLE_NAMES = {
    Role.MINISTRY: {"he": "צוות משרד החינוך", "en": "Ministry staff"},
    Role.ROSTER_MANAGER: {"he": "מנהל/ת מצבת תלמידים", "en": "Roster manager"},
    Role.ANALYST: {"he": "אנליסט/ית (בהאצלה)", "en": "Analyst (delegated)"},
    Role.VENDOR: {"he": "ספק תוכנה", "en": "Software vendor"},
    Role.SIGNED_IN: {"he": "משתמש/ת מחובר/ת", "en": "Signed-in user"},
}


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    st.write(tr(TEXT, "hello", name=ctx.principal.name or ctx.principal.email))
    roles = [tr(ROLE_NAMES, r) for r in sorted(ctx.principal.roles) if r != Role.SIGNED_IN]
    if roles:
        st.write(f"**{tr(TEXT, 'roles')}:** " + ", ".join(roles))
    if ctx.authority:
        st.write(tr(TEXT, "authority", name=ctx.authority_name or ctx.authority, code=ctx.authority))
    elif not (ctx.principal.ministry or ctx.principal.vendor_ids):
        st.info(tr(TEXT, "no_access"))
    if ctx.snapshot:
        st.caption(tr(TEXT, "snapshot", date=fmt_date(ctx.snapshot.date)))
    elif ctx.allowed(Action.VIEW_AGGREGATES) or ctx.allowed(Action.NATIONAL_AGGREGATES):
        st.warning(tr(TEXT, "no_snapshot"))
