-- Ministry staff's national view: counts per authority only, never a child's row.

-- name: national_by_authority
-- scope: national
-- doc: One row per authority (from RASHUYOT): students in its census, residents, incoming,
--      residents studying elsewhere, unplaced residents, institutions and classes (counted once at
--      ingest: authority_counts, derive_authority_counts), in Hebrew order.
WITH auth AS (
    SELECT SEMEL_RASHUT, any_value(SHEM_RASHUT) AS SHEM_RASHUT, any_value(SUG_RASHUT) AS SUG_RASHUT,
           any_value(MACHOZ) AS MACHOZ
    FROM rashuyot GROUP BY SEMEL_RASHUT
)
SELECT a.SEMEL_RASHUT, a.SHEM_RASHUT, a.SUG_RASHUT, a.MACHOZ,
       coalesce(c.STUDENTS, 0) AS STUDENTS, coalesce(c.RESIDENTS, 0) AS RESIDENTS,
       coalesce(c.INCOMING, 0) AS INCOMING, coalesce(c.STUDYING_ELSEWHERE, 0) AS STUDYING_ELSEWHERE,
       coalesce(c.UNPLACED_RESIDENTS, 0) AS UNPLACED_RESIDENTS,
       coalesce(c.INSTITUTIONS, 0) AS INSTITUTIONS, coalesce(c.CLASSES, 0) AS CLASSES
FROM auth a
LEFT JOIN authority_counts c ON c.SEMEL_RASHUT = a.SEMEL_RASHUT
ORDER BY a.SHEM_RASHUT COLLATE he, a.SEMEL_RASHUT
