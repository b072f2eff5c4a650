-- functions/reports.sql — Reports, the consent-withdrawal worklist, the CSV
-- export rows and FHIR R4.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

DROP FUNCTION IF EXISTS bb_report_inventory(text, bigint[]);
DROP FUNCTION IF EXISTS bb_report_inventory(text, bigint[], text);
CREATE OR REPLACE FUNCTION bb_report_inventory(study text, studies bigint[], in_error text DEFAULT NULL,
	location text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	only_study bigint;
	with_errors boolean := bb_include_in_error(in_error);
	loc bigint := bb_location_filter_text(location);
	j jsonb;
BEGIN
	IF study IS NOT NULL THEN
		only_study := (bb_study_find('study', study, studies)).id;
	END IF;
	SELECT jsonb_build_object('items', COALESCE(jsonb_agg(jsonb_build_object(
		'study', c.study, 'type', c.type, 'timepoint', c.timepoint, 'status', c.status,
		'count', c.n) ORDER BY c.study, c.type, c.timepoint, c.status), '[]'),
		'total', COALESCE(sum(c.n), 0))
	  INTO j
	  FROM (SELECT st.code AS study, s.type, s.timepoint, s.status, count(*) AS n
		  FROM specimens s JOIN studies st ON st.id = s.study_id
		 WHERE (studies IS NULL OR s.study_id = ANY (studies))
		   AND (only_study IS NULL OR s.study_id = only_study)
		   AND (with_errors OR s.status <> 'entered_in_error')
		   AND (loc IS NULL OR s.box_id = ANY ((SELECT bb_location_boxes(loc))::bigint[]))
		 GROUP BY st.code, s.type, s.timepoint, s.status) c;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_report_inventory(text, bigint[], text, text) IS 'GET /api/v1/reports/inventory: specimen counts by study, type, timepoint and status within the caller''s studies (loc: stored anywhere below that location); entries in error only when in_error is true.';

-- Occupancy --------------------------------------------------------------

/*
 * Every location below loc (or every location when loc is NULL), each with
 * the capacity and use summed over the boxes anywhere below it, and every
 * box with its own; in tree order (by path). Physical space is shared, so
 * tubes of every study count, as in GET /api/v1/locations/{id}.
 */
CREATE OR REPLACE FUNCTION bb_report_occupancy(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb;
BEGIN
	IF loc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM locations WHERE id = loc) THEN
		PERFORM bb_fail('BB400', 'unknown-location', 'location',
			format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	WITH RECURSIVE tree (id, depth) AS (
		SELECT l.id, 0 FROM locations l
		 WHERE (loc IS NULL AND l.parent_id IS NULL) OR l.id = loc
		UNION ALL
		SELECT l.id, t.depth + 1 FROM locations l JOIN tree t ON l.parent_id = t.id
	),
	-- (ancestor, descendant) pairs inside the tree, each location its own ancestor.
	closure (top, id) AS (
		SELECT id, id FROM tree
		UNION ALL
		SELECT c.top, l.id FROM locations l JOIN closure c ON l.parent_id = c.id
	),
	box_use AS (
		SELECT bx.id, bx.barcode, bx.location_id, bx.rows * bx.cols AS capacity,
		       (SELECT count(*) FROM specimens s WHERE s.box_id = bx.id) AS used
		  FROM boxes bx JOIN tree t ON t.id = bx.location_id
	),
	loc_use AS (
		SELECT c.top, sum(u.capacity) AS capacity, sum(u.used) AS used, count(u.id) AS boxes
		  FROM closure c LEFT JOIN box_use u ON u.location_id = c.id
		 GROUP BY c.top
	),
	items AS (
		SELECT ARRAY(SELECT jsonb_array_elements_text(bb_location_path(l.id))) AS sort_key,
		       jsonb_build_object('kind', l.kind, 'id', l.id,
			'name', l.name, 'temperature_c', trim_scale(l.temperature_c), 'depth', t.depth,
			'path', bb_location_path(l.id), 'boxes', lu.boxes)
			|| bb_occupancy_json(lu.capacity, lu.used) AS item
		  FROM tree t JOIN locations l ON l.id = t.id JOIN loc_use lu ON lu.top = t.id
		UNION ALL
		SELECT ARRAY(SELECT jsonb_array_elements_text(bb_location_path(u.location_id))) || u.barcode,
		       jsonb_build_object('kind', 'box', 'barcode', u.barcode, 'location', u.location_id,
			'path', bb_location_path(u.location_id) || to_jsonb(u.barcode))
			|| bb_occupancy_json(u.capacity, u.used)
		  FROM box_use u
	)
	SELECT jsonb_build_object(
		'location', loc,
		'total', (SELECT bb_occupancy_json(sum(capacity), sum(used)) FROM box_use),
		'items', COALESCE((SELECT jsonb_agg(item ORDER BY sort_key) FROM items), '[]'))
	  INTO j;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_report_occupancy(bigint) IS 'GET /api/v1/reports/occupancy: capacity, used and free per location (summed below it) and per box, under loc or everywhere.';

-- Consent withdrawal -----------------------------------------------------

CREATE OR REPLACE FUNCTION bb_specimen_held(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT status IN ('registered', 'in_storage', 'checked_out', 'lost');
$$;
COMMENT ON FUNCTION bb_specimen_held(text) IS 'True for a status in which the biobank still holds (or must account for) the specimen: not shipped, consumed or destroyed.';

CREATE OR REPLACE FUNCTION bb_report_consent_withdrawn(studies bigint[], after bigint, lim integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH page AS (
		SELECT s.id, s.serial, row_number() OVER (ORDER BY s.serial) AS n
		  FROM specimens s
		 WHERE s.consent_withdrawn AND bb_specimen_held(s.status)
		   AND (studies IS NULL OR s.study_id = ANY (studies))
		   AND s.serial > COALESCE(after, 0)
		 ORDER BY s.serial
		 LIMIT lim + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(bb_specimen_json(x)
			|| jsonb_build_object('withdrawn_at', (SELECT bb_rfc3339(e.at) FROM events e
				WHERE e.specimen_id = x.id AND e.type = 'consent_withdrawn'
				ORDER BY e.seq DESC LIMIT 1))
			ORDER BY p.n) FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN 'c' || (max(p.serial) FILTER (WHERE p.n <= lim)) END)
	  FROM page p JOIN specimens x ON x.id = p.id;
$$;
COMMENT ON FUNCTION bb_report_consent_withdrawn(bigint[], bigint, integer) IS 'GET /api/v1/reports/consent-withdrawn: specimens flagged for withdrawn consent that are still held, with their location.';

CREATE OR REPLACE FUNCTION bb_consent_withdrawn_destroy(refs text[], reason text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	ids text[];
	refusals text;
	refused text[];
	n integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF btrim(reason) = '' THEN
		PERFORM bb_fail('BB400', 'value-required', 'reason', 'must not be blank');
	END IF;
	ids := bb_specimens_resolve_lock('specimens', refs, studies);
	SELECT string_agg(concat_ws('; ',
		CASE WHEN NOT s.consent_withdrawn THEN format('%s is not flagged for withdrawn consent', s.id) END,
		CASE WHEN NOT bb_specimen_held(s.status) THEN format('%s is %s, no longer held', s.id, s.status) END),
		'; ' ORDER BY u.n), count(*), array_agg(s.id ORDER BY u.n)
	  INTO refusals, n, refused
	  FROM unnest(ids) WITH ORDINALITY AS u (id, n) JOIN specimens s ON s.id = u.id
	 WHERE NOT s.consent_withdrawn OR NOT bb_specimen_held(s.status);
	IF refusals IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('%s of the specimens cannot be destroyed here: %s', n, refusals),
			jsonb_build_object('refused', to_jsonb(refused)));
	END IF;
	WITH gone AS (
		SELECT s.id, s.serial, b.barcode AS box, bb_position_name(s.pos_row, s.pos_col) AS pos
		  FROM specimens s LEFT JOIN boxes b ON b.id = s.box_id
		 WHERE s.id = ANY (ids)
	), upd AS (
		UPDATE specimens s SET status = 'destroyed', box_id = NULL, pos_row = NULL, pos_col = NULL
		  FROM gone g WHERE s.id = g.id
		RETURNING s.id
	)
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, reason, details)
	SELECT g.id, 'destroyed', actor, actor_id, g.box, g.pos, reason,
	       jsonb_build_object('workflow', 'consent_withdrawn')
	  FROM gone g JOIN upd ON upd.id = g.id
	 ORDER BY g.serial;
	RETURN jsonb_build_object('destroyed', cardinality(ids), 'items', (
		SELECT jsonb_agg(bb_specimen_json(s) ORDER BY s.serial) FROM specimens s WHERE s.id = ANY (ids)));
END $$;
COMMENT ON FUNCTION bb_consent_withdrawn_destroy(text[], text, bigint[], text, bigint) IS 'POST /api/v1/reports/consent-withdrawn/destroy: destroys flagged, held specimens in bulk, all or nothing; BB409 naming every offender.';

/*
 * The CSV export's chunks. As one SQL statement with every filter written
 * "(p IS NULL OR ...)" and the study resolved by a sub-select, the planner
 * could not know which study it filtered on: it walked the serial index and
 * filtered, and the first chunk of a study whose specimens come late (the
 * benchmark's SSCR: the last tenth) read every specimen before it. Here the
 * study and box are resolved first and the statement names only the filters
 * given, so that (study_id, serial) or (box_id, ...) lead; the rows and
 * their text are those of 0008.
 */
DROP FUNCTION IF EXISTS bb_specimen_csv_rows(text, text, text, text, text, text, bigint[], bigint, integer);
DROP FUNCTION IF EXISTS bb_specimen_csv_rows(text, text, text, text, text, text, bigint[], bigint, integer, text);
DROP FUNCTION IF EXISTS bb_specimen_csv_rows(text, text, text, text, text, text, bigint[], bigint, integer, text, bigint);
DROP FUNCTION IF EXISTS bb_specimen_csv_rows(text, text, text, text, text, text, bigint[], bigint, integer, text, jsonb);
CREATE OR REPLACE FUNCTION bb_specimen_csv_rows(p_study text, p_participant text, p_type text, p_timepoint text,
	p_status text, p_box text, p_studies bigint[], p_after bigint, p_limit integer,
	p_in_error text DEFAULT NULL, p_location bigint DEFAULT NULL, p_sprec jsonb DEFAULT NULL)
RETURNS TABLE (serial bigint, id text, tube_barcode text, type text, study text, participant text,
	timepoint text, collected_at text, status text, quantity text, unit text, parent text,
	derivation text, freeze_thaw_count integer, consent_withdrawn boolean, box text,
	box_position text, location text, notes text, created_at text, sprec text, protocol_version integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_study bigint;
	v_box bigint;
BEGIN
	IF p_study IS NOT NULL THEN
		SELECT x.id INTO v_study FROM studies x WHERE x.code = p_study;
		IF NOT FOUND THEN
			RETURN;
		END IF;
	END IF;
	IF p_box IS NOT NULL THEN
		SELECT x.id INTO v_box FROM boxes x WHERE x.barcode = p_box;
		IF NOT FOUND THEN
			RETURN;
		END IF;
	END IF;
	RETURN QUERY EXECUTE
		'WITH hits AS (
			SELECT s.* FROM specimens s
			 WHERE s.serial > COALESCE($8, 0)'
		|| CASE WHEN p_studies IS NOT NULL THEN ' AND s.study_id = ANY ($7)' ELSE '' END
		|| CASE WHEN p_study IS NOT NULL THEN ' AND s.study_id = $10' ELSE '' END
		|| CASE WHEN p_participant IS NOT NULL THEN ' AND s.participant_id IN (SELECT p.id FROM participants p
				WHERE p.code = $2' || CASE WHEN p_study IS NOT NULL THEN ' AND p.study_id = $10' ELSE '' END
			|| ')' ELSE '' END
		|| CASE WHEN p_type IS NOT NULL THEN ' AND s.type = $3' ELSE '' END
		|| CASE WHEN p_timepoint IS NOT NULL THEN ' AND s.timepoint = $4' ELSE '' END
		|| CASE WHEN p_status IS NOT NULL THEN ' AND s.status = $5' ELSE '' END
		|| CASE WHEN p_status IS NULL AND NOT bb_include_in_error(p_in_error)
			THEN ' AND s.status <> ''entered_in_error''' ELSE '' END
		|| CASE WHEN p_box IS NOT NULL THEN ' AND s.box_id = $11' ELSE '' END
		|| CASE WHEN p_location IS NOT NULL THEN ' AND s.box_id = ANY ($12)' ELSE '' END
		|| CASE WHEN p_sprec IS NOT NULL THEN ' AND bb_sprec_matches(s.sprec, $13)' ELSE '' END
		|| ' ORDER BY s.serial
			 LIMIT $9
		),
		box_paths AS (
			SELECT b.id, b.barcode,
			       (SELECT string_agg(x, '' / '') FROM jsonb_array_elements_text(
					bb_location_path(b.location_id) || to_jsonb(b.barcode)) x) AS path
			  FROM boxes b WHERE b.id IN (SELECT box_id FROM hits)
		)
		SELECT h.serial, h.id, h.tube_barcode, h.type, st.code, p.code, h.timepoint,
		       bb_rfc3339(h.collected_at), h.status, trim_scale(h.quantity)::text, h.unit, h.parent_id,
		       h.derivation, h.freeze_thaw_count, h.consent_withdrawn, bp.barcode,
		       bb_position_name(h.pos_row, h.pos_col), bp.path, h.notes, bb_rfc3339(h.created_at),
		       h.sprec, h.protocol_version
		  FROM hits h
		  JOIN participants p ON p.id = h.participant_id
		  JOIN studies st ON st.id = p.study_id
		  LEFT JOIN box_paths bp ON bp.id = h.box_id
		 ORDER BY h.serial'
		USING p_study, p_participant, p_type, bb_timepoint(p_timepoint), p_status, p_box, p_studies, p_after, p_limit,
		      v_study, v_box, bb_location_boxes(bb_location_filter(p_location)), p_sprec;
END $$;
COMMENT ON FUNCTION bb_specimen_csv_rows(text, text, text, text, text, text, bigint[], bigint, integer, text, bigint, jsonb) IS 'A chunk of specimens for the CSV export: the filters of bb_specimen_list (entries in error only when asked for), after a serial, in issue order (PL/pgSQL: a statement with only the filters given, so that the right index leads).';

CREATE OR REPLACE FUNCTION bb_fhir_status(status text, consent_withdrawn boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN status = 'entered_in_error' THEN 'entered-in-error'
		    WHEN status IN ('registered', 'in_storage') AND NOT consent_withdrawn
		    THEN 'available' ELSE 'unavailable' END;
$$;
COMMENT ON FUNCTION bb_fhir_status(text, boolean) IS 'FHIR Specimen.status for ours: available when registered or stored with consent standing, entered-in-error for an entry in error, else unavailable (see docs/fhir.md).';

CREATE OR REPLACE FUNCTION bb_fhir_specimen(s specimens) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- PL/pgSQL so that the plan is cached: a SQL function is planned again at every call (before PostgreSQL 18), which at a bulk export's 10^6 calls was most of its time.
	RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
		'resourceType', 'Specimen',
		'id', s.id,
		'meta', jsonb_build_object('lastUpdated', (SELECT bb_rfc3339(e.at) FROM events e
			WHERE e.specimen_id = s.id AND e.seq = s.ledger_seq)),
		'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:biobank:specimen', 'value', s.id)),
		'accessionIdentifier', jsonb_build_object('system', 'urn:biobank:specimen', 'value', (
			WITH RECURSIVE up (id, parent_id, depth) AS (
				SELECT s.id, s.parent_id, 0
				UNION ALL
				SELECT x.id, x.parent_id, up.depth + 1 FROM specimens x JOIN up ON x.id = up.parent_id)
			SELECT id FROM up ORDER BY depth DESC LIMIT 1)),
		'status', bb_fhir_status(s.status, s.consent_withdrawn),
		'type', jsonb_build_object(
			'coding', jsonb_build_array(jsonb_build_object('system', 'urn:biobank:specimen-type',
				'code', s.type, 'display', t.name)) || COALESCE((
				SELECT jsonb_agg(jsonb_build_object('system', f.system, 'code', f.code,
					'display', f.display) ORDER BY f.system)
				  FROM fhir_type_codes f WHERE f.type = s.type), '[]'),
			'text', t.name),
		'subject', jsonb_build_object('reference', 'Patient/' || p.id, 'type', 'Patient',
			'identifier', jsonb_build_object('system', 'urn:biobank:participant',
				'value', st.code || '/' || p.code),
			'display', st.code || '/' || p.code),
		'receivedTime', bb_rfc3339(s.created_at),
		'parent', CASE WHEN s.parent_id IS NULL THEN NULL ELSE
			jsonb_build_array(jsonb_build_object('reference', 'Specimen/' || s.parent_id)) END,
		'collection', jsonb_build_object('collectedDateTime', bb_rfc3339(s.collected_at)),
		'processing', bb_fhir_sprec_processing(s.sprec),
		-- FHIR allows no empty element (ele-1): no container without something to say of it.
		'container', CASE WHEN s.tube_barcode IS NOT NULL OR s.quantity IS NOT NULL OR s.box_id IS NOT NULL
			THEN jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
			'identifier', CASE WHEN s.tube_barcode IS NULL THEN NULL ELSE jsonb_build_array(
				jsonb_build_object('system', 'urn:biobank:tube-barcode', 'value', s.tube_barcode)) END,
			'specimenQuantity', CASE WHEN s.quantity IS NULL THEN NULL ELSE
				jsonb_strip_nulls(jsonb_build_object('value', trim_scale(s.quantity), 'unit', s.unit)) END,
			'extension', CASE WHEN s.box_id IS NULL THEN NULL ELSE jsonb_build_array(
				jsonb_build_object('url', 'urn:biobank:fhir:storage-location',
					'valueString', (SELECT string_agg(x, ' / ') FROM jsonb_array_elements_text(
						bb_location_path(b.location_id)) x)
						|| ' / ' || b.barcode || ' / ' || bb_position_name(s.pos_row, s.pos_col))) END))) END,
		'extension', jsonb_build_array(
			jsonb_build_object('url', 'urn:biobank:fhir:specimen-status', 'valueCode', s.status),
			jsonb_build_object('url', 'urn:biobank:fhir:consent-withdrawn', 'valueBoolean', s.consent_withdrawn),
			jsonb_build_object('url', 'urn:biobank:fhir:timepoint', 'valueString', s.timepoint)),
		'note', CASE WHEN s.notes IS NULL THEN NULL ELSE
			jsonb_build_array(jsonb_build_object('text', s.notes)) END,
		-- Issue 18: a tube past a limit of its type (docs/fhir.md).
		'condition', bb_fhir_conditions(bb_specimen_flags(s))))
	  FROM participants p JOIN studies st ON st.id = p.study_id
	  JOIN specimen_types t ON t.code = s.type
	  LEFT JOIN boxes b ON b.id = s.box_id
	 WHERE p.id = s.participant_id);
END $$;
COMMENT ON FUNCTION bb_fhir_specimen(specimens) IS 'A specimen as a FHIR R4 Specimen resource (mapping in docs/fhir.md).';

CREATE OR REPLACE FUNCTION bb_fhir_specimen_get(ref text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN bb_fhir_specimen(bb_specimen_visible(ref, studies));
END $$;
COMMENT ON FUNCTION bb_fhir_specimen_get(text, bigint[]) IS 'GET /api/v1/specimens/{id}/fhir: the FHIR Specimen, or BB404.';

/*
 * A participant as a FHIR R4 Patient: pseudonymous, so only the surrogate
 * key (its id) and STUDY/CODE; never sex, birth year or diagnosis.
 */
CREATE OR REPLACE FUNCTION bb_fhir_patient(p participants) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- PL/pgSQL: its plan cached (see bb_fhir_specimen).
	RETURN (SELECT jsonb_build_object(
		'resourceType', 'Patient',
		'id', p.id::text,
		'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:biobank:participant',
			'value', st.code || '/' || p.code)))
	  FROM studies st WHERE st.id = p.study_id);
END $$;
COMMENT ON FUNCTION bb_fhir_patient(participants) IS 'A participant as a pseudonymous FHIR R4 Patient: id and STUDY/CODE only (docs/fhir.md).';

CREATE OR REPLACE FUNCTION bb_fhir_patient_get(pid text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	p participants;
BEGIN
	IF pid ~ '^[1-9][0-9]{0,17}$' THEN
		SELECT * INTO p FROM participants x
		 WHERE x.id = pid::bigint AND (studies IS NULL OR x.study_id = ANY (studies));
	END IF;
	IF p.id IS NULL THEN
		PERFORM bb_fail('BB404', 'participant-not-found', NULL, 'no participant ' || pid);
	END IF;
	RETURN bb_fhir_patient(p);
END $$;
COMMENT ON FUNCTION bb_fhir_patient_get(text, bigint[]) IS 'GET /api/v1/fhir/Patient/{id}: the pseudonymous FHIR Patient within the caller''s studies, or BB404.';

/*
 * A storage location as a FHIR R4 Location: its kind as our code (and
 * HL7's physical type for a site or room), the one above it as partOf,
 * its barcode when it has one. Not limited by study, as /api/v1/locations.
 */
CREATE OR REPLACE FUNCTION bb_fhir_location_get(lid text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	l locations;
BEGIN
	IF lid ~ '^[1-9][0-9]{0,17}$' THEN
		SELECT * INTO l FROM locations x WHERE x.id = lid::bigint;
	END IF;
	IF l.id IS NULL THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, 'no location ' || lid);
	END IF;
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'resourceType', 'Location',
		'id', l.id::text,
		'identifier', CASE WHEN l.barcode IS NULL THEN NULL ELSE jsonb_build_array(
			jsonb_build_object('system', 'urn:biobank:location-barcode', 'value', l.barcode)) END,
		'status', 'active',
		'name', l.name,
		'mode', 'instance',
		'physicalType', jsonb_build_object('coding',
			jsonb_build_array(jsonb_build_object('system', 'urn:biobank:location-kind', 'code', l.kind))
			|| CASE l.kind
				WHEN 'site' THEN jsonb_build_array(jsonb_build_object('system',
					'http://terminology.hl7.org/CodeSystem/location-physical-type', 'code', 'si',
					'display', 'Site'))
				WHEN 'room' THEN jsonb_build_array(jsonb_build_object('system',
					'http://terminology.hl7.org/CodeSystem/location-physical-type', 'code', 'ro',
					'display', 'Room'))
				ELSE '[]' END),
		'partOf', CASE WHEN l.parent_id IS NULL THEN NULL ELSE
			jsonb_build_object('reference', 'Location/' || l.parent_id) END,
		'extension', CASE WHEN l.temperature_c IS NULL THEN NULL ELSE jsonb_build_array(
			jsonb_build_object('url', 'urn:biobank:fhir:temperature-celsius',
				'valueDecimal', trim_scale(l.temperature_c))) END));
END $$;
COMMENT ON FUNCTION bb_fhir_location_get(text) IS 'GET /api/v1/fhir/Location/{id}: a storage location as a FHIR R4 Location, or BB404.';

/* A study as a FHIR R4 ResearchStudy (the read below, and bulk exports). */
CREATE OR REPLACE FUNCTION bb_fhir_research_study(st studies) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- PL/pgSQL: its plan cached (see bb_fhir_specimen).
	RETURN (SELECT jsonb_build_object(
		'resourceType', 'ResearchStudy',
		'id', st.id::text,
		'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:biobank:study',
			'value', st.code)),
		'title', st.name,
		'status', 'active'));
END $$;
COMMENT ON FUNCTION bb_fhir_research_study(studies) IS 'A study as a FHIR R4 ResearchStudy (docs/fhir.md).';

/* The study a FHIR URL's id names for a caller (ResearchStudy and Group reads). */
CREATE OR REPLACE FUNCTION bb_fhir_study_visible(sid text, studies bigint[]) RETURNS studies
LANGUAGE plpgsql STABLE AS $$
DECLARE
	st studies;
BEGIN
	IF sid ~ '^[1-9][0-9]{0,17}$' THEN
		SELECT * INTO st FROM studies x
		 WHERE x.id = sid::bigint AND (studies IS NULL OR x.id = ANY (studies));
	END IF;
	IF st.id IS NULL THEN
		PERFORM bb_fail('BB404', 'study-not-found', NULL, 'no study ' || sid);
	END IF;
	RETURN st;
END $$;
COMMENT ON FUNCTION bb_fhir_study_visible(text, bigint[]) IS 'The study a FHIR id (a study''s serial) names within the given studies (NULL: all); BB404 study-not-found otherwise.';

/* A study as a FHIR R4 ResearchStudy, within the caller's studies. */
CREATE OR REPLACE FUNCTION bb_fhir_research_study_get(sid text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN bb_fhir_research_study(bb_fhir_study_visible(sid, studies));
END $$;
COMMENT ON FUNCTION bb_fhir_research_study_get(text, bigint[]) IS 'GET /api/v1/fhir/ResearchStudy/{id}: a study as a FHIR R4 ResearchStudy within the caller''s studies, or BB404.';

/*
 * A FHIR searchset Bundle. subject is "STUDY/CODE"; type is our type code
 * or a code of fhir_type_codes (sys: its system, or NULL for either); status
 * a FHIR status. base is the absolute URL prefix for fullUrl and links;
 * after the last serial of the previous page.
 */
DROP FUNCTION IF EXISTS bb_fhir_specimen_search(text, text, text, text, bigint[], bigint, integer, text, text);
DROP FUNCTION IF EXISTS bb_fhir_specimen_search(text, text, text, text, bigint[], bigint, integer, text, text, text);
/*
 * collected_ops (eq, gt, ge, lt, le) and collected_values (each a date, a
 * whole UTC day, or a date-time) bound collected_at, all of them at once (a
 * range); ident_* and cont_* are the
 * tokens of identifier (the specimen ID) and container-id (the tube
 * barcode): a system other than ours matches nothing. patient_id: the
 * participant (FHIR Patient id) of ?patient=.
 */
CREATE OR REPLACE FUNCTION bb_fhir_specimen_search(subject text, type_system text, type_code text, fhir_status text,
	studies bigint[], after bigint, lim integer, base text, query text, in_error text,
	collected_ops text[], collected_values text[], ident_system text, ident_value text,
	cont_system text, cont_value text, patient_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	with_errors boolean := bb_include_in_error(in_error);
	coll_start timestamptz;
	coll_end timestamptz;
	coll_lo timestamptz;
	coll_hi timestamptz;
	i integer;
	subj_study text := split_part(subject, '/', 1);
	subj_code text := substr(subject, length(split_part(subject, '/', 1)) + 2);
	types text[];
	j jsonb;
BEGIN
	IF subject IS NOT NULL AND (subj_study = '' OR subj_code = '') THEN
		PERFORM bb_fail('BB400', 'value-malformed', 'subject',
			'must be STUDY/CODE, e.g. MASC/P001');
	END IF;
	IF fhir_status IS NOT NULL AND fhir_status NOT IN ('available', 'unavailable', 'unsatisfactory', 'entered-in-error') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'status',
			'must be one of: available, unavailable, unsatisfactory, entered-in-error');
	END IF;
	IF type_code IS NOT NULL THEN
		SELECT array_agg(DISTINCT x) INTO types FROM (
			SELECT t.code AS x FROM specimen_types t
			 WHERE t.code = type_code AND (type_system IS NULL OR type_system = 'urn:biobank:specimen-type')
			UNION ALL
			SELECT f.type FROM fhir_type_codes f
			 WHERE f.code = type_code AND (type_system IS NULL OR f.system = type_system)) y;
		types := COALESCE(types, '{}');
	END IF;
	-- Each bound narrows [coll_lo, coll_hi); a date is the whole UTC day, a date-time the instant.
	FOR i IN 1 .. COALESCE(array_length(collected_values, 1), 0) LOOP
		IF length(collected_values[i]) = 10 THEN
			coll_start := (collected_values[i] || 'T00:00:00Z')::timestamptz;
			coll_end := coll_start + interval '1 day';
		ELSE
			coll_start := collected_values[i]::timestamptz;
			coll_end := coll_start + interval '1 microsecond';
		END IF;
		IF collected_ops[i] IN ('eq', 'ge') THEN
			coll_lo := greatest(coll_lo, coll_start);
		ELSIF collected_ops[i] = 'gt' THEN
			coll_lo := greatest(coll_lo, coll_end);
		END IF;
		IF collected_ops[i] IN ('eq', 'le') THEN
			coll_hi := least(coll_hi, coll_end);
		ELSIF collected_ops[i] = 'lt' THEN
			coll_hi := least(coll_hi, coll_start);
		END IF;
	END LOOP;
	WITH hits AS (
		SELECT s.* FROM specimens s
		 WHERE (studies IS NULL OR s.study_id = ANY (studies))
		   AND (subject IS NULL OR s.participant_id IN (SELECT p.id FROM participants p
			JOIN studies st ON st.id = p.study_id WHERE st.code = subj_study AND p.code = subj_code))
		   AND (type_code IS NULL OR s.type = ANY (types))
		   AND (fhir_status IS NULL OR bb_fhir_status(s.status, s.consent_withdrawn) = fhir_status)
		   AND (fhir_status IS NOT NULL OR with_errors OR s.status <> 'entered_in_error')
		   AND (patient_id IS NULL OR s.participant_id = patient_id)
		   AND (coll_lo IS NULL OR s.collected_at >= coll_lo)
		   AND (coll_hi IS NULL OR s.collected_at < coll_hi)
		   AND (ident_value IS NULL OR (COALESCE(ident_system, 'urn:biobank:specimen') = 'urn:biobank:specimen'
			AND s.id = ident_value))
		   AND (cont_value IS NULL OR (COALESCE(cont_system, 'urn:biobank:tube-barcode') = 'urn:biobank:tube-barcode'
			AND s.tube_barcode = cont_value))
	),
	page AS (
		SELECT h.*, row_number() OVER (ORDER BY h.serial) AS n FROM hits h
		 WHERE h.serial > COALESCE(after, 0)
		 ORDER BY h.serial LIMIT lim + 1
	)
	SELECT jsonb_build_object(
		'resourceType', 'Bundle',
		'type', 'searchset',
		'total', (SELECT count(*) FROM hits),
		'link', jsonb_build_array(jsonb_build_object('relation', 'self',
			'url', base || '/api/v1/fhir/Specimen' || query))
			-- _count=0: the total alone, and nothing to continue with.
			|| CASE WHEN lim > 0 AND (SELECT count(*) FROM page) > lim THEN jsonb_build_array(jsonb_build_object(
				'relation', 'next', 'url', base || '/api/v1/fhir/Specimen' || query
				|| CASE WHEN query = '' THEN '?' ELSE '&' END || '_cursor=' ||
				(SELECT max(serial) FROM page WHERE n <= lim))) ELSE '[]' END,
		-- An empty page has no entry at all: FHIR JSON has no empty arrays.
		'entry', (SELECT jsonb_agg(jsonb_build_object(
			'fullUrl', base || '/api/v1/fhir/Specimen/' || x.id,
			'resource', bb_fhir_specimen(x),
			'search', jsonb_build_object('mode', 'match')) ORDER BY x.serial)
			  FROM specimens x WHERE x.id IN (SELECT id FROM page WHERE n <= lim)))
	  INTO j;
	j := jsonb_strip_nulls(j);
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_fhir_specimen_search(text, text, text, text, bigint[], bigint, integer, text, text, text, text[], text[], text, text, text, text, bigint) IS 'GET /api/v1/fhir/Specimen: a FHIR searchset Bundle of Specimen resources within the caller''s studies; entries in error only when in_error is true or status is entered-in-error.';
