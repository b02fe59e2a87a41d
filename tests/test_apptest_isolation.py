"""Two people of different authorities, in two sessions of the same process, take turns on the same
pages and so on the same cached queries: each sees only their own authority's numbers and rows.
And no cache anywhere in the code is keyed without the scope."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

import queries
from auth import records
from common.i18n import fmt_int

REPO = Path(__file__).resolve().parent.parent
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
PEOPLE = {"5000": "manager.tlv@mifkad.test", "10026": "manager.region@mifkad.test"}


@pytest.fixture
def census(published_snapshot) -> dict[str, set[str]]:
    """Each authority's students (identity numbers), straight from the snapshot's census table."""
    for authority, email in PEOPLE.items():
        records.open_access(authority, by="operator:test", basis="operator")
        records.appoint_roster_manager(authority, email, by="operator:test")
    path = published_snapshot.derived("CENSUS")
    out: dict[str, set[str]] = {}
    for authority in PEOPLE:
        out[authority] = {r[0] for r in duckdb.sql(
            f"SELECT MISPAR_ZEHUT FROM read_parquet('{path}') WHERE SEMEL_RASHUT = ?", params=[authority]).fetchall()}
    assert len(out["5000"]) != len(out["10026"])        # otherwise swapped numbers would go unnoticed
    return out


def students_metric(session) -> str:
    values = [m.value for m in session.at.metric if m.label == "תלמידים"]
    assert values, session.text()
    return values[0]


def test_two_authorities_taking_turns_on_the_same_cached_pages_never_see_each_others_numbers(census, app_session):
    sessions = {a: app_session(email) for a, email in PEOPLE.items()}
    hits_before = queries._cached_run.cache_info().hits
    for _ in range(2):                    # the second round is served from the shared cache
        for authority, session in sessions.items():
            session.open("overview")
            assert students_metric(session) == fmt_int(len(census[authority]))
    assert queries._cached_run.cache_info().hits > hits_before

    for _ in range(2):
        for authority, session in sessions.items():
            session.open("students")
            shown = session.at.dataframe[0].value
            ids = {BIDI.sub("", v) for v in shown["מספר זהות"]}   # tables mark numbers left-to-right
            assert ids and ids <= census[authority], f"{authority} saw rows of another authority"
            assert f"מתוך {fmt_int(len(census[authority]))}" in session.text()


def test_a_session_switching_authority_sees_the_new_authoritys_numbers(census, app_session):
    # One person managing both authorities switches between them in the sidebar.
    records.appoint_roster_manager("10026", PEOPLE["5000"], by="operator:test")
    session = app_session(PEOPLE["5000"]).open("overview")
    first = session.at.session_state["authority"]
    other = next(a for a in PEOPLE if a != first)
    assert students_metric(session) == fmt_int(len(census[first]))
    session.at.selectbox(key="authority_choice").set_value(other)
    session.run()
    assert students_metric(session) == fmt_int(len(census[other]))


# --- caches elsewhere in the code ---

def _sources():
    yield REPO / "app.py"
    for folder in ("pages", "queries", "data", "auth", "common"):
        yield from sorted((REPO / folder).rglob("*.py"))


def _cached_functions():
    """(file, function) for every function decorated with st.cache_data / cache_data(...)."""
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                targets = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
                if any(getattr(t, "attr", getattr(t, "id", None)) == "cache_data" for t in targets):
                    yield path.relative_to(REPO), node


def test_every_st_cache_data_is_keyed_by_the_scope():
    """st.cache_data is shared by all users: a cached function must take the scope (or the authority)
    as an argument, or its result leaks between authorities."""
    unkeyed = []
    for path, fn in _cached_functions():
        names = [a.arg for a in fn.args.args + fn.args.kwonlyargs]
        if not any(n == "scope" or n.endswith("_scope") or n == "authority" for n in names):
            unkeyed.append(f"{path}:{fn.lineno} {fn.name}({', '.join(names)})")
    assert not unkeyed, "st.cache_data without the scope among its arguments: " + "; ".join(unkeyed)
