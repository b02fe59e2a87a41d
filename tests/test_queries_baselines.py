"""The benchmark's pandas versions of the census statements (bench/pandas_baselines.py) return what
the statements return, on the small feed: same columns, same rows (order aside: pandas has no ICU
collation), so `make bench` compares like with like."""
from __future__ import annotations

import math
import re
from datetime import date, datetime

import pandas as pd
import polars as pl
import pytest

from bench import pandas_baselines as pb
from queries import Scope, run, statements

A = "5000"
SALT = "baseline-salt"
ALL = 1 << 40


def _cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (datetime, pd.Timestamp)):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.6f}"
    if hasattr(v, "item"):                # numpy scalars
        return _cell(v.item())
    return str(v)


def rows(df) -> list[tuple]:
    if isinstance(df, pl.DataFrame):
        records = df.iter_rows()
    else:
        records = df.itertuples(index=False, name=None)
    return sorted((tuple(_cell(v) for v in r) for r in records), key=lambda r: tuple("" if v is None else v for v in r))


@pytest.fixture(scope="module")
def tables(_census_store):
    from data.snapshots import Snapshot
    target = (_census_store / "2026-12-01").resolve()
    return pb.load_tables(Snapshot("2026-12-01", target))


def params_for(name: str, scope: Scope, **over) -> dict:
    used = set(re.findall(r"\$(\w+)", statements()[name].sql)) - {"authority"}
    p = {k: None for k in used}
    p.update({k: v for k, v in {"salt": SALT, "limit": ALL, "offset": 0, "sort": "name", "descending": False}.items()
              if k in used})
    if "mosad" in used and "mosad" not in over and name == "students_class_options":
        # an institution of the authority with students in tracks
        mine = run("students_list", scope, **params_for("students_list", scope))
        p["mosad"] = mine.filter(pl.col("SEMEL_MEGAMA_MOSAD").is_not_null())["SEMEL_MOSAD"][0]
    if "ref" in used:
        first = run("students_list", scope, **params_for("students_list", scope, limit=1))
        p["ref"] = first["STUDENT_REF"][0]
    p.update(over)
    return p


def test_every_census_statement_has_a_pandas_version():
    mine = {n for n, s in statements().items()
            if s.source in {"overview.sql", "students.sql", "classes.sql", "tracks.sql", "institutions.sql",
                            "contacts.sql", "changes.sql", "national.sql"}}
    assert mine <= set(pb.BASELINES)


CASES = [(name, {}) for name in sorted(pb.BASELINES)] + [
    ("students_list", {"relation": "incoming"}), ("students_list", {"relation": "resident"}),
    ("students_list", {"q_name": "כהן"}), ("students_list", {"sort": "institution", "limit": 40, "offset": 0}),
    ("contacts_problems", {"problem": "no_phone"}), ("contacts_problems", {"problem": "invalid_email"}),
    ("unplaced_residents", {"limit": 7}), ("classes_occupancy", {"shichva": 3}),
]


@pytest.mark.parametrize("name,over", CASES, ids=[f"{n}-{'-'.join(map(str, o.values()))}" for n, o in CASES])
def test_the_pandas_version_returns_what_the_statement_returns(census_snapshot, tables, name, over):
    national = statements()[name].scope in ("national", "reference")
    scope = Scope(census_snapshot, None if national else A, personal=True)
    params = params_for(name, scope, **over)
    sql = run(name, scope, **params)
    baseline = pb.BASELINES[name](tables, **params) if national else pb.BASELINES[name](tables, A, **params)
    assert list(baseline.columns) == sql.columns
    if "STUDENT_KEY" in sql.columns:      # DuckDB's hash in SQL, md5 in pandas: equally opaque keys
        sql, baseline = sql.drop("STUDENT_KEY"), baseline.drop(columns="STUDENT_KEY")
    if "limit" in params and params["limit"] < ALL and name == "students_list":
        # a page depends on Hebrew order, which pandas only approximates: compare its size
        assert len(baseline) == sql.height
        return
    assert sql.height > 0, name
    assert rows(baseline) == rows(sql)

