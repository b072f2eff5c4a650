-- functions/protocols.sql — Study protocols (versioned timepoints and the
-- specimens each should yield), the timepoint rule they put on specimens,
-- SPREC codes, visits and the completeness report (issue 17;
-- docs/api-protocols.md, docs/sprec.md).
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

-- SPREC -------------------------------------------------------------------

-- Element names as the API writes them (filters, problems, JSON), per kind.
CREATE OR REPLACE FUNCTION bb_sprec_element_name(kind text, element integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN kind = 'solid' THEN (ARRAY['sample_type', 'collection', 'warm_ischemia',
			'cold_ischemia', 'fixation', 'fixation_time', 'storage'])[element]
		    ELSE (ARRAY['sample_type', 'container', 'pre_centrifugation', 'centrifugation',
			'second_centrifugation', 'post_centrifugation', 'storage'])[element] END;
$$;
COMMENT ON FUNCTION bb_sprec_element_name(text, integer) IS 'The API''s name of element 1..7 of a fluid or solid SPREC code.';

/*
 * Which of the two codes a SPREC code is: solid tissue when its type of
 * sample is only a tissue's or its second element is a type of collection,
 * else fluid. CEN, CLN, PEN and ZZZ are types of both; their second element
 * (a container or a collection) tells them apart, the two lists sharing only
 * ZZZ.
 */
CREATE OR REPLACE FUNCTION bb_sprec_kind(code text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN split_part(code, '-', 1) IN ('FNA', 'HAR', 'LCM', 'PLC', 'TIS', 'TCM')
		      OR split_part(code, '-', 2) IN ('A06', 'A12', 'A24', 'A48', 'A72', 'BCM', 'BPS',
			'BSL', 'BTM', 'FNA', 'PUN', 'SCM', 'SRG', 'SSL', 'STM', 'VAC', 'SWB')
		    THEN 'solid' ELSE 'fluid' END;
$$;
COMMENT ON FUNCTION bb_sprec_kind(text) IS 'fluid or solid: which SPREC table a code is read against.';

/*
 * A SPREC code as given (any case, blanks around it): its stored spelling
 * (upper case), its kind, or the refusals naming field: one for a code
 * that is not seven elements, else one per element not in its table, each
 * naming the element, the value and the codes allowed.
 */
CREATE OR REPLACE FUNCTION bb_sprec_check(code text, field text, OUT norm text, OUT kind text, OUT errs jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	parts text[];
	allowed text[];
BEGIN
	errs := '[]';
	IF code IS NULL THEN
		RETURN;
	END IF;
	norm := upper(btrim(code));
	parts := string_to_array(norm, '-');
	IF cardinality(parts) <> 7 OR norm !~ '^[A-Z0-9]{1,3}(-[A-Z0-9]{1,3}){6}$' THEN
		errs := jsonb_build_array(bb_refusal('BB400', 'sprec-invalid', field,
			format('"%s" is not a SPREC code: seven elements joined by "-", such as SER-SST-A-B-N-B-A', code),
			jsonb_build_object('sprec', code)));
		norm := NULL;
		RETURN;
	END IF;
	kind := bb_sprec_kind(norm);
	FOR i IN 1..7 LOOP
		IF NOT EXISTS (SELECT 1 FROM sprec_codes c WHERE c.kind = bb_sprec_check.kind AND c.element = i
				AND c.code = parts[i]) THEN
			SELECT array_agg(c.code ORDER BY c.code) INTO allowed FROM sprec_codes c
			 WHERE c.kind = bb_sprec_check.kind AND c.element = i;
			errs := errs || bb_refusal('BB400', 'sprec-invalid', field,
				format('element %s (%s) of this %s code is %s, not a code of that element; use one of: %s',
					i, bb_sprec_element_name(kind, i), kind, parts[i], array_to_string(allowed, ', ')),
				jsonb_build_object('sprec', norm, 'sprec_kind', kind, 'element', bb_sprec_element_name(kind, i),
					'position', i, 'value', parts[i], 'allowed', to_jsonb(allowed)));
		END IF;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		norm := NULL;
	END IF;
END $$;
COMMENT ON FUNCTION bb_sprec_check(text, text) IS 'Reads a SPREC code element by element against sprec_codes: its spelling and kind, or the refusals naming field.';

-- The code of a fluid delay element (3 or 6) for a delay of hours at a temperature.
CREATE OR REPLACE FUNCTION bb_sprec_delay_code(element integer, hours numeric, temperature text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT c.code FROM sprec_codes c
	 WHERE c.kind = 'fluid' AND c.element = bb_sprec_delay_code.element
	   AND c.temperature = bb_sprec_delay_code.temperature
	   AND hours >= c.min_hours AND (c.max_hours IS NULL OR hours < c.max_hours)
	 ORDER BY c.min_hours DESC LIMIT 1;
$$;
COMMENT ON FUNCTION bb_sprec_delay_code(integer, numeric, text) IS 'The pre- (3) or post-centrifugation (6) delay code for so many hours at rt, cold or body temperature; NULL when the table has none.';

-- Element position of code replaced by value.
CREATE OR REPLACE FUNCTION bb_sprec_with(code text, element integer, value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT array_to_string((SELECT array_agg(CASE WHEN i = element THEN value ELSE p END ORDER BY i)
		FROM unnest(string_to_array(code, '-')) WITH ORDINALITY x(p, i)), '-');
$$;
COMMENT ON FUNCTION bb_sprec_with(text, integer, text) IS 'A SPREC code with one element replaced.';

/*
 * The specimen list's SPREC filter, as C builds it from the sprec_* query
 * parameters: {"elements": {"3": ["A", "B"]}, "pre_max_hours": 2,
 * "post_max_hours": 1}. Elements 2 to 6 mean different things in the two
 * kinds: they are compared on fluid codes only, as the hours are.
 */
CREATE OR REPLACE FUNCTION bb_sprec_matches(sprec text, f jsonb) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT sprec IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM jsonb_each(COALESCE(f -> 'elements', '{}')) e(k, v)
		WHERE NOT (split_part(sprec, '-', k::integer) IN (SELECT jsonb_array_elements_text(v)))
		   OR (k::integer BETWEEN 2 AND 6 AND bb_sprec_kind(sprec) <> 'fluid'))
	   AND (f -> 'pre_max_hours' IS NULL OR (bb_sprec_kind(sprec) = 'fluid' AND EXISTS (
		SELECT 1 FROM sprec_codes c WHERE c.kind = 'fluid' AND c.element = 3
		   AND c.code = split_part(sprec, '-', 3) AND c.max_hours <= (f ->> 'pre_max_hours')::numeric)))
	   AND (f -> 'post_max_hours' IS NULL OR (bb_sprec_kind(sprec) = 'fluid' AND EXISTS (
		SELECT 1 FROM sprec_codes c WHERE c.kind = 'fluid' AND c.element = 6
		   AND c.code = split_part(sprec, '-', 6) AND c.max_hours <= (f ->> 'post_max_hours')::numeric)));
$$;
COMMENT ON FUNCTION bb_sprec_matches(text, jsonb) IS 'Whether a specimen''s SPREC code passes the list''s sprec_* filters (NULL code: never).';

-- GET /api/v1/sprec-codes: the tables, for forms and for checking.
CREATE OR REPLACE FUNCTION bb_sprec_codes_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('items', COALESCE(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
		'kind', c.kind, 'position', c.element, 'element', bb_sprec_element_name(c.kind, c.element),
		'code', c.code, 'meaning', c.meaning, 'temperature', c.temperature,
		'min_hours', c.min_hours, 'max_hours', c.max_hours))
		ORDER BY c.kind, c.element, c.code), '[]'), 'next_cursor', NULL)
	  FROM sprec_codes c;
$$;
COMMENT ON FUNCTION bb_sprec_codes_list() IS 'Every SPREC code of both tables, by kind, element and code.';

-- Protocols -----------------------------------------------------------------

-- The version in force of a study's protocol (NULL: the study has none).
CREATE OR REPLACE FUNCTION bb_protocol_current(study bigint) RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT max(v.version) FROM protocol_versions v WHERE v.study_id = study;
$$;
COMMENT ON FUNCTION bb_protocol_current(bigint) IS 'The highest protocol version of a study, or NULL.';

CREATE OR REPLACE FUNCTION bb_protocol_json(study bigint, ver integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('study', st.code, 'version', v.version,
		'current', v.version = bb_protocol_current(study),
		'reason', v.reason, 'created_at', bb_rfc3339(v.created_at), 'created_by', v.created_by,
		'timepoints', COALESCE((SELECT jsonb_agg(jsonb_build_object('code', t.code, 'label', t.label,
			'order', t.ord, 'day_offset', t.day_offset, 'window_days', t.window_days,
			'specimens', COALESCE((SELECT jsonb_agg(jsonb_build_object('type', x.type,
				'aliquots', x.aliquots,
				'quantity', CASE WHEN x.quantity IS NULL THEN NULL ELSE
					jsonb_build_object('value', trim_scale(x.quantity), 'unit', x.unit) END,
				'sprec', x.sprec) ORDER BY x.type)
			  FROM protocol_specimens x WHERE x.study_id = t.study_id AND x.version = t.version
			   AND x.timepoint = t.code), '[]')) ORDER BY t.ord, t.code)
		  FROM protocol_timepoints t WHERE t.study_id = study AND t.version = ver), '[]'))
	  FROM protocol_versions v JOIN studies st ON st.id = v.study_id
	 WHERE v.study_id = study AND v.version = ver;
$$;
COMMENT ON FUNCTION bb_protocol_json(bigint, integer) IS 'One version of a study''s protocol as the API shows it.';

-- The study named by a URL, within the caller's studies: BB404 otherwise.
CREATE OR REPLACE FUNCTION bb_study_at(code text, studies bigint[]) RETURNS studies
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s studies;
BEGIN
	SELECT * INTO s FROM studies st WHERE st.code = bb_study_at.code
	   AND (studies IS NULL OR st.id = ANY (studies));
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'study-not-found', NULL, format('no study %s', code),
			jsonb_build_object('study', code));
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION bb_study_at(text, bigint[]) IS 'The study a URL names, within the caller''s studies, or BB404 study-not-found.';

-- GET /api/v1/studies/{code}/protocol[/versions/{version}].
CREATE OR REPLACE FUNCTION bb_protocol_get(code text, ver bigint, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s studies := bb_study_at(code, studies);
	v integer := COALESCE(ver, bb_protocol_current(s.id));
BEGIN
	IF v IS NULL OR NOT EXISTS (SELECT 1 FROM protocol_versions x WHERE x.study_id = s.id AND x.version = v) THEN
		PERFORM bb_fail('BB404', 'protocol-not-found', NULL,
			CASE WHEN ver IS NULL THEN format('study %s has no protocol yet', code)
			     ELSE format('study %s has no protocol version %s', code, ver) END,
			jsonb_strip_nulls(jsonb_build_object('study', code, 'version', ver,
				'current_version', bb_protocol_current(s.id))));
	END IF;
	RETURN bb_protocol_json(s.id, v);
END $$;
COMMENT ON FUNCTION bb_protocol_get(text, bigint, bigint[]) IS 'A study''s protocol, the version in force or the one asked for; BB404 protocol-not-found.';

CREATE OR REPLACE FUNCTION bb_protocol_versions(code text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s studies := bb_study_at(code, studies);
BEGIN
	RETURN jsonb_build_object('items', COALESCE((SELECT jsonb_agg(jsonb_build_object('version', v.version,
		'reason', v.reason, 'created_at', bb_rfc3339(v.created_at), 'created_by', v.created_by,
		'timepoints', (SELECT count(*) FROM protocol_timepoints t WHERE t.study_id = v.study_id
			AND t.version = v.version)) ORDER BY v.version DESC)
	  FROM protocol_versions v WHERE v.study_id = s.id), '[]'), 'next_cursor', NULL);
END $$;
COMMENT ON FUNCTION bb_protocol_versions(text, bigint[]) IS 'Every version of a study''s protocol, newest first.';

/*
 * PUT /api/v1/studies/{code}/protocol: the whole protocol as it shall be,
 * made its next version. C has checked the shape (types, sizes, unknown
 * fields: h_protocol_put); here what needs the database or the whole list,
 * every slip at once: timepoint codes in their one spelling and each once,
 * specimen types known and each once per timepoint, SPREC defaults valid.
 * The study row is locked, so two managers saving at once make two
 * versions one after the other; one who gives expected_version (the
 * version read) is refused if another saved in between.
 */
CREATE OR REPLACE FUNCTION bb_protocol_put(code text, timepoints jsonb, reason text, expected_version integer,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s studies;
	cur integer;
	nv integer;
	errs jsonb := '[]';
	tp jsonb;
	sp jsonb;
	i integer := 0;
	j integer;
	tcode text;
	seen text[] := '{}';
	types_seen text[];
	chk record;
	before jsonb;
	after jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_study_at(code, studies);
	PERFORM 1 FROM studies st WHERE st.id = s.id FOR UPDATE;
	cur := bb_protocol_current(s.id);
	IF expected_version IS NOT NULL AND expected_version IS DISTINCT FROM COALESCE(cur, 0) THEN
		PERFORM bb_fail('BB409', 'protocol-changed', 'expected_version',
			format('the protocol of study %s is at version %s, not %s: read it again and make your change on it',
				code, COALESCE(cur, 0), expected_version),
			jsonb_build_object('study', code, 'current_version', COALESCE(cur, 0)));
	END IF;
	FOR tp IN SELECT x FROM jsonb_array_elements(timepoints) x LOOP
		tcode := bb_timepoint(tp ->> 'code');
		IF tcode !~ '^[a-z0-9][a-z0-9_.-]{0,39}$' THEN
			errs := errs || bb_refusal('BB400', 'value-malformed', format('timepoints[%s].code', i),
				format('"%s" is not a timepoint code: lower-case letters, digits, _ . - (such as baseline, m12)', tp ->> 'code'));
		ELSIF tcode = ANY (seen) THEN
			errs := errs || bb_refusal('BB400', 'listed-twice', format('timepoints[%s].code', i),
				format('timepoint %s is listed twice', tcode), jsonb_build_object('timepoint', tcode));
		END IF;
		seen := seen || tcode;
		types_seen := '{}';
		j := 0;
		FOR sp IN SELECT x FROM jsonb_array_elements(COALESCE(tp -> 'specimens', '[]')) x LOOP
			sp := jsonb_set(sp, '{type}', to_jsonb(btrim(sp ->> 'type')));
			IF NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = sp ->> 'type') THEN
				errs := errs || bb_refusal('BB400', 'unknown-specimen-type',
					format('timepoints[%s].specimens[%s].type', i, j),
					format('%s is not a specimen type', sp ->> 'type'),
					jsonb_build_object('specimen_type', sp ->> 'type'));
			ELSIF sp ->> 'type' = ANY (types_seen) THEN
				errs := errs || bb_refusal('BB400', 'listed-twice',
					format('timepoints[%s].specimens[%s].type', i, j),
					format('type %s is listed twice at timepoint %s', sp ->> 'type', tcode));
			END IF;
			types_seen := types_seen || (sp ->> 'type');
			IF (sp #>> '{quantity,value}')::numeric <= 0 THEN
				errs := errs || bb_refusal('BB400', 'value-out-of-range',
					format('timepoints[%s].specimens[%s].quantity.value', i, j),
					'must be more than 0 (leave quantity out when it is not stated)');
			END IF;
			SELECT * INTO chk FROM bb_sprec_check(sp ->> 'sprec', format('timepoints[%s].specimens[%s].sprec', i, j));
			errs := errs || chk.errs;
			j := j + 1;
		END LOOP;
		i := i + 1;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;

	nv := COALESCE(cur, 0) + 1;
	INSERT INTO protocol_versions (study_id, version, reason) VALUES (s.id, nv, reason);
	INSERT INTO protocol_timepoints (study_id, version, code, label, ord, day_offset, window_days)
	SELECT s.id, nv, bb_timepoint(x ->> 'code'), btrim(x ->> 'label'), COALESCE((x ->> 'order')::integer, n::integer - 1),
	       (x ->> 'day_offset')::integer, COALESCE((x ->> 'window_days')::integer, 0)
	  FROM jsonb_array_elements(timepoints) WITH ORDINALITY y(x, n);
	INSERT INTO protocol_specimens (study_id, version, timepoint, type, aliquots, quantity, unit, sprec)
	SELECT s.id, nv, bb_timepoint(x ->> 'code'), btrim(e ->> 'type'), COALESCE((e ->> 'aliquots')::integer, 1),
	       (e #>> '{quantity,value}')::numeric, btrim(e #>> '{quantity,unit}'),
	       (SELECT c.norm FROM bb_sprec_check(e ->> 'sprec', NULL) c)
	  FROM jsonb_array_elements(timepoints) x, jsonb_array_elements(COALESCE(x -> 'specimens', '[]')) e;
	before := CASE WHEN cur IS NULL THEN NULL ELSE bb_protocol_json(s.id, cur) END;
	after := bb_protocol_json(s.id, nv);
	INSERT INTO audit_log (entity, entity_id, action, before, after, reason)
	VALUES ('protocol', s.code, CASE WHEN cur IS NULL THEN 'create' ELSE 'update' END,
		before - 'current', (after - 'current') || jsonb_build_object('study_id', s.id), reason);
	RETURN after;
END $$;
COMMENT ON FUNCTION bb_protocol_put(text, jsonb, text, integer, bigint[], text, bigint) IS 'Saves a study''s protocol as its next version (checked whole, every slip at once), with an audit-log row holding before and after.';

-- The timepoint rule and the defaults a protocol puts on new specimens -------

/*
 * Before a specimen is written: one without a parent, of a study with a
 * protocol, must be at one of the timepoints of the version in force
 * (bb_timepoint has already given it its one spelling), and records that
 * version; its SPREC code is the one registration gave (bb.sprec, set by
 * bb_specimen_register_with), else the protocol's default for its type at
 * that timepoint, with the delay elements the bench's processing times set
 * (bb.sprec_processing). Aliquots and derivatives take their parent's
 * timepoint and version; an aliquot its parent's code too (a derivative is
 * other material). An update of the timepoint (a correction, a mapping)
 * is held to the same rule; the version stays the one it was collected under.
 */
CREATE OR REPLACE FUNCTION bb_specimens_protocol() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	v integer;
	allowed text[];
	given text;
	proc jsonb;
	parent specimens;
	hours numeric;
	code text;
BEGIN
	IF NEW.parent_id IS NOT NULL THEN
		IF TG_OP = 'INSERT' THEN
			SELECT * INTO parent FROM specimens WHERE id = NEW.parent_id;
			NEW.protocol_version := parent.protocol_version;
			IF NEW.derivation = 'aliquot' THEN
				NEW.sprec := COALESCE(NEW.sprec, parent.sprec);
			END IF;
		END IF;
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.timepoint IS NOT DISTINCT FROM OLD.timepoint THEN
		RETURN NEW;
	END IF;
	v := bb_protocol_current(NEW.study_id);
	IF v IS NOT NULL THEN
		SELECT array_agg(t.code ORDER BY t.ord, t.code) INTO allowed FROM protocol_timepoints t
		 WHERE t.study_id = NEW.study_id AND t.version = v;
		IF NOT NEW.timepoint = ANY (allowed) THEN
			PERFORM bb_fail('BB400', 'timepoint-not-in-protocol', 'timepoint',
				format('%s is not a timepoint of the protocol of study %s (version %s); use one of: %s',
					NEW.timepoint, (SELECT st.code FROM studies st WHERE st.id = NEW.study_id), v,
					array_to_string(allowed, ', ')),
				jsonb_build_object('timepoint', NEW.timepoint, 'allowed', to_jsonb(allowed),
					'protocol_version', v));
		END IF;
	END IF;
	IF TG_OP = 'UPDATE' THEN
		RETURN NEW;
	END IF;
	NEW.protocol_version := v;
	given := NULLIF(current_setting('bb.sprec', true), '');
	NEW.sprec := COALESCE(given, NEW.sprec, (SELECT x.sprec FROM protocol_specimens x
		WHERE x.study_id = NEW.study_id AND x.version = v AND x.timepoint = NEW.timepoint
		  AND x.type = NEW.type));
	proc := NULLIF(current_setting('bb.sprec_processing', true), '')::jsonb;
	IF proc IS NOT NULL THEN
		IF NEW.sprec IS NULL OR bb_sprec_kind(NEW.sprec) <> 'fluid' THEN
			PERFORM bb_fail('BB400', 'sprec-invalid', 'processing',
				CASE WHEN NEW.sprec IS NULL
				     THEN 'processing times set the delay elements of a SPREC code: give sprec, or a default for this type and timepoint in the protocol'
				     ELSE format('processing times set the delays of a fluid SPREC code; %s is a solid tissue code', NEW.sprec) END);
		END IF;
		IF proc ? 'centrifuged_at' THEN
			hours := extract(epoch FROM (proc ->> 'centrifuged_at')::timestamptz - NEW.collected_at) / 3600;
			IF hours < 0 THEN
				PERFORM bb_fail('BB400', 'date-out-of-range', 'processing.centrifuged_at',
					'is before collected_at');
			END IF;
			code := bb_sprec_delay_code(3, hours, proc ->> 'pre_centrifugation_temperature');
			NEW.sprec := bb_sprec_with(NEW.sprec, 3, COALESCE(code, 'Z'));
		END IF;
		IF proc ? 'frozen_at' THEN
			-- SPREC counts the post-centrifugation delay from the end of the spin.
			hours := extract(epoch FROM (proc ->> 'frozen_at')::timestamptz
				- COALESCE((proc ->> 'centrifugation_ended_at')::timestamptz,
					(proc ->> 'centrifuged_at')::timestamptz, NEW.collected_at)) / 3600;
			IF hours < 0 THEN
				PERFORM bb_fail('BB400', 'date-out-of-range', 'processing.frozen_at',
					CASE WHEN proc ? 'centrifugation_ended_at' THEN 'is before centrifugation_ended_at'
					     WHEN proc ? 'centrifuged_at' THEN 'is before centrifuged_at'
					     ELSE 'is before collected_at' END);
			END IF;
			code := bb_sprec_delay_code(6, hours, proc ->> 'post_centrifugation_temperature');
			NEW.sprec := bb_sprec_with(NEW.sprec, 6, COALESCE(code, 'Z'));
		END IF;
	END IF;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_specimens_protocol() IS 'Holds a specimen''s timepoint to its study''s protocol and gives it its protocol version and SPREC code (see the comment above it).';

CREATE OR REPLACE TRIGGER specimens_protocol BEFORE INSERT OR UPDATE OF timepoint ON specimens
	FOR EACH ROW EXECUTE FUNCTION bb_specimens_protocol();

-- A specimen registered at a timepoint of its study's protocol marks that visit done.
CREATE OR REPLACE FUNCTION bb_specimens_visit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	v integer := bb_protocol_current(NEW.study_id);
BEGIN
	IF v IS NULL OR NOT EXISTS (SELECT 1 FROM protocol_timepoints t WHERE t.study_id = NEW.study_id
			AND t.version = v AND t.code = NEW.timepoint) THEN
		RETURN NULL;
	END IF;
	INSERT INTO visits AS x (participant_id, timepoint, status, actual_date, protocol_version)
	VALUES (NEW.participant_id, NEW.timepoint, 'done', (NEW.collected_at AT TIME ZONE 'UTC')::date, v)
	ON CONFLICT ON CONSTRAINT visits_pkey DO UPDATE
	   SET status = 'done', reason = NULL, protocol_version = EXCLUDED.protocol_version,
	       actual_date = LEAST(x.actual_date, EXCLUDED.actual_date),
	       updated_at = clock_timestamp(), updated_by = bb_actor()
	 WHERE x.status <> 'done' OR x.actual_date > EXCLUDED.actual_date;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_specimens_visit() IS 'Marks the visit of a new (or re-timed) specimen''s participant and timepoint done, with the day it was collected.';

CREATE OR REPLACE TRIGGER specimens_visit AFTER INSERT OR UPDATE OF timepoint ON specimens
	FOR EACH ROW WHEN (NEW.parent_id IS NULL) EXECUTE FUNCTION bb_specimens_visit();

/*
 * Registration with its pre-analytical data: the SPREC code given (checked
 * here, naming "sprec") and the bench's processing times are handed to the
 * specimens_protocol trigger for this statement alone, then the ordinary
 * registration runs. A registration without them is the ordinary one.
 */
CREATE OR REPLACE FUNCTION bb_sprec_use(sprec text, processing jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	chk record;
	errs jsonb := '[]';
BEGIN
	SELECT * INTO chk FROM bb_sprec_check(sprec, 'sprec');
	errs := chk.errs;
	IF processing ? 'centrifuged_at' AND NOT processing ? 'pre_centrifugation_temperature' THEN
		errs := errs || bb_refusal('BB400', 'value-required', 'processing.pre_centrifugation_temperature',
			'is required with centrifuged_at: rt, cold or body');
	END IF;
	IF processing ? 'centrifugation_ended_at' AND NOT processing ? 'centrifuged_at' THEN
		errs := errs || bb_refusal('BB400', 'value-required', 'processing.centrifuged_at',
			'is required with centrifugation_ended_at: when the centrifugation began');
	ELSIF (processing ->> 'centrifugation_ended_at')::timestamptz < (processing ->> 'centrifuged_at')::timestamptz THEN
		errs := errs || bb_refusal('BB400', 'date-out-of-range', 'processing.centrifugation_ended_at',
			'is before centrifuged_at: the centrifugation cannot end before it began');
	END IF;
	IF processing ? 'frozen_at' AND NOT processing ? 'post_centrifugation_temperature' THEN
		errs := errs || bb_refusal('BB400', 'value-required', 'processing.post_centrifugation_temperature',
			'is required with frozen_at: rt or cold');
	END IF;
	IF processing ->> 'post_centrifugation_temperature' = 'body' THEN
		errs := errs || bb_refusal('BB400', 'value-not-allowed', 'processing.post_centrifugation_temperature',
			'SPREC has no post-centrifugation delay at body temperature: rt or cold');
	END IF;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	PERFORM set_config('bb.sprec', COALESCE(chk.norm, ''), true),
		set_config('bb.sprec_processing', COALESCE(processing::text, ''), true);
END $$;
COMMENT ON FUNCTION bb_sprec_use(text, jsonb) IS 'Checks a registration''s SPREC code and processing times and hands them to the specimens_protocol trigger for this transaction.';

CREATE OR REPLACE FUNCTION bb_sprec_done() RETURNS void LANGUAGE sql AS $$
	SELECT set_config('bb.sprec', '', true), set_config('bb.sprec_processing', '', true);
$$;
COMMENT ON FUNCTION bb_sprec_done() IS 'Forgets the SPREC data of the registration just made.';

CREATE OR REPLACE FUNCTION bb_specimen_register_with(sprec text, processing jsonb, study text,
	participant text, type text, timepoint text, collected_at timestamptz, qty numeric, unit text,
	tube_barcode text, notes text, aliquots integer, aliquot_barcodes text[], studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	out jsonb;
BEGIN
	PERFORM bb_sprec_use(sprec, processing);
	out := bb_specimen_register(study, participant, type, timepoint, collected_at, qty, unit,
		tube_barcode, notes, aliquots, aliquot_barcodes, studies, actor, actor_id);
	PERFORM bb_sprec_done();
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_specimen_register_with(text, jsonb, text, text, text, text, timestamptz, numeric, text, text, text, integer, text[], bigint[], text, bigint)
	IS 'POST /api/v1/specimens: bb_specimen_register with a SPREC code and processing times.';

CREATE OR REPLACE FUNCTION bb_specimen_register_tubes_with(sprec text, processing jsonb, study text,
	participant text, type text, timepoint text, collected_at timestamptz, qty numeric, unit text,
	tube_barcode text, notes text, barcodes text[], qtys numeric[], units text[], studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	out jsonb;
BEGIN
	PERFORM bb_sprec_use(sprec, processing);
	out := bb_specimen_register_tubes(study, participant, type, timepoint, collected_at, qty, unit,
		tube_barcode, notes, barcodes, qtys, units, studies, actor, actor_id);
	PERFORM bb_sprec_done();
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_specimen_register_tubes_with(text, jsonb, text, text, text, text, timestamptz, numeric, text, text, text, text[], numeric[], text[], bigint[], text, bigint)
	IS 'POST /api/v1/specimens with pre-barcoded aliquots: bb_specimen_register_tubes with a SPREC code and processing times.';

-- Timepoint mapping -------------------------------------------------------------

/*
 * POST /api/v1/studies/{code}/timepoint-mappings: free-text timepoints of
 * the study's specimens renamed to codes of its protocol in one request,
 * each specimen changed with a corrected event (before, after, the
 * reason). "from" is matched as stored, and in its one spelling
 * (bb_timepoint: "M12 " is stored m12). A dry run says what would change.
 */
CREATE OR REPLACE FUNCTION bb_timepoints_map(code text, mappings jsonb, reason text, dry_run boolean,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s studies;
	v integer;
	allowed text[];
	errs jsonb := '[]';
	m record;
	changes jsonb := '[]';
	n integer;
	total integer := 0;
	sp record;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_study_at(code, studies);
	PERFORM 1 FROM studies st WHERE st.id = s.id FOR UPDATE;
	v := bb_protocol_current(s.id);
	IF v IS NULL THEN
		PERFORM bb_fail('BB409', 'protocol-required', NULL,
			format('study %s has no protocol: its timepoints are free text until it has one', code),
			jsonb_build_object('study', code));
	END IF;
	SELECT array_agg(t.code ORDER BY t.ord, t.code) INTO allowed FROM protocol_timepoints t
	 WHERE t.study_id = s.id AND t.version = v;
	FOR m IN SELECT x ->> 'from' AS f, bb_timepoint(x ->> 'to') AS t, k - 1 AS i,
			row_number() OVER (PARTITION BY x ->> 'from' ORDER BY k) AS nth
		   FROM jsonb_array_elements(mappings) WITH ORDINALITY y(x, k) ORDER BY k LOOP
		IF NOT m.t = ANY (allowed) THEN
			errs := errs || bb_refusal('BB400', 'timepoint-not-in-protocol', format('mappings[%s].to', m.i),
				format('%s is not a timepoint of the protocol of study %s; use one of: %s', m.t, code,
					array_to_string(allowed, ', ')),
				jsonb_build_object('timepoint', m.t, 'allowed', to_jsonb(allowed), 'protocol_version', v));
		END IF;
		IF m.nth > 1 THEN
			errs := errs || bb_refusal('BB400', 'listed-twice', format('mappings[%s].from', m.i),
				format('"%s" is mapped twice', m.f));
		END IF;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	FOR m IN SELECT x ->> 'from' AS f, bb_timepoint(x ->> 'to') AS t
		   FROM jsonb_array_elements(mappings) WITH ORDINALITY y(x, k) ORDER BY k LOOP
		n := 0;
		FOR sp IN SELECT x.id, x.timepoint FROM specimens x
			   WHERE x.study_id = s.id AND x.timepoint IN (m.f, bb_timepoint(m.f))
			     AND x.timepoint <> m.t AND x.status <> 'entered_in_error'
			   ORDER BY x.serial FOR UPDATE LOOP
			n := n + 1;
			IF NOT dry_run THEN
				UPDATE specimens SET timepoint = m.t WHERE id = sp.id;
				INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
				VALUES (sp.id, 'corrected', actor, actor_id, reason,
					jsonb_build_object('before', jsonb_build_object('timepoint', sp.timepoint),
						'after', jsonb_build_object('timepoint', m.t), 'mapping', true));
			END IF;
		END LOOP;
		changes := changes || jsonb_build_object('from', m.f, 'to', m.t, 'specimens', n);
		total := total + n;
	END LOOP;
	RETURN jsonb_build_object('study', code, 'protocol_version', v, 'dry_run', dry_run,
		'specimens', total, 'mappings', changes);
END $$;
COMMENT ON FUNCTION bb_timepoints_map(text, jsonb, text, boolean, bigint[], text, bigint) IS 'Renames free-text timepoints of a study''s specimens to protocol codes, a corrected event each; with dry_run only counts.';

-- Visits ------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION bb_visits_json(p participants) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('study', st.code, 'participant', p.code,
		'enrolment_date', p.enrolled_on, 'protocol_version', v.cur,
		'items', COALESCE((SELECT jsonb_agg(jsonb_build_object('timepoint', t.code, 'label', t.label,
			'order', t.ord, 'planned_date', p.enrolled_on + t.day_offset, 'window_days', t.window_days,
			'status', COALESCE(x.status, 'planned'), 'actual_date', x.actual_date, 'reason', x.reason,
			'overdue', COALESCE(x.status, 'planned') = 'planned' AND p.enrolled_on IS NOT NULL
				AND current_date > p.enrolled_on + t.day_offset + t.window_days,
			'updated_at', bb_rfc3339(x.updated_at), 'updated_by', x.updated_by) ORDER BY t.ord, t.code)
		  FROM protocol_timepoints t LEFT JOIN visits x ON x.participant_id = p.id AND x.timepoint = t.code
		 WHERE t.study_id = p.study_id AND t.version = v.cur), '[]'))
	  FROM studies st, (SELECT bb_protocol_current(p.study_id) AS cur) v WHERE st.id = p.study_id;
$$;
COMMENT ON FUNCTION bb_visits_json(participants) IS 'A participant''s visits: every timepoint of the protocol in force, planned unless a visit row says otherwise.';

CREATE OR REPLACE FUNCTION bb_visits_list(study text, code text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants := bb_participant_find(study, code, studies, false);
BEGIN
	IF bb_protocol_current(p.study_id) IS NULL THEN
		PERFORM bb_fail('BB404', 'protocol-not-found', NULL,
			format('study %s has no protocol yet: it plans no visits', study),
			jsonb_build_object('study', study));
	END IF;
	RETURN bb_visits_json(p);
END $$;
COMMENT ON FUNCTION bb_visits_list(text, text, bigint[]) IS 'GET /api/v1/participants/{study}/{code}/visits.';

/*
 * A visit marked missed or not-collected (with a reason), or planned again
 * (a mark set by mistake). A visit with specimens is done: it cannot be
 * marked otherwise (409 visit-done); the specimens are corrected instead.
 */
CREATE OR REPLACE FUNCTION bb_visit_set(study text, code text, timepoint text, status text, reason text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants;
	v integer;
	tp text := bb_timepoint(timepoint);
	held integer;
	out jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	p := bb_participant_find(study, code, studies, true);
	v := bb_protocol_current(p.study_id);
	IF v IS NULL OR NOT EXISTS (SELECT 1 FROM protocol_timepoints t WHERE t.study_id = p.study_id
			AND t.version = v AND t.code = tp) THEN
		PERFORM bb_fail('BB404', 'visit-not-found', NULL,
			format('the protocol of study %s has no timepoint %s', study, timepoint),
			jsonb_build_object('study', study, 'timepoint', timepoint));
	END IF;
	IF status IN ('missed', 'not-collected') AND reason IS NULL THEN
		PERFORM bb_fail('BB400', 'value-required', 'reason', format('say why the visit is %s', status));
	END IF;
	SELECT count(*) INTO held FROM specimens x WHERE x.participant_id = p.id AND x.timepoint = tp
	   AND x.parent_id IS NULL AND x.status <> 'entered_in_error';
	IF held > 0 THEN
		PERFORM bb_fail('BB409', 'visit-done', NULL,
			format('specimens of participant %s were registered at %s: the visit is done (correct the specimens if they belong elsewhere)',
				p.code, tp),
			jsonb_build_object('participant', p.code, 'timepoint', tp, 'specimens', held));
	END IF;
	PERFORM set_config('bb.reason', COALESCE(reason, ''), true);
	INSERT INTO visits AS x (participant_id, timepoint, status, reason, protocol_version)
	VALUES (p.id, tp, status, reason, v)
	ON CONFLICT ON CONSTRAINT visits_pkey DO UPDATE
	   SET status = EXCLUDED.status, reason = EXCLUDED.reason, actual_date = NULL,
	       protocol_version = EXCLUDED.protocol_version, updated_at = clock_timestamp(), updated_by = bb_actor();
	PERFORM set_config('bb.reason', '', true);
	SELECT item INTO out FROM jsonb_array_elements(bb_visits_json(p) -> 'items') item
	 WHERE item ->> 'timepoint' = tp;
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_visit_set(text, text, text, text, text, bigint[], text, bigint) IS 'POST /api/v1/participants/{study}/{code}/visits/{timepoint}: missed, not-collected or planned again, audited with its reason.';

CREATE OR REPLACE TRIGGER visits_audit AFTER INSERT OR UPDATE OR DELETE ON visits
	FOR EACH ROW EXECUTE FUNCTION bb_audit('visit', 'participant_id', 'timepoint');

-- PUT /api/v1/participants/{study}/{code}/enrolment: the date visits are planned from.
CREATE OR REPLACE FUNCTION bb_participant_enrol(study text, code text, enrolled date, reason text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	p := bb_participant_find(study, code, studies, true);
	IF enrolled > current_date + 1 THEN
		PERFORM bb_fail('BB400', 'date-out-of-range', 'date', format('%s is in the future', enrolled));
	ELSIF p.birth_year IS NOT NULL AND extract(year FROM enrolled) < p.birth_year THEN
		PERFORM bb_fail('BB400', 'date-out-of-range', 'date',
			format('%s is before the birth year of participant %s (%s)', enrolled, p.code, p.birth_year));
	END IF;
	IF p.enrolled_on IS DISTINCT FROM enrolled THEN
		PERFORM set_config('bb.reason', COALESCE(reason, ''), true);
		UPDATE participants SET enrolled_on = enrolled WHERE id = p.id RETURNING * INTO p;
		PERFORM set_config('bb.reason', '', true);
	END IF;
	RETURN bb_visits_json(p);
END $$;
COMMENT ON FUNCTION bb_participant_enrol(text, text, date, text, bigint[], text, bigint) IS 'Sets a participant''s enrolment date (audited, with the reason) and answers its visits as planned from it.';

-- Completeness ------------------------------------------------------------------

/*
 * held_counts follows every write to specimens, whatever the path
 * (registration, custody actions, placements, imports, corrections): one
 * statement trigger per kind of write adds the rows in storage after it and
 * takes away those in storage before it, per key, in one upsert. Keys are
 * taken in one order, so two writers that share keys queue rather than
 * deadlock.
 */
CREATE OR REPLACE FUNCTION bb_held_counts_apply(delta jsonb) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	INSERT INTO held_counts AS h (study_id, participant_id, timepoint, type, n)
	SELECT (d ->> 0)::bigint, (d ->> 1)::bigint, d ->> 2, d ->> 3, (d ->> 4)::integer
	  FROM jsonb_array_elements(delta) d
	 ORDER BY 1, 2, 3, 4
	ON CONFLICT ON CONSTRAINT held_counts_pkey DO UPDATE SET n = h.n + EXCLUDED.n;
$$;
COMMENT ON FUNCTION bb_held_counts_apply(jsonb) IS 'Adds [[study, participant, timepoint, type, delta], ...] to held_counts.';

CREATE OR REPLACE FUNCTION bb_specimens_held_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM bb_held_counts_apply((SELECT jsonb_agg(jsonb_build_array(study_id, participant_id, timepoint, type, n))
		FROM (SELECT study_id, participant_id, timepoint, type, count(*) AS n FROM new_rows
		       WHERE status = 'in_storage' GROUP BY 1, 2, 3, 4) x))
	 WHERE EXISTS (SELECT 1 FROM new_rows WHERE status = 'in_storage');
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_specimens_held_insert() IS 'held_counts after an INSERT into specimens.';

CREATE OR REPLACE FUNCTION bb_specimens_held_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	-- Most updates (a move, a note, a thaw) leave every key's count as it was.
	PERFORM bb_held_counts_apply((SELECT jsonb_agg(jsonb_build_array(study_id, participant_id, timepoint, type, n))
		FROM (SELECT study_id, participant_id, timepoint, type, sum(d) AS n
			FROM (SELECT study_id, participant_id, timepoint, type, 1 AS d FROM new_rows WHERE status = 'in_storage'
			      UNION ALL
			      SELECT study_id, participant_id, timepoint, type, -1 FROM old_rows WHERE status = 'in_storage') u
		       GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0) x))
	 WHERE EXISTS (SELECT 1 FROM new_rows WHERE status = 'in_storage')
	    OR EXISTS (SELECT 1 FROM old_rows WHERE status = 'in_storage');
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_specimens_held_update() IS 'held_counts after an UPDATE of specimens (status, timepoint, type or participant changed).';

CREATE OR REPLACE FUNCTION bb_specimens_held_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM bb_held_counts_apply((SELECT jsonb_agg(jsonb_build_array(study_id, participant_id, timepoint, type, -n))
		FROM (SELECT study_id, participant_id, timepoint, type, count(*) AS n FROM old_rows
		       WHERE status = 'in_storage' GROUP BY 1, 2, 3, 4) x))
	 WHERE EXISTS (SELECT 1 FROM old_rows WHERE status = 'in_storage');
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_specimens_held_delete() IS 'held_counts after a DELETE from specimens.';

CREATE OR REPLACE TRIGGER specimens_held_insert AFTER INSERT ON specimens
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bb_specimens_held_insert();
CREATE OR REPLACE TRIGGER specimens_held_update AFTER UPDATE ON specimens
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
	EXECUTE FUNCTION bb_specimens_held_update();
CREATE OR REPLACE TRIGGER specimens_held_delete AFTER DELETE ON specimens
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bb_specimens_held_delete();

-- held_counts recounted from the specimens: after a load with triggers off (scripts/bench).
CREATE OR REPLACE FUNCTION bb_held_counts_rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	LOCK TABLE held_counts IN EXCLUSIVE MODE;
	DELETE FROM held_counts;
	INSERT INTO held_counts (study_id, participant_id, timepoint, type, n)
	SELECT study_id, participant_id, timepoint, type, count(*) FROM specimens WHERE status = 'in_storage'
	 GROUP BY 1, 2, 3, 4;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;
COMMENT ON FUNCTION bb_held_counts_rebuild() IS 'Recounts held_counts from specimens; returns the number of keys.';

-- The refusals of a completeness request: no protocol, an unknown site or
-- state. The site's name (NULL: every site).
CREATE OR REPLACE FUNCTION bb_completeness_check(code text, v integer, site text, p_state text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
	site_name text;
BEGIN
	IF v IS NULL THEN
		PERFORM bb_fail('BB404', 'protocol-not-found', NULL,
			format('study %s has no protocol yet: nothing is expected of it', code),
			jsonb_build_object('study', code));
	END IF;
	IF site IS NOT NULL THEN
		SELECT l.name INTO site_name FROM locations l WHERE l.kind = 'site' AND (l.name = site OR l.id::text = site);
		IF NOT FOUND THEN
			PERFORM bb_fail('BB400', 'unknown-location', 'site', format('there is no site %s', site),
				jsonb_build_object('site', site));
		END IF;
	END IF;
	IF p_state IS NOT NULL AND p_state NOT IN ('complete', 'partial', 'missing', 'overdue', 'missed') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'state',
			'must be one of complete, partial, missing, overdue, missed');
	END IF;
	RETURN site_name;
END $$;
COMMENT ON FUNCTION bb_completeness_check(text, integer, text, text) IS 'Checks a completeness request (protocol, site, state); the site''s name or NULL.';

-- The held tubes per participant, timepoint and type, as SQL text for the
-- completeness statements ($1 study, $3 timepoint, $4 type, $7 site name):
-- every site from the counts the triggers keep; one site counted from the
-- partial index of held tubes.
CREATE OR REPLACE FUNCTION bb_completeness_have(site_name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN site_name IS NULL THEN
		'SELECT c.participant_id, c.timepoint, c.type, c.n FROM held_counts c
		  WHERE c.study_id = $1 AND ($3::text IS NULL OR c.timepoint = $3) AND ($4::text IS NULL OR c.type = $4)'
	     ELSE
		'SELECT h.participant_id, h.timepoint, h.type, count(*)::integer AS n FROM specimens h
		  WHERE h.study_id = $1 AND h.status = ''in_storage''
		    AND ($3::text IS NULL OR h.timepoint = $3) AND ($4::text IS NULL OR h.type = $4)
		    AND h.box_id IN (SELECT b.id FROM boxes b JOIN locations l ON l.id = b.location_id
			WHERE l.path ->> 0 = $7)
		  GROUP BY 1, 2, 3' END;
$$;
COMMENT ON FUNCTION bb_completeness_have(text) IS 'The SQL of the held counts for the completeness statements: every site, or one.';

/*
 * Per participant x timepoint x expected type of the protocol in force:
 * the tubes expected and those held (in storage; at the site when one is
 * named), and the state of the participant's timepoint over the types
 * asked for: complete (every type held as expected), partial (some held),
 * missed (the visit was missed or nothing was collected, nothing held),
 * overdue (not done, and the window closed), else missing. The held tubes
 * are read from held_counts (at one site, counted from the held-tubes
 * index); the rest is the grid of the protocol.
 * Without JIT: compiling the plan's expressions cost more (a third of a
 * second) than the few hundred milliseconds the report takes at 10^6
 * specimens (docs/performance.md, Completeness).
 */
CREATE OR REPLACE FUNCTION bb_completeness_rows(code text, site text, p_timepoint text, p_type text,
	p_state text, studies bigint[])
RETURNS TABLE (participant text, timepoint text, label text, planned_date date, window_days integer,
	visit_status text, actual_date date, state text, type text, expected integer, held integer)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	s studies := bb_study_at(code, studies);
	v integer := bb_protocol_current(s.id);
	site_name text;
BEGIN
	SELECT * INTO site_name FROM bb_completeness_check(code, v, site, p_state);
	/*
	 * One statement planned for the values at hand (EXECUTE): planned for
	 * unknown values, as a static statement of PL/pgSQL may be, the held
	 * counts were joined to the grid by a nested loop (45 s at 10^6).
	 */
	RETURN QUERY EXECUTE format($q$
	WITH exp AS (
		SELECT t.code, t.label, t.ord, t.day_offset, t.window_days, x.type, x.aliquots
		  FROM protocol_timepoints t JOIN protocol_specimens x ON x.study_id = t.study_id
		   AND x.version = t.version AND x.timepoint = t.code
		 WHERE t.study_id = $1 AND t.version = $2
		   AND ($3::text IS NULL OR t.code = $3) AND ($4::text IS NULL OR x.type = $4)
	), have AS (%s), grid AS (
		SELECT p.id AS pid, p.code AS pcode, p.enrolled_on, e.*, COALESCE(hv.n, 0) AS n
		  FROM participants p CROSS JOIN exp e
		  LEFT JOIN have hv ON hv.participant_id = p.id AND hv.timepoint = e.code AND hv.type = e.type
		 WHERE p.study_id = $1
	), cell AS (
		SELECT g.pid, g.code, bool_and(g.n >= g.aliquots) AS all_held, bool_or(g.n > 0) AS some_held
		  FROM grid g GROUP BY 1, 2
	), rows AS (
		SELECT g.pcode, g.code, g.label, g.ord, g.enrolled_on + g.day_offset AS planned, g.window_days AS win,
		       COALESCE(vs.status, 'planned') AS vstatus, vs.actual_date AS actual,
		       CASE WHEN c.all_held THEN 'complete'
			    WHEN c.some_held THEN 'partial'
			    WHEN vs.status IN ('missed', 'not-collected') THEN 'missed'
			    WHEN COALESCE(vs.status, 'planned') = 'planned' AND g.enrolled_on IS NOT NULL
				 AND current_date > g.enrolled_on + g.day_offset + g.window_days THEN 'overdue'
			    ELSE 'missing' END AS st,
		       g.type AS ty, g.aliquots AS ex, g.n AS hn
		  FROM grid g JOIN cell c ON c.pid = g.pid AND c.code = g.code
		  LEFT JOIN visits vs ON vs.participant_id = g.pid AND vs.timepoint = g.code
	)
	SELECT r.pcode, r.code, r.label, r.planned, r.win, r.vstatus, r.actual, r.st, r.ty, r.ex, r.hn
	  FROM rows r WHERE $5::text IS NULL OR r.st = $5
	 ORDER BY r.pcode, r.ord, r.code, r.ty
	$q$, bb_completeness_have(site_name))
	USING s.id, v, bb_timepoint(p_timepoint), p_type, p_state, s.code, site_name;
END $$;
COMMENT ON FUNCTION bb_completeness_rows(text, text, text, text, text, bigint[]) IS 'The completeness grid of a study: one row per participant, timepoint and expected type, with the state of the participant''s timepoint (see the comment above it).';

-- GET /api/v1/studies/{code}/completeness as JSON: one item per participant x timepoint.
-- The grid of participants and expected types is grouped once per participant
-- and timepoint (the state, the totals and the types' list in one pass), and
-- built as json (text), not jsonb: 10^4 items of nested objects are joined
-- as text in a fraction of the time jsonb takes to build and sort them.
DROP FUNCTION IF EXISTS bb_completeness(text, text, text, text, text, bigint[]);
CREATE OR REPLACE FUNCTION bb_completeness(code text, site text, p_timepoint text, p_type text,
	p_state text, studies bigint[]) RETURNS json LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	s studies := bb_study_at(code, studies);
	v integer := bb_protocol_current(s.id);
	site_name text;
	out json;
BEGIN
	SELECT * INTO site_name FROM bb_completeness_check(code, v, site, p_state);
	EXECUTE format($q$
	WITH exp AS (
		SELECT t.code, t.label, t.ord, t.day_offset, t.window_days, x.type, x.aliquots
		  FROM protocol_timepoints t JOIN protocol_specimens x ON x.study_id = t.study_id
		   AND x.version = t.version AND x.timepoint = t.code
		 WHERE t.study_id = $1 AND t.version = $2
		   AND ($3::text IS NULL OR t.code = $3) AND ($4::text IS NULL OR x.type = $4)
	), have AS (%s), cells AS (
		SELECT p.id AS pid, p.code AS pcode, e.code, min(e.label) AS label, min(e.ord) AS ord,
		       min(p.enrolled_on + e.day_offset) AS planned, min(e.window_days) AS win,
		       bool_and(COALESCE(hv.n, 0) >= e.aliquots) AS all_held, bool_or(COALESCE(hv.n, 0) > 0) AS some_held,
		       sum(e.aliquots)::integer AS ex, sum(COALESCE(hv.n, 0))::integer AS hn,
		       json_agg(json_build_object('type', e.type, 'expected', e.aliquots, 'held', COALESCE(hv.n, 0))
			ORDER BY e.type) AS types
		  FROM participants p CROSS JOIN exp e
		  LEFT JOIN have hv ON hv.participant_id = p.id AND hv.timepoint = e.code AND hv.type = e.type
		 WHERE p.study_id = $1
		 GROUP BY p.id, p.code, e.code
	), items AS (
		SELECT c.*, vs.status AS vstatus, vs.actual_date AS actual,
		       CASE WHEN c.all_held THEN 'complete'
			    WHEN c.some_held THEN 'partial'
			    WHEN vs.status IN ('missed', 'not-collected') THEN 'missed'
			    WHEN COALESCE(vs.status, 'planned') = 'planned' AND c.planned IS NOT NULL
				 AND current_date > c.planned + c.win THEN 'overdue'
			    ELSE 'missing' END AS st
		  FROM cells c LEFT JOIN visits vs ON vs.participant_id = c.pid AND vs.timepoint = c.code
	)
	SELECT json_build_object('study', $6::text, 'protocol_version', $2, 'as_of', current_date,
		'summary', json_build_object('complete', count(*) FILTER (WHERE i.st = 'complete'),
			'partial', count(*) FILTER (WHERE i.st = 'partial'),
			'missing', count(*) FILTER (WHERE i.st = 'missing'),
			'overdue', count(*) FILTER (WHERE i.st = 'overdue'),
			'missed', count(*) FILTER (WHERE i.st = 'missed')),
		'items', COALESCE(json_agg(json_build_object('participant', i.pcode, 'timepoint', i.code,
			'label', i.label, 'planned_date', i.planned,
			'window', CASE WHEN i.planned IS NULL THEN NULL ELSE json_build_object(
				'from', i.planned - i.win, 'to', i.planned + i.win) END,
			'visit', json_build_object('status', COALESCE(i.vstatus, 'planned'), 'actual_date', i.actual),
			'state', i.st, 'expected', i.ex, 'held', i.hn, 'types', i.types)
			ORDER BY i.pcode, i.ord, i.code), '[]'))
	  FROM items i WHERE $5::text IS NULL OR i.st = $5
	$q$, bb_completeness_have(site_name))
	INTO out
	USING s.id, v, bb_timepoint(p_timepoint), p_type, p_state, s.code, site_name;
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_completeness(text, text, text, text, text, bigint[]) IS 'The completeness report as JSON: per participant and timepoint, expected and held per type, the state, and counts per state (json, built as text).';

-- FHIR -------------------------------------------------------------------------

/*
 * Specimen.processing of a specimen with a SPREC code (docs/fhir.md): the
 * code whole, then one step per element, each coded in a system of its
 * element (urn:biobank:sprec:<element>) with what the code stands for.
 */
CREATE OR REPLACE FUNCTION bb_fhir_sprec_processing(sprec text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- PL/pgSQL: its plan cached (see bb_fhir_specimen in reports.sql).
	RETURN (SELECT CASE WHEN sprec IS NULL THEN NULL ELSE
		jsonb_build_array(jsonb_build_object('description', 'SPREC ' || sprec,
			'procedure', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
				'system', 'urn:biobank:sprec', 'code', sprec)), 'text', 'SPREC ' || sprec)))
		|| COALESCE((SELECT jsonb_agg(jsonb_build_object(
			'description', replace(bb_sprec_element_name(k.kind, e.i::integer), '_', ' ') || ': ' || c.meaning,
			'procedure', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
				'system', 'urn:biobank:sprec:' || bb_sprec_element_name(k.kind, e.i::integer),
				'code', e.v, 'display', c.meaning)))) ORDER BY e.i)
		  FROM unnest(string_to_array(sprec, '-')) WITH ORDINALITY e(v, i)
		  JOIN sprec_codes c ON c.element = e.i AND c.code = e.v
		 CROSS JOIN LATERAL (SELECT bb_sprec_kind(sprec) AS kind) k
		 WHERE c.kind = k.kind), '[]') END);
END $$;
COMMENT ON FUNCTION bb_fhir_sprec_processing(text) IS 'FHIR Specimen.processing for a SPREC code: the code, then a step per element (NULL without a code).';
