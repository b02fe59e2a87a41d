"""The census pages run through app.py (login gate, permissions from the portal's records, navigation)
in AppTest: what each page shows, each empty state, masking, the audit of views, personal views and
exports, and that taking access away takes the pages away on the very next rerun."""
from __future__ import annotations

import json

import polars as pl
import pytest

from auth import records
from auth.permissions import Action
from auth.principal import load_principal
from common import portal_db
from common.i18n import fmt_int
from tests.test_queries_census import A, Oracle, keys

MANAGER = "manager.tlv@mifkad.test"
ANALYST = "analyst.tlv@mifkad.test"
MINISTRY = "admin@education.gov.il"
CENSUS_PAGES = ["overview", "students", "classes", "tracks", "institutions", "contacts", "changes"]
NO_SNAPSHOT = "עדיין לא פורסמה תמונת מצב"


def seed(authority: str = A) -> None:
    records.ensure_configured_admins()
    records.open_access(authority, by="operator:test", basis="operator")
    records.appoint_roster_manager(authority, MANAGER, by="operator:test")
    records.create_grant(load_principal(MANAGER), authority, ANALYST,
                         [Action.VIEW_AGGREGATES, Action.VIEW_ROWS])


def events(action: str | None = None) -> list[dict]:
    con = portal_db.connect()
    try:
        rows = con.execute("SELECT action, actor, authority, details FROM audit_events ORDER BY seq").fetchall()
    finally:
        con.close()
    out = [{"action": r[0], "actor": r[1], "authority": r[2], "details": json.loads(r[3])} for r in rows]
    return [e for e in out if action is None or e["action"] == action]


@pytest.fixture(scope="module")
def oracle(small_feed) -> Oracle:
    return Oracle(small_feed)


@pytest.fixture
def census(census_snapshot):
    seed()
    return census_snapshot


def table(s, first_column: str, rows: int | None = None) -> pl.DataFrame:
    """The one table on the page whose first heading is `first_column` (and with that many rows). In
    Hebrew the grid gets its columns in reverse (so the first stands at the right): undone here."""
    frames = [pl.from_pandas(d.value) for d in s.at.dataframe]
    frames = [f.select(list(reversed(f.columns))) for f in frames]
    (found,) = [f for f in frames if f.columns[0] == first_column and (rows is None or f.height == rows)]
    return found


# --- what each page shows ---------------------------------------------------------------------------

def test_overview_shows_the_headline_numbers_and_charts(census, app_session, oracle):
    s = app_session(MANAGER).open("overview")
    head = oracle.headline(A)
    text = s.text()
    assert f"תלמידים {fmt_int(head['STUDENTS'])}" in text
    assert f"לא משובצים {fmt_int(head['UNPLACED_RESIDENTS'])}" in text
    assert f"כיתות {fmt_int(head['CLASSES'])}" in text
    assert "אין עדיין ייצוא שבועי מאושר קודם" in text       # nothing approved yet: says so
    assert len(s.at.get("plotly_chart")) == 5


def test_overview_compares_with_the_previous_approved_week(mifkad_home, two_week_snapshots, app_session, small_feed,
                                                           earlier_feed):
    from data.approvals import approve
    seed()
    approve("2026-11-24", by="legal@education.gov.il")
    s = app_session(MANAGER).open("overview")
    now, before = Oracle(small_feed).headline(A), Oracle(earlier_feed).headline(A)
    assert "לעומת הייצוא השבועי המאושר הקודם (24/11/2026)" in s.text()
    metric = next(m for m in s.at.metric if m.label == "תלמידים")
    assert metric.value == fmt_int(now["STUDENTS"])
    assert metric.delta == f"{now['STUDENTS'] - before['STUDENTS']:+,}" != "+0"


def test_the_students_page_lists_one_page_of_the_census(census, app_session, oracle):
    s = app_session(MANAGER).open("students")
    total = oracle.census(A).height
    assert f"שורות 1–50 מתוך {fmt_int(total)}" in s.text()
    rows = table(s, "מספר זהות")
    assert rows.height == 50
    assert set(rows["מספר זהות"]) <= set(oracle.census(A)["MISPAR_ZEHUT"])
    assert len(s.at.get("download_button")) == 1


def test_paging_moves_to_the_next_rows(census, app_session, oracle):
    s = app_session(MANAGER).open("students")
    first = set(table(s, "מספר זהות")["מספר זהות"])
    s.at.number_input(key="students_page").set_value(2)
    s.run()
    assert "שורות 51–100" in s.text()
    assert not first & set(table(s, "מספר זהות")["מספר זהות"])


def test_the_analyst_sees_masked_rows_and_cannot_search_by_name(census, app_session):
    s = app_session(ANALYST).open("students")
    ids = table(s, "מספר זהות")["מספר זהות"].to_list()
    assert ids and all(v.startswith("*****") for v in ids)
    assert "פרטים אישיים מוסתרים" in s.text()
    s.at.text_input(key="students_search").set_value("כהן")
    s.run()
    assert "חיפוש לפי שם דורש הרשאה" in s.text()
    # no order by what is hidden: it would rank names, birth dates or identity numbers
    sorts = s.at.selectbox(key="students_sort").options
    assert "מוסד וכיתה" in sorts and "שכבה וכיתה" in sorts
    assert not {"שם משפחה ושם פרטי", "תאריך לידה", "מספר זהות"} & set(sorts)


def test_an_identity_search_with_no_match_says_what_to_do(census, app_session):
    s = app_session(MANAGER).open("students")
    s.at.text_input(key="students_search").set_value("000000018")
    s.run()
    assert "אין שורות התואמות את הסינון" in s.text()


def test_opening_a_record_with_personal_details_is_audited_once(census, app_session, oracle):
    s = app_session(MANAGER).open("students")
    s.at.selectbox(key="students_open").select_index(1)
    s.run()
    assert "כרטיס תלמיד/ה" in s.text()
    views = events("personal_view")
    assert len(views) == 1 and views[0]["authority"] == A and views[0]["actor"] == MANAGER
    sug, mispar = views[0]["details"]["student"].split(":")
    assert (sug, mispar) in set(zip(oracle.census(A)["SUG_ZEHUT"], oracle.census(A)["MISPAR_ZEHUT"]))
    s.run()                                             # the same record on a rerun is not a new view
    assert len(events("personal_view")) == 1
    s.at.selectbox(key="students_open").select_index(2)
    s.run()
    s.at.selectbox(key="students_open").select_index(1)
    s.run()                                             # another student, then back: one view each
    assert len(events("personal_view")) == 2


def test_an_analyst_opening_a_record_sees_it_masked_and_no_personal_view_is_recorded(census, app_session):
    s = app_session(ANALYST).open("students")
    s.at.selectbox(key="students_open").select_index(1)
    s.run()
    assert "כרטיס תלמיד/ה" in s.text()
    assert events("personal_view") == []
    person = table(s, "סוג זהות", rows=1)
    assert set(person["שם פרטי"]) == {"•••"}


def test_the_unplaced_residents_list(census, app_session, oracle):
    s = app_session(MANAGER).open("students")
    s.at.radio(key="students_view").set_value("unplaced")
    s.run()
    unplaced = oracle.census(A).filter(pl.col("IS_RESIDENT") & ~pl.col("PLACED"))
    assert f"מתוך {fmt_int(unplaced.height)}" in s.text()
    assert set(table(s, "מספר זהות")["מספר זהות"]) <= set(unplaced["MISPAR_ZEHUT"])


@pytest.mark.parametrize("slug,label,count", [
    ("classes", "כיתות", lambda o: o.classes(A).height),
    ("tracks", "מגמות", lambda o: o.tracks(A).height),
    ("institutions", "מוסדות", lambda o: o.institutions(A).height),
    ("contacts", "תלמידים", lambda o: o.census(A).height),
])
def test_aggregate_pages_show_their_counts_and_an_export(census, app_session, oracle, slug, label, count):
    s = app_session(ANALYST).open(slug)
    assert f"{label} {fmt_int(count(oracle))}" in s.text()
    assert s.at.dataframe and s.at.get("download_button")


def test_institutions_are_drawn_on_a_plain_plot_without_map_tiles(census, app_session):
    s = app_session(MANAGER).open("institutions")
    (chart,) = s.at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["data"][0]["type"] == "scatter" and "mapbox" not in spec["layout"] and "map" not in spec["layout"]


def test_the_classes_filter_narrows_and_is_recorded_as_a_view(census, app_session, oracle):
    s = app_session(MANAGER).open("classes")
    s.at.selectbox(key="classes_show").set_value("over")
    s.run()
    views = [e for e in events("page_view") if e["details"]["page"] == "classes"]
    assert [v["details"]["filters"] for v in views] == [{"show": "all"}, {"show": "over"}]
    s.run()
    assert len([e for e in events("page_view") if e["details"]["page"] == "classes"]) == 2


def test_changes_between_two_weeks(mifkad_home, two_week_snapshots, app_session, small_feed, earlier_feed):
    seed()
    s = app_session(MANAGER).open("changes")
    before = Oracle(earlier_feed).census(A).select("SUG_ZEHUT", "MISPAR_ZEHUT")
    after = Oracle(small_feed).census(A).select("SUG_ZEHUT", "MISPAR_ZEHUT")
    arrived = after.join(before, on=["SUG_ZEHUT", "MISPAR_ZEHUT"], how="anti").height
    left = before.join(after, on=["SUG_ZEHUT", "MISPAR_ZEHUT"], how="anti").height
    assert f"הצטרפו למצבה {fmt_int(arrived)}" in s.text() and f"יצאו מהמצבה {fmt_int(left)}" in s.text()
    assert arrived > 0 and left > 0
    assert s.at.dataframe


def test_the_national_page_is_for_ministry_staff_only(census, app_session, oracle):
    s = app_session(MINISTRY).open("national")
    # each student once, though one living in one authority and studying in another is in both censuses
    total = len(set().union(*(keys(oracle.census(a)) for a in set(oracle.locality_authority.values()))))
    assert total < sum(oracle.headline(a)["STUDENTS"] for a in set(oracle.locality_authority.values()))
    assert f"תלמידים {fmt_int(total)}" in s.text()
    assert "מספר זהות" not in table(s, "רשות").columns
    manager = app_session(MANAGER).open("national")
    assert "תמונה ארצית" not in manager.text()              # not registered for a roster manager: home instead


# --- empty states ----------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", CENSUS_PAGES)
def test_before_any_snapshot_each_page_says_so(mifkad_home, app_session, slug):
    seed()
    s = app_session(MANAGER).open(slug)
    assert NO_SNAPSHOT in s.text()


def test_before_any_snapshot_the_national_page_says_so(mifkad_home, app_session):
    records.ensure_configured_admins()
    assert NO_SNAPSHOT in app_session(MINISTRY).open("national").text()


@pytest.mark.parametrize("slug,message", [
    ("overview", "אין תלמידים במצבת הרשות"),
    ("students", "אין תלמידים במצבת הרשות"),
    ("classes", "אין כיתות למוסדות הרשות"),
    ("tracks", "למוסדות הרשות אין מגמות"),
    ("institutions", "אין מוסדות חינוך ביישובי הרשות"),
    ("contacts", "לא נמצאו בעיות מסוג זה"),
    ("changes", "פורסמה עד כה תמונת מצב אחת בלבד"),
])
def test_an_authority_with_no_census_gets_an_empty_state_that_says_what_to_do(census_snapshot, app_session, slug,
                                                                               message):
    seed("70")                     # an authority the feed does not know
    s = app_session(MANAGER).open(slug)
    assert message in s.text()


# --- the gate runs on every rerun ------------------------------------------------------------------

def test_closing_the_authoritys_access_takes_the_pages_away_on_the_next_rerun(census, app_session):
    s = app_session(MANAGER).open("students")
    assert "שורות 1–50" in s.text()
    records.close_access(A, by="operator:test")
    s.run()
    assert "שורות 1–50" not in s.text() and not s.at.dataframe


def test_revoking_the_analysts_grant_takes_the_rows_away_on_the_next_rerun(census, app_session):
    s = app_session(ANALYST).open("contacts")
    assert s.at.dataframe
    (grant,) = [g for g in records.grants_of_authority(A) if g.grantee == ANALYST]
    records.revoke_grant(load_principal(MANAGER), grant.id)
    s.run()
    assert not s.at.dataframe and "איכות פרטי הקשר" not in s.text()


def test_signing_out_elsewhere_shows_the_login_button_on_the_next_rerun(census, app_session):
    s = app_session(MANAGER).open("overview")
    s.at.user = {"is_logged_in": False}
    s.run()
    assert [b.label for b in s.at.button] == ["כניסה"] and not s.at.metric


def test_a_page_file_run_on_its_own_shows_nothing(census):
    from streamlit.testing.v1 import AppTest
    from tests.conftest import REPO
    for slug in CENSUS_PAGES + ["national"]:
        at = AppTest.from_file(str(REPO / "pages" / f"{slug}.py")).run()
        assert not at.exception and not at.main.children, slug


# --- the audited export --------------------------------------------------------------------------------

def _export(snapshot, actor, needs=Action.VIEW_ROWS, page="students", filters=None):
    from pages import widgets as W
    from queries import run
    from pages.students import LIST_COLUMNS, list_params
    params = list_params({}, "institution", False)
    return W.export_table(actor=actor, authority=A, snapshot=snapshot, needs=needs, page=page,
                          filters=filters or {}, lang="he", columns=LIST_COLUMNS,
                          fetch=lambda s: run("students_list", s, **params, limit=W.ALL_ROWS, offset=0))


def test_an_export_is_audited_with_its_row_count_and_served_as_csv_with_a_bom(census, oracle):
    data = _export(census, MANAGER, filters={"relation": "unplaced"})
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("מספר זהות,שם פרטי")
    assert len(lines) - 1 == oracle.census(A).height
    (event,) = events("table_export")
    assert event["actor"] == MANAGER and event["authority"] == A
    assert event["details"]["page"] == "students" and event["details"]["rows"] == oracle.census(A).height
    assert event["details"]["filters"] == {"relation": "unplaced"} and event["details"]["personal"] is True


def test_the_audit_event_is_written_before_the_file_is_built(census, monkeypatch):
    from pages import widgets as W

    def broken(df):
        raise RuntimeError("disk full")
    monkeypatch.setattr(W, "csv_bytes", broken)
    with pytest.raises(RuntimeError):
        _export(census, MANAGER)
    assert len(events("table_export")) == 1


def test_an_analysts_export_is_masked(census):
    text = _export(census, ANALYST).decode("utf-8-sig")
    body = [line.split(",") for line in text.splitlines()[1:]]
    assert all(cells[0].startswith("*****") and cells[1] == "•••" for cells in body)


def test_an_export_after_the_permission_was_revoked_is_refused_and_not_recorded(census):
    (grant,) = [g for g in records.grants_of_authority(A) if g.grantee == ANALYST]
    records.revoke_grant(load_principal(MANAGER), grant.id)
    with pytest.raises(PermissionError):
        _export(census, ANALYST)
    assert events("table_export") == []


def test_formula_like_cells_are_neutralised_and_numbers_left_alone():
    import csv
    import io
    from pages.widgets import csv_bytes
    df = pl.DataFrame({"text": ["=HYPERLINK(\"x\")", "+972501234567", "-2+3", "@SUM(A1)", "\tx", "\rx", "a=b", None],
                       "n": [-1, 2, 3, 4, 5, 6, 7, 8]})
    rows = list(csv.reader(io.StringIO(csv_bytes(df).decode("utf-8-sig"), newline="")))[1:]
    assert [r[0] for r in rows] == ["'=HYPERLINK(\"x\")", "'+972501234567", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx",
                                    "a=b", ""]
    assert [r[1] for r in rows] == ["-1", "2", "3", "4", "5", "6", "7", "8"]


def test_a_national_export_is_audited_without_an_authority_and_refused_to_a_roster_manager(census):
    from pages import widgets as W
    from pages.national import COLUMNS
    from queries import run

    def build(actor):
        return W.export_table(actor=actor, authority=None, snapshot=census, needs=Action.NATIONAL_AGGREGATES,
                              page="national", filters={}, lang="en", columns=COLUMNS,
                              fetch=lambda s: run("national_by_authority", s))
    data = build(MINISTRY).decode("utf-8-sig").splitlines()
    assert data[0].startswith("Authority,Authority code") and len(data) > 2
    (event,) = events("table_export")
    assert event["authority"] is None and event["actor"] == MINISTRY
    with pytest.raises(PermissionError):
        build(MANAGER)
    assert len(events("table_export")) == 1


def test_the_institutions_chart_puts_the_largest_first_each_in_its_own_bar(census, app_session):
    s = app_session(MANAGER).open("overview")
    (chart,) = [c for c in s.at.get("plotly_chart") if "overview_institutions" in c.proto.id]
    fig = json.loads(chart.proto.spec)
    slots = fig["layout"]["yaxis"]["tickvals"]
    totals = [sum(t["x"][t["y"].index(v)] for t in fig["data"]) for v in slots]
    assert len(set(slots)) == len(slots) > 1                 # one bar per institution, namesakes too
    assert totals == sorted(totals, reverse=True) and totals[0] > totals[-1]
    names = [n.strip("\u2067\u2069") for n in fig["layout"]["yaxis"]["ticktext"]]
    assert all(n and not n.startswith("\u2067") for n in names)
    assert all(t.startswith("\u2067") and t.endswith("\u2069") for t in fig["layout"]["yaxis"]["ticktext"])
