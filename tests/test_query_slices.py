"""The query engine's authority slices (queries/engine.py): what a slice holds, when it is dropped, and
that sessions sharing one never see a half-built table or another authority's rows."""
from __future__ import annotations

import threading

import duckdb
import pytest

import queries
from queries import Scope, engine

A = "5000"


def _authorities(snapshot) -> list[str]:
    path = str(snapshot.derived("CENSUS"))
    return [r[0] for r in duckdb.sql(f"SELECT SEMEL_RASHUT FROM read_parquet('{path}') GROUP BY 1 "
                                     f"ORDER BY count(*) DESC").fetchall()]


def _slice_rows(snapshot, authority: str, table: str) -> list[tuple]:
    with engine.authority_cursor(snapshot, authority, {table}) as cur:
        return cur.execute(f"SELECT * FROM {table}").fetchall()


def test_a_slice_holds_only_its_authoritys_census_and_contacts(census_snapshot):
    for authority in _authorities(census_snapshot)[:3]:
        with engine.authority_cursor(census_snapshot, authority, {"contacts"}) as cur:
            census = cur.execute("SELECT DISTINCT SEMEL_RASHUT FROM census").fetchall()
            contacts = cur.execute("SELECT DISTINCT SEMEL_RASHUT FROM contacts").fetchall()
            strangers = cur.execute("SELECT count(*) FROM contacts k ANTI JOIN census c "
                                    "ON c.SUG_ZEHUT = k.SUG_ZEHUT_TALMID AND c.MISPAR_ZEHUT = k.MISPAR_ZEHUT_TALMID"
                                    ).fetchone()[0]
        assert census == [(authority,)]
        assert contacts in ([(authority,)], [])
        assert strangers == 0


def test_a_slice_census_is_the_authoritys_rows_of_the_snapshot_census(census_snapshot):
    path = str(census_snapshot.derived("CENSUS"))
    expected = duckdb.sql(f"SELECT * FROM read_parquet('{path}') WHERE SEMEL_RASHUT = '{A}'").fetchall()
    assert sorted(_slice_rows(census_snapshot, A, "census")) == sorted(expected)


def test_contacts_are_built_only_when_a_statement_reads_them(census_snapshot):
    queries.run("overview_headline", Scope(census_snapshot, A))
    assert [s["tables"] for s in engine.slice_stats()] == [["census", "class_counts"]]
    queries.run("contacts_quality_summary", Scope(census_snapshot, A))
    assert [s["tables"] for s in engine.slice_stats()] == [["census", "class_counts", "contacts"]]


def test_a_slices_class_counts_are_its_placed_students_per_class(census_snapshot):
    path = str(census_snapshot.derived("CENSUS"))
    expected = duckdb.sql(f"SELECT SEMEL_MOSAD, SHICHVA, MAKBILA, count(*) FROM read_parquet('{path}') "
                          f"WHERE SEMEL_RASHUT = '{A}' AND IS_PLACED GROUP BY ALL").fetchall()
    assert expected and sorted(_slice_rows(census_snapshot, A, "class_counts")) == sorted(expected)


def test_slices_past_the_memory_budget_are_dropped_least_recently_used_first(census_snapshot, monkeypatch):
    first, second = _authorities(census_snapshot)[:2]
    before = queries.run("contacts_quality_summary", Scope(census_snapshot, first))
    monkeypatch.setenv("MIFKAD_SLICE_CACHE_MB", "0")
    from common import config
    config._cached.cache_clear()
    queries.run("overview_headline", Scope(census_snapshot, second))
    assert [s["authority"] for s in engine.slice_stats()] == [second]
    queries.clear_cache()
    again = queries.run("contacts_quality_summary", Scope(census_snapshot, first))   # rebuilt on demand
    assert again.equals(before)


def test_a_slice_being_read_is_not_dropped(census_snapshot, monkeypatch):
    first, second = _authorities(census_snapshot)[:2]
    monkeypatch.setenv("MIFKAD_SLICE_CACHE_MB", "0")
    from common import config
    config._cached.cache_clear()
    with engine.authority_cursor(census_snapshot, first, set()) as cur:
        queries.run("overview_headline", Scope(census_snapshot, second))
        assert cur.execute("SELECT count(*) FROM census").fetchone()[0] > 0
        assert first in [s["authority"] for s in engine.slice_stats()]
    queries.run("overview_headline", Scope(census_snapshot, second))
    queries.clear_cache()
    queries.run("overview_by_grade", Scope(census_snapshot, second))
    assert [s["authority"] for s in engine.slice_stats()] == [second]


def test_sessions_asking_for_the_same_slice_at_once_get_one_build_and_the_same_answer(census_snapshot):
    results, errors = [], []

    def visit():
        try:
            with engine.authority_cursor(census_snapshot, A, {"contacts"}) as cur:
                results.append(cur.execute("SELECT count(*), sum(LINE) FROM contacts").fetchone())
        except Exception as exc:           # reported below, with the thread's own error
            errors.append(exc)

    threads = [threading.Thread(target=visit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1 and results[0][0] > 0
    assert len(engine.slice_stats()) == 1


@pytest.mark.parametrize("authority", ["5000' OR '1'='1", "5000; DROP TABLE census"])
def test_an_authority_code_is_a_value_never_sql(census_snapshot, authority):
    with engine.authority_cursor(census_snapshot, authority, {"contacts"}) as cur:
        assert cur.execute("SELECT count(*) FROM census").fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_a_snapshot_published_before_authority_counts_existed_still_serves_the_national_page(census_snapshot,
                                                                                           tmp_path):
    import shutil

    from data.snapshots import Snapshot
    older = Snapshot(census_snapshot.date, tmp_path / (census_snapshot.path.name + "-older"))
    shutil.copytree(census_snapshot.path, older.path)
    older.derived("AUTHORITY_COUNTS").unlink()
    got = queries.run("national_by_authority", Scope(older, None))
    assert got.equals(queries.run("national_by_authority", Scope(census_snapshot, None)))
    assert got["STUDENTS"].sum() > 0


def test_codes_that_differ_only_in_punctuation_get_slices_of_their_own(census_snapshot):
    for authority in ("50-00", "50_00", "50.00"):
        with engine.authority_cursor(census_snapshot, authority, set()) as cur:
            assert cur.execute("SELECT count(*) FROM census").fetchone()[0] == 0
    assert len({s["authority"] for s in engine.slice_stats()}) == 3
