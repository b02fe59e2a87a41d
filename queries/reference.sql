-- Reference data every signed-in person may read: localities and authorities (no census rows).

-- name: authorities
-- scope: reference
-- doc: Every authority in the snapshot, with its kind and district, in Hebrew order.
SELECT r.SEMEL_RASHUT, any_value(r.SHEM_RASHUT) AS SHEM_RASHUT, any_value(r.SUG_RASHUT) AS SUG_RASHUT,
       any_value(d.MACHOZ) AS MACHOZ, count(*) AS LOCALITIES
FROM rashuyot r
JOIN authority_district d ON d.SEMEL_RASHUT = r.SEMEL_RASHUT
GROUP BY r.SEMEL_RASHUT
ORDER BY SHEM_RASHUT COLLATE he

-- name: authority_districts
-- scope: snapshot
-- doc: Each authority's one district (MACHOZ): the one holding most of its localities (ties: the
--      first by name). A few authorities have localities in two districts; the national table, its
--      district filter and headline, and the list above all place each in this one. Built once per
--      snapshot by the query engine (authority_district).
SELECT SEMEL_RASHUT, first(MACHOZ ORDER BY N DESC, MACHOZ NULLS LAST) AS MACHOZ
FROM (SELECT SEMEL_RASHUT, MACHOZ, count(*) AS N FROM rashuyot GROUP BY ALL)
GROUP BY SEMEL_RASHUT
