-- Derived tables built once per snapshot at ingest (scope: snapshot). They encode the spec's
-- scope rule, so that every page, option list, download and vendor transfer reads the same census.

-- name: derive_students
-- scope: snapshot
-- doc: One row per student (SUG_ZEHUT, MISPAR_ZEHUT). Residence = SEMEL_YISHUV_TAL of the most
--      recently updated row (ties: the active row, then the later line). Compulsory age = born in a
--      calendar year from Y-22 to Y-7, Y being SHNAT_LIMUDIM of that same row.
WITH ranked AS (
    SELECT t.*,
           row_number() OVER (
               PARTITION BY t.SUG_ZEHUT, t.MISPAR_ZEHUT
               ORDER BY TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) DESC NULLS LAST,
                        (t.CODE_STATUS_RISHUM_TA = '3' AND t.TAARICH_AZIVA IS NULL) DESC,
                        t._line DESC) AS recency
    FROM talmidim t
),
latest AS (SELECT * FROM ranked WHERE recency = 1),
active AS (
    SELECT SUG_ZEHUT, MISPAR_ZEHUT, SEMEL_MOSAD, SHICHVA, MAKBILA, SEMEL_MEGAMA_MOSAD,
           TAARICH_HATCHALA, count(*) OVER (PARTITION BY SUG_ZEHUT, MISPAR_ZEHUT) AS active_count
    FROM talmidim
    WHERE CODE_STATUS_RISHUM_TA = '3' AND TAARICH_AZIVA IS NULL
    QUALIFY row_number() OVER (PARTITION BY SUG_ZEHUT, MISPAR_ZEHUT
                               ORDER BY TRY_CAST(TAARICH_HATCHALA AS DATE) DESC NULLS LAST, _line DESC) = 1
)
SELECT
    l.SUG_ZEHUT, l.MISPAR_ZEHUT, l.SHEM_PRATI, l.SHEM_MISHPACHA, l.CODE_MIN,
    TRY_CAST(l.TAARICH_LEDA AS DATE)                          AS TAARICH_LEDA,
    TRY_CAST(l.SHNAT_LIMUDIM AS INTEGER)                      AS SHNAT_LIMUDIM,
    coalesce(year(TRY_CAST(l.TAARICH_LEDA AS DATE))
             BETWEEN TRY_CAST(l.SHNAT_LIMUDIM AS INTEGER) - 22
                 AND TRY_CAST(l.SHNAT_LIMUDIM AS INTEGER) - 7, false) AS COMPULSORY,
    TRY_CAST(l.CODE_STATUS_RISHUM_TA AS INTEGER)              AS LAST_STATUS,
    l.SEMEL_YISHUV_TAL                                        AS RES_YISHUV,
    res.SEMEL_RASHUT                                          AS RES_RASHUT,
    a.SEMEL_MOSAD IS NOT NULL                                 AS PLACED,
    coalesce(a.active_count, 0)                               AS ACTIVE_PLACEMENTS,
    a.SEMEL_MOSAD,
    TRY_CAST(a.SHICHVA AS INTEGER)                            AS SHICHVA,
    TRY_CAST(a.MAKBILA AS INTEGER)                            AS MAKBILA,
    a.SEMEL_MEGAMA_MOSAD,
    m.SEMEL_YISHUV                                            AS PLACE_YISHUV,
    plc.SEMEL_RASHUT                                          AS PLACE_RASHUT
FROM latest l
LEFT JOIN active a   ON a.SUG_ZEHUT = l.SUG_ZEHUT AND a.MISPAR_ZEHUT = l.MISPAR_ZEHUT
LEFT JOIN rashuyot res ON res.SEMEL_YISHUV = l.SEMEL_YISHUV_TAL
LEFT JOIN mosdot m   ON m.SEMEL_MOSAD = a.SEMEL_MOSAD
LEFT JOIN rashuyot plc ON plc.SEMEL_YISHUV = m.SEMEL_YISHUV
ORDER BY res.SEMEL_RASHUT, l.SUG_ZEHUT, l.MISPAR_ZEHUT

-- name: derive_census
-- scope: snapshot
-- doc: The scope rule. Authority A's students: students of compulsory age who live in one of A's
--      localities, or who have an active placement in one of A's institutions. One row per
--      (authority, student), with why they belong; sorted by authority so a scan for one authority
--      reads few row groups. Reads the derived students table (students.parquet).
SELECT SEMEL_RASHUT, SUG_ZEHUT, MISPAR_ZEHUT,
       bool_or(resident) AS IS_RESIDENT,
       bool_or(placed)   AS IS_PLACED
FROM (
    SELECT RES_RASHUT AS SEMEL_RASHUT, SUG_ZEHUT, MISPAR_ZEHUT, true AS resident, false AS placed
    FROM students WHERE COMPULSORY AND RES_RASHUT IS NOT NULL
    UNION ALL
    SELECT PLACE_RASHUT, SUG_ZEHUT, MISPAR_ZEHUT, false, true
    FROM students WHERE COMPULSORY AND PLACE_RASHUT IS NOT NULL
)
GROUP BY ALL
ORDER BY SEMEL_RASHUT, SUG_ZEHUT, MISPAR_ZEHUT
