"""Software vendors, for ministry staff: register a vendor (name, contact, its users, the signed
declaration as a PDF), see who is registered and which authorities gave them power of attorney, and
print the declaration a vendor signs.

The PDF is checked by its content (auth.uploads: %PDF- header, %%EOF trailer, the size limit of
settings().upload_max_bytes) and stored under a generated name; the registration is audited first.
"""
from __future__ import annotations

import math

import polars as pl
import streamlit as st

from auth import audit
from auth import vendors as vendor_records
from auth.permissions import Action
from auth.uploads import UploadError, open_upload, store_pdf
from common.config import settings
from common.i18n import fmt_datetime, tr
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "ספקי תוכנה", "en": "Software vendors"},
    "intro": {"he": "ספק רשום יכול לקבל מרשות ייפוי כוח לקבלת קובץ הייצוא השבועי שלה. רישום ספק מחייב הצהרה "
                    "חתומה (PDF).",
              "en": "A registered vendor can receive an authority's weekly export under its power of attorney. "
                    "Registration needs the vendor's signed declaration (PDF)."},
    "not_allowed": {"he": "רישום ספקים שמור לצוות משרד החינוך.", "en": "Registering vendors is for ministry staff."},
    "register": {"he": "רישום ספק", "en": "Register a vendor"},
    "name": {"he": "שם הספק", "en": "Vendor name"},
    "email": {"he": "דוא\"ל איש/אשת קשר", "en": "Contact e-mail"},
    "phone": {"he": "טלפון איש/אשת קשר", "en": "Contact phone"},
    "users": {"he": "משתמשי הספק בפורטל (כתובות דוא\"ל, מופרדות בפסיק)",
              "en": "The vendor's portal users (e-mail addresses, comma-separated)"},
    "pdf": {"he": "ההצהרה החתומה (PDF, עד {mb} MB)", "en": "Signed declaration (PDF, up to {mb} MB)"},
    "submit": {"he": "רישום", "en": "Register"},
    "registered": {"he": "הספק {name} נרשם.", "en": "{name} is registered."},
    "need_name": {"he": "יש למלא את שם הספק.", "en": "Enter the vendor's name."},
    "need_email": {"he": "כתובת הדוא\"ל של איש/אשת הקשר אינה תקינה.", "en": "The contact e-mail is not valid."},
    "need_pdf": {"he": "יש לצרף את ההצהרה החתומה כקובץ PDF.", "en": "Attach the signed declaration as a PDF."},
    "bad_user": {"he": "כתובת המשתמש {email} אינה תקינה.", "en": "The user address {email} is not valid."},
    "duplicate": {"he": "ספק בשם {name} כבר רשום.", "en": "A vendor named {name} is already registered."},
    "list": {"he": "ספקים רשומים", "en": "Registered vendors"},
    "none": {"he": "עדיין לא נרשמו ספקים.", "en": "No vendors are registered yet."},
    "col_name": {"he": "ספק", "en": "Vendor"},
    "col_contact": {"he": "קשר", "en": "Contact"},
    "col_users": {"he": "משתמשים", "en": "Users"},
    "col_authorities": {"he": "רשויות שנתנו ייפוי כוח", "en": "Authorities authorising"},
    "col_by": {"he": "נרשם על ידי", "en": "Registered by"},
    "col_at": {"he": "נרשם ב", "en": "Registered on"},
    "signed": {"he": "הצהרה חתומה של {name}", "en": "{name}'s signed declaration"},
    "declaration": {"he": "נוסח הצהרת הספק", "en": "The vendor declaration"},
    "print": {"he": "הורדת ההצהרה להדפסה (PDF)", "en": "Download the declaration to print (PDF)"},
}

DECLARATION_TITLE = "הצהרה והתחייבות של ספק תוכנה לקבלת מצבת התלמידים"
DECLARATION = (
    "אנו, הספק החתום מטה, מבקשים לקבל את קובץ הייצוא השבועי של מצבת התלמידים (מצבת תלמידים, משרד החינוך) "
    "של כל רשות מקומית שתיתן לנו ייפוי כוח בפורטל \"מפקד\", ומצהירים ומתחייבים כלהלן:",
    "נשתמש במידע אך ורק לצורך מתן השירות לרשות שנתנה את ייפוי הכוח, ולא לכל מטרה אחרת.",
    "נשמור את המידע בהתאם לחוק הגנת הפרטיות, התשמ\"א-1981, ולתקנות הגנת הפרטיות (אבטחת מידע), התשע\"ז-2017, "
    "ברמת אבטחה שאינה פחותה מזו הנדרשת למאגר מידע ברמת אבטחה בינונית.",
    "לא נעביר את המידע, כולו או חלקו, לאחר, ולא נצליב אותו עם מידע אחר, אלא בהוראה בכתב מהרשות.",
    "הגישה לכספת בפורטל תינתן רק לעובדי הספק שנרשמו כמשתמשיו, ואנו אחראים לשמירת פרטי ההזדהות שלהם.",
    "עם ביטול ייפוי הכוח, או בתום ההתקשרות עם הרשות, נמחק את המידע של הרשות ונאשר זאת לרשות בכתב.",
    "ידוע לנו כי כל מסירה וכל איסוף של קובץ נרשמים ביומן הביקורת של משרד החינוך, וכי המשרד רשאי לבטל את "
    "רישומנו.",
)
DECLARATION_FIELDS = ("שם הספק", "מספר חברה / עוסק", "כתובת", "שם המורשה/ית לחתום", "תפקיד", "דואר אלקטרוני",
                      "טלפון")


def declaration_pdf() -> bytes:
    """The declaration a vendor prints, signs and sends back; authorities print it for their vendor."""
    from auth.forms import HebrewPDF
    pdf = HebrewPDF(DECLARATION_TITLE, "הצהרת ספק · משרד החינוך · מפקד")
    pdf.add_page()
    pdf.title_block(DECLARATION_TITLE, "משרד החינוך · פורטל מצבת התלמידים \"מפקד\"")
    pdf.heading("1. פרטי הספק")
    for label in DECLARATION_FIELDS:
        pdf.blank_field(label)
    pdf.heading("2. הצהרה והתחייבות")
    pdf.para(DECLARATION[0])
    pdf.ln(1)
    for number, clause in enumerate(DECLARATION[1:], start=1):
        pdf.item(f"{number}.", clause)
    pdf.heading("3. חתימה")
    pdf.blank_field("שם", label_width=20, height=8)
    pdf.blank_field("חתימה וחותמת", label_width=30, height=9)
    pdf.blank_field("תאריך", label_width=20, height=8)
    return bytes(pdf.output())


def _valid_email(value: str) -> bool:
    value = value.strip()
    return "@" in value and " " not in value and value.count("@") == 1 and "." in value.split("@")[1]


def _register(ctx: PageContext) -> None:
    st.subheader(tr(TEXT, "register"))
    with st.form("vendor_register", clear_on_submit=False):
        name = st.text_input(tr(TEXT, "name"), max_chars=200, key="vendor_name").strip()
        email = st.text_input(tr(TEXT, "email"), max_chars=200, key="vendor_email").strip()
        phone = st.text_input(tr(TEXT, "phone"), max_chars=40, key="vendor_phone").strip()
        users_text = st.text_input(tr(TEXT, "users"), max_chars=1000, key="vendor_users")
        limit_mb = settings().upload_max_bytes / 1048576
        upload = st.file_uploader(tr(TEXT, "pdf", mb=f"{limit_mb:g}"), type=["pdf"], key="vendor_pdf",
                                  max_upload_size=math.ceil(limit_mb))
        if not st.form_submit_button(tr(TEXT, "submit"), type="primary"):
            return
    users = [u.strip().lower() for u in users_text.split(",") if u.strip()]
    errors = []
    if not name:
        errors.append(tr(TEXT, "need_name"))
    elif vendor_records.vendor_by_name(name):
        errors.append(tr(TEXT, "duplicate", name=name))
    if not _valid_email(email):
        errors.append(tr(TEXT, "need_email"))
    errors += [tr(TEXT, "bad_user", email=u) for u in users if not _valid_email(u)]
    if upload is None:
        errors.append(tr(TEXT, "need_pdf"))
    if errors:
        for e in errors:
            st.error(e)
        return
    try:
        stored = store_pdf(upload.getvalue(), upload.name)
    except UploadError as exc:
        st.error(exc.text(ctx.lang))
        return
    # ctx.principal was rebuilt from the records on this rerun; the registration is audited before it is written.
    principal = ctx.principal
    audit.record("vendor_registered", actor=principal.email,
                 details={"vendor": name, "contact_email": email.lower(), "contact_phone": phone,
                          "declaration_file": stored, "declaration_name": upload.name, "users": users})
    vendor_id = vendor_records.register_vendor(name, email, by=principal.email, contact_phone=phone or None,
                                               declaration_file=stored)
    for user in users:
        vendor_records.add_vendor_user(vendor_id, user, by=principal.email)
    st.success(tr(TEXT, "registered", name=name))


def _list(ctx: PageContext) -> None:
    st.subheader(tr(TEXT, "list"))
    registered = vendor_records.list_vendors()
    names = W.authority_names(ctx)
    if not registered:
        st.caption(tr(TEXT, "none"))
        return
    W.grid(pl.DataFrame({
        tr(TEXT, "col_name"): [v.name for v in registered],
        tr(TEXT, "col_contact"): [" · ".join(x for x in (v.contact_email, v.contact_phone) if x) for v in registered],
        tr(TEXT, "col_users"): [", ".join(vendor_records.vendor_users(v.id)) for v in registered],
        tr(TEXT, "col_authorities"): [", ".join(W.authority_label(names, a) for a in vendor_records.authorities_authorising(v.id))
                                      for v in registered],
        tr(TEXT, "col_by"): [v.registered_by for v in registered],
        tr(TEXT, "col_at"): [fmt_datetime(v.registered_at) for v in registered],
    }))
    for v in registered:
        if v.declaration_file:
            st.download_button(tr(TEXT, "signed", name=v.name), data=_declaration_loader(v.declaration_file),
                               file_name=f"declaration-{v.id}.pdf", mime="application/pdf", on_click="ignore",
                               key=f"vendor_declaration_{v.id}")


def _declaration_loader(stored: str):
    def load() -> bytes:
        return open_upload(stored)
    return load


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    if not ctx.allowed(Action.REGISTER_VENDORS):
        st.error(tr(TEXT, "not_allowed"))
        return
    ctx.record_view("vendors")
    st.write(tr(TEXT, "intro"))
    _register(ctx)
    _list(ctx)
    with st.expander(tr(TEXT, "declaration")):
        st.markdown(f"**{DECLARATION_TITLE}**\n\n{DECLARATION[0]}\n\n" +
                    "\n".join(f"{i}. {c}" for i, c in enumerate(DECLARATION[1:], start=1)))
    st.download_button(tr(TEXT, "print"), data=declaration_pdf, file_name="vendor-declaration.pdf",
                       mime="application/pdf", on_click="ignore", key="vendor_declaration_print")
