-- Tables of one authority's slice, built in memory by the query engine (queries/engine.py) the first
-- time a page of that authority reads them in a snapshot, and kept while the slice is in use. They are
-- statements like any other: scoped, with $authority from the caller's Scope.

-- name: slice_class_counts
-- scope: authority
-- doc: The students placed in each class of A's institutions (census rows with IS_PLACED), counted
--      once per slice: the classes pages join the few thousand classes to these counts instead of
--      grouping every student on each visit.
SELECT c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA, count(*) AS N
FROM census c
WHERE c.SEMEL_RASHUT = $authority AND c.IS_PLACED
GROUP BY c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA

-- name: slice_contacts
-- scope: authority
-- doc: Every contact link (GORMEY_KESHER) of A's census students, with the contact person's details
--      (PIRTEY_KESHER; HAS_DETAILS false when the person has no row), one row per link. Fields keep
--      their feed names (masking goes by name); LINE is the link's GORMEY_KESHER line. The student's
--      names, placement and residence are repeated from census (SHEM_PRATI, SHEM_MISHPACHA,
--      SEMEL_MOSAD, SHICHVA, MAKBILA, IS_RESIDENT, PLACED). Checks made once here:
--      ACTIVE = no TAARICH_SIYUM_GOREM_KESHER. Phones: prefix and number joined, non-digits dropped,
--      a leading 972 read as 0; a valid mobile is 05X or 07X and 7 digits; a valid home phone is 02,
--      03, 04, 08 or 09 and 7 digits, or 05X/07X and 7 digits (*_VALID is NULL when nothing is
--      written). E-mail: no spaces, one @, a dotted domain ending in two letters or more.
--      STUDENT_REACHABLE: one of the student's active links has a valid phone; FIRST_ACTIVE marks one
--      active link per student (so students are counted without grouping); ANY_PROBLEM: no reachable
--      phone, not agreeing to receive information, an invalid phone or e-mail, or no details.
WITH students AS (
    SELECT SUG_ZEHUT, MISPAR_ZEHUT, SHEM_PRATI, SHEM_MISHPACHA, SEMEL_MOSAD, SHICHVA, MAKBILA, IS_RESIDENT, PLACED
    FROM census WHERE SEMEL_RASHUT = $authority
),
links AS (
    SELECT s.* EXCLUDE (SUG_ZEHUT, MISPAR_ZEHUT), g.* EXCLUDE (_line), g._line AS LINE
    FROM gormey_kesher g
    JOIN students s ON s.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND s.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
),
persons AS (
    SELECT p.* EXCLUDE (_line),
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_NAYAD, '') || coalesce(p.MISPAR_NAYAD, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS _mobile,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_TEL_BAIT, '') || coalesce(p.MISPAR_TEL_BAIT, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS _home
    FROM pirtey_kesher p
    SEMI JOIN links k ON k.SUG_ZEHUT_GOREM_KESHER = p.SUG_ZEHUT AND k.MISPAR_ZEHUT_GOREM_KESHER = p.MISPAR_ZEHUT
),
checked AS (
    SELECT k.* EXCLUDE (SHEM_PRATI, SHEM_MISHPACHA, SEMEL_MOSAD, SHICHVA, MAKBILA, IS_RESIDENT, PLACED),
           k.TAARICH_SIYUM_GOREM_KESHER IS NULL AS ACTIVE,
           p.MISPAR_ZEHUT IS NOT NULL AS HAS_DETAILS,
           p.KIDOMET_NAYAD, p.MISPAR_NAYAD, p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT, p.EMAIL_RASHI,
           p.SEMEL_YISHUV, p.SEMEL_RECHOV, p.SHEM_RECHOV, p.MISPAR_BAYIT, p.KNISA, p.MISPAR_DIRA, p.MIKUD,
           p.TEVAT_DOAR, p.TAARICH_IDKUN,
           k.SHEM_PRATI, k.SHEM_MISHPACHA, k.SEMEL_MOSAD, k.SHICHVA, k.MAKBILA, k.IS_RESIDENT, k.PLACED,
           CASE WHEN coalesce(p.KIDOMET_NAYAD, p.MISPAR_NAYAD) IS NOT NULL
                THEN regexp_full_match(p._mobile, '0[57][0-9]{8}') END                AS MOBILE_VALID,
           CASE WHEN coalesce(p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT) IS NOT NULL
                THEN regexp_full_match(p._home, '0[23489][0-9]{7}|0[57][0-9]{8}') END  AS HOME_VALID,
           CASE WHEN p.EMAIL_RASHI IS NOT NULL
                THEN regexp_full_match(trim(p.EMAIL_RASHI), '[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}') END
                                                                                     AS EMAIL_VALID
    FROM links k
    LEFT JOIN persons p ON p.SUG_ZEHUT = k.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = k.MISPAR_ZEHUT_GOREM_KESHER
),
per_student AS (
    SELECT SUG_ZEHUT_TALMID AS S, MISPAR_ZEHUT_TALMID AS M,
           coalesce(bool_or(ACTIVE AND (coalesce(MOBILE_VALID, false) OR coalesce(HOME_VALID, false))), false)
               AS STUDENT_REACHABLE,
           min(LINE) FILTER (ACTIVE) AS FIRST_LINE
    FROM checked
    GROUP BY ALL
)
SELECT $authority AS SEMEL_RASHUT, k.*, p.STUDENT_REACHABLE, coalesce(k.LINE = p.FIRST_LINE, false) AS FIRST_ACTIVE,
       -- one column to filter on for "any problem"
       NOT p.STUDENT_REACHABLE OR coalesce(k.LEKABEL_MEIDA = '0', false) OR NOT coalesce(k.MOBILE_VALID, true)
           OR NOT coalesce(k.HOME_VALID, true) OR NOT coalesce(k.EMAIL_VALID, true) OR NOT k.HAS_DETAILS
           AS ANY_PROBLEM
FROM checked k
JOIN per_student p ON p.S = k.SUG_ZEHUT_TALMID AND p.M = k.MISPAR_ZEHUT_TALMID
ORDER BY k.SUG_ZEHUT_TALMID, k.MISPAR_ZEHUT_TALMID, k.LINE
