-- Reference data every signed-in person may read: localities and authorities (no census rows).

-- name: authorities
-- scope: reference
-- doc: Every authority in the snapshot, with its kind and district, in Hebrew order.
SELECT SEMEL_RASHUT, any_value(SHEM_RASHUT) AS SHEM_RASHUT, any_value(SUG_RASHUT) AS SUG_RASHUT,
       first(MACHOZ ORDER BY N DESC, MACHOZ NULLS LAST) AS MACHOZ, count(*) AS LOCALITIES
-- the district holding most of its localities (as on the national page)
FROM (SELECT *, count(*) OVER (PARTITION BY SEMEL_RASHUT, MACHOZ) AS N FROM rashuyot)
GROUP BY SEMEL_RASHUT
ORDER BY SHEM_RASHUT COLLATE he
