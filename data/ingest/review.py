"""What the ministry's ingest page shows, as plain functions: published snapshots with their counts,
refused feeds, the issues of a report with personal values masked, and the rejected-rows files.

Ministry staff review data quality, not children: identity numbers keep their last four digits and
names, addresses and phones are hidden in every example shown. The rejected rows themselves are
downloadable in full, and each download is audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auth import audit
from data.approvals import get_approval
from data.ingest import list_refused
from data.ingest.issues import ISSUES, message
from data.snapshots import list_snapshots
from queries.masking import HIDDEN, HIDDEN_COLUMNS, ID_COLUMNS, mask_id


@dataclass(frozen=True)
class IngestRun:
    date: str
    status: str                  # "published" | "refused"
    finished_at: str
    report: dict
    folder: Path                 # the snapshot's content directory, or the refused run's report folder
    approved: bool = False

    def total(self, key: str) -> int:
        return sum(int(f.get(key) or 0) for f in self.report.get("files", {}).values())


def published_runs() -> list[IngestRun]:
    """Published snapshots, newest first."""
    runs = []
    for snap in reversed(list_snapshots()):
        report = snap.report()
        runs.append(IngestRun(snap.date, "published", report.get("finished_at", ""), report, snap.path,
                              get_approval(snap.date) is not None))
    return runs


def refused_runs() -> list[IngestRun]:
    """Refused feeds, newest first."""
    return [IngestRun(r.get("date", ""), "refused", r.get("finished_at", ""), r, Path(r["_dir"]))
            for r in list_refused()]


def masked_value(field: str | None, value: str | None) -> str | None:
    if value is None or field is None:
        return value
    if field in ID_COLUMNS:
        return mask_id(value.rsplit("/", 1)[-1])
    if field in HIDDEN_COLUMNS:
        return HIDDEN
    return value


def issue_examples(report: dict, code: str, lang: str, limit: int = 20) -> list[dict]:
    """Up to `limit` issues of one code, values masked, messages rebuilt around the masked value."""
    out = []
    for issue in report.get("issues", []):
        if issue["code"] != code:
            continue
        value = masked_value(issue.get("field"), issue.get("value"))
        out.append({"file": issue.get("file") or issue.get("prefix"), "line": issue.get("line"),
                    "field": issue.get("field"), "value": value,
                    "message": message(code, lang, value, issue.get("ref"))})
        if len(out) >= limit:
            break
    return out


def code_counts(report: dict) -> list[dict]:
    """Issues per code, errors first."""
    rows = [{"code": code, "severity": c.get("severity", ISSUES[code].severity), "count": c["count"],
             "files": c.get("files", [])} for code, c in report.get("counts_by_code", {}).items()]
    order = {"feed": 0, "error": 1, "warning": 2}
    return sorted(rows, key=lambda r: (order.get(r["severity"], 3), r["code"]))


def rejected_files(run: IngestRun) -> list[Path]:
    folder = run.folder / "rejected"
    return sorted(folder.iterdir()) if folder.exists() else []


def download_rejected(actor: str, run: IngestRun, name: str) -> bytes:
    """The bytes of one rejected-rows file (name must be one of rejected_files(run)), audited first:
    the event is durable before a byte is returned."""
    allowed = {p.name: p for p in rejected_files(run)}
    if name not in allowed:
        raise FileNotFoundError(name)
    audit.record("ingest_rejects_download", actor=actor,
                 details={"snapshot": run.date, "status": run.status, "folder": run.folder.name, "file": name})
    return allowed[name].read_bytes()
