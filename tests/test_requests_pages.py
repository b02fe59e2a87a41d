"""The request pages in AppTest through app.py: a candidate files Form A, ministry staff work the queue
(only the moves the state machine allows are offered), failed sends are listed, and the inbox counts
unread messages."""
from __future__ import annotations

import socket

import pytest

from auth import records
from auth import requests as R
from auth.principal import load_principal
from auth.requests import State
from common import config, notify, portal_db
from tests.test_requests import (ADMIN, APPOINTEE, AUTHORITIES, CANDIDATE, SIGNED_PDF, audit_events, complete_form,
                                 do, request_in)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def no_real_sending(mifkad_home, monkeypatch):
    """The pages start the sender thread: point it at ports where nothing listens, and stop it after."""
    monkeypatch.setenv("MIFKAD_SMTP_PORT", str(closed_port()))
    monkeypatch.setenv("MIFKAD_SMS_GATEWAY_URL", f"http://127.0.0.1:{closed_port()}/send")
    config._cached.cache_clear()
    records.ensure_configured_admins()
    yield
    notify.stop_all_workers()


def button(s, label):
    return next(b for b in s.at.button if b.label == label)


def labels(s) -> list[str]:
    return [b.label for b in s.at.button]


def test_a_candidate_fills_form_a_saves_it_and_submits_it_with_the_signed_pdf(published_snapshot, app_session):
    from queries import Scope, run
    authorities = dict(run("authorities", Scope(snapshot=published_snapshot, authority=None))
                       .select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows())
    code = next(iter(authorities))
    s = app_session(CANDIDATE).open("access_request")
    assert "בקשת גישה למצבה (טופס א')" in s.text()
    assert "עדיין לא הגשת בקשה." in s.text()
    s.at.selectbox(key="req_new_authority").set_value(code)
    for field, value in complete_form().items():
        if field == "purpose":
            s.at.text_area(key="req_new_purpose").input(value)
        elif field != "authority":
            s.at.text_input(key=f"req_new_{field}").input(value)
    button(s, "שמירת טיוטה").click()
    s.run()
    req, = R.requests_of(CANDIDATE)
    assert (req.state, req.authority, req.authority_name) == (State.DRAFT, code, authorities[code])
    assert req.form == complete_form(authority=code)
    assert f"בקשה {req.id} נשמרה." in s.text()
    assert s.at.text_input(key="req_new1_db_manager_name").value == ""     # the new-request form starts afresh

    button(s, "הגשה").click()                     # the draft's form: no signed PDF yet
    s.run()
    assert f"בקשה {req.id}: יש לצרף את טופס א' החתום (PDF) לפני ההגשה." in [e.value for e in s.at.error]
    R.attach_signed_pdf(load_principal(CANDIDATE), req.id, SIGNED_PDF, "signed.pdf")
    s.run()
    button(s, "הגשה").click()                     # the draft's form comes before the new-request form
    s.run()
    assert R.get_request(req.id).state == State.SUBMITTED
    assert f"בקשה {req.id} הוגשה למשרד החינוך." in s.text()


def test_submitting_a_new_request_without_the_pdf_keeps_it_as_one_draft_and_says_why(published_snapshot,
                                                                                      app_session):
    from queries import Scope, run
    code = run("authorities", Scope(snapshot=published_snapshot, authority=None))["SEMEL_RASHUT"][0]
    s = app_session(CANDIDATE).open("access_request")
    s.at.selectbox(key="req_new_authority").set_value(code)
    s.at.text_input(key="req_new_appointee_email").input(APPOINTEE)
    button(s, "הגשה").click()
    s.run()
    req, = R.requests_of(CANDIDATE)
    assert req.state == State.DRAFT
    errors = [e.value for e in s.at.error]
    assert errors and errors[0].startswith(f"בקשה {req.id}: הטופס אינו שלם")
    assert s.at.text_input(key=f"req_{req.id}_appointee_email").value == APPOINTEE   # its own form, to go on
    button(s, "שמירת טיוטה").click()            # saving it again does not make a second request
    s.run()
    assert [r.id for r in R.requests_of(CANDIDATE)] == [req.id]


def test_a_bad_field_is_named_on_the_page_in_hebrew(published_snapshot, app_session):
    s = app_session(CANDIDATE).open("access_request")
    s.at.text_input(key="req_new_db_manager_email").input("not-an-address")
    button(s, "שמירת טיוטה").click()
    s.run()
    errors = [e.value for e in s.at.error]
    assert "הרשות המבקשת: שדה חובה." in errors
    assert any(e.startswith("מנהל/ת מאגר המידע (בדרך כלל מנהל/ת אגף החינוך) — דואר אלקטרוני") for e in errors)
    assert R.requests_of(CANDIDATE) == []


def test_the_returned_request_shows_the_ministrys_feedback_to_the_requester(app_session):
    rid = request_in(State.SUBMITTED)
    R.return_to_requester(load_principal(ADMIN), rid, "חסרה חתימת היועצת המשפטית")
    s = app_session(CANDIDATE).open("access_request")
    assert "הערות משרד החינוך: חסרה חתימת היועצת המשפטית" in [w.value for w in s.at.warning]
    assert "הגשה מחדש" in labels(s)


def test_ministry_staff_return_forward_and_approve_on_the_queue(app_session):
    rid = request_in(State.SUBMITTED)
    s = app_session(ADMIN).open("request_queue")
    assert "תור בקשות הגישה" in s.text()
    assert "רישום ההחלטה" not in labels(s)         # no skipping from submitted to a decision
    s.at.text_area(key=f"feedback_{rid}").input("יש לתקן את מספר הטלפון של היועצת")
    button(s, "החזרה לרשות לתיקון").click()
    s.run()
    assert R.get_request(rid).state == State.RETURNED
    do(State.RESUBMITTED, rid)
    s.run()
    button(s, "העברה לוועדה").click()
    s.run()
    assert R.get_request(rid).state == State.FORWARDED
    assert "העברה לוועדה" not in labels(s)
    s.at.text_input(key=f"committee_ref_{rid}").input("ועדה 2026/17")
    button(s, "רישום ההחלטה").click()
    s.run()
    assert R.get_request(rid).state == State.APPROVED
    assert load_principal(APPOINTEE).managed == {"4000"}
    assert "אין בקשות להצגה." in s.text()        # decided: no longer awaiting the ministry
    s.at.radio(key="queue_show").set_value("all")
    s.run()
    history = s.at.dataframe[2].value          # queue, Form A details, history
    assert history["למצב"].tolist() == ["טיוטה", "הוגשה", "הוחזרה לתיקון", "הוגשה מחדש", "הועברה לוועדה", "אושרה"]
    assert history.columns[-1] == "מתי"            # the first column stands at the right in Hebrew
    assert "ביטול הגישה" in labels(s)


def test_a_refused_move_on_the_queue_says_why(app_session):
    rid = request_in(State.FORWARDED)
    s = app_session(ADMIN).open("request_queue")
    button(s, "רישום ההחלטה").click()              # no committee reference
    s.run()
    assert "יש לציין את מספר ההחלטה של הוועדה." in [e.value for e in s.at.error]
    assert R.get_request(rid).state == State.FORWARDED


def test_failed_sends_are_listed_for_ministry_staff_who_can_send_them_again(app_session):
    notify.enqueue([notify.Recipient("someone@haifa.test")], {"he": "נושא", "en": "Subject"},
                   {"he": "גוף", "en": "Body"}, topic="request:1")
    now = notify.utc_now()
    for attempt in range(1, notify.MAX_ATTEMPTS + 1):
        notify.process_due(now)
        now += notify.backoff(attempt)
    s = app_session(ADMIN).open("request_queue")
    table = s.at.dataframe[-1].value
    assert table["נמען"][0] == "someone@haifa.test"
    assert table["מצב"][0] == "נכשלה"
    assert "SMTP 127.0.0.1" in table["שגיאה אחרונה"][0]
    button(s, "שליחה חוזרת").click()
    s.run()
    con = portal_db.connect()
    status = con.execute("SELECT status, attempts FROM outbox").fetchone()
    con.close()
    assert tuple(status) in {("pending", 0), ("sending", 0), ("pending", 1)}   # back in the queue
    assert audit_events("notification_retry")[-1]["details"]["recipient"] == "someone@haifa.test"


def test_the_inbox_shows_the_unread_count_in_its_title_and_marks_messages_read(app_session):
    rid = request_in(State.SUBMITTED)
    R.return_to_requester(load_principal(ADMIN), rid, "חסר מסמך")
    s = app_session(CANDIDATE).open("inbox")
    assert s.at.title[0].value == "הודעות (2 שלא נקראו)"
    assert any("חסר מסמך" in m.value for m in s.at.markdown)
    button(s, "סימון הכול כנקרא").click()
    s.run()
    assert s.at.title[0].value == "הודעות"
    assert notify.unread_count(CANDIDATE) == 0


def test_a_candidate_opening_the_queue_address_gets_no_queue(app_session):
    request_in(State.SUBMITTED)
    s = app_session(CANDIDATE).open("request_queue")
    assert "תור בקשות הגישה" not in s.text()
    assert "שלום" in s.text()                      # the home page ran instead


def test_the_requester_sees_only_their_own_requests(app_session):
    mine = request_in(State.SUBMITTED)
    R.create_draft(load_principal("other@tlv.test"), complete_form(authority="5000"), AUTHORITIES)
    s = app_session(CANDIDATE).open("access_request")
    titles = [e.label for e in s.at.expander]
    assert any(t.startswith(f"בקשה {mine} — חיפה") for t in titles)
    assert not any("תל אביב" in t for t in titles)
