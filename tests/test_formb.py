"""Form B (and the blank Form A) as the reader sees them: rendered by poppler to text and to an image,
the Hebrew laid out right to left and readable in logical order."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from auth import formb, forms
from auth import requests as R
from auth.principal import load_principal
from auth.requests import State
from common import portal_db
from tests.test_requests import ADMIN, CANDIDATE, STRANGER, do, people, request_in  # noqa: F401 (fixture)

BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HEBREW = re.compile("[\u0590-\u05ff]")
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: install Debian's poppler-utils")
    return path


def pdf_text(pdf: Path) -> str:
    """What a reader copies out of the PDF, in logical order (poppler's bidi), without direction marks."""
    out = subprocess.run([poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True)
    return BIDI_CONTROLS.sub("", out.stdout.decode("utf-8"))


def lines_as_seen(pdf: Path) -> list[tuple[float, float, str]]:
    """Each line of page 1 read the way a Hebrew reader's eye goes: words from right to left, each
    Hebrew word's glyphs as placed on the page reversed back into reading order (numbers and Latin
    words are placed left to right already). Returns (top, right edge, text) per line."""
    out = subprocess.run([poppler("pdftotext"), "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                         capture_output=True, check=True).stdout.decode("utf-8")
    rows: dict[float, list] = {}
    for x_min, y_min, x_max, _y_max, word in WORD.findall(out):
        rows.setdefault(round(float(y_min)), []).append((float(x_min), float(x_max), html.unescape(word)))
    lines = []
    for top, words in sorted(rows.items()):
        words.sort(key=lambda w: -w[0])
        lines.append((top, max(w[1] for w in words), " ".join(w[2][::-1] if HEBREW.search(w[2]) else w[2]
                                                             for w in words)))
    return lines


def render_png(pdf: Path, dpi: int = 50) -> Image.Image:
    prefix = pdf.with_suffix("")
    subprocess.run([poppler("pdftoppm"), "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(prefix)], check=True)
    return Image.open(prefix.with_suffix(".png")).convert("L")


@pytest.fixture
def approved_form_b(people, tmp_path) -> Path:
    rid = request_in(State.FORWARDED)
    R.record_decision(load_principal(ADMIN), rid, State.APPROVED, date(2026, 11, 30), "ועדה 2026/17",
                      "אושר לשנת הלימודים")
    path = tmp_path / "form-b.pdf"
    path.write_bytes(formb.form_b_bytes(load_principal(CANDIDATE), rid))
    return path


def test_form_b_reads_right_to_left_in_the_rendered_page(approved_form_b):
    lines = lines_as_seen(approved_form_b)
    page_width = 595.28
    title = next(line for line in lines if "טופס" in line[2])
    assert title[2] == formb.TITLE
    assert title[1] > page_width - 60            # flush with the right margin, as Hebrew is set
    seen = [text for _top, _right, text in lines]
    # Each label at the right, its value to its left: read label first.
    assert "ההחלטה הבקשה אושרה" in seen
    assert "שם מיכל ברק" in seen
    assert "מספר החלטה ועדה 2026/17" in seen


def test_form_b_text_comes_out_in_logical_order_with_the_decision_details(approved_form_b):
    text = pdf_text(approved_form_b)
    for phrase in (formb.TITLE, "הבקשה אושרה", "אושר לשנת הלימודים", "ועדה 2026/17", "30/11/2026", "חיפה",
                   "4000", "מנהל/ת מצבת התלמידים שמונה/תה", "appointee@haifa.test", "050-1234567",
                   "רונית לוי", "מנהלת אגף החינוך"):
        assert phrase in text, phrase
    assert "הרשואהשקבה" not in text.replace(" ", "")    # not the visual (reversed) order


def test_form_b_renders_to_a_non_blank_page_with_ink_at_the_right(approved_form_b):
    image = render_png(approved_form_b)
    width, height = image.size
    ink = [(x, y) for y in range(height) for x in range(0, width, 2) if image.getpixel((x, y)) < 128]
    assert len(ink) > 1000                                     # not blank
    top_band = [x for x, y in ink if y < height * 0.1]         # the title
    assert max(top_band) > width * 0.85 and min(top_band) > width * 0.08


def test_a_rejected_request_has_a_form_b_saying_so_without_appointing_anyone(people, tmp_path):
    rid = request_in(State.REJECTED)
    path = tmp_path / "rejected.pdf"
    path.write_bytes(formb.form_b_bytes(load_principal(CANDIDATE), rid))
    text = pdf_text(path)
    assert "הבקשה נדחתה" in text and "הבקשה אושרה" not in text
    assert "שמונה/תה" not in text


def test_form_b_is_only_for_people_who_may_see_the_request_and_only_once_decided(people):
    rid = request_in(State.FORWARDED)
    with pytest.raises(R.RequestError) as err:
        formb.form_b_bytes(load_principal(CANDIDATE), rid)
    assert err.value.code == "not_decided"
    do(State.APPROVED, rid)
    with pytest.raises(PermissionError):
        formb.form_b_bytes(load_principal(STRANGER), rid)
    assert formb.form_b_bytes(load_principal(ADMIN), rid).startswith(b"%PDF-")


def test_a_form_b_download_is_audited_before_the_document_is_handed_out(people, monkeypatch):
    rid = request_in(State.APPROVED)
    seen_at_render = []

    def render_and_look(req, decision):
        con = portal_db.connect()
        seen_at_render.append(con.execute("SELECT count(*) FROM audit_events WHERE action = 'form_b_download'")
                              .fetchone()[0])
        con.close()
        return b"%PDF-"

    monkeypatch.setattr(formb, "render", render_and_look)
    formb.form_b_bytes(load_principal(CANDIDATE), rid)
    assert seen_at_render == [1]


def test_the_same_decision_always_gives_the_same_document(people):
    rid = request_in(State.APPROVED)
    req, decision = R.get_request(rid), R.decision_of(rid)
    assert formb.render(req, decision) == formb.render(req, decision)


def test_the_blank_form_a_and_its_instructions_are_hebrew_documents(tmp_path):
    blank, instructions = tmp_path / "a.pdf", tmp_path / "i.pdf"
    blank.write_bytes(forms.blank_form_a())
    instructions.write_bytes(forms.instructions_pdf())
    form_text = pdf_text(blank)
    for phrase in (forms.FORM_A_TITLE, "מנהל/ת מאגר המידע", "הממונה על אבטחת המידע", "היועץ/ת המשפטי/ת",
                   "מטרת השימוש במידע", "הצהרה והתחייבות", "הוראות מילוי"):
        assert phrase in form_text, phrase
    assert "שלבי המילוי" in pdf_text(instructions)
    seen = lines_as_seen(blank)
    assert seen[0][2] == forms.FORM_A_TITLE
