"""Shared fixtures. Each test gets its own MIFKAD_HOME, so no test sees another's records."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

REFERENCE_DIR = REPO.parent / "shared" / "data" / "reference"


@pytest.fixture(autouse=True, scope="session")
def _no_legacy_pages_folder():
    """AppTest, like the server (devtools/serve.py), must always run app.py and its login gate."""
    from devtools.serve import disable_legacy_pages_folder
    disable_legacy_pages_folder()


def _reset_process_caches() -> None:
    from common import config, portal_db
    import queries
    from queries import engine
    config._cached.cache_clear()
    portal_db._initialised.clear()
    queries.clear_cache()
    engine.drop_slices()


@pytest.fixture
def mifkad_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty MIFKAD_HOME for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MIFKAD_HOME", str(home))
    _reset_process_caches()
    yield home
    _reset_process_caches()


@pytest.fixture(scope="session")
def small_feed(tmp_path_factory) -> Path:
    """A small feed from the generator's built-in default (no reference data), made once per run."""
    from data import generate
    out = tmp_path_factory.mktemp("feed") / "feed"
    assert generate.main(["--out", str(out), "--students", "3000", "--date", "2026-12-01", "--seed", "7"]) == 0
    return out


@pytest.fixture
def published_snapshot(mifkad_home, small_feed):
    """small_feed ingested as snapshot 2026-12-01 into this test's MIFKAD_HOME."""
    from data import ingest
    from data.snapshots import get_snapshot
    assert ingest.main([str(small_feed), "--date", "2026-12-01"]) == 0
    return get_snapshot("2026-12-01")


class AppSession:
    """app.py in AppTest, signed in as one person. `open(slug)` asks for a page by its address, as a
    browser does for /slug (a page not registered for this person falls back to the home page)."""

    def __init__(self, email: str, name: str = ""):
        from streamlit.testing.v1 import AppTest
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        self.at.user = {"is_logged_in": True, "email": email, "name": name or email, "sub": email}

    def run(self) -> "AppSession":
        self.at.run()
        assert not self.at.exception, [e.message for e in self.at.exception]
        return self

    def open(self, slug: str) -> "AppSession":
        from streamlit.util import calc_hash
        self.at._page_hash = calc_hash(slug)     # what st.Page(url_path=slug) registers
        return self.run()

    def text(self) -> str:
        """Everything the run wrote: titles, markdown, captions, alerts and metrics."""
        at = self.at
        parts = [e.value for kind in (at.title, at.header, at.subheader, at.markdown, at.caption, at.info,
                                      at.success, at.warning, at.error) for e in kind]
        parts += [f"{m.label} {m.value}" for m in at.metric]
        return "\n".join(str(p) for p in parts)


@pytest.fixture
def app_session(mifkad_home):
    """Factory of AppTest sessions of app.py: app_session("manager.tlv@mifkad.test").run()."""
    return AppSession


# --- the weekly export (data/export.py, data/packages.py, data/vault.py) ---

EXPORT_MANAGERS = {"5000": "manager.tlv@mifkad.test", "10026": "manager.region@mifkad.test"}


def open_export_records() -> None:
    """Access open and a roster manager for 5000 and 10026; the configured ministry administrator."""
    from auth import records
    records.ensure_configured_admins()
    for authority, email in EXPORT_MANAGERS.items():
        records.open_access(authority, by="operator:test", basis="operator")
        records.appoint_roster_manager(authority, email, by="operator:test")


@pytest.fixture
def export_records(census_snapshot):
    """census_snapshot (small_feed as 2026-12-01, not approved) with open_export_records()."""
    open_export_records()
    return census_snapshot


# --- the census pages: snapshots ingested once per run and shared read-only ---

def _ingest_once(home: Path, feeds: list[tuple[Path, str]]) -> Path:
    """Ingest feeds into a home of their own; returns its snapshots folder (tests only read it)."""
    from data import ingest
    home.mkdir(parents=True)
    saved = os.environ.get("MIFKAD_HOME")
    os.environ["MIFKAD_HOME"] = str(home)
    _reset_process_caches()
    try:
        for feed, day in feeds:
            assert ingest.main([str(feed), "--date", day]) == 0, f"ingest of {feed} as {day} failed"
    finally:
        if saved is None:
            os.environ.pop("MIFKAD_HOME", None)
        else:
            os.environ["MIFKAD_HOME"] = saved
        _reset_process_caches()
    return home / "snapshots"


def _shifted_feed(src: Path, out: Path, authority: str = "5000") -> Path:
    """A week-earlier copy of a feed: some of the authority's students not there yet, some living in it
    who have since moved away, and some in another class, grade or institution (all still valid)."""
    import polars as pl
    out.mkdir(parents=True)
    files = {p.name.split("_20")[0]: p for p in src.glob("*.csv")}
    t = {k: pl.read_csv(p, infer_schema=False) for k, p in files.items()}
    locs = t["RASHUYOT"].filter(pl.col("SEMEL_RASHUT") == authority)["SEMEL_YISHUV"].to_list()
    mine = t["MOSDOT"].filter(pl.col("SEMEL_YISHUV").is_in(locs))["SEMEL_MOSAD"].to_list()
    tal = t["TALMIDIM"].with_row_index("_i")
    key = pl.concat_str("SUG_ZEHUT", "MISPAR_ZEHUT", separator="/")
    single = tal.group_by(key.alias("K")).len().filter(pl.col("len") == 1)["K"]
    active = tal.filter((pl.col("CODE_STATUS_RISHUM_TA") == "3") & pl.col("TAARICH_AZIVA").is_null()
                        & pl.col("SEMEL_MOSAD").is_in(mine) & key.is_in(single.implode()))
    arrived = active[0:5]
    moved = active[5:25]
    away = tal.filter(~pl.col("SEMEL_YISHUV_TAL").is_in(locs) & ~pl.col("SEMEL_MOSAD").is_in(mine)
                      & key.is_in(single.implode()))[0:3]
    classes = t["KITOT"]
    targets = {}
    for n, r in enumerate(moved.iter_rows(named=True)):
        same = classes.filter(pl.col("SEMEL_MOSAD") == r["SEMEL_MOSAD"])
        pick = {0: same.filter((pl.col("SHICHVA") == r["SHICHVA"]) & (pl.col("MAKBILA") != r["MAKBILA"])),
                1: same.filter(pl.col("SHICHVA") != r["SHICHVA"]),
                2: classes.filter(pl.col("SEMEL_MOSAD").is_in(mine) & (pl.col("SEMEL_MOSAD") != r["SEMEL_MOSAD"])
                                  & (pl.col("SHICHVA") == r["SHICHVA"]))}[n % 3]
        if pick.height:
            targets[r["_i"]] = pick.select("SEMEL_MOSAD", "SHICHVA", "MAKBILA").row(0)
    for i, (m, g, k) in targets.items():
        tal = tal.with_columns(
            pl.when(pl.col("_i") == i).then(pl.lit(m)).otherwise(pl.col("SEMEL_MOSAD")).alias("SEMEL_MOSAD"),
            pl.when(pl.col("_i") == i).then(pl.lit(g)).otherwise(pl.col("SHICHVA")).alias("SHICHVA"),
            pl.when(pl.col("_i") == i).then(pl.lit(k)).otherwise(pl.col("MAKBILA")).alias("MAKBILA"),
            pl.when(pl.col("_i") == i).then(None).otherwise(pl.col("SEMEL_MEGAMA_MOSAD")).alias("SEMEL_MEGAMA_MOSAD"))
    tal = tal.with_columns(pl.when(pl.col("_i").is_in(away["_i"].implode())).then(pl.lit(locs[0]))
                           .otherwise(pl.col("SEMEL_YISHUV_TAL")).alias("SEMEL_YISHUV_TAL"))
    gone = arrived.select("SUG_ZEHUT", "MISPAR_ZEHUT")
    t["TALMIDIM"] = tal.join(gone, on=["SUG_ZEHUT", "MISPAR_ZEHUT"], how="anti").drop("_i")
    links = t["GORMEY_KESHER"].join(gone, left_on=["SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID"],
                                    right_on=["SUG_ZEHUT", "MISPAR_ZEHUT"], how="anti")
    t["GORMEY_KESHER"] = links
    t["PIRTEY_KESHER"] = t["PIRTEY_KESHER"].join(
        links.select(pl.col("SUG_ZEHUT_GOREM_KESHER").alias("SUG_ZEHUT"),
                     pl.col("MISPAR_ZEHUT_GOREM_KESHER").alias("MISPAR_ZEHUT")).unique(),
        on=["SUG_ZEHUT", "MISPAR_ZEHUT"], how="semi")
    for k, df in t.items():
        df.write_csv(out / files[k].name)
    return out


@pytest.fixture(scope="session")
def _census_store(tmp_path_factory, small_feed) -> Path:
    return _ingest_once(tmp_path_factory.mktemp("census") / "home", [(small_feed, "2026-12-01")])


@pytest.fixture(scope="session")
def earlier_feed(tmp_path_factory, small_feed) -> Path:
    """small_feed as it might have been a week before (see _shifted_feed)."""
    return _shifted_feed(small_feed, tmp_path_factory.mktemp("earlier") / "feed")


@pytest.fixture(scope="session")
def _two_week_store(tmp_path_factory, small_feed, earlier_feed) -> Path:
    return _ingest_once(tmp_path_factory.mktemp("census2") / "home",
                        [(earlier_feed, "2026-11-24"), (small_feed, "2026-12-01")])


@pytest.fixture
def census_snapshot(mifkad_home, _census_store):
    """Like published_snapshot (small_feed as 2026-12-01), ingested once per run and shared read-only."""
    from data.snapshots import get_snapshot
    (mifkad_home / "snapshots").symlink_to(_census_store, target_is_directory=True)
    return get_snapshot("2026-12-01")


@pytest.fixture
def two_week_snapshots(mifkad_home, _two_week_store):
    """earlier_feed as 2026-11-24 and small_feed as 2026-12-01, shared read-only: (earlier, later)."""
    from data.snapshots import get_snapshot
    (mifkad_home / "snapshots").symlink_to(_two_week_store, target_is_directory=True)
    return get_snapshot("2026-11-24"), get_snapshot("2026-12-01")
