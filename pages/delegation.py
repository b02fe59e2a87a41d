"""Delegation: a roster manager grants colleagues some of their own actions in the open authority,
until an end date, and changes or revokes those grants.

The rules (never more than the grantor holds, at most two years, ...) live in auth.records, which
also audits grant_created / grant_changed / grant_revoked before each change. A revoked grant is
gone at the colleague's next click: app.py rebuilds their permissions on every rerun.
"""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from auth import records
from auth.permissions import DELEGABLE, Action
from common.clock import today
from common.i18n import fmt_date, tr
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "האצלת הרשאות", "en": "Delegation"},
    "intro": {"he": "הענקת הרשאות לעמיתים ב{authority}: רק מה שיש לך, עד שנתיים לכל היותר. "
                    "ביטול הרשאה חל מהפעולה הבאה של העמית/ה.",
              "en": "Grant colleagues access in {authority}: only what you hold yourself, for at most two years. "
                    "A revocation applies from the colleague's next click."},
    "new": {"he": "הרשאה חדשה", "en": "New grant"},
    "email": {"he": "דוא\"ל של העמית/ה", "en": "Colleague's e-mail"},
    "actions": {"he": "הרשאות", "en": "Permissions"},
    "ends": {"he": "בתוקף עד (כולל)", "en": "Valid until (inclusive)"},
    "grant": {"he": "הענקת הרשאה", "en": "Grant"},
    "granted": {"he": "ההרשאה ל-{email} נשמרה, בתוקף עד {date}.", "en": "Granted to {email} until {date}."},
    "current": {"he": "הרשאות בתוקף", "en": "Current grants"},
    "none": {"he": "אין הרשאות בתוקף ברשות זו.", "en": "No current grants in this authority."},
    "past": {"he": "הרשאות שבוטלו או פגו", "en": "Revoked or expired grants"},
    "edit": {"he": "שינוי או ביטול הרשאה", "en": "Change or revoke a grant"},
    "choose": {"he": "עמית/ה", "en": "Colleague"},
    "save": {"he": "שמירת השינויים", "en": "Save changes"},
    "revoke": {"he": "ביטול ההרשאה", "en": "Revoke the grant"},
    "changed": {"he": "ההרשאה של {email} עודכנה.", "en": "{email}'s grant was changed."},
    "revoked": {"he": "ההרשאה של {email} בוטלה.", "en": "{email}'s grant was revoked."},
    "col_grantee": {"he": "עמית/ה", "en": "Colleague"},
    "col_actions": {"he": "הרשאות", "en": "Permissions"},
    "col_by": {"he": "הוענקה על ידי", "en": "Granted by"},
    "col_at": {"he": "הוענקה ב", "en": "Granted on"},
    "col_ends": {"he": "בתוקף עד", "en": "Valid until"},
    "col_status": {"he": "מצב", "en": "Status"},
    "status_revoked": {"he": "בוטלה ב-{date}", "en": "revoked on {date}"},
    "status_expired": {"he": "פגה", "en": "expired"},
    "status_expired_editable": {"he": "פגה (אפשר לחדש)", "en": "expired (can be renewed)"},
}

ACTION_NAMES = {
    Action.VIEW_AGGREGATES: {"he": "ספירות ותרשימים", "en": "Counts and charts"},
    Action.VIEW_ROWS: {"he": "רשימות תלמידים (פרטים אישיים מוסתרים)", "en": "Student lists (personal details masked)"},
    Action.VIEW_PERSONAL: {"he": "פרטים אישיים: שמות, מספרי זהות, טלפונים", "en": "Personal details: names, ID numbers, phones"},
    Action.DOWNLOAD_EXPORT: {"he": "הורדת קובץ הייצוא השבועי", "en": "Download the weekly export"},
}

# GrantError codes from auth.records, in the reader's language; an unknown code shows the message as is.
ERRORS = {
    "no_delegate": {"he": "אין לך הרשאה להאציל ברשות זו.", "en": "You may not delegate access in this authority."},
    "no_actions": {"he": "יש לבחור לפחות הרשאה אחת.", "en": "Choose at least one permission."},
    "not_delegable": {"he": "לא ניתן להאציל: {actions}.", "en": "These cannot be delegated: {actions}."},
    "beyond_grantor": {"he": "אי אפשר להעניק הרשאה שאין לך: {actions}.",
                       "en": "You cannot grant what you do not hold: {actions}."},
    "personal_needs_rows": {"he": "פרטים אישיים דורשים גם את הרשאת רשימות התלמידים.",
                            "en": "Personal details need the student lists permission too."},
    "bad_email": {"he": "כתובת הדוא\"ל של העמית/ה אינה תקינה.", "en": "The colleague's e-mail address is not valid."},
    "self": {"he": "אי אפשר להאציל הרשאה לעצמך.", "en": "You cannot delegate to yourself."},
    "past": {"he": "תאריך הסיום כבר עבר.", "en": "The end date has passed."},
    "too_long": {"he": "הרשאה יכולה להימשך שנתיים לכל היותר.", "en": "A grant may last at most two years."},
    "duplicate": {"he": "לעמית/ה זו כבר יש הרשאה ברשות; יש לשנות אותה במקום להוסיף חדשה.",
                  "en": "This colleague already has a grant here; change it instead."},
    "no_grant": {"he": "ההרשאה אינה קיימת או שכבר בוטלה.", "en": "No such grant, or it was already revoked."},
}
_FLASH = "delegation_flash"


def action_label(action) -> str:
    return tr(ACTION_NAMES, Action(action))


def error_text(exc: records.GrantError) -> str:
    if exc.code in ERRORS:
        params = dict(exc.params)
        if "actions" in params:   # action names in the reader's language
            params["actions"] = ", ".join(action_label(a) if a in ACTION_NAMES else a
                                          for a in params["actions"].split(", "))
        return tr(ERRORS, exc.code, **params)
    return str(exc)


def _grant_rows(grants: list[records.Grant], past: bool) -> list[dict]:
    rows = []
    for g in grants:
        row = {tr(TEXT, "col_grantee"): g.grantee,
               tr(TEXT, "col_actions"): ", ".join(action_label(a) for a in DELEGABLE if a in g.actions),
               tr(TEXT, "col_by"): g.granted_by,
               tr(TEXT, "col_at"): fmt_date(g.granted_at),
               tr(TEXT, "col_ends"): fmt_date(g.expires_on)}
        if past:
            row[tr(TEXT, "col_status")] = (tr(TEXT, "status_revoked", date=fmt_date(g.revoked_at))
                                           if g.revoked_at else tr(TEXT, "status_expired"))
        rows.append(row)
    return rows


def _new_grant_form(ctx: PageContext, holdable: list[Action], max_end) -> None:
    st.subheader(tr(TEXT, "new"))
    with st.form("new_grant"):
        email = st.text_input(tr(TEXT, "email"), key="new_grant_email")
        actions = st.multiselect(tr(TEXT, "actions"), holdable, default=[Action.VIEW_AGGREGATES],
                                 format_func=action_label, key="new_grant_actions")
        ends = st.date_input(tr(TEXT, "ends"), value=today() + timedelta(days=records.DEFAULT_GRANT_DAYS),
                             min_value=today(), max_value=max_end, format="DD/MM/YYYY", key="new_grant_ends")
        submitted = st.form_submit_button(tr(TEXT, "grant"), type="primary")
    if submitted:
        grantee = email.strip().lower()
        try:
            records.create_grant(ctx.principal, ctx.authority, grantee, actions, ends)
        except records.GrantError as exc:
            st.error(error_text(exc))
            return
        st.session_state[_FLASH] = tr(TEXT, "granted", email=grantee, date=fmt_date(ends))
        st.rerun()


def _edit_form(ctx: PageContext, editable: list[records.Grant], holdable: list[Action], max_end) -> None:
    st.subheader(tr(TEXT, "edit"))
    by_id = {g.id: g for g in editable}
    grant_id = st.selectbox(tr(TEXT, "choose"), list(by_id), key="edit_grant_choice",
                            format_func=lambda i: by_id[i].grantee + ("" if by_id[i].active else
                                                                       f" — {tr(TEXT, 'status_expired_editable')}"))
    grant = by_id[grant_id]
    with st.form(f"edit_grant_{grant.id}"):
        # Offer what the grant holds as well, so a grant made by someone holding more is shown truthfully.
        options = [a for a in DELEGABLE if a in holdable or a in grant.actions]
        actions = st.multiselect(tr(TEXT, "actions"), options, default=[a for a in options if a in grant.actions],
                                 format_func=action_label, key=f"edit_actions_{grant.id}")
        ends = st.date_input(tr(TEXT, "ends"), value=min(max(grant.expires_on, today()), max_end),
                             min_value=today(), max_value=max_end, format="DD/MM/YYYY", key=f"edit_ends_{grant.id}")
        save = st.form_submit_button(tr(TEXT, "save"))
        revoke = st.form_submit_button(tr(TEXT, "revoke"))
    try:
        if revoke:
            records.revoke_grant(ctx.principal, grant.id)
            st.session_state[_FLASH] = tr(TEXT, "revoked", email=grant.grantee)
        elif save:
            records.update_grant(ctx.principal, grant.id, actions, ends)
            st.session_state[_FLASH] = tr(TEXT, "changed", email=grant.grantee)
        else:
            return
    except records.GrantError as exc:
        st.error(error_text(exc))
        return
    st.rerun()


def render(ctx: PageContext) -> None:
    if not ctx.authority or not ctx.allowed(Action.DELEGATE):
        raise PermissionError("delegation needs the delegate action in an open authority")
    st.title(tr(TEXT, "title"))
    st.caption(tr(TEXT, "intro", authority=ctx.authority_name or ctx.authority))
    ctx.record_view("delegation")
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash)

    holdable = [a for a in DELEGABLE if ctx.allowed(a)]
    max_end = today() + timedelta(days=records.MAX_GRANT_DAYS)
    grants = records.grants_of_authority(ctx.authority)
    current = [g for g in grants if g.active]
    past = [g for g in grants if not g.active]

    st.subheader(tr(TEXT, "current"))
    if current:
        W.grid(_grant_rows(current, past=False))
    else:
        st.info(tr(TEXT, "none"))
    _new_grant_form(ctx, holdable, max_end)
    editable = [g for g in grants if g.revoked_at is None]
    if editable:
        _edit_form(ctx, editable, holdable, max_end)
    if past:
        with st.expander(tr(TEXT, "past")):
            W.grid(_grant_rows(past, past=True))
