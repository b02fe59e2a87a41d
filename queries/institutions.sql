-- The institutions page: A's institutions (MOSDOT in A's localities, through rashuyot -> mosdot)
-- with their descriptions, the students of A's census placed there, classes and tracks.

-- name: institutions_list
-- scope: authority
-- doc: One row per institution of A: locality, supervision, sector, kind of education, stage, legal
--      status, approved grade range, students (A's census, active placement there; of them residents
--      of A), classes and tracks (KITOT and MEGAMOT rows), and coordinates when the feed has the extra
--      columns LONGITUDE and LATITUDE (NULL otherwise).
WITH inst AS (
    SELECT m.*, r.SHEM_YISHUV
    FROM (SELECT * FROM mosdot
          -- LONGITUDE and LATITUDE are optional extra columns: add them as NULL when absent
          UNION ALL BY NAME
          SELECT NULL::VARCHAR AS LONGITUDE, NULL::VARCHAR AS LATITUDE WHERE false) m
    JOIN rashuyot r ON r.SEMEL_YISHUV = m.SEMEL_YISHUV
    WHERE r.SEMEL_RASHUT = $authority
),
placed AS (
    SELECT c.SEMEL_MOSAD, count(*) AS STUDENTS, count(*) FILTER (c.IS_RESIDENT) AS RESIDENTS
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.IS_PLACED
    GROUP BY c.SEMEL_MOSAD
),
classes AS (
    SELECT k.SEMEL_MOSAD, count(*) AS CLASSES FROM kitot k
    WHERE k.SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM inst) GROUP BY k.SEMEL_MOSAD
),
tracks AS (
    SELECT g.SEMEL_MOSAD, count(*) AS TRACKS FROM megamot g
    WHERE g.SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM inst) GROUP BY g.SEMEL_MOSAD
)
SELECT i.SEMEL_MOSAD, i.SHEM_MOSAD, i.SEMEL_YISHUV, i.SHEM_YISHUV, i.KTOVET_MOSAD,
       i.SUG_PIKUACH_TEUR, i.MIGZAR_TEUR, i.SUG_CHINUCH_TEUR, i.SHLAV_CHINUCH_TEUR, i.SUG_MOSAD_TEUR,
       i.MAAMAD_MISHPATI_TEUR,
       TRY_CAST(i.ME_SHICHVA_MEUSHAR AS INTEGER) AS ME_SHICHVA_MEUSHAR,
       TRY_CAST(i.AD_SHICHVA_MEUSHAR AS INTEGER) AS AD_SHICHVA_MEUSHAR,
       coalesce(p.STUDENTS, 0)  AS STUDENTS,
       coalesce(p.RESIDENTS, 0) AS RESIDENTS,
       coalesce(k.CLASSES, 0)   AS CLASSES,
       coalesce(t.TRACKS, 0)    AS TRACKS,
       TRY_CAST(i.LONGITUDE AS DOUBLE) AS LONGITUDE,
       TRY_CAST(i.LATITUDE AS DOUBLE)  AS LATITUDE
FROM inst i
LEFT JOIN placed p  ON p.SEMEL_MOSAD = i.SEMEL_MOSAD
LEFT JOIN classes k ON k.SEMEL_MOSAD = i.SEMEL_MOSAD
LEFT JOIN tracks t  ON t.SEMEL_MOSAD = i.SEMEL_MOSAD
ORDER BY i.SHEM_MOSAD COLLATE he, i.SEMEL_MOSAD
