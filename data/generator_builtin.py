"""The generator's small built-in world, used when no reference data is given (tests, CI, a fresh
checkout). Written for this project: five authorities of the kinds the portal must handle, a handful
of schools and streets each, and short name lists. Codes follow the real conventions (Tel Aviv-Yafo is
its own authority 5000; a regional council is 10000 + its CBS council code, so מטה יהודה is 10026), but
populations, schools, symbols and streets are invented for the demo.

The Arab and Druze surname lists are also used with the real reference data, which has no such list.
"""
from __future__ import annotations

import polars as pl

from data.generator_world import (ARAB, CHRISTIAN, DATI, DRUZE, HAREDI, JEWISH, MAMLACHTI,
                                  MUSLIM, World)

# (SEMEL_YISHUV, SHEM_YISHUV, SEMEL_RASHUT, SHEM_RASHUT, SUG_RASHUT, MACHOZ, population,
#  (jewish, muslim, christian, druze) shares, dati share, haredi share, lon, lat)
_LOCALITIES = [
    ("5000", "תל אביב-יפו", "5000", "תל אביב-יפו", 1, "תל אביב", 470_000, (0.955, 0.03, 0.015, 0.0), 0.12, 0.03, 34.78, 32.08),
    ("2610", "בית שמש", "2610", "בית שמש", 1, "ירושלים", 150_000, (1.0, 0.0, 0.0, 0.0), 0.25, 0.50, 34.99, 31.75),
    ("1015", "מבשרת ציון", "1015", "מבשרת ציון", 2, "ירושלים", 26_000, (1.0, 0.0, 0.0, 0.0), 0.20, 0.02, 35.15, 31.80),
    ("472", "אבו גוש", "472", "אבו גוש", 2, "ירושלים", 8_000, (0.0, 0.97, 0.03, 0.0), 0.0, 0.0, 35.11, 31.81),
    # מועצה אזורית מטה יהודה: four localities share the authority code 10026.
    ("1113", "צור הדסה", "10026", "מטה יהודה", 3, "ירושלים", 20_000, (1.0, 0.0, 0.0, 0.0), 0.25, 0.04, 35.10, 31.72),
    ("1143", "נס הרים", "10026", "מטה יהודה", 3, "ירושלים", 3_000, (1.0, 0.0, 0.0, 0.0), 0.15, 0.0, 35.06, 31.73),
    ("1235", "שורש", "10026", "מטה יהודה", 3, "ירושלים", 3_500, (1.0, 0.0, 0.0, 0.0), 0.10, 0.0, 35.06, 31.80),
    ("1224", "אבן ספיר", "10026", "מטה יהודה", 3, "ירושלים", 2_500, (1.0, 0.0, 0.0, 0.0), 0.30, 0.05, 35.14, 31.76),
]

# (SEMEL_MOSAD, SHEM_MOSAD, SEMEL_YISHUV, PIKUACH, from grade, to grade, special education, lon, lat)
_SCHOOLS = [
    ("513001", "יסודי בבלי", "5000", MAMLACHTI, 1, 6, False, 34.795, 32.095),
    ("513002", "יסודי גבעת אביב", "5000", MAMLACHTI, 1, 6, False, 34.806, 32.113),
    ("513003", "יסודי נווה צדק", "5000", MAMLACHTI, 1, 6, False, 34.766, 32.061),
    ("513004", "יסודי יד אליהו", "5000", MAMLACHTI, 1, 6, False, 34.793, 32.058),
    ("513005", "ממ\"ד צפון העיר", "5000", DATI, 1, 8, False, 34.787, 32.089),
    ("513006", "תלמוד תורה אור החיים", "5000", HAREDI, 1, 8, False, 34.772, 32.050),
    ("513007", "חטיבת ביניים הגליל", "5000", MAMLACHTI, 7, 9, False, 34.781, 32.079),
    ("513008", "תיכון עירוני אלף", "5000", MAMLACHTI, 10, 12, False, 34.776, 32.070),
    ("513009", "תיכון עירוני דלת", "5000", MAMLACHTI, 10, 12, False, 34.790, 32.102),
    ("513010", "שש-שנתי הירקון", "5000", MAMLACHTI, 7, 12, False, 34.799, 32.110),
    ("513011", "ישיבה תיכונית צפון", "5000", DATI, 7, 12, False, 34.784, 32.092),
    ("513012", "בית ספר אל-חסן יפו", "5000", ARAB, 1, 12, False, 34.755, 32.049),
    ("513013", "בית ספר שקד לחינוך מיוחד", "5000", MAMLACHTI, 1, 12, True, 34.801, 32.066),
    ("261001", "יסודי נווה שמש", "2610", MAMLACHTI, 1, 6, False, 34.985, 31.748),
    ("261002", "ממ\"ד אורות בית שמש", "2610", DATI, 1, 6, False, 34.992, 31.744),
    ("261003", "תלמוד תורה בית שמש", "2610", HAREDI, 1, 8, False, 34.997, 31.726),
    ("261004", "בית יעקב רמת בית שמש", "2610", HAREDI, 1, 8, False, 35.001, 31.719),
    ("261005", "מקיף בית שמש", "2610", MAMLACHTI, 7, 12, False, 34.980, 31.752),
    ("261006", "אולפנת בית שמש", "2610", DATI, 7, 12, False, 34.994, 31.739),
    ("261007", "ישיבה קטנה בית שמש", "2610", HAREDI, 9, 12, False, 35.003, 31.722),
    ("101501", "יסודי הראל", "1015", MAMLACHTI, 1, 6, False, 35.148, 31.803),
    ("101502", "יסודי מבשרת", "1015", MAMLACHTI, 1, 6, False, 35.153, 31.797),
    ("101503", "ממ\"ד מבשרת", "1015", DATI, 1, 6, False, 35.145, 31.800),
    ("101504", "תיכון הראל", "1015", MAMLACHTI, 7, 12, False, 35.156, 31.801),
    ("472001", "יסודי אבו גוש", "472", ARAB, 1, 6, False, 35.109, 31.806),
    ("472002", "תיכון אבו גוש", "472", ARAB, 7, 12, False, 35.112, 31.809),
    ("111301", "יסודי צור הדסה", "1113", MAMLACHTI, 1, 6, False, 35.097, 31.718),
    ("111302", "ממ\"ד צור הדסה", "1113", DATI, 1, 6, False, 35.101, 31.721),
    ("114301", "יסודי הרי יהודה", "1143", MAMLACHTI, 1, 6, False, 35.058, 31.734),
    ("123501", "תיכון אזורי הרי יהודה", "1235", MAMLACHTI, 7, 12, False, 35.062, 31.799),
    ("123502", "ממ\"ד אזורי הרי יהודה", "1235", DATI, 1, 8, False, 35.065, 31.797),
]

# (SEMEL_YISHUV, SEMEL_RECHOV, SHEM_RECHOV). Localities without streets get the CBS fallback
# (street code 9000 = the locality's own name), as small villages do.
_STREETS = [
    ("5000", "101", "דיזנגוף"), ("5000", "102", "אבן גבירול"), ("5000", "103", "אלנבי"), ("5000", "104", "הרצל"),
    ("5000", "105", "שדרות רוטשילד"), ("5000", "106", "יפת"), ("5000", "107", "שדרות ירושלים"),
    ("5000", "108", "ויצמן"), ("5000", "109", "בן יהודה"), ("5000", "110", "ארלוזורוב"),
    ("2610", "201", "נהר הירדן"), ("2610", "202", "רמב\"ם"), ("2610", "203", "הרצל"),
    ("2610", "204", "שדרות יגאל אלון"), ("2610", "205", "נחל שורק"),
    ("1015", "301", "הראל"), ("1015", "302", "החושן"), ("1015", "303", "הטייסים"), ("1015", "304", "מעלה החמישה"),
    ("472", "401", "מחמוד רשיד"), ("472", "402", "השלום"),
    ("1113", "501", "הדקל"), ("1113", "502", "הגפן"), ("1113", "503", "השקד"),
]

_FIRST_NAMES = {
    (JEWISH, 1): "נועם דוד אריאל יוסף איתי משה אורי יהונתן אברהם עידו אליה יונתן רועי דניאל שמואל",
    (JEWISH, 2): "נועה תמר מאיה שרה אביגיל יעל אסתר אדל רחל מיכל ליה הילה שירה רבקה חנה",
    (MUSLIM, 1): "מוחמד אחמד יוסף עומר עלי אדם מחמוד איברהים חסן כרים",
    (MUSLIM, 2): "מרים לין מאיה סלמא נור פאטמה ג'נא רים אמירה ליאן",
    (CHRISTIAN, 1): "ג'ורג' אליאס חנא אנטון שאדי",
    (CHRISTIAN, 2): "מריה מרים רים כריסטין נדין",
    (DRUZE, 1): "אמיר ראמי וסים סאמר פאדי",
    (DRUZE, 2): "אמל לינה סמר ריהאם נור",
}

JEWISH_SURNAMES = ("כהן לוי מזרחי פרץ ביטון דהן אברהם פרידמן אגאי מלכה אזולאי כץ יוסף דוד עמר אוחיון חדד "
                   "גבאי שפירא רוזנברג ברק שלום גולן").split()
# Common Arab and Druze family names, written in Hebrew as the ministry's files spell them.
MUSLIM_SURNAMES = ("ג'אבר,מסאלחה,חוסיין,עותמאן,אגבאריה,מחאמיד,ח'טיב,סעדי,עאסי,אבו ריא,זבידאת,אבו עראר,"
                   "עיסא,מנסור,ח'לאילה,יונס,טאהא,אבו סאלח").split(",")
CHRISTIAN_SURNAMES = "חדאד,נסאר,שחאדה,בשארה,ח'ורי,עזאם,סמעאן,עבוד".split(",")
DRUZE_SURNAMES = "חלבי,קיוף,טרביה,עאמר,פארס,חסון,ח'יר,אבו רוקן".split(",")


def arab_surnames() -> pl.DataFrame:
    """Surnames for the non-Jewish groups, weighted by rank (first = most common)."""
    rows = []
    for group, names in ((MUSLIM, MUSLIM_SURNAMES), (CHRISTIAN, CHRISTIAN_SURNAMES), (DRUZE, DRUZE_SURNAMES)):
        rows += [(group, name, 1.0 / (rank + 1)) for rank, name in enumerate(names)]
    return pl.DataFrame(rows, schema=["GROUP", "NAME", "WEIGHT"], orient="row")


def build() -> World:
    loc = pl.DataFrame(
        [(c, n, r, rn, s, m, p, *shares, dati, haredi, lon, lat)
         for c, n, r, rn, s, m, p, shares, dati, haredi, lon, lat in _LOCALITIES],
        schema=["SEMEL_YISHUV", "SHEM_YISHUV", "SEMEL_RASHUT", "SHEM_RASHUT", "SUG_RASHUT", "MACHOZ",
                "POPULATION", "SHARE_JEWISH", "SHARE_MUSLIM", "SHARE_CHRISTIAN", "SHARE_DRUZE",
                "SHARE_DATI", "SHARE_HAREDI", "LON", "LAT"], orient="row").with_columns(BEDOUIN=pl.lit(False))
    schools = pl.DataFrame(
        _SCHOOLS, schema=["SEMEL_MOSAD", "SHEM_MOSAD", "SEMEL_YISHUV", "PIKUACH", "ME_SHICHVA",
                          "AD_SHICHVA", "SPECIAL", "LONGITUDE", "LATITUDE"], orient="row")
    streets = pl.DataFrame(_STREETS, schema=["SEMEL_YISHUV", "SEMEL_RECHOV", "SHEM_RECHOV"], orient="row")
    first = [(g, sex, name, 1.0 / (rank + 1))
             for (g, sex), names in _FIRST_NAMES.items() for rank, name in enumerate(names.split())]
    first_names = pl.DataFrame(first, schema=["GROUP", "SEX", "NAME", "WEIGHT"], orient="row")
    surnames = pl.concat([
        pl.DataFrame([(JEWISH, n, 1.0 / (r + 1)) for r, n in enumerate(JEWISH_SURNAMES)],
                     schema=["GROUP", "NAME", "WEIGHT"], orient="row"),
        arab_surnames(),
    ])
    return World(localities=loc, schools=schools, streets=streets, first_names=first_names, surnames=surnames,
                 notes=["built-in default world (no reference data)"])


__all__ = ["build", "arab_surnames"]
