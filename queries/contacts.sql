-- The contacts-quality page: can A reach its students' families? Active links (GORMEY_KESHER rows
-- with no TAARICH_SIYUM_GOREM_KESHER) of A's students (census), with the contact person's details
-- (PIRTEY_KESHER).
-- Phones: prefix and number joined, non-digits dropped, a leading 972 read as 0. Valid mobile
-- (KIDOMET_NAYAD + MISPAR_NAYAD): 05X or 07X and 7 digits. Valid home phone: 02, 03, 04, 08, 09
-- and 7 digits, or 05X/07X and 7 digits. A phone is invalid when something is written and it is
-- not valid. E-mail: one @, a dotted domain ending in two letters or more, no spaces.
-- Reachable: at least one valid phone among the student's active contacts.

-- name: contacts_quality_summary
-- scope: authority
-- doc: One row: A's students, students with no active contact, students with no reachable phone
--      (including those with no contact), active contact links, links whose person has no
--      PIRTEY_KESHER row, links not agreeing to receive information (LEKABEL_MEIDA = 0), links with
--      an invalid phone, links with an invalid e-mail.
WITH a AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT FROM census c WHERE c.SEMEL_RASHUT = $authority
),
links AS (
    SELECT g.SUG_ZEHUT_TALMID, g.MISPAR_ZEHUT_TALMID, g.LEKABEL_MEIDA,
           p.MISPAR_ZEHUT IS NOT NULL AS HAS_DETAILS,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_NAYAD, '') || coalesce(p.MISPAR_NAYAD, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS MOBILE,
           regexp_replace(regexp_replace(coalesce(p.KIDOMET_TEL_BAIT, '') || coalesce(p.MISPAR_TEL_BAIT, ''),
                          '[^0-9]', '', 'g'), '^972', '0') AS HOME,
           coalesce(p.KIDOMET_NAYAD, p.MISPAR_NAYAD) IS NOT NULL AS MOBILE_GIVEN,
           coalesce(p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT) IS NOT NULL AS HOME_GIVEN,
           p.EMAIL_RASHI
    FROM gormey_kesher g
    SEMI JOIN a ON a.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND a.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
    LEFT JOIN pirtey_kesher p ON p.SUG_ZEHUT = g.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = g.MISPAR_ZEHUT_GOREM_KESHER
    WHERE g.TAARICH_SIYUM_GOREM_KESHER IS NULL
),
checked AS (
    SELECT l.*,
           regexp_full_match(l.MOBILE, '0[57][0-9]{8}') AS MOBILE_OK,
           regexp_full_match(l.HOME, '0[23489][0-9]{7}|0[57][0-9]{8}') AS HOME_OK,
           l.EMAIL_RASHI IS NOT NULL
             AND NOT regexp_full_match(trim(l.EMAIL_RASHI), '[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}') AS EMAIL_BAD
    FROM links l
),
per_student AS (
    SELECT SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID, bool_or(MOBILE_OK OR HOME_OK) AS REACHABLE
    FROM checked GROUP BY ALL
)
SELECT
    (SELECT count(*) FROM a)                                                         AS STUDENTS,
    (SELECT count(*) FROM a ANTI JOIN per_student p
        ON p.SUG_ZEHUT_TALMID = a.SUG_ZEHUT AND p.MISPAR_ZEHUT_TALMID = a.MISPAR_ZEHUT) AS NO_CONTACT,
    (SELECT count(*) FROM a) - (SELECT count(*) FROM per_student WHERE REACHABLE)     AS NO_REACHABLE_PHONE,
    count(*)                                                                         AS CONTACT_LINKS,
    count(*) FILTER (NOT HAS_DETAILS)                                                AS MISSING_DETAILS,
    count(*) FILTER (LEKABEL_MEIDA = '0')                                            AS NOT_AGREEING,
    count(*) FILTER ((MOBILE_GIVEN AND NOT MOBILE_OK) OR (HOME_GIVEN AND NOT HOME_OK)) AS INVALID_PHONE,
    count(*) FILTER (EMAIL_BAD)                                                      AS INVALID_EMAIL
FROM checked

-- name: contacts_problems
-- scope: authority
-- doc: The rows behind the summary, one per (student, active link), and one per student with no
--      contact: $problem = no_contact | no_phone | not_agreeing | invalid_phone | invalid_email |
--      missing_details, or NULL for any of them; paged, by institution, grade and class.
WITH a AS (
    SELECT s.SUG_ZEHUT, s.MISPAR_ZEHUT, s.SHEM_PRATI, s.SHEM_MISHPACHA, s.SEMEL_MOSAD, s.SHICHVA, s.MAKBILA
    FROM census c
    JOIN students s ON s.SUG_ZEHUT = c.SUG_ZEHUT AND s.MISPAR_ZEHUT = c.MISPAR_ZEHUT
    WHERE c.SEMEL_RASHUT = $authority
),
links AS (
    SELECT g.SUG_ZEHUT_TALMID, g.MISPAR_ZEHUT_TALMID, g.SUG_ZEHUT_GOREM_KESHER, g.MISPAR_ZEHUT_GOREM_KESHER,
           g.SHEM_PRATI_GOREM_KESHER, g.SHEM_MISHPACHA_GOREM_KESHER,
           TRY_CAST(g.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER, g.LEKABEL_MEIDA, g._line,
           p.MISPAR_ZEHUT IS NOT NULL AS HAS_DETAILS,
           p.KIDOMET_NAYAD, p.MISPAR_NAYAD, p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT, p.EMAIL_RASHI,
           regexp_full_match(regexp_replace(regexp_replace(coalesce(p.KIDOMET_NAYAD, '') || coalesce(p.MISPAR_NAYAD, ''),
                          '[^0-9]', '', 'g'), '^972', '0'), '0[57][0-9]{8}') AS MOBILE_OK,
           regexp_full_match(regexp_replace(regexp_replace(coalesce(p.KIDOMET_TEL_BAIT, '') || coalesce(p.MISPAR_TEL_BAIT, ''),
                          '[^0-9]', '', 'g'), '^972', '0'), '0[23489][0-9]{7}|0[57][0-9]{8}') AS HOME_OK,
           coalesce(p.KIDOMET_NAYAD, p.MISPAR_NAYAD) IS NOT NULL AS MOBILE_GIVEN,
           coalesce(p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT) IS NOT NULL AS HOME_GIVEN
    FROM gormey_kesher g
    SEMI JOIN a ON a.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND a.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
    LEFT JOIN pirtey_kesher p ON p.SUG_ZEHUT = g.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = g.MISPAR_ZEHUT_GOREM_KESHER
    WHERE g.TAARICH_SIYUM_GOREM_KESHER IS NULL
),
rows AS (
    SELECT a.*, l.*,
           l.SUG_ZEHUT_TALMID IS NULL                                   AS NO_CONTACT,
           NOT coalesce(bool_or(l.MOBILE_OK OR l.HOME_OK)
                        OVER (PARTITION BY a.SUG_ZEHUT, a.MISPAR_ZEHUT), false) AS NO_PHONE,
           coalesce(l.LEKABEL_MEIDA = '0', false)                       AS NOT_AGREEING,
           coalesce((l.MOBILE_GIVEN AND NOT l.MOBILE_OK) OR (l.HOME_GIVEN AND NOT l.HOME_OK), false) AS INVALID_PHONE,
           coalesce(l.EMAIL_RASHI IS NOT NULL
             AND NOT regexp_full_match(trim(l.EMAIL_RASHI), '[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[A-Za-z]{2,}'), false) AS INVALID_EMAIL,
           coalesce(NOT l.HAS_DETAILS, false)                           AS MISSING_DETAILS
    FROM a
    LEFT JOIN links l ON l.SUG_ZEHUT_TALMID = a.SUG_ZEHUT AND l.MISPAR_ZEHUT_TALMID = a.MISPAR_ZEHUT
),
f AS (
    SELECT * FROM rows
    WHERE CASE $problem
              WHEN 'no_contact'      THEN NO_CONTACT
              WHEN 'no_phone'        THEN NO_PHONE
              WHEN 'not_agreeing'    THEN NOT_AGREEING
              WHEN 'invalid_phone'   THEN INVALID_PHONE
              WHEN 'invalid_email'   THEN INVALID_EMAIL
              WHEN 'missing_details' THEN MISSING_DETAILS
              ELSE NO_CONTACT OR NO_PHONE OR NOT_AGREEING OR INVALID_PHONE OR INVALID_EMAIL OR MISSING_DETAILS
          END
)
SELECT md5($salt || f.SUG_ZEHUT || ':' || f.MISPAR_ZEHUT) AS STUDENT_REF,
       f.SUG_ZEHUT, f.MISPAR_ZEHUT, f.SHEM_PRATI, f.SHEM_MISHPACHA, f.SEMEL_MOSAD, m.SHEM_MOSAD, f.SHICHVA, f.MAKBILA,
       f.MISPAR_ZEHUT_GOREM_KESHER, f.SHEM_PRATI_GOREM_KESHER, f.SHEM_MISHPACHA_GOREM_KESHER,
       f.CODE_SUG_KIRVA_GOREM_KESHER, f.LEKABEL_MEIDA,
       f.KIDOMET_NAYAD, f.MISPAR_NAYAD, f.KIDOMET_TEL_BAIT, f.MISPAR_TEL_BAIT, f.EMAIL_RASHI,
       f.NO_CONTACT, f.NO_PHONE, f.NOT_AGREEING, f.INVALID_PHONE, f.INVALID_EMAIL, f.MISSING_DETAILS,
       count(*) OVER () AS TOTAL_ROWS
FROM f
LEFT JOIN mosdot m ON m.SEMEL_MOSAD = f.SEMEL_MOSAD
ORDER BY m.SHEM_MOSAD COLLATE he NULLS LAST, f.SEMEL_MOSAD, f.SHICHVA, f.MAKBILA, f.SUG_ZEHUT, f.MISPAR_ZEHUT, f._line
LIMIT $limit OFFSET $offset
