"""Every problem ingest can report: a stable code, its severity and its message in Hebrew and English.

Codes never change meaning (staff and vendors search reports by them); docs/ingest.md lists them all
and a test keeps the two in step. Severities:
    feed     the whole feed is refused (exit 2): a file or a required column is missing, unreadable
    error    the row is rejected: kept byte for byte in rejected/<file>, not published
    warning  the row is kept and published; the report lists it
Messages take {value} (the field's text as received) and {ref} (what it was checked against).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IssueType:
    code: str
    severity: str
    he: str
    en: str


_ALL = [
    # The feed as a whole: nothing is published.
    IssueType("E001", "feed", "חסר קובץ {ref} בתיקיית הקלט", "No {ref} file in the feed folder"),
    IssueType("E002", "feed", "נמצא יותר מקובץ אחד לקידומת {ref}: {value}", "More than one file for prefix {ref}: {value}"),
    IssueType("E003", "feed", "הקובץ אינו UTF-8 ואינו Windows-1255: בית שלא ניתן לפענח במיקום {ref}",
              "The file is neither UTF-8 nor Windows-1255: undecodable byte at offset {ref}"),
    IssueType("E004", "feed", "חסרה עמודת חובה {value}", "Required column {value} is missing"),
    IssueType("E005", "feed", "העמודה {value} מופיעה פעמיים בשורת הכותרת", "Column {value} appears twice in the header"),
    IssueType("E006", "feed", "הקובץ ריק (אין שורת כותרת)", "The file is empty (no header row)"),
    IssueType("E007", "feed", "שיעור הדחייה בקובץ {value} גבוה מהסף {ref}: ההזנה כולה נדחתה",
              "Rejection rate {value} is above the threshold {ref}: the whole feed is refused"),
    IssueType("E008", "feed", "קובץ UTF-8 פגום: בית שלא ניתן לפענח במיקום {ref}",
              "Damaged UTF-8 file: undecodable byte at offset {ref}"),
    IssueType("E009", "feed", "לא ניתן לקרוא את הקובץ כ-CSV: {ref}", "The file cannot be read as CSV: {ref}"),
    # Damaged rows: the record itself cannot be read as fields.
    IssueType("E101", "error", "מספר שדות שגוי: נמצאו {value}, צפויים {ref}", "Wrong number of fields: found {value}, expected {ref}"),
    IssueType("E102", "error", "מירכאות שנפתחו ולא נסגרו", "A quoted field is opened and never closed"),
    IssueType("E103", "error", "מירכאות במקום לא חוקי בתוך שדה", "A quote inside a field where none may be"),
    IssueType("E104", "error", "השורה מכילה בית NUL", "The row contains a NUL byte"),
    IssueType("E105", "error", "השורה ארוכה מ-{ref} בתים", "The row is longer than {ref} bytes"),
    IssueType("E106", "error", "תו CR בודד (ללא LF) בשורה", "A lone carriage return (CR without LF) in the row"),
    # Values.
    IssueType("E201", "error", "שדה חובה ריק", "A required field is empty"),
    IssueType("E202", "error", "'{value}' אינו מספר שלם", "'{value}' is not a whole number"),
    IssueType("E203", "error", "'{value}' אינו תאריך בתבנית YYYY-MM-DD או DD/MM/YYYY", "'{value}' is not a date as YYYY-MM-DD or DD/MM/YYYY"),
    IssueType("E204", "error", "התאריך '{value}' אינו קיים בלוח השנה", "The date '{value}' does not exist"),
    IssueType("E205", "error", "תאריך הלידה '{value}' מאוחר מתאריך ההזנה {ref}", "Birth date '{value}' is after the feed date {ref}"),
    IssueType("E206", "error", "'{value}' אינה שנה בת ארבע ספרות", "'{value}' is not a four-digit year"),
    # Identity numbers.
    IssueType("E301", "error", "ספרת הביקורת של מספר הזהות '{value}' שגויה", "Identity number '{value}' fails the check digit"),
    IssueType("E302", "error", "מספר זהות מסוג 1 חייב להיות בן 9 ספרות: '{value}'", "An identity number of type 1 must be nine digits: '{value}'"),
    IssueType("E303", "error", "מספר זהות של אפסים בלבד", "An identity number of zeros only"),
    IssueType("E304", "error", "מספר מזהה '{value}' אינו חוקי (עד 20 אותיות או ספרות)", "Identifier '{value}' is not valid (up to 20 letters or digits)"),
    # Duplicates.
    IssueType("E401", "error", "המפתח '{value}' כבר הופיע בשורה {ref}", "Key '{value}' already appeared on line {ref}"),
    IssueType("E402", "error", "לתלמיד יותר משיבוץ פעיל אחד; השיבוץ שבשורה {ref} נשמר",
              "The student has more than one active placement; the one on line {ref} is kept"),
    IssueType("E403", "error", "שם איש הקשר '{value}' סותר את שמו בשורה {ref}",
              "Contact person's name '{value}' conflicts with the name on line {ref}"),
    IssueType("E404", "error", "הכיתה (מוסד, שכבה, מקבילה) '{value}' כבר הופיעה בשורה {ref}",
              "Class (institution, grade, parallel) '{value}' already appeared on line {ref}"),
    # References.
    IssueType("E501", "error", "המוסד '{value}' אינו בקובץ המוסדות", "Institution '{value}' is not in MOSDOT"),
    IssueType("E502", "error", "אין כיתה (מוסד, שכבה, מקבילה) '{value}' לשיבוץ הפעיל", "No class (institution, grade, parallel) '{value}' for the active placement"),
    IssueType("E503", "error", "המגמה '{value}' אינה בין מגמות המוסד", "Track '{value}' is not among the institution's tracks"),
    IssueType("E504", "error", "היישוב '{value}' אינו בקובץ הרשויות", "Locality '{value}' is not in RASHUYOT"),
    IssueType("E505", "error", "התלמיד '{value}' אינו בקובץ התלמידים", "Student '{value}' is not in TALMIDIM"),
    IssueType("E506", "error", "כל שורות התלמיד '{value}' נדחו, ולכן גם הקישור", "Every row of student '{value}' was rejected, so the link is too"),
    IssueType("E507", "error", "איש הקשר '{value}' אינו מופיע באף קישור", "Contact person '{value}' appears in no link"),
    IssueType("E508", "error", "כל הקישורים של איש הקשר '{value}' נדחו, ולכן גם פרטיו", "Every link of contact person '{value}' was rejected, so the details are too"),
    # Domain.
    IssueType("E601", "error", "השכבה {value} מחוץ לטווח השכבות המאושר של המוסד ({ref})", "Grade {value} is outside the institution's approved range ({ref})"),
    IssueType("E602", "error", "מינימום התלמידים {value} גדול מהמקסימום {ref}", "Minimum students {value} exceeds the maximum {ref}"),
    IssueType("E603", "error", "השכבה {value} אינה בין 1 ל-14", "Grade {value} is not between 1 and 14"),
    IssueType("E604", "error", "המקבילה {value} קטנה מ-1", "Parallel {value} is less than 1"),
    IssueType("E605", "error", "טווח השכבות המאושר {value}-{ref} הפוך או מחוץ ל-1 עד 14", "Approved grade range {value}-{ref} is reversed or outside 1 to 14"),
    # Warnings: the row is kept.
    IssueType("W701", "warning", "גיל {ref} מחוץ לטווח 3 עד 25 (תאריך לידה '{value}')", "Age {ref} is outside 3 to 25 (birth date '{value}')"),
    IssueType("W702", "warning", "ערך קוד לא מוכר '{value}'", "Unknown code value '{value}'"),
    IssueType("W703", "warning", "בקובץ שורת כותרת בלבד, ללא רשומות", "The file has a header row only, no records"),
    IssueType("W704", "warning", "עמודה לא מוכרת '{value}' נשמרה כפי שהתקבלה", "Unknown column '{value}' kept as received"),
    IssueType("W705", "warning", "שורה ריקה דולגה", "An empty line was skipped"),
]

ISSUES: dict[str, IssueType] = {t.code: t for t in _ALL}


def message(code: str, lang: str, value: str | None = "", ref: str | None = "") -> str:
    t = ISSUES[code]
    return (t.he if lang == "he" else t.en).format(value="" if value is None else value,
                                                    ref="" if ref is None else ref)
