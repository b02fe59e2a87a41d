"""Mifkad's entry script: login gate, the person's permissions, and navigation built from them.

Runs on every rerun before any page: the login is checked, the Principal is rebuilt from the portal's
own records (never from the login cookie's claims), idle sessions are sent to log in again, and only
the pages this person may open are registered, so other pages' addresses are unreachable.
"""
from __future__ import annotations

import importlib
import time

import streamlit as st

from auth import audit
from auth.permissions import Principal
from auth.principal import last_activity, load_principal, record_activity, record_sign_in
from auth.records import ensure_configured_admins
from common import notify
from common.config import settings
from common.i18n import current_language, save_language, saved_language, set_language, tr
from data.snapshots import latest_snapshot
from pages import context
from pages.navigation import visible_pages
from pages.registry import SECTIONS, PageSpec

TEXT = {
    "app": {"he": "מפקד", "en": "Mifkad"},
    "welcome": {"he": "פורטל מצבת התלמידים של משרד החינוך", "en": "The Ministry of Education's student census portal"},
    "login_intro": {"he": "הכניסה לפורטל בהזדהות ארגונית.", "en": "Sign in with your organisation's identity provider."},
    "login": {"he": "כניסה", "en": "Sign in"},
    "logout": {"he": "יציאה", "en": "Sign out"},
    "idle": {"he": "החיבור פג לאחר {minutes} דקות ללא פעילות. יש להתחבר מחדש.",
             "en": "Your session was idle for {minutes} minutes. Please sign in again."},
    "authority": {"he": "רשות", "en": "Authority"},
    "language": {"he": "שפה", "en": "Language"},
    "no_snapshot": {"he": "עדיין לא פורסמה תמונת מצב של המצבה. הנתונים יופיעו כאן אחרי שצוות המשרד יטען את הקובץ היומי.",
                    "en": "No census snapshot has been published yet. Data appears here once ministry staff load the daily feed."},
    "no_email": {"he": "ספק ההזדהות לא מסר כתובת דוא\"ל; לא ניתן להמשיך.",
                 "en": "The identity provider gave no e-mail address; cannot continue."},
}

# A busy session refreshes its last activity in the portal's records at most this often.
ACTIVITY_RECORD_SECONDS = 60

RTL_CSS = """
<style>
[data-testid="stMain"], [data-testid="stSidebar"], [data-testid="stMarkdownContainer"],
[data-testid="stHeading"], [data-testid="stAlert"], [data-testid="stCaptionContainer"],
[data-testid="stWidgetLabel"], [data-testid="stMetric"], [data-testid="stForm"],
[data-testid="stExpander"], [data-testid="stTabs"] { direction: rtl; text-align: right; }
/* Charts and tables keep their own left-to-right layout (plotly misplaces tooltips in RTL). */
[data-testid="stPlotlyChart"], .js-plotly-plot { direction: ltr; }
[data-testid="stDataFrame"] { direction: rtl; }
/* Dates read DD/MM/YYYY left to right, also inside right-to-left forms. */
[data-testid="stDateInputField"] { direction: ltr; text-align: right; }
</style>
"""


def _login_screen() -> None:
    st.title(tr(TEXT, "app"))
    st.subheader(tr(TEXT, "welcome"))
    st.write(tr(TEXT, "login_intro"))
    if st.button(tr(TEXT, "login"), type="primary", key="login"):
        st.login()
    st.stop()


def _language_switch(email: str) -> str:
    lang = current_language()
    choice = st.sidebar.radio(tr(TEXT, "language"), ["he", "en"], index=0 if lang == "he" else 1,
                              format_func=lambda l: "עברית" if l == "he" else "English", horizontal=True,
                              key="lang_choice")
    if choice != lang:
        set_language(choice)
        save_language(email, choice)
        st.rerun()
    return choice


def _idle_check(email: str) -> None:
    """Sessions idle for longer than the setting must sign in again.

    A new session (a reload, another tab, a browser reopened days later with the 30-day login cookie)
    starts from the later of the login time and this person's last activity in any session, so it
    cannot bypass the limit. Once expired, the session stays expired until the person signs in again.
    """
    minutes = settings().session_idle_minutes
    now = time.time()
    last = st.session_state.get("last_activity")
    if last is None:
        known = [t for t in (st.user.get("iat"), last_activity(email)) if isinstance(t, (int, float))]
        last = max(known) if known else None
    if st.session_state.get("idle_expired") or (last is not None and now - last > minutes * 60):
        if not st.session_state.get("idle_expired"):
            audit.record("session_expired", actor=email, details={"idle_seconds": int(now - last)})
            st.session_state.clear()
            st.session_state["idle_expired"] = True
        st.warning(tr(TEXT, "idle", minutes=minutes))
        if st.button(tr(TEXT, "login"), type="primary", key="relogin"):
            st.session_state.clear()
            st.logout()
        st.stop()
    st.session_state["last_activity"] = now
    if now - st.session_state.get("activity_recorded", 0) > ACTIVITY_RECORD_SECONDS:
        record_activity(email)
        st.session_state["activity_recorded"] = now


def _authority_names(principal: Principal, snapshot) -> dict[str, str]:
    names = {a: a for a in principal.authorities}
    if snapshot is None or not names:
        return names
    from queries import Scope, run
    try:
        ref = run("authorities", Scope(snapshot=snapshot, authority=None))
    except Exception:  # a snapshot without the reference table still lets people in
        return names
    for code, name in ref.select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows():
        if code in names:
            names[code] = name
    return names


def _choose_authority(principal: Principal, names: dict[str, str]) -> str | None:
    options = principal.authorities
    if not options:
        return None
    chosen = st.session_state.get("authority")
    if chosen not in options:        # lost access since last rerun, or first visit
        chosen = options[0]
    if len(options) > 1:
        chosen = st.sidebar.selectbox(tr(TEXT, "authority"), options, index=options.index(chosen),
                                      format_func=lambda a: f"{names.get(a, a)} ({a})", key="authority_choice")
    st.session_state["authority"] = chosen
    return chosen


def _page_runner(spec: PageSpec, ctx: context.PageContext):
    def run_page():
        if spec.needs_snapshot and ctx.snapshot is None:
            st.title(spec.title(ctx.lang))
            st.info(tr(TEXT, "no_snapshot"))
            return
        module = importlib.import_module(f"pages.{spec.module}")
        module.render(ctx)
    run_page.__name__ = f"page_{spec.slug}"
    return run_page


def main() -> None:
    st.set_page_config(page_title="Mifkad", page_icon=":material/school:", layout="wide")
    signed_in = st.user.get("is_logged_in", False)
    email = (st.user.get("email") or "").strip().lower()
    if signed_in and email and not st.session_state.get("language_loaded"):
        # a new tab, a reload or another device opens in the language the person chose last
        set_language(saved_language(email) or current_language())
        st.session_state["language_loaded"] = True
    if current_language() == "he":
        st.html(RTL_CSS)
    if not signed_in:
        _login_screen()
    if not email:
        st.error(tr(TEXT, "no_email"))
        st.stop()
    _idle_check(email)
    if not st.session_state.get("signed_in_recorded"):
        ensure_configured_admins()
        record_sign_in(email, st.user.get("sub") or "", st.user.get("name") or "")
        audit.record("sign_in", actor=email)
        st.session_state["signed_in_recorded"] = True
    notify.ensure_worker()    # e-mail and SMS go out in the background from any page, after restarts too

    principal = load_principal(email, st.user.get("name") or "")   # every rerun, from our records
    snapshot = latest_snapshot()
    names = _authority_names(principal, snapshot)
    authority = _choose_authority(principal, names)
    lang = _language_switch(email)
    st.sidebar.caption(principal.email)
    if st.sidebar.button(tr(TEXT, "logout"), key="logout"):
        audit.record("sign_out", actor=email)
        st.session_state.clear()
        st.logout()

    ctx = context.PageContext(principal=principal, authority=authority,
                              authority_name=names.get(authority) if authority else None,
                              snapshot=snapshot, lang=lang)
    sections: dict[str, list] = {}
    for spec in visible_pages(principal, authority):
        module = importlib.import_module(f"pages.{spec.module}")
        title = module.nav_title(ctx) if hasattr(module, "nav_title") else spec.title(lang)
        page = st.Page(_page_runner(spec, ctx), title=title, icon=spec.icon,
                       url_path=spec.slug, default=(spec.slug == "home"))
        sections.setdefault(SECTIONS[spec.section][lang], []).append(page)
    nav = st.navigation(sections)
    context.set_current(ctx)
    try:
        nav.run()
    finally:
        context.set_current(None)


main()
