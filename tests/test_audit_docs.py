"""docs/audit.md describes every event type the code records, and nothing the code never records
is left unexplained by mistake: the check reads the code, so a new audit.record("...") fails here
until it is documented."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from auth import audit

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "audit.md"
SKIP_DIRS = {".venv", "tests", "var", "test-artifacts", ".git", "node_modules"}


def documented_types() -> set[str]:
    return set(re.findall(r"^#### `([a-z_]+)`$", DOC.read_text(encoding="utf-8"), re.M))


def _is_record_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr == "record" and isinstance(func.value, ast.Name) and func.value.id == "audit"
    return False


@lru_cache(maxsize=1)
def recorded_types() -> tuple[dict[str, list[str]], list[str]]:
    """Action strings passed to audit.record in the code base (file:line), and calls whose action
    could not be read from the source."""
    found: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for path in sorted(REPO.rglob("*.py")):
        rel = path.relative_to(REPO)
        if SKIP_DIRS & set(rel.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
        constants = {t.id: n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name)
                     and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_record_call(node)):
                continue
            arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "action"), None)
            where = f"{rel}:{node.lineno}"
            names = [n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)] \
                if arg is not None else []
            names += [constants[n.id] for n in ast.walk(arg) if isinstance(n, ast.Name) and n.id in constants] \
                if arg is not None else []
            if not names:
                unreadable.append(where)
            for name in names:
                found.setdefault(name, []).append(where)
    return found, unreadable


def test_every_recorded_event_type_is_documented():
    found = {**recorded_types()[0], audit.PRUNE_EVENT: ["auth/audit.py (prune)"]}
    undocumented = {name: where for name, where in found.items() if name not in documented_types()}
    assert not undocumented, f"describe these event types in docs/audit.md: {undocumented}"


def test_every_audit_record_call_names_its_event_type_in_the_source():
    _, unreadable = recorded_types()
    assert not unreadable, f"pass the event type as a literal (or a module constant) so it can be checked: {unreadable}"


def test_the_check_finds_the_calls_that_exist():
    found, _ = recorded_types()
    assert {"sign_in", "sign_out", "session_expired", "page_view", "audit_export"} <= set(found)


def test_the_agreed_event_types_are_documented():
    expected = {"sign_in", "sign_out", "session_expired", "page_view", "personal_view", "table_export", "download",
                "vault_collect", "vendor_delivery", "grant_created", "grant_changed", "grant_revoked", "poa_granted",
                "poa_revoked", "request_state", "export_approved", "vendor_registered", "ingest_published",
                "ingest_refused", "ingest_rejects_download", "audit_export", "audit_pruned"}
    assert expected <= documented_types()


def test_the_usage_page_names_every_documented_event_type():
    from pages.usage import ACTION_NAMES
    assert documented_types() <= set(ACTION_NAMES)
