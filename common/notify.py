"""Notifications: the in-portal inbox, and e-mail (SMTP) and SMS (HTTP gateway) sent from an outbox.

    notify.enqueue([Recipient("a@b.test", phone="0501234567")], subject={"he":..,"en":..},
                   body={"he":..,"en":..}, sms_text="...", topic="request:12")
    notify.ensure_worker()              # the app process: a background thread sends what is due
    python -m common.notify drain       # send every pending message now (one attempt each)
    python -m common.notify status      # how many are pending, sent, failed

`enqueue` only writes rows (inbox + outbox) in one transaction, so a page never waits for a mail
server. The worker claims one message at a time (status 'sending', so two processes never send the
same one), and on failure schedules the next attempt with a growing delay; after MAX_ATTEMPTS the
message is 'failed' and shown to ministry staff on the request queue, who can send it again.
"""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from common import portal_db
from common.clock import now_iso
from common.config import settings

log = logging.getLogger("mifkad.notify")

MAX_ATTEMPTS = 6
# Delay before attempt n+1 after n failures: a mail server restarting is back within minutes; a longer
# outage ends in 'failed' after about an hour, when a person should look.
BACKOFF_SECONDS = (60, 120, 300, 900, 1800)
STALE_CLAIM = timedelta(minutes=10)      # a 'sending' row this old belonged to a process that died
SEND_TIMEOUT = 20                        # seconds per SMTP conversation or gateway request
IDLE_POLL = 60                           # seconds the worker sleeps when nothing is scheduled
AUTOMATIC = {"he": "הודעה זו נשלחה אוטומטית מפורטל מצבת התלמידים \"מפקד\" של משרד החינוך.",
             "en": "This message was sent automatically by Mifkad, the Ministry of Education's student census portal."}


@dataclass(frozen=True)
class Recipient:
    email: str
    phone: str | None = None             # Israeli mobile number; gets the SMS text when given


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def backoff(attempts: int) -> timedelta:
    """Delay after `attempts` failed attempts."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def sms_number(phone: str) -> str:
    """The gateway takes international numbers: 050-1234567 -> +972501234567."""
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    if digits.startswith("+"):
        return digits
    return "+972" + digits[1:] if digits.startswith("0") else digits


# ---------------------------------------------------------------- enqueue

def enqueue(recipients: list[Recipient], subject: dict, body: dict, sms_text: str | None = None,
            topic: str = "", db: Path | None = None) -> int:
    """One inbox message and one e-mail per person, and one SMS per phone; returns outbox rows added."""
    people: dict[str, set[str]] = {}
    for r in recipients:
        email = r.email.strip().lower()
        if not email:
            continue
        phones = people.setdefault(email, set())
        if r.phone:
            phones.add(sms_number(r.phone))
    stamp, due = now_iso(), _utc(utc_now())
    mail_body = (f"{body['he']}\n\n{AUTOMATIC['he']}\n\n— English —\n{subject['en']}\n\n{body['en']}\n\n"
                 f"{AUTOMATIC['en']}\n")
    added = 0
    with portal_db.transaction(db) as con:
        for email, phones in sorted(people.items()):
            con.execute("INSERT INTO inbox (recipient, created_at, subject_he, subject_en, body_he, body_en, topic) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (email, stamp, subject["he"], subject["en"], body["he"], body["en"], topic))
            con.execute("INSERT INTO outbox (channel, recipient, subject, body, topic, created_at, next_attempt_at) "
                        "VALUES ('email', ?, ?, ?, ?, ?, ?)", (email, subject["he"], mail_body, topic, stamp, due))
            added += 1
            for phone in sorted(phones) if sms_text else ():
                con.execute("INSERT INTO outbox (channel, recipient, body, topic, created_at, next_attempt_at) "
                            "VALUES ('sms', ?, ?, ?, ?, ?)", (phone, sms_text, topic, stamp, due))
                added += 1
    _wake(db)
    return added


# ---------------------------------------------------------------- sending

class SendError(RuntimeError):
    pass


def send_email(to: str, subject: str, body: str) -> None:
    cfg = settings()
    msg = EmailMessage()
    msg["From"] = cfg.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utc_now())
    msg["Message-ID"] = make_msgid(domain=cfg.mail_from.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8")
    try:
        if cfg.smtp_tls and cfg.smtp_port == 465:     # implicit TLS
            client = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=SEND_TIMEOUT,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=SEND_TIMEOUT)
        with client:
            if cfg.smtp_tls and cfg.smtp_port != 465:
                client.starttls(context=ssl.create_default_context())
            if cfg.smtp_user:
                client.login(cfg.smtp_user, cfg.smtp_password)
            client.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {cfg.smtp_host}:{cfg.smtp_port}: {exc.__class__.__name__}: {exc}") from exc


def send_sms(to: str, text: str) -> None:
    url = settings().sms_gateway_url
    request = urllib.request.Request(url, data=json.dumps({"to": to, "text": text}, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as response:
            if not 200 <= response.status < 300:
                raise SendError(f"SMS gateway {url}: HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise SendError(f"SMS gateway {url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SendError(f"SMS gateway {url}: {exc}") from exc


def _send(row) -> None:
    if row["channel"] == "email":
        send_email(row["recipient"], row["subject"], row["body"])
    else:
        send_sms(row["recipient"], row["body"])


def _due_ids(now: datetime, ignore_schedule: bool, db: Path | None) -> list[int]:
    con = portal_db.connect(db)
    try:
        return [r[0] for r in con.execute(
            "SELECT id FROM outbox WHERE (status = 'pending' AND (? OR next_attempt_at <= ?)) "
            "OR (status = 'sending' AND claimed_at < ?) ORDER BY next_attempt_at, id",
            (ignore_schedule, _utc(now), _utc(now - STALE_CLAIM)))]
    finally:
        con.close()


def _claim(outbox_id: int, now: datetime, ignore_schedule: bool, db: Path | None):
    """Take one message for sending, unless another worker took it first."""
    with portal_db.transaction(db) as con:
        return con.execute(
            "UPDATE outbox SET status = 'sending', claimed_at = ? WHERE id = ? AND ("
            "(status = 'pending' AND (? OR next_attempt_at <= ?)) OR (status = 'sending' AND claimed_at < ?)) "
            "RETURNING *", (_utc(now), outbox_id, ignore_schedule, _utc(now), _utc(now - STALE_CLAIM))).fetchone()


def process_due(now: datetime | None = None, ignore_schedule: bool = False, db: Path | None = None) -> dict[str, int]:
    """One attempt at every message that is due at `now` (all pending ones with ignore_schedule).
    Returns counts: sent, retry (failed, will be tried again), failed (gave up)."""
    now = now or utc_now()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for outbox_id in _due_ids(now, ignore_schedule, db):
        row = _claim(outbox_id, now, ignore_schedule, db)
        if row is None:
            continue
        attempts = row["attempts"] + 1
        try:
            _send(row)
        except Exception as exc:   # any failure of one message must not stop the others
            error = str(exc) if isinstance(exc, SendError) else f"{exc.__class__.__name__}: {exc}"
            gave_up = attempts >= MAX_ATTEMPTS
            with portal_db.transaction(db) as con:
                con.execute("UPDATE outbox SET status = ?, attempts = ?, last_error = ?, claimed_at = NULL, "
                            "next_attempt_at = ?, failed_at = ? WHERE id = ?",
                            ("failed" if gave_up else "pending", attempts, error[:500],
                             _utc(now + backoff(attempts)), now_iso() if gave_up else None, outbox_id))
            counts["failed" if gave_up else "retry"] += 1
            log.warning("%s to %s failed (attempt %d): %s", row["channel"], row["recipient"], attempts, error)
        else:
            with portal_db.transaction(db) as con:
                con.execute("UPDATE outbox SET status = 'sent', attempts = ?, sent_at = ?, claimed_at = NULL WHERE id = ?",
                            (attempts, now_iso(), outbox_id))
            counts["sent"] += 1
    return counts


def _next_due_in(db: Path | None) -> float | None:
    con = portal_db.connect(db)
    try:
        row = con.execute("SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'").fetchone()
    finally:
        con.close()
    if not row or row[0] is None:
        return None
    return (datetime.fromisoformat(row[0]) - utc_now()).total_seconds()


# ---------------------------------------------------------------- the background worker

class _Worker(threading.Thread):
    def __init__(self, db: Path):
        super().__init__(name=f"mifkad-notify:{db.parent.name}", daemon=True)
        self.db = db
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                process_due(db=self.db)
                delay = _next_due_in(self.db)
            except Exception:   # a locked or missing database must not kill the worker for good
                log.exception("notification worker pass failed")
                delay = 30
            self.wake.wait(timeout=IDLE_POLL if delay is None else min(max(delay, 0.2), IDLE_POLL))
            self.wake.clear()


_workers: dict[Path, _Worker] = {}
_workers_lock = threading.Lock()


def ensure_worker(db: Path | None = None) -> None:
    """Start this process's sender for this database, once; wake it if it runs already."""
    db = Path(db or settings().portal_db_path)
    with _workers_lock:
        worker = _workers.get(db)
        if worker is None or not worker.is_alive():
            worker = _workers[db] = _Worker(db)
            worker.start()
    worker.wake.set()


def _wake(db: Path | None) -> None:
    worker = _workers.get(Path(db or settings().portal_db_path))
    if worker is not None:
        worker.wake.set()


def stop_worker(db: Path | None = None, timeout: float = 30) -> None:
    db = Path(db or settings().portal_db_path)
    with _workers_lock:
        worker = _workers.pop(db, None)
    if worker is not None:
        worker.stopping.set()
        worker.wake.set()
        worker.join(timeout)


def stop_all_workers(timeout: float = 30) -> None:
    """Stop every sender of this process (tests, which change databases between runs)."""
    for db in list(_workers):
        stop_worker(db, timeout)


# ---------------------------------------------------------------- what ministry staff see

@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    recipient: str
    subject: str
    topic: str
    created_at: str
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    failed_at: str | None


def problem_sends(db: Path | None = None) -> list[OutboxItem]:
    """Messages that failed for good, and ones still being retried after a failure; newest first."""
    con = portal_db.connect(db)
    try:
        rows = con.execute(
            "SELECT id, channel, recipient, subject, topic, created_at, status, attempts, next_attempt_at, last_error, "
            "failed_at FROM outbox WHERE status = 'failed' OR (status IN ('pending', 'sending') AND attempts > 0) "
            "ORDER BY status = 'failed' DESC, id DESC").fetchall()
    finally:
        con.close()
    return [OutboxItem(**dict(r)) for r in rows]


def retry(outbox_id: int, db: Path | None = None) -> None:
    """Send a failed message again from now, with a fresh series of attempts."""
    with portal_db.transaction(db) as con:
        con.execute("UPDATE outbox SET status = 'pending', attempts = 0, failed_at = NULL, next_attempt_at = ? "
                    "WHERE id = ? AND status = 'failed'", (_utc(utc_now()), int(outbox_id)))
    _wake(db)


def outbox_counts(db: Path | None = None) -> dict[str, int]:
    con = portal_db.connect(db)
    try:
        counts = {s: 0 for s in ("pending", "sending", "sent", "failed")}
        counts.update({r[0]: r[1] for r in con.execute("SELECT status, count(*) FROM outbox GROUP BY status")})
        return counts
    finally:
        con.close()


# ---------------------------------------------------------------- the inbox

@dataclass(frozen=True)
class Message:
    id: int
    created_at: str
    subject_he: str
    subject_en: str
    body_he: str
    body_en: str
    topic: str
    read_at: str | None

    def subject(self, lang: str) -> str:
        return self.subject_en if lang == "en" else self.subject_he

    def body(self, lang: str) -> str:
        return self.body_en if lang == "en" else self.body_he


def inbox(email: str, limit: int = 200) -> list[Message]:
    """This person's messages, newest first (only ever their own: the recipient is the filter)."""
    con = portal_db.connect()
    try:
        rows = con.execute("SELECT id, created_at, subject_he, subject_en, body_he, body_en, topic, read_at FROM inbox "
                           "WHERE recipient = ? ORDER BY id DESC LIMIT ?", (email.lower(), limit)).fetchall()
    finally:
        con.close()
    return [Message(**dict(r)) for r in rows]


def unread_count(email: str) -> int:
    con = portal_db.connect()
    try:
        return con.execute("SELECT count(*) FROM inbox WHERE recipient = ? AND read_at IS NULL",
                           (email.lower(),)).fetchone()[0]
    finally:
        con.close()


def mark_read(email: str, ids: list[int] | None = None) -> int:
    """Mark this person's messages read (all of them when ids is None); others' messages are untouched."""
    with portal_db.transaction() as con:
        if ids is None:
            return con.execute("UPDATE inbox SET read_at = ? WHERE recipient = ? AND read_at IS NULL",
                               (now_iso(), email.lower())).rowcount
        marks = ",".join("?" * len(ids))
        return con.execute(f"UPDATE inbox SET read_at = ? WHERE recipient = ? AND read_at IS NULL AND id IN ({marks})",
                           (now_iso(), email.lower(), *[int(i) for i in ids])).rowcount


# ---------------------------------------------------------------- command line

def main(argv: list[str]) -> int:
    if argv[:1] == ["drain"]:
        counts = process_due(ignore_schedule=True)
        left = outbox_counts()
        print(f"sent {counts['sent']}, will retry {counts['retry']}, gave up {counts['failed']}; "
              f"now pending {left['pending']}, failed {left['failed']}")
        return 0 if counts["retry"] == 0 and counts["failed"] == 0 else 1
    if argv[:1] == ["status"]:
        print(" ".join(f"{k} {v}" for k, v in outbox_counts().items()))
        for item in problem_sends():
            print(f"  #{item.id} {item.status} {item.channel} {item.recipient} attempts {item.attempts}: {item.last_error}")
        return 0
    print("usage: python -m common.notify drain|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main(sys.argv[1:]))
