"""Access requests (Form A) and their life: a state machine kept as data, and the records of each change.

    draft → submitted → returned → resubmitted → forwarded → approved | rejected;  approved → revoked

`TRANSITIONS` is the whole machine: which state may follow which, and which party may make the move
(the requester, or ministry staff). Nothing else moves a request, so no state can be skipped. Every
move is audited (`request_state`) before it takes effect, written to `request_events` with who and
when, and notified to the people concerned. An approval opens the authority's access and appoints the
named roster manager; a rejection or a revocation closes the access (with its delegations and powers
of attorney).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from auth import audit
from auth.permissions import Action, Principal, allowed
from common import portal_db
from common.clock import now_iso, today
from common.i18n import fmt_date, tr


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    RESUBMITTED = "resubmitted"
    FORWARDED = "forwarded"          # to the committee
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class Party(StrEnum):
    REQUESTER = "requester"          # the person who filed the request
    MINISTRY = "ministry"            # ministry staff (Action.REVIEW_REQUESTS)


@dataclass(frozen=True)
class Transition:
    source: State
    target: State
    by: Party
    note_required: bool = False      # the ministry's feedback, or the reason for a revocation


TRANSITIONS: tuple[Transition, ...] = (
    Transition(State.DRAFT, State.SUBMITTED, Party.REQUESTER),
    Transition(State.SUBMITTED, State.RETURNED, Party.MINISTRY, note_required=True),
    Transition(State.SUBMITTED, State.FORWARDED, Party.MINISTRY),
    Transition(State.RETURNED, State.RESUBMITTED, Party.REQUESTER),
    Transition(State.RESUBMITTED, State.RETURNED, Party.MINISTRY, note_required=True),
    Transition(State.RESUBMITTED, State.FORWARDED, Party.MINISTRY),
    Transition(State.FORWARDED, State.APPROVED, Party.MINISTRY),
    Transition(State.FORWARDED, State.REJECTED, Party.MINISTRY),
    Transition(State.APPROVED, State.REVOKED, Party.MINISTRY, note_required=True),
)
EDITABLE = frozenset({State.DRAFT, State.RETURNED})                    # the requester may change the form
IN_PROGRESS = frozenset({State.SUBMITTED, State.RETURNED, State.RESUBMITTED, State.FORWARDED})
AWAITING_MINISTRY = frozenset({State.SUBMITTED, State.RESUBMITTED, State.FORWARDED})
DECIDED = frozenset({State.APPROVED, State.REJECTED, State.REVOKED})   # Form B exists

STATE_NAMES = {
    State.DRAFT: {"he": "טיוטה", "en": "Draft"},
    State.SUBMITTED: {"he": "הוגשה", "en": "Submitted"},
    State.RETURNED: {"he": "הוחזרה לתיקון", "en": "Returned for changes"},
    State.RESUBMITTED: {"he": "הוגשה מחדש", "en": "Resubmitted"},
    State.FORWARDED: {"he": "הועברה לוועדה", "en": "Forwarded to the committee"},
    State.APPROVED: {"he": "אושרה", "en": "Approved"},
    State.REJECTED: {"he": "נדחתה", "en": "Rejected"},
    State.REVOKED: {"he": "הגישה בוטלה", "en": "Access revoked"},
}


def transition(source: State | str, target: State | str) -> Transition | None:
    source, target = State(source), State(target)
    return next((t for t in TRANSITIONS if t.source == source and t.target == target), None)


# Form A, field by field. The printed form (auth/forms.py) and the online form follow this order.
PEOPLE = ("db_manager", "security", "legal")          # name, role, e-mail, phone each
PERSON_PARTS = ("name", "role", "email", "phone")
APPOINTEE_PARTS = ("name", "email", "phone")
FORM_FIELDS: tuple[str, ...] = (
    ("authority",)
    + tuple(f"{p}_{part}" for p in PEOPLE for part in PERSON_PARTS)
    + tuple(f"appointee_{part}" for part in APPOINTEE_PARTS)
    + ("purpose",)
)
SECTION_NAMES = {
    "authority": {"he": "הרשות המבקשת", "en": "The requesting authority"},
    "db_manager": {"he": "מנהל/ת מאגר המידע (בדרך כלל מנהל/ת אגף החינוך)",
                   "en": "Database manager (usually the head of the education department)"},
    "security": {"he": "הממונה על אבטחת המידע", "en": "Information-security manager"},
    "legal": {"he": "היועץ/ת המשפטי/ת", "en": "Legal adviser"},
    "appointee": {"he": "מנהל/ת המצבה המוצע/ת", "en": "The person to appoint as roster manager"},
    "purpose": {"he": "מטרת השימוש במידע", "en": "Purpose"},
}
PART_NAMES = {
    "name": {"he": "שם מלא", "en": "Full name"},
    "role": {"he": "תפקיד", "en": "Role"},
    "email": {"he": "דואר אלקטרוני", "en": "E-mail"},
    "phone": {"he": "טלפון", "en": "Phone"},
}
MAX_LENGTH = {"purpose": 2000}
DEFAULT_MAX_LENGTH = 120
MIN_PURPOSE = 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^0\d{8,9}$")         # Israeli numbers: 02-1234567, 050-1234567, 1-800 not accepted
_MOBILE = re.compile(r"^05\d{8}$")


def field_label(field: str, lang: str | None = None) -> str:
    """'Database manager — E-mail', in the reader's language: names the field in error messages."""
    if field in ("authority", "purpose"):
        return tr(SECTION_NAMES, field, lang)
    section, part = field.rsplit("_", 1)
    return f"{tr(SECTION_NAMES, section, lang)} — {tr(PART_NAMES, part, lang)}"


ERRORS = {
    "required": {"he": "{field}: שדה חובה.", "en": "{field}: required."},
    "too_long": {"he": "{field}: ארוך מ-{limit} תווים.", "en": "{field}: longer than {limit} characters."},
    "bad_email": {"he": "{field}: כתובת הדואר האלקטרוני אינה תקינה ({value}).",
                  "en": "{field}: not a valid e-mail address ({value})."},
    "bad_phone": {"he": "{field}: מספר הטלפון אינו תקין ({value}); יש לכתוב מספר ישראלי, למשל 03-1234567.",
                  "en": "{field}: not a valid phone number ({value}); write an Israeli number such as 03-1234567."},
    "not_mobile": {"he": "{field}: נדרש מספר טלפון נייד (05X), כדי לשלוח מסרונים ({value}).",
                   "en": "{field}: must be a mobile number (05X), to receive text messages ({value})."},
    "short_purpose": {"he": "{field}: יש לתאר את המטרה במשפט אחד לפחות ({minimum} תווים).",
                      "en": "{field}: describe the purpose in at least one sentence ({minimum} characters)."},
    "unknown_authority": {"he": "{field}: אין רשות שסמלה {value} ברשימת הרשויות.",
                          "en": "{field}: no authority with code {value} in the list of authorities."},
    "no_request": {"he": "אין בקשה מספר {request_id}.", "en": "There is no request number {request_id}."},
    "not_yours": {"he": "בקשה {request_id} אינה שלך.", "en": "Request {request_id} is not yours."},
    "not_editable": {"he": "בקשה {request_id} במצב \"{state}\" ואי אפשר לשנות אותה.",
                     "en": "Request {request_id} is {state} and cannot be changed."},
    "forbidden_transition": {"he": "בקשה {request_id}: אי אפשר לעבור מ\"{source}\" ל\"{target}\".",
                             "en": "Request {request_id}: cannot go from {source} to {target}."},
    "wrong_party": {"he": "בקשה {request_id}: רק {party} רשאי/ת להעביר ל\"{target}\".",
                    "en": "Request {request_id}: only {party} may move it to {target}."},
    "note_required": {"he": "בקשה {request_id}: יש לכתוב הסבר (הערות לרשות או סיבת הביטול).",
                      "en": "Request {request_id}: write an explanation (feedback to the authority or the reason)."},
    "no_signed_pdf": {"he": "בקשה {request_id}: יש לצרף את טופס א' החתום (PDF) לפני ההגשה.",
                      "en": "Request {request_id}: attach the signed Form A (PDF) before submitting."},
    "incomplete": {"he": "בקשה {request_id}: הטופס אינו שלם — {problems}",
                   "en": "Request {request_id}: the form is incomplete — {problems}"},
    "authority_busy": {"he": "לרשות {authority} כבר יש בקשה פעילה (מספר {other}); אפשר לעקוב אחריה בפורטל.",
                       "en": "Authority {authority} already has an active request (number {other})."},
    "authority_open": {"he": "לרשות {authority} כבר יש גישה פתוחה למצבה; לשינוי מנהל/ת המצבה יש לפנות למשרד החינוך.",
                       "en": "Authority {authority} already has access; to change its roster manager, contact the ministry."},
    "changed_meanwhile": {"he": "בקשה {request_id} השתנתה בינתיים (כעת: \"{state}\"). יש לרענן ולנסות שוב.",
                          "en": "Request {request_id} changed meanwhile (now {state}). Reload and try again."},
    "bad_outcome": {"he": "החלטת הוועדה חייבת להיות אישור או דחייה.", "en": "The decision must be approved or rejected."},
    "committee_ref": {"he": "יש לציין את מספר ההחלטה של הוועדה.", "en": "Give the committee's reference."},
    "future_decision": {"he": "תאריך ההחלטה ({value}) עוד לא הגיע.", "en": "The decision date ({value}) is in the future."},
    "not_decided": {"he": "בבקשה {request_id} עוד לא התקבלה החלטה, ולכן אין לה טופס ב'.",
                    "en": "Request {request_id} has no decision yet, so it has no Form B."},
}
PARTY_NAMES = {Party.REQUESTER: {"he": "מגיש/ת הבקשה", "en": "the requester"},
               Party.MINISTRY: {"he": "צוות משרד החינוך", "en": "ministry staff"}}


class RequestError(ValueError):
    """A refused change. str() is English; .text(lang) says it in the reader's language; `field`
    names the form field when one is at fault."""

    def __init__(self, code: str, field: str | None = None, **params):
        self.code, self.field, self.params = code, field, params
        super().__init__(self.text("en"))

    def text(self, lang: str | None = None) -> str:
        params = dict(self.params)
        if self.field:
            params["field"] = field_label(self.field, lang)
        for key in ("state", "source", "target"):
            if key in params:
                params[key] = tr(STATE_NAMES, State(params[key]), lang)
        if "party" in params:
            params["party"] = tr(PARTY_NAMES, Party(params["party"]), lang)
        if "problems" in params:
            params["problems"] = " ".join(e.text(lang) for e in params["problems"])
        return tr(ERRORS, self.code, lang, **params)


class FormErrors(RequestError):
    """Several field errors at once, so the requester sees every problem in one go."""

    def __init__(self, errors: list[RequestError]):
        self.errors = errors
        ValueError.__init__(self, " ".join(e.text("en") for e in errors))
        self.code, self.field, self.params = "incomplete", None, {"problems": errors, "request_id": ""}

    def text(self, lang: str | None = None) -> str:
        return " ".join(e.text(lang) for e in self.errors)


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class AccessRequest:
    id: int
    authority: str
    authority_name: str
    requester: str
    appointee: str
    state: State
    form: dict
    signed_pdf: str | None
    signed_pdf_name: str | None
    feedback: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Event:
    id: int
    request_id: int
    at: str
    actor: str
    source: State | None
    target: State
    note: str


@dataclass(frozen=True)
class Decision:
    request_id: int
    outcome: State               # APPROVED or REJECTED
    decided_on: date
    committee_ref: str
    notes: str
    recorded_by: str
    recorded_at: str


def _request_from_row(row) -> AccessRequest:
    return AccessRequest(id=row["id"], authority=row["authority"], authority_name=row["authority_name"],
                         requester=row["requester"], appointee=row["appointee"], state=State(row["state"]),
                         form=json.loads(row["form"]), signed_pdf=row["signed_pdf"],
                         signed_pdf_name=row["signed_pdf_name"], feedback=row["feedback"],
                         created_at=row["created_at"], updated_at=row["updated_at"])


def get_request(request_id: int) -> AccessRequest:
    con = portal_db.connect()
    try:
        row = con.execute("SELECT * FROM access_requests WHERE id = ?", (int(request_id),)).fetchone()
    finally:
        con.close()
    if row is None:
        raise RequestError("no_request", request_id=request_id)
    return _request_from_row(row)


def requests_of(email: str) -> list[AccessRequest]:
    """Requests this person filed or is named in as roster manager, newest first."""
    con = portal_db.connect()
    try:
        rows = con.execute("SELECT * FROM access_requests WHERE requester = ? OR appointee = ? ORDER BY id DESC",
                           (email.lower(), email.lower())).fetchall()
    finally:
        con.close()
    return [_request_from_row(r) for r in rows]


def queue(states=None) -> list[AccessRequest]:
    """The ministry's queue: requests in the given states (default: all but drafts), oldest change first."""
    wanted = sorted(State(s) for s in (states or set(State) - {State.DRAFT}))
    con = portal_db.connect()
    try:
        rows = con.execute(
            f"SELECT * FROM access_requests WHERE state IN ({','.join('?' * len(wanted))}) ORDER BY updated_at, id",
            wanted).fetchall()
    finally:
        con.close()
    return [_request_from_row(r) for r in rows]


def history(request_id: int) -> list[Event]:
    con = portal_db.connect()
    try:
        rows = con.execute("SELECT * FROM request_events WHERE request_id = ? ORDER BY id", (int(request_id),)).fetchall()
    finally:
        con.close()
    return [Event(id=r["id"], request_id=r["request_id"], at=r["at"], actor=r["actor"],
                  source=State(r["from_state"]) if r["from_state"] else None, target=State(r["to_state"]),
                  note=r["note"]) for r in rows]


def decision_of(request_id: int) -> Decision | None:
    con = portal_db.connect()
    try:
        row = con.execute("SELECT * FROM committee_decisions WHERE request_id = ?", (int(request_id),)).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    return Decision(request_id=row["request_id"], outcome=State(row["outcome"]),
                    decided_on=date.fromisoformat(row["decided_on"]), committee_ref=row["committee_ref"],
                    notes=row["notes"], recorded_by=row["recorded_by"], recorded_at=row["recorded_at"])


def _ministry_staff() -> list[str]:
    con = portal_db.connect()
    try:
        return [r[0] for r in con.execute("SELECT email FROM ministry_staff WHERE revoked_at IS NULL ORDER BY email")]
    finally:
        con.close()


# ---------------------------------------------------------------- who may see and do what

def is_reviewer(principal: Principal) -> bool:
    return allowed(principal, Action.REVIEW_REQUESTS)


def can_view(principal: Principal, req: AccessRequest) -> bool:
    """The requester, the named roster manager and ministry staff see a request (and its Form B)."""
    email = principal.email.lower()
    return bool(email) and (email in (req.requester.lower(), req.appointee.lower()) or is_reviewer(principal))


def moves_for(principal: Principal, req: AccessRequest) -> list[Transition]:
    """The transitions this person may make on this request now (what the pages offer as buttons)."""
    out = []
    for t in TRANSITIONS:
        if t.source != req.state:
            continue
        if t.by == Party.REQUESTER and principal.email.lower() == req.requester.lower() \
                and allowed(principal, Action.FILE_REQUEST):
            out.append(t)
        elif t.by == Party.MINISTRY and is_reviewer(principal):
            out.append(t)
    return out


# ---------------------------------------------------------------- Form A

def normalise_phone(value: str) -> str:
    """'050-123 4567' / '+972-50-1234567' -> '0501234567' (the form keeps what was typed)."""
    digits = re.sub(r"[\s\-().]", "", value or "")
    if digits.startswith("+972"):
        digits = "0" + digits[4:]
    return digits


def clean_form(form: dict) -> dict:
    """Every Form A field as stripped text; unknown keys are refused, so nothing is silently dropped."""
    unknown = set(form) - set(FORM_FIELDS)
    if unknown:
        raise ValueError(f"unknown Form A fields: {', '.join(sorted(unknown))}")
    return {f: str(form.get(f) or "").strip() for f in FORM_FIELDS}


def validate_form(form: dict, authorities: dict[str, str], complete: bool) -> list[RequestError]:
    """Problems with the form, one per field. A draft (complete=False) may leave fields empty but
    what it holds must be well-formed; a submission needs every field."""
    errors: list[RequestError] = []
    for f in FORM_FIELDS:
        value = form[f]
        if not value:
            if complete or f == "authority":
                errors.append(RequestError("required", f))
            continue
        limit = MAX_LENGTH.get(f, DEFAULT_MAX_LENGTH)
        if len(value) > limit:
            errors.append(RequestError("too_long", f, limit=limit))
        elif f == "authority":
            if value not in authorities:
                errors.append(RequestError("unknown_authority", f, value=value))
        elif f.endswith("_email"):
            if not _EMAIL.match(value):
                errors.append(RequestError("bad_email", f, value=value))
        elif f.endswith("_phone"):
            digits = normalise_phone(value)
            if not _PHONE.match(digits):
                errors.append(RequestError("bad_phone", f, value=value))
            elif f == "appointee_phone" and not _MOBILE.match(digits):
                errors.append(RequestError("not_mobile", f, value=value))
        elif f == "purpose" and complete and len(value) < MIN_PURPOSE:
            errors.append(RequestError("short_purpose", f, minimum=MIN_PURPOSE))
    return errors


def _check_authority_free(authority: str, request_id: int | None) -> None:
    """One request at a time per authority, and none while its access is open."""
    from auth.records import access_is_open
    con = portal_db.connect()
    try:
        marks = ",".join("?" * len(IN_PROGRESS | {State.APPROVED}))
        row = con.execute(
            f"SELECT id FROM access_requests WHERE authority = ? AND id != ? AND state IN ({marks}) ORDER BY id LIMIT 1",
            (authority, request_id or 0, *sorted(IN_PROGRESS | {State.APPROVED}))).fetchone()
    finally:
        con.close()
    if row:
        raise RequestError("authority_busy", authority=authority, other=row["id"])
    if access_is_open(authority):
        raise RequestError("authority_open", authority=authority)


def create_draft(principal: Principal, form: dict, authorities: dict[str, str]) -> int:
    """A new draft request filed by this person. `authorities` maps code -> name (the reference list)."""
    if not allowed(principal, Action.FILE_REQUEST):
        raise PermissionError("filing access requests is not allowed")
    form = clean_form(form)
    errors = validate_form(form, authorities, complete=False)
    if errors:
        raise FormErrors(errors)
    _check_authority_free(form["authority"], None)
    stamp = now_iso()
    with portal_db.transaction() as con:
        cur = con.execute(
            "INSERT INTO access_requests (authority, authority_name, requester, appointee, state, form, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (form["authority"], authorities[form["authority"]], principal.email.lower(),
             form["appointee_email"].lower(), State.DRAFT, _form_json(form), stamp, stamp))
        request_id = cur.lastrowid
        con.execute("INSERT INTO request_events (request_id, at, actor, from_state, to_state) VALUES (?, ?, ?, NULL, ?)",
                    (request_id, stamp, principal.email.lower(), State.DRAFT))
    audit.record("request_state", actor=principal.email, authority=form["authority"],
                 details={"request_id": request_id, "from": None, "to": str(State.DRAFT)})
    return request_id


def _form_json(form: dict) -> str:
    return json.dumps(form, ensure_ascii=False, sort_keys=True)


def _editable(principal: Principal, request_id: int) -> AccessRequest:
    req = get_request(request_id)
    if principal.email.lower() != req.requester.lower() or not allowed(principal, Action.FILE_REQUEST):
        raise RequestError("not_yours", request_id=request_id)
    if req.state not in EDITABLE:
        raise RequestError("not_editable", request_id=request_id, state=req.state)
    return req


def save_form(principal: Principal, request_id: int, form: dict, authorities: dict[str, str]) -> None:
    """The requester changes a draft or a returned request (the draft rules: well-formed, maybe incomplete)."""
    req = _editable(principal, request_id)
    form = clean_form(form)
    errors = validate_form(form, authorities, complete=False)
    if errors:
        raise FormErrors(errors)
    if form["authority"] != req.authority:
        _check_authority_free(form["authority"], request_id)
    audit.record("request_form_saved", actor=principal.email, authority=form["authority"],
                 details={"request_id": request_id, "state": str(req.state),
                          "changed": sorted(f for f in FORM_FIELDS if form[f] != req.form.get(f, ""))})
    with portal_db.transaction() as con:
        con.execute("UPDATE access_requests SET authority = ?, authority_name = ?, appointee = ?, form = ?, updated_at = ? "
                    "WHERE id = ? AND state IN (?, ?)",
                    (form["authority"], authorities[form["authority"]], form["appointee_email"].lower(),
                     _form_json(form), now_iso(), request_id, *sorted(EDITABLE)))


def attach_signed_pdf(principal: Principal, request_id: int, data: bytes, original_name: str) -> str:
    """Store the signed Form A (checked by auth.uploads) and attach it, replacing any earlier one."""
    from auth.uploads import store_pdf
    req = _editable(principal, request_id)
    stored = store_pdf(data, original_name)
    audit.record("request_pdf_attached", actor=principal.email, authority=req.authority,
                 details={"request_id": request_id, "stored": stored, "name": original_name, "bytes": len(data)})
    with portal_db.transaction() as con:
        con.execute("UPDATE access_requests SET signed_pdf = ?, signed_pdf_name = ?, updated_at = ? WHERE id = ?",
                    (stored, original_name, now_iso(), request_id))
    return stored


def signed_pdf_bytes(principal: Principal, request_id: int) -> bytes:
    """The signed Form A, for the requester and ministry staff; audited before the bytes go out."""
    from auth.uploads import open_upload
    req = get_request(request_id)
    if not can_view(principal, req) or not req.signed_pdf:
        raise PermissionError("no signed form to show")
    audit.record("request_pdf_download", actor=principal.email, authority=req.authority,
                 details={"request_id": request_id, "stored": req.signed_pdf})
    return open_upload(req.signed_pdf)


# ---------------------------------------------------------------- moving a request

def submit(principal: Principal, request_id: int, authorities: dict[str, str] | None = None) -> None:
    """Draft → submitted, or returned → resubmitted: needs a complete form and the signed PDF."""
    req = get_request(request_id)
    target = State.RESUBMITTED if req.state == State.RETURNED else State.SUBMITTED
    move(principal, request_id, target, authorities=authorities)


def return_to_requester(principal: Principal, request_id: int, feedback: str) -> None:
    move(principal, request_id, State.RETURNED, note=feedback)


def forward(principal: Principal, request_id: int, note: str = "") -> None:
    move(principal, request_id, State.FORWARDED, note=note)


def record_decision(principal: Principal, request_id: int, outcome: State | str, decided_on: date,
                    committee_ref: str, notes: str = "") -> None:
    """The committee's decision, recorded by ministry staff: approves or rejects (and Form B exists)."""
    try:
        outcome = State(outcome)
    except ValueError:
        raise RequestError("bad_outcome") from None
    if outcome not in (State.APPROVED, State.REJECTED):
        raise RequestError("bad_outcome")
    if not (committee_ref or "").strip():
        raise RequestError("committee_ref")
    if decided_on > today():
        raise RequestError("future_decision", value=fmt_date(decided_on))
    move(principal, request_id, outcome, note=notes,
          decision={"outcome": str(outcome), "decided_on": decided_on.isoformat(),
                    "committee_ref": committee_ref.strip(), "notes": (notes or "").strip()})


def revoke(principal: Principal, request_id: int, reason: str) -> None:
    """Approved → revoked: closes the authority's access, delegations and powers of attorney."""
    move(principal, request_id, State.REVOKED, note=reason)


def move(principal: Principal, request_id: int, target: State, note: str = "", decision: dict | None = None,
          authorities: dict[str, str] | None = None) -> None:
    req = get_request(request_id)
    step = transition(req.state, target)
    if step is None:
        raise RequestError("forbidden_transition", request_id=request_id, source=req.state, target=target)
    if step not in moves_for(principal, req):
        raise RequestError("wrong_party", request_id=request_id, party=step.by, target=target)
    note = (note or "").strip()
    if step.note_required and not note:
        raise RequestError("note_required", request_id=request_id)
    if target in (State.APPROVED, State.REJECTED) and decision is None:
        raise RequestError("bad_outcome")   # a decision goes through record_decision, with its details
    if step.by == Party.REQUESTER:
        errors = validate_form(req.form, authorities or {req.authority: req.authority_name}, complete=True)
        if errors:
            raise RequestError("incomplete", request_id=request_id, problems=errors)
        if not req.signed_pdf:
            raise RequestError("no_signed_pdf", request_id=request_id)
        _check_authority_free(req.authority, request_id)

    # Audited before it takes effect; if another reviewer moved it first, the trail says so too.
    audit.record("request_state", actor=principal.email, authority=req.authority,
                 details={"request_id": request_id, "from": str(req.state), "to": str(target)}, reason=note or None)
    stamp = now_iso()
    with portal_db.transaction() as con:
        changed = con.execute(
            "UPDATE access_requests SET state = ?, updated_at = ?, feedback = CASE WHEN ? THEN ? ELSE feedback END "
            "WHERE id = ? AND state = ?",
            (target, stamp, target == State.RETURNED, note, request_id, req.state)).rowcount
        if changed:
            con.execute("INSERT INTO request_events (request_id, at, actor, from_state, to_state, note) VALUES (?, ?, ?, ?, ?, ?)",
                        (request_id, stamp, principal.email.lower(), req.state, target, note))
            if decision:
                con.execute("INSERT INTO committee_decisions (request_id, outcome, decided_on, committee_ref, notes, "
                            "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (request_id, decision["outcome"], decision["decided_on"], decision["committee_ref"],
                             decision["notes"], principal.email.lower(), stamp))
    if not changed:
        now = get_request(request_id).state
        audit.record("request_state_not_applied", actor=principal.email, authority=req.authority,
                     details={"request_id": request_id, "from": str(req.state), "to": str(target), "found": str(now)})
        raise RequestError("changed_meanwhile", request_id=request_id, state=now)
    _apply_effects(principal, req, target)
    _notify(get_request(request_id), target, principal.email, note)


def _apply_effects(principal: Principal, req: AccessRequest, target: State) -> None:
    """What a decision does to the authority's access (auth.records keeps who and when)."""
    from auth import records
    if target == State.APPROVED:
        records.open_access(req.authority, by=principal.email, basis=f"request:{req.id}")
        records.appoint_roster_manager(req.authority, req.appointee, by=principal.email)
    elif target in (State.REJECTED, State.REVOKED):
        records.close_access(req.authority, by=principal.email)


# ---------------------------------------------------------------- notifications

MESSAGES = {
    "subject": {"he": "בקשת גישה {id} ({authority}): {state}", "en": "Access request {id} ({authority}): {state}"},
    State.DRAFT: {"he": "", "en": ""},
    State.SUBMITTED: {"he": "בקשת הגישה של {authority} הוגשה למשרד החינוך על ידי {actor}. הבקשה תיבדק ותקבלו הודעה על כל שינוי.",
                      "en": "{authority}'s access request was submitted to the ministry by {actor}. You will hear of every change."},
    State.RESUBMITTED: {"he": "בקשת הגישה המתוקנת של {authority} הוגשה מחדש על ידי {actor}.",
                        "en": "{authority}'s corrected access request was resubmitted by {actor}."},
    State.RETURNED: {"he": "משרד החינוך החזיר את בקשת הגישה של {authority} לתיקון. הערות המשרד: {note}\n"
                           "יש לתקן את הבקשה בפורטל (עמוד \"בקשת גישה\") ולהגיש אותה מחדש.",
                     "en": "The ministry returned {authority}'s access request for changes. Feedback: {note}\n"
                           "Correct it in the portal (Access request page) and resubmit."},
    State.FORWARDED: {"he": "בקשת הגישה של {authority} נבדקה והועברה להחלטת הוועדה.",
                      "en": "{authority}'s access request was checked and forwarded to the committee."},
    State.APPROVED: {"he": "הוועדה אישרה את בקשת הגישה של {authority}. {appointee} מונה/תה למנהל/ת המצבה של הרשות, "
                           "והגישה למצבה פתוחה. טופס ב' זמין להורדה בפורטל (עמוד \"בקשת גישה\").",
                     "en": "The committee approved {authority}'s access request. {appointee} is now its roster manager "
                           "and the census is open. Form B can be downloaded in the portal (Access request page)."},
    State.REJECTED: {"he": "הוועדה דחתה את בקשת הגישה של {authority}. {note}\nטופס ב' זמין להורדה בפורטל.",
                     "en": "The committee rejected {authority}'s access request. {note}\nForm B can be downloaded in the portal."},
    State.REVOKED: {"he": "משרד החינוך ביטל את הגישה של {authority} למצבה. הסיבה: {note}",
                    "en": "The ministry revoked {authority}'s access to the census. Reason: {note}"},
    "sms": {"he": "מפקד: בקשת הגישה {id} של {authority} — {state}. פרטים בפורטל.",
            "en": "Mifkad: access request {id} of {authority} — {state}. Details in the portal."},
}


def _notify(req: AccessRequest, target: State, actor: str, note: str) -> None:
    """Tell the people concerned: the requester and the named roster manager (the latter also by SMS),
    and ministry staff when something new reaches their queue."""
    from common import notify
    phone = normalise_phone(req.form.get("appointee_phone", ""))
    people = [notify.Recipient(req.requester),
              notify.Recipient(req.appointee, phone=phone if _MOBILE.match(phone) else None)]
    if target in (State.SUBMITTED, State.RESUBMITTED):
        people += [notify.Recipient(email) for email in _ministry_staff()]
    name = f"{req.authority_name} ({req.authority})"
    appointee = req.form.get("appointee_name") or req.appointee
    fill = dict(id=req.id, authority=name, actor=actor, note=note or "—", appointee=appointee)
    texts = {lang: {"subject": tr(MESSAGES, "subject", lang, id=req.id, authority=name,
                                  state=tr(STATE_NAMES, target, lang)),
                    "body": tr(MESSAGES, target, lang, **fill)} for lang in ("he", "en")}
    notify.enqueue(
        [p for p in people if p.email],
        subject={lang: t["subject"] for lang, t in texts.items()},
        body={lang: t["body"] for lang, t in texts.items()},
        sms_text=tr(MESSAGES, "sms", "he", id=req.id, authority=req.authority_name,
                    state=tr(STATE_NAMES, target, "he")),
        topic=f"request:{req.id}")
