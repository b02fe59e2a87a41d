-- Derived tables built once per snapshot at ingest (scope: snapshot). They encode the spec's
-- scope rule, so that every page, option list, download and vendor transfer reads the same census.

-- name: derive_students
-- scope: snapshot
-- doc: One row per student (SUG_ZEHUT, MISPAR_ZEHUT). Residence = SEMEL_YISHUV_TAL of the most
--      recently updated row (ties: the active row, then the later line), with that row's address.
--      Compulsory age = born in a calendar year from Y-22 to Y-7, Y being SHNAT_LIMUDIM of that row.
--      ACTIVE_CONTACTS: the student's GORMEY_KESHER links with no TAARICH_SIYUM_GOREM_KESHER.
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
),
links AS (
    SELECT SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID, count(*) AS ACTIVE_CONTACTS
    FROM gormey_kesher WHERE TAARICH_SIYUM_GOREM_KESHER IS NULL
    GROUP BY SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID
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
    plc.SEMEL_RASHUT                                          AS PLACE_RASHUT,
    coalesce(k.ACTIVE_CONTACTS, 0)                            AS ACTIVE_CONTACTS
FROM latest l
LEFT JOIN active a   ON a.SUG_ZEHUT = l.SUG_ZEHUT AND a.MISPAR_ZEHUT = l.MISPAR_ZEHUT
LEFT JOIN links k    ON k.SUG_ZEHUT_TALMID = l.SUG_ZEHUT AND k.MISPAR_ZEHUT_TALMID = l.MISPAR_ZEHUT
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
--      The student's names, placement and residence are repeated from census (SHEM_PRATI,
--      SHEM_MISHPACHA, SEMEL_MOSAD, SHICHVA, MAKBILA, IS_RESIDENT, PLACED). Checks made once here:
--      ACTIVE = no TAARICH_SIYUM_GOREM_KESHER. Phones: prefix and number joined, non-digits dropped,
--      a leading 972 read as 0; a valid mobile is 05X or 07X and 7 digits; a valid home phone is 02,
--      03, 04, 08 or 09 and 7 digits, or 05X/07X and 7 digits (*_VALID is NULL when nothing is
--      written). E-mail: no spaces, one @, a dotted domain ending in two letters or more.
--      STUDENT_REACHABLE: one of the student's active links has a valid phone; FIRST_ACTIVE marks one
--      active link per student (so students are counted without grouping); ANY_PROBLEM: no reachable
--      phone, not agreeing to receive information, an invalid phone or e-mail, or no details.
--      Reads census.
WITH linked AS (
    SELECT c.SEMEL_RASHUT, g.* EXCLUDE (_line), g._line AS LINE,
           g.TAARICH_SIYUM_GOREM_KESHER IS NULL AS ACTIVE,
           p.MISPAR_ZEHUT IS NOT NULL AS HAS_DETAILS,
           p.KIDOMET_NAYAD, p.MISPAR_NAYAD, p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT, p.EMAIL_RASHI,
           p.SEMEL_YISHUV, p.SEMEL_RECHOV, p.SHEM_RECHOV, p.MISPAR_BAYIT, p.KNISA, p.MISPAR_DIRA, p.MIKUD,
           p.TEVAT_DOAR, p.TAARICH_IDKUN,
           c.SHEM_PRATI, c.SHEM_MISHPACHA, c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA, c.IS_RESIDENT, c.PLACED,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_NAYAD, '') || coalesce(p.MISPAR_NAYAD, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS _mobile,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_TEL_BAIT, '') || coalesce(p.MISPAR_TEL_BAIT, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS _home
    FROM census c
    JOIN gormey_kesher g ON g.SUG_ZEHUT_TALMID = c.SUG_ZEHUT AND g.MISPAR_ZEHUT_TALMID = c.MISPAR_ZEHUT
    LEFT JOIN pirtey_kesher p ON p.SUG_ZEHUT = g.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = g.MISPAR_ZEHUT_GOREM_KESHER
),
checked AS (
    SELECT * EXCLUDE (_mobile, _home),
           CASE WHEN coalesce(KIDOMET_NAYAD, MISPAR_NAYAD) IS NOT NULL
                THEN regexp_full_match(_mobile, '0[57][0-9]{8}') END                AS MOBILE_VALID,
           CASE WHEN coalesce(KIDOMET_TEL_BAIT, MISPAR_TEL_BAIT) IS NOT NULL
                THEN regexp_full_match(_home, '0[23489][0-9]{7}|0[57][0-9]{8}') END  AS HOME_VALID,
           CASE WHEN EMAIL_RASHI IS NOT NULL
                THEN regexp_full_match(trim(EMAIL_RASHI), '[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}') END
                                                                                     AS EMAIL_VALID
    FROM linked
),
-- per student once, joined back (a window over every link cost twice as much)
per_student AS (
    SELECT SEMEL_RASHUT AS R, SUG_ZEHUT_TALMID AS S, MISPAR_ZEHUT_TALMID AS M,
           coalesce(bool_or(ACTIVE AND (coalesce(MOBILE_VALID, false) OR coalesce(HOME_VALID, false))), false)
               AS STUDENT_REACHABLE,
           min(LINE) FILTER (ACTIVE) AS FIRST_LINE
    FROM checked
    GROUP BY ALL
)
SELECT k.*, p.STUDENT_REACHABLE, coalesce(k.LINE = p.FIRST_LINE, false) AS FIRST_ACTIVE,
       -- one column to filter on for "any problem" (the contact pages read only the problem rows)
       NOT p.STUDENT_REACHABLE OR coalesce(k.LEKABEL_MEIDA = '0', false) OR NOT coalesce(k.MOBILE_VALID, true)
           OR NOT coalesce(k.HOME_VALID, true) OR NOT coalesce(k.EMAIL_VALID, true) OR NOT k.HAS_DETAILS
           AS ANY_PROBLEM
FROM checked k
JOIN per_student p ON p.R = k.SEMEL_RASHUT AND p.S = k.SUG_ZEHUT_TALMID AND p.M = k.MISPAR_ZEHUT_TALMID
ORDER BY k.SEMEL_RASHUT, k.SUG_ZEHUT_TALMID, k.MISPAR_ZEHUT_TALMID, k.LINE
