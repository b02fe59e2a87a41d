"""The no-leak guarantee, as a property: whatever authorities are opened and closed, whoever is
appointed, granted and revoked, every query result, option list and export package a person can
reach holds only rows of that person's scope, and personal details only when they may see them.

The allowed rows are computed here, independently of the SQL, straight from the feed's CSV files
with the spec's rule (../shared/spec/roster-feed.md, "Authority A's census"). The feed is the
generator's built-in default, which plants students living in one authority and placed in another.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from auth import records
from auth.permissions import DELEGABLE, Action
from auth.principal import load_principal
from common import portal_db
from common.clock import today
from queries.masking import needs_personal

# ---------------------------------------------------------------- the spec's rule, from the CSVs

def _read(feed: Path, prefix: str) -> list[tuple[int, dict]]:
    """(line where the record starts, row) for every record of one feed file."""
    path, = [p for p in feed.iterdir() if p.name.startswith(prefix + "_") and p.suffix.lower() == ".csv"]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1255")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    out, start = [], reader.line_num + 1
    for values in reader:
        out.append((start, {k: (v if v != "" else None) for k, v in zip(header, values)}))
        start = reader.line_num + 1
    return out


def _rows(feed: Path, prefix: str, accepted: dict) -> list[dict]:
    """The file's rows the ingest accepted (rejected rows are not in the snapshot)."""
    lines = accepted.get(prefix)
    return [r for line, r in _read(feed, prefix) if lines is None or line in lines]


def _date(value: str | None) -> date | None:
    if not value:
        return None
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
        d, m, y = value.split("/")
        return date(int(y), int(m), int(d))
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(repr=False)
class AuthorityScope:
    """Who and what may appear for one authority. `students` over-approximates where the spec leaves
    a choice open (two rows updated on the same day with different residences): a row of a student
    outside even this set is a leak."""
    localities: set = field(default_factory=set)
    institutions: set = field(default_factory=set)
    students: set = field(default_factory=set)            # (SUG_ZEHUT, MISPAR_ZEHUT)
    sure_students: set = field(default_factory=set)       # in scope whichever way a tie is read
    contacts: set = field(default_factory=set)            # contact persons linked to those students
    row_institutions: set = field(default_factory=set)    # institutions on those students' rows

    def __repr__(self):    # failing examples print the world: keep it short
        return f"AuthorityScope({len(self.students)} students, {len(self.institutions)} institutions)"


@dataclass(repr=False)
class Feed:
    authorities: list[str]
    scopes: dict[str, AuthorityScope]
    all_students: set
    institutions: list[str]
    localities: list[str]
    tracks: list[str]
    first_names: list[str]

    def __repr__(self):
        return f"Feed(authorities={self.authorities}, {len(self.all_students)} students)"


def _compulsory(row: dict) -> bool:
    born, year = _date(row.get("TAARICH_LEDA")), row.get("SHNAT_LIMUDIM")
    return bool(born and year and year.isdigit() and int(year) - 22 <= born.year <= int(year) - 7)


def _active(row: dict) -> bool:
    return row.get("CODE_STATUS_RISHUM_TA") == "3" and not row.get("TAARICH_AZIVA")


def feed_model(feed: Path, snapshot) -> Feed:
    key = (str(feed), snapshot.token)
    if key not in _models:
        _models[key] = _feed_model(feed, _accepted_lines(snapshot))
    return _models[key]


_models: dict = {}


def _accepted_lines(snapshot) -> dict[str, set[int]]:
    """Which lines of each file the ingest accepted: the only thing taken from the snapshot."""
    import duckdb
    return {t: {r[0] for r in duckdb.sql(f"SELECT CAST(_line AS INTEGER) FROM read_parquet('{snapshot.feed(t)}')").fetchall()}
            for t in ("RASHUYOT", "MOSDOT", "TALMIDIM", "GORMEY_KESHER", "MEGAMOT")}


def _feed_model(feed: Path, accepted: dict) -> Feed:
    rashuyot, mosdot = _rows(feed, "RASHUYOT", accepted), _rows(feed, "MOSDOT", accepted)
    talmidim, links = _rows(feed, "TALMIDIM", accepted), _rows(feed, "GORMEY_KESHER", accepted)
    authority_of = {r["SEMEL_YISHUV"]: r["SEMEL_RASHUT"] for r in rashuyot}
    place_of = {r["SEMEL_MOSAD"]: authority_of.get(r["SEMEL_YISHUV"]) for r in mosdot}
    by_student: dict[tuple, list[dict]] = {}
    for r in talmidim:
        by_student.setdefault((r["SUG_ZEHUT"], r["MISPAR_ZEHUT"]), []).append(r)

    scopes = {a: AuthorityScope() for a in sorted(set(authority_of.values()))}
    for loc, a in authority_of.items():
        scopes[a].localities.add(loc)
    for m, a in place_of.items():
        if a:
            scopes[a].institutions.add(m)
    for key, rows in by_student.items():
        newest = max((_date(r.get("TAARICH_IDKUN_RESHUMA")) or date.min) for r in rows)
        latest = [r for r in rows if (_date(r.get("TAARICH_IDKUN_RESHUMA")) or date.min) == newest]
        placed_in = {place_of.get(r["SEMEL_MOSAD"]) for r in rows if _active(r)} - {None}
        maybe, sure = set(), None
        for r in latest:      # each reading of a tie: residence and age from that row
            if _compulsory(r):
                mine = ({authority_of.get(r["SEMEL_YISHUV_TAL"])} | placed_in) - {None}
            else:
                mine = set()
            maybe |= mine
            sure = mine if sure is None else sure & mine
        for a in maybe:
            scopes[a].students.add(key)
            scopes[a].row_institutions |= {r["SEMEL_MOSAD"] for r in rows if r.get("SEMEL_MOSAD")}
        for a in sure or ():
            scopes[a].sure_students.add(key)
    for link in links:
        student = (link["SUG_ZEHUT_TALMID"], link["MISPAR_ZEHUT_TALMID"])
        for s in scopes.values():
            if student in s.students:
                s.contacts.add((link["SUG_ZEHUT_GOREM_KESHER"], link["MISPAR_ZEHUT_GOREM_KESHER"]))
    return Feed(authorities=sorted(scopes), scopes=scopes, all_students=set(by_student),
                institutions=sorted({r["SEMEL_MOSAD"] for r in mosdot}),
                localities=sorted(authority_of),
                tracks=sorted({r["SEMEL_MEGAMA_MOSAD"] for r in _rows(feed, "MEGAMOT", accepted) if r.get("SEMEL_MEGAMA_MOSAD")}),
                first_names=sorted({r["SHEM_PRATI"] for r in talmidim if r.get("SHEM_PRATI")})[:200])


# ---------------------------------------------------------------- checking one result

ID_STUDENT = ("SUG_ZEHUT", "MISPAR_ZEHUT")
SALT = "property-test-salt"


def student_refs(snapshot, authorities: list[str]) -> dict[str, tuple]:
    """STUDENT_REF -> (SUG_ZEHUT, MISPAR_ZEHUT) for every student of every authority, as the students
    list hands them out (with this test's salt): the pool of references to open, in scope or not."""
    import queries
    st_list = queries.statements()["students_list"]
    refs = {}
    for authority in authorities:
        params = {p: None for p in statement_params(st_list)}
        params.update(salt=SALT, limit=1_000_000, offset=0, descending=False, sort="id")
        df = queries.run("students_list", queries.Scope(snapshot=snapshot, authority=authority, personal=True), **params)
        refs.update({r: (s, n) for r, s, n in df.select("STUDENT_REF", "SUG_ZEHUT", "MISPAR_ZEHUT").iter_rows()})
    return refs


def check_in_scope(name: str, df, scope: AuthorityScope, authority: str, refs: dict | None = None) -> None:
    """Every identity, institution and reference in the result belongs to the authority's scope."""
    cols = set(df.columns)
    where = f"{name} for authority {authority}"
    people = scope.students | scope.contacts
    for sug, num, allowed, what in (("SUG_ZEHUT", "MISPAR_ZEHUT", people, "people"),
                                    ("SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID", scope.students, "students"),
                                    ("SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER", scope.contacts,
                                     "contact persons")):
        if num not in cols:
            continue
        if sug in cols:
            found = {k for k in df.select(sug, num).unique().iter_rows() if k[1] is not None}
        else:      # the number alone: it must be the number of someone in scope
            allowed = {k[1] for k in allowed}
            found = set(df[num].drop_nulls().unique().to_list())
        bad = sorted(found - allowed)
        assert not bad, f"{where}: {what} outside the scope in {num}: {bad[:3]}"
    if "SEMEL_MOSAD" in cols:
        allowed = scope.institutions | scope.row_institutions
        bad = [m for m in df["SEMEL_MOSAD"].unique().to_list() if m is not None and m not in allowed]
        assert not bad, f"{where}: institutions outside the scope: {bad[:3]}"
    if "STUDENT_REF" in cols and refs is not None:
        bad = [r for r in df["STUDENT_REF"].unique().to_list() if r is not None and refs.get(r) not in scope.students]
        assert not bad, f"{where}: student references outside the scope: {bad[:3]}"


def check_masked(name: str, df, all_ids: set[str]) -> None:
    """Without the view-personal action no identity number, name or phone shows, under any column."""
    from queries.masking import HIDDEN, HIDDEN_COLUMNS, ID_COLUMNS
    for col in set(df.columns) & ID_COLUMNS:
        bad = [v for v in df[col].to_list() if v is not None and not re.fullmatch(r"\*{5}\d{0,4}", v)]
        assert not bad, f"{name}: {col} not masked: {bad[:3]}"
    for col in set(df.columns) & HIDDEN_COLUMNS:
        assert set(df[col].drop_nulls().cast(str).to_list()) <= {HIDDEN}, f"{name}: {col} not hidden"
    for col, dtype in df.schema.items():
        if dtype == pl.String and col not in ID_COLUMNS:
            leaked = set(df[col].drop_nulls().to_list()) & all_ids
            assert not leaked, f"{name}: identity numbers shown in column {col}"


# ---------------------------------------------------------------- filling statement parameters

def param_strategies(feed: Feed, refs: dict) -> dict:
    some_students = sorted(feed.all_students)
    ids = st.sampled_from(some_students).map(lambda k: k[1])
    return {
        "mosad": st.none() | st.sampled_from(feed.institutions),
        "shichva": st.none() | st.integers(1, 14),
        "makbila": st.none() | st.integers(1, 4),
        "megama": st.none() | st.sampled_from(feed.tracks or ["0"]),
        "status": st.none() | st.sampled_from([1, 2, 3, 4, 5]),
        "res_yishuv": st.none() | st.sampled_from(feed.localities),
        "relation": st.none() | st.sampled_from(["resident", "here", "incoming", "elsewhere", "unplaced"]),
        # Exact identity search, with any student of the feed, in or out of scope, also without zeros.
        "q_id": st.none() | ids | ids.map(lambda i: i.lstrip("0")),
        "q_name": st.none() | st.sampled_from(feed.first_names or ["א"]),
        "sort": st.sampled_from(["name", "institution", "grade", "locality", "birth", "id"]),
        "descending": st.booleans(),
        "limit": st.sampled_from([5, 50, 100_000]),
        "offset": st.sampled_from([0, 3]),
        "salt": st.just(SALT),
        "problem": st.none() | st.sampled_from(["no_contact", "no_phone", "not_agreeing", "invalid_phone",
                                                 "invalid_email", "missing_details"]),
        # References of any student of the feed: one of another authority must open nothing.
        "ref": st.sampled_from(sorted(refs) or ["0"]),
    }


def statement_params(statement) -> set[str]:
    return set(re.findall(r"\$(\w+)", statement.sql)) - {"authority"}


def authority_statements():
    import queries
    return sorted(n for n, s in queries.statements().items() if s.scope == "authority")


# ---------------------------------------------------------------- the portal's records, as a model

AUTHORITIES_EXTRA = ["99999"]          # an authority code with no census at all
USERS = ["u1@city.test", "u2@city.test", "u3@city.test"]
ACTION_SETS = [["view_aggregates"], ["view_aggregates", "view_rows"],
               ["view_aggregates", "view_rows", "view_personal"], ["view_aggregates", "download_export"],
               ["view_personal"], ["delegate"]]


def draw_operations(data, authorities: list[str], model: "Model") -> list[tuple]:
    """Opening and appointing first (so most examples reach some census), then any operation in any
    order; grants and revocations come mostly from people who are managers at that moment, so they
    often succeed, and sometimes from anyone, so refusals are exercised too."""
    a = st.sampled_from(authorities + AUTHORITIES_EXTRA)
    u = st.sampled_from(USERS)
    days = st.sampled_from([0, 1, 365, records.MAX_GRANT_DAYS]) | st.integers(-3, 800)
    ops = []
    for authority, manager in data.draw(st.lists(st.tuples(a, u), min_size=1, max_size=3), label="setup"):
        colleague = data.draw(st.sampled_from([x for x in USERS if x != manager]))
        ops += [("open", authority), ("manager", authority, manager),
                ("grant", authority, manager, colleague, data.draw(st.sampled_from(range(len(ACTION_SETS)))),
                 data.draw(days))]
    apply(ops, model)
    for _ in range(data.draw(st.integers(1, 12), label="operations")):
        kind = data.draw(st.sampled_from(["open", "close", "manager", "grant", "grant", "grant", "revoke", "revoke"]))
        live = sorted((x, y) for x, y in model.managers if x in model.open)
        if kind in ("open", "close"):
            op = (kind, data.draw(a))
        elif kind == "manager":
            op = (kind, data.draw(a), data.draw(u))
        elif kind == "grant":
            where, grantor = data.draw(st.sampled_from(live)) if live and data.draw(st.integers(0, 4)) else \
                (data.draw(a), data.draw(u))
            op = (kind, where, grantor, data.draw(u), data.draw(st.sampled_from(range(len(ACTION_SETS)))),
                  data.draw(days))
        else:
            revoker = data.draw(st.sampled_from([y for _, y in live])) if live and data.draw(st.integers(0, 3)) \
                else data.draw(u)
            op = (kind, data.draw(st.integers(0, 20)), revoker)
        apply([op], model)
        ops.append(op)
    return ops


@dataclass
class Model:
    open: set = field(default_factory=set)
    managers: set = field(default_factory=set)              # (authority, email)
    grants: list = field(default_factory=list)              # [id, authority, grantee, actions, expires, revoked]

    def manager_actions(self, a, u) -> set:
        from auth.permissions import AUTHORITY_ACTIONS, ROLE_ACTIONS, Role
        return set(ROLE_ACTIONS[Role.ROSTER_MANAGER] & AUTHORITY_ACTIONS) if (a, u) in self.managers and a in self.open else set()

    def actions(self, u) -> dict:
        out: dict[str, set] = {}
        for a in self.open:
            if self.manager_actions(a, u):
                out[a] = self.manager_actions(a, u)
        for _, a, grantee, acts, expires, revoked in self.grants:
            if grantee == u and a in self.open and not revoked and expires >= today():
                out.setdefault(a, set()).update(acts)
        return out


def apply(ops, model: Model) -> None:
    """Run the operations through auth.records, predicting each outcome from the model."""
    for op in ops:
        kind = op[0]
        if kind == "open":
            records.open_access(op[1], by="operator:test", basis="operator")
            model.open.add(op[1])
        elif kind == "close":
            records.close_access(op[1], by="operator:test")
            model.open.discard(op[1])
            model.managers = {(a, u) for a, u in model.managers if a != op[1]}
            for g in model.grants:
                if g[1] == op[1]:
                    g[5] = True
        elif kind == "manager":
            records.appoint_roster_manager(op[1], op[2], by="operator:test")
            model.managers.add((op[1], op[2]))
        elif kind == "grant":
            _, a, grantor, grantee, which, days = op
            acts = set(ACTION_SETS[which])
            expires = today() + timedelta(days=days)
            ok = (bool(model.manager_actions(a, grantor)) and grantor != grantee and acts <= set(DELEGABLE)
                  and ("view_personal" not in acts or "view_rows" in acts)
                  and 0 <= days <= records.MAX_GRANT_DAYS
                  and not any(g[1] == a and g[2] == grantee and not g[5] and g[4] >= today() for g in model.grants))
            try:
                gid = records.create_grant(load_principal(grantor), a, grantee, sorted(acts), expires)
            except records.GrantError:
                assert not ok, f"grant refused but the rules allow it: {op}"
            else:
                assert ok, f"grant made against the rules: {op}"
                model.grants.append([gid, a, grantee, {Action(x) for x in acts}, expires, False])
        elif kind == "revoke":
            _, index, revoker = op
            if not model.grants:
                continue
            g = model.grants[index % len(model.grants)]
            ok = not g[5] and bool(model.manager_actions(g[1], revoker))
            try:
                records.revoke_grant(load_principal(revoker), g[0])
            except records.GrantError:
                assert not ok, f"revocation refused but allowed: {op}"
            else:
                assert ok, f"revocation against the rules: {op}"
                g[5] = True


def _reset_records() -> None:
    with portal_db.transaction() as con:
        for table in ("grants", "roster_managers", "authority_access"):
            con.execute(f"DELETE FROM {table}")


# ---------------------------------------------------------------- the tests

@pytest.fixture
def world(published_snapshot, small_feed):
    feed = feed_model(small_feed, published_snapshot)
    return published_snapshot, feed, student_refs(published_snapshot, feed.authorities)


def test_the_feed_has_students_crossing_authority_lines(world):
    _, feed, _ = world
    placed_elsewhere = [k for a, s in feed.scopes.items() for k in s.students
                        if any(k in o.students for b, o in feed.scopes.items() if b != a)]
    assert len(feed.authorities) >= 2 and placed_elsewhere, "the property needs students in two authorities' census"


def test_the_census_table_is_the_spec_rule(world):
    from queries.engine import cursor_for
    snapshot, feed, refs = world
    cur = cursor_for(snapshot)
    try:
        census = cur.sql("SELECT SEMEL_RASHUT, SUG_ZEHUT, MISPAR_ZEHUT FROM census").fetchall()
    finally:
        cur.close()
    got: dict[str, set] = {}
    for a, sug, num in census:
        got.setdefault(a, set()).add((sug, num))
    for a, scope in feed.scopes.items():
        mine = got.get(a, set())
        assert scope.sure_students <= mine, f"authority {a}: census misses {sorted(scope.sure_students - mine)[:3]}"
        assert mine <= scope.students, f"authority {a}: census holds others' students {sorted(mine - scope.students)[:3]}"


def test_every_authority_statement_can_be_run_by_the_property(world):
    """A new statement with a parameter nobody here knows how to fill would go unchecked: fail instead."""
    import queries
    snapshot, feed, refs = world
    known = set(param_strategies(feed, refs))
    unknown = {n: sorted(statement_params(queries.statements()[n]) - known) for n in authority_statements()}
    assert not {n: p for n, p in unknown.items() if p}, "add these parameters to param_strategies"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_no_path_shows_a_person_anything_outside_their_scope(world, data):
    import queries
    from pages.context import PageContext
    snapshot, feed, refs = world
    _reset_records()
    model = Model()
    draw_operations(data, feed.authorities, model)
    fills = param_strategies(feed, refs)
    # One set of filters per statement and example, shared by every person and authority in it.
    params_of = {name: {p: data.draw(fills[p], label=f"{name}.{p}") for p in statement_params(queries.statements()[name])}
                 for name in authority_statements()}
    all_ids = {k[1] for k in feed.all_students}
    for user in USERS:
        principal = load_principal(user)
        expected = model.actions(user)
        assert {a: set(x) for a, x in principal.authority_actions.items() if x} == expected, user
        for authority in feed.authorities + AUTHORITIES_EXTRA:
            ctx = PageContext(principal=principal, authority=authority, authority_name=None, snapshot=snapshot,
                              lang="he")
            if Action.VIEW_AGGREGATES not in expected.get(authority, set()):
                with pytest.raises(PermissionError):
                    ctx.scope()                      # the only way pages get a scope
                continue
            page_scope = ctx.scope()
            event(f"census opened as {'manager' if Action.DELEGATE in expected[authority] else 'analyst'}, "
                  f"personal details: {page_scope.personal}")
            assert page_scope.personal == (Action.VIEW_PERSONAL in expected[authority])
            truth = queries.Scope(snapshot=snapshot, authority=authority, personal=True)
            scope = feed.scopes.get(authority, AuthorityScope())
            for name in authority_statements():
                params = params_of[name]
                real = queries.run(name, truth, **params)
                check_in_scope(name, real, scope, authority, refs)
                if not page_scope.personal and needs_personal(params):
                    with pytest.raises(queries.ScopeError):    # an order or search by what is hidden
                        queries.run(name, page_scope, **params)
                    continue
                shown = queries.run(name, page_scope, **params)
                assert shown.height == real.height, name
                if not page_scope.personal:
                    check_masked(name, shown, all_ids)
            if Action.DOWNLOAD_EXPORT in expected[authority]:
                for table, frame in _package(snapshot, authority).items():
                    check_in_scope(f"package {table}", frame, scope, authority)
                    if table in ("MOSDOT", "KITOT", "MEGAMOT"):
                        assert set(frame["SEMEL_MOSAD"].to_list()) <= scope.institutions, table


_packages: dict = {}


def _package(snapshot, authority: str) -> dict:
    """The export package's tables for one authority (the same for every person who may download it)."""
    key = (snapshot.token, authority)
    if key not in _packages:
        from data.export import export_tables
        _packages[key] = export_tables(snapshot, authority)
    return _packages[key]
