-- load.sql — after the COPY of the generated data set (bench/gen.py):
-- identity sequences past the loaded keys, statistics, a checkpoint, and
-- the lookup tables the pgbench scripts and wrk scripts draw from. Run as
-- the superuser on the benchmark database only (never a migration).

SELECT setval(pg_get_serial_sequence('studies', 'id'), (SELECT max(id) FROM studies));
SELECT setval(pg_get_serial_sequence('participants', 'id'), (SELECT max(id) FROM participants));
SELECT setval(pg_get_serial_sequence('consents', 'id'), (SELECT max(id) FROM consents));
SELECT setval(pg_get_serial_sequence('locations', 'id'), (SELECT max(id) FROM locations));
SELECT setval(pg_get_serial_sequence('boxes', 'id'), (SELECT max(id) FROM boxes));
SELECT setval('specimen_serial', (SELECT max(serial) FROM specimens));

-- Every specimen by a dense number: pgbench draws a number, not a string.
CREATE TABLE bench_ids (n integer PRIMARY KEY, id text NOT NULL);
COMMENT ON TABLE bench_ids IS 'Benchmark only: every specimen ID by a dense number, for pgbench''s random picks.';
COMMENT ON COLUMN bench_ids.n IS 'Dense number from 1.';
COMMENT ON COLUMN bench_ids.id IS 'Specimen ID.';
INSERT INTO bench_ids SELECT row_number() OVER (ORDER BY serial), id FROM specimens;

-- The move scenario: client c owns the 81 tubes of box BX0000(c+1) and the
-- empty twin box BM-B-c.
CREATE TABLE bench_moves (
	client integer NOT NULL,
	slot integer NOT NULL,
	id text NOT NULL,
	box_a text NOT NULL,
	box_b text NOT NULL,
	pos text NOT NULL,
	PRIMARY KEY (client, slot)
);
COMMENT ON TABLE bench_moves IS 'Benchmark only: the tubes each client of the move scenario cycles between two boxes.';
COMMENT ON COLUMN bench_moves.client IS 'pgbench client_id (wrk: client modulo threads picks the thread).';
COMMENT ON COLUMN bench_moves.slot IS 'Position index in the box, 0 to 80.';
COMMENT ON COLUMN bench_moves.id IS 'Specimen ID.';
COMMENT ON COLUMN bench_moves.box_a IS 'Its loaded box.';
COMMENT ON COLUMN bench_moves.box_b IS 'The empty twin box.';
COMMENT ON COLUMN bench_moves.pos IS 'Its position, the same in both boxes.';
INSERT INTO bench_moves
SELECT s.box_id - 1, (s.pos_row - 1) * 9 + s.pos_col - 1, s.id, b.barcode,
       format('BM-B-%s', lpad((s.box_id - 1)::text, 2, '0')), bb_position_name(s.pos_row, s.pos_col)
  FROM specimens s JOIN boxes b ON b.id = s.box_id
 WHERE s.box_id BETWEEN 1 AND 16;

-- The rack scenarios: the 96 tubes after the move boxes, row-major into an
-- 8x12 rack; k = 0 places them into RP-1, k = 1 into RP-2.
CREATE TABLE bench_rack (k integer PRIMARY KEY, box text NOT NULL, positions text[] NOT NULL,
	refs text[] NOT NULL);
COMMENT ON TABLE bench_rack IS 'Benchmark only: the 96-tube rack placements, one per target rack.';
COMMENT ON COLUMN bench_rack.k IS '0 for RP-1, 1 for RP-2.';
COMMENT ON COLUMN bench_rack.box IS 'Target rack barcode.';
COMMENT ON COLUMN bench_rack.positions IS 'A1 ... H12.';
COMMENT ON COLUMN bench_rack.refs IS 'The specimen for each position.';
WITH tubes AS (
	SELECT s.id, row_number() OVER (ORDER BY s.box_id, s.pos_row, s.pos_col) - 1 AS i
	  FROM specimens s
	 WHERE s.box_id = 17 OR (s.box_id = 18 AND (s.pos_row - 1) * 9 + s.pos_col <= 15)
)
INSERT INTO bench_rack
SELECT k, 'RP-' || (k + 1), array_agg(bb_position_name((i / 12 + 1)::int, (i % 12 + 1)::int) ORDER BY i),
       array_agg(id ORDER BY i)
  FROM tubes, (VALUES (0), (1)) v (k)
 GROUP BY k;

GRANT SELECT ON bench_ids, bench_moves, bench_rack TO biobank;

-- The tubes held per participant, timepoint and type, which the statement
-- triggers skipped by COPY would have counted (the completeness report reads them).
SELECT bb_held_counts_rebuild();

-- A steady state: statistics, visibility map and hint bits set, dirty pages written.
VACUUM (ANALYZE);
CHECKPOINT;

-- What a lookup, a move and a report read, into shared_buffers (bench/prewarm.sql).
\ir prewarm.sql
