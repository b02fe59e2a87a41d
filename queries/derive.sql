-- Tables derived once per snapshot at ingest (scope: snapshot), in data/snapshots.py's order. They
-- encode the spec's scope rule, so that every page, option list, download and vendor transfer reads
-- the same census. STUDENTS is a working table of the ingest (kept in memory, not published);
-- CENSUS and AUTHORITY_COUNTS are published beside the feed tables.

-- name: derive_students
-- scope: snapshot
-- doc: One row per student (SUG_ZEHUT, MISPAR_ZEHUT). Residence = SEMEL_YISHUV_TAL of the most
--      recently updated row (ties: the active row, then the later line), with that row's address.
--      Compulsory age = born in a calendar year from Y-22 to Y-7, Y being SHNAT_LIMUDIM of that row.
--      The active placement: of the rows with status 3 and no leaving date, the latest start (ties:
--      the later line), as the ingest's duplicate check (E402) keeps it. ACTIVE_CONTACTS: the
--      student's GORMEY_KESHER links with no TAARICH_SIYUM_GOREM_KESHER.
--      Each student's two rows are picked by line number in one narrow grouping, then fetched by
--      line (a window over whole rows sorted every row of TALMIDIM, three times slower).
WITH pick AS (
    SELECT SUG_ZEHUT, MISPAR_ZEHUT,
           arg_max(_line, struct_pack(
               d := coalesce(TRY_CAST(TAARICH_IDKUN_RESHUMA AS DATE), DATE '0001-01-01'),
               a := (CODE_STATUS_RISHUM_TA = '3' AND TAARICH_AZIVA IS NULL),
               l := _line))                                                AS latest_line,
           arg_max(_line, struct_pack(
               d := coalesce(TRY_CAST(TAARICH_HATCHALA AS DATE), DATE '0001-01-01'),
               l := _line)) FILTER (CODE_STATUS_RISHUM_TA = '3' AND TAARICH_AZIVA IS NULL) AS active_line,
           count(*) FILTER (CODE_STATUS_RISHUM_TA = '3' AND TAARICH_AZIVA IS NULL)  AS active_count
    FROM talmidim
    GROUP BY SUG_ZEHUT, MISPAR_ZEHUT
),
links AS (
    SELECT SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID, count(*) AS ACTIVE_CONTACTS
    FROM gormey_kesher WHERE TAARICH_SIYUM_GOREM_KESHER IS NULL
    GROUP BY SUG_ZEHUT_TALMID, MISPAR_ZEHUT_TALMID
)
SELECT
    l.SUG_ZEHUT, l.MISPAR_ZEHUT, l.SHEM_PRATI, l.SHEM_MISHPACHA, l.CODE_MIN,
    TRY_CAST(l.TAARICH_LEDA AS DATE)                          AS TAARICH_LEDA,
    TRY_CAST(l.SHNAT_LIMUDIM AS INTEGER)                      AS SHNAT_LIMUDIM,
    coalesce(year(TRY_CAST(l.TAARICH_LEDA AS DATE))
             BETWEEN TRY_CAST(l.SHNAT_LIMUDIM AS INTEGER) - 22
                 AND TRY_CAST(l.SHNAT_LIMUDIM AS INTEGER) - 7, false) AS COMPULSORY,
    TRY_CAST(l.CODE_STATUS_RISHUM_TA AS INTEGER)              AS LAST_STATUS,
    l.SEMEL_YISHUV_TAL                                        AS RES_YISHUV,
    res.SEMEL_RASHUT                                          AS RES_RASHUT,
    l.SEMEL_RECHOV_TAL, l.MISPAR_BAYIT_TAL, l.MISPAR_DIRA_TAL, l.MIKUD_7_TAL,
    TRY_CAST(l.TAARICH_IDKUN_RESHUMA AS DATE)                 AS TAARICH_IDKUN_RESHUMA,
    a._line IS NOT NULL                                       AS PLACED,
    p.active_count                                            AS ACTIVE_PLACEMENTS,
    a.SEMEL_MOSAD,
    TRY_CAST(a.SHICHVA AS INTEGER)                            AS SHICHVA,
    TRY_CAST(a.MAKBILA AS INTEGER)                            AS MAKBILA,
    a.SEMEL_MEGAMA_MOSAD,
    m.SEMEL_YISHUV                                            AS PLACE_YISHUV,
    plc.SEMEL_RASHUT                                          AS PLACE_RASHUT,
    coalesce(k.ACTIVE_CONTACTS, 0)                            AS ACTIVE_CONTACTS
FROM pick p
JOIN talmidim l ON l._line = p.latest_line
LEFT JOIN (SELECT _line, SEMEL_MOSAD, SHICHVA, MAKBILA, SEMEL_MEGAMA_MOSAD FROM talmidim) a
       ON a._line = p.active_line
LEFT JOIN links k    ON k.SUG_ZEHUT_TALMID = p.SUG_ZEHUT AND k.MISPAR_ZEHUT_TALMID = p.MISPAR_ZEHUT
LEFT JOIN rashuyot res ON res.SEMEL_YISHUV = l.SEMEL_YISHUV_TAL
LEFT JOIN mosdot m   ON m.SEMEL_MOSAD = a.SEMEL_MOSAD
LEFT JOIN rashuyot plc ON plc.SEMEL_YISHUV = m.SEMEL_YISHUV

-- name: derive_census
-- scope: snapshot
-- doc: The scope rule. Authority A's students: students of compulsory age who live in one of A's
--      localities, or who have an active placement in one of A's institutions. One row per
--      (authority, student), with why they belong and the student's derived columns repeated, sorted
--      by authority: a page reads one authority's contiguous rows and needs no join with students.
--      A student belongs to at most two authorities (where they live, where they study), so the two
--      branches below meet only when both are the same authority, which the first branch covers.
SELECT s.RES_RASHUT AS SEMEL_RASHUT, s.SUG_ZEHUT, s.MISPAR_ZEHUT,
       true AS IS_RESIDENT, coalesce(s.PLACE_RASHUT = s.RES_RASHUT, false) AS IS_PLACED,
       s.* EXCLUDE (SUG_ZEHUT, MISPAR_ZEHUT)
FROM students s
WHERE s.COMPULSORY AND s.RES_RASHUT IS NOT NULL
UNION ALL
SELECT s.PLACE_RASHUT, s.SUG_ZEHUT, s.MISPAR_ZEHUT,
       false, true,
       s.* EXCLUDE (SUG_ZEHUT, MISPAR_ZEHUT)
FROM students s
WHERE s.COMPULSORY AND s.PLACE_RASHUT IS NOT NULL AND s.PLACE_RASHUT IS DISTINCT FROM s.RES_RASHUT
-- by authority only: a page reads its authority's rows into memory, in no particular order
ORDER BY SEMEL_RASHUT

-- name: derive_authority_counts
-- scope: snapshot
-- doc: One row per authority of RASHUYOT: the students in its census, residents, incoming students
--      (placed here, living elsewhere), residents studying elsewhere, unplaced residents, and its
--      institutions and classes. The national page reads these rows instead of grouping 2.5 million
--      census rows and every class on each visit.
WITH cen AS (
    SELECT c.SEMEL_RASHUT,
           count(*)                                                         AS STUDENTS,
           count(*) FILTER (c.IS_RESIDENT)                                  AS RESIDENTS,
           count(*) FILTER (c.IS_PLACED AND NOT c.IS_RESIDENT)              AS INCOMING,
           count(*) FILTER (c.IS_RESIDENT AND c.PLACED AND NOT c.IS_PLACED) AS STUDYING_ELSEWHERE,
           count(*) FILTER (c.IS_RESIDENT AND NOT c.PLACED)                 AS UNPLACED_RESIDENTS
    FROM census c
    GROUP BY c.SEMEL_RASHUT
),
inst AS (
    SELECT r.SEMEL_RASHUT, count(*) AS INSTITUTIONS
    FROM mosdot m JOIN rashuyot r ON r.SEMEL_YISHUV = m.SEMEL_YISHUV
    GROUP BY r.SEMEL_RASHUT
),
cls AS (
    SELECT r.SEMEL_RASHUT, count(*) AS CLASSES
    FROM kitot k JOIN mosdot m ON m.SEMEL_MOSAD = k.SEMEL_MOSAD JOIN rashuyot r ON r.SEMEL_YISHUV = m.SEMEL_YISHUV
    GROUP BY r.SEMEL_RASHUT
)
SELECT a.SEMEL_RASHUT,
       coalesce(c.STUDENTS, 0) AS STUDENTS, coalesce(c.RESIDENTS, 0) AS RESIDENTS,
       coalesce(c.INCOMING, 0) AS INCOMING, coalesce(c.STUDYING_ELSEWHERE, 0) AS STUDYING_ELSEWHERE,
       coalesce(c.UNPLACED_RESIDENTS, 0) AS UNPLACED_RESIDENTS,
       coalesce(i.INSTITUTIONS, 0) AS INSTITUTIONS, coalesce(k.CLASSES, 0) AS CLASSES
FROM (SELECT DISTINCT SEMEL_RASHUT FROM rashuyot WHERE SEMEL_RASHUT IS NOT NULL) a
LEFT JOIN cen c ON c.SEMEL_RASHUT = a.SEMEL_RASHUT
LEFT JOIN inst i ON i.SEMEL_RASHUT = a.SEMEL_RASHUT
LEFT JOIN cls k ON k.SEMEL_RASHUT = a.SEMEL_RASHUT
ORDER BY a.SEMEL_RASHUT
