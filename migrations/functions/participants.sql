-- functions/participants.sql — Studies, participants, consent (and the consent
-- guard on specimens), specimen types, diagnoses.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

-- Studies ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION bb_study_json(s studies) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', s.id, 'code', s.code, 'name', s.name,
		'created_at', bb_rfc3339(s.created_at));
$$;
COMMENT ON FUNCTION bb_study_json(studies) IS 'A study as the API shows it.';

CREATE OR REPLACE FUNCTION bb_study_create(code text, name text, actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s studies;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF code !~ '^[A-Z0-9][A-Z0-9_-]{0,31}$' THEN
		PERFORM bb_fail('BB400', 'value-malformed', 'code',
			'must be 1 to 32 upper-case letters, digits, ''_'' or ''-'', starting with a letter or digit');
	END IF;
	INSERT INTO studies (code, name) VALUES (code, name)
	ON CONFLICT DO NOTHING RETURNING * INTO s;
	IF s.id IS NULL THEN
		PERFORM bb_fail('BB409', 'already-exists', NULL,
			format('a study with the code %s already exists', code),
			jsonb_build_object('study', code));
	END IF;
	RETURN bb_study_json(s);
END $$;
COMMENT ON FUNCTION bb_study_create(text, text, text, bigint) IS 'POST /studies: a new study, BB409 when the code is taken.';

CREATE OR REPLACE FUNCTION bb_studies_list(studies bigint[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'items', COALESCE((SELECT jsonb_agg(bb_study_json(s) ORDER BY s.code) FROM studies s
				    WHERE studies IS NULL OR s.id = ANY (studies)), '[]'),
		'next_cursor', NULL);
$$;
COMMENT ON FUNCTION bb_studies_list(bigint[]) IS 'GET /studies: every study the caller may see (NULL studies: all), by code.';

CREATE OR REPLACE FUNCTION bb_study_get(code text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s studies;
BEGIN
	SELECT * INTO s FROM studies st WHERE st.code = bb_study_get.code
	   AND (studies IS NULL OR st.id = ANY (studies));
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'study-not-found', NULL,
			format('no study %s', code),
			jsonb_build_object('study', code));
	END IF;
	RETURN bb_study_json(s) || jsonb_build_object('participants',
		(SELECT count(*) FROM participants p WHERE p.study_id = s.id));
END $$;
COMMENT ON FUNCTION bb_study_get(text, bigint[]) IS 'GET /studies/{code}: the study and its number of participants; BB404 outside the caller''s studies.';

-- A study code from a request body, within the caller's studies. A study
-- outside them reads exactly like one that does not exist.
CREATE OR REPLACE FUNCTION bb_study_find(field text, code text, studies bigint[]) RETURNS studies
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s studies;
BEGIN
	SELECT * INTO s FROM studies st WHERE st.code = bb_study_find.code
	   AND (studies IS NULL OR st.id = ANY (studies));
	IF NOT FOUND THEN
		PERFORM bb_fail('BB400', 'unknown-study', field,
			format('there is no study %s', code),
			jsonb_build_object('study', code));
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION bb_study_find(text, text, bigint[]) IS 'The study with this code within the caller''s studies, or BB400 naming field.';

-- Participants and consent -------------------------------------------------

-- The decision in force per scope: the latest recorded (as bb_consent_withdrawn reads it).
CREATE OR REPLACE FUNCTION bb_consent_in_force(participant bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'study', (SELECT status FROM consents WHERE participant_id = participant AND scope = 'study'
			   ORDER BY recorded_at DESC, id DESC LIMIT 1),
		'biobank', (SELECT status FROM consents WHERE participant_id = participant AND scope = 'biobank'
			     ORDER BY recorded_at DESC, id DESC LIMIT 1),
		'genetic', (SELECT status FROM consents WHERE participant_id = participant AND scope = 'genetic'
			     ORDER BY recorded_at DESC, id DESC LIMIT 1))
	-- The commercial scope (issue 17) only once one was recorded: older answers stay as they were.
	|| COALESCE((SELECT jsonb_build_object('commercial', status) FROM consents
		      WHERE participant_id = participant AND scope = 'commercial'
		      ORDER BY recorded_at DESC, id DESC LIMIT 1), '{}');
$$;
COMMENT ON FUNCTION bb_consent_in_force(bigint) IS 'Status in force per consent scope (given, withdrawn, or null when never recorded; commercial only once recorded).';

CREATE OR REPLACE FUNCTION bb_participant_json(p participants) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('study', st.code, 'code', p.code, 'sex', p.sex,
		'birth_year', p.birth_year, 'diagnosis', p.diagnosis,
		'created_at', bb_rfc3339(p.created_at))
		-- Issue 17: only once it is set, so that a participant without reads as it always has.
		|| jsonb_strip_nulls(jsonb_build_object('enrolment_date', p.enrolled_on))
	  FROM studies st WHERE st.id = p.study_id;
$$;
COMMENT ON FUNCTION bb_participant_json(participants) IS 'A participant as the API shows it in lists and after creation.';

CREATE OR REPLACE FUNCTION bb_consent_json(c consents) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('scope', c.scope, 'status', c.status,
		'date', to_char(c.date, 'YYYY-MM-DD'), 'version', c.version,
		'recorded_at', bb_rfc3339(c.recorded_at), 'recorded_by', c.recorded_by);
$$;
COMMENT ON FUNCTION bb_consent_json(consents) IS 'A consent decision as the API shows it.';

CREATE OR REPLACE FUNCTION bb_participant_create(study text, code text, sex text, birth_year integer,
	diagnosis text, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s studies;
	p participants;
	diag text;
	taken text;
	this_year integer := extract(year FROM now() AT TIME ZONE 'UTC');
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_study_find('study', study, studies);
	IF code !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$' THEN
		PERFORM bb_fail('BB400', 'value-malformed', 'code',
			'must be 1 to 40 letters, digits, ''_'', ''.'' or ''-'', starting with a letter or digit');
	END IF;
	sex := CASE sex WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' WHEN 'O' THEN 'other'
		WHEN 'U' THEN 'unknown' ELSE sex END;
	IF sex IS NULL OR sex NOT IN ('female', 'male', 'other', 'unknown') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'sex',
			'must be one of: female, male, other, unknown (or F, M, O, U)');
	END IF;
	IF birth_year IS NOT NULL AND (birth_year < 1900 OR birth_year > this_year) THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'birth_year',
			format('must be between 1900 and %s', this_year));
	END IF;
	-- An exact match wins; otherwise the one code that matches ignoring case.
	SELECT d.code INTO diag FROM diagnoses d WHERE d.code = diagnosis;
	IF NOT FOUND THEN
		SELECT min(d.code) INTO diag FROM diagnoses d WHERE lower(d.code) = lower(diagnosis)
		HAVING count(*) = 1;
	END IF;
	IF diag IS NULL THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'diagnosis',
			format('%s is not a diagnosis code; use one of: %s', diagnosis, (SELECT string_agg(d.code, ', ' ORDER BY lower(d.code)) FROM diagnoses d)));
	END IF;
	INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)
	VALUES (s.id, code, sex, birth_year, diag)
	ON CONFLICT DO NOTHING RETURNING * INTO p;
	IF p.id IS NULL THEN
		-- Taken exactly or in another case (0017's index): name the code that holds it.
		SELECT x.code INTO taken FROM participants x
		 WHERE x.study_id = s.id AND lower(x.code) = lower(bb_participant_create.code);
		PERFORM bb_fail('BB409', 'already-exists', NULL,
			CASE WHEN taken = code THEN format('participant %s already exists in study %s', code, s.code)
			     ELSE format('participant %s already exists in study %s as %s (codes are unique ignoring case)',
					 code, s.code, taken) END,
			jsonb_build_object('participant', code, 'study', s.code, 'existing', taken));
	END IF;
	RETURN bb_participant_json(p) || jsonb_build_object('consent', bb_consent_in_force(p.id));
END $$;
COMMENT ON FUNCTION bb_participant_create(text, text, text, integer, text, bigint[], text, bigint)
	IS 'POST /participants: a new participant; diagnosis matched ignoring case; BB409 when the code is taken in the study.';

-- A participant by study and code within the caller's studies, optionally locked.
CREATE OR REPLACE FUNCTION bb_participant_find(study text, code text, studies bigint[], lock boolean)
RETURNS participants LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants;
BEGIN
	IF lock THEN
		SELECT pt.* INTO p FROM participants pt JOIN studies st ON st.id = pt.study_id
		 WHERE st.code = study AND pt.code = bb_participant_find.code
		   AND (studies IS NULL OR pt.study_id = ANY (studies))
		   FOR UPDATE OF pt;
	ELSE
		SELECT pt.* INTO p FROM participants pt JOIN studies st ON st.id = pt.study_id
		 WHERE st.code = study AND pt.code = bb_participant_find.code
		   AND (studies IS NULL OR pt.study_id = ANY (studies));
	END IF;
	IF p.id IS NULL THEN
		PERFORM bb_fail('BB404', 'participant-not-found', NULL,
			format('no participant %s in study %s', code, study),
			jsonb_build_object('participant', code, 'study', study));
	END IF;
	RETURN p;
END $$;
COMMENT ON FUNCTION bb_participant_find(text, text, bigint[], boolean) IS 'The participant, within the caller''s studies (locked FOR UPDATE when lock); BB404 otherwise.';

DROP FUNCTION IF EXISTS bb_participant_get(text, text, bigint[]);
CREATE OR REPLACE FUNCTION bb_participant_get(study text, code text, studies bigint[], in_error text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	p participants;
	with_errors boolean := bb_include_in_error(in_error);
BEGIN
	SELECT pt.* INTO p FROM participants pt JOIN studies st ON st.id = pt.study_id
	 WHERE st.code = study AND pt.code = bb_participant_get.code
	   AND (studies IS NULL OR pt.study_id = ANY (studies));
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'participant-not-found', NULL,
			format('no participant %s in study %s', code, study),
			jsonb_build_object('participant', code, 'study', study));
	END IF;
	RETURN bb_participant_json(p) || jsonb_build_object(
		'consents', COALESCE((SELECT jsonb_agg(bb_consent_json(c) ORDER BY c.recorded_at, c.id)
				       FROM consents c WHERE c.participant_id = p.id), '[]'),
		'consent', bb_consent_in_force(p.id),
		'specimen_counts', COALESCE((
			SELECT jsonb_agg(jsonb_build_object('type', g.type, 'timepoint', g.timepoint,
					'count', g.n, 'by_status', g.by_status,
					'consent_withdrawn', g.withdrawn)
					ORDER BY g.type, g.timepoint)
			  FROM (SELECT t.type, t.timepoint, sum(t.n) AS n,
				       jsonb_object_agg(t.status, t.n) AS by_status,
				       sum(t.withdrawn) AS withdrawn
				  FROM (SELECT sp.type, sp.timepoint, sp.status, count(*) AS n,
					       count(*) FILTER (WHERE sp.consent_withdrawn) AS withdrawn
					  FROM specimens sp WHERE sp.participant_id = p.id
					   AND (with_errors OR sp.status <> 'entered_in_error')
					 GROUP BY sp.type, sp.timepoint, sp.status) t
				 GROUP BY t.type, t.timepoint) g), '[]'));
END $$;
COMMENT ON FUNCTION bb_participant_get(text, text, bigint[], text) IS 'GET /participants/{study}/{code}: the participant, every consent decision (oldest first), the consent in force per scope and specimen counts by type and timepoint (every status counted; entries in error only when in_error is true).';

/*
 * PATCH /participants/{study}/{code}: a correction of sex, birth year or
 * diagnosis, with the reason why. The participants_audit trigger writes the
 * audit-log row (before and after) and takes the reason from bb.reason, set
 * for this change alone. A birth year after a collection time of one of the
 * participant's specimens is refused naming them: either the year or the
 * collection time is wrong, and the specimen's is corrected first. Nothing
 * different from the record: no change and no audit row.
 */
CREATE OR REPLACE FUNCTION bb_participant_correct(study text, code text, new_sex text,
	new_birth_year integer, new_diagnosis text, reason text, studies bigint[], actor text,
	actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants;
	diag text;
	early text[];
	this_year integer := extract(year FROM now() AT TIME ZONE 'UTC');
BEGIN
	IF num_nonnulls(new_sex, new_birth_year, new_diagnosis) = 0 THEN
		PERFORM bb_fail('BB400', 'value-required', NULL,
			'name at least one field to correct: sex, birth_year or diagnosis');
	END IF;
	PERFORM bb_set_actor(actor, actor_id);
	p := bb_participant_find(study, code, studies, true);
	new_sex := CASE new_sex WHEN 'F' THEN 'female' WHEN 'M' THEN 'male' WHEN 'O' THEN 'other'
		WHEN 'U' THEN 'unknown' ELSE new_sex END;
	IF new_sex IS NOT NULL AND new_sex NOT IN ('female', 'male', 'other', 'unknown') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'sex',
			'must be one of: female, male, other, unknown (or F, M, O, U)');
	END IF;
	IF new_birth_year IS NOT NULL AND (new_birth_year < 1900 OR new_birth_year > this_year) THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'birth_year',
			format('must be between 1900 and %s', this_year));
	END IF;
	IF new_diagnosis IS NOT NULL THEN
		SELECT d.code INTO diag FROM diagnoses d WHERE d.code = new_diagnosis;
		IF NOT FOUND THEN
			SELECT min(d.code) INTO diag FROM diagnoses d WHERE lower(d.code) = lower(new_diagnosis)
			HAVING count(*) = 1;
		END IF;
		IF diag IS NULL THEN
			PERFORM bb_fail('BB400', 'value-not-allowed', 'diagnosis',
				format('%s is not a diagnosis code; use one of: %s', new_diagnosis,
					(SELECT string_agg(d.code, ', ' ORDER BY lower(d.code)) FROM diagnoses d)));
		END IF;
	END IF;
	IF new_birth_year IS NOT NULL AND new_birth_year IS DISTINCT FROM p.birth_year THEN
		-- Locked, so that no collection time is corrected past the new year meanwhile.
		SELECT array_agg(x.id ORDER BY x.collected_at, x.serial) INTO early
		  FROM (SELECT sp.id, sp.collected_at, sp.serial FROM specimens sp
			 WHERE sp.participant_id = p.id AND sp.status <> 'entered_in_error'
			 ORDER BY sp.id FOR UPDATE) x
		 WHERE x.collected_at < make_timestamptz(new_birth_year, 1, 1, 0, 0, 0, '+14');
		IF early IS NOT NULL THEN
			PERFORM bb_fail('BB409', 'collected-before-birth', 'birth_year',
				format('%s specimen(s) of participant %s were collected before %s: %s', cardinality(early),
					p.code, new_birth_year, array_to_string(early[1:20], ', ')
					|| CASE WHEN cardinality(early) > 20 THEN ', ...' ELSE '' END),
				jsonb_build_object('participant', p.code, 'birth_year', new_birth_year,
					'specimens', to_jsonb(early)));
		END IF;
	END IF;
	IF COALESCE(new_sex, p.sex) = p.sex AND COALESCE(diag, p.diagnosis) = p.diagnosis
	   AND COALESCE(new_birth_year, p.birth_year) IS NOT DISTINCT FROM p.birth_year THEN
		RETURN bb_participant_json(p) || jsonb_build_object('consent', bb_consent_in_force(p.id));
	END IF;
	PERFORM set_config('bb.reason', reason, true);
	UPDATE participants SET sex = COALESCE(new_sex, sex), birth_year = COALESCE(new_birth_year, birth_year),
		diagnosis = COALESCE(diag, diagnosis)
	 WHERE id = p.id RETURNING * INTO p;
	PERFORM set_config('bb.reason', '', true);
	RETURN bb_participant_json(p) || jsonb_build_object('consent', bb_consent_in_force(p.id));
END $$;
COMMENT ON FUNCTION bb_participant_correct(text, text, text, integer, text, text, bigint[], text, bigint)
	IS 'PATCH /participants/{study}/{code}: corrects sex, birth year or diagnosis with a reason (an audit-log row with before and after); BB409 naming the specimens a birth year would put before their collection.';

CREATE OR REPLACE FUNCTION bb_participants_list(study text, lim integer, cursor text, studies bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	s studies;
	key jsonb := bb_cursor_read('participants', cursor);
	items jsonb;
	n bigint;
	last_key jsonb;
BEGIN
	IF lim IS NULL OR lim < 1 OR lim > 1000 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'limit',
			'must be between 1 and 1000');
	END IF;
	IF study IS NOT NULL THEN
		s := bb_study_find('study', study, studies);
	END IF;
	-- Keyset paging on the unique (study_id, code): rows added meanwhile land
	-- before or after the cursor, so no row is shown twice or skipped.
	SELECT COALESCE(jsonb_agg(q.j ORDER BY q.rn) FILTER (WHERE q.rn <= lim), '[]'),
	       count(*), (array_agg(q.k) FILTER (WHERE q.rn = lim))[1]
	  INTO items, n, last_key
	  FROM (SELECT row_number() OVER (ORDER BY x.study_id, x.code) AS rn,
		       bb_participant_json(x) || jsonb_build_object('consent', bb_consent_in_force(x.id)) AS j,
		       jsonb_build_array(x.study_id, x.code) AS k
		  FROM (SELECT * FROM participants pt
			 WHERE (s.id IS NULL OR pt.study_id = s.id)
			   AND (studies IS NULL OR pt.study_id = ANY (studies))
			   AND (key IS NULL OR (pt.study_id, pt.code) > ((key ->> 0)::bigint, key ->> 1))
			 ORDER BY pt.study_id, pt.code
			 LIMIT lim + 1) x) q;
	RETURN jsonb_build_object('items', items,
		'next_cursor', CASE WHEN n > lim THEN bb_cursor_make('participants', last_key) END);
END $$;
COMMENT ON FUNCTION bb_participants_list(text, integer, text, bigint[]) IS 'GET /participants: a page of participants by study and code (keyset cursor), within the caller''s studies.';

/*
 * POST /participants/{study}/{code}/consents. The participant row is locked
 * so that decisions for one participant are recorded one at a time. A
 * biobank withdrawal flags every specimen not yet flagged and writes one
 * consent_withdrawn custody event for each, in the same statement as the
 * consent row. A later "given" does not clear the flags: withdrawal starts
 * the destruction workflow, and re-consent is handled specimen by specimen.
 */
CREATE OR REPLACE FUNCTION bb_consent_record(study text, code text, scope text, status text, date date,
	version text, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants;
	c consents;
	flagged text[] := '{}';
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	p := bb_participant_find(study, code, studies, true);
	IF scope IS NULL OR scope NOT IN ('study', 'biobank', 'genetic', 'commercial') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'scope',
			'must be one of: study, biobank, genetic, commercial');
	END IF;
	IF status IS NULL OR status NOT IN ('given', 'withdrawn') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'status',
			'must be one of: given, withdrawn');
	END IF;
	-- Later than today everywhere on Earth (UTC+14) is in the future.
	IF date > ((now() AT TIME ZONE 'UTC') + interval '14 hours')::date THEN
		PERFORM bb_fail('BB400', 'date-out-of-range', 'date',
			format('%s is in the future', date));
	END IF;
	IF date < DATE '1900-01-01' THEN
		PERFORM bb_fail('BB400', 'date-out-of-range', 'date',
			'must not be before 1900-01-01');
	END IF;
	-- Taken after the lock, so that recorded_at follows the order in which
	-- decisions were recorded (now() is when the transaction began).
	INSERT INTO consents (participant_id, scope, status, date, version, recorded_at)
	VALUES (p.id, scope, status, date, version, clock_timestamp())
	RETURNING * INTO c;
	IF scope = 'biobank' AND status = 'withdrawn' THEN
		WITH f AS (
			UPDATE specimens SET consent_withdrawn = true
			 WHERE participant_id = p.id AND NOT consent_withdrawn
			RETURNING id, serial)
		SELECT COALESCE(array_agg(f.id ORDER BY f.serial), '{}') INTO flagged FROM f;
		INSERT INTO events (specimen_id, type, reason, details)
		SELECT u.id, 'consent_withdrawn', 'biobank consent withdrawn',
		       jsonb_build_object('consent', c.id, 'date', to_char(c.date, 'YYYY-MM-DD'),
					  'version', c.version)
		  FROM unnest(flagged) WITH ORDINALITY AS u (id, n)
		 ORDER BY u.n;
	END IF;
	RETURN bb_consent_json(c) || jsonb_build_object(
		'participant', jsonb_build_object('study', study, 'code', p.code),
		'specimens_flagged', cardinality(flagged));
END $$;
COMMENT ON FUNCTION bb_consent_record(text, text, text, text, date, text, bigint[], text, bigint)
	IS 'Records a consent decision; a biobank withdrawal also flags the participant''s specimens and writes their consent_withdrawn events, atomically.';

/*
 * Invariant 6 under concurrency: a registration that read the consent before
 * a withdrawal committed must not add an unflagged specimen after it. The
 * foreign key check on participant_id waits for a withdrawal holding the
 * participant row (bb_consent_record locks it); this trigger runs after that
 * check (trigger names sort after "RI_...") and reads the consent afresh.
 */
CREATE OR REPLACE FUNCTION bb_specimens_consent_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF bb_consent_withdrawn(NEW.participant_id) THEN
		PERFORM bb_fail('BB409', 'consent-withdrawn', NULL,
			'the participant withdrew biobank consent: no new specimens');
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_specimens_consent_guard() IS 'Refuses a new specimen of a participant whose biobank consent is withdrawn, even when the withdrawal committed during the insert.';

-- Specimen types and diagnoses --------------------------------------------

CREATE OR REPLACE FUNCTION bb_specimen_type_json(t specimen_types) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('code', t.code, 'name', t.name,
		'created_at', bb_rfc3339(t.created_at));
$$;
COMMENT ON FUNCTION bb_specimen_type_json(specimen_types) IS 'A specimen type as the API shows it.';

CREATE OR REPLACE FUNCTION bb_specimen_type_create(code text, name text, actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	t specimen_types;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF code !~ '^[a-z][a-z0-9_]{0,31}$' THEN
		PERFORM bb_fail('BB400', 'value-malformed', 'code',
			'must be 1 to 32 lower-case letters, digits or ''_'', starting with a letter');
	END IF;
	INSERT INTO specimen_types (code, name) VALUES (code, name)
	ON CONFLICT DO NOTHING RETURNING * INTO t;
	IF t.code IS NULL THEN
		PERFORM bb_fail('BB409', 'already-exists', NULL,
			format('a specimen type with the code %s already exists', code),
			jsonb_build_object('specimen_type', code));
	END IF;
	RETURN bb_specimen_type_json(t);
END $$;
COMMENT ON FUNCTION bb_specimen_type_create(text, text, text, bigint) IS 'POST /specimen-types: a new specimen type, BB409 when the code is taken.';

CREATE OR REPLACE FUNCTION bb_specimen_types_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'items', COALESCE((SELECT jsonb_agg(bb_specimen_type_json(t) ORDER BY t.code)
				     FROM specimen_types t), '[]'),
		'next_cursor', NULL);
$$;
COMMENT ON FUNCTION bb_specimen_types_list() IS 'GET /specimen-types: every specimen type, by code.';

CREATE OR REPLACE FUNCTION bb_diagnoses_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'items', COALESCE((SELECT jsonb_agg(jsonb_build_object('code', d.code, 'name', d.name)
					ORDER BY lower(d.code)) FROM diagnoses d), '[]'),
		'next_cursor', NULL);
$$;
COMMENT ON FUNCTION bb_diagnoses_list() IS 'GET /diagnoses: every diagnosis group, by code ignoring case.';

CREATE OR REPLACE TRIGGER specimens_consent_guard AFTER INSERT ON specimens
	FOR EACH ROW EXECUTE FUNCTION bb_specimens_consent_guard();
COMMENT ON TRIGGER specimens_consent_guard ON specimens IS 'Invariant 6: no new specimen of a participant whose biobank consent is withdrawn.';
