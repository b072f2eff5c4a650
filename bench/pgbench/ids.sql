-- The cost of the ID pick that get.sql adds to the daemon's statement.
\set n random(1, :nspec)
SELECT id FROM bench_ids WHERE n = :n;
