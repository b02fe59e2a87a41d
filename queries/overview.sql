-- The overview page: headline numbers and the charts' counts for one authority.
-- A's students are reached only through census filtered by $authority (its rows carry the
-- student's derived columns); A's institutions and classes only through rashuyot -> mosdot.
-- Groups of A's students (census rows):
--   residents            IS_RESIDENT
--   incoming             IS_PLACED and not IS_RESIDENT (placed in A's institution, living elsewhere)
--   studying elsewhere   IS_RESIDENT, actively placed, but not in one of A's institutions
--   unplaced residents   IS_RESIDENT with no active placement (census rows are compulsory age)

-- name: overview_headline
-- scope: authority
-- doc: One row: A's students, residents, incoming, residents studying elsewhere, unplaced residents,
--      institutions and classes.
WITH a AS (
    SELECT c.IS_RESIDENT, c.IS_PLACED, c.PLACED
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority
),
inst AS (
    SELECT m.SEMEL_MOSAD FROM mosdot m
    WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
)
SELECT a.*, i.INSTITUTIONS, k.CLASSES
FROM (SELECT count(*)                                                AS STUDENTS,
             count(*) FILTER (IS_RESIDENT)                           AS RESIDENTS,
             count(*) FILTER (IS_PLACED AND NOT IS_RESIDENT)         AS INCOMING,
             count(*) FILTER (IS_RESIDENT AND PLACED AND NOT IS_PLACED) AS STUDYING_ELSEWHERE,
             count(*) FILTER (IS_RESIDENT AND NOT PLACED)            AS UNPLACED_RESIDENTS
      FROM a) a,
     (SELECT count(*) AS INSTITUTIONS FROM inst) i,
     (SELECT count(*) AS CLASSES FROM kitot k WHERE k.SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM inst)) k

-- name: overview_by_grade
-- scope: authority
-- doc: A's placed students by grade of their active placement: residents studying in A, incoming,
--      and residents studying elsewhere.
SELECT c.SHICHVA,
       count(*) FILTER (c.IS_RESIDENT AND c.IS_PLACED)     AS RESIDENTS_HERE,
       count(*) FILTER (c.IS_PLACED AND NOT c.IS_RESIDENT) AS INCOMING,
       count(*) FILTER (NOT c.IS_PLACED)                   AS STUDYING_ELSEWHERE
FROM census c
WHERE c.SEMEL_RASHUT = $authority AND c.PLACED
GROUP BY c.SHICHVA
ORDER BY c.SHICHVA NULLS LAST

-- name: overview_by_supervision
-- scope: authority
-- doc: Students placed in A's institutions by the institution's supervision type and sector, with
--      the number of institutions of each kind (institutions without students count too).
WITH inst AS (
    SELECT m.SEMEL_MOSAD, coalesce(m.SUG_PIKUACH_TEUR, '') AS SUG_PIKUACH_TEUR,
           coalesce(m.MIGZAR_TEUR, '') AS MIGZAR_TEUR
    FROM mosdot m
    WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
),
placed AS (
    SELECT c.SEMEL_MOSAD, count(*) AS N
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.IS_PLACED
    GROUP BY c.SEMEL_MOSAD
)
SELECT i.SUG_PIKUACH_TEUR, i.MIGZAR_TEUR,
       coalesce(sum(p.N), 0)::BIGINT AS STUDENTS,
       count(*)                      AS INSTITUTIONS
FROM inst i LEFT JOIN placed p ON p.SEMEL_MOSAD = i.SEMEL_MOSAD
GROUP BY i.SUG_PIKUACH_TEUR, i.MIGZAR_TEUR
ORDER BY STUDENTS DESC, SUG_PIKUACH_TEUR COLLATE he, MIGZAR_TEUR COLLATE he

-- name: overview_by_institution
-- scope: authority
-- doc: Each of A's institutions with its students placed there: residents of A and incoming.
WITH inst AS (
    SELECT m.SEMEL_MOSAD, m.SHEM_MOSAD
    FROM mosdot m
    WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
),
placed AS (
    SELECT c.SEMEL_MOSAD,
           count(*) FILTER (c.IS_RESIDENT)     AS RESIDENTS,
           count(*) FILTER (NOT c.IS_RESIDENT) AS INCOMING
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.IS_PLACED
    GROUP BY c.SEMEL_MOSAD
)
SELECT i.SEMEL_MOSAD, i.SHEM_MOSAD,
       coalesce(p.RESIDENTS, 0) + coalesce(p.INCOMING, 0) AS STUDENTS,
       coalesce(p.RESIDENTS, 0) AS RESIDENTS,
       coalesce(p.INCOMING, 0)  AS INCOMING
FROM inst i LEFT JOIN placed p ON p.SEMEL_MOSAD = i.SEMEL_MOSAD
ORDER BY STUDENTS DESC, i.SHEM_MOSAD COLLATE he, i.SEMEL_MOSAD

-- name: overview_unplaced
-- scope: authority
-- doc: Unplaced residents of compulsory age by residence locality and age (in the year the school
--      year starts: SHNAT_LIMUDIM - 1 - year of birth).
SELECT c.RES_YISHUV, r.SHEM_YISHUV,
       c.SHNAT_LIMUDIM - 1 - year(c.TAARICH_LEDA) AS AGE,
       count(*) AS STUDENTS
FROM census c
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = c.RES_YISHUV
WHERE c.SEMEL_RASHUT = $authority AND c.IS_RESIDENT AND NOT c.PLACED
GROUP BY c.RES_YISHUV, r.SHEM_YISHUV, AGE
ORDER BY SHEM_YISHUV COLLATE he, AGE
