"""Access request (Form A): the blank form and its instructions, the online request with the signed PDF,
and the requester's own requests — their state, the ministry's feedback, history and Form B.

The rules (who may move a request where, what a complete form is) live in auth.requests; this page
only offers what `moves_for` allows and shows the reasons auth.requests gives for a refusal.
"""
from __future__ import annotations

import math
from functools import lru_cache

import streamlit as st

from auth import formb, forms
from auth import requests as req_rules
from auth.permissions import Action
from auth.principal import load_principal
from auth.requests import (APPOINTEE_PARTS, PEOPLE, PERSON_PARTS, STATE_NAMES, AccessRequest, FormErrors,
                           RequestError, State)
from auth.uploads import UploadError
from common import notify
from common.config import settings
from common.i18n import fmt_datetime, tr
from pages.context import PageContext
from pages.request_queue import table
from queries import Scope, run

TEXT = {
    "title": {"he": "בקשת גישה למצבה (טופס א')", "en": "Access request (Form A)"},
    "intro": {"he": "רשות מקומית מבקשת גישה למצבת התלמידים שלה בשני חלקים: טופס א' חתום (PDF) והבקשה המקוונת "
                    "שבעמוד זה, עם אותם פרטים. על כל שינוי במצב הבקשה תישלח הודעה.",
              "en": "A local authority asks for access to its census in two parts: the signed Form A (PDF) and the "
                    "online request on this page, with the same details. Every change of state is notified."},
    "blank": {"he": "הורדת טופס א' ריק (PDF)", "en": "Download the blank Form A (PDF)"},
    "instructions": {"he": "הורדת הוראות המילוי (PDF)", "en": "Download the filling instructions (PDF)"},
    "read_instructions": {"he": "הוראות המילוי", "en": "Filling instructions"},
    "mine": {"he": "הבקשות שלי", "en": "My requests"},
    "none": {"he": "עדיין לא הגשת בקשה.", "en": "You have not filed a request yet."},
    "request": {"he": "בקשה {id} — {authority} — {state}", "en": "Request {id} — {authority} — {state}"},
    "updated": {"he": "עודכנה לאחרונה: {at}", "en": "Last updated: {at}"},
    "feedback": {"he": "הערות משרד החינוך: {feedback}", "en": "The ministry's feedback: {feedback}"},
    "named": {"he": "צוינת בבקשה זו כמנהל/ת המצבה המוצע/ת.", "en": "You are named in this request as roster manager."},
    "history": {"he": "היסטוריה", "en": "History"},
    "col_at": {"he": "מתי", "en": "When"},
    "col_actor": {"he": "מי", "en": "Who"},
    "col_from": {"he": "ממצב", "en": "From"},
    "col_to": {"he": "למצב", "en": "To"},
    "col_note": {"he": "הערה", "en": "Note"},
    "form_b": {"he": "הורדת טופס ב' (החלטת הוועדה)", "en": "Download Form B (the committee's decision)"},
    "new": {"he": "בקשה חדשה", "en": "New request"},
    "edit": {"he": "עריכת בקשה {id}", "en": "Edit request {id}"},
    "no_snapshot": {"he": "רשימת הרשויות עדיין לא זמינה (לא פורסמה תמונת מצב); אפשר להגיש בקשה כשתפורסם.",
                    "en": "The list of authorities is not available yet (no snapshot published); try again later."},
    "authority": {"he": "הרשות", "en": "Authority"},
    "signed_pdf": {"he": "טופס א' חתום וסרוק (PDF, עד {mb} MB)", "en": "Signed, scanned Form A (PDF, up to {mb} MB)"},
    "attached": {"he": "מצורף: {name}", "en": "Attached: {name}"},
    "save": {"he": "שמירת טיוטה", "en": "Save draft"},
    "submit": {"he": "הגשה", "en": "Submit"},
    "resubmit": {"he": "הגשה מחדש", "en": "Resubmit"},
    "saved": {"he": "בקשה {id} נשמרה.", "en": "Request {id} saved."},
    "submitted": {"he": "בקשה {id} הוגשה למשרד החינוך.", "en": "Request {id} was submitted to the ministry."},
    "purpose_help": {"he": "לשם מה הרשות זקוקה למצבה, במשפט אחד לפחות.",
                     "en": "What the authority needs the census for, in at least one sentence."},
}
_FLASH = "access_request_flash"
_ROUNDS = "access_request_rounds"
_PROBLEMS = "access_request_problems"


@lru_cache(maxsize=1)
def _blank_form() -> bytes:
    return forms.blank_form_a()


@lru_cache(maxsize=1)
def _instructions() -> bytes:
    return forms.instructions_pdf()


def _round(name: str) -> int:
    return st.session_state.get(_ROUNDS, {}).get(name, 0)


def _next_round(name: str) -> None:
    rounds = st.session_state.setdefault(_ROUNDS, {})
    rounds[name] = rounds.get(name, 0) + 1


def _tag(req: AccessRequest | None) -> str:
    """Widget keys of one form: the request's id, or 'new' (then 'new1', 'new2' ... after each save)."""
    return str(req.id) if req else f"new{_round('new') or ''}"


def _authorities(ctx: PageContext) -> dict[str, str]:
    """code -> name, in Hebrew order, from the reference statement (every signed-in person may read it)."""
    if ctx.snapshot is None:
        return {}
    df = run("authorities", Scope(snapshot=ctx.snapshot, authority=None))
    return {code: name for code, name in df.select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows()}


def _form_b_builder(email: str, request_id: int):
    """Built when clicked, for whoever is signed in then (permissions read again, download audited)."""
    def build() -> bytes:
        return formb.form_b_bytes(load_principal(email), request_id)
    return build


def _history(request_id: int) -> None:
    st.caption(tr(TEXT, "history"))
    rows = [{tr(TEXT, "col_at"): fmt_datetime(e.at), tr(TEXT, "col_actor"): e.actor,
             tr(TEXT, "col_from"): tr(STATE_NAMES, e.source) if e.source else "",
             tr(TEXT, "col_to"): tr(STATE_NAMES, e.target), tr(TEXT, "col_note"): e.note}
            for e in req_rules.history(request_id)]
    table(rows)


def _show_request(ctx: PageContext, req: AccessRequest) -> None:
    st.caption(tr(TEXT, "updated", at=fmt_datetime(req.updated_at)))
    if req.state == State.RETURNED and req.feedback:
        st.warning(tr(TEXT, "feedback", feedback=req.feedback))
    if req.appointee == ctx.principal.email.lower() and req.requester != req.appointee:
        st.info(tr(TEXT, "named"))
    _history(req.id)
    if req.state in req_rules.DECIDED:
        st.download_button(tr(TEXT, "form_b"), data=_form_b_builder(ctx.principal.email, req.id),
                           file_name=formb.file_name(req), mime="application/pdf", on_click="ignore",
                           key=f"form_b_{req.id}", icon=":material/download:")


def _form(ctx: PageContext, authorities: dict[str, str], req: AccessRequest | None) -> None:
    """The online Form A: a new request (req None) or the requester's draft / returned request."""
    tag = _tag(req)
    values = req.form if req else {}
    codes = list(authorities)
    limit_mb = settings().upload_max_bytes / 1048576
    with st.form(f"form_a_{tag}"):
        current = values.get("authority")
        authority = st.selectbox(tr(req_rules.SECTION_NAMES, "authority"), codes,
                                 index=codes.index(current) if current in codes else None,
                                 format_func=lambda c: f"{authorities[c]} ({c})", key=f"req_{tag}_authority",
                                 placeholder=tr(TEXT, "authority"))
        entered = {"authority": authority or ""}
        for section, parts in [(p, PERSON_PARTS) for p in PEOPLE] + [("appointee", APPOINTEE_PARTS)]:
            st.markdown(f"**{tr(req_rules.SECTION_NAMES, section)}**")
            columns = st.columns(len(parts))
            for column, part in zip(columns, parts):
                key = f"{section}_{part}"
                entered[key] = column.text_input(tr(req_rules.PART_NAMES, part), value=values.get(key, ""),
                                                 key=f"req_{tag}_{key}", max_chars=req_rules.DEFAULT_MAX_LENGTH)
        entered["purpose"] = st.text_area(tr(req_rules.SECTION_NAMES, "purpose"), value=values.get("purpose", ""),
                                          key=f"req_{tag}_purpose", help=tr(TEXT, "purpose_help"),
                                          max_chars=req_rules.MAX_LENGTH["purpose"])
        upload = st.file_uploader(tr(TEXT, "signed_pdf", mb=f"{limit_mb:g}"), type=["pdf"], key=f"req_{tag}_pdf{_round(f'{tag}_pdf') or ''}",
                                  max_upload_size=math.ceil(limit_mb))    # the widget's own note says the same limit
        if req and req.signed_pdf_name:
            st.caption(tr(TEXT, "attached", name=req.signed_pdf_name))
        left, right = st.columns(2)
        save = left.form_submit_button(tr(TEXT, "save"))
        send = right.form_submit_button(tr(TEXT, "resubmit" if req and req.state == State.RETURNED else "submit"),
                                        type="primary")
    if save or send:
        _save_and_maybe_submit(ctx, authorities, req, entered, upload, send)


def _save_and_maybe_submit(ctx, authorities, req, entered, upload, send: bool) -> None:
    request_id = req.id if req else None
    try:
        if req is None:
            request_id = req_rules.create_draft(ctx.principal, entered, authorities)
        else:
            req_rules.save_form(ctx.principal, request_id, entered, authorities)
        if upload is not None:
            req_rules.attach_signed_pdf(ctx.principal, request_id, upload.getvalue(), upload.name)
        if send:
            req_rules.submit(ctx.principal, request_id, authorities)
    except (RequestError, UploadError) as exc:
        problems = [e.text() for e in exc.errors] if isinstance(exc, FormErrors) else [exc.text()]
        if req is None and request_id is not None:
            # The draft exists now: show it, with its own form, and what stopped the rest.
            _next_round("new")
            st.session_state[_PROBLEMS] = problems
            st.rerun()
        for problem in problems:
            st.error(problem)
        return
    notify.ensure_worker()
    # A saved form starts afresh: the new-request form empties and no upload is attached twice. The
    # browser keeps a widget's value for as long as its key lives, so the keys change.
    _next_round("new" if req is None else f"{req.id}_pdf")
    st.session_state[_FLASH] = tr(TEXT, "submitted" if send else "saved", id=request_id)
    st.rerun()


def render(ctx: PageContext) -> None:
    if not ctx.allowed(Action.FILE_REQUEST):
        raise PermissionError("filing access requests is not allowed")
    notify.ensure_worker()
    st.title(tr(TEXT, "title"))
    st.caption(tr(TEXT, "intro"))
    ctx.record_view("access_request")
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash)
    for problem in st.session_state.pop(_PROBLEMS, []):
        st.error(problem)

    left, right = st.columns(2)
    left.download_button(tr(TEXT, "blank"), data=_blank_form(), file_name="form-a-blank.pdf", mime="application/pdf",
                         on_click="ignore", key="blank_form_a", icon=":material/description:")
    right.download_button(tr(TEXT, "instructions"), data=_instructions(), file_name="form-a-instructions.pdf",
                          mime="application/pdf", on_click="ignore", key="form_a_instructions",
                          icon=":material/help:")
    with st.expander(tr(TEXT, "read_instructions")):
        st.markdown(forms.instructions_text())

    authorities = _authorities(ctx)
    mine = req_rules.requests_of(ctx.principal.email)
    st.subheader(tr(TEXT, "mine"))
    if not mine:
        st.info(tr(TEXT, "none"))
    for index, req in enumerate(mine):
        title = tr(TEXT, "request", id=req.id, authority=f"{req.authority_name} ({req.authority})",
                   state=tr(STATE_NAMES, req.state))
        editable = req.state in req_rules.EDITABLE and req.requester == ctx.principal.email.lower()
        # The newest request, and any waiting for the requester, open; older ones folded.
        with st.expander(title, expanded=index == 0 or editable):
            _show_request(ctx, req)
            if editable:
                st.markdown(f"#### {tr(TEXT, 'edit', id=req.id)}")
                # The request's own authority stays choosable even without a published list.
                _form(ctx, {req.authority: req.authority_name, **authorities}, req)

    st.subheader(tr(TEXT, "new"))
    if not authorities:
        st.warning(tr(TEXT, "no_snapshot"))
        return
    _form(ctx, authorities, None)
