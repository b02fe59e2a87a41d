-- The classes page: occupancy of A's classes (KITOT of A's institutions, reached through
-- rashuyot -> mosdot) counted from the active placements of A's students (census), beside the
-- class's minimum and maximum and the number the ministry reports (MISPAR_TALMIDIM).
-- Counting through census means a student outside the census (not of compulsory age) placed in
-- the class is not counted; DIFFERS_FROM_MINISTRY then shows where the two disagree.

-- name: classes_occupancy
-- scope: authority
-- doc: One row per class of A's institutions, optionally one institution ($mosad) and grade
--      ($shichva), with PLACED (counted), flags OVER_MAX, UNDER_MIN, DIFFERS_FROM_MINISTRY.
WITH inst AS (   -- Hebrew order taken over the few hundred institutions, not the classes
    SELECT m.SEMEL_MOSAD, m.SHEM_MOSAD, row_number() OVER (ORDER BY m.SHEM_MOSAD COLLATE he, m.SEMEL_MOSAD) AS RANK
    FROM mosdot m
    WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
      AND ($mosad IS NULL OR m.SEMEL_MOSAD = $mosad)
),
placed AS (      -- counted once per slice (slice_class_counts)
    SELECT p.SEMEL_MOSAD, p.SHICHVA, p.MAKBILA, p.N FROM class_counts p
),
k AS (
    SELECT k.ID_KITA, k.SEMEL_MOSAD, i.SHEM_MOSAD, i.RANK, TRY_CAST(k.SHICHVA AS INTEGER) AS SHICHVA,
           TRY_CAST(k.MAKBILA AS INTEGER) AS MAKBILA, k.SHEM_KITA, k.TEUR_SUG_KITA, k.TEUR_STATUS_ISHUR,
           TRY_CAST(k.MIN_TALMIDIM AS INTEGER) AS MIN_TALMIDIM, TRY_CAST(k.MAX_TALMIDIM AS INTEGER) AS MAX_TALMIDIM,
           TRY_CAST(k.MISPAR_TALMIDIM AS INTEGER) AS MISPAR_TALMIDIM
    FROM kitot k JOIN inst i ON i.SEMEL_MOSAD = k.SEMEL_MOSAD
    WHERE $shichva IS NULL OR TRY_CAST(k.SHICHVA AS INTEGER) = $shichva
)
SELECT k.* EXCLUDE (RANK), coalesce(p.N, 0) AS PLACED,
       coalesce(p.N, 0) > k.MAX_TALMIDIM AS OVER_MAX,
       coalesce(p.N, 0) < k.MIN_TALMIDIM AS UNDER_MIN,
       k.MISPAR_TALMIDIM IS DISTINCT FROM coalesce(p.N, 0) AS DIFFERS_FROM_MINISTRY
FROM k
LEFT JOIN placed p ON p.SEMEL_MOSAD = k.SEMEL_MOSAD AND p.SHICHVA = k.SHICHVA AND p.MAKBILA = k.MAKBILA
ORDER BY k.RANK, k.SHICHVA, k.MAKBILA

-- name: classes_by_institution_grade
-- scope: authority
-- doc: A's classes summed per institution and grade: classes, capacity (sum of MAX_TALMIDIM),
--      students counted and reported by the ministry, classes over max / under min / disagreeing.
WITH inst AS (
    SELECT m.SEMEL_MOSAD, m.SHEM_MOSAD
    FROM mosdot m
    WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
),
placed AS (      -- counted once per slice (slice_class_counts)
    SELECT p.SEMEL_MOSAD, p.SHICHVA, p.MAKBILA, p.N FROM class_counts p
),
k AS (
    SELECT k.SEMEL_MOSAD, i.SHEM_MOSAD, TRY_CAST(k.SHICHVA AS INTEGER) AS SHICHVA,
           TRY_CAST(k.MAKBILA AS INTEGER) AS MAKBILA,
           TRY_CAST(k.MIN_TALMIDIM AS INTEGER) AS MIN_TALMIDIM, TRY_CAST(k.MAX_TALMIDIM AS INTEGER) AS MAX_TALMIDIM,
           TRY_CAST(k.MISPAR_TALMIDIM AS INTEGER) AS MISPAR_TALMIDIM
    FROM kitot k JOIN inst i ON i.SEMEL_MOSAD = k.SEMEL_MOSAD
)
SELECT k.SEMEL_MOSAD, k.SHEM_MOSAD, k.SHICHVA,
       count(*)                                                     AS CLASSES,
       sum(k.MAX_TALMIDIM)::BIGINT                                  AS CAPACITY,
       sum(coalesce(p.N, 0))::BIGINT                                AS PLACED,
       sum(k.MISPAR_TALMIDIM)::BIGINT                               AS MISPAR_TALMIDIM,
       count(*) FILTER (coalesce(p.N, 0) > k.MAX_TALMIDIM)          AS OVER_MAX,
       count(*) FILTER (coalesce(p.N, 0) < k.MIN_TALMIDIM)          AS UNDER_MIN,
       count(*) FILTER (k.MISPAR_TALMIDIM IS DISTINCT FROM coalesce(p.N, 0)) AS DIFFERS_FROM_MINISTRY
FROM k
LEFT JOIN placed p ON p.SEMEL_MOSAD = k.SEMEL_MOSAD AND p.SHICHVA = k.SHICHVA AND p.MAKBILA = k.MAKBILA
GROUP BY k.SEMEL_MOSAD, k.SHEM_MOSAD, k.SHICHVA
ORDER BY SHEM_MOSAD COLLATE he, SEMEL_MOSAD, SHICHVA
