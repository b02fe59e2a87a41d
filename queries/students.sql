-- The students page: A's students, one row each, with filters, search, sorting and paging; one
-- student's record, placements and contacts; and the unplaced residents to act on.
-- Every statement starts from census filtered by $authority (one row per student of A, with the
-- student's derived columns) and reaches other tables by the student's key.
-- Personal columns keep their feed names (the runner masks them by name unless the scope allows).
-- STUDENT_REF = md5($salt || SUG_ZEHUT || ':' || MISPAR_ZEHUT) || '.' || (SEMEL_MOSAD or '-'), the salt a
-- per-process secret: a row can be opened again without the identity number (which may come masked),
-- the ref alone does not reveal it, and it is the same outside DuckDB (hashlib), as the benchmark's
-- pandas versions need. The institution lets a lookup hash one institution's students, not all.
-- Name search: both sides lower-cased, niqqud and cantillation removed, final letters made regular
-- (so "כהן", "כהנ" and "כֹּהֵן" match), spaces collapsed.

-- name: students_list
-- scope: authority
-- doc: One page of A's students with the filters (NULL = any): institution, grade, class, track,
--      status (LAST_STATUS), residence locality, relation (resident|here|incoming|elsewhere|unplaced),
--      name search, identity number (exact, also without leading zeros). Sorted by $sort
--      (name|institution|grade|locality|birth|id) in Hebrew order; TOTAL_ROWS counts all matches.
WITH a AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.SHEM_PRATI, c.SHEM_MISHPACHA, c.CODE_MIN, c.TAARICH_LEDA,
           c.LAST_STATUS, c.RES_YISHUV, c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA, c.SEMEL_MEGAMA_MOSAD,
           CASE WHEN c.IS_PLACED AND c.IS_RESIDENT THEN 'here'
                WHEN c.IS_PLACED THEN 'incoming'
                WHEN c.PLACED THEN 'elsewhere'
                ELSE 'unplaced' END AS RELATION,
           c.IS_RESIDENT
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority
),
q AS (
    SELECT translate(regexp_replace(regexp_replace(lower(trim($q_name)),
               '[\x{0591}-\x{05BD}\x{05BF}\x{05C1}\x{05C2}\x{05C4}\x{05C5}\x{05C7}]', '', 'g'), '\s+', ' ', 'g'),
               'ךםןףץ', 'כמנפצ') AS NEEDLE
),
-- the matching students; read twice (the count and the page) but not stored: cheaper than a window
f AS NOT MATERIALIZED (
    SELECT a.*
    FROM a
    CROSS JOIN q
    -- the names, normalised like the needle; computed only when searching by name
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.NEEDLE IS NOT NULL THEN translate(regexp_replace(regexp_replace(lower(a.SHEM_PRATI),
                   '[\x{0591}-\x{05BD}\x{05BF}\x{05C1}\x{05C2}\x{05C4}\x{05C5}\x{05C7}]', '', 'g'), '\s+', ' ', 'g'),
                   'ךםןףץ', 'כמנפצ') END AS FIRST,
               CASE WHEN q.NEEDLE IS NOT NULL THEN translate(regexp_replace(regexp_replace(lower(a.SHEM_MISHPACHA),
                   '[\x{0591}-\x{05BD}\x{05BF}\x{05C1}\x{05C2}\x{05C4}\x{05C5}\x{05C7}]', '', 'g'), '\s+', ' ', 'g'),
                   'ךםןףץ', 'כמנפצ') END AS LAST
    ) n
    WHERE ($mosad IS NULL OR a.SEMEL_MOSAD = $mosad)
      AND ($shichva IS NULL OR a.SHICHVA = $shichva)
      AND ($makbila IS NULL OR a.MAKBILA = $makbila)
      AND ($megama IS NULL OR a.SEMEL_MEGAMA_MOSAD = $megama)
      AND ($status IS NULL OR a.LAST_STATUS = $status)
      AND ($res_yishuv IS NULL OR a.RES_YISHUV = $res_yishuv)
      AND ($relation IS NULL
           OR ($relation = 'resident' AND a.IS_RESIDENT)
           OR a.RELATION = $relation)
      AND ($q_id IS NULL OR a.MISPAR_ZEHUT = $q_id OR a.MISPAR_ZEHUT = lpad($q_id, 9, '0'))
      AND (q.NEEDLE IS NULL
           OR contains(n.FIRST || ' ' || n.LAST, q.NEEDLE) OR contains(n.LAST || ' ' || n.FIRST, q.NEEDLE))
),
-- institutions and localities in Hebrew order, ranked once per snapshot (order.sql); students sorted by rank
inst AS (SELECT SEMEL_MOSAD, RANK FROM institution_order),
loc AS (SELECT SEMEL_YISHUV, RANK FROM locality_order),
page AS (
    SELECT f.*,
           CASE WHEN $sort = 'name' AND NOT $descending THEN f.SHEM_MISHPACHA END AS K_LAST_UP,
           CASE WHEN $sort = 'name' AND NOT $descending THEN f.SHEM_PRATI END AS K_FIRST_UP,
           CASE WHEN $sort = 'name' AND $descending THEN f.SHEM_MISHPACHA END AS K_LAST_DOWN,
           CASE WHEN $sort = 'name' AND $descending THEN f.SHEM_PRATI END AS K_FIRST_DOWN,
           (CASE $sort WHEN 'institution' THEN i.RANK * 1000000 + f.SHICHVA * 1000 + f.MAKBILA
                       WHEN 'grade' THEN f.SHICHVA * 1000 + f.MAKBILA
                       WHEN 'locality' THEN l.RANK
                       WHEN 'birth' THEN date_diff('day', DATE '1900-01-01', f.TAARICH_LEDA) END)
               * (CASE WHEN $descending THEN -1 ELSE 1 END) AS K_NUMBER,
           CASE WHEN $sort = 'id' AND NOT $descending THEN f.SUG_ZEHUT || ':' || f.MISPAR_ZEHUT END AS K_ID_UP,
           CASE WHEN $sort = 'id' AND $descending THEN f.SUG_ZEHUT || ':' || f.MISPAR_ZEHUT END AS K_ID_DOWN,
           -- ties (a class, a name) in an order that tells nothing: by identity number it would rank
           -- the hidden digits of a masked list
           hash($salt, f.SUG_ZEHUT, f.MISPAR_ZEHUT) AS K_TIE
    FROM f
    LEFT JOIN inst i ON i.SEMEL_MOSAD = f.SEMEL_MOSAD
    LEFT JOIN loc l ON l.SEMEL_YISHUV = f.RES_YISHUV
    ORDER BY K_LAST_UP COLLATE he ASC NULLS LAST, K_FIRST_UP COLLATE he ASC NULLS LAST,
             K_LAST_DOWN COLLATE he DESC NULLS LAST, K_FIRST_DOWN COLLATE he DESC NULLS LAST,
             K_NUMBER ASC NULLS LAST, K_ID_UP ASC NULLS LAST, K_ID_DOWN DESC NULLS LAST, K_TIE
    LIMIT $limit OFFSET $offset
)
SELECT md5($salt || p.SUG_ZEHUT || ':' || p.MISPAR_ZEHUT) || '.' || coalesce(p.SEMEL_MOSAD, '-') AS STUDENT_REF,
       p.SUG_ZEHUT, p.MISPAR_ZEHUT, p.SHEM_PRATI, p.SHEM_MISHPACHA, p.TAARICH_LEDA, p.CODE_MIN,
       p.SEMEL_MOSAD, m.SHEM_MOSAD, p.SHICHVA, p.MAKBILA, p.SEMEL_MEGAMA_MOSAD, p.LAST_STATUS,
       p.RES_YISHUV, r.SHEM_YISHUV, p.RELATION, (SELECT count(*) FROM f) AS TOTAL_ROWS
FROM page p
LEFT JOIN mosdot m   ON m.SEMEL_MOSAD = p.SEMEL_MOSAD
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = p.RES_YISHUV
-- the page again in its order (a join does not keep it); a page is at most $limit rows
ORDER BY p.K_LAST_UP COLLATE he ASC NULLS LAST, p.K_FIRST_UP COLLATE he ASC NULLS LAST,
         p.K_LAST_DOWN COLLATE he DESC NULLS LAST, p.K_FIRST_DOWN COLLATE he DESC NULLS LAST,
         p.K_NUMBER ASC NULLS LAST, p.K_ID_UP ASC NULLS LAST, p.K_ID_DOWN DESC NULLS LAST, p.K_TIE

-- name: students_filter_options
-- scope: authority
-- doc: The choices of the students page's filters, all from A's census: KIND institution (where A's
--      students are placed, A's own institutions first), grade, status, locality (of residence).
-- one pass over the census rows, each list grouped on its own (grouping sets), then named: a few
-- hundred names looked up rather than every student's
WITH g AS (
    SELECT c.SEMEL_MOSAD, c.SHICHVA, c.LAST_STATUS, c.RES_YISHUV, bool_or(c.IS_PLACED) AS ANY_PLACED,
           GROUPING(c.SEMEL_MOSAD) = 0 AS BY_MOSAD, GROUPING(c.SHICHVA) = 0 AS BY_GRADE,
           GROUPING(c.LAST_STATUS) = 0 AS BY_STATUS, GROUPING(c.RES_YISHUV) = 0 AS BY_LOCALITY
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority
    GROUP BY GROUPING SETS ((c.SEMEL_MOSAD), (c.SHICHVA), (c.LAST_STATUS), (c.RES_YISHUV))
),
opts AS (
    SELECT 'institution' AS KIND, g.SEMEL_MOSAD AS CODE, m.SHEM_MOSAD AS LABEL, NOT g.ANY_PLACED AS OUTSIDE
    FROM g LEFT JOIN mosdot m ON m.SEMEL_MOSAD = g.SEMEL_MOSAD
    WHERE g.BY_MOSAD AND g.SEMEL_MOSAD IS NOT NULL
    UNION ALL
    SELECT 'grade', g.SHICHVA::VARCHAR, NULL, false FROM g WHERE g.BY_GRADE AND g.SHICHVA IS NOT NULL
    UNION ALL
    SELECT 'status', g.LAST_STATUS::VARCHAR, NULL, false FROM g WHERE g.BY_STATUS AND g.LAST_STATUS IS NOT NULL
    UNION ALL
    SELECT 'locality', g.RES_YISHUV, any_value(r.SHEM_YISHUV), false
    FROM g LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = g.RES_YISHUV
    WHERE g.BY_LOCALITY AND g.RES_YISHUV IS NOT NULL
    GROUP BY g.RES_YISHUV
)
SELECT KIND, CODE, LABEL, OUTSIDE
FROM opts
ORDER BY KIND, OUTSIDE, LABEL COLLATE he NULLS LAST, TRY_CAST(CODE AS INTEGER), CODE

-- name: students_class_options
-- scope: authority
-- doc: The classes (KIND class, CODE grade/parallel) and tracks (KIND track, CODE the institution's
--      track code, LABEL its name) in which A's students are placed in one institution ($mosad).
WITH a AS (
    SELECT c.SEMEL_MOSAD, c.SHICHVA, c.MAKBILA, c.SEMEL_MEGAMA_MOSAD
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.SEMEL_MOSAD = $mosad
)
SELECT KIND, CODE, LABEL
FROM (
    SELECT DISTINCT 'class' AS KIND, a.SHICHVA::VARCHAR || '/' || a.MAKBILA::VARCHAR AS CODE, NULL AS LABEL,
           a.SHICHVA AS G, a.MAKBILA AS M
    FROM a WHERE a.SHICHVA IS NOT NULL AND a.MAKBILA IS NOT NULL
    UNION ALL
    SELECT 'track', a.SEMEL_MEGAMA_MOSAD, any_value(g.SHEM_MEGAMA_MOSAD), NULL, NULL
    FROM a LEFT JOIN megamot g ON g.SEMEL_MOSAD = a.SEMEL_MOSAD AND g.SEMEL_MEGAMA_MOSAD = a.SEMEL_MEGAMA_MOSAD
    WHERE a.SEMEL_MEGAMA_MOSAD IS NOT NULL
    GROUP BY a.SEMEL_MEGAMA_MOSAD
)
ORDER BY KIND, G, M, LABEL COLLATE he NULLS LAST, CODE

-- name: student_record
-- scope: authority
-- doc: One of A's students by STUDENT_REF: the census row, with the address of the most recently
--      updated TALMIDIM row (as derive_students chose it).
SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.SHEM_PRATI, c.SHEM_MISHPACHA, c.CODE_MIN, c.TAARICH_LEDA,
       c.SHNAT_LIMUDIM, c.LAST_STATUS, c.RES_YISHUV, r.SHEM_YISHUV,
       c.SEMEL_RECHOV_TAL, c.MISPAR_BAYIT_TAL, c.MISPAR_DIRA_TAL, c.MIKUD_7_TAL, c.TAARICH_IDKUN_RESHUMA,
       c.PLACED, c.ACTIVE_PLACEMENTS, c.SEMEL_MOSAD, m.SHEM_MOSAD, c.SHICHVA, c.MAKBILA, c.SEMEL_MEGAMA_MOSAD,
       c.IS_RESIDENT, c.IS_PLACED
FROM census c
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = c.RES_YISHUV
LEFT JOIN mosdot m ON m.SEMEL_MOSAD = c.SEMEL_MOSAD
WHERE c.SEMEL_RASHUT = $authority AND coalesce(c.SEMEL_MOSAD, '-') = split_part($ref, '.', 2)
      AND md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) = split_part($ref, '.', 1)

-- name: student_placements
-- scope: authority
-- doc: Every TALMIDIM row of one of A's students (by STUDENT_REF), newest first.
WITH k AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND coalesce(c.SEMEL_MOSAD, '-') = split_part($ref, '.', 2)
      AND md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) = split_part($ref, '.', 1)
)
SELECT t.SHNAT_LIMUDIM, t.SEMEL_MOSAD, m.SHEM_MOSAD, TRY_CAST(t.SHICHVA AS INTEGER) AS SHICHVA,
       TRY_CAST(t.MAKBILA AS INTEGER) AS MAKBILA, t.SEMEL_MEGAMA_MOSAD,
       TRY_CAST(t.CODE_STATUS_RISHUM_TA AS INTEGER) AS CODE_STATUS_RISHUM_TA,
       TRY_CAST(t.TAARICH_HATCHALA AS DATE) AS TAARICH_HATCHALA, TRY_CAST(t.TAARICH_AZIVA AS DATE) AS TAARICH_AZIVA,
       t.CODE_SIBAT_AZIVA, TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) AS TAARICH_IDKUN_RESHUMA
FROM talmidim t
JOIN k ON k.SUG_ZEHUT = t.SUG_ZEHUT AND k.MISPAR_ZEHUT = t.MISPAR_ZEHUT
LEFT JOIN mosdot m ON m.SEMEL_MOSAD = t.SEMEL_MOSAD
ORDER BY TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) DESC NULLS LAST, t._line DESC

-- name: student_contacts
-- scope: authority
-- doc: The contact persons of one of A's students (by STUDENT_REF): the link (GORMEY_KESHER) and the
--      person's details (PIRTEY_KESHER), from contacts filtered by the authority; active links first.
--      The key is found in census first: contacts are sorted by student, so only its rows are read.
WITH s AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND coalesce(c.SEMEL_MOSAD, '-') = split_part($ref, '.', 2)
      AND md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) = split_part($ref, '.', 1)
)
SELECT k.SUG_ZEHUT_GOREM_KESHER, k.MISPAR_ZEHUT_GOREM_KESHER, k.SHEM_PRATI_GOREM_KESHER,
       k.SHEM_MISHPACHA_GOREM_KESHER, TRY_CAST(k.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER,
       k.HAIM_MESHALEM_GOREM_KESHER, k.LEKABEL_MEIDA,
       TRY_CAST(k.TAARICH_HATCHALA_GOREM_KESHER AS DATE) AS TAARICH_HATCHALA_GOREM_KESHER,
       TRY_CAST(k.TAARICH_SIYUM_GOREM_KESHER AS DATE) AS TAARICH_SIYUM_GOREM_KESHER,
       k.ACTIVE,
       k.KIDOMET_NAYAD, k.MISPAR_NAYAD, k.KIDOMET_TEL_BAIT, k.MISPAR_TEL_BAIT, k.EMAIL_RASHI,
       k.SEMEL_YISHUV, r.SHEM_YISHUV, k.SEMEL_RECHOV, k.SHEM_RECHOV, k.MISPAR_BAYIT, k.KNISA, k.MISPAR_DIRA,
       k.MIKUD, k.TEVAT_DOAR
FROM contacts k
JOIN s ON s.SUG_ZEHUT = k.SUG_ZEHUT_TALMID AND s.MISPAR_ZEHUT = k.MISPAR_ZEHUT_TALMID
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = k.SEMEL_YISHUV
WHERE k.SEMEL_RASHUT = $authority
ORDER BY k.ACTIVE DESC, CODE_SUG_KIRVA_GOREM_KESHER NULLS LAST, k.LINE

-- name: unplaced_residents
-- scope: authority
-- doc: A's residents of compulsory age with no active placement, ready to act on: their address
--      (of the most recently updated TALMIDIM row), and one active contact (the one agreeing to
--      receive information and with a mobile number first), optionally in one locality; paged.
--      By locality, then ($sort = 'birth', only with personal details) oldest first, then by
--      STUDENT_REF: an order by birth date would tell a masked list's relative ages.
WITH u AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.SHEM_PRATI, c.SHEM_MISHPACHA, c.TAARICH_LEDA, c.SHNAT_LIMUDIM,
           c.LAST_STATUS, c.RES_YISHUV, c.SEMEL_RECHOV_TAL, c.MISPAR_BAYIT_TAL, c.MISPAR_DIRA_TAL, c.MIKUD_7_TAL,
           c.ACTIVE_CONTACTS
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND c.IS_RESIDENT AND NOT c.PLACED
      AND ($res_yishuv IS NULL OR c.RES_YISHUV = $res_yishuv)
),
contact AS (
    SELECT k.SUG_ZEHUT_TALMID, k.MISPAR_ZEHUT_TALMID, k.SHEM_PRATI_GOREM_KESHER, k.SHEM_MISHPACHA_GOREM_KESHER,
           TRY_CAST(k.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER,
           k.KIDOMET_NAYAD, k.MISPAR_NAYAD, k.KIDOMET_TEL_BAIT, k.MISPAR_TEL_BAIT, k.EMAIL_RASHI
    FROM contacts k
    SEMI JOIN u ON u.SUG_ZEHUT = k.SUG_ZEHUT_TALMID AND u.MISPAR_ZEHUT = k.MISPAR_ZEHUT_TALMID
    -- the unplaced residents' links only (contacts repeat the student's residence and placement)
    WHERE k.SEMEL_RASHUT = $authority AND k.ACTIVE AND k.IS_RESIDENT AND NOT k.PLACED
    QUALIFY row_number() OVER (PARTITION BY k.SUG_ZEHUT_TALMID, k.MISPAR_ZEHUT_TALMID
                               ORDER BY (k.LEKABEL_MEIDA = '1') DESC NULLS LAST,
                                        (k.MISPAR_NAYAD IS NOT NULL) DESC, k.LINE) = 1
)
SELECT md5($salt || u.SUG_ZEHUT || ':' || u.MISPAR_ZEHUT) || '.-' AS STUDENT_REF,
       u.SUG_ZEHUT, u.MISPAR_ZEHUT, u.SHEM_PRATI, u.SHEM_MISHPACHA, u.TAARICH_LEDA,
       u.SHNAT_LIMUDIM - 1 - year(u.TAARICH_LEDA) AS STUDENT_AGE, u.LAST_STATUS,
       u.RES_YISHUV, r.SHEM_YISHUV, u.SEMEL_RECHOV_TAL, u.MISPAR_BAYIT_TAL, u.MISPAR_DIRA_TAL, u.MIKUD_7_TAL,
       u.ACTIVE_CONTACTS AS CONTACTS, ct.SHEM_PRATI_GOREM_KESHER, ct.SHEM_MISHPACHA_GOREM_KESHER,
       ct.CODE_SUG_KIRVA_GOREM_KESHER, ct.KIDOMET_NAYAD, ct.MISPAR_NAYAD, ct.KIDOMET_TEL_BAIT, ct.MISPAR_TEL_BAIT,
       ct.EMAIL_RASHI,
       (SELECT count(*) FROM u) AS TOTAL_ROWS
FROM u
LEFT JOIN contact ct ON ct.SUG_ZEHUT_TALMID = u.SUG_ZEHUT AND ct.MISPAR_ZEHUT_TALMID = u.MISPAR_ZEHUT
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = u.RES_YISHUV
ORDER BY r.SHEM_YISHUV COLLATE he NULLS LAST, CASE WHEN $sort = 'birth' THEN u.TAARICH_LEDA END, STUDENT_REF
LIMIT $limit OFFSET $offset
