-- POST /api/v1/specimens/{id}/move: the daemon's statement db_specimen_act
-- (one autocommit statement). Client c cycles the 81 tubes of bench_moves
-- client c between their box and its empty twin, so no move collides.
-- Start with -D k=0 -D uid=N; variables live as long as the client.
\set slot :k % 81
\set dir (:k / 81) % 2
\set k :k + 1
SELECT bb_specimen_act('move', m.id, NULL::bigint[], 'bench', :uid, CASE WHEN :dir = 0 THEN m.box_b ELSE m.box_a END, m.pos, NULL, NULL, NULL, NULL::boolean)::text FROM bench_moves m WHERE m.client = :client_id AND m.slot = :slot;
