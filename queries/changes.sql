-- The change page compares A's census in two snapshots. The runner reads one snapshot per
-- statement, so this statement gives one side (run once per snapshot, each in A's scope) and the
-- page joins the two on STUDENT_REF (md5 of a per-process secret and the key: the two sides join
-- even when identity numbers come masked).

-- name: changes_side
-- scope: authority
-- doc: A's students in this snapshot with their active placement (institution, grade, class).
SELECT md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) AS STUDENT_REF,
       c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.SHEM_PRATI, c.SHEM_MISHPACHA,
       c.SEMEL_MOSAD, m.SHEM_MOSAD, c.SHICHVA, c.MAKBILA, c.IS_RESIDENT, c.IS_PLACED
FROM census c
LEFT JOIN mosdot m ON m.SEMEL_MOSAD = c.SEMEL_MOSAD
WHERE c.SEMEL_RASHUT = $authority
