-- Reference data every signed-in person may read: localities and authorities (no census rows).

-- name: authorities
-- scope: reference
-- doc: Every authority in the snapshot, with its kind and district, in Hebrew order.
SELECT SEMEL_RASHUT, any_value(SHEM_RASHUT) AS SHEM_RASHUT, any_value(SUG_RASHUT) AS SUG_RASHUT,
       any_value(MACHOZ) AS MACHOZ, count(*) AS LOCALITIES
FROM rashuyot
GROUP BY SEMEL_RASHUT
ORDER BY SHEM_RASHUT COLLATE he
