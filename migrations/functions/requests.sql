-- functions/requests.sql — The catalogue, specimen requests (approval,
-- allocation, pick lists, shipments, returns) and the MIABIS report
-- (docs/api-requests.md).
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

-- Consent and small cells ----------------------------------------------------

-- The decision in force for one scope: the latest recorded, or NULL.
CREATE OR REPLACE FUNCTION bb_consent_status(participant bigint, p_scope text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT status FROM consents WHERE participant_id = participant AND scope = p_scope
	 ORDER BY recorded_at DESC, id DESC LIMIT 1;
$$;
COMMENT ON FUNCTION bb_consent_status(bigint, text) IS 'given, withdrawn or NULL (never recorded): the latest decision of the participant for one scope.';

/*
 * Whether the consent in force covers a request's purpose (docs/consent.md,
 * "Consent and requests"): biobank consent given, and for a genetic or a
 * commercial purpose that scope given too. A scope never recorded does not
 * cover anything: a request needs a recorded yes, not the absence of a no.
 */
CREATE OR REPLACE FUNCTION bb_consent_covers(participant bigint, purpose text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT COALESCE(bb_consent_status(participant, 'biobank') = 'given', false)
	   AND CASE purpose
		WHEN 'non-genetic' THEN true
		WHEN 'genetic' THEN COALESCE(bb_consent_status(participant, 'genetic') = 'given', false)
		WHEN 'commercial' THEN COALESCE(bb_consent_status(participant, 'commercial') = 'given', false)
		ELSE false END;
$$;
COMMENT ON FUNCTION bb_consent_covers(bigint, text) IS 'True when the participant''s consent in force covers the purpose (genetic, non-genetic, commercial).';

-- A count as shown to researchers: the number, or "<min_cell" below it.
CREATE OR REPLACE FUNCTION bb_small_cell(n bigint, min_cell integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN n < min_cell THEN to_jsonb('<' || min_cell) ELSE to_jsonb(n) END;
$$;
COMMENT ON FUNCTION bb_small_cell(bigint, integer) IS 'Small-cell suppression: n, or the string "<min_cell" when n is below it.';

CREATE OR REPLACE FUNCTION bb_min_cell_check(min_cell integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF min_cell IS NULL OR min_cell < 2 THEN
		RAISE EXCEPTION 'small-cell threshold % below 2', min_cell;
	END IF;
END $$;
COMMENT ON FUNCTION bb_min_cell_check(integer) IS 'Refuses a threshold that would suppress nothing: a bug of the caller, never a client''s input.';

-- The catalogue ---------------------------------------------------------------

/*
 * GET /api/v1/catalogue: tubes that could be requested, counted per study ×
 * timepoint × type × purpose whose consent they carry, with participants
 * and tubes each shown as "<min_cell" below the threshold. The filters only
 * pick whole cells (a filtered answer is a subset of the unfiltered one,
 * cell for cell), and no total is given, so that no two answers can be
 * subtracted to reveal a suppressed cell (docs/api-requests.md).
 */
CREATE OR REPLACE FUNCTION bb_catalogue(p_study text, p_timepoint text, p_type text, p_purpose text,
	min_cell integer, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	st studies;
	j jsonb;
BEGIN
	PERFORM bb_min_cell_check(min_cell);
	IF p_study IS NOT NULL THEN
		st := bb_study_find('study', p_study, studies);
	END IF;
	IF p_purpose IS NOT NULL AND p_purpose NOT IN ('genetic', 'non-genetic', 'commercial') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'purpose',
			'must be one of: genetic, non-genetic, commercial');
	END IF;
	WITH cover AS MATERIALIZED (
		-- The consent in force per donor, read once each (not once per tube).
		SELECT p.id, bb_consent_covers(p.id, 'non-genetic') AS ng,
		       bb_consent_covers(p.id, 'genetic') AS g, bb_consent_covers(p.id, 'commercial') AS c
		  FROM participants p
		 WHERE (bb_catalogue.studies IS NULL OR p.study_id = ANY (bb_catalogue.studies))
		   AND (st.id IS NULL OR p.study_id = st.id)
	), donors AS (
		-- Tubes per donor of each study, type and timepoint: an index-only scan of
		-- specimens_requestable in this order (0036), so that the cells below
		-- count donors by rows, without count(DISTINCT) sorting every tube.
		SELECT s.study_id, s.type, s.timepoint, s.participant_id, count(*) AS n
		  FROM specimens s
		 WHERE s.status = 'in_storage' AND NOT s.consent_withdrawn
		   AND (bb_catalogue.studies IS NULL OR s.study_id = ANY (bb_catalogue.studies))
		   AND (st.id IS NULL OR s.study_id = st.id)
		   AND (p_timepoint IS NULL OR s.timepoint = p_timepoint)
		   AND (p_type IS NULL OR s.type = p_type)
		 GROUP BY 1, 2, 3, 4
	), cells AS (
		SELECT d.study_id, d.timepoint, d.type, pu.purpose,
		       count(*) AS participants, sum(d.n)::bigint AS specimens
		  FROM donors d JOIN cover cv ON cv.id = d.participant_id
		 CROSS JOIN LATERAL (VALUES ('non-genetic', cv.ng), ('genetic', cv.g), ('commercial', cv.c))
			AS pu (purpose, covered)
		 WHERE pu.covered AND (p_purpose IS NULL OR pu.purpose = p_purpose)
		 GROUP BY 1, 2, 3, 4
	)
	SELECT jsonb_build_object('min_cell', min_cell,
		'cells', COALESCE(jsonb_agg(jsonb_build_object(
			'study', sd.code, 'timepoint', c.timepoint, 'type', c.type, 'purpose', c.purpose,
			'participants', bb_small_cell(c.participants, min_cell),
			'specimens', bb_small_cell(c.specimens, min_cell))
			ORDER BY sd.code, c.timepoint, c.type, c.purpose), '[]'))
	  INTO j FROM cells c JOIN studies sd ON sd.id = c.study_id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_catalogue(text, text, text, text, integer, bigint[]) IS 'GET /api/v1/catalogue: suppressed counts of requestable tubes per study, timepoint, type and purpose.';

-- Requests: reading ------------------------------------------------------------

-- Whether the caller sees only its own requests: a researcher.
CREATE OR REPLACE FUNCTION bb_request_own_only(actor_id bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT role = 'researcher' FROM users WHERE id = actor_id), true);
$$;
COMMENT ON FUNCTION bb_request_own_only(bigint) IS 'True when the account sees only the requests it filed (a researcher), and for an unknown account.';

CREATE OR REPLACE FUNCTION bb_request_visible(q requests, studies bigint[], actor_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT (studies IS NULL OR q.study_id = ANY (studies))
	   AND (NOT bb_request_own_only(actor_id) OR q.requester_id = actor_id);
$$;
COMMENT ON FUNCTION bb_request_visible(requests, bigint[], bigint) IS 'True when the caller may see the request: within its studies, and its own when it is a researcher.';

-- SPREC criteria as the API writes them: codes by element name, and the delays.
CREATE OR REPLACE FUNCTION bb_request_sprec_json(f jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN f IS NULL THEN NULL ELSE
		COALESCE((SELECT jsonb_object_agg(bb_sprec_element_name('fluid', e.k::integer), e.v)
			    FROM jsonb_each(f -> 'elements') e (k, v)), '{}')
		|| jsonb_strip_nulls(jsonb_build_object('pre_centrifugation_max_hours', f -> 'pre_max_hours',
			'post_centrifugation_max_hours', f -> 'post_max_hours')) END;
$$;
COMMENT ON FUNCTION bb_request_sprec_json(jsonb) IS 'A request''s SPREC criteria (the bb_sprec_matches filter) as criteria.sprec in the API.';

/*
 * A request as the API shows it. staff: with its tubes (IDs, places) and the
 * tubes named in its notices; without (a researcher): counts only, never a
 * specimen ID or participant code.
 */
CREATE OR REPLACE FUNCTION bb_request_json(q requests, staff boolean) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', q.id, 'title', q.title, 'project', q.project, 'ethics_ref', q.ethics_ref,
		'mta_ref', q.mta_ref, 'purpose', q.purpose,
		'criteria', jsonb_build_object(
			'study', (SELECT code FROM studies WHERE id = q.study_id),
			'timepoints', to_jsonb(q.timepoints), 'types', to_jsonb(q.types),
			'quantity', jsonb_build_object('value', trim_scale(q.quantity), 'unit', q.unit),
			'participants', q.participants,
			'exclusions', jsonb_build_object('diagnoses', to_jsonb(q.exclude_diagnoses),
				'max_freeze_thaw', q.max_freeze_thaw),
			'allow_last_aliquot', q.allow_last_aliquot,
			'sprec', bb_request_sprec_json(q.sprec)),
		'requester', q.requester, 'status', q.status,
		'decision', CASE WHEN q.decided_at IS NULL THEN NULL ELSE jsonb_build_object(
			'by', q.decided_by, 'at', bb_rfc3339(q.decided_at), 'reason', q.decision_reason) END,
		'notices', CASE WHEN staff THEN q.notices ELSE COALESCE((
			SELECT jsonb_agg(n - 'specimens' ORDER BY o) FROM jsonb_array_elements(q.notices)
			  WITH ORDINALITY AS x (n, o)), '[]') END,
		'created_at', bb_rfc3339(q.created_at), 'updated_at', bb_rfc3339(q.updated_at),
		'allocation', (SELECT jsonb_build_object(
			'specimens', count(*) FILTER (WHERE i.state IN ('reserved', 'shipped')),
			'participants', count(DISTINCT s.participant_id) FILTER (WHERE i.state IN ('reserved', 'shipped')),
			'picked', count(*) FILTER (WHERE i.state = 'reserved' AND i.picked_at IS NOT NULL),
			'shipped', count(*) FILTER (WHERE i.state = 'shipped'))
			FROM request_items i JOIN specimens s ON s.id = i.specimen_id WHERE i.request_id = q.id),
		'shipments', COALESCE((SELECT jsonb_agg(sh.id ORDER BY sh.id) FROM shipments sh
			WHERE sh.request_id = q.id), '[]'))
	|| CASE WHEN NOT staff THEN '{}'::jsonb ELSE jsonb_build_object('specimens', COALESCE((
		SELECT jsonb_agg(jsonb_build_object(
			'id', s.id, 'tube_barcode', s.tube_barcode, 'type', s.type, 'timepoint', s.timepoint,
			'participant', p.code, 'freeze_thaw_count', s.freeze_thaw_count,
			'quantity', CASE WHEN s.quantity IS NULL THEN NULL ELSE
				jsonb_build_object('value', trim_scale(s.quantity), 'unit', s.unit) END,
			'state', i.state, 'picked_at', bb_rfc3339(i.picked_at), 'shipment', i.shipment_id,
			'consumed', trim_scale(i.consumed), 'returned', trim_scale(i.returned),
			'box', b.barcode, 'position', bb_position_name(s.pos_row, s.pos_col))
			ORDER BY s.serial)
		  FROM request_items i JOIN specimens s ON s.id = i.specimen_id
		  JOIN participants p ON p.id = s.participant_id
		  LEFT JOIN boxes b ON b.id = s.box_id
		 WHERE i.request_id = q.id), '[]')) END;
$$;
COMMENT ON FUNCTION bb_request_json(requests, boolean) IS 'A request as the API shows it: with its tubes for staff, counts only for a researcher.';

CREATE OR REPLACE FUNCTION bb_request_fail_missing(req bigint) RETURNS void LANGUAGE sql AS $$
	SELECT bb_fail('BB404', 'request-not-found', NULL, format('no request %s', req),
		jsonb_build_object('request', req));
$$;
COMMENT ON FUNCTION bb_request_fail_missing(bigint) IS 'BB404 request-not-found: also for a request the caller may not see, so that guessing an ID tells nothing.';

CREATE OR REPLACE FUNCTION bb_request_get(req bigint, studies bigint[], actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	q requests;
BEGIN
	SELECT * INTO q FROM requests WHERE id = req;
	IF NOT FOUND OR NOT bb_request_visible(q, studies, actor_id) THEN
		PERFORM bb_request_fail_missing(req);
	END IF;
	RETURN bb_request_json(q, NOT bb_request_own_only(actor_id));
END $$;
COMMENT ON FUNCTION bb_request_get(bigint, bigint[], bigint) IS 'GET /api/v1/requests/{id}: the request, or BB404 when it is not the caller''s to see.';

DROP FUNCTION IF EXISTS bb_requests_list(text, bigint[], bigint);
CREATE OR REPLACE FUNCTION bb_requests_list(p_status text, lim integer, cursor text, studies bigint[],
	actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	key jsonb := bb_cursor_read('requests', cursor);
	j jsonb;
BEGIN
	IF p_status IS NOT NULL AND p_status NOT IN ('submitted', 'approved', 'rejected', 'allocated',
			'shipped', 'closed') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'status',
			'must be one of: submitted, approved, rejected, allocated, shipped, closed');
	END IF;
	-- Newest first; the cursor is the last id shown, ids only go up.
	WITH page AS (
		SELECT q.id, row_number() OVER (ORDER BY q.id DESC) AS n
		  FROM requests q
		 WHERE (p_status IS NULL OR q.status = p_status)
		   AND (key IS NULL OR q.id < (key ->> 0)::bigint)
		   AND bb_request_visible(q, studies, actor_id)
		 ORDER BY q.id DESC
		 LIMIT lim + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(bb_request_json(q, false) ORDER BY p.n)
			FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN
			bb_cursor_make('requests', jsonb_build_array(min(p.id) FILTER (WHERE p.n <= lim))) END)
	  INTO j FROM page p JOIN requests q ON q.id = p.id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_requests_list(text, integer, text, bigint[], bigint) IS 'GET /api/v1/requests: a page of the requests the caller may see, newest first, optionally of one status, without their tubes.';

-- Requests: filing and deciding -----------------------------------------------

DROP FUNCTION IF EXISTS bb_request_create(text, text, text, text, text, text, text[], text[], numeric, text,
	integer, text[], integer, boolean, bigint[], text, bigint);
CREATE OR REPLACE FUNCTION bb_request_create(p_title text, p_project text, p_ethics text, p_mta text,
	p_purpose text, p_study text, p_timepoints text[], p_types text[], p_quantity numeric, p_unit text,
	p_participants integer, p_diagnoses text[], p_max_thaw integer, p_allow_last boolean,
	studies bigint[], actor text, actor_id bigint, p_sprec jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	st studies;
	errs jsonb := '[]';
	q requests;
	bad text;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	st := bb_study_find('criteria.study', p_study, studies);
	FOR i IN 1 .. COALESCE(cardinality(p_types), 0) LOOP
		IF NOT EXISTS (SELECT 1 FROM specimen_types WHERE code = p_types[i]) THEN
			errs := errs || jsonb_build_object('state', 'BB400', 'code', 'unknown-specimen-type',
				'field', format('criteria.types[%s]', i - 1),
				'message', format('there is no specimen type %s', p_types[i]));
		END IF;
		IF p_types[i] = ANY (p_types[1 : i - 1]) THEN
			errs := errs || jsonb_build_object('state', 'BB400', 'code', 'listed-twice',
				'field', format('criteria.types[%s]', i - 1),
				'message', format('%s is listed twice', p_types[i]));
		END IF;
	END LOOP;
	FOR i IN 1 .. COALESCE(cardinality(p_timepoints), 0) LOOP
		IF btrim(p_timepoints[i]) = '' OR length(p_timepoints[i]) > 40 THEN
			errs := errs || jsonb_build_object('state', 'BB400', 'code', 'invalid-value',
				'field', format('criteria.timepoints[%s]', i - 1),
				'message', 'must be a timepoint of 1 to 40 characters');
		ELSIF p_timepoints[i] = ANY (p_timepoints[1 : i - 1]) THEN
			errs := errs || jsonb_build_object('state', 'BB400', 'code', 'listed-twice',
				'field', format('criteria.timepoints[%s]', i - 1),
				'message', format('%s is listed twice', p_timepoints[i]));
		END IF;
	END LOOP;
	FOR i IN 1 .. COALESCE(cardinality(p_diagnoses), 0) LOOP
		IF NOT EXISTS (SELECT 1 FROM diagnoses WHERE code = p_diagnoses[i]) THEN
			errs := errs || jsonb_build_object('state', 'BB400', 'code', 'invalid-value',
				'field', format('criteria.exclusions.diagnoses[%s]', i - 1),
				'message', format('there is no diagnosis group %s', p_diagnoses[i]));
		END IF;
	END LOOP;
	-- SPREC criteria: each code one of its element's (elements 2 to 6 are
	-- compared on fluid codes, as bb_sprec_matches does).
	SELECT errs || COALESCE(jsonb_agg(jsonb_build_object('state', 'BB400', 'code', 'sprec-invalid',
		'field', format('criteria.sprec.%s[%s]', bb_sprec_element_name('fluid', e.k::integer), c.n - 1),
		'message', format('%s is not a code of SPREC element %s (%s): see GET /api/v1/sprec-codes',
			c.code, e.k, bb_sprec_element_name('fluid', e.k::integer))) ORDER BY e.k, c.n), '[]')
	  INTO errs
	  FROM jsonb_each(COALESCE(p_sprec -> 'elements', '{}')) e (k, v)
	 CROSS JOIN LATERAL jsonb_array_elements_text(e.v) WITH ORDINALITY AS c (code, n)
	 WHERE NOT EXISTS (SELECT 1 FROM sprec_codes sc WHERE sc.element = e.k::integer AND sc.code = c.code
			    AND (sc.kind = 'fluid' OR e.k::integer IN (1, 7)));
	FOREACH bad IN ARRAY ARRAY['title', 'project', 'ethics_ref', 'mta_ref'] LOOP
		IF btrim(CASE bad WHEN 'title' THEN p_title WHEN 'project' THEN p_project
				WHEN 'ethics_ref' THEN p_ethics ELSE p_mta END) = '' THEN
			errs := errs || jsonb_build_object('state', 'BB400', 'code', 'value-required',
				'field', bad, 'message', 'must not be blank');
		END IF;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_list(errs);
	END IF;
	INSERT INTO requests (title, project, ethics_ref, mta_ref, purpose, study_id, timepoints, types,
		quantity, unit, participants, exclude_diagnoses, max_freeze_thaw, allow_last_aliquot,
		requester_id, requester, sprec)
	VALUES (btrim(p_title), btrim(p_project), btrim(p_ethics), btrim(p_mta), p_purpose, st.id,
		COALESCE(p_timepoints, '{}'), p_types, p_quantity, p_unit, p_participants,
		COALESCE(p_diagnoses, '{}'), p_max_thaw, COALESCE(p_allow_last, false), actor_id, actor, p_sprec)
	RETURNING * INTO q;
	RETURN bb_request_json(q, NOT bb_request_own_only(actor_id));
END $$;
COMMENT ON FUNCTION bb_request_create(text, text, text, text, text, text, text[], text[], numeric, text,
	integer, text[], integer, boolean, bigint[], text, bigint, jsonb) IS 'POST /api/v1/requests: files a request (submitted) of the caller.';

/*
 * The request locked for a change, or BB404 as bb_request_get; then BB409
 * request-state naming its status unless that is one of allowed.
 */
CREATE OR REPLACE FUNCTION bb_request_lock(req bigint, studies bigint[], actor_id bigint, allowed text[],
	why text) RETURNS requests LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
BEGIN
	SELECT * INTO q FROM requests WHERE id = req FOR UPDATE;
	IF NOT FOUND OR NOT bb_request_visible(q, studies, actor_id) THEN
		PERFORM bb_request_fail_missing(req);
	END IF;
	IF NOT q.status = ANY (allowed) THEN
		PERFORM bb_fail('BB409', 'request-state', NULL,
			format('request %s is %s: %s', req, q.status, why),
			jsonb_build_object('request', req, 'request_status', q.status));
	END IF;
	RETURN q;
END $$;
COMMENT ON FUNCTION bb_request_lock(bigint, bigint[], bigint, text[], text) IS 'The request locked FOR UPDATE; BB404 when not visible, BB409 request-state (saying why) unless its status is allowed.';

-- POST .../approve and .../reject: a manager's decision, never on their own request.
CREATE OR REPLACE FUNCTION bb_request_decide(req bigint, decision text, reason text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['submitted'], 'it has been decided already');
	IF decision = 'rejected' AND (reason IS NULL OR btrim(reason) = '') THEN
		PERFORM bb_fail('BB400', 'value-required', 'reason', 'a rejection needs a reason');
	END IF;
	IF q.requester_id = actor_id THEN
		PERFORM bb_fail('BB409', 'own-request', NULL,
			format('request %s was filed by %s: another manager decides it', req, actor),
			jsonb_build_object('request', req));
	END IF;
	UPDATE requests SET status = decision, decided_by = actor, decided_at = now(),
		decision_reason = NULLIF(btrim(reason), ''), updated_at = now()
	 WHERE id = req RETURNING * INTO q;
	RETURN bb_request_json(q, true);
END $$;
COMMENT ON FUNCTION bb_request_decide(bigint, text, text, bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/approve or /reject: a manager''s decision on a submitted request (reason required to reject).';

-- Requests: allocation -------------------------------------------------------

/*
 * The tubes that may go to q, ranked: in storage, of its study, types and
 * timepoints, at least its quantity in its unit, thawed at most its limit,
 * of a participant whose diagnosis is not excluded and whose consent covers
 * its purpose, reserved by no request, on no draft shipment. Unless the
 * request allows it (or its study does not keep them), a tube that is the
 * last in storage of its participant's timepoint and type is left out.
 * slot: the timepoint asked for ('' when the request takes any); rank 1 is
 * the tube of the participant's slot and type with the fewest thaws.
 */
CREATE OR REPLACE FUNCTION bb_request_candidates(q requests)
RETURNS TABLE (specimen_id text, participant_id bigint, slot text, type text, rank bigint)
LANGUAGE sql STABLE AS $$
	WITH pool AS MATERIALIZED (
		SELECT s.id, s.participant_id, s.timepoint, s.type, s.quantity, s.unit,
		       s.freeze_thaw_count, s.collected_at, s.serial, s.sprec,
		       count(*) OVER (PARTITION BY s.participant_id, s.timepoint, s.type) AS held
		  FROM specimens s
		 WHERE s.study_id = q.study_id AND s.status = 'in_storage' AND NOT s.consent_withdrawn
		   AND s.type = ANY (q.types)
		   AND (cardinality(q.timepoints) = 0 OR s.timepoint = ANY (q.timepoints))
		   AND NOT EXISTS (SELECT 1 FROM request_items i
				    WHERE i.specimen_id = s.id AND i.state = 'reserved')
	), donors AS MATERIALIZED (
		-- Consent and diagnosis once per donor, not once per tube.
		SELECT pa.id FROM participants pa
		 WHERE pa.id IN (SELECT participant_id FROM pool)
		   AND NOT pa.diagnosis = ANY (q.exclude_diagnoses)
		   AND bb_consent_covers(pa.id, q.purpose)
	), ok AS (
		SELECT p.* FROM pool p JOIN donors d ON d.id = p.participant_id
		 WHERE p.unit = q.unit AND p.quantity >= q.quantity
		   AND (q.max_freeze_thaw IS NULL OR p.freeze_thaw_count <= q.max_freeze_thaw)
		   AND (q.sprec IS NULL OR bb_sprec_matches(p.sprec, q.sprec))
		   AND (p.held > 1 OR q.allow_last_aliquot
			OR NOT (SELECT keep_last_aliquot FROM studies WHERE id = q.study_id))
		   AND NOT EXISTS (SELECT 1 FROM shipment_items si JOIN shipments sh ON sh.id = si.shipment_id
				    WHERE si.specimen_id = p.id AND sh.status = 'draft')
	)
	SELECT o.id, o.participant_id, CASE WHEN cardinality(q.timepoints) = 0 THEN '' ELSE o.timepoint END,
	       o.type,
	       row_number() OVER (PARTITION BY o.participant_id,
			CASE WHEN cardinality(q.timepoints) = 0 THEN '' ELSE o.timepoint END, o.type
			ORDER BY o.freeze_thaw_count, o.collected_at, o.serial)
	  FROM ok o;
$$;
COMMENT ON FUNCTION bb_request_candidates(requests) IS 'Tubes matching a request''s criteria and consent, ranked per participant, timepoint and type by fewest freeze-thaw cycles.';

-- Reserve tubes for a request: one item and one reserved event each, in issue order.
CREATE OR REPLACE FUNCTION bb_request_reserve(q requests, ids text[], actor text, actor_id bigint, why text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	INSERT INTO request_items (request_id, specimen_id, reserved_by)
	SELECT q.id, u.id, actor FROM unnest(ids) AS u (id)
	ON CONFLICT (request_id, specimen_id) DO UPDATE
		SET state = 'reserved', reserved_at = clock_timestamp(), reserved_by = actor,
		    picked_at = NULL, picked_by = NULL;
	INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
	SELECT s.id, 'reserved', actor, actor_id, format('%s for request %s', why, q.id),
	       jsonb_build_object('request', q.id, 'purpose', q.purpose)
	  FROM specimens s WHERE s.id = ANY (ids) ORDER BY s.serial;
END $$;
COMMENT ON FUNCTION bb_request_reserve(requests, text[], text, bigint, text) IS 'Reserves tubes for a request with a reserved event each.';

-- Give reserved tubes back: state released (or removed), one released event each.
CREATE OR REPLACE FUNCTION bb_request_unreserve(q requests, ids text[], new_state text, actor text,
	actor_id bigint, why text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE request_items SET state = new_state
	 WHERE request_id = q.id AND specimen_id = ANY (ids) AND state = 'reserved';
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
	SELECT s.id, 'released', actor, actor_id, format('%s (request %s)', why, q.id),
	       jsonb_build_object('request', q.id)
	  FROM specimens s WHERE s.id = ANY (ids) ORDER BY s.serial;
	RETURN n;
END $$;
COMMENT ON FUNCTION bb_request_unreserve(requests, text[], text, text, bigint, text) IS 'Ends the reservation of tubes of a request, with a released event each; returns how many.';

/*
 * POST /api/v1/requests/{id}/allocate. Allocations of one study queue on an
 * advisory lock, so that the second reads the first's reservations once it
 * committed; request_items_one_reservation stands behind that. A participant
 * is taken only with a tube for every timepoint and type asked for (a
 * complete set), the first participants by their sets' fewest thaws.
 */
CREATE OR REPLACE FUNCTION bb_request_allocate(req bigint, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	slots integer;
	ids text[];
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['approved'], 'only an approved request is allocated');
	PERFORM pg_advisory_xact_lock(hashtext('bb_request_allocate'), q.study_id::integer);
	slots := GREATEST(cardinality(q.timepoints), 1) * cardinality(q.types);
	WITH firsts AS (
		SELECT * FROM bb_request_candidates(q) c WHERE c.rank = 1
	), sets AS (
		SELECT f.participant_id, array_agg(f.specimen_id) AS tubes,
		       sum(s.freeze_thaw_count) AS thaws
		  FROM firsts f JOIN specimens s ON s.id = f.specimen_id
		 GROUP BY f.participant_id
		HAVING count(*) = slots
		 ORDER BY sum(s.freeze_thaw_count), f.participant_id
		 LIMIT q.participants
	)
	SELECT COALESCE(array_agg(t), '{}') INTO ids FROM sets, unnest(sets.tubes) t;
	IF cardinality(ids) = 0 THEN
		PERFORM bb_fail('BB409', 'nothing-to-allocate', NULL,
			format('no participant of %s has a complete set of tubes matching request %s whose consent covers %s research',
			       (SELECT code FROM studies WHERE id = q.study_id), req, q.purpose),
			jsonb_build_object('request', req));
	END IF;
	PERFORM 1 FROM specimens WHERE id = ANY (ids) ORDER BY serial FOR UPDATE;
	PERFORM bb_request_reserve(q, ids, actor, actor_id, 'allocated');
	UPDATE requests SET status = 'allocated', updated_at = now() WHERE id = req RETURNING * INTO q;
	RETURN bb_request_json(q, true);
END $$;
COMMENT ON FUNCTION bb_request_allocate(bigint, bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/allocate: reserves matching tubes for an approved request; BB409 nothing-to-allocate when no participant qualifies.';

-- POST /api/v1/requests/{id}/specimens: a manager adds tubes by hand (a swap is a drop and an add).
CREATE OR REPLACE FUNCTION bb_request_add(req bigint, refs text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	ids text[];
	errs jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['allocated'], 'tubes change only while it is allocated');
	PERFORM pg_advisory_xact_lock(hashtext('bb_request_allocate'), q.study_id::integer);
	ids := bb_specimens_resolve_lock('specimens', refs, studies);
	SELECT jsonb_agg(jsonb_build_object('state', 'BB409',
		'code', CASE WHEN o.request_id IS NOT NULL THEN 'specimen-reserved' ELSE 'criteria-unmet' END,
		'field', format('specimens[%s]', u.n - 1),
		'message', CASE
			WHEN o.request_id = req THEN format('%s is already reserved for this request', u.id)
			WHEN o.request_id IS NOT NULL THEN format('%s is reserved for request %s', u.id, o.request_id)
			ELSE format('%s does not match the request''s criteria or consent, or is the last of its timepoint', u.id) END,
		'item', u.n - 1) ORDER BY u.n) INTO errs
	  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
	  LEFT JOIN request_items o ON o.specimen_id = u.id AND o.state = 'reserved'
	 WHERE o.request_id IS NOT NULL
	    OR NOT EXISTS (SELECT 1 FROM bb_request_candidates(q) c WHERE c.specimen_id = u.id);
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_list(errs);
	END IF;
	PERFORM bb_request_reserve(q, ids, actor, actor_id, 'added by hand');
	UPDATE requests SET updated_at = now() WHERE id = req RETURNING * INTO q;
	RETURN bb_request_json(q, true);
END $$;
COMMENT ON FUNCTION bb_request_add(bigint, text[], bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/specimens: reserves tubes chosen by a manager, each checked against the criteria and consent.';

-- DELETE /api/v1/requests/{id}/specimens/{specimen}: a manager drops a tube.
CREATE OR REPLACE FUNCTION bb_request_drop(req bigint, ref text, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	s specimens;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['allocated'], 'tubes change only while it is allocated');
	s := bb_specimen_lock(ref, studies);
	IF bb_request_unreserve(q, ARRAY[s.id], 'released', actor, actor_id, 'dropped by hand') = 0 THEN
		PERFORM bb_fail('BB404', 'specimen-not-on-request', NULL,
			format('specimen %s is not reserved for request %s', s.id, req),
			jsonb_build_object('specimen', s.id, 'request', req));
	END IF;
	UPDATE requests SET updated_at = now() WHERE id = req RETURNING * INTO q;
	RETURN bb_request_json(q, true);
END $$;
COMMENT ON FUNCTION bb_request_drop(bigint, text, bigint[], text, bigint) IS 'DELETE /api/v1/requests/{id}/specimens/{specimen}: releases one reserved tube.';

-- POST .../release (allocated -> approved) and .../close (-> closed): reserved tubes go back.
CREATE OR REPLACE FUNCTION bb_request_finish(req bigint, action text, reason text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	ids text[];
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF action = 'release' THEN
		q := bb_request_lock(req, studies, actor_id, ARRAY['allocated'], 'only an allocated request releases its tubes');
	ELSE
		q := bb_request_lock(req, studies, actor_id, ARRAY['approved', 'allocated', 'shipped'],
			'it is closed or was rejected');
		IF EXISTS (SELECT 1 FROM request_items i JOIN shipments sh ON sh.id = i.shipment_id
			    WHERE i.request_id = req AND sh.status = 'draft') THEN
			PERFORM bb_fail('BB409', 'shipment-state', NULL,
				format('request %s has a draft shipment: dispatch it or take its tubes off first', req),
				jsonb_build_object('request', req));
		END IF;
	END IF;
	SELECT COALESCE(array_agg(i.specimen_id), '{}') INTO ids
	  FROM request_items i WHERE i.request_id = req AND i.state = 'reserved';
	PERFORM 1 FROM specimens WHERE id = ANY (ids) ORDER BY serial FOR UPDATE;
	PERFORM bb_request_unreserve(q, ids, 'released', actor, actor_id,
		COALESCE(NULLIF(btrim(reason), ''), CASE action WHEN 'release' THEN 'released' ELSE 'request closed' END));
	UPDATE requests SET status = CASE action WHEN 'release' THEN 'approved' ELSE 'closed' END,
		updated_at = now()
	 WHERE id = req RETURNING * INTO q;
	RETURN bb_request_json(q, true);
END $$;
COMMENT ON FUNCTION bb_request_finish(bigint, text, text, bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/release or /close: reserved tubes released with events; release goes back to approved.';

-- Pick lists -----------------------------------------------------------------

-- The names of a box's location from the site down, as text[] (element-wise order).
CREATE OR REPLACE FUNCTION bb_location_names(loc bigint) RETURNS text[] LANGUAGE sql STABLE AS $$
	SELECT ARRAY(SELECT jsonb_array_elements_text(bb_location_path(loc)));
$$;
COMMENT ON FUNCTION bb_location_names(bigint) IS 'The location''s path as text[], so that ORDER BY walks site, room, freezer, rack in turn.';

-- The nearest freezer at or above a location, with its temperature.
CREATE OR REPLACE FUNCTION bb_location_freezer(loc bigint) RETURNS locations LANGUAGE sql STABLE AS $$
	-- The nearest freezer among the location's ancestors (itself last): the
	-- row, whatever columns locations has (a list of them broke when migration
	-- 0033 added some). Read from ancestors, not by walking up the tree: the
	-- walk cost 2 ms a box in the MIABIS report at 5,451 boxes.
	SELECT f.* FROM locations l CROSS JOIN LATERAL unnest(l.ancestors) WITH ORDINALITY AS a (id, o)
	  JOIN locations f ON f.id = a.id
	 WHERE l.id = loc AND f.kind = 'freezer'
	 ORDER BY a.o DESC LIMIT 1;
$$;
COMMENT ON FUNCTION bb_location_freezer(bigint) IS 'The freezer that holds a location (itself when it is one), or NULL.';

/*
 * The pick list of a request: its reserved tubes not yet shipped, sorted by
 * where they stand (site, room, freezer, rack, box, row, column), so that
 * each freezer door opens once. line is the order to pick in.
 */
CREATE OR REPLACE FUNCTION bb_request_pick_rows(req bigint, studies bigint[], actor_id bigint)
RETURNS TABLE (line bigint, freezer text, temperature_c text, location text, box text, "position" text,
	specimen text, tube_barcode text, type text, timepoint text, quantity text, unit text,
	picked text) LANGUAGE plpgsql STABLE AS $$
DECLARE
	q requests;
BEGIN
	SELECT * INTO q FROM requests r WHERE r.id = req;
	IF NOT FOUND OR NOT bb_request_visible(q, studies, actor_id) OR bb_request_own_only(actor_id) THEN
		PERFORM bb_request_fail_missing(req);
	END IF;
	RETURN QUERY
	SELECT row_number() OVER w, f.name, trim_scale(f.temperature_c)::text,
	       array_to_string(bb_location_names(b.location_id), ' / '), b.barcode,
	       bb_position_name(s.pos_row, s.pos_col), s.id, s.tube_barcode, s.type, s.timepoint,
	       trim_scale(s.quantity)::text, s.unit, bb_rfc3339(i.picked_at)
	  FROM request_items i JOIN specimens s ON s.id = i.specimen_id
	  LEFT JOIN boxes b ON b.id = s.box_id
	  LEFT JOIN LATERAL bb_location_freezer(b.location_id) f ON true
	 WHERE i.request_id = req AND i.state = 'reserved'
	WINDOW w AS (ORDER BY bb_location_names(b.location_id), b.barcode, s.pos_row, s.pos_col, s.serial)
	 ORDER BY 1;
END $$;
COMMENT ON FUNCTION bb_request_pick_rows(bigint, bigint[], bigint) IS 'The pick list of a request as rows in picking order (freezer, rack, box, position); BB404 for a researcher.';

CREATE OR REPLACE FUNCTION bb_request_pick_list(req bigint, studies bigint[], actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('request', req, 'items', COALESCE((
		SELECT jsonb_agg(to_jsonb(p) ORDER BY p.line) FROM bb_request_pick_rows(req, studies, actor_id) p), '[]'));
END $$;
COMMENT ON FUNCTION bb_request_pick_list(bigint, bigint[], bigint) IS 'GET /api/v1/requests/{id}/pick-list as JSON.';

/*
 * POST /api/v1/requests/{id}/picks: a tube scanned at the bench. With the
 * box and position it was taken from, it must be the tube the list has
 * there; without, any unpicked tube of the list. Otherwise BB409 wrong-tube
 * naming the tube expected (the one at that place, or the next to pick),
 * and nothing about the tube scanned, which may be another study's.
 */
CREATE OR REPLACE FUNCTION bb_request_pick(req bigint, ref text, p_box text, p_position text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	scanned text;
	expected record;
	item request_items;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['allocated', 'shipped'], 'nothing is to be picked');
	IF (p_box IS NULL) <> (p_position IS NULL) THEN
		PERFORM bb_fail('BB400', 'value-required', CASE WHEN p_box IS NULL THEN 'box' ELSE 'position' END,
			'give both the box and the position the tube was taken from, or neither');
	END IF;
	SELECT x.id INTO scanned FROM specimens x
	 WHERE (x.id = ref OR x.tube_barcode = ref) AND (studies IS NULL OR x.study_id = ANY (studies))
	 ORDER BY x.id = ref DESC LIMIT 1;
	IF p_box IS NOT NULL THEN
		SELECT p.* INTO expected FROM bb_request_pick_rows(req, studies, actor_id) p
		 WHERE p.box = p_box AND p."position" = upper(p_position);
		IF NOT FOUND THEN
			PERFORM bb_fail('BB409', 'not-on-pick-list', 'position',
				format('the pick list of request %s has no tube at %s %s', req, p_box, upper(p_position)),
				jsonb_build_object('request', req, 'box', p_box, 'position', upper(p_position)));
		END IF;
	ELSE
		SELECT p.* INTO expected FROM bb_request_pick_rows(req, studies, actor_id) p
		 WHERE p.specimen = scanned;
		IF NOT FOUND THEN
			SELECT p.* INTO expected FROM bb_request_pick_rows(req, studies, actor_id) p
			 WHERE p.picked IS NULL ORDER BY p.line LIMIT 1;
		END IF;
	END IF;
	IF expected.specimen IS NULL THEN
		PERFORM bb_fail('BB409', 'wrong-tube', NULL,
			format('%s is not on the pick list of request %s, and every tube on it is picked', ref, req),
			jsonb_build_object('request', req, 'scanned', ref, 'expected', NULL));
	END IF;
	IF scanned IS DISTINCT FROM expected.specimen THEN
		PERFORM bb_fail('BB409', 'wrong-tube', NULL,
			format('wrong tube: expected %s (%s %s)%s', expected.specimen, expected.box, expected."position",
			       CASE WHEN p_box IS NULL THEN format(', the next on the pick list of request %s', req) ELSE '' END),
			jsonb_build_object('request', req, 'scanned', ref, 'expected', jsonb_build_object(
				'specimen', expected.specimen, 'tube_barcode', expected.tube_barcode,
				'box', expected.box, 'position', expected."position")));
	END IF;
	SELECT * INTO item FROM request_items WHERE request_id = req AND specimen_id = scanned;
	IF item.picked_at IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'already-picked', NULL,
			format('%s was picked already, at %s by %s', scanned, bb_rfc3339(item.picked_at), item.picked_by),
			jsonb_build_object('request', req, 'specimen', scanned));
	END IF;
	UPDATE request_items SET picked_at = clock_timestamp(), picked_by = actor
	 WHERE request_id = req AND specimen_id = scanned;
	RETURN jsonb_build_object('request', req, 'picked', scanned,
		'remaining', (SELECT count(*) FROM request_items
			       WHERE request_id = req AND state = 'reserved' AND picked_at IS NULL),
		'next', (SELECT jsonb_build_object('specimen', p.specimen, 'box', p.box, 'position', p."position")
			   FROM bb_request_pick_rows(req, studies, actor_id) p
			  WHERE p.picked IS NULL ORDER BY p.line LIMIT 1));
END $$;
COMMENT ON FUNCTION bb_request_pick(bigint, text, text, text, bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/picks: checks a scanned tube against the pick list; BB409 wrong-tube naming the expected one.';

-- Shipments and returns ---------------------------------------------------------

/*
 * POST /api/v1/requests/{id}/shipments: a draft shipment of the request's
 * picked tubes (all of them, or those listed: partial shipments), naming
 * the request. Dispatch and receipt are those of every shipment.
 */
CREATE OR REPLACE FUNCTION bb_request_ship(req bigint, p_destination text, p_conditions text, refs text[],
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	ids text[];
	errs jsonb;
	ship bigint;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['allocated', 'shipped'], 'only allocated tubes ship');
	IF refs IS NULL THEN
		SELECT COALESCE(array_agg(i.specimen_id), '{}') INTO ids FROM request_items i
		 WHERE i.request_id = req AND i.state = 'reserved' AND i.picked_at IS NOT NULL;
		IF cardinality(ids) = 0 THEN
			PERFORM bb_fail('BB409', 'nothing-picked', NULL,
				format('no tube of request %s has been picked yet: scan them against the pick list first', req),
				jsonb_build_object('request', req));
		END IF;
		PERFORM 1 FROM specimens WHERE id = ANY (ids) ORDER BY serial FOR UPDATE;
	ELSE
		ids := bb_specimens_resolve_lock('specimens', refs, studies);
		SELECT jsonb_agg(jsonb_build_object('state', CASE WHEN i.specimen_id IS NULL THEN 'BB400' ELSE 'BB409' END,
			'code', CASE WHEN i.specimen_id IS NULL THEN 'not-on-request' ELSE 'not-picked' END,
			'field', format('specimens[%s]', u.n - 1),
			'message', CASE WHEN i.specimen_id IS NULL
				THEN format('%s is not reserved for request %s', u.id, req)
				ELSE format('%s has not been picked', u.id) END,
			'item', u.n - 1) ORDER BY u.n) INTO errs
		  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
		  LEFT JOIN request_items i ON i.request_id = req AND i.specimen_id = u.id AND i.state = 'reserved'
		 WHERE i.specimen_id IS NULL OR i.picked_at IS NULL;
		IF errs IS NOT NULL THEN
			PERFORM bb_fail_list(errs);
		END IF;
	END IF;
	ship := (bb_shipment_create(p_destination, p_conditions,
		left(format('%s (%s)', q.requester, q.project), 200),
		format('request %s: %s', req, q.title), studies, actor, actor_id) ->> 'id')::bigint;
	UPDATE shipments SET request_id = req WHERE id = ship;
	-- First off the reservation, so that bb_shipment_add does not see them as another's.
	UPDATE request_items SET state = 'shipped', shipment_id = ship
	 WHERE request_id = req AND specimen_id = ANY (ids);
	PERFORM bb_shipment_add(ship, ids, studies, actor, actor_id);
	UPDATE requests SET status = 'shipped', updated_at = now() WHERE id = req;
	RETURN bb_shipment_json(ship);
END $$;
COMMENT ON FUNCTION bb_request_ship(bigint, text, text, text[], bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/shipments: a draft shipment of picked tubes of the request, all or those listed.';

/*
 * POST /api/v1/requests/{id}/returns: what the recipient reports of each
 * shipped tube, consumed and returned, in the tube's unit; together at most
 * what the tube held when it left.
 */
CREATE OR REPLACE FUNCTION bb_request_returns(req bigint, refs text[], p_consumed numeric[], p_returned numeric[],
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q requests;
	ids text[];
	errs jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	q := bb_request_lock(req, studies, actor_id, ARRAY['shipped', 'closed'], 'nothing of it has shipped');
	ids := bb_specimens_resolve_lock('items', refs, studies);
	SELECT jsonb_agg(x.e || jsonb_build_object('item', u.n - 1) ORDER BY u.n) INTO errs
	  FROM unnest(ids, p_consumed, p_returned) WITH ORDINALITY AS u (id, c, r, n)
	  LEFT JOIN request_items i ON i.request_id = req AND i.specimen_id = u.id AND i.state = 'shipped'
	  LEFT JOIN shipments sh ON sh.id = i.shipment_id
	  JOIN specimens s ON s.id = u.id
	 CROSS JOIN LATERAL (SELECT CASE
		WHEN i.specimen_id IS NULL THEN jsonb_build_object('state', 'BB400', 'code', 'not-on-request',
			'field', format('items[%s].specimen', u.n - 1),
			'message', format('%s was not shipped for request %s', u.id, req))
		WHEN sh.status = 'draft' THEN jsonb_build_object('state', 'BB409', 'code', 'shipment-state',
			'field', format('items[%s].specimen', u.n - 1),
			'message', format('%s has not been dispatched yet (shipment %s)', u.id, sh.id))
		WHEN s.quantity IS NOT NULL AND COALESCE(u.c, 0) + COALESCE(u.r, 0) > s.quantity THEN
			jsonb_build_object('state', 'BB400', 'code', 'value-out-of-range',
			'field', format('items[%s].consumed', u.n - 1),
			'message', format('consumed and returned together exceed the %s %s the tube held',
				trim_scale(s.quantity), s.unit)) END AS e) x
	 WHERE x.e IS NOT NULL;
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_list(errs);
	END IF;
	UPDATE request_items i SET consumed = u.c, returned = u.r
	  FROM unnest(ids, p_consumed, p_returned) AS u (id, c, r)
	 WHERE i.request_id = req AND i.specimen_id = u.id;
	UPDATE requests SET updated_at = now() WHERE id = req RETURNING * INTO q;
	RETURN bb_request_json(q, true);
END $$;
COMMENT ON FUNCTION bb_request_returns(bigint, text[], numeric[], numeric[], bigint[], text, bigint) IS 'POST /api/v1/requests/{id}/returns: consumed and returned amounts of shipped tubes, as the recipient reports them.';

-- Consent withdrawn while tubes are reserved --------------------------------------

/*
 * A withdrawal takes the participant's tubes off every request whose
 * purpose the consent in force no longer covers: reserved tubes and those
 * on a draft shipment of the request. Each gets a released event, and the
 * request a notice (the tubes' IDs only for staff: bb_request_json).
 */
CREATE OR REPLACE FUNCTION bb_requests_consent_withdrawn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	r record;
BEGIN
	IF NEW.status <> 'withdrawn' THEN
		RETURN NULL;
	END IF;
	FOR r IN
		SELECT q.id AS request_id, array_agg(i.specimen_id ORDER BY s.serial) AS ids
		  FROM request_items i JOIN requests q ON q.id = i.request_id
		  JOIN specimens s ON s.id = i.specimen_id
		  LEFT JOIN shipments sh ON sh.id = i.shipment_id
		 WHERE s.participant_id = NEW.participant_id
		   AND (i.state = 'reserved' OR (i.state = 'shipped' AND sh.status = 'draft'))
		   AND NOT bb_consent_covers(NEW.participant_id, q.purpose)
		 GROUP BY q.id ORDER BY q.id
	LOOP
		PERFORM 1 FROM requests WHERE id = r.request_id FOR UPDATE;
		DELETE FROM shipment_items si USING request_items i
		 WHERE i.request_id = r.request_id AND i.specimen_id = ANY (r.ids) AND i.state = 'shipped'
		   AND si.shipment_id = i.shipment_id AND si.specimen_id = i.specimen_id;
		UPDATE request_items SET state = 'removed'
		 WHERE request_id = r.request_id AND specimen_id = ANY (r.ids);
		INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
		SELECT s.id, 'released', bb_actor(), NULLIF(current_setting('bb.actor_id', true), '')::bigint,
		       format('%s consent withdrawn (request %s)', NEW.scope, r.request_id),
		       jsonb_build_object('request', r.request_id, 'consent', NEW.id)
		  FROM specimens s WHERE s.id = ANY (r.ids) ORDER BY s.serial;
		UPDATE requests SET updated_at = now(), notices = notices || jsonb_build_array(jsonb_build_object(
			'at', bb_rfc3339(clock_timestamp()), 'code', 'consent-withdrawn',
			'message', format('%s tube(s) removed: a donor withdrew %s consent', cardinality(r.ids), NEW.scope),
			'count', cardinality(r.ids), 'specimens', to_jsonb(r.ids)))
		 WHERE id = r.request_id;
	END LOOP;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_requests_consent_withdrawn() IS 'Takes a participant''s tubes off the requests their consent in force no longer covers, with released events and a notice on each request.';

CREATE OR REPLACE TRIGGER consents_requests AFTER INSERT ON consents
	FOR EACH ROW EXECUTE FUNCTION bb_requests_consent_withdrawn();
COMMENT ON TRIGGER consents_requests ON consents IS 'A withdrawal removes the participant''s tubes from requests it no longer covers.';

CREATE OR REPLACE TRIGGER requests_audit AFTER INSERT OR UPDATE OR DELETE ON requests
	FOR EACH ROW EXECUTE FUNCTION bb_audit('request');
COMMENT ON TRIGGER requests_audit ON requests IS 'Every step of a request (filed, decided, allocated, shipped, closed) goes to the audit log.';

CREATE OR REPLACE TRIGGER request_items_audit AFTER INSERT OR UPDATE OR DELETE ON request_items
	FOR EACH ROW EXECUTE FUNCTION bb_audit('request_item', 'request_id', 'specimen_id');
COMMENT ON TRIGGER request_items_audit ON request_items IS 'Reservations, picks, shipments and returns of a request''s tubes go to the audit log.';

-- MIABIS ----------------------------------------------------------------------

-- MIABIS core MaterialType for one of our specimen types.
CREATE OR REPLACE FUNCTION bb_miabis_material(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE t
		WHEN 'serum' THEN 'SERUM' WHEN 'plasma' THEN 'PLASMA'
		WHEN 'whole_blood' THEN 'WHOLE_BLOOD' WHEN 'pbmc' THEN 'PERIPHERAL_BLOOD_CELLS'
		WHEN 'dna' THEN 'DNA' WHEN 'rna' THEN 'RNA'
		WHEN 'muscle_biopsy' THEN 'TISSUE_FROZEN' WHEN 'skin_biopsy' THEN 'TISSUE_FROZEN'
		WHEN 'stool' THEN 'FECES' ELSE 'OTHER' END;
$$;
COMMENT ON FUNCTION bb_miabis_material(text) IS 'The MIABIS core MaterialType of a specimen type (OTHER when there is none).';

-- MIABIS core StorageTemperature for a freezer's set temperature.
CREATE OR REPLACE FUNCTION bb_miabis_temperature(c numeric) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN c IS NULL THEN 'temperatureOther'
		WHEN c <= -135 THEN 'temperatureLN'
		WHEN c BETWEEN -85 AND -60 THEN 'temperature-60to-85'
		WHEN c BETWEEN -35 AND -18 THEN 'temperature-18to-35'
		WHEN c BETWEEN 2 AND 10 THEN 'temperature2to10'
		WHEN c BETWEEN 15 AND 25 THEN 'temperatureRoom'
		ELSE 'temperatureOther' END;
$$;
COMMENT ON FUNCTION bb_miabis_temperature(numeric) IS 'The MIABIS core StorageTemperature of a set temperature in °C.';

/*
 * GET /api/v1/reports/miabis: each study as a MIABIS core collection,
 * counted over its stored tubes: sample types, storage temperatures, sex
 * and age at collection in ranges (participants), data categories and size.
 * Every count below min_cell is "<min_cell"; no participant-level row, no
 * minimum or maximum age (an extreme age is one person).
 */
CREATE OR REPLACE FUNCTION bb_report_miabis(p_study text, min_cell integer, studies bigint[]) RETURNS jsonb
-- The counts per donor below are tens of thousands of groups, but the planner
-- reckons one per tube and, at the default work_mem, sorted every stored tube
-- (on disk) to group them; with room for a hash it hashes them, half the
-- report's time at 5x10^5 tubes. A hash that outgrows it spills to disk.
LANGUAGE plpgsql STABLE SET work_mem = '128MB' AS $$
DECLARE
	st studies;
	j jsonb;
BEGIN
	PERFORM bb_min_cell_check(min_cell);
	IF p_study IS NOT NULL THEN
		st := bb_study_find('study', p_study, studies);
	END IF;
	WITH loc_temp AS MATERIALIZED (
		-- The freezer above each location that holds boxes, found once per location.
		SELECT x.location_id AS id, bb_miabis_temperature((bb_location_freezer(x.location_id)).temperature_c)
		       AS temperature
		  FROM (SELECT DISTINCT location_id FROM boxes WHERE location_id IS NOT NULL) x
	), per AS MATERIALIZED (
		-- Stored tubes counted per study, donor, type, storage temperature and
		-- year of collection: what every facet below needs, in tens of
		-- thousands of rows rather than one per tube.
		SELECT s.study_id, s.participant_id, s.type,
		       COALESCE(lt.temperature, bb_miabis_temperature(NULL)) AS temperature,
		       extract(year FROM s.collected_at) AS year, count(*) AS n
		  FROM specimens s JOIN boxes b ON b.id = s.box_id LEFT JOIN loc_temp lt ON lt.id = b.location_id
		 WHERE s.status = 'in_storage'
		   AND (bb_report_miabis.studies IS NULL OR s.study_id = ANY (bb_report_miabis.studies))
		   AND (st.id IS NULL OR s.study_id = st.id)
		 GROUP BY 1, 2, 3, 4, 5
	), t AS (
		SELECT x.study_id, x.participant_id, bb_miabis_material(x.type) AS material, x.temperature,
		       upper(p.sex) AS sex, x.n,
		       CASE WHEN p.birth_year IS NULL THEN 'unknown'
			    WHEN x.year - p.birth_year < 18 THEN '0-17'
			    WHEN x.year - p.birth_year < 40 THEN '18-39'
			    WHEN x.year - p.birth_year < 65 THEN '40-64'
			    ELSE '65+' END AS age_range
		  FROM per x JOIN participants p ON p.id = x.participant_id
	), facets AS (
		-- One row per study, facet and value: samples counted for material and
		-- temperature, donors for sex and age.
		SELECT study_id, 'material_types' AS facet, 'material_type' AS key, material AS v,
		       'samples' AS what, sum(n)::bigint AS n FROM t GROUP BY 1, 4
		UNION ALL
		SELECT study_id, 'storage_temperatures', 'temperature', temperature, 'samples', sum(n)::bigint
		  FROM t GROUP BY 1, 4
		UNION ALL
		SELECT study_id, 'sex', 'sex', sex, 'donors', count(DISTINCT participant_id) FROM t GROUP BY 1, 4
		UNION ALL
		SELECT study_id, 'age_ranges', 'range', age_range, 'donors', count(DISTINCT participant_id)
		  FROM t GROUP BY 1, 4
	), per_study AS (
		SELECT study_id, jsonb_object_agg(facet, items) AS facets FROM (
			SELECT study_id, facet, jsonb_agg((jsonb_build_object(key, v, what, bb_small_cell(n, min_cell))
				|| CASE WHEN facet = 'age_ranges' THEN '{"unit": "YEAR"}'::jsonb ELSE '{}' END)
				ORDER BY v) AS items
			  FROM facets GROUP BY study_id, facet) x
		 GROUP BY study_id
	), size AS (
		SELECT study_id, sum(n)::bigint AS samples, count(DISTINCT participant_id) AS donors FROM t GROUP BY 1
	)
	SELECT jsonb_build_object('min_cell', min_cell, 'collections', COALESCE(jsonb_agg(
		jsonb_build_object(
			'id', 'bbmri:collection:' || sd.code, 'acronym', sd.code, 'name', sd.name,
			'type', jsonb_build_array('COHORT', 'LONGITUDINAL'),
			'data_categories', jsonb_build_array('BIOLOGICAL_SAMPLES', 'MEDICAL_RECORDS'),
			'size', jsonb_build_object(
				'samples', bb_small_cell(z.samples, min_cell),
				'donors', bb_small_cell(z.donors, min_cell),
				'order_of_magnitude', CASE WHEN z.samples < min_cell THEN NULL
					ELSE floor(log(z.samples))::integer END)) || ps.facets
		ORDER BY sd.code), '[]'))
	  INTO j
	  FROM size z JOIN studies sd ON sd.id = z.study_id JOIN per_study ps ON ps.study_id = z.study_id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_report_miabis(text, integer, bigint[]) IS 'GET /api/v1/reports/miabis: each study as a MIABIS core collection, counts suppressed below min_cell.';

-- PUT /api/v1/studies/{code}/last-aliquot: whether allocation keeps each timepoint's last tube back.
CREATE OR REPLACE FUNCTION bb_study_keep_last_aliquot(p_code text, keep boolean, studies bigint[], actor text,
	actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	st studies;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	SELECT * INTO st FROM studies s WHERE s.code = p_code
	   AND (studies IS NULL OR s.id = ANY (studies)) FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'study-not-found', NULL, format('no study %s', p_code),
			jsonb_build_object('study', p_code));
	END IF;
	UPDATE studies SET keep_last_aliquot = keep WHERE id = st.id AND keep_last_aliquot IS DISTINCT FROM keep;
	RETURN jsonb_build_object('study', st.code, 'keep_last_aliquot', keep);
END $$;
COMMENT ON FUNCTION bb_study_keep_last_aliquot(text, boolean, bigint[], text, bigint) IS 'PUT /api/v1/studies/{code}/last-aliquot: the study''s last-aliquot rule for allocation (a change is in the audit log).';
