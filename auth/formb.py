"""Form B: the committee's decision on an access request, as a Hebrew PDF the authority downloads.

Built from the records (the request and the recorded decision) whenever it is asked for, with the
decision's recording time as the PDF's creation date, so the same decision always gives the same
document. Downloads are audited (`form_b_download`) before the bytes are handed out.
"""
from __future__ import annotations

from datetime import datetime

from auth import audit
from auth.forms import HebrewPDF
from auth.permissions import Principal
from auth.requests import (DECIDED, AccessRequest, Decision, RequestError, State, can_view, decision_of,
                           get_request, history)
from common.i18n import fmt_date, fmt_datetime

TITLE = "טופס ב' — החלטת הוועדה בבקשת גישה למצבת התלמידים"
OUTCOME = {State.APPROVED: "הבקשה אושרה", State.REJECTED: "הבקשה נדחתה"}
PEOPLE = (("db_manager", "מנהל/ת מאגר המידע"), ("security", "הממונה על אבטחת המידע"), ("legal", "היועץ/ת המשפטי/ת"))


def file_name(req: AccessRequest) -> str:
    return f"form-b-request-{req.id}-{req.authority}.pdf"


def render(req: AccessRequest, decision: Decision) -> bytes:
    """The PDF of one decision."""
    form = req.form
    pdf = HebrewPDF(TITLE, f"טופס ב' · בקשה {req.id} · משרד החינוך · מפקד",
                    created=datetime.fromisoformat(decision.recorded_at))
    pdf.add_page()
    pdf.title_block(TITLE, "משרד החינוך · פורטל מצבת התלמידים \"מפקד\"")
    pdf.field("מספר הבקשה", str(req.id))
    pdf.field("הרשות", f"{req.authority_name} (סמל {req.authority})")
    submitted = next((e.at for e in history(req.id) if e.target == State.SUBMITTED), req.created_at)
    pdf.field("תאריך ההגשה", fmt_date(submitted))
    pdf.heading("החלטת הוועדה")
    pdf.field("ההחלטה", OUTCOME[decision.outcome])
    pdf.field("תאריך ההחלטה", fmt_date(decision.decided_on))
    pdf.field("מספר החלטה", decision.committee_ref)
    pdf.field("הערות הוועדה", decision.notes)
    if decision.outcome == State.APPROVED:
        pdf.heading("מנהל/ת מצבת התלמידים שמונה/תה")
        pdf.field("שם", form.get("appointee_name", ""))
        pdf.field("דואר אלקטרוני", form.get("appointee_email", ""))
        pdf.field("טלפון", form.get("appointee_phone", ""))
        pdf.para("עם האישור נפתחה לרשות הגישה למצבת התלמידים שלה בפורטל. השימוש במידע מותר רק למטרה שצוינה בבקשה.")
    pdf.heading("בעלי התפקידים ברשות (לפי טופס א')")
    for key, label in PEOPLE:
        pdf.field(label, f"{form.get(key + '_name', '')}, {form.get(key + '_role', '')}")
    pdf.field("מטרת השימוש", form.get("purpose", ""))
    if req.state == State.REVOKED:
        revoked = next((e for e in reversed(history(req.id)) if e.target == State.REVOKED), None)
        pdf.heading("ביטול הגישה")
        if revoked:
            pdf.field("תאריך הביטול", fmt_date(revoked.at))
            pdf.field("הסיבה", revoked.note)
    pdf.ln(4)
    pdf.set_text_color(90)
    pdf.para(f"נרשם בפורטל על ידי {decision.recorded_by} ב-{fmt_datetime(decision.recorded_at)}.", size=9)
    pdf.set_text_color(0)
    return bytes(pdf.output())


def form_b_bytes(principal: Principal, request_id: int) -> bytes:
    """Form B for someone who may see the request; audited before the document is handed out."""
    req = get_request(request_id)
    if not can_view(principal, req):
        raise PermissionError("this request is not yours to see")
    decision = decision_of(request_id)
    if req.state not in DECIDED or decision is None:
        raise RequestError("not_decided", request_id=request_id)
    audit.record("form_b_download", actor=principal.email, authority=req.authority,
                 details={"request_id": request_id, "outcome": str(decision.outcome)})
    return render(req, decision)
