"""Usage statistics over the audit trail, as named functions over the portal's SQLite records.

The ministry's usage page (pages/usage.py) and a roster manager's audit log (pages/audit_log.py) read
events only through these functions. A roster manager's functions take the authority as a required
argument and never fall back to "all authorities". Dates filter on the Israel-time day of `at`.
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta

import polars as pl

from auth import audit, records
from common import portal_db
from common.clock import today

EVENT_COLUMNS = ("seq", "at", "actor", "action", "authority", "details", "reason", "hash")
EVENT_SCHEMA = {"seq": pl.Int64, "at": pl.Utf8, "actor": pl.Utf8, "action": pl.Utf8, "authority": pl.Utf8,
                "details": pl.Utf8, "reason": pl.Utf8, "hash": pl.Utf8}
# Events that put a child's identity in `details`; shown masked to anyone without VIEW_PERSONAL.
STUDENT_KEYS = ("student",)
# A page view's or table export's `filters` holding what was typed into a student search: an
# identity number keeps its last four digits, a name is hidden whole (as on the pages themselves).
SEARCH_ID_KEYS = ("id",)
SEARCH_NAME_KEYS = ("name",)
# Outliers of personal-detail views: more than median + OUTLIER_MADS × MAD (MAD at least MIN_MAD).
OUTLIER_MADS = 3
MIN_MAD = 1.0
EXPIRING_DAYS = 30
UNUSED_DAYS = 90


@dataclass(frozen=True)
class EventFilter:
    """What the person chose: every field optional; dates inclusive, by Israel-time day."""
    authority: str | None = None
    actor: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def where(self, extra: str = "") -> tuple[str, list]:
        clauses, params = [], []
        if self.authority:
            clauses.append("authority = ?")
            params.append(str(self.authority))
        if self.actor:
            clauses.append("actor = ?")
            params.append(self.actor)
        if self.action:
            clauses.append("action = ?")
            params.append(self.action)
        # `at` begins with the Israel-time day, so whole days compare as text (and use the index).
        if self.date_from:
            clauses.append("at >= ?")
            params.append(self.date_from.isoformat())
        if self.date_to:
            clauses.append("at < ?")
            params.append((self.date_to + timedelta(days=1)).isoformat())
        if extra:
            clauses.append(extra)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def where_daily(self) -> tuple[str, list]:
        """The same filter over audit_daily (per-day counts; '' is the authority of none)."""
        clauses, params = [], []
        for column in ("authority", "actor", "action"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        if self.date_from:
            clauses.append("day >= ?")
            params.append(self.date_from.isoformat())
        if self.date_to:
            clauses.append("day <= ?")
            params.append(self.date_to.isoformat())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def as_details(self) -> dict:
        """For the audit event that records a view or an export of these events (ISO dates)."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


def for_authority(authority: str, f: EventFilter) -> EventFilter:
    """The same filter pinned to one authority; refuses to widen to every authority."""
    if not authority:
        raise PermissionError("an authority's audit log needs the authority")
    return replace(f, authority=str(authority))


def _query(sql: str, params: list) -> list[dict]:
    con = portal_db.connect()
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def _mask_students(details: str) -> str:
    from queries.masking import HIDDEN, mask_id
    try:
        data = json.loads(details)
    except ValueError:
        return details
    if not isinstance(data, dict):
        return details
    filters = data.get("filters") if isinstance(data.get("filters"), dict) else {}
    searched = [k for k in SEARCH_ID_KEYS + SEARCH_NAME_KEYS if filters.get(k)]
    if not searched and not any(data.get(k) is not None for k in STUDENT_KEYS):
        return details
    for key in STUDENT_KEYS:
        if data.get(key) is not None:
            data[key] = mask_id(str(data[key]))
    for key in searched:
        filters[key] = mask_id(str(filters[key])) if key in SEARCH_ID_KEYS else HIDDEN
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def events(f: EventFilter, limit: int | None = None, personal: bool = False,
           through_seq: int | None = None) -> pl.DataFrame:
    """The filtered events, newest first; student identities masked, and no chain hashes, unless `personal`."""
    where, params = f.where("seq <= ?" if through_seq is not None else "")
    if through_seq is not None:
        params.append(int(through_seq))
    # Newest first; ordering by `at` lets a time-range filter read the index backwards and stop early.
    sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events{where} ORDER BY at DESC, seq DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    rows = _query(sql, params)
    if not personal:
        for row in rows:
            row["details"] = _mask_students(row["details"])
            # The chain hash covers the unmasked event: beside the masked text it would let anyone
            # try the hidden digits until a hash matches (the next event's hash too). Integrity is
            # checked with `python -m auth.audit verify`, not from this view.
            row["hash"] = None
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def count_events(f: EventFilter, through_seq: int | None = None) -> int:
    where, params = f.where("seq <= ?" if through_seq is not None else "")
    if through_seq is not None:
        params.append(int(through_seq))
    return _query(f"SELECT count(*) AS n FROM audit_events{where}", params)[0]["n"]


def filter_options(authority: str | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> dict[str, list[str]]:
    """The authorities, people and actions that occur in the dates (within one authority when given)."""
    where, params = EventFilter(authority=authority, date_from=date_from, date_to=date_to).where_daily()
    out = {}
    for column in ("authority", "actor", "action"):
        out[column] = [r["v"] for r in _query(
            f"SELECT DISTINCT {column} AS v FROM audit_daily{where} ORDER BY v", params) if r["v"] != ""]
    return out


def activity_by_day(f: EventFilter) -> pl.DataFrame:
    """Events per day and authority (authority None: events outside any authority, e.g. sign-in)."""
    where, params = f.where_daily()
    rows = _query(f"SELECT day, nullif(authority, '') AS authority, sum(events) AS events FROM audit_daily{where} "
                  "GROUP BY day, authority ORDER BY day, authority", params)
    return pl.DataFrame(rows, schema={"day": pl.Utf8, "authority": pl.Utf8, "events": pl.Int64}, orient="row") \
        .with_columns(pl.col("day").str.to_date())


def week_start(day: date) -> date:
    """Weeks start on Sunday, as the Israeli work week does."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def downloads_per_week(f: EventFilter) -> pl.DataFrame:
    """Package downloads per week (Sunday to Saturday): how many, and by how many authorities."""
    where, params = replace(f, action="download").where_daily()
    rows = _query(f"SELECT date(day, '-6 days', 'weekday 0') AS week, sum(events) AS downloads, "
                  f"count(DISTINCT nullif(authority, '')) AS authorities FROM audit_daily{where} "
                  "GROUP BY week ORDER BY week", params)
    return pl.DataFrame(rows, schema={"week": pl.Utf8, "downloads": pl.Int64, "authorities": pl.Int64},
                        orient="row").with_columns(pl.col("week").str.to_date())


def authorities_never_downloaded() -> list[str]:
    """Authorities whose access is open and that have never downloaded a package."""
    downloaded = {r["authority"] for r in _query(
        "SELECT DISTINCT authority FROM audit_daily WHERE action = 'download'", [])}
    return [a for a in records.authorities_with_access() if a not in downloaded]


def delegations_to_review(on: date | None = None, expiring_days: int = EXPIRING_DAYS,
                          unused_days: int = UNUSED_DAYS) -> pl.DataFrame:
    """Active delegations ending within `expiring_days`, or unused: no page view by the grantee in
    that authority for `unused_days` (only grants at least that old can have been unused that long)."""
    on = on or today()
    since = on - timedelta(days=unused_days)
    last_views = {(r["actor"], r["authority"]): r["last"] for r in _query(
        "SELECT actor, authority, max(day) AS last FROM audit_daily WHERE action = 'page_view' "
        "GROUP BY actor, authority", [])}
    out = []
    for authority in records.authorities_with_access():
        for grant in records.grants_of_authority(authority):
            if grant.revoked_at is not None or grant.expires_on < on:
                continue
            last = last_views.get((grant.grantee, authority))
            expiring = grant.expires_on <= on + timedelta(days=expiring_days)
            old_enough = grant.granted_at[:10] <= since.isoformat()
            unused = old_enough and (last is None or last[:10] < since.isoformat())
            if expiring or unused:
                out.append({"authority": authority, "grantee": grant.grantee,
                            "actions": ", ".join(sorted(grant.actions)), "granted_by": grant.granted_by,
                            "expires_on": grant.expires_on, "last_view": last[:10] if last else None,
                            "expiring": expiring, "unused": unused})
    schema = {"authority": pl.Utf8, "grantee": pl.Utf8, "actions": pl.Utf8, "granted_by": pl.Utf8,
              "expires_on": pl.Date, "last_view": pl.Utf8, "expiring": pl.Boolean, "unused": pl.Boolean}
    return pl.DataFrame(out, schema=schema, orient="row").with_columns(pl.col("last_view").str.to_date())


def outlier_threshold(counts: list[int]) -> float | None:
    """median + 3 × MAD (median absolute deviation, at least 1 view so a single extra view among
    equal counts is not an outlier). None when there are no counts."""
    if not counts:
        return None
    median = statistics.median(counts)
    mad = statistics.median(abs(c - median) for c in counts)
    return median + OUTLIER_MADS * max(mad, MIN_MAD)


def personal_views_per_user(f: EventFilter) -> pl.DataFrame:
    """Personal-detail views per person (and distinct students), the outliers flagged."""
    where, params = replace(f, action="personal_view").where()
    rows = _query(f"SELECT actor, count(*) AS views, count(DISTINCT json_extract(details, '$.student')) AS students "
                  f"FROM audit_events{where} GROUP BY actor ORDER BY views DESC, actor", params)
    threshold = outlier_threshold([r["views"] for r in rows])
    for r in rows:
        r["outlier"] = threshold is not None and r["views"] > threshold
    return pl.DataFrame(rows, schema={"actor": pl.Utf8, "views": pl.Int64, "students": pl.Int64,
                                      "outlier": pl.Boolean}, orient="row")


def vendor_deliveries(f: EventFilter) -> pl.DataFrame:
    """Delivery attempts of packages to software vendors' vaults, newest first; `failed` when a
    vendor_delivery_failed event for the same vendor, package and attempt follows the attempt."""
    where, params = replace(f, action="vendor_delivery").where()
    rows = _query(
        "SELECT d.seq, d.at, d.authority, json_extract(d.details, '$.vendor') AS vendor, "
        "json_extract(d.details, '$.snapshot') AS snapshot, json_extract(d.details, '$.package') AS package, "
        "json_extract(d.details, '$.sha256') AS sha256, json_extract(d.details, '$.attempt') AS attempt, "
        "EXISTS (SELECT 1 FROM audit_events x WHERE x.action = 'vendor_delivery_failed' AND x.seq > d.seq "
        "  AND x.authority IS d.authority "
        "  AND json_extract(x.details, '$.vendor_id') IS json_extract(d.details, '$.vendor_id') "
        "  AND json_extract(x.details, '$.package') IS json_extract(d.details, '$.package') "
        "  AND json_extract(x.details, '$.attempt') IS json_extract(d.details, '$.attempt')) AS failed "
        f"FROM (SELECT * FROM audit_events{where}) d ORDER BY d.seq DESC", params)
    schema = {"seq": pl.Int64, "at": pl.Utf8, "authority": pl.Utf8, "vendor": pl.Utf8, "snapshot": pl.Utf8,
              "package": pl.Utf8, "sha256": pl.Utf8, "attempt": pl.Int64, "failed": pl.Boolean}
    for r in rows:
        r["failed"] = bool(r["failed"])
        for k in ("vendor", "snapshot", "package", "sha256"):
            r[k] = None if r[k] is None else str(r[k])
        r["attempt"] = int(r["attempt"]) if isinstance(r["attempt"], (int, float)) else None
    return pl.DataFrame(rows, schema=schema, orient="row")


# ---------------------------------------------------------------------------------------- export

def neutralise(value) -> str:
    """A spreadsheet must not run a cell as a formula: the export's one rule (data/spreadsheet.py)."""
    from data.spreadsheet import neutralise_text
    return "" if value is None else neutralise_text(str(value))


def events_csv(df: pl.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark (Excel reads Hebrew), ISO timestamps, formula-hostile cells neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(EVENT_COLUMNS)
    for row in df.select(EVENT_COLUMNS).iter_rows():
        writer.writerow([row[0]] + [neutralise(v) for v in row[1:]])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def export_events(actor: str, f: EventFilter, personal: bool = False, scope_authority: str | None = None) -> bytes:
    """The audited export: records 'audit_export' (durable) first, then builds the CSV.

    The CSV holds exactly the `rows` events up to `through_seq` named in the event, so what was
    recorded is what left. `scope_authority` is a roster manager's open authority: the filter is
    pinned to it and the event recorded in it. Ministry staff export across authorities (None)."""
    if scope_authority is not None:
        f = for_authority(scope_authority, f)
    top = audit.head()
    through = top[0] if top else 0
    rows = count_events(f, through_seq=through)
    audit.record("audit_export", actor=actor, authority=scope_authority,
                 details={"filters": f.as_details(), "rows": rows, "through_seq": through})
    return events_csv(events(f, personal=personal, through_seq=through))
