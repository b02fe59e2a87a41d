-- The students page: A's students, one row each, with filters, search, sorting and paging; one
-- student's record, placements and contacts; and the unplaced residents to act on.
-- Every statement starts from census filtered by $authority and joins on the student's key.
-- Personal columns keep their feed names (the runner masks them by name unless the scope allows).
-- STUDENT_REF is md5 of a per-process secret ($salt) and the key: rows can be opened without
-- shipping the identity number, and the ref cannot be turned back into one.
-- Name search: both sides lower-cased, niqqud and cantillation removed, final letters made regular
-- (so "כהן", "כהנ" and "כֹּהֵן" match), spaces collapsed.

-- name: students_list
-- scope: authority
-- doc: One page of A's students with the filters (NULL = any): institution, grade, class, track,
--      status (LAST_STATUS), residence locality, relation (resident|here|incoming|elsewhere|unplaced),
--      name search, identity number (exact, also without leading zeros). Sorted by $sort
--      (name|institution|grade|locality|birth|id) in Hebrew order; TOTAL_ROWS counts all matches.
WITH a AS (
    SELECT s.SUG_ZEHUT, s.MISPAR_ZEHUT, s.SHEM_PRATI, s.SHEM_MISHPACHA, s.CODE_MIN, s.TAARICH_LEDA,
           s.LAST_STATUS, s.RES_YISHUV, s.PLACED, s.SEMEL_MOSAD, s.SHICHVA, s.MAKBILA,
           s.SEMEL_MEGAMA_MOSAD, c.IS_RESIDENT,
           CASE WHEN c.IS_PLACED AND c.IS_RESIDENT THEN 'here'
                WHEN c.IS_PLACED THEN 'incoming'
                WHEN s.PLACED THEN 'elsewhere'
                ELSE 'unplaced' END AS RELATION
    FROM census c
    JOIN students s ON s.SUG_ZEHUT = c.SUG_ZEHUT AND s.MISPAR_ZEHUT = c.MISPAR_ZEHUT
    WHERE c.SEMEL_RASHUT = $authority
),
q AS (
    SELECT translate(regexp_replace(regexp_replace(lower(trim($q_name)),
               '[\x{0591}-\x{05BD}\x{05BF}\x{05C1}\x{05C2}\x{05C4}\x{05C5}\x{05C7}]', '', 'g'), '\s+', ' ', 'g'),
               'ךםןףץ', 'כמנפצ') AS NEEDLE
),
f AS (
    SELECT a.*, m.SHEM_MOSAD, r.SHEM_YISHUV
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
    LEFT JOIN mosdot m   ON m.SEMEL_MOSAD = a.SEMEL_MOSAD
    LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = a.RES_YISHUV
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
keyed AS (
    SELECT f.*,
           CASE $sort
               WHEN 'name'        THEN f.SHEM_MISHPACHA || ' ' || f.SHEM_PRATI
               WHEN 'institution' THEN f.SHEM_MOSAD || ' ' || lpad(f.SHICHVA::VARCHAR, 2, '0')
                                       || lpad(f.MAKBILA::VARCHAR, 3, '0')
               WHEN 'grade'       THEN lpad(f.SHICHVA::VARCHAR, 2, '0') || lpad(f.MAKBILA::VARCHAR, 3, '0')
               WHEN 'locality'    THEN f.SHEM_YISHUV
               WHEN 'birth'       THEN strftime(f.TAARICH_LEDA, '%Y-%m-%d')
               ELSE f.SUG_ZEHUT || lpad(f.MISPAR_ZEHUT, 12, '0')
           END AS SORT_KEY,
           count(*) OVER () AS TOTAL_ROWS
    FROM f
)
SELECT md5($salt || k.SUG_ZEHUT || ':' || k.MISPAR_ZEHUT) AS STUDENT_REF,
       k.SUG_ZEHUT, k.MISPAR_ZEHUT, k.SHEM_PRATI, k.SHEM_MISHPACHA, k.TAARICH_LEDA, k.CODE_MIN,
       k.SEMEL_MOSAD, k.SHEM_MOSAD, k.SHICHVA, k.MAKBILA, k.SEMEL_MEGAMA_MOSAD, k.LAST_STATUS,
       k.RES_YISHUV, k.SHEM_YISHUV, k.RELATION, k.TOTAL_ROWS
FROM keyed k
ORDER BY CASE WHEN NOT $descending THEN k.SORT_KEY END COLLATE he ASC NULLS LAST,
         CASE WHEN $descending THEN k.SORT_KEY END COLLATE he DESC NULLS LAST,
         k.SUG_ZEHUT, k.MISPAR_ZEHUT
LIMIT $limit OFFSET $offset

-- name: students_filter_options
-- scope: authority
-- doc: The choices of the students page's filters, all from A's census: KIND institution (where A's
--      students are placed, A's own institutions first), grade, class (per institution), track (per
--      institution), status, locality (of residence).
WITH a AS (
    SELECT s.SEMEL_MOSAD, s.SHICHVA, s.MAKBILA, s.SEMEL_MEGAMA_MOSAD, s.LAST_STATUS, s.RES_YISHUV,
           c.IS_PLACED
    FROM census c
    JOIN students s ON s.SUG_ZEHUT = c.SUG_ZEHUT AND s.MISPAR_ZEHUT = c.MISPAR_ZEHUT
    WHERE c.SEMEL_RASHUT = $authority
),
opts AS (
    SELECT 'institution' AS KIND, a.SEMEL_MOSAD, a.SEMEL_MOSAD AS CODE, any_value(m.SHEM_MOSAD) AS LABEL,
           NOT bool_or(a.IS_PLACED) AS RANK
    FROM a LEFT JOIN mosdot m ON m.SEMEL_MOSAD = a.SEMEL_MOSAD
    WHERE a.SEMEL_MOSAD IS NOT NULL
    GROUP BY a.SEMEL_MOSAD
    UNION ALL
    SELECT DISTINCT 'grade', NULL, a.SHICHVA::VARCHAR, NULL, false FROM a WHERE a.SHICHVA IS NOT NULL
    UNION ALL
    SELECT DISTINCT 'class', a.SEMEL_MOSAD, a.SHICHVA::VARCHAR || '/' || a.MAKBILA::VARCHAR, NULL, false
    FROM a WHERE a.SEMEL_MOSAD IS NOT NULL AND a.SHICHVA IS NOT NULL AND a.MAKBILA IS NOT NULL
    UNION ALL
    SELECT 'track', a.SEMEL_MOSAD, a.SEMEL_MEGAMA_MOSAD, any_value(g.SHEM_MEGAMA_MOSAD), false
    FROM a LEFT JOIN megamot g ON g.SEMEL_MOSAD = a.SEMEL_MOSAD AND g.SEMEL_MEGAMA_MOSAD = a.SEMEL_MEGAMA_MOSAD
    WHERE a.SEMEL_MEGAMA_MOSAD IS NOT NULL
    GROUP BY a.SEMEL_MOSAD, a.SEMEL_MEGAMA_MOSAD
    UNION ALL
    SELECT DISTINCT 'status', NULL, a.LAST_STATUS::VARCHAR, NULL, false FROM a WHERE a.LAST_STATUS IS NOT NULL
    UNION ALL
    SELECT 'locality', NULL, a.RES_YISHUV, any_value(r.SHEM_YISHUV), false
    FROM a LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = a.RES_YISHUV
    WHERE a.RES_YISHUV IS NOT NULL
    GROUP BY a.RES_YISHUV
)
SELECT KIND, SEMEL_MOSAD, CODE, LABEL, RANK AS OUTSIDE
FROM opts
ORDER BY KIND, RANK, LABEL COLLATE he NULLS LAST,
         TRY_CAST(split_part(CODE, '/', 1) AS INTEGER), TRY_CAST(split_part(CODE, '/', 2) AS INTEGER), CODE

-- name: student_record
-- scope: authority
-- doc: One of A's students by STUDENT_REF: the derived row, and the address of their most recently
--      updated TALMIDIM row (as in derive_students).
WITH k AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT, c.IS_RESIDENT, c.IS_PLACED
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) = $ref
),
latest AS (
    SELECT t.SUG_ZEHUT, t.MISPAR_ZEHUT, t.SEMEL_RECHOV_TAL, t.MISPAR_BAYIT_TAL, t.MISPAR_DIRA_TAL, t.MIKUD_7_TAL,
           t.TAARICH_IDKUN_RESHUMA
    FROM talmidim t SEMI JOIN k ON k.SUG_ZEHUT = t.SUG_ZEHUT AND k.MISPAR_ZEHUT = t.MISPAR_ZEHUT
    QUALIFY row_number() OVER (PARTITION BY t.SUG_ZEHUT, t.MISPAR_ZEHUT
                               ORDER BY TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) DESC NULLS LAST,
                                        (t.CODE_STATUS_RISHUM_TA = '3' AND t.TAARICH_AZIVA IS NULL) DESC,
                                        t._line DESC) = 1
)
SELECT s.SUG_ZEHUT, s.MISPAR_ZEHUT, s.SHEM_PRATI, s.SHEM_MISHPACHA, s.CODE_MIN, s.TAARICH_LEDA,
       s.SHNAT_LIMUDIM, s.LAST_STATUS, s.RES_YISHUV, r.SHEM_YISHUV,
       l.SEMEL_RECHOV_TAL, l.MISPAR_BAYIT_TAL, l.MISPAR_DIRA_TAL, l.MIKUD_7_TAL, l.TAARICH_IDKUN_RESHUMA,
       s.PLACED, s.ACTIVE_PLACEMENTS, s.SEMEL_MOSAD, m.SHEM_MOSAD, s.SHICHVA, s.MAKBILA, s.SEMEL_MEGAMA_MOSAD,
       k.IS_RESIDENT, k.IS_PLACED
FROM k
JOIN students s ON s.SUG_ZEHUT = k.SUG_ZEHUT AND s.MISPAR_ZEHUT = k.MISPAR_ZEHUT
LEFT JOIN latest l ON l.SUG_ZEHUT = k.SUG_ZEHUT AND l.MISPAR_ZEHUT = k.MISPAR_ZEHUT
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = s.RES_YISHUV
LEFT JOIN mosdot m ON m.SEMEL_MOSAD = s.SEMEL_MOSAD

-- name: student_placements
-- scope: authority
-- doc: Every TALMIDIM row of one of A's students (by STUDENT_REF), newest first.
WITH k AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) = $ref
)
SELECT t.SHNAT_LIMUDIM, t.SEMEL_MOSAD, m.SHEM_MOSAD, TRY_CAST(t.SHICHVA AS INTEGER) AS SHICHVA,
       TRY_CAST(t.MAKBILA AS INTEGER) AS MAKBILA, t.SEMEL_MEGAMA_MOSAD,
       TRY_CAST(t.CODE_STATUS_RISHUM_TA AS INTEGER) AS CODE_STATUS_RISHUM_TA,
       TRY_CAST(t.TAARICH_HATCHALA AS DATE) AS TAARICH_HATCHALA, TRY_CAST(t.TAARICH_AZIVA AS DATE) AS TAARICH_AZIVA,
       t.CODE_SIBAT_AZIVA, TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) AS TAARICH_IDKUN_RESHUMA
FROM talmidim t
SEMI JOIN k ON k.SUG_ZEHUT = t.SUG_ZEHUT AND k.MISPAR_ZEHUT = t.MISPAR_ZEHUT
LEFT JOIN mosdot m ON m.SEMEL_MOSAD = t.SEMEL_MOSAD
ORDER BY TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) DESC NULLS LAST, t._line DESC

-- name: student_contacts
-- scope: authority
-- doc: The contact persons of one of A's students (by STUDENT_REF): the link (GORMEY_KESHER) and the
--      person's details (PIRTEY_KESHER), active links first.
WITH k AS (
    SELECT c.SUG_ZEHUT, c.MISPAR_ZEHUT
    FROM census c
    WHERE c.SEMEL_RASHUT = $authority AND md5($salt || c.SUG_ZEHUT || ':' || c.MISPAR_ZEHUT) = $ref
)
SELECT g.SUG_ZEHUT_GOREM_KESHER, g.MISPAR_ZEHUT_GOREM_KESHER, g.SHEM_PRATI_GOREM_KESHER,
       g.SHEM_MISHPACHA_GOREM_KESHER, TRY_CAST(g.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER,
       g.HAIM_MESHALEM_GOREM_KESHER, g.LEKABEL_MEIDA,
       TRY_CAST(g.TAARICH_HATCHALA_GOREM_KESHER AS DATE) AS TAARICH_HATCHALA_GOREM_KESHER,
       TRY_CAST(g.TAARICH_SIYUM_GOREM_KESHER AS DATE) AS TAARICH_SIYUM_GOREM_KESHER,
       g.TAARICH_SIYUM_GOREM_KESHER IS NULL AS ACTIVE,
       p.KIDOMET_NAYAD, p.MISPAR_NAYAD, p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT, p.EMAIL_RASHI,
       p.SEMEL_YISHUV, r.SHEM_YISHUV, p.SEMEL_RECHOV, p.SHEM_RECHOV, p.MISPAR_BAYIT, p.KNISA, p.MISPAR_DIRA,
       p.MIKUD, p.TEVAT_DOAR
FROM gormey_kesher g
SEMI JOIN k ON k.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND k.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
LEFT JOIN pirtey_kesher p ON p.SUG_ZEHUT = g.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = g.MISPAR_ZEHUT_GOREM_KESHER
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = p.SEMEL_YISHUV
ORDER BY ACTIVE DESC, CODE_SUG_KIRVA_GOREM_KESHER NULLS LAST, g._line

-- name: unplaced_residents
-- scope: authority
-- doc: A's residents of compulsory age with no active placement, ready to act on: their address
--      (most recently updated TALMIDIM row), and one active contact (the one agreeing to receive
--      information and with a mobile number first), optionally in one locality; paged.
WITH u AS (
    SELECT s.SUG_ZEHUT, s.MISPAR_ZEHUT, s.SHEM_PRATI, s.SHEM_MISHPACHA, s.TAARICH_LEDA, s.SHNAT_LIMUDIM,
           s.LAST_STATUS, s.RES_YISHUV
    FROM census c
    JOIN students s ON s.SUG_ZEHUT = c.SUG_ZEHUT AND s.MISPAR_ZEHUT = c.MISPAR_ZEHUT
    WHERE c.SEMEL_RASHUT = $authority AND c.IS_RESIDENT AND NOT s.PLACED
      AND ($res_yishuv IS NULL OR s.RES_YISHUV = $res_yishuv)
),
latest AS (
    SELECT t.SUG_ZEHUT, t.MISPAR_ZEHUT, t.SEMEL_RECHOV_TAL, t.MISPAR_BAYIT_TAL, t.MISPAR_DIRA_TAL, t.MIKUD_7_TAL
    FROM talmidim t SEMI JOIN u ON u.SUG_ZEHUT = t.SUG_ZEHUT AND u.MISPAR_ZEHUT = t.MISPAR_ZEHUT
    QUALIFY row_number() OVER (PARTITION BY t.SUG_ZEHUT, t.MISPAR_ZEHUT
                               ORDER BY TRY_CAST(t.TAARICH_IDKUN_RESHUMA AS DATE) DESC NULLS LAST,
                                        (t.CODE_STATUS_RISHUM_TA = '3' AND t.TAARICH_AZIVA IS NULL) DESC,
                                        t._line DESC) = 1
),
contact AS (
    SELECT g.SUG_ZEHUT_TALMID, g.MISPAR_ZEHUT_TALMID, g.SHEM_PRATI_GOREM_KESHER, g.SHEM_MISHPACHA_GOREM_KESHER,
           TRY_CAST(g.CODE_SUG_KIRVA_GOREM_KESHER AS INTEGER) AS CODE_SUG_KIRVA_GOREM_KESHER,
           p.KIDOMET_NAYAD, p.MISPAR_NAYAD, p.KIDOMET_TEL_BAIT, p.MISPAR_TEL_BAIT, p.EMAIL_RASHI,
           count(*) OVER (PARTITION BY g.SUG_ZEHUT_TALMID, g.MISPAR_ZEHUT_TALMID) AS CONTACTS
    FROM gormey_kesher g
    SEMI JOIN u ON u.SUG_ZEHUT = g.SUG_ZEHUT_TALMID AND u.MISPAR_ZEHUT = g.MISPAR_ZEHUT_TALMID
    LEFT JOIN pirtey_kesher p ON p.SUG_ZEHUT = g.SUG_ZEHUT_GOREM_KESHER AND p.MISPAR_ZEHUT = g.MISPAR_ZEHUT_GOREM_KESHER
    WHERE g.TAARICH_SIYUM_GOREM_KESHER IS NULL
    QUALIFY row_number() OVER (PARTITION BY g.SUG_ZEHUT_TALMID, g.MISPAR_ZEHUT_TALMID
                               ORDER BY (g.LEKABEL_MEIDA = '1') DESC NULLS LAST,
                                        (p.MISPAR_NAYAD IS NOT NULL) DESC, g._line) = 1
)
SELECT md5($salt || u.SUG_ZEHUT || ':' || u.MISPAR_ZEHUT) AS STUDENT_REF,
       u.SUG_ZEHUT, u.MISPAR_ZEHUT, u.SHEM_PRATI, u.SHEM_MISHPACHA, u.TAARICH_LEDA,
       u.SHNAT_LIMUDIM - 1 - year(u.TAARICH_LEDA) AS AGE, u.LAST_STATUS,
       u.RES_YISHUV, r.SHEM_YISHUV, l.SEMEL_RECHOV_TAL, l.MISPAR_BAYIT_TAL, l.MISPAR_DIRA_TAL, l.MIKUD_7_TAL,
       coalesce(ct.CONTACTS, 0) AS CONTACTS, ct.SHEM_PRATI_GOREM_KESHER, ct.SHEM_MISHPACHA_GOREM_KESHER,
       ct.CODE_SUG_KIRVA_GOREM_KESHER, ct.KIDOMET_NAYAD, ct.MISPAR_NAYAD, ct.KIDOMET_TEL_BAIT, ct.MISPAR_TEL_BAIT,
       ct.EMAIL_RASHI,
       count(*) OVER () AS TOTAL_ROWS
FROM u
LEFT JOIN latest l   ON l.SUG_ZEHUT = u.SUG_ZEHUT AND l.MISPAR_ZEHUT = u.MISPAR_ZEHUT
LEFT JOIN contact ct ON ct.SUG_ZEHUT_TALMID = u.SUG_ZEHUT AND ct.MISPAR_ZEHUT_TALMID = u.MISPAR_ZEHUT
LEFT JOIN rashuyot r ON r.SEMEL_YISHUV = u.RES_YISHUV
ORDER BY r.SHEM_YISHUV COLLATE he NULLS LAST, u.TAARICH_LEDA, u.SUG_ZEHUT, u.MISPAR_ZEHUT
LIMIT $limit OFFSET $offset
