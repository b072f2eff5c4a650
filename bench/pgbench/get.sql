-- GET /api/v1/specimens/{id}: the daemon's statement db_specimen_get
-- (server/db_specimens.c) for a user who sees every study. The ID comes
-- from bench_ids by a random dense number (pgbench variables are numbers).
\set n random(1, :nspec)
SELECT bb_specimen_get((SELECT id FROM bench_ids WHERE n = :n), NULL::bigint[])::text;
