"""The ministry's queue of access requests: each request's Form A, signed PDF and history, the moves the
state machine allows (return with feedback, forward to the committee, record the committee's decision,
revoke), and the notifications that could not be sent.

Which moves are offered comes from auth.requests.moves_for, so a state can never be skipped from here.
"""
from __future__ import annotations

import streamlit as st

from auth import audit, formb
from auth import requests as req_rules
from auth.permissions import Action
from auth.principal import load_principal
from auth.requests import STATE_NAMES, AccessRequest, RequestError, State
from common import notify
from common.clock import today
from common.i18n import fmt_datetime, tr
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "תור בקשות הגישה", "en": "Access request queue"},
    "intro": {"he": "בקשות רשויות לגישה למצבה (טופס א'). כל שינוי נרשם ביומן ונשלחת עליו הודעה לרשות.",
              "en": "Authorities' requests for census access (Form A). Every change is logged and notified."},
    "show": {"he": "הצגה", "en": "Show"},
    "awaiting": {"he": "ממתינות לטיפול המשרד", "en": "Awaiting the ministry"},
    "all": {"he": "כל הבקשות", "en": "All requests"},
    "empty": {"he": "אין בקשות להצגה.", "en": "No requests to show."},
    "col_id": {"he": "מספר", "en": "No."},
    "col_authority": {"he": "רשות", "en": "Authority"},
    "col_state": {"he": "מצב", "en": "State"},
    "col_requester": {"he": "מגיש/ה", "en": "Requester"},
    "col_updated": {"he": "עודכנה", "en": "Updated"},
    "choose": {"he": "בקשה לטיפול", "en": "Request to work on"},
    "details": {"he": "פרטי טופס א'", "en": "Form A details"},
    "col_field": {"he": "שדה", "en": "Field"},
    "col_value": {"he": "ערך", "en": "Value"},
    "signed_pdf": {"he": "הורדת טופס א' החתום", "en": "Download the signed Form A"},
    "no_pdf": {"he": "לא צורף טופס חתום.", "en": "No signed form attached."},
    "history": {"he": "היסטוריית הבקשה", "en": "Request history"},
    "col_at": {"he": "מתי", "en": "When"},
    "col_actor": {"he": "מי", "en": "Who"},
    "col_from": {"he": "ממצב", "en": "From"},
    "col_to": {"he": "למצב", "en": "To"},
    "col_note": {"he": "הערה", "en": "Note"},
    "actions": {"he": "פעולות", "en": "Actions"},
    "no_actions": {"he": "אין פעולה של המשרד במצב זה.", "en": "The ministry has no move in this state."},
    "feedback": {"he": "הערות לרשות (מה לתקן)", "en": "Feedback to the authority (what to correct)"},
    "return": {"he": "החזרה לרשות לתיקון", "en": "Return for changes"},
    "forward_note": {"he": "הערה פנימית (לא חובה)", "en": "Internal note (optional)"},
    "forward": {"he": "העברה לוועדה", "en": "Forward to the committee"},
    "decision": {"he": "רישום החלטת הוועדה", "en": "Record the committee's decision"},
    "outcome": {"he": "ההחלטה", "en": "Decision"},
    "decided_on": {"he": "תאריך ההחלטה", "en": "Decision date"},
    "committee_ref": {"he": "מספר ההחלטה", "en": "Committee reference"},
    "notes": {"he": "הערות הוועדה", "en": "Committee notes"},
    "record": {"he": "רישום ההחלטה", "en": "Record the decision"},
    "reason": {"he": "סיבת הביטול", "en": "Reason for revoking"},
    "revoke": {"he": "ביטול הגישה", "en": "Revoke access"},
    "form_b": {"he": "הורדת טופס ב'", "en": "Download Form B"},
    "moved": {"he": "בקשה {id} עברה למצב \"{state}\".", "en": "Request {id} is now {state}."},
    "sends": {"he": "הודעות שלא נשלחו", "en": "Notifications not sent"},
    "sends_none": {"he": "כל ההודעות נשלחו.", "en": "Every notification was sent."},
    "col_channel": {"he": "ערוץ", "en": "Channel"},
    "col_to_whom": {"he": "נמען", "en": "Recipient"},
    "col_subject": {"he": "נושא", "en": "Subject"},
    "col_status": {"he": "מצב", "en": "Status"},
    "col_attempts": {"he": "ניסיונות", "en": "Attempts"},
    "col_error": {"he": "שגיאה אחרונה", "en": "Last error"},
    "failed": {"he": "נכשלה", "en": "failed"},
    "retrying": {"he": "בניסיון חוזר", "en": "retrying"},
    "retry_choose": {"he": "הודעה לשליחה חוזרת", "en": "Message to send again"},
    "retry": {"he": "שליחה חוזרת", "en": "Send again"},
    "retried": {"he": "ההודעה תישלח שוב.", "en": "The message will be sent again."},
}
CHANNELS = {"email": {"he": "דוא\"ל", "en": "E-mail"}, "sms": {"he": "מסרון", "en": "SMS"}}
_FLASH = "request_queue_flash"


def table(rows: list[dict]) -> None:
    W.grid(rows)


def _signed_pdf_builder(email: str, request_id: int):
    def build() -> bytes:
        return req_rules.signed_pdf_bytes(load_principal(email), request_id)
    return build


def _form_b_builder(email: str, request_id: int):
    def build() -> bytes:
        return formb.form_b_bytes(load_principal(email), request_id)
    return build


def _queue_table(requests: list[AccessRequest]) -> None:
    table([{tr(TEXT, "col_id"): r.id, tr(TEXT, "col_authority"): f"{r.authority_name} ({r.authority})",
            tr(TEXT, "col_state"): tr(STATE_NAMES, r.state), tr(TEXT, "col_requester"): r.requester,
            tr(TEXT, "col_updated"): fmt_datetime(r.updated_at)} for r in requests])


def _details(ctx: PageContext, req: AccessRequest) -> None:
    st.markdown(f"#### {tr(TEXT, 'details')}")
    rows = [{tr(TEXT, "col_field"): req_rules.field_label(f), tr(TEXT, "col_value"): req.form.get(f, "")}
            for f in req_rules.FORM_FIELDS]
    rows[0][tr(TEXT, "col_value")] = f"{req.authority_name} ({req.authority})"
    table(rows)
    if req.signed_pdf:
        st.download_button(tr(TEXT, "signed_pdf"), data=_signed_pdf_builder(ctx.principal.email, req.id),
                           file_name=f"form-a-request-{req.id}-{req.authority}.pdf", mime="application/pdf",
                           on_click="ignore", key=f"signed_{req.id}", icon=":material/download:")
    else:
        st.caption(tr(TEXT, "no_pdf"))
    st.markdown(f"#### {tr(TEXT, 'history')}")
    table([{tr(TEXT, "col_at"): fmt_datetime(e.at), tr(TEXT, "col_actor"): e.actor,
            tr(TEXT, "col_from"): tr(STATE_NAMES, e.source) if e.source else "",
            tr(TEXT, "col_to"): tr(STATE_NAMES, e.target), tr(TEXT, "col_note"): e.note}
           for e in req_rules.history(req.id)])
    if req.state in req_rules.DECIDED:
        st.download_button(tr(TEXT, "form_b"), data=_form_b_builder(ctx.principal.email, req.id),
                           file_name=formb.file_name(req), mime="application/pdf", on_click="ignore",
                           key=f"form_b_{req.id}", icon=":material/download:")


def _done(req: AccessRequest, state: State) -> None:
    notify.ensure_worker()
    st.session_state[_FLASH] = tr(TEXT, "moved", id=req.id, state=tr(STATE_NAMES, state))
    st.rerun()


def _actions(ctx: PageContext, req: AccessRequest) -> None:
    st.markdown(f"#### {tr(TEXT, 'actions')}")
    targets = {t.target for t in req_rules.moves_for(ctx.principal, req)}
    if not targets:
        st.caption(tr(TEXT, "no_actions"))
        return
    try:
        if State.FORWARDED in targets:
            with st.form(f"forward_{req.id}"):
                note = st.text_input(tr(TEXT, "forward_note"), key=f"forward_note_{req.id}")
                if st.form_submit_button(tr(TEXT, "forward"), type="primary"):
                    req_rules.forward(ctx.principal, req.id, note)
                    _done(req, State.FORWARDED)
        if State.RETURNED in targets:
            with st.form(f"return_{req.id}"):
                feedback = st.text_area(tr(TEXT, "feedback"), key=f"feedback_{req.id}")
                if st.form_submit_button(tr(TEXT, "return")):
                    req_rules.return_to_requester(ctx.principal, req.id, feedback)
                    _done(req, State.RETURNED)
        if targets & {State.APPROVED, State.REJECTED}:
            with st.form(f"decision_{req.id}"):
                st.markdown(f"**{tr(TEXT, 'decision')}**")
                outcome = st.radio(tr(TEXT, "outcome"), [State.APPROVED, State.REJECTED], horizontal=True,
                                   format_func=lambda s: tr(STATE_NAMES, s), key=f"outcome_{req.id}")
                decided_on = st.date_input(tr(TEXT, "decided_on"), value=today(), max_value=today(),
                                           format="DD/MM/YYYY", key=f"decided_on_{req.id}")
                ref = st.text_input(tr(TEXT, "committee_ref"), key=f"committee_ref_{req.id}")
                notes = st.text_area(tr(TEXT, "notes"), key=f"notes_{req.id}")
                if st.form_submit_button(tr(TEXT, "record"), type="primary"):
                    req_rules.record_decision(ctx.principal, req.id, outcome, decided_on, ref, notes)
                    _done(req, State(outcome))
        if State.REVOKED in targets:
            with st.form(f"revoke_{req.id}"):
                reason = st.text_area(tr(TEXT, "reason"), key=f"reason_{req.id}")
                if st.form_submit_button(tr(TEXT, "revoke")):
                    req_rules.revoke(ctx.principal, req.id, reason)
                    _done(req, State.REVOKED)
    except RequestError as exc:
        st.error(exc.text())


def _failed_sends(ctx: PageContext) -> None:
    st.subheader(tr(TEXT, "sends"))
    items = notify.problem_sends()
    if not items:
        st.caption(tr(TEXT, "sends_none"))
        return
    table([{tr(TEXT, "col_channel"): tr(CHANNELS, i.channel), tr(TEXT, "col_to_whom"): i.recipient,
            tr(TEXT, "col_subject"): i.subject or i.topic,
            tr(TEXT, "col_status"): tr(TEXT, "failed" if i.status == "failed" else "retrying"),
            tr(TEXT, "col_attempts"): i.attempts, tr(TEXT, "col_error"): i.last_error or "",
            tr(TEXT, "col_updated"): fmt_datetime(i.failed_at or i.created_at)} for i in items])
    failed = {i.id: i for i in items if i.status == "failed"}
    if failed:
        chosen = st.selectbox(tr(TEXT, "retry_choose"), list(failed), key="retry_choice",
                              format_func=lambda i: f"#{i} {tr(CHANNELS, failed[i].channel)} → {failed[i].recipient}")
        if st.button(tr(TEXT, "retry"), key="retry_send"):
            audit.record("notification_retry", actor=ctx.principal.email,
                         details={"outbox_id": chosen, "channel": failed[chosen].channel,
                                  "recipient": failed[chosen].recipient})
            notify.retry(chosen)
            notify.ensure_worker()
            st.session_state[_FLASH] = tr(TEXT, "retried")
            st.rerun()


def render(ctx: PageContext) -> None:
    if not ctx.allowed(Action.REVIEW_REQUESTS):
        raise PermissionError("the request queue is for ministry staff")
    notify.ensure_worker()
    st.title(tr(TEXT, "title"))
    st.caption(tr(TEXT, "intro"))
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash)
    show = st.radio(tr(TEXT, "show"), ["awaiting", "all"], format_func=lambda k: tr(TEXT, k), horizontal=True,
                    key="queue_show")
    ctx.record_view("request_queue", {"show": show})
    requests = req_rules.queue(req_rules.AWAITING_MINISTRY if show == "awaiting" else None)
    if not requests:
        st.info(tr(TEXT, "empty"))
    else:
        _queue_table(requests)
        by_id = {r.id: r for r in requests}
        chosen = st.selectbox(tr(TEXT, "choose"), list(by_id), key="queue_choice",
                              format_func=lambda i: tr(TEXT, "col_id") + f" {i} — {by_id[i].authority_name} — "
                                                    + tr(STATE_NAMES, by_id[i].state))
        req = req_rules.get_request(chosen)       # fresh: another reviewer may have moved it
        _details(ctx, req)
        _actions(ctx, req)
    _failed_sends(ctx)
