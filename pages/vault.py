"""The vendor's vault: packages delivered to the signed-in person's vendor under the powers of
attorney authorities gave it, collected here (each collection audited before the bytes go out).

Only deliveries to the person's own vendors are listed, and data.vault.collect checks that again,
from the portal's records, when the button is clicked.
"""
from __future__ import annotations

import streamlit as st

from auth import vendors as vendor_records
from auth.permissions import Action
from auth.principal import load_principal
from common.i18n import fmt_date, fmt_datetime, fmt_int, tr
from data import vault
from pages import widgets as W
from pages.context import PageContext

TEXT = {
    "title": {"he": "כספת הספק", "en": "Vendor vault"},
    "not_allowed": {"he": "הכספת פתוחה רק למשתמשי ספקים רשומים.", "en": "The vault is for registered vendors' users."},
    "intro": {"he": "קובצי הייצוא השבועי של הרשויות שנתנו ל{vendor} ייפוי כוח. הקבצים זהים בייט לבייט לקובץ "
                    "שאישר משרד החינוך; כל איסוף נרשם ביומן הביקורת.",
              "en": "The weekly export packages of the authorities that gave {vendor} power of attorney. Files are "
                    "byte-exact as approved by the ministry; every collection is recorded in the audit log."},
    "authorising": {"he": "רשויות עם ייפוי כוח בתוקף: {list}", "en": "Authorities authorising you now: {list}"},
    "none_authorising": {"he": "אין כרגע רשות שנתנה ייפוי כוח.", "en": "No authority authorises you at the moment."},
    "empty": {"he": "אין עדיין קבצים בכספת.", "en": "The vault is empty so far."},
    "package": {"he": "{authority} · שבוע {date}", "en": "{authority} · week of {date}"},
    "details": {"he": "נמסר ב-{at} · {rows} שורות · {size}", "en": "Delivered {at} · {rows} rows · {size}"},
    "collect": {"he": "איסוף הקובץ", "en": "Collect the package"},
}


def _loader(email: str, delivery_id: int):
    def load() -> bytes:
        return vault.collect(load_principal(email), delivery_id)
    return load


def render(ctx: PageContext) -> None:
    st.title(tr(TEXT, "title"))
    if not ctx.allowed(Action.COLLECT_VAULT) or not ctx.principal.vendor_ids:
        st.error(tr(TEXT, "not_allowed"))
        return
    ctx.record_view("vault")
    names = {v.id: v.name for v in vendor_records.list_vendors()}
    authority_names = W.authority_names(ctx)
    for vendor_id in sorted(ctx.principal.vendor_ids):
        vendor = names.get(vendor_id, str(vendor_id))
        if len(ctx.principal.vendor_ids) > 1:
            st.header(vendor)
        st.write(tr(TEXT, "intro", vendor=vendor))
        authorising = vendor_records.authorities_authorising(vendor_id)
        st.caption(tr(TEXT, "authorising", list=", ".join(W.authority_label(authority_names, a) for a in authorising)) if authorising
                   else tr(TEXT, "none_authorising"))
        delivered = vault.delivered_to(vendor_id)
        if not delivered:
            st.info(tr(TEXT, "empty"))
            continue
        for d in delivered:
            receipt = d.receipt or {}
            with st.container(border=True):
                st.markdown(f"**{tr(TEXT, 'package', authority=W.authority_label(authority_names, d.authority), date=fmt_date(d.snapshot))}**")
                size = receipt.get("bytes") or 0
                st.caption(tr(TEXT, "details", at=fmt_datetime(d.delivered_at),
                              rows=fmt_int(sum((receipt.get("counts") or {}).values())),
                              size=f"{size / 1048576:.1f} MB" if size >= 1048576 else f"{size / 1024:.0f} KB"))
                st.caption(f"SHA-256: `{receipt.get('sha256', '')}`")
                st.download_button(tr(TEXT, "collect"), data=_loader(ctx.principal.email, d.id),
                                   file_name=receipt.get("file", "package.zip"), mime="application/zip",
                                   on_click="ignore", key=f"collect_{d.id}", icon=":material/download:")
