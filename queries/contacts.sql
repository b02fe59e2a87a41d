-- The contacts-quality page: can A reach its students' families? Active links (no
-- TAARICH_SIYUM_GOREM_KESHER) of A's students, read from `contacts` (derive_contacts: the census
-- students' GORMEY_KESHER links with the person's PIRTEY_KESHER details and the phone and e-mail
-- checks, one row per authority and link, sorted by authority) filtered by $authority; the
-- students themselves from census. A phone is invalid when something is written and it is not
-- valid; a student is reachable with at least one valid phone among their active contacts.

-- name: contacts_quality_summary
-- scope: authority
-- doc: One row: A's students, students with no active contact, students with no reachable phone
--      (including those with no contact), active contact links, links whose person has no
--      PIRTEY_KESHER row, links not agreeing to receive information (LEKABEL_MEIDA = 0), links with
--      an invalid phone, links with an invalid e-mail.
WITH links AS (
    SELECT k.SUG_ZEHUT_TALMID, k.MISPAR_ZEHUT_TALMID, k.LEKABEL_MEIDA, k.HAS_DETAILS,
           coalesce(k.MOBILE_VALID, false) OR coalesce(k.HOME_VALID, false) AS REACHABLE,
           NOT coalesce(k.MOBILE_VALID, true) OR NOT coalesce(k.HOME_VALID, true) AS PHONE_BAD,
           NOT coalesce(k.EMAIL_VALID, true) AS EMAIL_BAD
    FROM contacts k
    WHERE k.SEMEL_RASHUT = $authority AND k.TAARICH_SIYUM_GOREM_KESHER IS NULL
),
per_student AS (
    SELECT count(*) AS WITH_CONTACT, count(*) FILTER (REACHABLE) AS REACHABLE
    FROM (SELECT bool_or(REACHABLE) AS REACHABLE FROM links GROUP BY SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID)
),
students AS (
    SELECT count(*) AS N FROM census c WHERE c.SEMEL_RASHUT = $authority
)
SELECT s.N                  AS STUDENTS,
       s.N - p.WITH_CONTACT AS NO_CONTACT,
       s.N - p.REACHABLE    AS NO_REACHABLE_PHONE,
       l.*
FROM students s, per_student p,
     (SELECT count(*)                              AS CONTACT_LINKS,
             count(*) FILTER (NOT HAS_DETAILS)     AS MISSING_DETAILS,
             count(*) FILTER (LEKABEL_MEIDA = '0') AS NOT_AGREEING,
             count(*) FILTER (PHONE_BAD)           AS INVALID_PHONE,
             count(*) FILTER (EMAIL_BAD)           AS INVALID_EMAIL
      FROM links) l

-- name: contacts_problems
-- scope: authority
-- doc: The rows behind the summary, one per (student, active link), and one per student with no
--      contact: $problem = no_contact | no_phone | not_agreeing | invalid_phone | invalid_email |
--      missing_details, or NULL for any of them; paged, by institution (Hebrew order), grade and class.
WITH links AS (
    SELECT k.SUG_ZEHUT_TALMID, k.MISPAR_ZEHUT_TALMID, k.MISPAR_ZEHUT_GOREM_KESHER,
           k.SHEM_PRATI_GOREM_KESHER, k.SHEM_MISHPACHA_GOREM_KESHER,
           TRY_CAST(k.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER, k.LEKABEL_MEIDA, k.LINE,
           k.KIDOMET_NAYAD, k.MISPAR_NAYAD, k.KIDOMET_TEL_BAIT, k.MISPAR_TEL_BAIT, k.EMAIL_RASHI,
           coalesce(k.MOBILE_VALID, false) OR coalesce(k.HOME_VALID, false) AS REACHABLE,
           k.LEKABEL_MEIDA = '0'                                             AS NOT_AGREEING,
           NOT coalesce(k.MOBILE_VALID, true) OR NOT coalesce(k.HOME_VALID, true) AS INVALID_PHONE,
           NOT coalesce(k.EMAIL_VALID, true)                                 AS INVALID_EMAIL,
           NOT k.HAS_DETAILS                                                 AS MISSING_DETAILS
    FROM contacts k
    WHERE k.SEMEL_RASHUT = $authority AND k.TAARICH_SIYUM_GOREM_KESHER IS NULL
),
reach AS (
    SELECT SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID, bool_or(REACHABLE) AS REACHABLE
    FROM links GROUP BY SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID
),
rows AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.SHEM_PRATI, c.SHEM_MISHPACHA, c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA,
           l.* EXCLUDE (SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID, REACHABLE, NOT_AGREEING, INVALID_PHONE,
                        INVALID_EMAIL, MISSING_DETAILS),
           r.SUG_ZEHUT_TALMID IS NULL               AS NO_CONTACT,
           NOT coalesce(r.REACHABLE, false)         AS NO_PHONE,
           coalesce(l.NOT_AGREEING, false)          AS NOT_AGREEING,
           coalesce(l.INVALID_PHONE, false)         AS INVALID_PHONE,
           coalesce(l.INVALID_EMAIL, false)         AS INVALID_EMAIL,
           coalesce(l.MISSING_DETAILS, false)       AS MISSING_DETAILS
    FROM census c
    LEFT JOIN reach r ON r.SUG_ZEHUT_TALMID = c.SUG_ZEHUT AND r.MISPAR_ZEHUT_TALMID = c.MISPAR_ZEHUT
    LEFT JOIN links l ON l.SUG_ZEHUT_TALMID = c.SUG_ZEHUT AND l.MISPAR_ZEHUT_TALMID = c.MISPAR_ZEHUT
    WHERE c.SEMEL_RASHUT = $authority
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
),
-- institutions in Hebrew order once (a few thousand names) rather than collating every row
inst AS (
    SELECT SEMEL_MOSAD, SHEM_MOSAD, row_number() OVER (ORDER BY SHEM_MOSAD COLLATE he, SEMEL_MOSAD) AS RANK
    FROM mosdot WHERE SEMEL_MOSAD IN (SELECT DISTINCT SEMEL_MOSAD FROM f)
)
SELECT md5($salt || f.SUG_ZEHUT || ':' || f.MISPAR_ZEHUT) AS STUDENT_REF,
       f.SUG_ZEHUT, f.MISPAR_ZEHUT, f.SHEM_PRATI, f.SHEM_MISHPACHA, f.SEMEL_MOSAD, i.SHEM_MOSAD, f.SHICHVA, f.MAKBILA,
       f.MISPAR_ZEHUT_GOREM_KESHER, f.SHEM_PRATI_GOREM_KESHER, f.SHEM_MISHPACHA_GOREM_KESHER,
       f.CODE_SUG_KIRVA_GOREM_KESHER, f.LEKABEL_MEIDA,
       f.KIDOMET_NAYAD, f.MISPAR_NAYAD, f.KIDOMET_TEL_BAIT, f.MISPAR_TEL_BAIT, f.EMAIL_RASHI,
       f.NO_CONTACT, f.NO_PHONE, f.NOT_AGREEING, f.INVALID_PHONE, f.INVALID_EMAIL, f.MISSING_DETAILS,
       count(*) OVER () AS TOTAL_ROWS
FROM f
LEFT JOIN inst i ON i.SEMEL_MOSAD = f.SEMEL_MOSAD
ORDER BY i.RANK NULLS LAST, f.SEMEL_MOSAD, f.SHICHVA, f.MAKBILA, f.SUG_ZEHUT, f.MISPAR_ZEHUT, f.LINE
LIMIT $limit OFFSET $offset
