"""An access request from start to finish in chromium: the candidate files Form A with the signed PDF,
the ministry returns it, the candidate resubmits, the ministry forwards it and records the approval,
the candidate downloads Form B and sees the census; the e-mails and SMS went out through the stack's
SMTP server and SMS gateway; and a revocation takes the census away again."""
from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.helpers import click_and_wait, login, screenshot, wait_for_app

CANDIDATE = "candidate@haifa.test"
# בית שמש: in the built-in world the e2e demo uses, and its access is not opened by the demo seed.
AUTHORITY, AUTHORITY_NAME = "2610", "בית שמש"
FORM = {
    "db_manager_name": "רונית לוי", "db_manager_role": "מנהלת אגף החינוך",
    "db_manager_email": "ronit@bet-shemesh.muni.il", "db_manager_phone": "02-9900123",
    "security_name": "אבי כהן", "security_role": "ממונה אבטחת מידע",
    "security_email": "avi@bet-shemesh.muni.il", "security_phone": "02-9900124",
    "legal_name": "שרה מזרחי", "legal_role": "יועצת משפטית",
    "legal_email": "sara@bet-shemesh.muni.il", "legal_phone": "02-9900125",
    "appointee_name": "מיכל ברק", "appointee_email": CANDIDATE, "appointee_phone": "050-7654321",
}
PURPOSE = "שיבוץ תלמידים במוסדות החינוך של העיר ואיתור ילדים בגיל חינוך חובה שאינם משובצים"
SIGNED_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def open_nav(page: Page, title: str) -> None:
    """Open a page by its navigation title; the inbox's title goes on with its unread count."""
    click_and_wait(page, page.get_by_role("link", name=re.compile("^" + re.escape(title) + r"( \(|$)")))


def keyed(page: Page, key: str, element: str = "input"):
    """The input of the widget created with key=`key` (Streamlit marks its container st-key-<key>)."""
    return page.locator(f".st-key-{key} {element}")


def submit(page: Page, label: str) -> None:
    click_and_wait(page, page.get_by_role("button", name=label, exact=True).first)


def shows(page: Page, text: str) -> None:
    """The page shows `text` (retrying: a click's rerun may be followed by the page's own st.rerun)."""
    expect(page.locator("[data-testid='stMain']")).to_contain_text(text)


def in_state(stack, state: str) -> dict:
    return wait_until(lambda: (row := request_row(stack))["state"] == state and row, f"the request reaching {state}",
                      timeout=30)


def request_row(stack) -> dict:
    con = stack.records()
    try:
        return dict(con.execute("SELECT * FROM access_requests WHERE requester = ? ORDER BY id DESC LIMIT 1",
                                (CANDIDATE,)).fetchone())
    finally:
        con.close()


def mails_to(stack, address: str) -> list[email.message.EmailMessage]:
    folder = stack.home / "mail"
    found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in sorted(folder.glob("*.eml"))] if folder.exists() else []
    return [m for m in found if m["To"] == address]


def wait_until(check, what: str, timeout: float = 90):
    """The app's sender thread works in the background: wait for its result, and say what never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s")


def test_a_request_from_form_a_to_approval_to_the_census_and_back(e2e_stack, new_context, tmp_path):
    signed = tmp_path / "טופס-א-חתום.pdf"
    signed.write_bytes(SIGNED_PDF)

    # The candidate files Form A with the signed PDF.
    candidate = login(new_context(), "candidate")
    shows(candidate, "אין לך עדיין הרשאה")
    open_nav(candidate, "בקשת גישה")
    with candidate.expect_download() as blank:
        candidate.get_by_role("button", name="הורדת טופס א' ריק (PDF)").click()
    assert blank.value.path().read_bytes().startswith(b"%PDF-")
    box = candidate.locator(".st-key-req_new_authority")
    box.click()
    box.locator("input").fill(AUTHORITY_NAME)
    candidate.get_by_role("option", name=f"{AUTHORITY_NAME} ({AUTHORITY})", exact=True).click()
    for field, value in FORM.items():
        keyed(candidate, f"req_new_{field}").fill(value)
    keyed(candidate, "req_new_purpose", "textarea").fill(PURPOSE)
    keyed(candidate, "req_new_pdf", "input[type=file]").set_input_files(str(signed))
    expect(candidate.locator("[data-testid='stFileChipName']")).to_have_text(signed.name)
    expect(candidate.locator("[data-testid='stFileChipIconSpinner']")).to_have_count(0)
    submit(candidate, "הגשה")
    request = in_state(e2e_stack, "submitted")
    rid = request["id"]
    assert (request["authority"], request["signed_pdf_name"]) == (AUTHORITY, signed.name)
    shows(candidate, f"בקשה {rid} הוגשה למשרד החינוך.")
    wait_for_app(candidate)
    screenshot(candidate, "access-request-submitted")

    # The ministry returns it with feedback.
    ministry = login(new_context(), "ministry-admin")
    open_nav(ministry, "תור בקשות גישה")
    shows(ministry, "תור בקשות הגישה")
    expect(ministry.get_by_role("button", name="רישום ההחלטה")).to_have_count(0)   # no skipping ahead
    keyed(ministry, f"feedback_{rid}", "textarea").fill("חסר מספר הטלפון הנייד של מנהלת המצבה")
    submit(ministry, "החזרה לרשות לתיקון")
    in_state(e2e_stack, "returned")

    # The candidate reads the feedback and resubmits.
    candidate.reload()
    wait_for_app(candidate)
    shows(candidate, "הערות משרד החינוך: חסר מספר הטלפון הנייד של מנהלת המצבה")
    submit(candidate, "הגשה מחדש")
    in_state(e2e_stack, "resubmitted")

    # The ministry forwards it to the committee, then records the committee's approval.
    ministry.reload()
    wait_for_app(ministry)
    submit(ministry, "העברה לוועדה")
    in_state(e2e_stack, "forwarded")
    keyed(ministry, f"committee_ref_{rid}").fill("ועדה 2026/17")
    keyed(ministry, f"notes_{rid}", "textarea").fill("אושר לשנת הלימודים")
    submit(ministry, "רישום ההחלטה")
    in_state(e2e_stack, "approved")
    shows(ministry, f"בקשה {rid} עברה למצב \"אושרה\".")
    ministry.get_by_role("radiogroup").get_by_text("כל הבקשות").click()
    wait_for_app(ministry)
    shows(ministry, "אושר לשנת הלימודים")      # the committee's notes, now in the request's history
    screenshot(ministry, "access-request-approved-queue")

    # The candidate downloads Form B, and the census is open to them as roster manager.
    candidate.reload()
    wait_for_app(candidate)
    with candidate.expect_download() as form_b:
        candidate.get_by_role("button", name="הורדת טופס ב' (החלטת הוועדה)").click()
    saved = tmp_path / form_b.value.suggested_filename
    form_b.value.save_as(saved)
    assert saved.name == f"form-b-request-{rid}-{AUTHORITY}.pdf"
    assert saved.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        text = re.sub("[\u200e\u200f\u202a-\u202e]", "", subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(saved), "-"], capture_output=True, check=True).stdout.decode())
        assert "הבקשה אושרה" in text and "ועדה 2026/17" in text and AUTHORITY_NAME in text
    open_nav(candidate, "דף הבית")
    shows(candidate, f"רשות פתוחה: {AUTHORITY_NAME} ({AUTHORITY})")
    open_nav(candidate, "סקירה כללית")
    shows(candidate, AUTHORITY_NAME)
    expect(candidate.locator("[data-testid='stException']")).to_have_count(0)
    screenshot(candidate, "access-request-census-open")

    # Everyone concerned was told: inbox, e-mail through the stack's SMTP server, SMS to the manager.
    open_nav(candidate, "הודעות")
    shows(candidate, "אושרה")
    approved = wait_until(lambda: [m for m in mails_to(e2e_stack, CANDIDATE) if "אושרה" in m["Subject"]],
                          "the approval e-mail to the candidate")
    assert AUTHORITY_NAME in approved[0].get_body(("plain",)).get_content()
    assert wait_until(lambda: mails_to(e2e_stack, "admin@education.gov.il"), "the submission e-mail to the ministry")
    sms_file = Path(e2e_stack.home) / "sms.jsonl"
    texts = wait_until(lambda: [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines()
                                if "+972507654321" in line] if sms_file.exists() else [],
                       "the SMS to the roster manager")
    assert any("אושרה" in t["text"] for t in texts)

    # Revocation closes the authority again: gone at the candidate's next click.
    keyed(ministry, f"reason_{rid}", "textarea").fill("סיום הפיילוט")
    submit(ministry, "ביטול הגישה")
    in_state(e2e_stack, "revoked")
    open_nav(candidate, "דף הבית")
    expect(candidate.locator("[data-testid='stMain']")).not_to_contain_text("רשות פתוחה")
    shows(candidate, "אין לך עדיין הרשאה")
    expect(candidate.get_by_role("link", name="סקירה כללית", exact=True)).to_have_count(0)
