"""Hebrew first, English available. Each module keeps its own strings beside its code:

    TEXT = {"title": {"he": "תלמידים", "en": "Students"}}
    st.title(tr(TEXT, "title"))

Formats for Israel: dates DD/MM/YYYY in the UI (ISO in files), numbers with thousands separators.
"""
from __future__ import annotations

from datetime import date, datetime

LANGUAGES = ("he", "en")
DEFAULT_LANGUAGE = "he"
_SESSION_KEY = "mifkad_lang"


def current_language() -> str:
    try:
        import streamlit as st
        return st.session_state.get(_SESSION_KEY, DEFAULT_LANGUAGE)
    except Exception:  # outside a Streamlit script run (CLI, tests of plain functions)
        return DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    import streamlit as st
    st.session_state[_SESSION_KEY] = lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def saved_language(email: str) -> str | None:
    """The language this person chose last (kept in the portal's records, so a new tab, a reload or
    another device opens in it)."""
    from common import portal_db
    con = portal_db.connect()
    try:
        row = con.execute("SELECT lang FROM preferences WHERE email = ?", (email,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def save_language(email: str, lang: str) -> None:
    from common import portal_db
    from common.clock import now_iso
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    with portal_db.transaction() as con:
        con.execute("INSERT INTO preferences (email, lang, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (email) DO UPDATE SET lang = excluded.lang, updated_at = excluded.updated_at",
                    (email, lang, now_iso()))


def tr(table: dict, key: str, lang: str | None = None, **fmt) -> str:
    entry = table[key]
    text = entry.get(lang or current_language()) or entry[DEFAULT_LANGUAGE]
    return text.format(**fmt) if fmt else text


def is_rtl(lang: str | None = None) -> bool:
    return (lang or current_language()) == "he"


def fmt_date(value: date | datetime | str | None) -> str:
    """DD/MM/YYYY; accepts a date, a datetime or an ISO string."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def fmt_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y %H:%M")


def fmt_int(value) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}"


def fmt_delta(value) -> str | None:
    if value is None:
        return None
    return f"{int(value):+,}"


# Grade names (SHICHVA 1-14), as Israelis say them.
GRADE_NAMES_HE = {1: "א", 2: "ב", 3: "ג", 4: "ד", 5: "ה", 6: "ו", 7: "ז", 8: "ח", 9: "ט", 10: "י",
                  11: "יא", 12: "יב", 13: "יג", 14: "יד"}


def grade_name(shichva, lang: str | None = None) -> str:
    if shichva is None:
        return "—"
    if (lang or current_language()) == "he":
        return GRADE_NAMES_HE.get(int(shichva), str(shichva))
    return str(int(shichva))
