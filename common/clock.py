"""One place for "now", so records and tests agree on time zones (Israel) and formats."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

ISRAEL = ZoneInfo("Asia/Jerusalem")


def now() -> datetime:
    return datetime.now(ISRAEL)


def now_iso() -> str:
    """Timestamp for records: ISO 8601 with offset, to the microsecond."""
    return now().isoformat(timespec="microseconds")


def today() -> date:
    return now().date()
