"""The roster feed's shape as data: the seven files, their fields, which are required, each field's kind,
and the code tables the spec gives values for (../shared/spec/roster-feed.md).

Ingest reads every field as text; a field's kind says which check its text must pass:
    text   anything
    int    a non-negative whole number written in digits (leading zeros kept as received)
    year   four digits (SHNAT_LIMUDIM)
    date   YYYY-MM-DD or DD/MM/YYYY, a real calendar date
    id     an identity number; validated against the SUG_ZEHUT field named in `id_type`
    code   an integer; a value missing from `codes` is a warning, the row is kept
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    required: bool = False
    kind: str = "text"
    codes: frozenset[str] | None = None      # known values of a code field
    id_type: str | None = None               # for kind "id": the field holding its SUG_ZEHUT


@dataclass(frozen=True)
class Table:
    prefix: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = field(default_factory=tuple)   # unique among accepted rows

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def get(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _codes(*values: int) -> frozenset[str]:
    return frozenset(str(v) for v in values)


# Code tables the spec gives values for; the descriptions travel in the feed's *_TEUR fields.
SUG_ZEHUT = {"1": "תעודת זהות", "2": "דרכון", "3": "מספר זמני"}
SUG_RASHUT = {"1": "עירייה", "2": "מועצה מקומית", "3": "מועצה אזורית"}
CODE_MIN = {"1": "זכר", "2": "נקבה"}
# 3 placed and 5 left are the spec's; 1, 2 and 4 are this project's values for the other statuses.
STATUS_RISHUM = {"1": "נרשם", "2": "מועמד", "3": "משובץ", "4": "לא נרשם", "5": "עזב"}
STATUS_PLACED, STATUS_LEFT = "3", "5"
SUG_KIRVA = {"1": "אב", "2": "אם", "3": "אפוטרופוס", "4": "קרוב משפחה", "9": "אחר"}
YES_NO = {"0": "לא", "1": "כן"}

_ID_TYPES = frozenset(SUG_ZEHUT)


def _f(name, required=False, kind="text", codes=None, id_type=None) -> Field:
    return Field(name, required, kind, frozenset(codes) if codes is not None else None, id_type)


TABLES: dict[str, Table] = {t.prefix: t for t in (
    Table("RASHUYOT", (
        _f("SEMEL_YISHUV", True, "int"), _f("SHEM_YISHUV", True), _f("SEMEL_RASHUT", True, "int"),
        _f("SHEM_RASHUT", True), _f("SUG_RASHUT", True, "code", SUG_RASHUT), _f("MACHOZ"),
    ), key=("SEMEL_YISHUV",)),
    Table("MOSDOT", (
        _f("SHNAT_LIMUDIM", True, "year"), _f("SEMEL_MOSAD", True, "int"), _f("SHEM_MOSAD", True),
        _f("SEMEL_YISHUV", True, "int"), _f("KTOVET_MOSAD"), _f("TELEPHONE_MOSAD"),
        _f("SUG_PIKUACH", kind="int"), _f("SUG_PIKUACH_TEUR"), _f("MIGZAR", kind="int"), _f("MIGZAR_TEUR"),
        _f("SUG_CHINUCH", kind="int"), _f("SUG_CHINUCH_TEUR"), _f("SHLAV_CHINUCH", kind="int"),
        _f("SHLAV_CHINUCH_TEUR"), _f("SUG_MOSAD", kind="int"), _f("SUG_MOSAD_TEUR"),
        _f("MAAMAD_MISHPATI", kind="int"), _f("MAAMAD_MISHPATI_TEUR"),
        _f("ME_SHICHVA_MEUSHAR", kind="int"), _f("AD_SHICHVA_MEUSHAR", kind="int"), _f("MUTAV"),
    ), key=("SEMEL_MOSAD",)),
    Table("KITOT", (
        _f("SHNAT_LIMUDIM", True, "year"), _f("ID_KITA", True), _f("SEMEL_MOSAD", True, "int"),
        _f("SHICHVA", True, "int"), _f("MAKBILA", True, "int"), _f("SHEM_KITA"),
        _f("CODE_SUG_KITA", kind="int"), _f("TEUR_SUG_KITA"), _f("MIN_TALMIDIM", kind="int"),
        _f("MAX_TALMIDIM", kind="int"), _f("MISPAR_TALMIDIM", kind="int"),
        _f("STATUS_ISHUR", kind="int"), _f("TEUR_STATUS_ISHUR"),
    ), key=("ID_KITA",)),
    Table("MEGAMOT", (
        _f("SHNAT_LIMUDIM", True, "year"), _f("ID_MEGAMA", True), _f("SEMEL_MOSAD", True, "int"),
        _f("SEMEL_MEGAMA", True), _f("SEMEL_MEGAMA_MOSAD", True), _f("SHEM_MEGAMA_MOSAD"),
        _f("TEUR_MEGAMA"), _f("SHICHVA", kind="int"), _f("MICHSAT_TALMIDIM_MEVUKESHET", kind="int"),
        _f("MICHSAT_TALMIDIM", kind="int"), _f("STATUS_ISHUR_MEGAMA", kind="int"),
        _f("TEUR_STATUS_ISHUR_MEGAMA"), _f("TAARICH_STATUS_ISHUR_MEGAMA", kind="date"),
    ), key=("ID_MEGAMA",)),
    Table("TALMIDIM", (
        _f("SHNAT_LIMUDIM", True, "year"), _f("SUG_ZEHUT", True, "code", _ID_TYPES),
        _f("MISPAR_ZEHUT", True, "id", id_type="SUG_ZEHUT"), _f("SHEM_PRATI", True),
        _f("SHEM_MISHPACHA", True), _f("CODE_MIN", kind="code", codes=CODE_MIN),
        _f("TAARICH_LEDA", True, "date"), _f("SEMEL_MOSAD", True, "int"), _f("SHICHVA", kind="int"),
        _f("MAKBILA", kind="int"), _f("SEMEL_MEGAMA_MOSAD"),
        _f("CODE_STATUS_RISHUM_TA", True, "code", STATUS_RISHUM), _f("TAARICH_HATCHALA", kind="date"),
        _f("TAARICH_AZIVA", kind="date"), _f("CODE_SIBAT_AZIVA", kind="int"),
        _f("SEMEL_YISHUV_TAL", True, "int"), _f("SEMEL_RECHOV_TAL"), _f("MISPAR_BAYIT_TAL"),
        _f("MISPAR_DIRA_TAL"), _f("MIKUD_7_TAL"), _f("TAARICH_IDKUN_RESHUMA", kind="date"),
    )),
    Table("GORMEY_KESHER", (
        _f("SUG_ZEHUT_TALMID", True, "code", _ID_TYPES),
        _f("MISPAR_ZEHUT_TALMID", True, "id", id_type="SUG_ZEHUT_TALMID"),
        _f("SUG_ZEHUT_GOREM_KESHER", True, "code", _ID_TYPES),
        _f("MISPAR_ZEHUT_GOREM_KESHER", True, "id", id_type="SUG_ZEHUT_GOREM_KESHER"),
        _f("SHEM_PRATI_GOREM_KESHER"), _f("SHEM_MISHPACHA_GOREM_KESHER"),
        _f("CODE_SUG_KIRVA_GOREM_KESHER", True, "code", SUG_KIRVA),
        _f("HAIM_MESHALEM_GOREM_KESHER", kind="code", codes=YES_NO),
        _f("LEKABEL_MEIDA", kind="code", codes=YES_NO),
        _f("TAARICH_HATCHALA_GOREM_KESHER", kind="date"), _f("TAARICH_SIYUM_GOREM_KESHER", kind="date"),
    ), key=("SUG_ZEHUT_TALMID", "MISPAR_ZEHUT_TALMID", "SUG_ZEHUT_GOREM_KESHER", "MISPAR_ZEHUT_GOREM_KESHER")),
    Table("PIRTEY_KESHER", (
        _f("SUG_ZEHUT", True, "code", _ID_TYPES), _f("MISPAR_ZEHUT", True, "id", id_type="SUG_ZEHUT"),
        _f("KIDOMET_NAYAD"), _f("MISPAR_NAYAD"), _f("KIDOMET_TEL_BAIT"), _f("MISPAR_TEL_BAIT"),
        _f("EMAIL_RASHI"), _f("SEMEL_YISHUV"), _f("SEMEL_RECHOV"), _f("SHEM_RECHOV"), _f("MISPAR_BAYIT"),
        _f("KNISA"), _f("MISPAR_DIRA"), _f("MIKUD"), _f("TEVAT_DOAR"), _f("TAARICH_IDKUN", kind="date"),
    ), key=("SUG_ZEHUT", "MISPAR_ZEHUT")),
)}

# Checked in this order, so a reference always meets the already-accepted rows of what it points to.
ORDER = ("RASHUYOT", "MOSDOT", "KITOT", "MEGAMOT", "TALMIDIM", "GORMEY_KESHER", "PIRTEY_KESHER")


def normalise_header(name: str) -> str:
    """Header names match case-insensitively, without stray spaces or a byte-order mark."""
    return name.replace("\ufeff", "").strip().upper()
