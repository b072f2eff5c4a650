-- functions/labels.sql — Label data and the label_printed custody events.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

CREATE OR REPLACE FUNCTION bb_label_lines(participant text, type text, timepoint text, collected date)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT COALESCE(jsonb_agg(l ORDER BY n), '[]')
	  FROM unnest(ARRAY[
		NULLIF(participant, ''),
		NULLIF(concat_ws(U&' \00B7 ', NULLIF(type, ''), NULLIF(timepoint, '')), ''),
		to_char(collected, 'YYYY-MM-DD')]) WITH ORDINALITY AS u (l, n)
	 WHERE l IS NOT NULL;
$$;
COMMENT ON FUNCTION bb_label_lines(text, text, text, date)
	IS 'The human-readable lines of a tube label under its ID, as the label library makes them from its fields.';

-- One label's data, the item of GET /api/v1/labels.
CREATE OR REPLACE FUNCTION bb_label_json(s specimens) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', s.id,
		'tube_barcode', s.tube_barcode,
		'type', s.type,
		'participant', st.code || '/' || p.code,
		'timepoint', s.timepoint,
		'collected_at', bb_rfc3339(s.collected_at),
		'lines', bb_label_lines(st.code || '/' || p.code, s.type, s.timepoint,
			(s.collected_at AT TIME ZONE 'UTC')::date))
	  FROM participants p JOIN studies st ON st.id = p.study_id
	 WHERE p.id = s.participant_id;
$$;
COMMENT ON FUNCTION bb_label_json(specimens) IS 'What a specimen''s tube label says: ID, type, participant STUDY/CODE, timepoint, collection time and the printed lines.';

-- The IDs of a list that name no specimen the caller may see, once each, in the order given.
CREATE OR REPLACE FUNCTION bb_labels_missing(ids text[], studies bigint[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
	SELECT COALESCE(array_agg(u.id ORDER BY u.first), '{}')
	  FROM (SELECT id, min(n) AS first FROM unnest(ids) WITH ORDINALITY AS x (id, n)
		 GROUP BY id) u
	 WHERE NOT EXISTS (SELECT 1 FROM specimens s
			    WHERE s.id = u.id AND (studies IS NULL OR s.study_id = ANY (studies)));
$$;
COMMENT ON FUNCTION bb_labels_missing(text[], bigint[]) IS 'The IDs among ids that are unknown or outside the given studies, once each, in the order given.';

-- GET /api/v1/labels: the label data of each ID, in the order asked.
CREATE OR REPLACE FUNCTION bb_labels_get(ids text[], studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	missing text[] := bb_labels_missing(ids, studies);
BEGIN
	IF cardinality(missing) > 0 THEN
		PERFORM bb_fail('BB404', 'specimen-not-found', NULL,
			format('no specimen %s', array_to_string(missing, ', ')),
			jsonb_build_object('specimens', to_jsonb(missing)));
	END IF;
	RETURN jsonb_build_object('items', COALESCE((
		SELECT jsonb_agg(bb_label_json(s) ORDER BY u.n)
		  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
		  JOIN specimens s ON s.id = u.id), '[]'));
END $$;
COMMENT ON FUNCTION bb_labels_get(text[], bigint[]) IS 'Label data for a list of IDs in the order given; BB404 naming every ID that is unknown or out of scope.';

-- One specimen's label data by ID or tube barcode (for the previews).
CREATE OR REPLACE FUNCTION bb_label_get(ref text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb;
BEGIN
	SELECT bb_label_json(s) INTO j
	  FROM specimens s
	 WHERE s.id = (SELECT x.id FROM specimens x WHERE x.id = ref
		       UNION ALL SELECT x.id FROM specimens x WHERE x.tube_barcode = ref LIMIT 1)
	   AND (studies IS NULL OR s.study_id = ANY (studies));
	IF j IS NULL THEN
		PERFORM bb_fail('BB404', 'specimen-not-found', NULL,
			format('no specimen %s', ref),
			jsonb_build_object('specimen', ref));
	END IF;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_label_get(text, bigint[]) IS 'Label data of a specimen by ID or tube barcode within the given studies; BB404 if none.';

-- A custody event as GET /api/v1/specimens/{id}/events shows it.
CREATE OR REPLACE FUNCTION bb_label_event_json(e events) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'seq', e.seq, 'type', e.type, 'at', bb_rfc3339(e.at), 'actor', e.actor,
		'from', CASE WHEN e.from_box IS NULL THEN NULL ELSE
			jsonb_build_object('box', e.from_box, 'position', e.from_pos) END,
		'to', CASE WHEN e.to_box IS NULL THEN NULL ELSE
			jsonb_build_object('box', e.to_box, 'position', e.to_pos) END,
		'reason', e.reason, 'details', e.details,
		'prev_hash', encode(e.prev_hash, 'hex'), 'hash', encode(e.hash, 'hex'));
$$;
COMMENT ON FUNCTION bb_label_event_json(events) IS 'A custody event in the API''s shape (as in bb_specimen_events).';

-- A label may be printed for any tube that still exists: not a destroyed one.
CREATE OR REPLACE FUNCTION bb_label_check_printable(s specimens) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF s.status = 'destroyed' THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s is destroyed: no label is printed for it', s.id),
			jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'label'));
	END IF;
END $$;
COMMENT ON FUNCTION bb_label_check_printable(specimens) IS 'BB409 when no label may be printed for the specimen (it is destroyed).';

-- POST /api/v1/specimens/{id}/label-printed: a print made elsewhere (labelgen), recorded.
CREATE OR REPLACE FUNCTION bb_label_printed(ref text, printer text, copies integer, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	s specimens;
	e events;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF printer IS NULL OR length(printer) NOT BETWEEN 1 AND 200 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'printer',
			'must be 1 to 200 characters');
	END IF;
	IF copies IS NULL OR copies NOT BETWEEN 1 AND 999 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'copies',
			'must be a whole number from 1 to 999');
	END IF;
	s := bb_specimen_lock(ref, studies);
	PERFORM bb_label_check_printable(s);
	INSERT INTO events (specimen_id, type, actor, actor_id, details)
	VALUES (s.id, 'label_printed', actor, actor_id,
		jsonb_build_object('printer', printer, 'copies', copies))
	RETURNING * INTO e;
	RETURN jsonb_build_object('specimen', (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = s.id),
		'event', bb_label_event_json(e));
END $$;
COMMENT ON FUNCTION bb_label_printed(text, text, integer, bigint[], text, bigint)
	IS 'Records that a specimen''s label was printed (label_printed event with printer and copies); BB409 for a destroyed specimen.';

/*
 * POST /api/v1/print, the database half: lock every specimen (in ID order, so
 * two batches sharing tubes cannot deadlock), refuse the batch naming every
 * ID that is unknown or out of scope (BB404) or destroyed (BB409), write one
 * label_printed event each, and return the label data for the daemon to
 * render and send. The daemon sends within the same transaction and rolls
 * it back when the printer fails, so no event stands for a label not printed.
 */
CREATE OR REPLACE FUNCTION bb_labels_print(ids text[], printer text, copies integer, template text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	missing text[] := bb_labels_missing(ids, studies);
	destroyed text[];
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF cardinality(missing) > 0 THEN
		PERFORM bb_fail('BB404', 'specimen-not-found', NULL,
			format('no specimen %s', array_to_string(missing, ', ')),
			jsonb_build_object('specimens', to_jsonb(missing)));
	END IF;
	PERFORM 1 FROM specimens WHERE id = ANY (ids) ORDER BY id FOR UPDATE;
	SELECT array_agg(id ORDER BY id) INTO destroyed
	  FROM specimens WHERE id = ANY (ids) AND status = 'destroyed';
	IF destroyed IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen%s %s %s destroyed: no label is printed for %s', CASE WHEN cardinality(destroyed) > 1 THEN 's' ELSE '' END, array_to_string(destroyed, ', '), CASE WHEN cardinality(destroyed) > 1 THEN 'are' ELSE 'is' END, CASE WHEN cardinality(destroyed) > 1 THEN 'them' ELSE 'it' END),
			jsonb_build_object('specimens', to_jsonb(destroyed), 'specimen_status', 'destroyed', 'action', 'label'));
	END IF;
	INSERT INTO events (specimen_id, type, actor, actor_id, details)
	SELECT u.id, 'label_printed', actor, actor_id,
		jsonb_build_object('printer', printer, 'copies', copies, 'template', template)
	  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
	 ORDER BY u.n;
	RETURN jsonb_build_object('printed', cardinality(ids), 'printer', printer,
		'items', (SELECT jsonb_agg(bb_label_json(s) ORDER BY u.n)
			    FROM unnest(ids) WITH ORDINALITY AS u (id, n)
			    JOIN specimens s ON s.id = u.id));
END $$;
COMMENT ON FUNCTION bb_labels_print(text[], text, integer, text, bigint[], text, bigint)
	IS 'Locks a batch of specimens, refuses unknown, out-of-scope or destroyed ones, writes one label_printed event each and returns their label data.';
