"""The "world" the feed generator populates: localities with their authorities, schools, streets and
name frequencies. Two sources build it: the built-in default (generator_builtin) and the real public
reference data (generator_reference). Everything downstream (generator_feed) sees only this shape.

Population groups follow the CBS first-name file: 0 Jewish, 1 Muslim, 2 Christian-Arab, 3 Druze.
Streams are the supervision types a family's children study in (= SUG_PIKUACH of their school).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

GROUPS = ("Jewish", "Muslim", "Christian-Arab", "Druze")
JEWISH, MUSLIM, CHRISTIAN, DRUZE = 0, 1, 2, 3

# SUG_PIKUACH: supervision type, which is also the "stream" a family chooses schools in.
PIKUACH = {1: "ממלכתי", 2: "ממלכתי-דתי", 3: "חרדי", 4: "ערבי", 5: "דרוזי"}
MAMLACHTI, DATI, HAREDI, ARAB, DRUZE_STREAM = 1, 2, 3, 4, 5


# Columns each table of the world must have (types as written here).
LOCALITY_COLUMNS = {
    "SEMEL_YISHUV": pl.String, "SHEM_YISHUV": pl.String, "SEMEL_RASHUT": pl.String,
    "SHEM_RASHUT": pl.String, "SUG_RASHUT": pl.Int64, "MACHOZ": pl.String, "POPULATION": pl.Int64,
    # Population-group shares (sum to 1) and, among Jews, the religious and Haredi shares.
    "SHARE_JEWISH": pl.Float64, "SHARE_MUSLIM": pl.Float64, "SHARE_CHRISTIAN": pl.Float64,
    "SHARE_DRUZE": pl.Float64, "SHARE_DATI": pl.Float64, "SHARE_HAREDI": pl.Float64,
    "BEDOUIN": pl.Boolean,  # Bedouin localities: their Arab schools are of the Bedouin sector
    "LON": pl.Float64, "LAT": pl.Float64,
}
# Schools: PIKUACH / ME_SHICHVA / AD_SHICHVA / SPECIAL may be null: generator_schools fills them.
SCHOOL_COLUMNS = {
    "SEMEL_MOSAD": pl.String, "SHEM_MOSAD": pl.String, "SEMEL_YISHUV": pl.String,
    "LONGITUDE": pl.Float64, "LATITUDE": pl.Float64, "PIKUACH": pl.Int64,
    "ME_SHICHVA": pl.Int64, "AD_SHICHVA": pl.Int64, "SPECIAL": pl.Boolean,
}
STREET_COLUMNS = {"SEMEL_YISHUV": pl.String, "SEMEL_RECHOV": pl.String, "SHEM_RECHOV": pl.String}
FIRST_NAME_COLUMNS = {"GROUP": pl.Int64, "SEX": pl.Int64, "NAME": pl.String, "WEIGHT": pl.Float64}
SURNAME_COLUMNS = {"GROUP": pl.Int64, "NAME": pl.String, "WEIGHT": pl.Float64}


@dataclass
class World:
    localities: pl.DataFrame
    schools: pl.DataFrame
    streets: pl.DataFrame
    first_names: pl.DataFrame   # SEX: 1 male, 2 female (CODE_MIN)
    surnames: pl.DataFrame
    # Lines for the run summary: what could not be matched or was skipped, and why.
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, cols in (("localities", LOCALITY_COLUMNS), ("schools", SCHOOL_COLUMNS),
                           ("streets", STREET_COLUMNS), ("first_names", FIRST_NAME_COLUMNS),
                           ("surnames", SURNAME_COLUMNS)):
            df: pl.DataFrame = getattr(self, name)
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise ValueError(f"world.{name} lacks columns {missing}")
            setattr(self, name, df.select([pl.col(c).cast(t) for c, t in cols.items()]))
