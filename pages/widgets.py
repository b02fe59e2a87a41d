"""Shared helpers of the census pages: tables, paging, the audited export button, empty states,
charts with Hebrew labels, and the names of codes.

Tables show what the query runner returned (already masked per permissions, already in Hebrew
order from SQL); `present` only decodes codes and formats dates for people. The export button is
the only way a table leaves the portal: it checks the person's permission again from the portal's
records, records `table_export` in the audit trail, and only then serves the CSV.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from auth import audit
from auth.permissions import Action, allowed
from data.spreadsheet import FORMULA_CHARS
from common.i18n import GRADE_NAMES_HE, current_language, fmt_date, fmt_int, tr
from queries import Scope
from queries.masking import HIDDEN

# The secret in student references (md5 in queries/students.sql) and change-page keys: rows are opened
# and joined across snapshots without identity numbers. New per process; never stored or sent out.
SALT = secrets.token_hex(16)

PAGE_SIZE = 50
ALL_ROWS = 1 << 40          # LIMIT of a paged statement when a table is exported whole

TEXT = {
    "export": {"he": "ייצוא הטבלה (CSV)", "en": "Export this table (CSV)"},
    "export_help": {"he": "הייצוא נרשם ביומן הביקורת. פרטים אישיים מוסתרים לפי ההרשאות שלך.",
                    "en": "Exports are recorded in the audit log. Personal details are hidden per your permissions."},
    "rows_of": {"he": "שורות {first}–{last} מתוך {total}", "en": "Rows {first}–{last} of {total}"},
    "page": {"he": "עמוד", "en": "Page"},
    "no_snapshot": {"he": "עדיין לא פורסמה תמונת מצב, ולכן אין נתונים להציג. צוות משרד החינוך טוען את הקובץ "
                          "היומי; הנתונים יופיעו כאן מיד לאחר הפרסום.",
                    "en": "No snapshot has been published yet, so there is nothing to show. Ministry staff load the "
                          "daily feed; the data appears here as soon as it is published."},
    "no_authority": {"he": "לא נפתחה רשות. בחר/י רשות בסרגל הצד, או פנה/י למנהל/ת המצבה של הרשות לקבלת הרשאה.",
                     "en": "No authority is open. Choose one in the sidebar, or ask your authority's roster manager "
                           "for access."},
    "no_rows_filters": {"he": "אין שורות התואמות את הסינון. נסו להרחיב את הסינון או לנקות את החיפוש.",
                        "en": "No rows match these filters. Try widening the filters or clearing the search."},
    "masked_note": {"he": "פרטים אישיים מוסתרים (•••): אין לך הרשאה לצפות בפרטים אישיים ברשות זו.",
                    "en": "Personal details are hidden (•••): you may not view personal details in this authority."},
    "any": {"he": "הכול", "en": "All"},
    "yes": {"he": "כן", "en": "Yes"},
    "no": {"he": "לא", "en": "No"},
    "snapshot_of": {"he": "נתוני תמונת המצב מ-{date}", "en": "Snapshot of {date}"},
}

# Column headings for everything the census pages show, by the statement's column name.
LABELS = {
    "SUG_ZEHUT": {"he": "סוג זהות", "en": "ID type"},
    "MISPAR_ZEHUT": {"he": "מספר זהות", "en": "ID number"},
    "SHEM_PRATI": {"he": "שם פרטי", "en": "First name"},
    "SHEM_MISHPACHA": {"he": "שם משפחה", "en": "Surname"},
    "TAARICH_LEDA": {"he": "תאריך לידה", "en": "Date of birth"},
    "CODE_MIN": {"he": "מין", "en": "Sex"},
    "AGE": {"he": "גיל", "en": "Age"},
    "STUDENT_AGE": {"he": "גיל", "en": "Age"},
    "SEMEL_MOSAD": {"he": "סמל מוסד", "en": "Institution code"},
    "SHEM_MOSAD": {"he": "מוסד", "en": "Institution"},
    "SHICHVA": {"he": "שכבה", "en": "Grade"},
    "MAKBILA": {"he": "מקבילה", "en": "Class no."},
    "SHEM_KITA": {"he": "כיתה", "en": "Class"},
    "SEMEL_MEGAMA_MOSAD": {"he": "מגמה", "en": "Track"},
    "SHEM_MEGAMA_MOSAD": {"he": "שם המגמה", "en": "Track name"},
    "SEMEL_MEGAMA": {"he": "סמל מגמה (משרד)", "en": "Ministry track code"},
    "TEUR_MEGAMA": {"he": "תחום", "en": "Subject"},
    "LAST_STATUS": {"he": "סטטוס רישום", "en": "Registration status"},
    "CODE_STATUS_RISHUM_TA": {"he": "סטטוס רישום", "en": "Registration status"},
    "RES_YISHUV": {"he": "סמל יישוב מגורים", "en": "Residence code"},
    "SHEM_YISHUV": {"he": "יישוב", "en": "Locality"},
    "SEMEL_YISHUV": {"he": "סמל יישוב", "en": "Locality code"},
    "RELATION": {"he": "שיוך לרשות", "en": "Relation to authority"},
    "SEMEL_RECHOV_TAL": {"he": "סמל רחוב", "en": "Street code"},
    "MISPAR_BAYIT_TAL": {"he": "בית", "en": "House"},
    "MISPAR_DIRA_TAL": {"he": "דירה", "en": "Flat"},
    "MIKUD_7_TAL": {"he": "מיקוד", "en": "Zip"},
    "CONTACTS": {"he": "אנשי קשר", "en": "Contacts"},
    "MISPAR_ZEHUT_GOREM_KESHER": {"he": "ת\"ז איש/אשת קשר", "en": "Contact's ID"},
    "SHEM_PRATI_GOREM_KESHER": {"he": "שם פרטי (קשר)", "en": "Contact first name"},
    "SHEM_MISHPACHA_GOREM_KESHER": {"he": "שם משפחה (קשר)", "en": "Contact surname"},
    "CODE_SUG_KIRVA_GOREM_KESHER": {"he": "קרבה", "en": "Relationship"},
    "HAIM_MESHALEM_GOREM_KESHER": {"he": "משלם/ת", "en": "Pays"},
    "LEKABEL_MEIDA": {"he": "מסכים/ה לקבל מידע", "en": "Agrees to receive information"},
    "TAARICH_HATCHALA_GOREM_KESHER": {"he": "מתאריך", "en": "From"},
    "TAARICH_SIYUM_GOREM_KESHER": {"he": "עד תאריך", "en": "Until"},
    "ACTIVE": {"he": "פעיל", "en": "Active"},
    "KIDOMET_NAYAD": {"he": "קידומת נייד", "en": "Mobile prefix"},
    "MISPAR_NAYAD": {"he": "נייד", "en": "Mobile"},
    "KIDOMET_TEL_BAIT": {"he": "קידומת טלפון", "en": "Phone prefix"},
    "MISPAR_TEL_BAIT": {"he": "טלפון בבית", "en": "Home phone"},
    "EMAIL_RASHI": {"he": "דוא\"ל", "en": "E-mail"},
    "SEMEL_RECHOV": {"he": "סמל רחוב", "en": "Street code"},
    "SHEM_RECHOV": {"he": "רחוב", "en": "Street"},
    "MISPAR_BAYIT": {"he": "בית", "en": "House"},
    "KNISA": {"he": "כניסה", "en": "Entrance"},
    "MISPAR_DIRA": {"he": "דירה", "en": "Flat"},
    "MIKUD": {"he": "מיקוד", "en": "Zip"},
    "TEVAT_DOAR": {"he": "ת\"ד", "en": "PO box"},
    "SHNAT_LIMUDIM": {"he": "שנת לימודים", "en": "School year"},
    "TAARICH_HATCHALA": {"he": "תאריך התחלה", "en": "Start date"},
    "TAARICH_AZIVA": {"he": "תאריך עזיבה", "en": "Leaving date"},
    "CODE_SIBAT_AZIVA": {"he": "סיבת עזיבה", "en": "Leaving reason"},
    "TAARICH_IDKUN_RESHUMA": {"he": "עודכן", "en": "Updated"},
    "STUDENTS": {"he": "תלמידים", "en": "Students"},
    "RESIDENTS": {"he": "תושבים", "en": "Residents"},
    "RESIDENTS_HERE": {"he": "תושבים הלומדים ברשות", "en": "Residents studying here"},
    "INCOMING": {"he": "תלמידי חוץ (נכנסים)", "en": "Incoming"},
    "STUDYING_ELSEWHERE": {"he": "תושבים הלומדים מחוץ לרשות", "en": "Residents studying elsewhere"},
    "UNPLACED_RESIDENTS": {"he": "תושבים לא משובצים", "en": "Unplaced residents"},
    "INSTITUTIONS": {"he": "מוסדות", "en": "Institutions"},
    "CLASSES": {"he": "כיתות", "en": "Classes"},
    "TRACKS": {"he": "מגמות", "en": "Tracks"},
    "SUG_PIKUACH_TEUR": {"he": "פיקוח", "en": "Supervision"},
    "MIGZAR_TEUR": {"he": "מגזר", "en": "Sector"},
    "SUG_CHINUCH_TEUR": {"he": "סוג חינוך", "en": "Kind of education"},
    "SHLAV_CHINUCH_TEUR": {"he": "שלב חינוך", "en": "Stage"},
    "SUG_MOSAD_TEUR": {"he": "סוג מוסד", "en": "Kind of institution"},
    "MAAMAD_MISHPATI_TEUR": {"he": "מעמד משפטי", "en": "Legal status"},
    "KTOVET_MOSAD": {"he": "כתובת", "en": "Address"},
    "ME_SHICHVA_MEUSHAR": {"he": "משכבה", "en": "From grade"},
    "AD_SHICHVA_MEUSHAR": {"he": "עד שכבה", "en": "To grade"},
    "LONGITUDE": {"he": "קו אורך", "en": "Longitude"},
    "LATITUDE": {"he": "קו רוחב", "en": "Latitude"},
    "ID_KITA": {"he": "מזהה כיתה", "en": "Class ID"},
    "TEUR_SUG_KITA": {"he": "סוג כיתה", "en": "Kind of class"},
    "TEUR_STATUS_ISHUR": {"he": "סטטוס אישור", "en": "Approval status"},
    "MIN_TALMIDIM": {"he": "מינימום", "en": "Minimum"},
    "MAX_TALMIDIM": {"he": "מקסימום", "en": "Maximum"},
    "MISPAR_TALMIDIM": {"he": "מספר תלמידים (משרד)", "en": "Students (ministry)"},
    "PLACED": {"he": "משובצים (ספירה)", "en": "Placed (counted)"},
    "CAPACITY": {"he": "קיבולת", "en": "Capacity"},
    "OVER_MAX": {"he": "מעל המקסימום", "en": "Over maximum"},
    "UNDER_MIN": {"he": "מתחת למינימום", "en": "Under minimum"},
    "DIFFERS_FROM_MINISTRY": {"he": "שונה מנתון המשרד", "en": "Differs from ministry"},
    "ID_MEGAMA": {"he": "מזהה מגמה", "en": "Track ID"},
    "MICHSAT_TALMIDIM_MEVUKESHET": {"he": "מכסה מבוקשת", "en": "Requested quota"},
    "MICHSAT_TALMIDIM": {"he": "מכסה מאושרת", "en": "Approved quota"},
    "TEUR_STATUS_ISHUR_MEGAMA": {"he": "סטטוס אישור", "en": "Approval status"},
    "TAARICH_STATUS_ISHUR_MEGAMA": {"he": "תאריך הסטטוס", "en": "Status date"},
    "OVER_APPROVED": {"he": "מעל המכסה המאושרת", "en": "Over approved quota"},
    "OVER_REQUESTED": {"he": "מעל המכסה המבוקשת", "en": "Over requested quota"},
    "NO_CONTACT": {"he": "אין איש קשר", "en": "No contact"},
    "NO_PHONE": {"he": "אין טלפון תקין", "en": "No reachable phone"},
    "NOT_AGREEING": {"he": "לא מסכים/ה לקבל מידע", "en": "Does not agree to receive information"},
    "INVALID_PHONE": {"he": "טלפון שגוי", "en": "Invalid phone"},
    "INVALID_EMAIL": {"he": "דוא\"ל שגוי", "en": "Invalid e-mail"},
    "MISSING_DETAILS": {"he": "חסרים פרטי קשר", "en": "Contact details missing"},
    "SEMEL_RASHUT": {"he": "סמל רשות", "en": "Authority code"},
    "SHEM_RASHUT": {"he": "רשות", "en": "Authority"},
    "SUG_RASHUT": {"he": "סוג רשות", "en": "Kind of authority"},
    "MACHOZ": {"he": "מחוז", "en": "District"},
    "CHANGE": {"he": "שינוי", "en": "Change"},
    "FULL_NAME": {"he": "שם", "en": "Name"},
    "KITA": {"he": "כיתה", "en": "Class"},
    "KITA_BEFORE": {"he": "כיתה (לפני)", "en": "Class (before)"},
    "KITA_AFTER": {"he": "כיתה (אחרי)", "en": "Class (after)"},
    "GRADES": {"he": "שכבות", "en": "Grades"},
    "PROBLEMS": {"he": "בעיות", "en": "Problems"},
    "ADDRESS": {"he": "כתובת", "en": "Address"},
    "CONTACT_NAME": {"he": "איש/אשת קשר", "en": "Contact"},
    "PHONE": {"he": "טלפון", "en": "Phone"},
    "BEFORE": {"he": "לפני", "en": "Before"},
    "AFTER": {"he": "אחרי", "en": "After"},
    "SHEM_MOSAD_BEFORE": {"he": "מוסד (לפני)", "en": "Institution (before)"},
    "SHEM_MOSAD_AFTER": {"he": "מוסד (אחרי)", "en": "Institution (after)"},
    "SHICHVA_BEFORE": {"he": "שכבה (לפני)", "en": "Grade (before)"},
    "SHICHVA_AFTER": {"he": "שכבה (אחרי)", "en": "Grade (after)"},
    "MAKBILA_BEFORE": {"he": "מקבילה (לפני)", "en": "Class no. (before)"},
    "MAKBILA_AFTER": {"he": "מקבילה (אחרי)", "en": "Class no. (after)"},
}

# Code values: the spec's, and this project's values for the statuses it does not name.
STATUS_NAMES = {1: {"he": "נרשם", "en": "Registered"}, 2: {"he": "מועמד", "en": "Candidate"},
                3: {"he": "משובץ", "en": "Placed"}, 4: {"he": "לא נרשם", "en": "Not registered"},
                5: {"he": "עזב", "en": "Left"}}
KINSHIP_NAMES = {1: {"he": "אב", "en": "Father"}, 2: {"he": "אם", "en": "Mother"},
                 3: {"he": "אפוטרופוס", "en": "Guardian"}, 4: {"he": "קרוב משפחה", "en": "Relative"},
                 9: {"he": "אחר", "en": "Other"}}
SEX_NAMES = {"1": {"he": "זכר", "en": "Male"}, "2": {"he": "נקבה", "en": "Female"}}
ID_TYPE_NAMES = {"1": {"he": "ת\"ז", "en": "ID card"}, "2": {"he": "דרכון", "en": "Passport"},
                 "3": {"he": "מספר זמני", "en": "Temporary"}}
AUTHORITY_KINDS = {"1": {"he": "עירייה", "en": "City"}, "2": {"he": "מועצה מקומית", "en": "Local council"},
                   "3": {"he": "מועצה אזורית", "en": "Regional council"}}
RELATION_NAMES = {
    "here": {"he": "תושב/ת הלומד/ת ברשות", "en": "Resident studying here"},
    "incoming": {"he": "תלמיד/ת חוץ (נכנס/ת)", "en": "Incoming"},
    "elsewhere": {"he": "תושב/ת הלומד/ת מחוץ לרשות", "en": "Resident studying elsewhere"},
    "unplaced": {"he": "תושב/ת לא משובץ/ת", "en": "Unplaced resident"},
}
_CODE_COLUMNS = {"LAST_STATUS": STATUS_NAMES, "CODE_STATUS_RISHUM_TA": STATUS_NAMES,
                 "CODE_SUG_KIRVA_GOREM_KESHER": KINSHIP_NAMES, "CODE_MIN": SEX_NAMES, "SUG_ZEHUT": ID_TYPE_NAMES,
                 "RELATION": RELATION_NAMES, "SUG_RASHUT": AUTHORITY_KINDS}
_GRADE_COLUMNS = {"SHICHVA", "ME_SHICHVA_MEUSHAR", "AD_SHICHVA_MEUSHAR", "SHICHVA_BEFORE", "SHICHVA_AFTER"}
_YES_NO_TEXT_COLUMNS = {"LEKABEL_MEIDA", "HAIM_MESHALEM_GOREM_KESHER"}
# Short values: narrow columns, so a table fits its width (the grid scrolls from the left, where in
# Hebrew the last columns stand).
_NARROW = {"SUG_ZEHUT", "CODE_MIN", "SHICHVA", "MAKBILA", "SEMEL_MEGAMA_MOSAD", "LAST_STATUS", "AGE", "STUDENT_AGE", "CONTACTS",
           "MIN_TALMIDIM", "MAX_TALMIDIM", "MISPAR_TALMIDIM", "PLACED", "OVER_MAX", "UNDER_MIN", "CLASSES", "TRACKS",
           "ME_SHICHVA_MEUSHAR", "AD_SHICHVA_MEUSHAR", "LEKABEL_MEIDA", "ACTIVE", "NO_CONTACT", "NO_PHONE",
           "NOT_AGREEING", "INVALID_PHONE", "INVALID_EMAIL", "MISSING_DETAILS", "OVER_APPROVED", "OVER_REQUESTED",
           "SHICHVA_BEFORE", "SHICHVA_AFTER", "MAKBILA_BEFORE", "MAKBILA_AFTER", "SEMEL_MOSAD", "KIDOMET_NAYAD",
           "KIDOMET_TEL_BAIT", "CODE_SUG_KIRVA_GOREM_KESHER", "STUDENTS", "RESIDENTS", "INCOMING", "CAPACITY",
           "KITA", "KITA_BEFORE", "KITA_AFTER", "GRADES", "MICHSAT_TALMIDIM", "MICHSAT_TALMIDIM_MEVUKESHET"}

# Spreadsheets run cells beginning with these as formulas (CSV injection): the export's one rule.
FORMULA_START = tuple(FORMULA_CHARS)


def label(column: str, lang: str | None = None) -> str:
    entry = LABELS.get(column)
    return tr(LABELS, column, lang) if entry else column


def code_name(table: dict, code, lang: str | None = None) -> str:
    if code is None:
        return ""
    entry = table.get(code)
    if entry is None and isinstance(code, str) and code.isdigit():
        entry = table.get(int(code))
    return (entry.get(lang or "he") or entry["he"]) if entry else str(code)


def grade_label(shichva, lang: str) -> str:
    if shichva is None:
        return ""
    return GRADE_NAMES_HE.get(int(shichva), str(shichva)) if lang == "he" else str(int(shichva))


def class_label(shichva, makbila, lang: str) -> str:
    """ג'2 in Hebrew, 3/2 in English."""
    if shichva is None:
        return ""
    if makbila is None:
        return grade_label(shichva, lang)
    return f"{grade_label(shichva, lang)}'{makbila}" if lang == "he" else f"{int(shichva)}/{makbila}"


def joined(parts: list[pl.Expr], sep: str) -> pl.Expr:
    """Parts joined for the screen, empty ones left out; one masked part masks the whole (a name or an
    address is never pieced together from what the runner hid)."""
    text = pl.concat_str(parts, separator=sep, ignore_nulls=True)
    masked = pl.any_horizontal([p == HIDDEN for p in parts]).fill_null(False)
    return pl.when(masked).then(pl.lit(HIDDEN)).otherwise(pl.when(text == "").then(None).otherwise(text))


def with_class(df: pl.DataFrame, lang: str, grade: str = "SHICHVA", number: str = "MAKBILA",
               out: str = "KITA") -> pl.DataFrame:
    """A class as people say it (ג'2), from a grade and a parallel number."""
    labels = [class_label(g, m, lang) if g is not None else None for g, m in zip(df[grade], df[number])]
    return df.with_columns(pl.Series(out, labels, dtype=pl.Utf8))


def present(df: pl.DataFrame, columns: list[str], lang: str, for_file: bool = False) -> pl.DataFrame:
    """The columns to show, codes decoded, dates DD/MM/YYYY (ISO in files), headings translated."""
    out = []
    yes, no = tr(TEXT, "yes", lang), tr(TEXT, "no", lang)
    for col in columns:
        s = df.get_column(col)
        if col in _CODE_COLUMNS and s.dtype != pl.Boolean:
            table = _CODE_COLUMNS[col]
            s = s.map_elements(lambda v, t=table: code_name(t, v, lang), return_dtype=pl.Utf8, skip_nulls=True)
        elif col in _GRADE_COLUMNS and s.dtype.is_integer():
            s = s.map_elements(lambda v: grade_label(v, lang), return_dtype=pl.Utf8, skip_nulls=True)
        elif col in _YES_NO_TEXT_COLUMNS and s.dtype == pl.Utf8:
            s = s.replace_strict({"1": yes, "0": no}, default=s, return_dtype=pl.Utf8)
        elif s.dtype == pl.Date:
            s = s.dt.strftime("%Y-%m-%d" if for_file else "%d/%m/%Y")
        elif s.dtype == pl.Boolean and for_file:
            s = s.replace_strict({True: yes, False: no}, return_dtype=pl.Utf8)
        if not for_file and s.dtype == pl.Utf8:
            s = s.fill_null("")                   # the grid would print "None"
        out.append(s.alias(label(col, lang)))
    return pl.DataFrame(out) if out else pl.DataFrame()


def reading_order(table, lang: str | None = None):
    """The grid draws left to right whatever the page's direction: in Hebrew a table's columns are
    given in reverse, so the first stands at the right (a polars or pandas frame, or rows as dicts)."""
    if (lang or current_language()) != "he":
        return table
    if isinstance(table, list):
        return [dict(reversed(list(row.items()))) for row in table]
    columns = list(reversed(table.columns))
    return table.select(columns) if isinstance(table, pl.DataFrame) else table[columns]


def grid(table, **kwargs) -> None:
    """A table whose headings are already in the person's language, in reading order."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    st.dataframe(reading_order(table), **kwargs)


def authority_names(ctx) -> dict[str, str]:
    """Authority code -> name from the latest snapshot's reference table (codes alone without one)."""
    if ctx.snapshot is None:
        return {}
    from queries import run
    try:
        ref = run("authorities", Scope(snapshot=ctx.snapshot, authority=None))
    except Exception:   # an old snapshot without the reference table: show codes
        return {}
    return dict(ref.select("SEMEL_RASHUT", "SHEM_RASHUT").iter_rows())


def authority_label(names: dict[str, str], code: str | None) -> str:
    """'name (code)' from authority_names, the code alone when the snapshot does not name it."""
    if not code:
        return ""
    return f"{names[code]} ({code})" if code in names else code


def show_table(df: pl.DataFrame, columns: list[str], lang: str, key: str, height: int | str = "auto") -> None:
    """The page's columns, labelled in the person's language and in reading order (reading_order)."""
    shown = reading_order(present(df, columns, lang), lang)
    narrow = {label(c, lang): st.column_config.Column(width="small") for c in columns if c in _NARROW}
    st.dataframe(shown, hide_index=True, width="stretch", key=key, height=height, column_config=narrow)


# --- paging -------------------------------------------------------------------------------------

def page_offset(key: str, signature: dict, page_size: int = PAGE_SIZE) -> int:
    """The first row of the page the person is on; back to page 1 whenever the filters change."""
    sig = json.dumps(signature, sort_keys=True, ensure_ascii=False, default=str)
    if st.session_state.get(f"{key}__sig") != sig:
        st.session_state[f"{key}__sig"] = sig
        st.session_state[key] = 1
    page = int(st.session_state.get(key) or 1)
    return (page - 1) * page_size


def pager(key: str, total: int, lang: str, page_size: int = PAGE_SIZE) -> None:
    """Rows shown and a page number box (only when there is more than one page)."""
    pages = max(1, -(-total // page_size))
    page = min(int(st.session_state.get(key) or 1), pages)
    first = (page - 1) * page_size + 1 if total else 0
    last = min(page * page_size, total)
    cols = st.columns([3, 1])
    cols[0].caption(tr(TEXT, "rows_of", lang, first=fmt_int(first), last=fmt_int(last), total=fmt_int(total)))
    if pages > 1:
        cols[1].number_input(tr(TEXT, "page", lang), min_value=1, max_value=pages, step=1, key=key)


# --- the audited export ----------------------------------------------------------------------------

def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    exprs = []
    for col, dtype in df.schema.items():
        if dtype == pl.Utf8:
            c = pl.col(col)
            risky = pl.any_horizontal([c.str.starts_with(p) for p in FORMULA_START]).fill_null(False)
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(col))
    return df.with_columns(exprs) if exprs else df


def csv_bytes(df: pl.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads Hebrew), formula-hostile cells neutralised."""
    return neutralise(df).write_csv(include_bom=True).encode("utf-8")


def export_table(*, actor: str, authority: str | None, snapshot, needs: Action, page: str, filters: dict,
                 fetch: Callable[[Scope], pl.DataFrame], columns: list[str], lang: str) -> bytes:
    """Build an export: permission checked from the portal's records now, audit first, then the bytes.

    `fetch(scope)` runs the page's statement in a scope rebuilt from the records (personal details
    only if still allowed), so a permission revoked after the page was drawn is honoured."""
    from auth.principal import load_principal
    principal = load_principal(actor)
    national = needs == Action.NATIONAL_AGGREGATES
    if not (allowed(principal, needs) if national else allowed(principal, needs, authority)):
        raise PermissionError(f"{actor} may no longer export from {page}")
    scope = Scope(snapshot=snapshot, authority=None if national else authority,
                  personal=False if national else allowed(principal, Action.VIEW_PERSONAL, authority))
    table = present(fetch(scope), columns, lang, for_file=True)
    audit.record("table_export", actor=actor, authority=None if national else authority,
                 details={"page": page, "filters": filters, "rows": table.height, "columns": table.columns,
                          "snapshot": snapshot.date, "personal": scope.personal})
    return csv_bytes(table)


def export_button(ctx, page: str, filters: dict, fetch: Callable[[Scope], pl.DataFrame], columns: list[str],
                  key: str, needs: Action = Action.VIEW_AGGREGATES, file_stem: str | None = None) -> None:
    """A small "export this table" button; the bytes are built (and audited) only when clicked."""
    snapshot, authority, actor, lang = ctx.snapshot, ctx.authority, ctx.principal.email, ctx.lang
    stem = file_stem or page
    name = f"{stem}_{authority or 'national'}_{snapshot.date}.csv"

    def build() -> bytes:
        return export_table(actor=actor, authority=authority, snapshot=snapshot, needs=needs, page=page,
                            filters=filters, fetch=fetch, columns=columns, lang=lang)

    st.download_button(tr(TEXT, "export", lang), data=build, file_name=name, mime="text/csv", on_click="ignore",
                       key=key, help=tr(TEXT, "export_help", lang), icon=":material/download:")


# --- empty states -----------------------------------------------------------------------------------

def require_census(ctx) -> bool:
    """True when there is a snapshot and an open authority; otherwise says what to do, and False."""
    if ctx.snapshot is None:
        st.info(tr(TEXT, "no_snapshot", ctx.lang))
        return False
    if not ctx.authority:
        st.info(tr(TEXT, "no_authority", ctx.lang))
        return False
    return True


def no_rows(lang: str, message: str | None = None) -> None:
    st.info(message or tr(TEXT, "no_rows_filters", lang))


def masked_note(ctx) -> None:
    if not ctx.allowed(Action.VIEW_PERSONAL):
        st.caption(tr(TEXT, "masked_note", ctx.lang))


def snapshot_caption(ctx) -> None:
    st.caption(tr(TEXT, "snapshot_of", ctx.lang, date=fmt_date(ctx.snapshot.date)))


# --- charts -------------------------------------------------------------------------------------------

FONT = "Arial, 'DejaVu Sans', sans-serif"
PALETTE = ["#1f5fa8", "#e3873a", "#3a9a5b", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c"]


def rtl(text, lang: str):
    """Charts draw their text left to right: Hebrew text is isolated as right-to-left (U+2067 … U+2069),
    or a name ending in a geresh or a bracket (עירוני א', אהבת ישראל (חרד"ל)) or holding Latin letters
    shows its parts in the wrong order."""
    if lang != "he" or text is None or text == "":
        return text
    return f"\u2067{text}\u2069"


def _layout(fig: go.Figure, title: str, lang: str, x_title: str = "", y_title: str = "", height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": rtl(title, lang), "x": 1.0 if lang == "he" else 0.0, "xanchor": "right" if lang == "he" else "left"},
        font={"family": FONT, "size": 13}, height=height, margin={"l": 10, "r": 10, "t": 50, "b": 40},
        # the legend under the plot: above it, it ran into the title; at the figure's foot (not a fraction
        # of the plot's height below it), so rotated axis labels of a narrow chart do not run into it
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0,
                "xanchor": "right" if lang == "he" else "left",
                "x": 1.0 if lang == "he" else 0.0, "title": {"text": ""}},
        xaxis_title=x_title, yaxis_title=y_title, plot_bgcolor="white", colorway=PALETTE,
        separators=".,",
    )
    # axis labels take the room they need (rotated on a narrow chart) rather than spill under the legend
    fig.update_xaxes(showline=False, gridcolor="#eeeeee", zeroline=False, automargin=True)
    fig.update_yaxes(showline=False, gridcolor="#eeeeee", zeroline=False, automargin=True)
    return fig


def bar_chart(categories: list, series: dict[str, list], *, title: str, lang: str, x_title: str = "",
              y_title: str = "", horizontal: bool = False, ordered_axis: bool = False, height: int = 380) -> go.Figure:
    """Stacked bars. In Hebrew an ordered axis (grades) runs right to left, and the category axis of
    horizontal bars sits on the right, as a Hebrew reader expects.

    Bars are placed by position and labelled with the category: two institutions of the same name are
    two bars, not one bar of both."""
    slots = [str(i) for i in range(len(categories))]
    names = [rtl(str(c), lang) for c in categories]
    fig = go.Figure()
    for name, values in series.items():
        shown = rtl(name, lang)
        if horizontal:
            fig.add_bar(y=slots, x=values, name=shown, orientation="h", customdata=names,
                        hovertemplate="%{customdata}: %{x:,}<extra>" + shown + "</extra>")
        else:
            fig.add_bar(x=slots, y=values, name=shown, customdata=names,
                        hovertemplate="%{customdata}: %{y:,}<extra>" + shown + "</extra>")
    fig.update_layout(barmode="stack", showlegend=len(series) > 1)
    _layout(fig, title, lang, rtl(x_title, lang), rtl(y_title, lang), height)
    ticks = {"type": "category", "tickmode": "array", "tickvals": slots, "ticktext": names}
    if horizontal:
        fig.update_yaxes(autorange="reversed", side="right" if lang == "he" else "left", **ticks)
        if lang == "he":
            fig.update_xaxes(autorange="reversed")
    else:
        fig.update_xaxes(**ticks)
        if ordered_axis and lang == "he":
            fig.update_xaxes(autorange="reversed")
        if lang == "he":
            fig.update_yaxes(side="right")
    return fig


def pie_chart(labels: list[str], values: list, *, title: str, lang: str, height: int = 360) -> go.Figure:
    """A donut. Each count is in its legend entry and inside its slice when it fits there: a count
    drawn outside a thin slice ran into the title."""
    names = [rtl(f"{label_}: {fmt_int(v)}", lang) for label_, v in zip(labels, values)]
    fig = go.Figure(go.Pie(labels=names, values=values, hole=0.45, sort=False, direction="clockwise",
                           texttemplate="%{value:,}", textposition="inside", insidetextorientation="horizontal",
                           hovertemplate="%{label} (%{percent})<extra></extra>"))
    fig.update_layout(uniformtext={"minsize": 11, "mode": "hide"})
    return _layout(fig, title, lang, height=height)


def plain_map(lon: list, lat: list, text: list[str], sizes: list, *, title: str, lang: str, height: int = 520) -> go.Figure:
    """Institutions by longitude and latitude on a plain plane: no map tiles (no internet needed)."""
    top = max(sizes) if sizes else 1
    fig = go.Figure(go.Scatter(
        x=lon, y=lat, mode="markers", text=text,
        marker={"size": [8 + 22 * (s or 0) / (top or 1) for s in sizes], "color": PALETTE[0], "opacity": 0.7,
                "line": {"width": 0}},
        hovertemplate="%{text}<extra></extra>"))
    _layout(fig, title, lang, height=height)
    fig.update_xaxes(visible=False)
    # one degree of longitude is shorter than one of latitude at Israel's latitude (cos 32° ≈ 0.85)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1.18)
    return fig


def show_chart(fig: go.Figure, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key,
                    config={"displaylogo": False, "displayModeBar": False, "locale": "he"})
