"""Every page of the portal as data: its address, title, section and the one action it needs.

app.py registers only the pages the signed-in person is allowed, so any other page's address is
unreachable. Authority-scoped actions are checked in the authority that is open.
"""
from __future__ import annotations

from dataclasses import dataclass

from auth.permissions import Action


@dataclass(frozen=True)
class PageSpec:
    slug: str                 # URL path
    module: str               # pages.<module>.render(ctx)
    title_he: str
    title_en: str
    icon: str
    section: str              # key of SECTIONS
    needs: Action | None      # None: every signed-in person
    needs_snapshot: bool = False

    def title(self, lang: str) -> str:
        return self.title_he if lang == "he" else self.title_en


SECTIONS = {
    "general": {"he": "כללי", "en": "General"},
    "census": {"he": "המצבה", "en": "Census"},
    "export": {"he": "ייצוא", "en": "Export"},
    "manage": {"he": "ניהול", "en": "Manage"},
    "ministry": {"he": "משרד החינוך", "en": "Ministry"},
    "vendor": {"he": "ספק", "en": "Vendor"},
}

PAGES: list[PageSpec] = [
    PageSpec("home", "home", "דף הבית", "Home", ":material/home:", "general", None),
    PageSpec("delegation", "delegation", "האצלת הרשאות", "Delegation", ":material/group_add:", "manage",
             Action.DELEGATE),
    PageSpec("audit_log", "audit_log", "יומן ביקורת", "Audit log", ":material/policy:", "manage", Action.VIEW_AUDIT),
    PageSpec("usage", "usage", "סקירת שימוש", "Usage review", ":material/monitoring:", "ministry",
             Action.REVIEW_USAGE),
    PageSpec("access_request", "access_request", "בקשת גישה", "Access request", ":material/assignment:", "general",
             Action.FILE_REQUEST),
    PageSpec("inbox", "inbox", "הודעות", "Inbox", ":material/inbox:", "general", None),
    PageSpec("request_queue", "request_queue", "תור בקשות גישה", "Access request queue", ":material/fact_check:",
             "ministry", Action.REVIEW_REQUESTS),
]

# The census pages analysts and roster managers live in (pages/widgets.py holds their shared parts).
PAGES += [
    PageSpec("overview", "overview", "סקירה כללית", "Overview", ":material/dashboard:", "census",
             Action.VIEW_AGGREGATES, needs_snapshot=True),
    PageSpec("students", "students", "תלמידים", "Students", ":material/groups:", "census", Action.VIEW_ROWS,
             needs_snapshot=True),
    PageSpec("classes", "classes", "כיתות", "Classes", ":material/meeting_room:", "census", Action.VIEW_AGGREGATES,
             needs_snapshot=True),
    PageSpec("tracks", "tracks", "מגמות", "Tracks", ":material/route:", "census", Action.VIEW_AGGREGATES,
             needs_snapshot=True),
    PageSpec("institutions", "institutions", "מוסדות", "Institutions", ":material/school:", "census",
             Action.VIEW_AGGREGATES, needs_snapshot=True),
    PageSpec("contacts", "contacts", "איכות פרטי הקשר", "Contact quality", ":material/contact_phone:", "census",
             Action.VIEW_ROWS, needs_snapshot=True),
    PageSpec("changes", "changes", "שינויים מהשבוע שעבר", "Changes since last week", ":material/compare_arrows:",
             "census", Action.VIEW_AGGREGATES, needs_snapshot=True),
    PageSpec("national", "national", "תמונה ארצית", "National picture", ":material/public:", "ministry",
             Action.NATIONAL_AGGREGATES, needs_snapshot=True),
]

# The weekly export: downloads and powers of attorney (authorities), approval and vendors (ministry),
# the vault (vendors).
PAGES += [
    PageSpec("exports", "exports", "ייצוא שבועי", "Weekly export", ":material/download:", "export",
             Action.DOWNLOAD_EXPORT),
    PageSpec("approvals", "approvals", "אישור הייצוא השבועי", "Weekly export approval", ":material/verified:",
             "ministry", Action.APPROVE_EXPORTS),
    PageSpec("vendors", "vendors", "ספקי תוכנה", "Software vendors", ":material/business:", "ministry",
             Action.REGISTER_VENDORS),
    PageSpec("vault", "vault", "כספת הספק", "Vendor vault", ":material/inventory_2:", "vendor", Action.COLLECT_VAULT),
]

# Feed ingest review (ministry): snapshots, rejections by code, refused feeds, rejected rows.
PAGES += [
    PageSpec("ingest_report", "ingest_report", "דוח קליטת הזנה", "Feed ingest report", ":material/rule:", "ministry",
             Action.REVIEW_INGEST),
]
