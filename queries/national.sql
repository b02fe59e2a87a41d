-- Ministry staff's national view: counts per authority only, never a child's row.

-- name: national_by_authority
-- scope: national
-- doc: One row per authority (from RASHUYOT): students in its census, residents, incoming,
--      residents studying elsewhere, unplaced residents, institutions and classes.
WITH auth AS (
    SELECT SEMEL_RASHUT, any_value(SHEM_RASHUT) AS SHEM_RASHUT, any_value(SUG_RASHUT) AS SUG_RASHUT,
           any_value(MACHOZ) AS MACHOZ
    FROM rashuyot GROUP BY SEMEL_RASHUT
),
cen AS (
    SELECT c.SEMEL_RASHUT,
           count(*)                                                         AS STUDENTS,
           count(*) FILTER (c.IS_RESIDENT)                                  AS RESIDENTS,
           count(*) FILTER (c.IS_PLACED AND NOT c.IS_RESIDENT)              AS INCOMING,
           count(*) FILTER (c.IS_RESIDENT AND c.PLACED AND NOT c.IS_PLACED) AS STUDYING_ELSEWHERE,
           count(*) FILTER (c.IS_RESIDENT AND NOT c.PLACED)                 AS UNPLACED_RESIDENTS
    FROM census c
    GROUP BY c.SEMEL_RASHUT
),
inst AS (
    SELECT r.SEMEL_RASHUT, count(*) AS INSTITUTIONS
    FROM mosdot m JOIN rashuyot r ON r.SEMEL_YISHUV = m.SEMEL_YISHUV
    GROUP BY r.SEMEL_RASHUT
),
cls AS (
    SELECT r.SEMEL_RASHUT, count(*) AS CLASSES
    FROM kitot k JOIN mosdot m ON m.SEMEL_MOSAD = k.SEMEL_MOSAD JOIN rashuyot r ON r.SEMEL_YISHUV = m.SEMEL_YISHUV
    GROUP BY r.SEMEL_RASHUT
)
SELECT a.SEMEL_RASHUT, a.SHEM_RASHUT, a.SUG_RASHUT, a.MACHOZ,
       coalesce(c.STUDENTS, 0) AS STUDENTS, coalesce(c.RESIDENTS, 0) AS RESIDENTS,
       coalesce(c.INCOMING, 0) AS INCOMING, coalesce(c.STUDYING_ELSEWHERE, 0) AS STUDYING_ELSEWHERE,
       coalesce(c.UNPLACED_RESIDENTS, 0) AS UNPLACED_RESIDENTS,
       coalesce(i.INSTITUTIONS, 0) AS INSTITUTIONS, coalesce(k.CLASSES, 0) AS CLASSES
FROM auth a
LEFT JOIN cen c ON c.SEMEL_RASHUT = a.SEMEL_RASHUT
LEFT JOIN inst i ON i.SEMEL_RASHUT = a.SEMEL_RASHUT
LEFT JOIN cls k ON k.SEMEL_RASHUT = a.SEMEL_RASHUT
ORDER BY a.SHEM_RASHUT COLLATE he, a.SEMEL_RASHUT
