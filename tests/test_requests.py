"""Access requests: the state machine (every allowed and forbidden move), the Form A rules, and what
decisions do to an authority's access, the audit trail and the people concerned."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from auth import records
from auth import requests as R
from auth.permissions import AUTHORITY_ACTIONS, ROLE_ACTIONS, Role
from auth.principal import load_principal
from auth.requests import State
from common import notify, portal_db
from common.clock import today

HAIFA, TLV = "4000", "5000"
AUTHORITIES = {HAIFA: "חיפה", TLV: "תל אביב-יפו"}
CANDIDATE, APPOINTEE, ADMIN, STRANGER = ("candidate@haifa.test", "appointee@haifa.test", "admin@education.gov.il",
                                         "stranger@elsewhere.test")
SIGNED_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MANAGER_ACTIONS = ROLE_ACTIONS[Role.ROSTER_MANAGER] & AUTHORITY_ACTIONS


def complete_form(**changes) -> dict:
    form = {
        "authority": HAIFA,
        "db_manager_name": "רונית לוי", "db_manager_role": "מנהלת אגף החינוך",
        "db_manager_email": "ronit@haifa.muni.il", "db_manager_phone": "04-8356789",
        "security_name": "אבי כהן", "security_role": "ממונה אבטחת מידע",
        "security_email": "avi@haifa.muni.il", "security_phone": "04-8356790",
        "legal_name": "שרה מזרחי", "legal_role": "יועצת משפטית",
        "legal_email": "sara@haifa.muni.il", "legal_phone": "04-8356791",
        "appointee_name": "מיכל ברק", "appointee_email": APPOINTEE, "appointee_phone": "050-1234567",
        "purpose": "שיבוץ תלמידים במוסדות החינוך של העיר ואיתור ילדים שאינם משובצים",
    }
    form.update(changes)
    return form


@pytest.fixture
def people(mifkad_home):
    records.ensure_configured_admins()     # admin@education.gov.il is ministry staff


def candidate():
    return load_principal(CANDIDATE)


def ministry():
    return load_principal(ADMIN)


def new_request(**changes) -> int:
    rid = R.create_draft(candidate(), complete_form(**changes), AUTHORITIES)
    R.attach_signed_pdf(candidate(), rid, SIGNED_PDF, "טופס-א-חתום.pdf")
    return rid


def do(target: State, rid: int, who=None) -> None:
    """Make one move with the party the machine names for it (or `who`)."""
    step = next((t for t in R.TRANSITIONS if t.target == target), None)
    principal = who or (candidate() if step and step.by == R.Party.REQUESTER else ministry())
    if target in (State.APPROVED, State.REJECTED):
        R.record_decision(principal, rid, target, today(), "ועדה 2026/17", "הערות הוועדה")
    else:
        R.move(principal, rid, target, note="הערה", authorities=AUTHORITIES)


# The shortest legal way to each state.
PATH = {
    State.DRAFT: [],
    State.SUBMITTED: [State.SUBMITTED],
    State.RETURNED: [State.SUBMITTED, State.RETURNED],
    State.RESUBMITTED: [State.SUBMITTED, State.RETURNED, State.RESUBMITTED],
    State.FORWARDED: [State.SUBMITTED, State.FORWARDED],
    State.APPROVED: [State.SUBMITTED, State.FORWARDED, State.APPROVED],
    State.REJECTED: [State.SUBMITTED, State.FORWARDED, State.REJECTED],
    State.REVOKED: [State.SUBMITTED, State.FORWARDED, State.APPROVED, State.REVOKED],
}


def request_in(state: State) -> int:
    rid = new_request()
    for step in PATH[state]:
        do(step, rid)
    assert R.get_request(rid).state == state
    return rid


def audit_events(action: str) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r, details=json.loads(r["details"])) for r in
                con.execute("SELECT * FROM audit_events WHERE action = ? ORDER BY seq", (action,))]
    finally:
        con.close()


ALL_PAIRS = [(s, t) for s in State for t in State]
ALLOWED = [(s, t) for s, t in ALL_PAIRS if R.transition(s, t)]
FORBIDDEN = [(s, t) for s, t in ALL_PAIRS if not R.transition(s, t)]


def test_the_machine_has_the_documented_moves_and_no_others():
    assert sorted((s.value, t.value) for s, t in ALLOWED) == sorted([
        ("draft", "submitted"), ("submitted", "returned"), ("submitted", "forwarded"),
        ("returned", "resubmitted"), ("resubmitted", "returned"), ("resubmitted", "forwarded"),
        ("forwarded", "approved"), ("forwarded", "rejected"), ("approved", "revoked")])


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{s}->{t}" for s, t in ALLOWED])
def test_an_allowed_move_by_its_party_is_made_recorded_and_audited(people, source, target):
    rid = request_in(source)
    events_before = len(R.history(rid))
    do(target, rid)
    req = R.get_request(rid)
    assert req.state == target
    last = R.history(rid)[-1]
    assert len(R.history(rid)) == events_before + 1
    step = R.transition(source, target)
    assert (last.source, last.target) == (source, target)
    assert last.actor == (CANDIDATE if step.by == R.Party.REQUESTER else ADMIN)
    assert last.at
    audited = audit_events("request_state")[-1]
    assert audited["details"] == {"request_id": rid, "from": str(source), "to": str(target)}
    assert audited["actor"] == last.actor and audited["authority"] == HAIFA


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{s}->{t}" for s, t in ALLOWED])
def test_an_allowed_move_by_the_other_party_is_refused(people, source, target):
    rid = request_in(source)
    step = R.transition(source, target)
    other = ministry() if step.by == R.Party.REQUESTER else candidate()
    with pytest.raises(R.RequestError) as err:
        do(target, rid, who=other)
    assert err.value.code == "wrong_party"
    assert R.get_request(rid).state == source


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[f"{s}->{t}" for s, t in FORBIDDEN])
def test_a_forbidden_move_is_refused_for_everyone_and_changes_nothing(people, source, target):
    rid = request_in(source)
    events = R.history(rid)
    audited = len(audit_events("request_state"))
    for who in (candidate(), ministry()):
        with pytest.raises(R.RequestError) as err:
            do(target, rid, who=who)
        assert err.value.code == "forbidden_transition"
    assert R.get_request(rid).state == source
    assert R.history(rid) == events
    assert len(audit_events("request_state")) == audited


def test_a_stranger_can_neither_submit_nor_review_someone_elses_request(people):
    rid = new_request()
    with pytest.raises(R.RequestError) as err:
        R.submit(load_principal(STRANGER), rid, AUTHORITIES)
    assert err.value.code == "wrong_party"
    do(State.SUBMITTED, rid)
    with pytest.raises(R.RequestError) as err:
        R.forward(load_principal(STRANGER), rid)
    assert err.value.code == "wrong_party"


def test_a_refused_form_names_every_bad_field(people):
    bad = complete_form(db_manager_email="ronit-at-haifa", legal_phone="12345", appointee_phone="04-8356789",
                        authority="9999")
    with pytest.raises(R.FormErrors) as err:
        R.create_draft(candidate(), bad, AUTHORITIES)
    assert [(e.field, e.code) for e in err.value.errors] == [
        ("authority", "unknown_authority"), ("db_manager_email", "bad_email"), ("legal_phone", "bad_phone"),
        ("appointee_phone", "not_mobile")]
    hebrew = err.value.text("he")
    assert "מנהל/ת מאגר המידע (בדרך כלל מנהל/ת אגף החינוך) — דואר אלקטרוני" in hebrew
    assert "ronit-at-haifa" in hebrew and "9999" in hebrew
    assert R.queue(set(State)) == []


def test_a_draft_may_be_incomplete_but_submitting_it_names_what_is_missing(people):
    rid = R.create_draft(candidate(), {"authority": HAIFA, "purpose": "קצר"}, AUTHORITIES)
    R.attach_signed_pdf(candidate(), rid, SIGNED_PDF, "signed.pdf")
    with pytest.raises(R.RequestError) as err:
        R.submit(candidate(), rid, AUTHORITIES)
    assert err.value.code == "incomplete"
    fields = {e.field for e in err.value.params["problems"]}
    assert fields == set(R.FORM_FIELDS) - {"authority"}
    assert R.get_request(rid).state == State.DRAFT


def test_submitting_needs_the_signed_pdf(people):
    rid = R.create_draft(candidate(), complete_form(), AUTHORITIES)
    with pytest.raises(R.RequestError) as err:
        R.submit(candidate(), rid, AUTHORITIES)
    assert err.value.code == "no_signed_pdf"
    R.attach_signed_pdf(candidate(), rid, SIGNED_PDF, "signed.pdf")
    R.submit(candidate(), rid, AUTHORITIES)
    assert R.get_request(rid).state == State.SUBMITTED


def test_returning_needs_feedback_and_the_requester_sees_it_and_may_edit_again(people):
    rid = request_in(State.SUBMITTED)
    with pytest.raises(R.RequestError) as err:
        R.return_to_requester(ministry(), rid, "   ")
    assert err.value.code == "note_required"
    R.return_to_requester(ministry(), rid, "חסרה חתימת היועצת המשפטית")
    req = R.get_request(rid)
    assert (req.state, req.feedback) == (State.RETURNED, "חסרה חתימת היועצת המשפטית")
    R.save_form(candidate(), rid, complete_form(legal_name="שרה מזרחי-כהן"), AUTHORITIES)
    R.submit(candidate(), rid, AUTHORITIES)
    req = R.get_request(rid)
    assert req.state == State.RESUBMITTED and req.form["legal_name"] == "שרה מזרחי-כהן"


@pytest.mark.parametrize("state", [State.SUBMITTED, State.RESUBMITTED, State.FORWARDED, State.APPROVED])
def test_the_requester_cannot_change_a_request_the_ministry_holds(people, state):
    rid = request_in(state)
    with pytest.raises(R.RequestError) as err:
        R.save_form(candidate(), rid, complete_form(purpose="מטרה אחרת לגמרי מזו שהוגשה"), AUTHORITIES)
    assert err.value.code == "not_editable"
    with pytest.raises(R.RequestError):
        R.attach_signed_pdf(candidate(), rid, SIGNED_PDF, "other.pdf")
    assert R.get_request(rid).form == complete_form()


def test_only_the_requester_may_edit_a_draft(people):
    rid = new_request()
    with pytest.raises(R.RequestError) as err:
        R.save_form(load_principal(STRANGER), rid, complete_form(), AUTHORITIES)
    assert err.value.code == "not_yours"


def test_an_authority_has_one_active_request_at_a_time(people):
    first = request_in(State.SUBMITTED)
    with pytest.raises(R.RequestError) as err:
        R.create_draft(load_principal(STRANGER), complete_form(), AUTHORITIES)
    assert (err.value.code, err.value.params["other"]) == ("authority_busy", first)
    R.create_draft(load_principal(STRANGER), complete_form(authority=TLV), AUTHORITIES)   # another authority


def test_an_authority_whose_access_is_open_cannot_file_again(people):
    records.open_access(TLV, by="operator:test", basis="operator")
    with pytest.raises(R.RequestError) as err:
        R.create_draft(candidate(), complete_form(authority=TLV), AUTHORITIES)
    assert err.value.code == "authority_open"


def test_a_rejected_or_revoked_authority_may_file_a_new_request(people):
    request_in(State.REJECTED)
    second = new_request()
    do(State.SUBMITTED, second)
    assert R.get_request(second).state == State.SUBMITTED


# --- what decisions do to access (auth.principal rebuilds permissions from the records) ---

def test_approval_opens_access_and_makes_the_named_person_roster_manager(people):
    rid = request_in(State.FORWARDED)
    assert load_principal(APPOINTEE).authority_actions == {}
    do(State.APPROVED, rid)
    manager = load_principal(APPOINTEE)
    assert manager.managed == {HAIFA}
    assert manager.authority_actions == {HAIFA: MANAGER_ACTIONS}
    assert records.access_is_open(HAIFA)
    con = portal_db.connect()
    try:
        basis = con.execute("SELECT basis, opened_by FROM authority_access WHERE authority = ?", (HAIFA,)).fetchone()
    finally:
        con.close()
    assert tuple(basis) == (f"request:{rid}", ADMIN)
    assert load_principal(CANDIDATE).authority_actions == {}      # filing a request gives nothing by itself


def test_revocation_takes_the_managers_actions_and_every_delegation_away(people):
    rid = request_in(State.APPROVED)
    records.create_grant(load_principal(APPOINTEE), HAIFA, "analyst@haifa.test", ["view_aggregates"])
    assert load_principal("analyst@haifa.test").authorities == [HAIFA]
    with pytest.raises(R.RequestError) as err:
        R.revoke(ministry(), rid, "")
    assert err.value.code == "note_required"
    R.revoke(ministry(), rid, "הרשות לא עמדה בתנאי אבטחת המידע")
    assert load_principal(APPOINTEE).authority_actions == {}
    assert load_principal(APPOINTEE).managed == frozenset()
    assert load_principal("analyst@haifa.test").authorities == []
    assert not records.access_is_open(HAIFA)


def test_rejection_leaves_the_authority_without_access(people):
    rid = request_in(State.REJECTED)
    assert R.decision_of(rid).outcome == State.REJECTED
    assert load_principal(APPOINTEE).authority_actions == {}
    assert not records.access_is_open(HAIFA)


def test_a_decision_needs_a_committee_reference_and_a_date_not_in_the_future(people):
    rid = request_in(State.FORWARDED)
    with pytest.raises(R.RequestError) as err:
        R.record_decision(ministry(), rid, State.APPROVED, today(), "  ")
    assert err.value.code == "committee_ref"
    with pytest.raises(R.RequestError) as err:
        R.record_decision(ministry(), rid, State.APPROVED, today() + timedelta(days=1), "ref")
    assert err.value.code == "future_decision"
    with pytest.raises(R.RequestError) as err:
        R.record_decision(ministry(), rid, State.REVOKED, today(), "ref")
    assert err.value.code == "bad_outcome"
    assert R.get_request(rid).state == State.FORWARDED and R.decision_of(rid) is None


def test_the_decision_is_recorded_with_who_and_when(people):
    rid = request_in(State.FORWARDED)
    R.record_decision(ministry(), rid, "approved", today() - timedelta(days=2), " ועדה 2026/17 ", "לשנה")
    d = R.decision_of(rid)
    assert (d.outcome, d.decided_on, d.committee_ref, d.notes, d.recorded_by) == \
        (State.APPROVED, today() - timedelta(days=2), "ועדה 2026/17", "לשנה", ADMIN)


def test_a_move_made_meanwhile_by_another_reviewer_is_reported_not_repeated(people, monkeypatch):
    rid = request_in(State.SUBMITTED)
    stale, real_get = R.get_request(rid), R.get_request
    R.forward(ministry(), rid)
    reads = []

    def first_read_is_stale(request_id):      # this reviewer's page was drawn before the other's click
        reads.append(request_id)
        return stale if len(reads) == 1 else real_get(request_id)

    with monkeypatch.context() as m:
        m.setattr(R, "get_request", first_read_is_stale)
        with pytest.raises(R.RequestError) as err:
            R.return_to_requester(ministry(), rid, "feedback")
    assert err.value.code == "changed_meanwhile"
    assert R.get_request(rid).state == State.FORWARDED
    assert [e.target for e in R.history(rid)][-1] == State.FORWARDED
    assert audit_events("request_state_not_applied")[-1]["details"]["found"] == "forwarded"


# --- who sees what, and who is told ---

def test_requests_are_seen_by_the_requester_the_named_manager_and_ministry_staff_only(people):
    rid = new_request()
    req = R.get_request(rid)
    assert R.can_view(candidate(), req) and R.can_view(load_principal(APPOINTEE), req) and R.can_view(ministry(), req)
    assert not R.can_view(load_principal(STRANGER), req)
    assert [r.id for r in R.requests_of(APPOINTEE)] == [rid]
    assert R.requests_of(STRANGER) == []
    with pytest.raises(PermissionError):
        R.signed_pdf_bytes(load_principal(STRANGER), rid)


def test_drafts_stay_out_of_the_ministry_queue(people):
    draft = new_request()
    assert [r.id for r in R.queue()] == []
    do(State.SUBMITTED, draft)
    assert [r.id for r in R.queue(R.AWAITING_MINISTRY)] == [draft]


def test_a_submission_tells_the_requester_the_named_manager_and_ministry_staff(people):
    rid = new_request()
    do(State.SUBMITTED, rid)
    for email in (CANDIDATE, APPOINTEE, ADMIN):
        message, = notify.inbox(email)
        assert message.topic == f"request:{rid}"
        assert "הוגשה" in message.subject_he and "חיפה" in message.subject_he
    assert notify.inbox(STRANGER) == []
    con = portal_db.connect()
    try:
        sent = sorted((r["channel"], r["recipient"]) for r in con.execute("SELECT * FROM outbox"))
    finally:
        con.close()
    assert sent == [("email", ADMIN), ("email", APPOINTEE), ("email", CANDIDATE), ("sms", "+972501234567")]


def test_later_changes_are_not_sent_to_ministry_staff(people):
    rid = request_in(State.SUBMITTED)
    R.return_to_requester(ministry(), rid, "יש לתקן את מספר הטלפון")
    assert [m.subject_he for m in notify.inbox(ADMIN)] == [notify.inbox(ADMIN)[0].subject_he]   # only the submission
    latest = notify.inbox(CANDIDATE)[0]
    assert "הוחזרה לתיקון" in latest.subject_he and "יש לתקן את מספר הטלפון" in latest.body_he
    assert "Returned for changes" in latest.subject_en


def test_authorities_for_the_form_come_from_the_reference_statement(people, published_snapshot):
    from queries import Scope, run
    df = run("authorities", Scope(snapshot=published_snapshot, authority=None))
    authorities = dict(df.select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows())
    code, name = next(iter(authorities.items()))
    rid = R.create_draft(candidate(), complete_form(authority=code), authorities)
    assert (R.get_request(rid).authority, R.get_request(rid).authority_name) == (code, name)
    with pytest.raises(R.FormErrors):
        R.create_draft(candidate(), complete_form(authority="not-a-code"), authorities)
