"""The row checks, as SQL over the staged tables: each check is one set-based statement, never a loop
per row. Tables are checked in feed_schema.ORDER so that a reference always meets the accepted rows of
the table it points to (a class of a rejected institution is itself rejected, and so on down to the
links of a rejected student).

Every check inserts rows into `issues(prefix, line, field, code, value, ref)`; an error code rejects
the line, a warning keeps it. After a table is checked its accepted rows are `acc_<table>`.
"""
from __future__ import annotations

import duckdb

from data.feed_schema import ORDER, STATUS_PLACED, TABLES, Table
from data.ingest.issues import ISSUES

ERROR_CODES = sorted(c for c, t in ISSUES.items() if t.severity == "error")
MIN_AGE, MAX_AGE = 3, 25


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(lit(v) for v in sorted(values)) + ")"


def id_check_sql(col: str) -> str:
    """True when the nine-digit text col passes the identity-number check digit (data/idnumber.py's
    rule, vectorised): digits weighted 1,2,1,2,... from the left, products over 9 minus 9, sum % 10 = 0.
    Digits come from integer arithmetic on col, the number as a BIGINT (cheaper than nine substrings)."""
    n = col
    terms = []
    for i in range(9):
        d = f"(({n} // {10 ** (8 - i)}) % 10)"
        terms.append(d if i % 2 == 0 else f"(2 * {d} - 9 * CAST({d} >= 5 AS INTEGER))")
    return "((" + " + ".join(terms) + ") % 10 = 0)"


ACTIVE = f"(CODE_STATUS_RISHUM_TA = '{STATUS_PLACED}' AND TAARICH_AZIVA IS NULL)"


# People whose records others refer to: (file, its identity fields). A damaged record of theirs is
# cut out before parsing, so its identity is read from its bytes (read.damaged_values) and links to it
# are reported as links to a rejected record, not to an unknown one.
REFERRED_PEOPLE = {"TALMIDIM": ("SUG_ZEHUT", "MISPAR_ZEHUT"),
                   "GORMEY_KESHER": ("SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER")}


class Checker:
    def __init__(self, con: duckdb.DuckDBPyConnection, staging: dict[str, str], feed_date: str,
                 damaged_people: dict[str, list[tuple[str | None, str | None]]] | None = None):
        """`damaged_people`: for each file of REFERRED_PEOPLE, the identities of its damaged records."""
        self.con = con
        self.feed_date = feed_date
        self.pending: list[str] = []
        con.execute("CREATE OR REPLACE TABLE issues (prefix VARCHAR, line INTEGER, field VARCHAR, "
                    "code VARCHAR, value VARCHAR, ref VARCHAR)")
        for prefix, path in staging.items():
            con.execute(f"CREATE OR REPLACE VIEW raw_{prefix.lower()} AS SELECT * FROM read_parquet({lit(path)})")
        for prefix in REFERRED_PEOPLE:
            table = f"damaged_{prefix.lower()}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (s VARCHAR, n VARCHAR)")
            people = [p for p in (damaged_people or {}).get(prefix, []) if p[0] and p[1]]
            if people:
                import polars as pl
                found = pl.DataFrame(people, schema={"s": pl.Utf8, "n": pl.Utf8}, orient="row")
                con.register("_damaged", found)
                con.execute(f"INSERT INTO {table} SELECT s, n FROM _damaged")
                con.unregister("_damaged")

    # -- plumbing ---------------------------------------------------------------------------------
    def add(self, prefix: str, code: str | None, field: str | None, select: str) -> None:
        """select yields (_line, value, ref), and a `code` column when code is None; each row becomes
        one issue. Checks of one layer are sent together as one statement (DuckDB plans it once, and
        runs the parts in parallel)."""
        self.pending.append(f"SELECT {lit(prefix)}, _line, {lit(field) if field else 'NULL'}, "
                            f"{lit(code) if code else 'code'}, value, ref FROM ({select})")

    def flush(self) -> None:
        if self.pending:
            self.con.execute("INSERT INTO issues " + " UNION ALL ".join(f"({p})" for p in self.pending))
            self.pending = []

    def _freeze_pre(self, prefix: str) -> str:
        """Rows of the table with no error so far (what duplicate checks compare among)."""
        self.flush()
        t = prefix.lower()
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE bad_{t} AS SELECT DISTINCT line AS _line FROM issues "
                         f"WHERE prefix = {lit(prefix)} AND code IN {_in(ERROR_CODES)}")
        self.con.execute(f"CREATE OR REPLACE VIEW pre_{t} AS SELECT * FROM raw_{t} r "
                         f"WHERE r._line NOT IN (SELECT _line FROM bad_{t})")
        return f"pre_{t}"

    def _freeze_accepted(self, prefix: str) -> None:
        self.flush()
        t = prefix.lower()
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE rej_{t} AS SELECT DISTINCT line AS _line FROM issues "
                         f"WHERE prefix = {lit(prefix)} AND code IN {_in(ERROR_CODES)}")
        self.con.execute(f"CREATE OR REPLACE VIEW acc_{t} AS SELECT * FROM raw_{t} r "
                         f"WHERE r._line NOT IN (SELECT _line FROM rej_{t})")

    # -- field checks -----------------------------------------------------------------------------
    def field_conditions(self, table: Table) -> list[tuple[str, str, str]]:
        """(code, field, condition that is true when the field's text fails) for every field check.

        These run on every row of every table, so they are written to be cheap: a blank test looks at
        the first character before trimming, and an identity number is cast to an integer once (as
        __n_<field>, added by `fields`)."""
        out = []
        for f in table.fields:
            c = q(f.name)
            blank = f"({c} IS NULL OR (ascii({c}) IN (32, 9) AND trim({c}) = ''))"
            present = f"NOT {blank}"
            digits = f"regexp_full_match({c}, '[0-9]+')"
            if f.required:
                out.append(("E201", f.name, blank))
            if f.kind in ("int", "code"):
                out.append(("E202", f.name, f"({present} AND NOT {digits})"))
            if f.kind == "code" and f.codes:
                out.append(("W702", f.name, f"({c} NOT IN {_in(f.codes)} AND {digits})"))
            if f.kind == "year":
                out.append(("E206", f.name, f"({present} AND NOT regexp_full_match({c}, '[0-9]{{4}}'))"))
            if f.kind == "date":
                iso = f"regexp_full_match({c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
                dmy = f"regexp_full_match({c}, '[0-9]{{2}}/[0-9]{{2}}/[0-9]{{4}}')"
                # Staging turned every real DD/MM/YYYY date into YYYY-MM-DD, so a valid value is a real
                # ISO date (checked first, cheaply); the rest is told apart only on the rows that fail.
                ok = f"({c} IS NULL OR (try_strptime({c}, '%Y-%m-%d') IS NOT NULL AND {iso}))"
                out.append(("E203", f.name, f"(NOT {ok} AND {present} AND NOT {iso} AND NOT {dmy})"))
                out.append(("E204", f.name, f"(NOT {ok} AND {present} AND ({iso} OR {dmy}))"))
            if f.kind == "id":
                t = q(f.id_type)
                n = q("__n_" + f.name)
                nine = f"regexp_full_match({c}, '[0-9]{{9}}')"
                out.append(("E302", f.name, f"({t} = '1' AND {present} AND NOT {nine})"))
                out.append(("E303", f.name, f"({n} = 0 AND regexp_full_match({c}, '0+'))"))
                out.append(("E301", f.name, f"({t} = '1' AND {n} > 0 AND NOT {id_check_sql(n)} AND {nine})"))
                out.append(("E304", f.name, f"({t} IS DISTINCT FROM '1' AND {present} "
                                            f"AND NOT regexp_full_match({c}, '[0-9A-Za-z]{{1,20}}') "
                                            f"AND NOT regexp_full_match({c}, '0+'))"))
        return out

    def fields(self, table: Table) -> None:
        """All field checks of a table in one pass: rows failing any are found first, then each failure
        of those (few) rows becomes an issue."""
        conds = self.field_conditions(table)
        if not conds:
            return
        raw = f"raw_{table.prefix.lower()}"
        ints = "".join(f", TRY_CAST({q(f.name)} AS BIGINT) AS {q('__n_' + f.name)}"
                       for f in table.fields if f.kind == "id")
        # No coalesce(): NULL counts as false in WHERE and in CASE, and wrapping each condition makes
        # DuckDB evaluate every one on every row (twice the time).
        any_fail = " OR ".join(f"({cond})" for _code, _field, cond in conds)
        items = ", ".join(f"CASE WHEN {cond} THEN {{'code': {lit(code)}, 'field': {lit(field)}, "
                          f"'value': {q(field)}}} END" for code, field, cond in conds)
        self.con.execute(
            f"INSERT INTO issues SELECT {lit(table.prefix)}, _line, i.field, i.code, i.value, NULL FROM ("
            f"  SELECT _line, unnest(list_filter([{items}], lambda x: x IS NOT NULL)) AS i "
            f"  FROM (SELECT * FROM (SELECT *{ints} FROM {raw}) WHERE {any_fail}))")

    def duplicate_key(self, prefix: str, pre: str, cols: tuple[str, ...], code: str = "E401", field: str | None = None) -> None:
        """Every row repeating a key of an earlier row (the first one stays). Grouping finds the repeated
        keys first; only their rows are joined back (cheaper than a window over the whole table)."""
        keys = ", ".join(q(c) for c in cols)
        text = " || '/' || ".join(f"coalesce(p.{q(c)}, '')" for c in cols)
        self.add(prefix, code, field or cols[-1],
                 f"WITH d AS (SELECT {keys}, min(_line) AS first FROM {pre} "
                 f"  WHERE {' AND '.join(q(c) + ' IS NOT NULL' for c in cols)} GROUP BY ALL HAVING count(*) > 1) "
                 f"SELECT p._line, {text} AS value, CAST(d.first AS VARCHAR) AS ref FROM {pre} p "
                 f"JOIN d ON {' AND '.join(f'p.{q(c)} = d.{q(c)}' for c in cols)} WHERE p._line > d.first")

    # -- per table ----------------------------------------------------------------------------------
    def rashuyot(self) -> None:
        self.duplicate_key("RASHUYOT", "pre_rashuyot", ("SEMEL_YISHUV",))

    def mosdot(self) -> None:
        p = "MOSDOT"
        self.add(p, "E504", "SEMEL_YISHUV", "SELECT _line, SEMEL_YISHUV AS value, NULL AS ref FROM pre_mosdot "
                 "WHERE SEMEL_YISHUV IS NOT NULL AND SEMEL_YISHUV NOT IN (SELECT SEMEL_YISHUV FROM acc_rashuyot "
                 "WHERE SEMEL_YISHUV IS NOT NULL)")
        me, ad = "TRY_CAST(ME_SHICHVA_MEUSHAR AS INTEGER)", "TRY_CAST(AD_SHICHVA_MEUSHAR AS INTEGER)"
        self.add(p, "E605", "ME_SHICHVA_MEUSHAR",
                 f"SELECT _line, ME_SHICHVA_MEUSHAR AS value, AD_SHICHVA_MEUSHAR AS ref FROM pre_mosdot "
                 f"WHERE {me} IS NOT NULL AND {ad} IS NOT NULL AND NOT ({me} BETWEEN 1 AND 14 AND {ad} "
                 f"BETWEEN 1 AND 14 AND {me} <= {ad})")
        pre = self._freeze_pre(p)
        self.duplicate_key(p, pre, ("SEMEL_MOSAD",))

    def _grade_checks(self, prefix: str, raw: str, where: str = "true", parallel: bool = True) -> None:
        g = "TRY_CAST(SHICHVA AS INTEGER)"
        self.add(prefix, "E603", "SHICHVA", f"SELECT _line, SHICHVA AS value, NULL AS ref FROM {raw} "
                                            f"WHERE {g} IS NOT NULL AND {g} NOT BETWEEN 1 AND 14")
        if parallel:
            self.add(prefix, "E604", "MAKBILA", f"SELECT _line, MAKBILA AS value, NULL AS ref FROM {raw} "
                                                f"WHERE TRY_CAST(MAKBILA AS INTEGER) < 1")
        self.add(prefix, "E601", "SHICHVA",
                 f"SELECT r._line, r.SHICHVA AS value, m.ME_SHICHVA_MEUSHAR || '-' || m.AD_SHICHVA_MEUSHAR AS ref "
                 f"FROM {raw} r JOIN acc_mosdot m ON m.SEMEL_MOSAD = r.SEMEL_MOSAD "
                 f"WHERE {where} AND TRY_CAST(r.SHICHVA AS INTEGER) BETWEEN 1 AND 14 "
                 f"AND TRY_CAST(m.ME_SHICHVA_MEUSHAR AS INTEGER) IS NOT NULL "
                 f"AND TRY_CAST(m.AD_SHICHVA_MEUSHAR AS INTEGER) IS NOT NULL "
                 f"AND TRY_CAST(r.SHICHVA AS INTEGER) NOT BETWEEN TRY_CAST(m.ME_SHICHVA_MEUSHAR AS INTEGER) "
                 f"AND TRY_CAST(m.AD_SHICHVA_MEUSHAR AS INTEGER)")

    def _institution_ref(self, prefix: str, raw: str) -> None:
        self.add(prefix, "E501", "SEMEL_MOSAD", f"SELECT _line, SEMEL_MOSAD AS value, NULL AS ref FROM {raw} "
                 f"WHERE SEMEL_MOSAD IS NOT NULL AND SEMEL_MOSAD NOT IN (SELECT SEMEL_MOSAD FROM acc_mosdot "
                 f"WHERE SEMEL_MOSAD IS NOT NULL)")

    def kitot(self) -> None:
        p = "KITOT"
        self._institution_ref(p, "pre_kitot")
        self._grade_checks(p, "pre_kitot")
        self.add(p, "E602", "MIN_TALMIDIM", "SELECT _line, MIN_TALMIDIM AS value, MAX_TALMIDIM AS ref FROM pre_kitot "
                 "WHERE TRY_CAST(MIN_TALMIDIM AS BIGINT) > TRY_CAST(MAX_TALMIDIM AS BIGINT)")
        pre = self._freeze_pre(p)
        self.duplicate_key(p, pre, ("ID_KITA",))
        pre = self._freeze_pre(p)
        self.duplicate_key(p, pre, ("SEMEL_MOSAD", "SHICHVA", "MAKBILA"), code="E404", field="MAKBILA")

    def megamot(self) -> None:
        p = "MEGAMOT"
        self._institution_ref(p, "pre_megamot")
        self._grade_checks(p, "pre_megamot", parallel=False)
        pre = self._freeze_pre(p)
        self.duplicate_key(p, pre, ("ID_MEGAMA",))

    def talmidim(self) -> None:
        p = "TALMIDIM"
        raw = "pre_talmidim"
        self._institution_ref(p, raw)
        self.add(p, "E504", "SEMEL_YISHUV_TAL", f"SELECT _line, SEMEL_YISHUV_TAL AS value, NULL AS ref FROM {raw} "
                 f"WHERE SEMEL_YISHUV_TAL IS NOT NULL AND SEMEL_YISHUV_TAL NOT IN "
                 f"(SELECT SEMEL_YISHUV FROM acc_rashuyot WHERE SEMEL_YISHUV IS NOT NULL)")
        birth = "TRY_CAST(TAARICH_LEDA AS DATE)"
        self.add(p, "E205", "TAARICH_LEDA", f"SELECT _line, TAARICH_LEDA AS value, {lit(self.feed_date)} AS ref "
                 f"FROM {raw} WHERE {birth} > DATE {lit(self.feed_date)}")
        age = f"(TRY_CAST(SHNAT_LIMUDIM AS INTEGER) - 1 - year({birth}))"
        self.add(p, "W701", "TAARICH_LEDA", f"SELECT _line, TAARICH_LEDA AS value, CAST({age} AS VARCHAR) AS ref "
                 f"FROM {raw} WHERE {birth} <= DATE {lit(self.feed_date)} AND {age} NOT BETWEEN {MIN_AGE} AND {MAX_AGE}")
        self._grade_checks(p, raw, where=ACTIVE)
        g, m = "TRY_CAST(SHICHVA AS INTEGER)", "TRY_CAST(MAKBILA AS INTEGER)"
        self.add(p, "E502", "SHICHVA",
                 f"SELECT _line, coalesce(SEMEL_MOSAD, '') || '/' || coalesce(SHICHVA, '') || '/' || "
                 f"coalesce(MAKBILA, '') AS value, NULL AS ref FROM {raw} r WHERE {ACTIVE} "
                 f"AND SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM acc_mosdot) AND NOT EXISTS ("
                 f"SELECT 1 FROM acc_kitot k WHERE k.SEMEL_MOSAD = r.SEMEL_MOSAD "
                 f"AND TRY_CAST(k.SHICHVA AS INTEGER) = TRY_CAST(r.SHICHVA AS INTEGER) "
                 f"AND TRY_CAST(k.MAKBILA AS INTEGER) = TRY_CAST(r.MAKBILA AS INTEGER))")
        self.add(p, "E503", "SEMEL_MEGAMA_MOSAD",
                 f"SELECT _line, SEMEL_MEGAMA_MOSAD AS value, NULL AS ref FROM {raw} r WHERE {ACTIVE} "
                 f"AND SEMEL_MEGAMA_MOSAD IS NOT NULL AND SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM acc_mosdot) "
                 f"AND NOT EXISTS (SELECT 1 FROM acc_megamot g WHERE g.SEMEL_MOSAD = r.SEMEL_MOSAD "
                 f"AND g.SEMEL_MEGAMA_MOSAD = r.SEMEL_MEGAMA_MOSAD)")
        pre = self._freeze_pre(p)
        # Of two active placements the one derive_students would pick is kept (latest start, then line).
        self.add(p, "E402", "CODE_STATUS_RISHUM_TA",
                 f"WITH active AS (SELECT * FROM {pre} WHERE {ACTIVE}), "
                 f"multi AS (SELECT SUG_ZEHUT, MISPAR_ZEHUT FROM active GROUP BY ALL HAVING count(*) > 1) "
                 f"SELECT _line, CODE_STATUS_RISHUM_TA AS value, CAST(kept AS VARCHAR) AS ref FROM ("
                 f"  SELECT a._line, a.CODE_STATUS_RISHUM_TA, first_value(a._line) OVER w AS kept "
                 f"  FROM active a SEMI JOIN multi m ON a.SUG_ZEHUT = m.SUG_ZEHUT AND a.MISPAR_ZEHUT = m.MISPAR_ZEHUT "
                 f"  WINDOW w AS (PARTITION BY a.SUG_ZEHUT, a.MISPAR_ZEHUT "
                 f"  ORDER BY TRY_CAST(a.TAARICH_HATCHALA AS DATE) DESC NULLS LAST, a._line DESC)) WHERE _line <> kept")

    def gormey_kesher(self) -> None:
        p = "GORMEY_KESHER"
        raw = "pre_gormey_kesher"
        # Every student of TALMIDIM, and whether any of their rows was accepted: one join tells an
        # unknown student (E505) from one whose rows were all rejected (E506), damaged rows included.
        self.con.execute("CREATE OR REPLACE TEMP TABLE students_seen AS SELECT SUG_ZEHUT, MISPAR_ZEHUT, "
                         "bool_or(accepted) AS accepted FROM ("
                         "SELECT r.SUG_ZEHUT, r.MISPAR_ZEHUT, j._line IS NULL AS accepted FROM raw_talmidim r "
                         "LEFT JOIN rej_talmidim j ON j._line = r._line "
                         "UNION ALL SELECT s, n, false FROM damaged_talmidim) GROUP BY ALL")
        self.add(p, None, "MISPAR_ZEHUT_TALMID",
                 f"SELECT r._line, coalesce(r.SUG_ZEHUT_TALMID, '') || '/' || r.MISPAR_ZEHUT_TALMID AS value, "
                 f"NULL AS ref, CASE WHEN s.accepted IS NULL THEN 'E505' ELSE 'E506' END AS code FROM {raw} r "
                 f"LEFT JOIN students_seen s ON s.SUG_ZEHUT = r.SUG_ZEHUT_TALMID AND s.MISPAR_ZEHUT = r.MISPAR_ZEHUT_TALMID "
                 f"WHERE s.accepted IS NULL OR NOT s.accepted")
        pre = self._freeze_pre(p)
        self.duplicate_key(p, pre, TABLES[p].key, field="MISPAR_ZEHUT_GOREM_KESHER")
        pre = self._freeze_pre(p)
        # A contact person's name is the one most of their rows carry (ties: the earliest line's).
        name = "coalesce(SHEM_PRATI_GOREM_KESHER, '') || ' ' || coalesce(SHEM_MISHPACHA_GOREM_KESHER, '')"
        self.add(p, "E403", "SHEM_PRATI_GOREM_KESHER",
                 f"WITH named AS (SELECT _line, SUG_ZEHUT_GOREM_KESHER AS s, MISPAR_ZEHUT_GOREM_KESHER AS n, "
                 f"  {name} AS name FROM {pre} WHERE SHEM_PRATI_GOREM_KESHER IS NOT NULL "
                 f"  OR SHEM_MISHPACHA_GOREM_KESHER IS NOT NULL), "
                 f"multi AS (SELECT s, n FROM named GROUP BY s, n HAVING count(DISTINCT name) > 1), "
                 f"votes AS (SELECT s, n, name, count(*) AS c, min(_line) AS first FROM named "
                 f"  WHERE (s, n) IN (SELECT (s, n) FROM multi) GROUP BY s, n, name), "
                 f"winner AS (SELECT s, n, arg_max(name, c * 1e12 - first) AS name, "
                 f"  arg_max(first, c * 1e12 - first) AS first FROM votes GROUP BY s, n) "
                 f"SELECT d._line, d.name AS value, CAST(w.first AS VARCHAR) AS ref FROM named d "
                 f"JOIN winner w ON w.s = d.s AND w.n = d.n WHERE d.name <> w.name")

    def pirtey_kesher(self) -> None:
        p = "PIRTEY_KESHER"
        raw = "pre_pirtey_kesher"
        self.con.execute("CREATE OR REPLACE TEMP TABLE contacts_seen AS SELECT s, n, bool_or(accepted) AS accepted "
                         "FROM (SELECT r.SUG_ZEHUT_GOREM_KESHER AS s, r.MISPAR_ZEHUT_GOREM_KESHER AS n, "
                         "j._line IS NULL AS accepted FROM raw_gormey_kesher r "
                         "LEFT JOIN rej_gormey_kesher j ON j._line = r._line "
                         "UNION ALL SELECT s, n, false FROM damaged_gormey_kesher) GROUP BY ALL")
        self.add(p, None, "MISPAR_ZEHUT",
                 f"SELECT r._line, coalesce(r.SUG_ZEHUT, '') || '/' || r.MISPAR_ZEHUT AS value, NULL AS ref, "
                 f"CASE WHEN c.accepted IS NULL THEN 'E507' ELSE 'E508' END AS code FROM {raw} r "
                 f"LEFT JOIN contacts_seen c ON c.s = r.SUG_ZEHUT AND c.n = r.MISPAR_ZEHUT "
                 f"WHERE c.accepted IS NULL OR NOT c.accepted")
        pre = self._freeze_pre(p)
        self.duplicate_key(p, pre, TABLES[p].key, field="MISPAR_ZEHUT")

    def run(self) -> None:
        for prefix in ORDER:
            # Layers: field checks on every row; references and domain rules on the rows whose fields
            # passed (a malformed identity number is not also reported as an unknown person);
            # duplicates among the rows that passed both.
            self.fields(TABLES[prefix])
            self._freeze_pre(prefix)
            getattr(self, prefix.lower())()
            self._freeze_accepted(prefix)
