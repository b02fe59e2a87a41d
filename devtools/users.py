"""The preset users of the local login provider, one per role (listed in the README)."""
from __future__ import annotations

TEL_AVIV = "5000"          # תל אביב-יפו: a city is its own authority, coded by its CBS locality code
MATEH_YEHUDA = "10026"     # מועצה אזורית מטה יהודה: regional councils are 10000 + the CBS council code

PRESET_USERS = [
    {"sub": "ministry-admin", "email": "admin@education.gov.il", "name": "נועה מנהלת (משרד החינוך)",
     "role": "ministry"},
    {"sub": "tlv-manager", "email": "manager.tlv@mifkad.test", "name": "דנה כהן (מנהלת מצבה, תל אביב-יפו)",
     "role": "roster_manager", "authority": TEL_AVIV},
    {"sub": "tlv-analyst", "email": "analyst.tlv@mifkad.test", "name": "יוסי לוי (אנליסט, תל אביב-יפו)",
     "role": "analyst", "authority": TEL_AVIV, "actions": ["view_aggregates", "view_rows"]},
    {"sub": "region-manager", "email": "manager.region@mifkad.test", "name": "רות אזולאי (מנהלת מצבה, מטה יהודה)",
     "role": "roster_manager", "authority": MATEH_YEHUDA},
    {"sub": "vendor-user", "email": "vendor@softedu.test", "name": "אבי ספק (סופט-אדו בע\"מ)",
     "role": "vendor", "vendor": "סופט-אדו בע\"מ"},
    {"sub": "candidate", "email": "candidate@haifa.test", "name": "מיכל ברק (מועמדת, חיפה)",
     "role": "candidate"},
]


def oidc_claims() -> list[dict]:
    return [{"sub": u["sub"], "email": u["email"], "email_verified": True, "name": u["name"]} for u in PRESET_USERS]
