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

-- The specimen a reference names among those the caller may see, or NULL.
-- PL/pgSQL, not SQL: called from the proofs' PL/pgSQL, a SQL function with a
-- FROM is not inlined and was parsed and planned again in every request's
-- transaction (an inclusion proof's statement at 10^7 entries, one client:
-- 0.33-0.35 ms against 0.66-0.85 ms).
CREATE OR REPLACE FUNCTION bb_log_specimen(ref text, studies bigint[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT s.id FROM specimens s
	 WHERE s.id = (SELECT x.id FROM specimens x WHERE x.id = ref
		       UNION ALL SELECT x.id FROM specimens x WHERE x.tube_barcode = ref LIMIT 1)
	   AND (studies IS NULL OR s.study_id = ANY (studies)));
END $$;
COMMENT ON FUNCTION bb_log_specimen(text, bigint[]) IS 'The specimen ID a reference (ID or tube barcode) names, if the caller''s studies include it.';

/*
 * The stored subtrees a proof about leaf may need in the tree of size leaves,
 * whatever its shape, so that a proof is read with its target in one query:
 * the siblings of the leaf's ancestors (and, with ancestors, the ancestors
 * themselves) that are complete in the tree, and the tree's right edge
 * (which its root and any range ending there are made of). The daemon picks
 * the ones RFC 9162's proof names (lib/merkle.c); about 60 rows at 10^7.
 */
CREATE OR REPLACE FUNCTION bb_log_proof_nodes(leaf bigint, size bigint, ancestors boolean)
RETURNS TABLE (level integer, idx bigint, hash text) LANGUAGE sql STABLE AS $$
	SELECT n.level::integer, n.idx, encode(n.hash, 'hex')
	  FROM (SELECT l, (leaf >> l) # 1 AS i FROM generate_series(0, 62) l
		 WHERE ((leaf >> l) # 1) < (size >> l)
		UNION SELECT l, leaf >> l FROM generate_series(0, 62) l
		 WHERE (ancestors OR l = 0) AND (leaf >> l) < (size >> l)
		UNION SELECT l, (size >> l) - 1 FROM generate_series(0, 62) l
		 WHERE (size >> l) & 1 = 1) k
	  JOIN log_nodes n ON n.level = k.l AND n.idx = k.i;
$$;
COMMENT ON FUNCTION bb_log_proof_nodes(bigint, bigint, boolean)
	IS 'The stored subtrees an inclusion (ancestors false) or consistency proof about a leaf may read: sibling and ancestor subtrees complete in the tree, and its right edge.';

/*
 * What an inclusion proof is asked of (GET /api/v1/ledger/proof/inclusion):
 * the event's index in the log and the tree size to prove it in — the one
 * asked, else the latest checkpoint's that covers it, else the log's — with
 * the checkpoint signed at that size, if any. The daemon computes the proof
 * from the stored subtrees (server/api/ledger.c).
 */
CREATE OR REPLACE FUNCTION bb_log_inclusion_target(ref text, event_seq integer, tree_size bigint,
	studies bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	sid text := bb_log_specimen(ref, studies);
	at_index bigint;
	log_size bigint := (SELECT s.size FROM log_state s);
	chosen bigint;
BEGIN
	IF sid IS NULL THEN
		PERFORM bb_fail_no_specimen(ref);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM events e WHERE e.specimen_id = sid AND e.seq = event_seq) THEN
		PERFORM bb_fail('BB404', 'event-not-found', 'seq',
			format('specimen %s has no event %s', sid, event_seq),
			jsonb_build_object('specimen', sid, 'seq', event_seq));
	END IF;
	SELECT l.idx INTO at_index FROM log_entries l WHERE l.specimen_id = sid AND l.seq = event_seq;
	IF at_index IS NULL THEN
		PERFORM bb_fail('BB409', 'event-not-sequenced', NULL,
			format('event %s of specimen %s is not in the log yet: ask again in a second', event_seq, sid),
			jsonb_build_object('specimen', sid, 'seq', event_seq));
	END IF;
	chosen := COALESCE(tree_size,
		(SELECT c.size FROM log_checkpoints c WHERE c.size > at_index ORDER BY c.id DESC LIMIT 1),
		log_size);
	IF chosen <= at_index OR chosen > log_size THEN
		PERFORM bb_fail('BB400', 'tree-size-out-of-range', 'size',
			format('the event is at index %s: size must be from %s to %s, the log''s size',
				at_index, at_index + 1, log_size),
			jsonb_build_object('index', at_index, 'log_size', log_size));
	END IF;
	RETURN jsonb_build_object('specimen', sid, 'seq', event_seq, 'index', at_index, 'size', chosen,
		'checkpoint', (SELECT c.note FROM log_checkpoints c WHERE c.size = chosen
			ORDER BY c.id DESC LIMIT 1));
END $$;
COMMENT ON FUNCTION bb_log_inclusion_target(text, integer, bigint, bigint[])
	IS 'An event''s index in the transparency log and the tree size to prove its inclusion in, with the checkpoint of that size.';

/*
 * What a consistency proof is asked of (GET /api/v1/ledger/proof/consistency):
 * from, and to — the one asked, else the latest checkpoint's size, else the
 * log's — with the checkpoints signed at those sizes, if any.
 */
CREATE OR REPLACE FUNCTION bb_log_consistency_target(from_size bigint, to_size bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	log_size bigint := (SELECT s.size FROM log_state s);
	chosen bigint;
BEGIN
	chosen := COALESCE(to_size, (SELECT c.size FROM log_checkpoints c ORDER BY c.id DESC LIMIT 1),
		log_size);
	IF chosen < 1 OR chosen > log_size THEN
		PERFORM bb_fail('BB400', 'tree-size-out-of-range', 'to',
			format('to must be from 1 to %s, the log''s size', log_size),
			jsonb_build_object('log_size', log_size));
	END IF;
	IF from_size < 1 OR from_size > chosen THEN
		PERFORM bb_fail('BB400', 'tree-size-out-of-range', 'from',
			format('from must be from 1 to %s', chosen),
			jsonb_build_object('log_size', log_size));
	END IF;
	RETURN jsonb_build_object('from', from_size, 'to', chosen,
		'from_checkpoint', (SELECT c.note FROM log_checkpoints c WHERE c.size = from_size
			ORDER BY c.id DESC LIMIT 1),
		'to_checkpoint', (SELECT c.note FROM log_checkpoints c WHERE c.size = chosen
			ORDER BY c.id DESC LIMIT 1));
END $$;
COMMENT ON FUNCTION bb_log_consistency_target(bigint, bigint)
	IS 'The tree sizes of a consistency proof of the transparency log, with their checkpoints.';

/*
 * A specimen's whole history for its bundle (GET /api/v1/specimens/{id}/
 * history-bundle): each event with every field as hashed (the time in
 * microseconds and details as PostgreSQL prints jsonb, both as text) and its
 * index in the log (null while it waits to be sequenced).
 */
CREATE OR REPLACE FUNCTION bb_specimen_history(ref text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	sid text := bb_log_specimen(ref, studies);
BEGIN
	IF sid IS NULL THEN
		PERFORM bb_fail_no_specimen(ref);
	END IF;
	RETURN jsonb_build_object('specimen', sid, 'events', COALESCE((
		SELECT jsonb_agg(jsonb_build_object(
			'seq', e.seq, 'format', e.format, 'type', e.type, 'at', bb_rfc3339(e.at),
			'at_us', ((extract(epoch FROM e.at) * 1000000)::bigint)::text,
			'actor', e.actor, 'from_box', e.from_box, 'from_pos', e.from_pos,
			'to_box', e.to_box, 'to_pos', e.to_pos, 'reason', e.reason,
			'details', e.details::text, 'prev_hash', encode(e.prev_hash, 'hex'),
			'hash', encode(e.hash, 'hex'), 'index', l.idx) ORDER BY e.seq)
		  FROM events e
		  LEFT JOIN log_entries l ON l.specimen_id = e.specimen_id AND l.seq = e.seq
		 WHERE e.specimen_id = sid), '[]'));
END $$;
COMMENT ON FUNCTION bb_specimen_history(text, bigint[])
	IS 'A specimen''s events with every field as hashed and their indexes in the transparency log.';

/*
 * The last checkpoint of a witnessed log (POST /api/v1/witness/checkpoints),
 * {"size", "root"} (size 0 when none yet), provided the log knows it: a
 * request built on another size is refused with the size the witness knows,
 * so that the log can send the proof from there.
 */
CREATE OR REPLACE FUNCTION bb_witness_known(log_origin text, old_size bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	w witness_logs;
BEGIN
	SELECT * INTO w FROM witness_logs WHERE origin = log_origin;
	IF COALESCE(w.size, 0) <> old_size THEN
		PERFORM bb_fail('BB409', 'witness-size-mismatch', 'old_size',
			format('this witness last cosigned %s at size %s, not %s', log_origin,
				COALESCE(w.size, 0), old_size),
			jsonb_build_object('known_size', COALESCE(w.size, 0)));
	END IF;
	RETURN jsonb_build_object('size', COALESCE(w.size, 0), 'root', encode(w.root, 'hex'));
END $$;
COMMENT ON FUNCTION bb_witness_known(text, bigint)
	IS 'The last checkpoint a witness cosigned of a log; refuses when the caller builds on another size.';

/*
 * Move a witnessed log on to a checkpoint the daemon checked (signature,
 * consistency with old_size): only if it still stands at old_size, so that
 * two requests at once cannot both be cosigned on the same old tree.
 */
CREATE OR REPLACE FUNCTION bb_witness_advance(log_origin text, old_size bigint, new_size bigint,
	new_root text, new_note text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	moved integer;
BEGIN
	IF old_size = 0 THEN
		INSERT INTO witness_logs (origin, size, root, note)
		VALUES (log_origin, new_size, decode(new_root, 'hex'), new_note)
		ON CONFLICT (origin) DO NOTHING;
	ELSE
		UPDATE witness_logs SET size = new_size, root = decode(new_root, 'hex'), note = new_note,
			cosigned_at = now()
		 WHERE origin = log_origin AND size = old_size;
	END IF;
	GET DIAGNOSTICS moved = ROW_COUNT;
	IF moved = 0 THEN
		PERFORM bb_fail('BB409', 'witness-size-mismatch', 'old_size',
			format('this witness no longer stands at size %s of %s', old_size, log_origin),
			jsonb_build_object('known_size',
				(SELECT COALESCE(max(size), 0) FROM witness_logs WHERE origin = log_origin)));
	END IF;
END $$;
COMMENT ON FUNCTION bb_witness_advance(text, bigint, bigint, text, text)
	IS 'Records a checkpoint a witness cosigns, if the log still stands where the request said.';

/*
 * What the courier sends a witness next (server/cmd/courier.c): the newest
 * checkpoint, when it is larger than the last one that witness cosigned,
 * with that size (0: none yet). No row when the witness is up to date.
 */
CREATE OR REPLACE FUNCTION bb_log_witness_due(witness_name text)
RETURNS TABLE (checkpoint_id bigint, size bigint, note text, cosigned_size bigint)
LANGUAGE sql STABLE AS $$
	WITH newest AS (SELECT c.id, c.size, c.note FROM log_checkpoints c ORDER BY c.id DESC LIMIT 1),
	     cosigned AS (SELECT COALESCE(max(c.size), 0) AS size FROM log_cosignatures x
			  JOIN log_checkpoints c ON c.id = x.checkpoint_id WHERE x.witness = witness_name)
	SELECT n.id, n.size, n.note, k.size FROM newest n, cosigned k WHERE n.size > k.size;
$$;
COMMENT ON FUNCTION bb_log_witness_due(text)
	IS 'The newest checkpoint, if the witness has not cosigned one as large, and the size it last cosigned.';

/*
 * Keep a witness's cosignature of a checkpoint (checked with its key by the
 * daemon before) and note the attempt as a success.
 */
CREATE OR REPLACE FUNCTION bb_log_cosign(cp_id bigint, witness_name text, witness_url text,
	signature_line text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	INSERT INTO log_cosignatures (checkpoint_id, witness, signature)
	VALUES (cp_id, witness_name, signature_line)
	ON CONFLICT (checkpoint_id, witness) DO NOTHING;
	PERFORM bb_log_witness_tried(witness_name, witness_url, NULL, NULL);
END $$;
COMMENT ON FUNCTION bb_log_cosign(bigint, text, text, text)
	IS 'Keeps a witness''s cosignature of a checkpoint, checked with its key before.';

-- What the last attempt to reach a witness came to: NULL code for success.
CREATE OR REPLACE FUNCTION bb_log_witness_tried(witness_name text, witness_url text,
	problem_code text, problem_detail text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	INSERT INTO log_witness_state AS s (witness, url, tried_at, ok, code, detail, failures)
	VALUES (witness_name, witness_url, now(), problem_code IS NULL, problem_code,
		left(problem_detail, 2000), (problem_code IS NOT NULL)::int)
	ON CONFLICT (witness) DO UPDATE SET url = EXCLUDED.url, tried_at = EXCLUDED.tried_at,
		ok = EXCLUDED.ok, code = EXCLUDED.code, detail = EXCLUDED.detail,
		failures = CASE WHEN EXCLUDED.ok THEN 0 ELSE s.failures + 1 END;
$$;
COMMENT ON FUNCTION bb_log_witness_tried(text, text, text, text)
	IS 'Records the last attempt to have a witness cosign: success (NULL code) or why not.';

/*
 * The checkpoint with the witnesses' signature lines appended: a signed
 * note any of their keys opens (C2SP signed-note allows several signatures).
 */
CREATE OR REPLACE FUNCTION bb_log_cosigned_note(cp_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT c.note || COALESCE((SELECT string_agg(x.signature, '' ORDER BY x.witness)
				     FROM log_cosignatures x WHERE x.checkpoint_id = c.id), '')
	  FROM log_checkpoints c WHERE c.id = cp_id;
$$;
COMMENT ON FUNCTION bb_log_cosigned_note(bigint)
	IS 'A checkpoint''s note followed by its witnesses'' signature lines.';

-- GET /api/v1/ledger/witnesses: each witness this log sends to, as last tried.
CREATE OR REPLACE FUNCTION bb_log_witnesses() RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('items', COALESCE(jsonb_agg(jsonb_build_object(
		'witness', w.witness, 'url', w.url, 'tried_at', bb_rfc3339(w.tried_at),
		'ok', w.ok, 'code', w.code, 'detail', w.detail, 'failures', w.failures,
		'cosigned_size', k.size, 'cosigned_at', bb_rfc3339(k.at)) ORDER BY w.witness), '[]'))
	  FROM log_witness_state w
	  LEFT JOIN LATERAL (SELECT c.size, x.cosigned_at AS at FROM log_cosignatures x
			     JOIN log_checkpoints c ON c.id = x.checkpoint_id
			     WHERE x.witness = w.witness ORDER BY c.size DESC LIMIT 1) k ON true;
$$;
COMMENT ON FUNCTION bb_log_witnesses() IS 'The witnesses this log sends its checkpoints to, as last tried.';
