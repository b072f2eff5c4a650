-- functions/shipments.sql — Shipments: manifests, dispatch and receipt.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

/*
 * Who sees a shipment: a user of every study (studies NULL) always; a
 * study-limited user when every specimen on it is of their studies, and,
 * while it holds none, when it was opened by a user of one of their
 * studies or of every study (shipments.studies): an empty draft tells its
 * destination and requester, which are another study's business.
 */
CREATE OR REPLACE FUNCTION bb_shipment_visible(ship bigint, studies bigint[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
	-- bb_shipment_visible.studies: in SQL a column of that name would win.
	SELECT bb_shipment_visible.studies IS NULL OR CASE
		WHEN EXISTS (SELECT 1 FROM shipment_items i WHERE i.shipment_id = ship)
		THEN NOT EXISTS (
			SELECT 1 FROM shipment_items i JOIN specimens s ON s.id = i.specimen_id
			 WHERE i.shipment_id = ship AND NOT s.study_id = ANY (bb_shipment_visible.studies))
		ELSE EXISTS (SELECT 1 FROM shipments sh
			      WHERE sh.id = ship
				AND (sh.studies IS NULL OR sh.studies && bb_shipment_visible.studies)) END;
$$;
COMMENT ON FUNCTION bb_shipment_visible(bigint, bigint[]) IS 'True when a user of studies (NULL: all studies) may see the shipment: every specimen on it within studies, or, while it holds none, opened by a user of one of them or of every study.';

-- The shipment, locked for a write, or BB404 (also outside the caller's studies).
CREATE OR REPLACE FUNCTION bb_shipment_lock(ship bigint, studies bigint[]) RETURNS shipments
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	sh shipments;
BEGIN
	SELECT * INTO sh FROM shipments WHERE id = ship FOR UPDATE;
	IF NOT FOUND OR NOT bb_shipment_visible(ship, studies) THEN
		PERFORM bb_fail('BB404', 'shipment-not-found', NULL,
			format('no shipment %s', ship),
			jsonb_build_object('shipment', ship));
	END IF;
	RETURN sh;
END $$;
COMMENT ON FUNCTION bb_shipment_lock(bigint, bigint[]) IS 'The shipment locked FOR UPDATE; BB404 when there is none or it holds specimens outside studies.';

CREATE OR REPLACE FUNCTION bb_shipment_lock_in(ship bigint, studies bigint[], must_be text, why text)
RETURNS shipments LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	sh shipments := bb_shipment_lock(ship, studies);
BEGIN
	IF sh.status <> must_be THEN
		PERFORM bb_fail('BB409', 'shipment-state', NULL,
			format('shipment %s is %s: %s', ship, sh.status, why),
			jsonb_build_object('shipment', ship, 'shipment_status', sh.status));
	END IF;
	RETURN sh;
END $$;
COMMENT ON FUNCTION bb_shipment_lock_in(bigint, bigint[], text, text) IS 'The shipment locked as bb_shipment_lock, or BB409 shipment-state (saying why) unless its status is must_be.';

-- One manifest line: where the specimen is now (draft) or where it left (after dispatch).
CREATE OR REPLACE FUNCTION bb_shipment_item_json(i shipment_items, s specimens) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', s.id,
		'tube_barcode', s.tube_barcode,
		'type', s.type,
		'participant', jsonb_build_object('study', st.code, 'code', p.code),
		'timepoint', s.timepoint,
		'collected_at', bb_rfc3339(s.collected_at),
		'quantity', CASE WHEN s.quantity IS NULL THEN NULL ELSE
			jsonb_build_object('value', trim_scale(s.quantity), 'unit', s.unit) END,
		'status', s.status,
		'consent_withdrawn', s.consent_withdrawn,
		'from', CASE
			WHEN i.from_box IS NOT NULL THEN jsonb_build_object('box', i.from_box, 'position', i.from_pos)
			WHEN s.box_id IS NOT NULL THEN jsonb_build_object('box', b.barcode,
				'position', bb_position_name(s.pos_row, s.pos_col)) END)
	  FROM participants p JOIN studies st ON st.id = p.study_id
	  LEFT JOIN boxes b ON b.id = s.box_id
	 WHERE p.id = s.participant_id;
$$;
COMMENT ON FUNCTION bb_shipment_item_json(shipment_items, specimens) IS 'A manifest line as the API shows it.';

CREATE OR REPLACE FUNCTION bb_shipment_head_json(sh shipments) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', sh.id,
		'status', sh.status,
		'destination', sh.destination,
		'conditions', sh.conditions,
		'requester', sh.requester,
		'notes', sh.notes,
		'created_at', bb_rfc3339(sh.created_at),
		'created_by', sh.created_by,
		'dispatched_at', bb_rfc3339(sh.dispatched_at),
		'dispatched_by', sh.dispatched_by,
		'receipt', CASE WHEN sh.received_at IS NULL THEN NULL ELSE jsonb_build_object(
			'received_at', bb_rfc3339(sh.received_at), 'condition', sh.received_condition,
			'notes', sh.receipt_notes, 'recorded_by', sh.receipt_recorded_by) END,
		'specimen_count', (SELECT count(*) FROM shipment_items i WHERE i.shipment_id = sh.id))
	-- Only a shipment made from a request names it: the others answer as they always did.
	|| CASE WHEN sh.request_id IS NULL THEN '{}'::jsonb
		ELSE jsonb_build_object('request', sh.request_id) END;
$$;
COMMENT ON FUNCTION bb_shipment_head_json(shipments) IS 'A shipment without its manifest lines, as lists show it.';

CREATE OR REPLACE FUNCTION bb_shipment_json(ship bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT bb_shipment_head_json(sh) || jsonb_build_object('specimens', COALESCE((
		SELECT jsonb_agg(bb_shipment_item_json(i, s) ORDER BY s.serial)
		  FROM shipment_items i JOIN specimens s ON s.id = i.specimen_id
		 WHERE i.shipment_id = sh.id), '[]'))
	  FROM shipments sh WHERE sh.id = ship;
$$;
COMMENT ON FUNCTION bb_shipment_json(bigint) IS 'A shipment with its manifest, as GET /api/v1/shipments/{id} shows it.';

DROP FUNCTION IF EXISTS bb_shipment_create(text, text, text, text, text, bigint);
CREATE OR REPLACE FUNCTION bb_shipment_create(destination text, conditions text, requester text, notes text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	new_id bigint;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF btrim(destination) = '' THEN
		PERFORM bb_fail('BB400', 'value-required', 'destination', 'must not be blank');
	END IF;
	IF conditions NOT IN ('dry_ice', 'ln2_dry_shipper', 'cold_pack', 'ambient') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'conditions',
			'must be one of: dry_ice, ln2_dry_shipper, cold_pack, ambient');
	END IF;
	INSERT INTO shipments (destination, conditions, requester, notes, studies)
	VALUES (destination, conditions, requester, notes, studies)
	RETURNING id INTO new_id;
	RETURN bb_shipment_json(new_id);
END $$;
COMMENT ON FUNCTION bb_shipment_create(text, text, text, text, bigint[], text, bigint) IS 'POST /api/v1/shipments: opens a draft shipment of the caller''s studies.';

CREATE OR REPLACE FUNCTION bb_shipment_get(ship bigint, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM shipments WHERE id = ship) OR NOT bb_shipment_visible(ship, studies) THEN
		PERFORM bb_fail('BB404', 'shipment-not-found', NULL,
			format('no shipment %s', ship),
			jsonb_build_object('shipment', ship));
	END IF;
	RETURN bb_shipment_json(ship);
END $$;
COMMENT ON FUNCTION bb_shipment_get(bigint, bigint[]) IS 'GET /api/v1/shipments/{id}: the shipment and its manifest, or BB404.';

-- The manifest as rows, for CSV: one row per specimen in issue order.
CREATE OR REPLACE FUNCTION bb_shipment_manifest_rows(ship bigint, studies bigint[])
RETURNS TABLE (shipment bigint, destination text, conditions text, shipment_status text,
	specimen text, tube_barcode text, type text, study text, participant text, timepoint text,
	collected_at text, quantity text, unit text, status text, from_box text, from_position text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM shipments WHERE id = ship) OR NOT bb_shipment_visible(ship, studies) THEN
		PERFORM bb_fail('BB404', 'shipment-not-found', NULL,
			format('no shipment %s', ship),
			jsonb_build_object('shipment', ship));
	END IF;
	RETURN QUERY
	SELECT sh.id, sh.destination, sh.conditions, sh.status, s.id, s.tube_barcode, s.type, st.code,
	       p.code, s.timepoint, bb_rfc3339(s.collected_at), trim_scale(s.quantity)::text, s.unit,
	       s.status, COALESCE(i.from_box, b.barcode),
	       COALESCE(i.from_pos, bb_position_name(s.pos_row, s.pos_col))
	  FROM shipments sh
	  JOIN shipment_items i ON i.shipment_id = sh.id
	  JOIN specimens s ON s.id = i.specimen_id
	  JOIN participants p ON p.id = s.participant_id
	  JOIN studies st ON st.id = p.study_id
	  LEFT JOIN boxes b ON b.id = s.box_id
	 WHERE sh.id = ship
	 ORDER BY s.serial;
END $$;
COMMENT ON FUNCTION bb_shipment_manifest_rows(bigint, bigint[]) IS 'GET /api/v1/shipments/{id} as text/csv: the manifest lines as rows; BB404 when not visible.';

CREATE OR REPLACE FUNCTION bb_shipments_list(p_status text, lim integer, cursor text, studies bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	key jsonb := bb_cursor_read('shipments', cursor);
	j jsonb;
BEGIN
	IF p_status IS NOT NULL AND p_status NOT IN ('draft', 'dispatched', 'received') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'status',
			'must be one of: draft, dispatched, received');
	END IF;
	WITH page AS (
		SELECT sh.id, row_number() OVER (ORDER BY sh.id DESC) AS n
		  FROM shipments sh
		 WHERE (p_status IS NULL OR sh.status = p_status)
		   AND (key IS NULL OR sh.id < (key ->> 0)::bigint)
		   AND bb_shipment_visible(sh.id, bb_shipments_list.studies)
		 ORDER BY sh.id DESC
		 LIMIT lim + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(bb_shipment_head_json(sh) ORDER BY p.n)
			FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN
			bb_cursor_make('shipments', jsonb_build_array(min(p.id) FILTER (WHERE p.n <= lim))) END)
	  INTO j FROM page p JOIN shipments sh ON sh.id = p.id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_shipments_list(text, integer, text, bigint[]) IS 'GET /api/v1/shipments: a page of shipments, newest first, optionally of one status, within the caller''s studies.';

/*
 * Why a locked specimen may not go on (or leave with) a shipment, or NULL:
 * only stored specimens whose donor has not withdrawn biobank consent ship.
 */
CREATE OR REPLACE FUNCTION bb_shipment_refusal(s specimens) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT NULLIF(concat_ws('; ',
		CASE WHEN s.consent_withdrawn AND bb_consent_blocks('ship') THEN format('%s: its donor withdrew biobank consent', s.id) END,
		CASE WHEN s.status <> 'in_storage' THEN format('%s is %s, not in_storage', s.id, s.status) END), '');
$$;
COMMENT ON FUNCTION bb_shipment_refusal(specimens) IS 'Why a specimen cannot ship (status, withdrawn consent), or NULL when it can.';

/*
 * The code of a refusal of several specimens: consent-withdrawn when every
 * refused specimen's donor withdrew biobank consent (they can never ship),
 * else status-forbids.
 */
CREATE OR REPLACE FUNCTION bb_shipment_refusal_code(refused text[]) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN bool_and(s.consent_withdrawn) THEN 'consent-withdrawn' ELSE 'status-forbids' END
	  FROM specimens s WHERE s.id = ANY (refused);
$$;
COMMENT ON FUNCTION bb_shipment_refusal_code(text[]) IS 'consent-withdrawn when every refused specimen lacks biobank consent, else status-forbids.';

/*
 * Resolve references (IDs or tube barcodes) of a request body to specimen
 * IDs within studies, in the body's order. An unknown reference, or one
 * listed twice, is a BB400 naming its field (field[i]); the specimens are
 * then locked in issue order, so that concurrent bulk calls cannot deadlock.
 */
CREATE OR REPLACE FUNCTION bb_specimens_resolve_lock(field text, refs text[], studies bigint[])
RETURNS text[] LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	ids text[] := '{}';
	found_id text;
BEGIN
	IF COALESCE(cardinality(refs), 0) = 0 THEN
		PERFORM bb_fail('BB400', 'value-required', field,
			'must list at least one specimen');
	END IF;
	FOR i IN 1 .. cardinality(refs) LOOP
		SELECT x.id INTO found_id FROM specimens x
		 WHERE (x.id = refs[i] OR x.tube_barcode = refs[i])
		   AND (studies IS NULL OR x.study_id = ANY (studies))
		 ORDER BY x.id = refs[i] DESC LIMIT 1;
		IF found_id IS NULL THEN
			PERFORM bb_fail('BB400', 'unknown-specimen', format('%s[%s]', field, i - 1),
				format('no specimen %s', refs[i]),
				jsonb_build_object('specimen', refs[i]));
		END IF;
		IF found_id = ANY (ids) THEN
			PERFORM bb_fail('BB400', 'listed-twice', format('%s[%s]', field, i - 1),
				format('specimen %s is listed twice', found_id),
				jsonb_build_object('specimen', found_id));
		END IF;
		ids := ids || found_id;
	END LOOP;
	PERFORM 1 FROM specimens x WHERE x.id = ANY (ids) ORDER BY x.serial FOR UPDATE;
	RETURN ids;
END $$;
COMMENT ON FUNCTION bb_specimens_resolve_lock(text, text[], bigint[]) IS 'Specimen IDs for references within studies, locked in issue order; BB400 naming field[i] for an unknown or repeated one.';

CREATE OR REPLACE FUNCTION bb_shipment_add(ship bigint, refs text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	sh shipments;
	ids text[];
	refusals text;
	refused text[];
	n integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	sh := bb_shipment_lock_in(ship, studies, 'draft', 'its manifest can no longer change');
	ids := bb_specimens_resolve_lock('specimens', refs, studies);
	-- Every offender at once, in the body's order, so that the manifest can be fixed in one go.
	SELECT string_agg(why, '; ' ORDER BY u.n), count(*), array_agg(s.id ORDER BY u.n) INTO refusals, n, refused
	  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
	  JOIN specimens s ON s.id = u.id
	  CROSS JOIN LATERAL (SELECT concat_ws('; ', bb_shipment_refusal(s),
		(SELECT format('%s is already on %s', s.id,
			       CASE WHEN bb_shipment_visible(o.shipment_id, bb_shipment_add.studies)
				    THEN format('draft shipment %s', o.shipment_id)
				    ELSE 'a draft shipment of another study' END)
		   FROM shipment_items o JOIN shipments os ON os.id = o.shipment_id
		  WHERE o.specimen_id = s.id AND os.status = 'draft' AND o.shipment_id <> ship
		  LIMIT 1),
		-- Held for a request (docs/api-requests.md): it ships with that request's shipment.
		(SELECT format('%s is reserved for request %s', s.id, ri.request_id)
		   FROM request_items ri WHERE ri.specimen_id = s.id AND ri.state = 'reserved'
		  LIMIT 1)) AS why) w
	 WHERE w.why <> '';
	IF refusals IS NOT NULL THEN
		PERFORM bb_fail('BB409', bb_shipment_refusal_code(refused), NULL,
			format('%s of the specimens cannot be shipped: %s', n, refusals),
			jsonb_build_object('refused', to_jsonb(refused)));
	END IF;
	INSERT INTO shipment_items (shipment_id, specimen_id)
	SELECT ship, u.id FROM unnest(ids) AS u (id)
	ON CONFLICT DO NOTHING;
	RETURN bb_shipment_json(ship);
END $$;
COMMENT ON FUNCTION bb_shipment_add(bigint, text[], bigint[], text, bigint) IS 'POST /api/v1/shipments/{id}/specimens: adds stored, consented specimens to a draft, all or nothing; BB409 naming every offender.';

CREATE OR REPLACE FUNCTION bb_shipment_remove(ship bigint, ref text, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	sh shipments;
	s specimens;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	sh := bb_shipment_lock_in(ship, studies, 'draft', 'its manifest can no longer change');
	s := bb_specimen_lock(ref, studies);
	DELETE FROM shipment_items WHERE shipment_id = ship AND specimen_id = s.id;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'specimen-not-on-shipment', NULL,
			format('specimen %s is not on shipment %s', s.id, ship),
			jsonb_build_object('specimen', s.id, 'shipment', ship));
	END IF;
	RETURN bb_shipment_json(ship);
END $$;
COMMENT ON FUNCTION bb_shipment_remove(bigint, text, bigint[], text, bigint) IS 'DELETE /api/v1/shipments/{id}/specimens/{specimen}: takes a specimen off a draft.';

/*
 * Dispatch: every specimen on the manifest leaves its position with a
 * 'shipped' event, all in this one statement. Status and consent are checked
 * again under the specimens' locks: anything that changed since the
 * manifest was built refuses the whole dispatch, naming every offender.
 */
CREATE OR REPLACE FUNCTION bb_shipment_dispatch(ship bigint, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	sh shipments;
	refusals text;
	refused text[];
	n integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	sh := bb_shipment_lock_in(ship, studies, 'draft', 'it has already left');
	PERFORM 1 FROM specimens s JOIN shipment_items i ON i.specimen_id = s.id
	 WHERE i.shipment_id = ship ORDER BY s.serial FOR UPDATE OF s;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB409', 'shipment-empty', NULL,
			format('shipment %s has no specimens to dispatch', ship),
			jsonb_build_object('shipment', ship));
	END IF;
	SELECT string_agg(bb_shipment_refusal(s), '; ' ORDER BY s.serial), count(*),
	       array_agg(s.id ORDER BY s.serial) INTO refusals, n, refused
	  FROM specimens s JOIN shipment_items i ON i.specimen_id = s.id
	 WHERE i.shipment_id = ship AND bb_shipment_refusal(s) IS NOT NULL;
	IF refusals IS NOT NULL THEN
		PERFORM bb_fail('BB409', bb_shipment_refusal_code(refused), NULL,
			format('shipment %s cannot be dispatched: %s of its specimens cannot be shipped: %s', ship, n, refusals),
			jsonb_build_object('shipment', ship, 'refused', to_jsonb(refused)));
	END IF;
	UPDATE shipment_items i SET from_box = b.barcode, from_pos = bb_position_name(s.pos_row, s.pos_col)
	  FROM specimens s JOIN boxes b ON b.id = s.box_id
	 WHERE i.shipment_id = ship AND s.id = i.specimen_id;
	UPDATE specimens s SET status = 'shipped', box_id = NULL, pos_row = NULL, pos_col = NULL
	  FROM shipment_items i
	 WHERE i.shipment_id = ship AND s.id = i.specimen_id;
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, reason, details)
	SELECT i.specimen_id, 'shipped', actor, actor_id, i.from_box, i.from_pos,
	       format('shipment %s to %s', ship, sh.destination),
	       jsonb_build_object('shipment', ship, 'destination', sh.destination,
				  'conditions', sh.conditions)
	  FROM shipment_items i JOIN specimens s ON s.id = i.specimen_id
	 WHERE i.shipment_id = ship
	 ORDER BY s.serial;
	UPDATE shipments SET status = 'dispatched', dispatched_at = now(), dispatched_by = actor
	 WHERE id = ship;
	RETURN bb_shipment_json(ship);
END $$;
COMMENT ON FUNCTION bb_shipment_dispatch(bigint, bigint[], text, bigint) IS 'POST /api/v1/shipments/{id}/dispatch: ships every specimen (events, positions freed) or none.';

CREATE OR REPLACE FUNCTION bb_shipment_receive(ship bigint, p_received_at timestamptz, p_condition text,
	p_notes text, studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	sh shipments;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	sh := bb_shipment_lock_in(ship, studies, 'dispatched', 'only a dispatched shipment can be received');
	IF p_condition IS NOT NULL AND p_condition NOT IN ('good', 'thawed', 'damaged') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'condition',
			'must be one of: good, thawed, damaged');
	END IF;
	IF p_received_at < sh.dispatched_at THEN
		PERFORM bb_fail('BB400', 'date-out-of-range', 'received_at',
			format('%s is before the dispatch at %s', bb_rfc3339(p_received_at), bb_rfc3339(sh.dispatched_at)));
	END IF;
	IF p_received_at > clock_timestamp() + interval '5 minutes' THEN
		PERFORM bb_fail('BB400', 'date-out-of-range', 'received_at',
			format('%s is in the future', bb_rfc3339(p_received_at)));
	END IF;
	PERFORM 1 FROM specimens s JOIN shipment_items i ON i.specimen_id = s.id
	 WHERE i.shipment_id = ship ORDER BY s.serial FOR UPDATE OF s;
	INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
	SELECT i.specimen_id, 'received', actor, actor_id, format('shipment %s received', ship),
	       jsonb_build_object('shipment', ship, 'destination', sh.destination,
				  'received_at', bb_rfc3339(p_received_at), 'condition', p_condition)
	  FROM shipment_items i JOIN specimens s ON s.id = i.specimen_id
	 WHERE i.shipment_id = ship
	 ORDER BY s.serial;
	UPDATE shipments SET status = 'received', received_at = p_received_at,
		received_condition = p_condition, receipt_notes = p_notes, receipt_recorded_by = actor
	 WHERE id = ship;
	RETURN bb_shipment_json(ship);
END $$;
COMMENT ON FUNCTION bb_shipment_receive(bigint, timestamptz, text, text, bigint[], text, bigint) IS 'POST /api/v1/shipments/{id}/receipt: records the arrival, one received event per specimen.';
