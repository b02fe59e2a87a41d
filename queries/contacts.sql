-- The contacts-quality page: can A reach its students' families? Active links of A's students, read
-- from `contacts` (slice_contacts in slices.sql: A's census students' GORMEY_KESHER links with the
-- person's PIRTEY_KESHER details, the phone and e-mail checks and the student's reachability, one row
-- per link, built in A's slice) and the students from census. A phone is invalid when something is
-- written and it is not valid; a student is reachable with at least one valid phone among their
-- active contacts.

-- name: contacts_quality_summary
-- scope: authority
-- doc: One row: A's students, students with no active contact, students with no reachable phone
--      (including those with no contact), active contact links, links whose person has no
--      PIRTEY_KESHER row, links not agreeing to receive information (LEKABEL_MEIDA = 0), links with
--      an invalid phone, links with an invalid e-mail.
WITH links AS (
    SELECT count(*)                                                                  AS CONTACT_LINKS,
           count(*) FILTER (FIRST_ACTIVE AND STUDENT_REACHABLE)                      AS REACHABLE,
           count(*) FILTER (NOT HAS_DETAILS)                                         AS MISSING_DETAILS,
           count(*) FILTER (LEKABEL_MEIDA = '0')                                     AS NOT_AGREEING,
           count(*) FILTER (NOT coalesce(MOBILE_VALID, true) OR NOT coalesce(HOME_VALID, true)) AS INVALID_PHONE,
           count(*) FILTER (NOT coalesce(EMAIL_VALID, true))                         AS INVALID_EMAIL
    FROM contacts k
    WHERE k.SEMEL_RASHUT = $authority AND k.ACTIVE
),
students AS (
    SELECT count(*) AS N, count(*) FILTER (c.ACTIVE_CONTACTS = 0) AS NO_CONTACT
    FROM census c WHERE c.SEMEL_RASHUT = $authority
)
SELECT s.N                  AS STUDENTS,
       s.NO_CONTACT,
       s.N - l.REACHABLE    AS NO_REACHABLE_PHONE,
       l.CONTACT_LINKS, l.MISSING_DETAILS, l.NOT_AGREEING, l.INVALID_PHONE, l.INVALID_EMAIL
FROM students s, links l

-- name: contacts_problems
-- scope: authority
-- doc: The rows behind the summary, one per (student, active link), and one per student with no
--      contact: $problem = no_contact | no_phone | not_agreeing | invalid_phone | invalid_email |
--      missing_details, or NULL for any of them; paged, by institution (Hebrew order), grade and class.
--      Two steps: the problem rows are found and ordered on their keys and flags alone, then only the
--      page's rows fetch the names, phones and e-mail by their link's LINE (unique in the slice), so
--      the wide columns are read for one page, not for every problem row.
WITH links AS (
    SELECT k.SUG_ZEHUT_TALMID AS SUG_ZEHUT, k.MISPAR_ZEHUT_TALMID AS MISPAR_ZEHUT,
           k.SEMEL_MOSAD, k.SHICHVA, k.MAKBILA, k.LINE,
           NULL::VARCHAR                                                     AS SHEM_PRATI,
           NULL::VARCHAR                                                     AS SHEM_MISHPACHA,
           false                                                             AS NO_CONTACT,
           NOT k.STUDENT_REACHABLE                                           AS NO_PHONE,
           coalesce(k.LEKABEL_MEIDA = '0', false)                            AS NOT_AGREEING,
           NOT coalesce(k.MOBILE_VALID, true) OR NOT coalesce(k.HOME_VALID, true) AS INVALID_PHONE,
           NOT coalesce(k.EMAIL_VALID, true)                                 AS INVALID_EMAIL,
           NOT k.HAS_DETAILS                                                 AS MISSING_DETAILS
    FROM contacts k
    WHERE k.SEMEL_RASHUT = $authority AND k.ACTIVE AND $problem IS DISTINCT FROM 'no_contact'
      AND (($problem IS NULL AND k.ANY_PROBLEM)
           OR ($problem = 'no_phone' AND NOT k.STUDENT_REACHABLE)
           OR ($problem = 'not_agreeing' AND k.LEKABEL_MEIDA = '0')
           OR ($problem = 'invalid_phone' AND (k.MOBILE_VALID = false OR k.HOME_VALID = false))
           OR ($problem = 'invalid_email' AND k.EMAIL_VALID = false)
           OR ($problem = 'missing_details' AND NOT k.HAS_DETAILS))
),
-- students with no active link at all (their names come with them: there is no link to fetch)
lonely AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA, NULL::BIGINT AS LINE,
           c.SHEM_PRATI, c.SHEM_MISHPACHA,
           true AS NO_CONTACT, true AS NO_PHONE, false AS NOT_AGREEING, false AS INVALID_PHONE,
           false AS INVALID_EMAIL, false AS MISSING_DETAILS
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.ACTIVE_CONTACTS = 0
      AND ($problem IS NULL OR $problem IN ('no_contact', 'no_phone'))
),
f AS (
    SELECT * FROM links
    UNION ALL BY NAME
    SELECT * FROM lonely
),
-- institutions in Hebrew order, ranked once per snapshot (order.sql), rather than collating every row
inst AS (
    SELECT m.SEMEL_MOSAD, m.SHEM_MOSAD, o.RANK FROM mosdot m JOIN institution_order o ON o.SEMEL_MOSAD = m.SEMEL_MOSAD
),
page AS (
    SELECT f.*, i.SHEM_MOSAD, i.RANK
    FROM f
    LEFT JOIN inst i ON i.SEMEL_MOSAD = f.SEMEL_MOSAD
    ORDER BY i.RANK NULLS LAST, f.SEMEL_MOSAD, f.SHICHVA, f.MAKBILA, f.SUG_ZEHUT, f.MISPAR_ZEHUT, f.LINE NULLS FIRST
    LIMIT $limit OFFSET $offset
),
-- the page's links, whole
detail AS (
    SELECT k.LINE, k.SHEM_PRATI, k.SHEM_MISHPACHA, k.MISPAR_ZEHUT_GOREM_KESHER, k.SHEM_PRATI_GOREM_KESHER,
           k.SHEM_MISHPACHA_GOREM_KESHER,
           TRY_CAST(k.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER, k.LEKABEL_MEIDA,
           k.KIDOMET_NAYAD, k.MISPAR_NAYAD, k.KIDOMET_TEL_BAIT, k.MISPAR_TEL_BAIT, k.EMAIL_RASHI
    FROM contacts k
    SEMI JOIN page p ON p.LINE = k.LINE
)
SELECT md5($salt || p.SUG_ZEHUT || ':' || p.MISPAR_ZEHUT) || '.' || coalesce(p.SEMEL_MOSAD, '-') AS STUDENT_REF,
       p.SUG_ZEHUT, p.MISPAR_ZEHUT, coalesce(d.SHEM_PRATI, p.SHEM_PRATI) AS SHEM_PRATI,
       coalesce(d.SHEM_MISHPACHA, p.SHEM_MISHPACHA) AS SHEM_MISHPACHA, p.SEMEL_MOSAD, p.SHEM_MOSAD, p.SHICHVA, p.MAKBILA,
       d.MISPAR_ZEHUT_GOREM_KESHER, d.SHEM_PRATI_GOREM_KESHER, d.SHEM_MISHPACHA_GOREM_KESHER,
       d.CODE_SUG_KIRVA_GOREM_KESHER, d.LEKABEL_MEIDA,
       d.KIDOMET_NAYAD, d.MISPAR_NAYAD, d.KIDOMET_TEL_BAIT, d.MISPAR_TEL_BAIT, d.EMAIL_RASHI,
       p.NO_CONTACT, p.NO_PHONE, p.NOT_AGREEING, p.INVALID_PHONE, p.INVALID_EMAIL, p.MISSING_DETAILS,
       (SELECT count(*) FROM f) AS TOTAL_ROWS
FROM page p
LEFT JOIN detail d ON d.LINE = p.LINE
ORDER BY p.RANK NULLS LAST, p.SEMEL_MOSAD, p.SHICHVA, p.MAKBILA, p.SUG_ZEHUT, p.MISPAR_ZEHUT, p.LINE NULLS FIRST
