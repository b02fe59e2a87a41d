"""Inbox: the portal's messages to the signed-in person (request state changes and the like), newest
first, with the unread count in the title. Only ever the person's own messages."""
from __future__ import annotations

import re

import streamlit as st

from common import notify
from common.i18n import fmt_datetime, tr
from pages.context import PageContext

TEXT = {
    "title": {"he": "הודעות", "en": "Inbox"},
    "title_unread": {"he": "הודעות ({count} שלא נקראו)", "en": "Inbox ({count} unread)"},
    "empty": {"he": "אין הודעות.", "en": "No messages."},
    "mark_all": {"he": "סימון הכול כנקרא", "en": "Mark all as read"},
    "mark": {"he": "סימון כנקרא", "en": "Mark as read"},
    "new": {"he": "חדשה", "en": "new"},
}


def _plain(text: str) -> str:
    """Message text shown as written: Markdown characters escaped, line breaks kept."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text).replace("\n", "  \n")


def title(email: str, lang: str | None = None) -> str:
    """The inbox title with the unread count, e.g. 'הודעות (2 שלא נקראו)'."""
    count = notify.unread_count(email)
    return tr(TEXT, "title_unread", lang, count=count) if count else tr(TEXT, "title", lang)


def nav_title(ctx: PageContext) -> str:
    """The navigation shows the unread count on every page."""
    return title(ctx.principal.email, ctx.lang)


def render(ctx: PageContext) -> None:
    if not ctx.principal.email:
        raise PermissionError("the inbox is for signed-in people")
    notify.ensure_worker()
    email = ctx.principal.email
    st.title(title(email))
    messages = notify.inbox(email)
    if not messages:
        st.info(tr(TEXT, "empty"))
        return
    if any(m.read_at is None for m in messages) and st.button(tr(TEXT, "mark_all"), key="inbox_mark_all"):
        notify.mark_read(email)
        st.rerun()
    for m in messages:
        unread = m.read_at is None
        label = f"{'● ' if unread else ''}{m.subject(ctx.lang)} · {fmt_datetime(m.created_at)}"
        with st.expander(label, expanded=unread):
            if unread:
                st.caption(tr(TEXT, "new"))
            st.markdown(_plain(m.body(ctx.lang)))
            if unread and st.button(tr(TEXT, "mark"), key=f"inbox_mark_{m.id}"):
                notify.mark_read(email, [m.id])
                st.rerun()
