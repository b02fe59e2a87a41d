"""Signed PDFs people upload (Form A, vendor declarations): checked by content, stored under a new name.

    name = store_pdf(data, original_name)     # raises UploadError with a clear reason
    data = open_upload(name)

A file is accepted only if it really is a PDF (starts with %PDF- and ends with an %%EOF trailer),
is within settings().upload_max_bytes, and its original name is a plain file name. The stored name is
generated (never derived from the uploader's name), so nobody can choose where a file lands.
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from common.config import settings
from common.i18n import tr

PDF_MAGIC = b"%PDF-"
PDF_TRAILER = b"%%EOF"
# Writers may put a few bytes (line ends, padding) after the final %%EOF; real files stay within this.
TRAILER_WINDOW = 1024
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.pdf$")

TEXT = {
    "empty": {"he": "הקובץ {file} ריק.", "en": "The file {file} is empty."},
    "too_big": {"he": "הקובץ {file} גדול מדי ({size} MB); הגודל המרבי הוא {limit} MB.",
                "en": "The file {file} is too large ({size} MB); the limit is {limit} MB."},
    "bad_name": {"he": "שם הקובץ {file} אינו תקין: {why}.", "en": "The file name {file} is not valid: {why}."},
    "not_pdf_name": {"he": "הקובץ {file} אינו בסיומת ‎.pdf.", "en": "The file {file} does not end in .pdf."},
    "executable": {"he": "הקובץ {file} הוא תוכנה (מתחיל ב-MZ), לא מסמך PDF.",
                   "en": "The file {file} is a program (starts with MZ), not a PDF."},
    "not_pdf": {"he": "הקובץ {file} אינו מסמך PDF (אינו מתחיל ב-%PDF-).",
                "en": "The file {file} is not a PDF (it does not start with %PDF-)."},
    "truncated": {"he": "הקובץ {file} קטוע: חסר סימן הסיום %%EOF של PDF.",
                  "en": "The file {file} is truncated: the PDF end marker %%EOF is missing."},
    "missing": {"he": "הקובץ השמור {file} לא נמצא.", "en": "The stored file {file} was not found."},
}
WHY = {
    "blank": {"he": "השם ריק", "en": "the name is empty"},
    "nul": {"he": "השם מכיל תו NUL", "en": "it contains a NUL character"},
    "control": {"he": "השם מכיל תווי בקרה", "en": "it contains control characters"},
    "path": {"he": "השם מכיל נתיב (/ או \\)", "en": "it contains a path (/ or \\)"},
    "long": {"he": "השם ארוך מ-255 תווים", "en": "it is longer than 255 characters"},
}


class UploadError(ValueError):
    """A rejected upload. str() is English; .text(lang) gives the message in the reader's language."""

    def __init__(self, code: str, file: str, **params):
        self.code, self.file, self.params = code, file, params
        super().__init__(self.text("en"))

    def text(self, lang: str | None = None) -> str:
        params = dict(self.params)
        if "why" in params:
            params["why"] = tr(WHY, params["why"], lang)
        return tr(TEXT, self.code, lang, file=_shown(self.file), **params)


def _shown(name: str) -> str:
    """The uploader's name as it may be shown back: control characters made visible, length capped."""
    visible = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)
    return f"'{visible[:120]}'"


def check_name(original_name: str) -> str:
    """The name as given, if it is a plain PDF file name; otherwise UploadError saying why."""
    name = original_name or ""
    if not name.strip():
        raise UploadError("bad_name", name, why="blank")
    if "\x00" in name:
        raise UploadError("bad_name", name, why="nul")
    if any(not c.isprintable() for c in name):
        raise UploadError("bad_name", name, why="control")
    if "/" in name or "\\" in name or name.strip() in {".", ".."}:
        raise UploadError("bad_name", name, why="path")
    if len(name) > 255:
        raise UploadError("bad_name", name, why="long")
    if not name.lower().endswith(".pdf"):
        raise UploadError("not_pdf_name", name)
    return name


def check_pdf(data: bytes, original_name: str) -> None:
    """Content checks: size, then the PDF header and trailer (the name's extension proves nothing)."""
    limit = settings().upload_max_bytes
    if not data:
        raise UploadError("empty", original_name)
    if len(data) > limit:
        raise UploadError("too_big", original_name, size=f"{len(data) / 1048576:.1f}", limit=f"{limit / 1048576:g}")
    if data.startswith(b"MZ"):
        raise UploadError("executable", original_name)
    if not data.startswith(PDF_MAGIC):
        raise UploadError("not_pdf", original_name)
    if PDF_TRAILER not in data[-TRAILER_WINDOW:]:
        raise UploadError("truncated", original_name)


def store_pdf(data: bytes, original_name: str) -> str:
    """Check and store an uploaded PDF; returns the generated stored name (for open_upload)."""
    check_name(original_name)
    check_pdf(data, original_name)
    folder = settings().uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}.pdf"
    tmp = folder / f".{stored}.tmp"
    # Write then rename, so a reader never sees half a file; fsync so a recorded name has its bytes.
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    tmp.rename(folder / stored)
    return stored


def upload_path(name: str) -> Path:
    """Only names store_pdf generated resolve, so a stored name can never point outside the folder."""
    if not isinstance(name, str) or not STORED_NAME.match(name):
        raise UploadError("missing", str(name))
    return settings().uploads_dir / name


def open_upload(name: str) -> bytes:
    path = upload_path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UploadError("missing", name) from None
