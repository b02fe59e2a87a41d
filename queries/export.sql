-- The six files of authority A's weekly export package: exactly the spec's scope rule.
-- Every feed field (and any unknown extra column) as received; _line is internal and left out.

-- name: export_talmidim
-- scope: authority
-- doc: Every row of A's students.
SELECT t.* EXCLUDE (_line)
FROM talmidim t
SEMI JOIN (SELECT SUG_ZEHUT, MISPAR_ZEHUT FROM census WHERE SEMEL_RASHUT = $authority) c
       ON c.SUG_ZEHUT = t.SUG_ZEHUT AND c.MISPAR_ZEHUT = t.MISPAR_ZEHUT
ORDER BY t._line

-- name: export_gormey_kesher
-- scope: authority
-- doc: The links of A's students.
SELECT g.* EXCLUDE (_line)
FROM gormey_kesher g
SEMI JOIN (SELECT SUG_ZEHUT, MISPAR_ZEHUT FROM census WHERE SEMEL_RASHUT = $authority) c
       ON c.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND c.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
ORDER BY g._line

-- name: export_pirtey_kesher
-- scope: authority
-- doc: The contact details of the contact persons in those links.
SELECT p.* EXCLUDE (_line)
FROM pirtey_kesher p
SEMI JOIN (
    SELECT DISTINCT g.SUG_ZEHUT_GOREM_KESHER, g.MISPAR_ZEHUT_GOREM_KESHER
    FROM gormey_kesher g
    SEMI JOIN (SELECT SUG_ZEHUT, MISPAR_ZEHUT FROM census WHERE SEMEL_RASHUT = $authority) c
           ON c.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND c.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
) k ON k.SUG_ZEHUT_GOREM_KESHER = p.SUG_ZEHUT AND k.MISPAR_ZEHUT_GOREM_KESHER = p.MISPAR_ZEHUT
ORDER BY p._line

-- name: export_mosdot
-- scope: authority
-- doc: A's institutions: those in A's localities.
SELECT m.* EXCLUDE (_line)
FROM mosdot m
WHERE m.SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority)
ORDER BY m._line

-- name: export_kitot
-- scope: authority
-- doc: The classes of A's institutions.
SELECT k.* EXCLUDE (_line)
FROM kitot k
WHERE k.SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM mosdot
                        WHERE SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority))
ORDER BY k._line

-- name: export_megamot
-- scope: authority
-- doc: The tracks of A's institutions.
SELECT g.* EXCLUDE (_line)
FROM megamot g
WHERE g.SEMEL_MOSAD IN (SELECT SEMEL_MOSAD FROM mosdot
                        WHERE SEMEL_YISHUV IN (SELECT SEMEL_YISHUV FROM rashuyot WHERE SEMEL_RASHUT = $authority))
ORDER BY g._line
