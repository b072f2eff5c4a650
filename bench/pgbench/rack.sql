-- POST /api/v1/boxes/{barcode}/placements with 96 tubes: the daemon's
-- statement db_box_place. Each transaction moves the rack's tubes into the
-- other SBS rack (start with -D k=0 when they are not in RP-1, else 1).
\set r :k % 2
\set k :k + 1
SELECT bb_box_place(r.box, r.positions, r.refs, NULL::bigint[], 'bench', :uid)::text FROM bench_rack r WHERE r.k = :r;
