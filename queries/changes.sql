-- The change page compares A's census in two snapshots. The runner reads one snapshot per
-- statement, so each side is read on its own (in A's scope of that snapshot) and the page joins them
-- on STUDENT_KEY, a hash of a per-process secret and the student's key: the sides join even when
-- identity numbers come masked. Institution names come separately (a few hundred), not per student.

-- name: changes_side
-- scope: authority
-- doc: A's students in this snapshot: STUDENT_KEY, identity number, names and the active placement
--      (institution, grade, class). The key stays a number: it is only joined on, and turning a
--      quarter of a million of them into text was a fifth of the statement's time.
SELECT hash($salt, c.SUG_ZEHUT, c.MISPAR_ZEHUT) AS STUDENT_KEY, c.SUG_ZEHUT, c.MISPAR_ZEHUT,
       c.SHEM_PRATI, c.SHEM_MISHPACHA, c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA
FROM census c
WHERE c.SEMEL_RASHUT = $authority

-- name: changes_institutions
-- scope: authority
-- doc: The names of the institutions A's students are placed in.
SELECT DISTINCT c.SEMEL_MOSAD, m.SHEM_MOSAD
FROM census c
JOIN mosdot m ON m.SEMEL_MOSAD = c.SEMEL_MOSAD
WHERE c.SEMEL_RASHUT = $authority
