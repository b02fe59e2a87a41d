-- Derived tables built once per snapshot at ingest (scope: snapshot). They encode the spec's
-- scope rule, so that every page, option list, download and vendor transfer reads the same census.

-- name: derive_students
-- scope: snapshot
-- doc: One row per student (SUG_ZEHUT, MISPAR_ZEHUT). Residence = SEMEL_YISHUV_TAL of the most
--      recently updated row (ties: the active row, then the later line), with that row's address.
--      Compulsory age = born in a calendar year from Y-22 to Y-7, Y being SHNAT_LIMUDIM of that row.
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
    l.SEMEL_RECHOV_TAL, l.MISPAR_BAYIT_TAL, l.MISPAR_DIRA_TAL, l.MIKUD_7_TAL,
    TRY_CAST(l.TAARICH_IDKUN_RESHUMA AS DATE)                 AS TAARICH_IDKUN_RESHUMA,
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
--      (authority, student), with why they belong and the student's derived columns repeated, sorted
--      by authority: a page reads one authority's contiguous rows and needs no join with students
--      (a join of every student's key cost ten times the read). Reads the derived students table.
WITH members AS (
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
)
SELECT m.SEMEL_RASHUT, m.SUG_ZEHUT, m.MISPAR_ZEHUT, m.IS_RESIDENT, m.IS_PLACED,
       s.* EXCLUDE (SUG_ZEHUT, MISPAR_ZEHUT)
FROM members m
JOIN students s ON s.SUG_ZEHUT = m.SUG_ZEHUT AND s.MISPAR_ZEHUT = m.MISPAR_ZEHUT
ORDER BY m.SEMEL_RASHUT, m.SUG_ZEHUT, m.MISPAR_ZEHUT

-- name: derive_contacts
-- scope: snapshot
-- doc: Every contact link (GORMEY_KESHER) of every authority's census students, with the contact
--      person's details (PIRTEY_KESHER; HAS_DETAILS false when the person has no row), one row per
--      (authority, link), sorted by authority and student like census: the contact pages of one
--      authority read its contiguous rows instead of probing the national link and details tables.
--      Fields keep their feed names (masking goes by name); LINE is the link's GORMEY_KESHER line.
--      Phone and e-mail checks are made once here. Phones: prefix and number joined, non-digits
--      dropped, a leading 972 read as 0; a valid mobile is 05X or 07X and 7 digits; a valid home
--      phone is 02, 03, 04, 08 or 09 and 7 digits, or 05X/07X and 7 digits (*_VALID is NULL when
--      nothing is written). E-mail: no spaces, one @, a dotted domain ending in two letters or more.
--      Reads census.
WITH linked AS (
    SELECT c.SEMEL_RASHUT, g.* EXCLUDE (_line), g._line AS LINE,
           p.MISPAR_ZEHUT IS NOT NULL AS HAS_DETAILS,
           p.KIDOMET_NAYAD, p.MISPAR_NAYAD, p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT, p.EMAIL_RASHI,
           p.SEMEL_YISHUV, p.SEMEL_RECHOV, p.SHEM_RECHOV, p.MISPAR_BAYIT, p.KNISA, p.MISPAR_DIRA, p.MIKUD,
           p.TEVAT_DOAR, p.TAARICH_IDKUN,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_NAYAD, '') || coalesce(p.MISPAR_NAYAD, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS _mobile,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_TEL_BAIT, '') || coalesce(p.MISPAR_TEL_BAIT, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS _home
    FROM census c
    JOIN gormey_kesher g ON g.SUG_ZEHUT_TALMID = c.SUG_ZEHUT AND g.MISPAR_ZEHUT_TALMID = c.MISPAR_ZEHUT
    LEFT JOIN pirtey_kesher p ON p.SUG_ZEHUT = g.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = g.MISPAR_ZEHUT_GOREM_KESHER
)
SELECT * EXCLUDE (_mobile, _home),
       CASE WHEN coalesce(KIDOMET_NAYAD, MISPAR_NAYAD) IS NOT NULL
            THEN regexp_full_match(_mobile, '0[57][0-9]{8}') END                    AS MOBILE_VALID,
       CASE WHEN coalesce(KIDOMET_TEL_BAIT, MISPAR_TEL_BAIT) IS NOT NULL
            THEN regexp_full_match(_home, '0[23489][0-9]{7}|0[57][0-9]{8}') END      AS HOME_VALID,
       CASE WHEN EMAIL_RASHI IS NOT NULL
            THEN regexp_full_match(trim(EMAIL_RASHI), '[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}') END AS EMAIL_VALID
FROM linked
ORDER BY SEMEL_RASHUT, SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID, LINE
