"""Personal details hidden from anyone without the view-personal action.

Masking is applied by the query runner to every result, by column name, so no page can forget it.
Identity numbers keep their last four digits (exact-match search still works: it runs in SQL).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

HIDDEN = "•••"

# Identity numbers: shown as *****1234.
ID_COLUMNS = {"MISPAR_ZEHUT", "MISPAR_ZEHUT_TALMID", "MISPAR_ZEHUT_GOREM_KESHER"}
# Everything else that names, reaches or locates a person: hidden entirely.
HIDDEN_COLUMNS = {
    "SHEM_PRATI", "SHEM_MISHPACHA", "SHEM_PRATI_GOREM_KESHER", "SHEM_MISHPACHA_GOREM_KESHER",
    "KIDOMET_NAYAD", "MISPAR_NAYAD", "KIDOMET_TEL_BAIT", "MISPAR_TEL_BAIT", "EMAIL_RASHI",
    "SEMEL_RECHOV", "SHEM_RECHOV", "MISPAR_BAYIT", "KNISA", "MISPAR_DIRA", "MIKUD", "TEVAT_DOAR",
    "SEMEL_RECHOV_TAL", "MISPAR_BAYIT_TAL", "MISPAR_DIRA_TAL", "MIKUD_7_TAL", "TAARICH_LEDA",
    "FULL_NAME", "PHONE", "ADDRESS", "CONTACT_NAME",
    # one student's age tells what the hidden birth date would (AGE, a count's group, stays shown)
    "STUDENT_AGE",
}
PERSONAL_COLUMNS = ID_COLUMNS | HIDDEN_COLUMNS


# Parameters that would reveal what masking hides: a sort by a hidden column ranks its values (who is
# older, whose identity number is higher), and a name search confirms a name. Exact identity-number
# search stays open: it finds only what the person already holds.
PERSONAL_SORTS = {"name", "birth", "id"}
PERSONAL_SEARCHES = {"q_name"}


def needs_personal(params: dict) -> list[str]:
    """The parameters here that only a person allowed to view personal details may use."""
    out = [k for k in PERSONAL_SEARCHES if params.get(k)]
    if params.get("sort") in PERSONAL_SORTS:
        out.append(f"sort={params['sort']}")
    return out


def mask_id(value: str | None) -> str | None:
    if value is None:
        return None
    return "*****" + value[-4:] if len(value) > 4 else "*****"


def mask_personal(df: pl.DataFrame) -> pl.DataFrame:
    import polars as pl
    exprs = []
    for col in df.columns:
        if col in ID_COLUMNS:
            exprs.append(pl.when(pl.col(col).is_null()).then(None)
                         .otherwise(pl.lit("*****") + pl.col(col).cast(pl.Utf8).str.slice(-4)).alias(col))
        elif col in HIDDEN_COLUMNS:
            exprs.append(pl.when(pl.col(col).is_null()).then(None).otherwise(pl.lit(HIDDEN)).alias(col))
    return df.with_columns(exprs) if exprs else df
