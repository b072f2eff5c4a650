-- functions/imports.sql — Inventory imports (docs/import.md): a file's rows,
-- read and checked field by field in C (lib/import.c), are copied into a
-- temporary table of the importing transaction; these functions check them
-- against each other and the database, set-based, and commit them all or
-- none. A repeatable file: it holds the current body of every function of
-- its area, and `biobankd migrate` applies it again whenever it changes.

/*
 * The rows of the file being imported, for this transaction only. Made by
 * the owner of the schema (SECURITY DEFINER), then open to the daemon for
 * its COPY: the daemon's role writes no table of the domain itself.
 */
CREATE OR REPLACE FUNCTION bb_import_begin() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	-- The statements over 10^5 staged rows have high costs and simple plans:
	-- compiling them (JIT) took longer than running them.
	PERFORM set_config('jit', 'off', true);
	-- Sorts and hashes of 10^5 rows in memory rather than on disk.
	PERFORM set_config('work_mem', '64MB', true);
	-- Room for the staged rows in this session's memory, when nothing has
	-- used temporary tables in it yet (the setting is fixed from then on).
	BEGIN
		PERFORM set_config('temp_buffers', '64MB', true);
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	CREATE TEMP TABLE import_stage (
		row_no integer PRIMARY KEY,
		key text, study text, participant text, sex text, birth_year integer, diagnosis text,
		consent_scope text, consent_status text, consent_date date, consent_version text,
		type text, timepoint text, collected_at text, quantity numeric(12, 3), unit text,
		tube_barcode text, parent text, location_path text, box_barcode text, box_grid text,
		position text, status text, freeze_thaw integer, legacy_id text, notes text,
		box_rows integer, box_cols integer, pos_row integer, pos_col integer,
		problems jsonb
	) ON COMMIT DROP;
	CREATE TEMP TABLE import_problems (
		row_no integer NOT NULL, col text, code text NOT NULL, message text NOT NULL,
		warning boolean NOT NULL DEFAULT false
	) ON COMMIT DROP;
	-- The columns of the file only: what the checks compute (the study, the participant,
	-- the parent, the new ID ...) is never the daemon's to say.
	EXECUTE format('GRANT INSERT (row_no, key, study, participant, sex, birth_year, diagnosis, '
		'consent_scope, consent_status, consent_date, consent_version, type, timepoint, '
		'collected_at, quantity, unit, tube_barcode, parent, location_path, box_barcode, box_grid, '
		'position, status, freeze_thaw, legacy_id, notes, box_rows, box_cols, pos_row, pos_col, '
		'problems) ON pg_temp.import_stage TO %I', session_user);
END $$;
COMMENT ON FUNCTION bb_import_begin() IS 'Makes the temporary table the importing transaction copies the file''s rows into.';

/*
 * A word of progress from inside the import's transaction, which nobody
 * else sees until it commits: a NOTICE that the importing daemon reads as
 * it arrives (server/db/import_progress.c) and writes to import_progress on
 * a connection of its own. Only when the daemon asked (bb.import_progress,
 * set for the transaction): `biobankd import` and unnamed imports get none.
 */
CREATE OR REPLACE FUNCTION bb_import_step(phase text, done bigint, total bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('bb.import_progress', true) = 'on' THEN
		RAISE NOTICE USING MESSAGE = 'bb_import_progress', DETAIL = format('%s %s %s', phase, done, total);
	END IF;
END $$;
COMMENT ON FUNCTION bb_import_step(text, bigint, bigint) IS 'Tells the importing daemon how far the import is (a NOTICE, when it asked for them).';

-- The template's columns in their order, to list problems as the file reads.
CREATE OR REPLACE FUNCTION bb_import_col_order(col text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT COALESCE(array_position(ARRAY['key', 'study', 'participant_code', 'sex', 'birth_year',
		'diagnosis', 'consent_scope', 'consent_status', 'consent_date', 'consent_version',
		'specimen_type', 'timepoint', 'collected_at', 'quantity', 'unit', 'tube_barcode', 'parent',
		'location_path', 'box_barcode', 'box_grid', 'position', 'status', 'freeze_thaw_count',
		'legacy_id', 'notes'], col), 0);
$$;
COMMENT ON FUNCTION bb_import_col_order(text) IS 'Place of a column in the import template (0: the row as a whole).';

-- A location path as its names: "Site / Room / Freezer" split on '/', each trimmed.
CREATE OR REPLACE FUNCTION bb_import_path_names(path text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(btrim(x, E' \t') ORDER BY i) FROM unnest(string_to_array(path, '/')) WITH ORDINALITY AS u(x, i);
$$;
COMMENT ON FUNCTION bb_import_path_names(text) IS 'The names of a location path, top first.';

/*
 * The kinds a path of n names gets for the levels it creates: the first is
 * the site, the last is where the box stands (a freezer at least), so
 * 2: site / freezer; 3: site / room / freezer; 4: ... / shelf; 5: ... / rack.
 */
CREATE OR REPLACE FUNCTION bb_import_path_kind(n integer, i integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT (CASE n WHEN 2 THEN ARRAY['site', 'freezer'] WHEN 3 THEN ARRAY['site', 'room', 'freezer']
		WHEN 4 THEN ARRAY['site', 'room', 'freezer', 'shelf']
		ELSE ARRAY['site', 'room', 'freezer', 'shelf', 'rack'] END)[i];
$$;
COMMENT ON FUNCTION bb_import_path_kind(integer, integer) IS 'Kind of level i of an imported location path of n names (docs/import.md).';

/*
 * Walks a path down the stored tree: the deepest location that exists
 * (found levels), and why the path cannot hold a box, if it cannot.
 */
DROP FUNCTION IF EXISTS bb_import_path_walk(text[]);
CREATE OR REPLACE FUNCTION bb_import_path_walk(names text[], OUT loc bigint, OUT levels integer, OUT err text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	n integer := COALESCE(array_length(names, 1), 0);
	l locations;
	rank integer := 0;
BEGIN
	levels := 0;
	IF n < 2 OR n > 5 THEN
		err := 'must name 2 to 5 levels, site first: Site / Room / Freezer / Shelf / Rack';
		RETURN;
	END IF;
	IF EXISTS (SELECT 1 FROM unnest(names) x WHERE x = '' OR length(x) > 100) THEN
		err := 'has an empty level or one longer than 100 characters';
		RETURN;
	END IF;
	FOR i IN 1 .. n LOOP
		SELECT * INTO l FROM locations x WHERE COALESCE(x.parent_id, 0) = COALESCE(loc, 0) AND x.name = names[i];
		IF NOT FOUND THEN
			-- What is left is made with the kinds of the rule, below what exists.
			IF bb_location_rank(bb_import_path_kind(n, i)) <= rank THEN
				err := format('%s would be a %s inside a %s (site > room > freezer > shelf > rack)',
					names[i], bb_import_path_kind(n, i),
					(SELECT kind FROM locations WHERE id = loc));
			END IF;
			RETURN;
		END IF;
		loc := l.id;
		levels := i;
		rank := bb_location_rank(l.kind);
	END LOOP;
	IF l.kind IN ('site', 'room') THEN
		err := format('%s is a %s: a box stands in a freezer, shelf or rack', l.name, l.kind);
	END IF;
END $$;
COMMENT ON FUNCTION bb_import_path_walk(text[]) IS 'The deepest stored location of an import path, and why it cannot hold a box (NULL: it can).';

/*
 * Checks the staged rows against each other and the database, and answers
 * the report of docs/import.md: the problems (row, column, code, message;
 * the first 1000, and how many), the rows that already exist, and what a
 * commit would create. With lock (a commit) the imports are serialized
 * first, so that of two overlapping files the second sees the first's rows.
 */
CREATE OR REPLACE FUNCTION bb_import_check(sha bytea, tz text, studies bigint[], lock boolean)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	prior imports;
	n_rows integer;
	out jsonb;
BEGIN
	IF lock THEN
		PERFORM pg_advisory_xact_lock(hashtextextended('bb_import', 0));
	END IF;
	SELECT * INTO prior FROM imports WHERE sha256 = sha;
	IF FOUND THEN
		RETURN jsonb_build_object('already_imported', true, 'import', bb_import_json(prior));
	END IF;
	-- (pg_timezone_names reads every zone file: a third of a second.)
	BEGIN
		PERFORM now() AT TIME ZONE tz;
	EXCEPTION WHEN invalid_parameter_value THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'timezone',
			format('%s is not a time zone name such as Europe/Paris or UTC', tz));
	END;
	PERFORM bb_import_step('checking', 0, 10);
	ANALYZE import_stage;
	SELECT count(*) INTO n_rows FROM import_stage;

	-- What C found in each field alone.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, NULLIF(e ->> 'column', ''), e ->> 'code', e ->> 'message'
	  FROM import_stage s, jsonb_array_elements(s.problems) e WHERE s.problems IS NOT NULL;

	PERFORM bb_import_step('checking', 1, 10);
	/*
	 * One pass over the rows for what each finds in the database and in
	 * the other rows, into a new table that replaces the staged one: an
	 * UPDATE of a temporary table rewrites it whole and leaves it twice its
	 * size for every statement after (10^5 rows: eight UPDATEs took most of
	 * a minute; one UPDATE of all lookups three seconds, this one).
	 * Studies are not made by an import; one outside the caller's is
	 * unknown to them. A row already exists when a tube of its study has
	 * its barcode, else when an import of its study had its legacy ID.
	 * A parent is another row's key, else a tube barcode in the file (a
	 * key or barcode given twice is a problem below: which row it then
	 * names does not matter), else a stored tube barcode or ID the caller
	 * may see.
	 */
	CREATE TEMP TABLE import_rows ON COMMIT DROP AS
	SELECT q.*,
	       CASE WHEN q.collected_at ~ '[+-][0-9]{2}:[0-9]{2}$' THEN q.collected_at::timestamptz
		    ELSE q.collected_at::timestamp AT TIME ZONE tz END AS at,
	       st.id AS study_id, p.id AS participant_id,
	       COALESCE(y.id, (SELECT min(i.specimen_id) FROM import_specimens i
			WHERE i.study_id = st.id AND i.legacy_id = q.legacy_id)) AS existing_id,
	       COALESCE(k.row_no, t.row_no) AS parent_row, x.id AS parent_id,
	       COALESCE(k.type, t.type, x.type) AS parent_type, b.id AS box_id,
	       COALESCE(q.status, CASE WHEN q.pos_row IS NOT NULL THEN 'in_storage' ELSE 'registered' END) AS final_status
	  FROM import_stage q
	  LEFT JOIN studies st ON st.code = q.study AND (studies IS NULL OR st.id = ANY (studies))
	  LEFT JOIN participants p ON p.study_id = st.id AND lower(p.code) = lower(q.participant)
	  LEFT JOIN specimens y ON y.tube_barcode = q.tube_barcode AND y.study_id = st.id
	  LEFT JOIN boxes b ON b.barcode = q.box_barcode
	  LEFT JOIN (SELECT DISTINCT ON (key) key, row_no, type FROM import_stage
		      WHERE key IS NOT NULL ORDER BY key, row_no) k ON k.key = q.parent
	  LEFT JOIN (SELECT DISTINCT ON (tube_barcode) tube_barcode, row_no, type FROM import_stage
		      WHERE tube_barcode IS NOT NULL ORDER BY tube_barcode, row_no) t
		 ON t.tube_barcode = q.parent AND k.row_no IS NULL
	  -- (LATERAL: looked up only for the rows whose parent is not in the file.)
	  LEFT JOIN LATERAL (SELECT x.id, x.type FROM specimens x
		 WHERE q.parent IS NOT NULL AND k.row_no IS NULL AND t.row_no IS NULL
		   AND x.id = COALESCE((SELECT y2.id FROM specimens y2 WHERE y2.tube_barcode = q.parent),
			(SELECT y2.id FROM specimens y2 WHERE y2.id = upper(q.parent)))
		   AND (studies IS NULL OR x.study_id = ANY (studies))) x ON true;
	DROP TABLE import_stage;
	ALTER TABLE import_rows RENAME TO import_stage;
	ALTER TABLE import_stage ADD PRIMARY KEY (row_no);
	ANALYZE import_stage;

	PERFORM bb_import_step('checking', 2, 10);

	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'study', 'unknown-study', format('there is no study %s (studies are created first)', study)
	  FROM import_stage WHERE study IS NOT NULL AND study_id IS NULL;

	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'specimen_type', 'unknown-specimen-type', format('"%s" is not a specimen type; use one of: %s',
		type, (SELECT string_agg(code, ', ' ORDER BY code) FROM specimen_types))
	  FROM import_stage s WHERE type IS NOT NULL AND NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = s.type);

	-- A study with a protocol takes only its timepoints (functions/protocols.sql).
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'timepoint', 'timepoint-not-in-protocol',
	       format('%s is not a timepoint of the protocol of study %s; use one of: %s', bb_timepoint(s.timepoint),
		s.study, (SELECT string_agg(t.code, ', ' ORDER BY t.ord, t.code) FROM protocol_timepoints t
			   WHERE t.study_id = s.study_id AND t.version = bb_protocol_current(s.study_id)))
	  FROM import_stage s WHERE s.study_id IS NOT NULL AND s.existing_id IS NULL AND s.parent IS NULL
	   AND s.timepoint IS NOT NULL AND bb_protocol_current(s.study_id) IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM protocol_timepoints t WHERE t.study_id = s.study_id
		AND t.version = bb_protocol_current(s.study_id) AND t.code = bb_timepoint(s.timepoint));

	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'tube_barcode', 'already-exists', format('tube barcode %s is already on a tube of another study', s.tube_barcode)
	  FROM import_stage s WHERE s.existing_id IS NULL AND s.tube_barcode IS NOT NULL
	   AND EXISTS (SELECT 1 FROM specimens x WHERE x.tube_barcode = s.tube_barcode);

	PERFORM bb_import_step('checking', 3, 10);

	-- Keys and tube barcodes name one row each.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'key', 'listed-twice', format('key %s is also the key of row %s', key, first)
	  FROM (SELECT row_no, key, min(row_no) OVER (PARTITION BY key) AS first FROM import_stage WHERE key IS NOT NULL) x
	 WHERE row_no <> first;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'tube_barcode', 'listed-twice', format('tube barcode %s is also on row %s', tube_barcode, first)
	  FROM (SELECT row_no, tube_barcode, min(row_no) OVER (PARTITION BY tube_barcode) AS first
		  FROM import_stage WHERE tube_barcode IS NOT NULL) x
	 WHERE row_no <> first;
	INSERT INTO import_problems (row_no, col, code, message, warning)
	SELECT row_no, 'legacy_id', 'listed-twice', format('legacy ID %s is also on row %s', legacy_id, first), true
	  FROM (SELECT row_no, legacy_id, min(row_no) OVER (PARTITION BY study_id, legacy_id) AS first
		  FROM import_stage WHERE legacy_id IS NOT NULL) x
	 WHERE row_no <> first;

	PERFORM bb_import_step('checking', 4, 10);

	-- Participants: stored ones are matched ignoring case; the file must agree with them.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, c.col, 'participant-differs',
	       format('participant %s is stored with %s %s, not %s', p.code, c.col, c.stored, c.given)
	  FROM import_stage s JOIN participants p ON p.id = s.participant_id
	 CROSS JOIN LATERAL (VALUES ('sex', p.sex, s.sex), ('birth_year', p.birth_year::text, s.birth_year::text),
		('diagnosis', p.diagnosis, s.diagnosis)) c(col, stored, given)
	 WHERE c.given IS NOT NULL AND lower(c.given) IS DISTINCT FROM lower(c.stored);
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'participant_code', 'consent-withdrawn',
	       format('participant %s withdrew biobank consent: no specimens of theirs are taken in', s.participant)
	  FROM import_stage s WHERE s.existing_id IS NULL AND s.participant_id IS NOT NULL
	   AND bb_consent_withdrawn(s.participant_id);

	PERFORM bb_import_step('checking', 5, 10);

	-- New participants: one value of each fact across their rows.
	CREATE TEMP TABLE import_people ON COMMIT DROP AS
	SELECT study_id, lower(participant) AS pkey, (array_agg(participant ORDER BY row_no))[1] AS code, min(row_no) AS first_row,
	       (array_agg(sex ORDER BY row_no) FILTER (WHERE sex IS NOT NULL))[1] AS sex,
	       (array_agg(birth_year ORDER BY row_no) FILTER (WHERE birth_year IS NOT NULL))[1] AS birth_year,
	       (array_agg(diagnosis ORDER BY row_no) FILTER (WHERE diagnosis IS NOT NULL))[1] AS diagnosis,
	       (array_agg(row_no ORDER BY row_no) FILTER (WHERE consent_scope IS NOT NULL OR consent_status IS NOT NULL
			OR consent_date IS NOT NULL OR consent_version IS NOT NULL))[1] AS consent_row,
	       NULL::text AS diag, NULL::bigint AS id
	  FROM import_stage WHERE participant_id IS NULL AND study_id IS NOT NULL AND participant IS NOT NULL
	 GROUP BY 1, 2;
	-- Temporary tables have no statistics until analysed: without them a join
	-- with 10^5 rows was planned as a nested loop (minutes instead of seconds).
	ANALYZE import_people;
	UPDATE import_people p SET diag = COALESCE(
		(SELECT d.code FROM diagnoses d WHERE d.code = p.diagnosis),
		(SELECT min(d.code) FROM diagnoses d WHERE lower(d.code) = lower(p.diagnosis) HAVING count(*) = 1));
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, c.col, 'value-conflict', format('participant %s is given %s %s on row %s', s.participant, c.col, c.first, p.first_row)
	  FROM import_stage s JOIN import_people p ON p.study_id = s.study_id AND p.pkey = lower(s.participant)
	 CROSS JOIN LATERAL (VALUES ('sex', p.sex, s.sex), ('birth_year', p.birth_year::text, s.birth_year::text),
		('diagnosis', p.diagnosis, s.diagnosis)) c(col, first, given)
	 WHERE c.given IS NOT NULL AND c.given IS DISTINCT FROM c.first;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT first_row, c.col, 'value-missing', format('participant %s is new: give its %s on one of its rows', code, c.col)
	  FROM import_people CROSS JOIN LATERAL (VALUES ('sex', sex), ('diagnosis', diagnosis)) c(col, v)
	 WHERE c.v IS NULL;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT first_row, 'diagnosis', 'value-not-allowed', format('%s is not a diagnosis code; use one of: %s', diagnosis,
		(SELECT string_agg(d.code, ', ' ORDER BY lower(d.code)) FROM diagnoses d))
	  FROM import_people WHERE diagnosis IS NOT NULL AND diag IS NULL;
	-- A new participant's consent: all four facts on its first row that gives any.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, c.col, 'value-missing', format('a consent needs its %s', c.col)
	  FROM import_people p JOIN import_stage s ON s.row_no = p.consent_row
	 CROSS JOIN LATERAL (VALUES ('consent_scope', s.consent_scope), ('consent_status', s.consent_status),
		('consent_date', s.consent_date::text), ('consent_version', s.consent_version)) c(col, v)
	 WHERE c.v IS NULL AND NOT EXISTS (SELECT 1 FROM import_problems x WHERE x.row_no = s.row_no AND x.col = c.col);
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'consent_status', 'consent-withdrawn',
	       format('participant %s withdrew biobank consent: no specimens of theirs are taken in', s.participant)
	  FROM import_people p JOIN import_stage s ON s.row_no = p.consent_row
	 WHERE s.consent_scope = 'biobank' AND s.consent_status = 'withdrawn';

	PERFORM bb_import_step('checking', 6, 10);

	-- Nothing is collected before its donor's birth year, nor in the future.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'collected_at', 'date-out-of-range',
	       CASE WHEN s.at > clock_timestamp() + interval '5 minutes' THEN format('%s is in the future', bb_rfc3339(s.at))
		    ELSE format('%s is before the birth year of participant %s (%s)', bb_rfc3339(s.at), s.participant,
				COALESCE(pt.birth_year, p.birth_year)) END
	  FROM import_stage s LEFT JOIN participants pt ON pt.id = s.participant_id
	  LEFT JOIN import_people p ON p.study_id = s.study_id AND p.pkey = lower(s.participant)
	 WHERE s.at IS NOT NULL AND s.existing_id IS NULL
	   AND (s.at > clock_timestamp() + interval '5 minutes'
		OR s.at < make_timestamptz(COALESCE(pt.birth_year, p.birth_year, 1900), 1, 1, 0, 0, 0, '+14'));

	-- Parents named that are nowhere, another participant's, or in a loop.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'parent', 'unknown-parent',
	       format('%s is not the key of a row, a tube barcode or a specimen ID', parent)
	  FROM import_stage WHERE parent IS NOT NULL AND parent_row IS NULL AND parent_id IS NULL;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT c.row_no, 'parent', 'parent-elsewhere', format('%s is a specimen of another participant', c.parent)
	  FROM import_stage c LEFT JOIN import_stage p ON p.row_no = c.parent_row
	  LEFT JOIN specimens x ON x.id = c.parent_id
	 WHERE c.existing_id IS NULL AND ((p.row_no IS NOT NULL AND (p.study_id IS DISTINCT FROM c.study_id
		OR lower(p.participant) IS DISTINCT FROM lower(c.participant)))
		OR (x.id IS NOT NULL AND x.participant_id IS DISTINCT FROM c.participant_id));
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT start, 'parent', 'parent-loop', 'the parents of this row lead back to it'
	  FROM (WITH RECURSIVE walk (start, cur, depth) AS (
			SELECT row_no, parent_row, 1 FROM import_stage WHERE parent_row IS NOT NULL
			UNION ALL
			SELECT w.start, s.parent_row, w.depth + 1 FROM walk w JOIN import_stage s ON s.row_no = w.cur
			 WHERE s.parent_row IS NOT NULL AND w.cur <> w.start AND w.depth < 64)
		SELECT DISTINCT start FROM walk WHERE cur = start) loops;

	PERFORM bb_import_step('checking', 7, 10);

	-- Status and place: a tube with a position is in storage, and only then.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'status', 'value-not-allowed', format('a tube at a position is in_storage, not %s', status)
	  FROM import_stage WHERE pos_row IS NOT NULL AND final_status <> 'in_storage';
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'position', 'value-missing',
	       CASE WHEN box_barcode IS NULL THEN 'a tube in_storage needs its box_barcode and position'
		    ELSE format('a tube in box %s needs its position', box_barcode) END
	  FROM import_stage s WHERE pos_row IS NULL AND (final_status = 'in_storage' OR box_barcode IS NOT NULL)
	   AND NOT EXISTS (SELECT 1 FROM import_problems x WHERE x.row_no = s.row_no AND x.col = 'position');

	PERFORM bb_import_step('checking', 8, 10);

	-- Boxes: a stored one keeps its grid and place; a new one needs both, once.
	CREATE TEMP TABLE import_boxes ON COMMIT DROP AS
	SELECT s.box_barcode, min(s.row_no) AS first_row,
	       (array_agg(s.box_rows ORDER BY s.row_no) FILTER (WHERE s.box_rows IS NOT NULL))[1] AS nrows,
	       (array_agg(s.box_cols ORDER BY s.row_no) FILTER (WHERE s.box_cols IS NOT NULL))[1] AS ncols,
	       (array_agg(s.location_path ORDER BY s.row_no) FILTER (WHERE s.location_path IS NOT NULL))[1] AS path,
	       NULL::bigint AS id, NULL::jsonb AS stored_path
	  FROM import_stage s WHERE s.box_barcode IS NOT NULL AND s.existing_id IS NULL GROUP BY 1;
	ANALYZE import_boxes;
	UPDATE import_boxes ib SET id = b.id, nrows = b.rows, ncols = b.cols, stored_path = l.path
	  FROM boxes b JOIN locations l ON l.id = b.location_id WHERE b.barcode = ib.box_barcode;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'box_grid', 'value-conflict',
	       format('box %s is %sx%s%s', s.box_barcode, ib.nrows, ib.ncols, CASE WHEN ib.id IS NULL THEN format(' on row %s', ib.first_row) ELSE '' END)
	  FROM import_stage s JOIN import_boxes ib ON ib.box_barcode = s.box_barcode
	 WHERE s.box_rows IS NOT NULL AND (s.box_rows, s.box_cols) IS DISTINCT FROM (ib.nrows, ib.ncols);
	-- Each box's paths compared once (MATERIALIZED: joined with the rows first,
	-- the comparison ran once per row, 10^5 times).
	WITH bad AS MATERIALIZED (SELECT d.box_barcode, d.location_path,
		       COALESCE((SELECT string_agg(x, ' / ') FROM jsonb_array_elements_text(ib.stored_path) x), ib.path) AS place
		  FROM (SELECT DISTINCT box_barcode, location_path FROM import_stage
			 WHERE location_path IS NOT NULL AND box_barcode IS NOT NULL AND existing_id IS NULL) d
		  JOIN import_boxes ib ON ib.box_barcode = d.box_barcode
		 WHERE bb_import_path_names(d.location_path) IS DISTINCT FROM
			COALESCE((SELECT array_agg(x) FROM jsonb_array_elements_text(ib.stored_path) x), bb_import_path_names(ib.path)))
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'location_path', 'value-conflict', format('box %s stands in %s', s.box_barcode, bad.place)
	  FROM bad JOIN import_stage s ON s.box_barcode = bad.box_barcode AND s.location_path = bad.location_path AND s.existing_id IS NULL;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT first_row, c.col, 'value-missing', format('box %s is new: give its %s', box_barcode, c.what)
	  FROM import_boxes CROSS JOIN LATERAL (VALUES ('box_grid', 'grid (e.g. 9x9)', nrows), ('location_path', 'location_path', CASE WHEN path IS NULL THEN NULL ELSE 1 END)) c(col, what, v)
	 WHERE id IS NULL AND c.v IS NULL;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT first_row, 'box_barcode', 'already-exists', format('%s is already the barcode of a location or a tube', box_barcode)
	  FROM import_boxes ib WHERE id IS NULL AND (EXISTS (SELECT 1 FROM locations l WHERE l.barcode = ib.box_barcode)
		OR EXISTS (SELECT 1 FROM specimens x WHERE x.tube_barcode = ib.box_barcode));
	-- The places of new boxes: each distinct path walked once.
	CREATE TEMP TABLE import_paths ON COMMIT DROP AS
	SELECT path, bb_import_path_names(path) AS names, min(first_row) AS first_row, NULL::bigint AS loc,
	       NULL::integer AS levels, NULL::text AS err
	  FROM import_boxes WHERE id IS NULL AND path IS NOT NULL GROUP BY path;
	UPDATE import_paths p SET (loc, levels, err) = (SELECT w.loc, w.levels, w.err FROM bb_import_path_walk(p.names) w);
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT first_row, 'location_path', 'location-nesting', format('"%s" %s', path, err) FROM import_paths WHERE err IS NOT NULL;

	PERFORM bb_import_step('checking', 9, 10);

	-- Positions: inside the grid, once in the file, free in the box.
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'position', 'position-outside-box',
	       format('%s is outside box %s (%s rows, %s columns)', s.position, s.box_barcode, ib.nrows, ib.ncols)
	  FROM import_stage s JOIN import_boxes ib ON ib.box_barcode = s.box_barcode
	 WHERE s.pos_row IS NOT NULL AND (s.pos_row > ib.nrows OR s.pos_col > ib.ncols);
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT row_no, 'position', 'listed-twice', format('%s of box %s is also the position of row %s', position, box_barcode, first)
	  FROM (SELECT row_no, position, box_barcode, min(row_no) OVER (PARTITION BY box_barcode, pos_row, pos_col) AS first
		  FROM import_stage WHERE pos_row IS NOT NULL AND existing_id IS NULL) x
	 WHERE row_no <> first;
	INSERT INTO import_problems (row_no, col, code, message)
	SELECT s.row_no, 'position', 'position-occupied', format('%s of box %s holds specimen %s', s.position, s.box_barcode, x.id)
	  FROM import_stage s JOIN specimens x ON x.box_id = s.box_id AND x.pos_row = s.pos_row AND x.pos_col = s.pos_col
	 WHERE s.existing_id IS NULL;

	PERFORM bb_import_step('checking', 10, 10);
	SELECT jsonb_build_object(
		'rows', n_rows,
		'problem_count', (SELECT count(*) FROM import_problems WHERE NOT warning),
		'problems', COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('row', p.row_no, 'key', s.key,
				'column', p.col, 'code', p.code, 'message', p.message)) ORDER BY p.row_no, bb_import_col_order(p.col), p.code)
			FROM (SELECT * FROM import_problems WHERE NOT warning ORDER BY row_no, bb_import_col_order(col), code LIMIT 1000) p
			LEFT JOIN import_stage s ON s.row_no = p.row_no), '[]'),
		'warnings', COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('row', p.row_no, 'column', p.col,
				'code', p.code, 'message', p.message)) ORDER BY p.row_no)
			FROM (SELECT * FROM import_problems WHERE warning ORDER BY row_no LIMIT 1000) p), '[]'),
		'existing_count', (SELECT count(*) FROM import_stage WHERE existing_id IS NOT NULL),
		'existing', COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('row', row_no, 'key', key,
				'specimen', existing_id, 'legacy_id', legacy_id, 'tube_barcode', tube_barcode)) ORDER BY row_no)
			FROM (SELECT * FROM import_stage WHERE existing_id IS NOT NULL ORDER BY row_no LIMIT 1000) e), '[]'),
		'summary', jsonb_build_object(
			'specimens', (SELECT count(*) FROM import_stage WHERE existing_id IS NULL),
			'stored', (SELECT count(*) FROM import_stage WHERE existing_id IS NULL AND pos_row IS NOT NULL),
			'participants', (SELECT count(*) FROM import_people),
			'boxes', (SELECT count(*) FROM import_boxes WHERE id IS NULL),
			'locations', (SELECT count(DISTINCT names[1:k]) FROM import_paths,
				generate_series(COALESCE(levels, 0) + 1, COALESCE(array_length(names, 1), 0)) k)))
	  INTO out;
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_import_check(bytea, text, bigint[], boolean) IS 'Checks the staged rows of an import; the report of docs/import.md (problems, existing rows, what would be created).';

CREATE OR REPLACE FUNCTION bb_import_json(i imports) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', i.id, 'sha256', encode(i.sha256, 'hex'), 'filename', i.filename,
		'encoding', i.encoding, 'rows', i.rows, 'summary', i.summary,
		'imported_at', bb_rfc3339(i.imported_at), 'imported_by', i.imported_by);
$$;
COMMENT ON FUNCTION bb_import_json(imports) IS 'An import as the API shows it.';

/*
 * Commits the checked rows (bb_import_check found no problem, in this
 * transaction): the missing locations, boxes, participants and their
 * consent, then every new specimen at once, its imported event (the file's
 * SHA-256, its row, its legacy ID and the status it leaves) and, for a
 * tube at a position, its stored event. Rows that already exist are left
 * alone; a row naming one as parent gets that specimen as parent.
 */
CREATE OR REPLACE FUNCTION bb_import_commit(sha bytea, filename text, encoding text, report jsonb,
	actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	lp record;
	cur bigint;
	nxt bigint;
	n integer;
	made imports;
	who text;
	who_id bigint;
	stored_details jsonb;
	n_parts integer;
	n_new bigint;
	n_done bigint := 0;
	got bigint;
	zero constant bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
BEGIN
	IF actor IS NOT NULL THEN
		PERFORM bb_set_actor(actor, actor_id);
	END IF;
	PERFORM bb_import_step('writing', 0, (SELECT count(*) FROM import_stage WHERE existing_id IS NULL));
	-- Locations, walked from the top each time: paths share their upper levels.
	FOR lp IN SELECT * FROM import_paths ORDER BY path LOOP
		cur := NULL;
		n := array_length(lp.names, 1);
		FOR i IN 1 .. n LOOP
			SELECT l.id INTO nxt FROM locations l
			 WHERE COALESCE(l.parent_id, 0) = COALESCE(cur, 0) AND l.name = lp.names[i];
			IF NOT FOUND THEN
				INSERT INTO locations (parent_id, kind, name)
				VALUES (cur, bb_import_path_kind(n, i), lp.names[i]) RETURNING id INTO nxt;
			END IF;
			cur := nxt;
		END LOOP;
		UPDATE import_paths SET loc = cur WHERE path = lp.path;
	END LOOP;
	INSERT INTO boxes (barcode, rows, cols, location_id)
	SELECT ib.box_barcode, ib.nrows, ib.ncols, ip.loc
	  FROM import_boxes ib JOIN import_paths ip ON ip.path = ib.path WHERE ib.id IS NULL ORDER BY ib.first_row;

	INSERT INTO participants (study_id, code, sex, birth_year, diagnosis)
	SELECT study_id, code, sex, birth_year, diag FROM import_people ORDER BY first_row;
	UPDATE import_people ip SET id = pt.id FROM participants pt WHERE pt.study_id = ip.study_id AND lower(pt.code) = ip.pkey;
	INSERT INTO consents (participant_id, scope, status, date, version)
	SELECT ip.id, s.consent_scope, s.consent_status, s.consent_date, s.consent_version
	  FROM import_people ip JOIN import_stage s ON s.row_no = ip.consent_row ORDER BY ip.first_row;

	-- IDs in the order of the rows (as bb_new_specimen_id: a serial whose ID is never issued is skipped).
	CREATE TEMP TABLE import_ids ON COMMIT DROP AS
	SELECT x.row_no, x.serial, bb_id_for_serial(x.serial) AS new_id
	  FROM (SELECT r.row_no, nextval('specimen_serial') AS serial
		  FROM (SELECT row_no FROM import_stage WHERE existing_id IS NULL ORDER BY row_no) r OFFSET 0) x;
	LOOP
		UPDATE import_ids SET serial = nextval('specimen_serial') WHERE new_id IS NULL;
		EXIT WHEN NOT FOUND;
		UPDATE import_ids SET new_id = bb_id_for_serial(serial) WHERE new_id IS NULL;
	END LOOP;
	ANALYZE import_ids;

	INSERT INTO imports (sha256, filename, encoding, rows, summary)
	VALUES (sha, filename, encoding, (SELECT count(*) FROM import_stage),
		report -> 'summary' || jsonb_build_object('existing', report -> 'existing_count'))
	RETURNING * INTO made;

	/*
	 * The ledger of each new specimen, chained here for the whole file at
	 * once rather than by the row trigger one event at a time (1 ms each):
	 * its imported event (the file's SHA-256, its row, its legacy ID and the
	 * status it leaves: server/db/ledger_verify.c replays it; a tube at a
	 * position is registered until its stored event), then for a tube at a
	 * position its stored event, linked to the first. The hashes are those
	 * the trigger makes (bb_event_digest_v2), and events_log_queue checks
	 * every one as it lands (migrations/0034_ledger_bulk.sql). The fences
	 * (OFFSET 0) keep each event's time and details computed once, before
	 * its digest, which then inlines.
	 */
	who := bb_actor();
	who_id := NULLIF(current_setting('bb.actor_id', true), '')::bigint;
	stored_details := jsonb_build_object('import', made.id);
	/*
	 * The rows are written in parts of a twentieth of the file (1000 rows at
	 * least), each followed by a word of progress (bb_import_step): a commit
	 * of 10^5 rows is no longer one silent statement of twenty seconds. A
	 * specimen's parent must exist when the statement writing it ends, so a
	 * parent is in an earlier part than its children or in theirs: the rows
	 * go by their depth in the file's tree of parents, then by row. (The
	 * checks refused loops: every new row is reached from a root.)
	 */
	CREATE TEMP TABLE import_parts ON COMMIT DROP AS
	WITH RECURSIVE tree (row_no, depth) AS (
		SELECT s.row_no, 0 FROM import_stage s LEFT JOIN import_stage p ON p.row_no = s.parent_row
		 WHERE s.existing_id IS NULL AND (p.row_no IS NULL OR p.existing_id IS NOT NULL)
		UNION ALL
		SELECT s.row_no, t.depth + 1 FROM tree t JOIN import_stage s ON s.parent_row = t.row_no
		 WHERE s.existing_id IS NULL)
	SELECT row_no, floor((row_number() OVER (ORDER BY depth, row_no) - 1)
		/ GREATEST(1000, ceil(count(*) OVER () / 20.0)))::integer AS part
	  FROM tree;
	/*
	 * Each new specimen's row, its ledger's two events and its import record
	 * are computed here once for the whole file, into one table laid out part
	 * after part, so that each part's three statements read that part's rows
	 * and nothing else. When each part joined the staged rows, their ids,
	 * the new participants and the boxes itself, each of the twenty parts
	 * scanned and hashed the file's 10^5 staged rows two or three times
	 * (a staged table of 28 MB, more than temp_buffers: read back from disk
	 * each time), which made the commit in parts about 10 s slower than the
	 * single statement (docs/performance.md, "Inventory import").
	 */
	CREATE TEMP TABLE import_chain ON COMMIT DROP AS
	SELECT y.*, CASE WHEN y.box IS NOT NULL THEN bb_event_digest_v2(y.new_id, 2, 'stored', y.at2, who,
		NULL, NULL, y.box, y.pos, NULL, stored_details, y.h1) END AS h2
	  FROM (SELECT x.*, bb_event_digest_v2(x.new_id, 1, 'imported', x.at1, who, NULL, NULL, NULL, NULL,
			NULL, x.d1, zero) AS h1, clock_timestamp() AS at2
		  FROM (SELECT s.row_no, pt.part, i.new_id, i.serial, clock_timestamp() AS at1,
			       jsonb_strip_nulls(jsonb_build_object('sha256', encode(sha, 'hex'), 'row', s.row_no,
				'legacy_id', s.legacy_id, 'import', made.id,
				'status', CASE WHEN s.pos_row IS NOT NULL THEN 'registered' ELSE s.final_status END)) AS d1,
			       CASE WHEN s.pos_row IS NOT NULL THEN s.box_barcode END AS box,
			       bb_position_name(s.pos_row, s.pos_col) AS pos,
			       s.study_id, COALESCE(s.participant_id, ip.id) AS participant_id, s.type,
			       bb_timepoint(s.timepoint) AS timepoint, s.at, s.quantity, s.unit,
			       COALESCE(s.parent_id, p.existing_id, pi.new_id) AS parent_id,
			       CASE WHEN s.parent_id IS NULL AND p.row_no IS NULL THEN NULL
				    WHEN s.parent_type = s.type THEN 'aliquot' ELSE 'derivative' END AS derivation,
			       s.tube_barcode, s.final_status, COALESCE(s.freeze_thaw, 0) AS freeze_thaw,
			       COALESCE(s.box_id, b.id) AS box_id, s.pos_row, s.pos_col, s.notes, s.key, s.legacy_id
			  FROM import_stage s JOIN import_ids i ON i.row_no = s.row_no
			  JOIN import_parts pt ON pt.row_no = s.row_no
			  LEFT JOIN import_people ip ON s.participant_id IS NULL AND ip.study_id = s.study_id
				AND ip.pkey = lower(s.participant)
			  LEFT JOIN import_stage p ON p.row_no = s.parent_row
			  LEFT JOIN import_ids pi ON pi.row_no = s.parent_row
			  LEFT JOIN boxes b ON s.box_id IS NULL AND b.barcode = s.box_barcode
			 ORDER BY pt.part, s.row_no OFFSET 0) x
		OFFSET 0) y;
	CREATE INDEX ON import_chain (part, row_no);
	ANALYZE import_chain;
	SELECT COALESCE(max(part) + 1, 0), count(*) INTO n_parts, n_new FROM import_chain;

	FOR k IN 0 .. n_parts - 1 LOOP
		INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, collected_at, quantity,
			unit, parent_id, derivation, tube_barcode, status, freeze_thaw_count, box_id, pos_row, pos_col, notes,
			ledger_seq, ledger_head)
		SELECT c.new_id, c.serial, c.study_id, c.participant_id, c.type, c.timepoint, c.at, c.quantity, c.unit,
		       c.parent_id, c.derivation, c.tube_barcode, c.final_status, c.freeze_thaw, c.box_id, c.pos_row,
		       c.pos_col, c.notes, CASE WHEN c.h2 IS NULL THEN 1 ELSE 2 END, COALESCE(c.h2, c.h1)
		  FROM import_chain c
		 WHERE c.part = k
		 ORDER BY c.row_no;
		GET DIAGNOSTICS got = ROW_COUNT;
		-- A part's events in one statement, so that the check of each stored event
		-- finds the imported one it links to among the statement's own rows.
		INSERT INTO events (specimen_id, seq, type, at, actor, actor_id, format, to_box, to_pos, details,
			prev_hash, hash)
		SELECT e.new_id, e.seq, e.type, e.at, who, who_id, 2, e.box, e.pos, e.details, e.prev, e.hash
		  FROM (SELECT row_no, new_id, 1 AS seq, 'imported' AS type, at1 AS at, NULL AS box, NULL AS pos,
			       d1 AS details, zero AS prev, h1 AS hash FROM import_chain WHERE part = k
			UNION ALL
			SELECT row_no, new_id, 2, 'stored', at2, box, pos, stored_details, h1, h2
			  FROM import_chain WHERE h2 IS NOT NULL AND part = k) e
		 ORDER BY e.row_no, e.seq;
		INSERT INTO import_specimens (import_id, row_no, specimen_id, study_id, row_key, legacy_id)
		SELECT made.id, c.row_no, c.new_id, c.study_id, c.key, c.legacy_id
		  FROM import_chain c
		 WHERE c.part = k;
		n_done := n_done + got;
		PERFORM bb_import_step('writing', n_done, n_new);
	END LOOP;
	RETURN bb_import_json(made);
END $$;
COMMENT ON FUNCTION bb_import_commit(bytea, text, text, jsonb, text, bigint) IS 'Commits the rows bb_import_check passed: locations, boxes, participants, consents, specimens and their imported and stored events, all at once.';

/*
 * The progress of an import its client named (?progress=ID; docs/import.md,
 * "Progress"), written by the importing daemon one short statement at a
 * time on a connection of its own, and read by whichever daemon the
 * client's polling reaches. Only the importer reads it: someone else's
 * import is "not found", as a FHIR export is.
 */
CREATE OR REPLACE FUNCTION bb_import_progress_claim(owner bigint, named text, dry boolean, bytes bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	DELETE FROM import_progress WHERE updated_at < clock_timestamp() - interval '1 day';
	-- The same name again (a retry, another file): it starts afresh unless that import still runs.
	INSERT INTO import_progress AS p (owner_id, id, dry_run, total)
	VALUES (owner, named, dry, bytes)
	ON CONFLICT (owner_id, id) DO UPDATE SET dry_run = EXCLUDED.dry_run, phase = 'reading', done = 0,
		total = EXCLUDED.total, rows = 0, code = NULL, outcome = NULL, started_at = clock_timestamp(),
		updated_at = clock_timestamp()
	 WHERE p.phase IN ('done', 'failed') OR p.updated_at < clock_timestamp() - interval '2 minutes';
	IF NOT FOUND THEN
		PERFORM bb_fail('BB409', 'import-in-progress', 'progress',
			format('your import named %s is still running: wait for it to end, or name this one otherwise', named));
	END IF;
END $$;
COMMENT ON FUNCTION bb_import_progress_claim(bigint, text, boolean, bigint) IS 'Starts the progress of a named import (BB409 import-in-progress while one of that name runs).';

CREATE OR REPLACE FUNCTION bb_import_progress_note(owner bigint, named text, phase text, done bigint, total bigint,
	nrows bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	UPDATE import_progress p SET phase = bb_import_progress_note.phase, done = bb_import_progress_note.done,
		total = bb_import_progress_note.total, rows = COALESCE(nrows, p.rows), updated_at = clock_timestamp()
	 WHERE p.owner_id = owner AND p.id = named AND p.phase NOT IN ('done', 'failed');
$$;
COMMENT ON FUNCTION bb_import_progress_note(bigint, text, text, bigint, bigint, bigint) IS 'How far a named import is: its phase, done of total, rows read.';

-- failed_code NULL: done. outcome: the counts of the import's answer.
CREATE OR REPLACE FUNCTION bb_import_progress_end(owner bigint, named text, failed_code text, outcome jsonb)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	UPDATE import_progress p SET phase = CASE WHEN failed_code IS NULL THEN 'done' ELSE 'failed' END,
		code = failed_code, outcome = bb_import_progress_end.outcome,
		rows = COALESCE((bb_import_progress_end.outcome ->> 'rows')::bigint, p.rows), updated_at = clock_timestamp()
	 WHERE p.owner_id = owner AND p.id = named AND p.phase NOT IN ('done', 'failed');
$$;
COMMENT ON FUNCTION bb_import_progress_end(bigint, text, text, jsonb) IS 'A named import ended: done, or failed with the code its answer carried.';

/*
 * GET /api/v1/imports/{id}/progress. An import whose daemon has said
 * nothing for two minutes is failed, import-stopped: its daemon stopped
 * (a step of the checks or a part of the writing takes seconds, not minutes).
 */
CREATE OR REPLACE FUNCTION bb_import_progress(named text, owner bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p import_progress;
	running boolean;
BEGIN
	SELECT * INTO p FROM import_progress x WHERE x.owner_id = owner AND x.id = named;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'import-not-found', NULL, format('you have no import named %s', named));
	END IF;
	IF p.phase NOT IN ('done', 'failed') AND p.updated_at < clock_timestamp() - interval '2 minutes' THEN
		p.phase := 'failed';
		p.code := 'import-stopped';
	END IF;
	running := p.phase NOT IN ('done', 'failed');
	RETURN jsonb_strip_nulls(jsonb_build_object('id', p.id, 'dry_run', p.dry_run, 'phase', p.phase,
		'unit', CASE p.phase WHEN 'reading' THEN 'bytes' WHEN 'checking' THEN 'steps' WHEN 'writing' THEN 'rows' END,
		'done', CASE WHEN running THEN p.done END, 'total', CASE WHEN running THEN p.total END,
		'rows', p.rows, 'code', p.code, 'started_at', bb_rfc3339(p.started_at),
		'updated_at', bb_rfc3339(p.updated_at))) || COALESCE(p.outcome - 'rows', '{}');
END $$;
COMMENT ON FUNCTION bb_import_progress(text, bigint) IS 'How far the caller''s named import is (docs/import.md, "Progress"); BB404 import-not-found for anyone else.';
