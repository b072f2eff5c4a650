-- functions/ledger.sql — The transparency log over the custody ledger: what
-- the sequencer appends (docs/ledger.md, "The transparency log").
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.
-- (The log's queueing trigger and its append-only guards decide what the
-- log holds: they live in migrations/0021_tlog.sql, like the chain.)

/*
 * One batch of the sequencer (server/db/tlog.c): the events at indexes
 * first, first + 1, ... (specimens[i], seqs[i]), the complete subtrees they
 * complete (node_levels[i], node_idx[i], node_hashes[i] in hex), the queue
 * entries taken care of (done), and whether the events stored before the
 * log are all in it now. The daemon computes the hashes (lib/merkle.c); this
 * only refuses a batch that does not start where the log ends, so that two
 * sequencers, should the advisory lock ever fail, can never interleave.
 * Returns the log's new size.
 */
CREATE OR REPLACE FUNCTION bb_log_append(first bigint, specimens text[], seqs integer[],
	done bigint[], node_levels smallint[], node_idx bigint[], node_hashes text[],
	backfill_done boolean)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n bigint;
	added integer := COALESCE(array_length(specimens, 1), 0);
BEGIN
	SELECT s.size INTO n FROM log_state s FOR UPDATE;
	IF n IS DISTINCT FROM first THEN
		RAISE EXCEPTION 'the log holds % entries, not %', n, first USING ERRCODE = 'BB409';
	END IF;
	INSERT INTO log_entries (idx, specimen_id, seq)
	SELECT first + u.o - 1, u.s, u.q FROM unnest(specimens, seqs) WITH ORDINALITY AS u (s, q, o);
	INSERT INTO log_nodes (level, idx, hash)
	SELECT u.l, u.i, decode(u.h, 'hex') FROM unnest(node_levels, node_idx, node_hashes) AS u (l, i, h);
	DELETE FROM log_pending WHERE id = ANY (done);
	UPDATE log_state SET size = first + added, backfilled = backfilled OR backfill_done,
		sequenced_at = CASE WHEN added > 0 THEN now() ELSE sequenced_at END;
	RETURN first + added;
END $$;
COMMENT ON FUNCTION bb_log_append(bigint, text[], integer[], bigint[], smallint[], bigint[], text[], boolean)
	IS 'Appends one batch of the sequencer to the transparency log; refuses one that does not start at the log''s end.';

/*
 * Keep a checkpoint the daemon signed (server/db/checkpoint.c), which
 * checked it against the previous one first. Checkpoints are kept in the
 * order of their sizes: one not larger than a checkpoint already kept (made
 * at the same moment by another daemon or `biobankd checkpoint`) is not
 * kept, and NULL is returned; else its id.
 */
CREATE OR REPLACE FUNCTION bb_log_checkpoint_add(cp_size bigint, cp_root text, cp_note text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	made bigint;
BEGIN
	-- One maker at a time, so that the check and the insert hold together.
	PERFORM 1 FROM log_state FOR UPDATE;
	IF cp_size > (SELECT size FROM log_state) THEN
		RAISE EXCEPTION 'checkpoint of % entries, the log holds fewer', cp_size USING ERRCODE = 'BB409';
	END IF;
	IF EXISTS (SELECT 1 FROM log_checkpoints WHERE size >= cp_size) THEN
		RETURN NULL;
	END IF;
	INSERT INTO log_checkpoints (size, root, note) VALUES (cp_size, decode(cp_root, 'hex'), cp_note)
	RETURNING id INTO made;
	RETURN made;
END $$;
COMMENT ON FUNCTION bb_log_checkpoint_add(bigint, text, text)
	IS 'Keeps a signed checkpoint of the transparency log; NULL when one as large is kept already.';
