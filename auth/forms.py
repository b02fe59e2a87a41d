"""The paper side of an access request: the blank Form A and its filling instructions, as Hebrew PDFs,
and the right-to-left PDF page that Form B (auth/formb.py) is written on.

Hebrew is shaped with HarfBuzz (uharfbuzz) and laid out by fpdf2's bidirectional algorithm, so a
line like "רשות: תל אביב-יפו (5000)" reads right to left with its numbers intact. The font must
have Hebrew glyphs: Debian's fonts-dejavu-core (DejaVu Sans) is the one we rely on.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from common.config import REPO_ROOT

INSTRUCTIONS_MD = REPO_ROOT / "docs" / "forms" / "form-a-instructions.md"
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSansHebrew-Bold.ttf"),
)
# A fixed date for documents whose content never changes (the blank form), so their bytes are stable.
FIXED_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def hebrew_font() -> tuple[str, str]:
    """(regular, bold) TTF paths of a font with Hebrew glyphs."""
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).exists():
            return regular, bold if Path(bold).exists() else regular
    if shutil.which("fc-match"):   # another distribution's layout: ask fontconfig for a Hebrew font
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=he"], capture_output=True, text=True).stdout
        if found.lower().endswith(".ttf") and Path(found).exists():
            return found, found
    raise FontMissing("no font with Hebrew glyphs: install Debian's fonts-dejavu-core")


class HebrewPDF(FPDF):
    """An A4 page written right to left, with a footer naming the document and the page."""

    def __init__(self, title: str, footer_text: str, created: datetime | None = None):
        super().__init__(format="A4", unit="mm")
        regular, bold = hebrew_font()
        self.add_font("Hebrew", "", regular)
        self.add_font("Hebrew", "B", bold)
        self.set_text_shaping(use_shaping_engine=True, direction="rtl", script="hebr", language="heb")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_author("משרד החינוך — מפקד")
        self.set_creator("Mifkad")
        self.set_lang("he")
        self.set_creation_date(created or FIXED_DATE)
        self._footer_text = footer_text

    @property
    def text_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("Hebrew", "", 8)
        self.set_text_color(110)
        # No "of N" total: fpdf2's page-count alias is substituted after shaping and lands out of order.
        self.cell(0, 5, f"{self._footer_text} · עמוד {self.page_no()}", align="C")
        self.set_text_color(0)

    def title_block(self, title: str, subtitle: str = "") -> None:
        self.set_font("Hebrew", "B", 17)
        self.multi_cell(0, 9, title, align="R", new_x="LMARGIN", new_y="NEXT")
        if subtitle:
            self.set_font("Hebrew", "", 11)
            self.set_text_color(70)
            self.multi_cell(0, 6, subtitle, align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0)
        self.ln(2)
        self.set_draw_color(60)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(4)

    def heading(self, text: str, size: float = 13) -> None:
        if self.will_page_break(24):
            self.add_page()
        self.ln(2)
        self.set_font("Hebrew", "B", size)
        self.multi_cell(0, 7, text, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str, size: float = 10.5, bold: bool = False, height: float = 5.6) -> None:
        self.set_font("Hebrew", "B" if bold else "", size)
        self.multi_cell(0, height, text, align="R", new_x="LMARGIN", new_y="NEXT")

    def item(self, marker: str, text: str, size: float = 10.5) -> None:
        """A list item: the marker in its own column at the right, the text wrapping beside it."""
        self.set_font("Hebrew", "", size)
        y, indent = self.get_y(), 7
        self.set_xy(self.w - self.r_margin - indent, y)
        self.cell(indent, 5.6, marker, align="R")
        self.set_xy(self.l_margin, y)
        self.multi_cell(self.text_width - indent, 5.6, text, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(0.8)

    def field(self, label: str, value: str, label_width: float = 48) -> None:
        """A label at the right and its value beside it, the value wrapping within its column."""
        if self.will_page_break(7):
            self.add_page()
        y = self.get_y()
        self.set_font("Hebrew", "B", 10.5)
        self.set_xy(self.w - self.r_margin - label_width, y)
        self.multi_cell(label_width, 6, label, align="R", new_x="RIGHT", new_y="TOP")
        label_bottom = max(self.get_y(), y + 6)
        self.set_font("Hebrew", "", 10.5)
        self.set_xy(self.l_margin, y)
        self.multi_cell(self.text_width - label_width - 2, 6, value or "—", align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), label_bottom) + 0.6)

    def blank_field(self, label: str, label_width: float = 48, height: float = 9) -> None:
        """A label at the right and a line to write on, for the printed form."""
        if self.will_page_break(height):
            self.add_page()
        y = self.get_y()
        self.set_font("Hebrew", "", 10.5)
        self.set_xy(self.w - self.r_margin - label_width, y)
        self.cell(label_width, height, label, align="R")
        self.set_draw_color(150)
        self.line(self.l_margin, y + height - 1.5, self.w - self.r_margin - label_width - 2, y + height - 1.5)
        self.set_y(y + height)

    def writing_box(self, label: str, height: float = 30) -> None:
        if self.will_page_break(height + 8):   # keep the label with its box
            self.add_page()
        self.para(label, bold=True)
        self.set_draw_color(150)
        self.rect(self.l_margin, self.get_y() + 1, self.text_width, height)
        self.set_y(self.get_y() + height + 3)


# The printed Form A: the same parts, in the same order, as the online form (pages/access_request.py).
FORM_A_TITLE = "טופס א' — בקשת רשות מקומית לגישה למצבת התלמידים"
FORM_A_PEOPLE = (
    ("מנהל/ת מאגר המידע (בדרך כלל מנהל/ת אגף החינוך)", True),
    ("הממונה על אבטחת המידע", True),
    ("היועץ/ת המשפטי/ת של הרשות", True),
    ("מנהל/ת מצבת התלמידים המוצע/ת (יקבל/תקבל גישה לפורטל)", False),
)
DECLARATION = (
    "אנו, החתומים מטה, מבקשים בשם הרשות גישה למצבת התלמידים של הרשות בפורטל \"מפקד\" של משרד החינוך. "
    "אנו מצהירים כי המידע ישמש אך ורק למטרה המפורטת בטופס זה, יישמר בהתאם לחוק הגנת הפרטיות, התשמ\"א-1981, "
    "ולתקנות הגנת הפרטיות (אבטחת מידע), התשע\"ז-2017, ולא יועבר לאחר אלא לספק תוכנה שהרשות נתנה לו ייפוי כוח "
    "בפורטל. ידוע לנו כי כל צפייה והורדה נרשמות, וכי משרד החינוך רשאי לבטל את הגישה."
)
SIGNERS = ("ראש הרשות / מנכ\"ל/ית הרשות", "מנהל/ת מאגר המידע", "הממונה על אבטחת המידע", "היועץ/ת המשפטי/ת")


def blank_form_a() -> bytes:
    """The blank Form A to print, fill, sign and scan; its filling instructions follow on the next pages."""
    pdf = HebrewPDF(FORM_A_TITLE, "טופס א' · משרד החינוך · מפקד")
    pdf.add_page()
    pdf.title_block(FORM_A_TITLE, "משרד החינוך · פורטל מצבת התלמידים \"מפקד\" · יש למלא את כל השדות בכתב יד ברור")
    pdf.heading("1. הרשות המבקשת")
    pdf.blank_field("שם הרשות")
    pdf.blank_field("סמל הרשות")
    for number, (title, with_role) in enumerate(FORM_A_PEOPLE, start=2):
        pdf.heading(f"{number}. {title}")
        pdf.blank_field("שם מלא")
        if with_role:
            pdf.blank_field("תפקיד")
        pdf.blank_field("דואר אלקטרוני")
        pdf.blank_field("טלפון")
    if pdf.will_page_break(50):
        pdf.add_page()
    pdf.heading(f"{len(FORM_A_PEOPLE) + 2}. מטרת השימוש במידע")
    pdf.writing_box("לשם מה הרשות זקוקה למצבת התלמידים:", height=28)
    pdf.heading(f"{len(FORM_A_PEOPLE) + 3}. הצהרה והתחייבות")
    pdf.para(DECLARATION)
    pdf.ln(3)
    for signer in SIGNERS:
        if pdf.will_page_break(20):
            pdf.add_page()
        pdf.para(signer, bold=True)
        pdf.blank_field("שם", label_width=20, height=8)
        pdf.blank_field("חתימה ותאריך", label_width=30, height=9)
        pdf.ln(1)
    pdf.add_page()
    _write_markdown(pdf, instructions_text())
    return bytes(pdf.output())


def instructions_text() -> str:
    """The filling instructions (Hebrew Markdown), shown on the page and printed after the form."""
    return INSTRUCTIONS_MD.read_text(encoding="utf-8")


def instructions_pdf() -> bytes:
    pdf = HebrewPDF("הוראות מילוי — טופס א'", "הוראות מילוי טופס א' · משרד החינוך · מפקד")
    pdf.add_page()
    _write_markdown(pdf, instructions_text())
    return bytes(pdf.output())


_NUMBERED = re.compile(r"^(\d+)\.\s+(.*)$")


def _write_markdown(pdf: HebrewPDF, text: str) -> None:
    """The small Markdown the instructions use: # title, ## headings, - bullets, 1. steps, paragraphs."""
    for block in re.split(r"\n\s*\n", text.strip()):
        for line in block.splitlines():
            line = line.strip().replace("**", "")
            if line.startswith("# "):
                pdf.title_block(line[2:])
            elif line.startswith("## "):
                pdf.heading(line[3:])
            elif line.startswith("- "):
                pdf.item("•", line[2:])
            elif m := _NUMBERED.match(line):
                pdf.item(f"{m.group(1)}.", m.group(2))
            elif line:
                pdf.para(line)
        pdf.ln(1.5)
