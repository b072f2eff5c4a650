-- prewarm.sql — after bench/load.sql, and when scripts/bench --reuse starts the
-- kept cluster again: the benchmark database's working set into shared_buffers.
-- A server that has been running holds its working set in shared_buffers;
-- COPY and VACUUM pass through small rings of buffers and leave it out, so
-- the first scenario would measure reads from disk (or from a page cache the
-- kernel may have dropped meanwhile). Up to 10^6 specimens the whole database
-- fits: read it in. At 10^7 (about 40 GB against 6 GB) what a lookup, a move
-- and a report read comes first, as far as four fifths of shared_buffers go:
-- the small tables, the specimens and their indexes, then the events' indexes,
-- the events, the log.
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
WITH rel AS (
	SELECT c.oid, pg_relation_size(c.oid) AS bytes,
	       CASE WHEN t.relname = 'events' AND c.relkind = 'i' THEN 2
	            WHEN t.relname = 'events' THEN 3
	            WHEN t.relname LIKE 'log\_%' THEN 4
	            WHEN t.relname = 'specimens' AND c.relkind = 'i' AND c.relname <> 'specimens_pkey' THEN 1
	            ELSE 0 END AS rank
	  FROM pg_class c
	  JOIN pg_namespace n ON n.oid = c.relnamespace
	  LEFT JOIN pg_index i ON i.indexrelid = c.oid
	  JOIN pg_class t ON t.oid = COALESCE(i.indrelid, c.oid)
	 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
), upto AS (
	SELECT oid, sum(bytes) OVER (ORDER BY rank, bytes, oid) AS bytes FROM rel
)
SELECT count(pg_prewarm(oid)) AS relations_prewarmed
  FROM upto
 WHERE bytes <= 0.8 * pg_size_bytes(current_setting('shared_buffers'));
