-- The tracks page: each track (MEGAMOT) of A's institutions (through rashuyot -> mosdot) with the
-- students of A's census actively placed in it, beside the requested and approved quotas.

-- name: tracks_quota
-- scope: authority
-- doc: One row per track of A's institutions, optionally one institution ($mosad): PLACED (A's
--      students whose active placement names this track), MICHSAT_TALMIDIM_MEVUKESHET (requested),
--      MICHSAT_TALMIDIM (approved), approval status; OVER_APPROVED and OVER_REQUESTED flags.
WITH inst AS (
    SELECT m.SEMEL_MOSAD, m.SHEM_MOSAD
    FROM mosdot m
    WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
      AND ($mosad IS NULL OR m.SEMEL_MOSAD = $mosad)
),
placed AS (
    SELECT c.SEMEL_MOSAD, c.SEMEL_MEGAMA_MOSAD, count(*) AS N
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.IS_PLACED AND c.SEMEL_MEGAMA_MOSAD IS NOT NULL
    GROUP BY c.SEMEL_MOSAD, c.SEMEL_MEGAMA_MOSAD
),
g AS (
    SELECT g.ID_MEGAMA, g.SEMEL_MOSAD, i.SHEM_MOSAD, g.SEMEL_MEGAMA, g.SEMEL_MEGAMA_MOSAD, g.SHEM_MEGAMA_MOSAD,
           g.TEUR_MEGAMA, TRY_CAST(g.SHICHVA AS INTEGER) AS SHICHVA,
           TRY_CAST(g.MICHSAT_TALMIDIM_MEVUKESHET AS INTEGER) AS MICHSAT_TALMIDIM_MEVUKESHET,
           TRY_CAST(g.MICHSAT_TALMIDIM AS INTEGER) AS MICHSAT_TALMIDIM,
           g.STATUS_ISHUR_MEGAMA, g.TEUR_STATUS_ISHUR_MEGAMA,
           TRY_CAST(g.TAARICH_STATUS_ISHUR_MEGAMA AS DATE) AS TAARICH_STATUS_ISHUR_MEGAMA
    FROM megamot g JOIN inst i ON i.SEMEL_MOSAD = g.SEMEL_MOSAD
)
SELECT g.*, coalesce(p.N, 0) AS PLACED,
       coalesce(p.N, 0) > g.MICHSAT_TALMIDIM            AS OVER_APPROVED,
       coalesce(p.N, 0) > g.MICHSAT_TALMIDIM_MEVUKESHET AS OVER_REQUESTED
FROM g
LEFT JOIN placed p ON p.SEMEL_MOSAD = g.SEMEL_MOSAD AND p.SEMEL_MEGAMA_MOSAD = g.SEMEL_MEGAMA_MOSAD
ORDER BY g.SHEM_MOSAD COLLATE he, g.SEMEL_MOSAD, g.SHICHVA NULLS LAST, g.SHEM_MEGAMA_MOSAD COLLATE he,
         g.SEMEL_MEGAMA_MOSAD
