-- Hebrew order of the small reference tables, computed once per snapshot when the query engine
-- attaches it (queries/engine.py) and held in memory: pages sort institutions and localities by
-- these ranks instead of collating names on every run. Same keys as an ORDER BY would use:
-- the name in the `he` collation (nameless last), then the code.

-- name: order_institutions
-- scope: snapshot
-- doc: Each institution (MOSDOT) with its RANK in Hebrew order of SHEM_MOSAD, then SEMEL_MOSAD.
SELECT SEMEL_MOSAD, row_number() OVER (ORDER BY SHEM_MOSAD COLLATE he NULLS LAST, SEMEL_MOSAD) AS RANK
FROM mosdot

-- name: order_localities
-- scope: snapshot
-- doc: Each locality (RASHUYOT) with its RANK in Hebrew order of SHEM_YISHUV, then SEMEL_YISHUV.
SELECT SEMEL_YISHUV, row_number() OVER (ORDER BY SHEM_YISHUV COLLATE he NULLS LAST, SEMEL_YISHUV) AS RANK
FROM rashuyot
