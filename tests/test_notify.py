"""Notifications: the inbox, a real SMTP conversation with the local mail server, SMS retried against
the fake gateway, failures shown to ministry staff, and sending never done by the enqueuing caller."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from datetime import timedelta

import pytest

from common import config, notify, portal_db
from devtools import mailserver, sms_gateway

SUBJECT = {"he": "בקשת גישה 7 (חיפה): הוגשה", "en": "Access request 7 (Haifa): Submitted"}
BODY = {"he": "בקשת הגישה של חיפה הוגשה למשרד החינוך.", "en": "Haifa's access request was submitted."}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def use_settings(monkeypatch, **values) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"MIFKAD_{key.upper()}", str(value))
    config._cached.cache_clear()


def outbox_rows() -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r) for r in con.execute("SELECT * FROM outbox ORDER BY id")]
    finally:
        con.close()


@pytest.fixture
def smtp_server(mifkad_home, monkeypatch):
    """The local SMTP server (devtools.mailserver) on a free port; yields the folder of .eml files."""
    folder, port = mifkad_home / "mail", free_port()
    controller = mailserver.start(folder, port=port)
    use_settings(monkeypatch, smtp_port=port)
    yield folder
    controller.stop()


def sms_server(mifkad_home, monkeypatch, fail_first: int):
    port = free_port()
    server = sms_gateway.make_server(mifkad_home / "sms.jsonl", port=port, fail_first=fail_first)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    use_settings(monkeypatch, sms_gateway_url=f"http://127.0.0.1:{port}/send")
    return server


def test_an_email_goes_through_a_real_smtp_conversation_and_arrives_as_written(smtp_server):
    notify.enqueue([notify.Recipient("Candidate@Haifa.test")], SUBJECT, BODY, topic="request:7")
    assert notify.process_due() == {"sent": 1, "retry": 0, "failed": 0}
    eml, = smtp_server.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "candidate@haifa.test"
    assert message["From"] == "mifkad@education.gov.il"
    assert message["Subject"] == SUBJECT["he"]
    assert message["Message-ID"] and message["Date"]
    text = message.get_body(("plain",)).get_content()
    assert BODY["he"] in text and BODY["en"] in text and SUBJECT["en"] in text
    row, = outbox_rows()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)


def test_enqueueing_only_writes_rows_even_when_the_mail_server_is_down(mifkad_home, monkeypatch):
    use_settings(monkeypatch, smtp_port=free_port())          # nothing listens there
    added = notify.enqueue([notify.Recipient("a@x.test", phone="050-1234567")], SUBJECT, BODY, sms_text="מסרון")
    assert added == 2
    assert [(r["channel"], r["status"], r["attempts"]) for r in outbox_rows()] == [("email", "pending", 0),
                                                                                  ("sms", "pending", 0)]
    assert notify.unread_count("a@x.test") == 1


def test_an_sms_is_retried_with_backoff_until_the_gateway_accepts_it(mifkad_home, monkeypatch):
    server = sms_server(mifkad_home, monkeypatch, fail_first=2)
    try:
        notify.enqueue([notify.Recipient("m@x.test", phone="050-123 4567")], SUBJECT, BODY,
                       sms_text="מפקד: בקשת הגישה 7 של חיפה — הוגשה.")
        con = portal_db.connect()
        con.execute("UPDATE outbox SET status = 'sent' WHERE channel = 'email'")   # this test is about the SMS
        con.close()
        start = notify.utc_now()
        assert notify.process_due(start) == {"sent": 0, "retry": 1, "failed": 0}
        sms, = [r for r in outbox_rows() if r["channel"] == "sms"]
        assert (sms["attempts"], sms["status"]) == (1, "pending")
        assert "HTTP 503" in sms["last_error"]
        # Not due again until the backoff has passed.
        assert notify.process_due(start + notify.backoff(1) - timedelta(seconds=1)) == {"sent": 0, "retry": 0, "failed": 0}
        second = start + notify.backoff(1)
        assert notify.process_due(second) == {"sent": 0, "retry": 1, "failed": 0}
        assert notify.process_due(second + notify.backoff(2)) == {"sent": 1, "retry": 0, "failed": 0}
    finally:
        server.shutdown()
    sms, = [r for r in outbox_rows() if r["channel"] == "sms"]
    assert (sms["status"], sms["attempts"]) == ("sent", 3)
    lines = (mifkad_home / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"to": "+972501234567", "text": "מפקד: בקשת הגישה 7 של חיפה — הוגשה."}]
    assert notify.problem_sends() == []


def test_a_send_that_keeps_failing_is_given_up_shown_to_ministry_staff_and_can_be_sent_again(smtp_server, monkeypatch):
    working_port = config.settings().smtp_port
    use_settings(monkeypatch, smtp_port=free_port())
    notify.enqueue([notify.Recipient("c@x.test")], SUBJECT, BODY, topic="request:7")
    now = notify.utc_now()
    for attempt in range(1, notify.MAX_ATTEMPTS + 1):
        counts = notify.process_due(now)
        expected = "failed" if attempt == notify.MAX_ATTEMPTS else "retry"
        assert counts[expected] == 1
        item, = notify.problem_sends()
        assert (item.attempts, item.status) == (attempt, "failed" if expected == "failed" else "pending")
        assert "SMTP 127.0.0.1" in item.last_error
        now += notify.backoff(attempt)
    assert notify.process_due(now + timedelta(days=1)) == {"sent": 0, "retry": 0, "failed": 0}   # given up
    assert (item.recipient, item.channel, item.topic) == ("c@x.test", "email", "request:7")

    use_settings(monkeypatch, smtp_port=working_port)          # the mail server is back
    notify.retry(item.id)
    assert notify.process_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert notify.problem_sends() == []
    assert len(list(smtp_server.glob("*.eml"))) == 1


def test_the_background_worker_sends_without_the_caller_waiting(smtp_server):
    notify.enqueue([notify.Recipient("w@x.test")], SUBJECT, BODY)
    notify.ensure_worker()
    try:
        deadline = time.monotonic() + 60
        while not list(smtp_server.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        notify.stop_worker()
    assert len(list(smtp_server.glob("*.eml"))) == 1
    assert [r["status"] for r in outbox_rows()] == ["sent"]


def test_a_message_claimed_by_one_sender_is_not_sent_by_another(mifkad_home):
    notify.enqueue([notify.Recipient("a@x.test")], SUBJECT, BODY)
    row_id = outbox_rows()[0]["id"]
    now = notify.utc_now()
    assert notify._claim(row_id, now, False, None) is not None
    assert notify._claim(row_id, now, False, None) is None
    # A claim left behind by a process that died is taken over after STALE_CLAIM.
    assert notify._claim(row_id, now + notify.STALE_CLAIM + timedelta(seconds=1), False, None) is not None


def test_drain_sends_pending_messages_now_from_the_command_line(smtp_server, capsys):
    notify.enqueue([notify.Recipient("a@x.test"), notify.Recipient("b@x.test")], SUBJECT, BODY)
    con = portal_db.connect()
    con.execute("UPDATE outbox SET next_attempt_at = '2999-01-01T00:00:00+00:00'")   # as if backing off
    con.close()
    assert notify.main(["drain"]) == 0
    assert "sent 2" in capsys.readouterr().out
    assert len(list(smtp_server.glob("*.eml"))) == 2


def test_each_person_sees_and_marks_only_their_own_inbox(mifkad_home):
    notify.enqueue([notify.Recipient("a@x.test"), notify.Recipient("b@x.test")], SUBJECT, BODY, topic="request:7")
    notify.enqueue([notify.Recipient("A@X.test")], SUBJECT, BODY, topic="request:8")
    assert notify.unread_count("a@x.test") == 2 and notify.unread_count("b@x.test") == 1
    newest, older = notify.inbox("a@x.test")
    assert (newest.topic, older.topic) == ("request:8", "request:7")
    assert newest.subject("he") == SUBJECT["he"] and newest.body("en") == BODY["en"]
    b_message, = notify.inbox("b@x.test")
    assert notify.mark_read("a@x.test", [b_message.id]) == 0          # not a's message
    assert notify.unread_count("b@x.test") == 1
    assert notify.mark_read("a@x.test", [newest.id]) == 1
    assert notify.unread_count("a@x.test") == 1
    assert notify.mark_read("a@x.test") == 1
    assert notify.unread_count("a@x.test") == 0 and notify.unread_count("b@x.test") == 1


def test_one_person_named_twice_gets_one_message_and_one_sms_per_phone(mifkad_home):
    added = notify.enqueue([notify.Recipient("a@x.test"), notify.Recipient("A@x.test", phone="0501234567")],
                           SUBJECT, BODY, sms_text="text")
    assert added == 2
    assert notify.unread_count("a@x.test") == 1
    assert [(r["channel"], r["recipient"]) for r in outbox_rows()] == [("email", "a@x.test"), ("sms", "+972501234567")]
