-- Ministry staff's national view: counts per authority only, never a child's row.
-- An authority's district (MACHOZ) is its one district of authority_district (reference.sql), so the
-- table, the district filter and the headline place an authority with localities in two districts alike.

-- name: national_by_authority
-- scope: national
-- doc: One row per authority (from RASHUYOT): students in its census, residents, incoming,
--      residents studying elsewhere, unplaced residents, institutions and classes (counted once at
--      ingest: authority_counts, derive_authority_counts), in Hebrew order.
WITH auth AS (
    SELECT r.SEMEL_RASHUT, any_value(r.SHEM_RASHUT) AS SHEM_RASHUT, any_value(r.SUG_RASHUT) AS SUG_RASHUT,
           any_value(d.MACHOZ) AS MACHOZ
    FROM rashuyot r JOIN authority_district d ON d.SEMEL_RASHUT = r.SEMEL_RASHUT
    GROUP BY r.SEMEL_RASHUT
)
SELECT a.SEMEL_RASHUT, a.SHEM_RASHUT, a.SUG_RASHUT, a.MACHOZ,
       coalesce(c.STUDENTS, 0) AS STUDENTS, coalesce(c.RESIDENTS, 0) AS RESIDENTS,
       coalesce(c.INCOMING, 0) AS INCOMING, coalesce(c.STUDYING_ELSEWHERE, 0) AS STUDYING_ELSEWHERE,
       coalesce(c.UNPLACED_RESIDENTS, 0) AS UNPLACED_RESIDENTS,
       coalesce(c.INSTITUTIONS, 0) AS INSTITUTIONS, coalesce(c.CLASSES, 0) AS CLASSES
FROM auth a
LEFT JOIN authority_counts c ON c.SEMEL_RASHUT = a.SEMEL_RASHUT
ORDER BY a.SHEM_RASHUT COLLATE he, a.SEMEL_RASHUT

-- name: national_students
-- scope: national
-- doc: The students in the census of any authority shown, each once: all authorities, or those of
--      one district ($district; '' for authorities with none). A student living in one authority
--      and studying in another is in both censuses, so the per-authority STUDENTS do not add up to
--      this. A student's rows other than the resident one are counted only when their authority of
--      residence is not among those shown (or they have none).
WITH shown AS (
    SELECT SEMEL_RASHUT FROM authority_district
    WHERE $district IS NULL OR coalesce(MACHOZ, '') = $district
)
SELECT count(*) AS STUDENTS
FROM census c
WHERE c.SEMEL_RASHUT IN (SELECT SEMEL_RASHUT FROM shown)
  AND (c.IS_RESIDENT OR c.RES_RASHUT IS NULL OR c.RES_RASHUT NOT IN (SELECT SEMEL_RASHUT FROM shown))
