/*
 * fhir_export.sql — a study's participants as a FHIR Group, and the FHIR
 * Bulk Data exports (docs/fhir.md, "Bulk export"; tables of migration 0041).
 *
 * An export is written by one daemon (server/api/fhir_export.c) over one
 * REPEATABLE READ snapshot: bb_fhir_export_count first, then
 * bb_fhir_export_chunk for each chunk of each type, all in that snapshot's
 * transaction; its progress and the owner's cancellation go through
 * bb_fhir_export_progress on another connection. Polling and downloads read
 * the committed result from any daemon. The functions that write are
 * SECURITY DEFINER, as every writing function: the daemon's role writes
 * no table directly (migrations/0016_roles.sql).
 */

/* A study's participants as a FHIR R4 Group: pseudonymous, members by Patient id only. */
CREATE OR REPLACE FUNCTION bb_fhir_group(st studies) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- PL/pgSQL: its plan cached (see bb_fhir_specimen).
	RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
		'resourceType', 'Group',
		'id', st.id::text,
		'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:biobank:study',
			'value', st.code)),
		'active', true,
		'type', 'person',
		'actual', true,
		'name', 'Participants of ' || st.code,
		'quantity', (SELECT count(*) FROM participants p WHERE p.study_id = st.id),
		-- No member array for a study without participants (FHIR's ele-1).
		'member', (SELECT jsonb_agg(jsonb_build_object('entity',
				jsonb_build_object('reference', 'Patient/' || p.id)) ORDER BY p.id)
			  FROM participants p WHERE p.study_id = st.id))));
END $$;
COMMENT ON FUNCTION bb_fhir_group(studies) IS 'A study''s participants as a FHIR R4 Group (type person, actual): members by Patient id only (docs/fhir.md).';

CREATE OR REPLACE FUNCTION bb_fhir_group_get(sid text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN bb_fhir_group(bb_fhir_study_visible(sid, studies));
END $$;
COMMENT ON FUNCTION bb_fhir_group_get(text, bigint[]) IS 'GET /api/v1/fhir/Group/{id}: a study''s participants as a FHIR Group within the caller''s studies, or BB404.';

/*
 * Kick-off: the job, queued. study: the Group's id (a study's), NULL for the
 * system-level export; types: _type as given (comma-separated; NULL: every
 * type we export); since: _since, checked as a date-time by the caller.
 * Expired jobs of anyone are removed on the way.
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_start(owner bigint, studies bigint[], study text, types text,
	since text, request text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	known constant text[] := ARRAY['ResearchStudy', 'Group', 'Patient', 'Specimen'];
	wanted text[];
	t text;
	sid bigint;
	id uuid;
BEGIN
	IF study IS NOT NULL THEN
		IF study ~ '^[1-9][0-9]{0,17}$' THEN
			SELECT x.id INTO sid FROM studies x
			 WHERE x.id = study::bigint AND (bb_fhir_export_start.studies IS NULL
				OR x.id = ANY (bb_fhir_export_start.studies));
		END IF;
		IF sid IS NULL THEN
			PERFORM bb_fail('BB404', 'study-not-found', NULL, 'no study ' || study);
		END IF;
	END IF;
	IF types IS NULL THEN
		wanted := known;
	ELSE
		FOREACH t IN ARRAY string_to_array(types, ',') LOOP
			t := btrim(t);
			IF NOT t = ANY (known) THEN
				PERFORM bb_fail('BB400', 'value-not-allowed', '_type',
					format('%s is not exported; the types are ResearchStudy, Group, Patient and Specimen',
						CASE WHEN t = '' THEN 'an empty type' ELSE quote_literal(t) END));
			END IF;
			IF wanted IS NULL OR NOT t = ANY (wanted) THEN
				wanted := wanted || t;
			END IF;
		END LOOP;
	END IF;
	DELETE FROM fhir_export_chunks c USING fhir_exports e
	 WHERE c.export_id = e.id AND e.expires_at < now();
	DELETE FROM fhir_exports e WHERE e.expires_at < now();
	INSERT INTO fhir_exports (owner_id, studies, study_id, types, since, request)
	VALUES (owner, bb_fhir_export_start.studies, sid, wanted, since::timestamptz, request)
	RETURNING fhir_exports.id INTO id;
	RETURN jsonb_build_object('id', id);
END $$;
COMMENT ON FUNCTION bb_fhir_export_start(bigint, bigint[], text, text, text, text) IS 'FHIR $export kick-off: a queued job for the owner within its studies (BB404 for a study it does not see, BB400 for a _type not exported).';

/* The job for its daemon's worker: queued to running, or no row when it was cancelled meanwhile. */
CREATE OR REPLACE FUNCTION bb_fhir_export_claim(export uuid, OUT study_id bigint, OUT studies bigint[],
	OUT types text, OUT since timestamptz) RETURNS SETOF record
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	UPDATE fhir_exports e SET status = 'running', heartbeat_at = now()
	 WHERE e.id = export AND e.status = 'queued'
	RETURNING e.study_id, e.studies, array_to_string(e.types, ','), e.since;
$$;
COMMENT ON FUNCTION bb_fhir_export_claim(uuid) IS 'A queued export taken by the worker that runs it (running); no row when it is gone or cancelled.';

/* The specimens, participants and studies an export covers (the scope of its chunks below). */
CREATE OR REPLACE FUNCTION bb_fhir_export_in_scope(sid bigint, study bigint, studies bigint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT (study IS NULL OR sid = study) AND (studies IS NULL OR sid = ANY (studies));
$$;
COMMENT ON FUNCTION bb_fhir_export_in_scope(bigint, bigint, bigint[]) IS 'Whether study sid is in an export''s scope: its Group''s study (when one) and its owner''s studies.';

/*
 * In the snapshot, before the chunks: how many resources the export will
 * write (for X-Progress), and the snapshot's time (transactionTime).
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_count(study bigint, studies bigint[], types text, since timestamptz,
	OUT total bigint, OUT transaction_time timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	wanted text[] := string_to_array(types, ',');
	n bigint;
BEGIN
	total := 0;
	transaction_time := now();
	IF 'Specimen' = ANY (wanted) THEN
		SELECT count(*) INTO n FROM specimens s
		 WHERE bb_fhir_export_in_scope(s.study_id, study, studies)
		   AND (since IS NULL OR EXISTS (SELECT 1 FROM events e
			WHERE e.specimen_id = s.id AND e.seq = s.ledger_seq AND e.at > since));
		total := total + n;
	END IF;
	IF 'Patient' = ANY (wanted) THEN
		SELECT count(*) INTO n FROM participants p
		 WHERE bb_fhir_export_in_scope(p.study_id, study, studies)
		   AND (since IS NULL OR p.created_at > since);
		total := total + n;
	END IF;
	IF 'Group' = ANY (wanted) THEN
		SELECT count(*) INTO n FROM studies st
		 WHERE bb_fhir_export_in_scope(st.id, study, studies)
		   AND (since IS NULL OR st.created_at > since OR EXISTS (SELECT 1 FROM participants p
			WHERE p.study_id = st.id AND p.created_at > since));
		total := total + n;
	END IF;
	IF 'ResearchStudy' = ANY (wanted) THEN
		SELECT count(*) INTO n FROM studies st
		 WHERE bb_fhir_export_in_scope(st.id, study, studies)
		   AND (since IS NULL OR st.created_at > since);
		total := total + n;
	END IF;
END $$;
COMMENT ON FUNCTION bb_fhir_export_count(bigint, bigint[], text, timestamptz) IS 'Resources an export writes, counted in its snapshot, and the snapshot''s time.';

/*
 * In the snapshot: the next chunk of rtype, at most lim resources after
 * the key after (a specimen's serial, a participant's or study's id),
 * written as chunk n. last: the key to continue after; count: resources
 * written (0: the type is done, and nothing was written).
 */
/*
 * The next chunk of an export's resources of one type as NDJSON, read only:
 * in the export's snapshot, on the primary or on a hot standby
 * (reports_database, docs/operations.md). The key to continue after, how
 * many, and their lines (NULL when none).
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_read(rtype text, after bigint, lim integer, study bigint,
	studies bigint[], since timestamptz, OUT last bigint, OUT written integer, OUT lines text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF rtype = 'Specimen' THEN
		SELECT max((x.s).serial), count(*),
		       string_agg(bb_fhir_specimen(x.s)::text || E'\n', '' ORDER BY (x.s).serial)
		  INTO last, written, lines
		  FROM (SELECT s FROM specimens s
			 WHERE s.serial > after AND bb_fhir_export_in_scope(s.study_id, study, studies)
			   AND (since IS NULL OR EXISTS (SELECT 1 FROM events e
				WHERE e.specimen_id = s.id AND e.seq = s.ledger_seq AND e.at > since))
			 ORDER BY s.serial LIMIT lim) x;
	ELSIF rtype = 'Patient' THEN
		SELECT max((x.p).id), count(*),
		       string_agg(bb_fhir_patient(x.p)::text || E'\n', '' ORDER BY (x.p).id)
		  INTO last, written, lines
		  FROM (SELECT p FROM participants p
			 WHERE p.id > after AND bb_fhir_export_in_scope(p.study_id, study, studies)
			   AND (since IS NULL OR p.created_at > since)
			 ORDER BY p.id LIMIT lim) x;
	ELSIF rtype IN ('Group', 'ResearchStudy') THEN
		SELECT max((x.st).id), count(*),
		       string_agg(CASE rtype WHEN 'Group' THEN bb_fhir_group(x.st)
				ELSE bb_fhir_research_study(x.st) END::text || E'\n', '' ORDER BY (x.st).id)
		  INTO last, written, lines
		  FROM (SELECT st FROM studies st
			 WHERE st.id > after AND bb_fhir_export_in_scope(st.id, study, studies)
			   AND (since IS NULL OR st.created_at > since OR (rtype = 'Group' AND EXISTS (
				SELECT 1 FROM participants p WHERE p.study_id = st.id AND p.created_at > since)))
			 ORDER BY st.id LIMIT lim) x;
	ELSE
		RAISE EXCEPTION 'bb_fhir_export_read: no such type %', rtype;
	END IF;
END $$;
COMMENT ON FUNCTION bb_fhir_export_read(text, bigint, integer, bigint, bigint[], timestamptz) IS 'Reads the next chunk of an export''s resources of one type as NDJSON (in the export''s snapshot, on the primary or a hot standby); the key to continue after, how many, and the lines.';

/* A chunk read on a standby, kept on the primary: only while its export runs. */
CREATE OR REPLACE FUNCTION bb_fhir_export_store(export uuid, rtype text, n integer, written integer,
	lines text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	INSERT INTO fhir_export_chunks (export_id, type, n, count, lines)
	SELECT export, rtype, n, written, lines
	 WHERE written > 0 AND EXISTS (SELECT 1 FROM fhir_exports e
		WHERE e.id = export AND e.status = 'running');
$$;
COMMENT ON FUNCTION bb_fhir_export_store(uuid, text, integer, integer, text) IS 'Keeps a chunk of NDJSON read on a hot standby (bb_fhir_export_read) for a running export.';

/* The next chunk read and kept at once, in the snapshot's own transaction (on the primary). */
CREATE OR REPLACE FUNCTION bb_fhir_export_chunk(export uuid, rtype text, n integer, after bigint, lim integer,
	study bigint, studies bigint[], since timestamptz, OUT last bigint, OUT written integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	ls text;
BEGIN
	SELECT r.last, r.written, r.lines INTO last, written, ls
	  FROM bb_fhir_export_read(rtype, after, lim, study, studies, since) r;
	IF written > 0 THEN
		INSERT INTO fhir_export_chunks (export_id, type, n, count, lines)
		VALUES (export, rtype, n, written, ls);
	END IF;
END $$;
COMMENT ON FUNCTION bb_fhir_export_chunk(uuid, text, integer, bigint, integer, bigint, bigint[], timestamptz) IS 'Writes the next chunk of an export''s resources of one type as NDJSON (in the export''s snapshot); the key to continue after and how many were written.';

/*
 * From the worker, outside the snapshot: how far it is. False when the job
 * is no longer running (its owner cancelled it): the worker stops.
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_progress(export uuid, done bigint, total bigint,
	transaction_time timestamptz) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
	WITH u AS (
		UPDATE fhir_exports e SET done = bb_fhir_export_progress.done,
			total = COALESCE(bb_fhir_export_progress.total, e.total),
			transaction_time = COALESCE(bb_fhir_export_progress.transaction_time, e.transaction_time),
			heartbeat_at = now()
		 WHERE e.id = export AND e.status = 'running' RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM u);
$$;
COMMENT ON FUNCTION bb_fhir_export_progress(uuid, bigint, bigint, timestamptz) IS 'A running export''s progress and heartbeat; false when it was cancelled.';

/*
 * The worker's last word: done (error NULL) or failed. A job cancelled
 * meanwhile is removed with whatever it wrote, as is a failed job's output.
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_finish(export uuid, error text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	st text;
BEGIN
	SELECT e.status INTO st FROM fhir_exports e WHERE e.id = export FOR UPDATE;
	IF st IS NULL OR st = 'cancelled' THEN
		DELETE FROM fhir_export_chunks c WHERE c.export_id = export;
		DELETE FROM fhir_exports e WHERE e.id = export;
		RETURN;
	END IF;
	IF st NOT IN ('queued', 'running') THEN
		RETURN;
	END IF;
	IF error IS NOT NULL THEN
		DELETE FROM fhir_export_chunks c WHERE c.export_id = export;
	END IF;
	UPDATE fhir_exports e SET status = CASE WHEN bb_fhir_export_finish.error IS NULL THEN 'done' ELSE 'failed' END,
		error = left(bb_fhir_export_finish.error, 1000), finished_at = now(),
		heartbeat_at = now(), expires_at = now() + interval '1 day'
	 WHERE e.id = export;
END $$;
COMMENT ON FUNCTION bb_fhir_export_finish(uuid, text) IS 'Ends an export: done, or failed with the reason (its output removed); a cancelled one is removed altogether.';

/*
 * The export id as its owner may use it: the owner's, not cancelled, and
 * the owner still sees every study it covered. BB404 otherwise, the same
 * answer as for an id that never existed.
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_visible(export text, owner bigint, studies bigint[]) RETURNS fhir_exports
LANGUAGE plpgsql AS $$
DECLARE
	e fhir_exports;
BEGIN
	IF export ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
		SELECT * INTO e FROM fhir_exports x
		 WHERE x.id = export::uuid AND x.owner_id = owner AND x.status <> 'cancelled'
		   AND (bb_fhir_export_visible.studies IS NULL OR (x.studies IS NOT NULL
			AND x.studies <@ bb_fhir_export_visible.studies));
	END IF;
	IF e.id IS NULL THEN
		PERFORM bb_fail('BB404', 'export-not-found', NULL, 'no export ' || export);
	END IF;
	RETURN e;
END $$;
COMMENT ON FUNCTION bb_fhir_export_visible(text, bigint, bigint[]) IS 'An export its owner may poll, cancel or download, or BB404.';

/*
 * Polling: the job's state, and when done its files (each type's chunks in
 * runs of 100, a file each). A running job silent for two minutes, or one
 * queued for an hour, lost its daemon: it is failed here, so that its
 * owner hears of it from whichever daemon answers.
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_status(export text, owner bigint, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	e fhir_exports := bb_fhir_export_visible(export, owner, studies);
BEGIN
	IF (e.status = 'running' AND e.heartbeat_at < now() - interval '2 minutes')
	   OR (e.status = 'queued' AND e.created_at < now() - interval '1 hour') THEN
		PERFORM bb_fhir_export_finish(e.id,
			'the server running the export stopped before it ended; kick it off again');
		SELECT * INTO e FROM fhir_exports x WHERE x.id = e.id;
	END IF;
	RETURN jsonb_build_object(
		'status', e.status,
		'request', e.request,
		'done', e.done,
		'total', e.total,
		'transaction_time', bb_rfc3339(e.transaction_time),
		'error', e.error,
		'output', CASE WHEN e.status = 'done' THEN COALESCE((
			SELECT jsonb_agg(jsonb_build_object('type', f.type, 'part', f.part, 'count', f.count)
				ORDER BY array_position(e.types, f.type), f.part)
			  FROM (SELECT c.type, c.n / 100 + 1 AS part, sum(c.count) AS count
				  FROM fhir_export_chunks c WHERE c.export_id = e.id
				 GROUP BY c.type, c.n / 100) f), '[]') END);
END $$;
COMMENT ON FUNCTION bb_fhir_export_status(text, bigint, bigint[]) IS 'A FHIR export''s state for its owner: status, progress, and the files once done.';

/* DELETE: a running or queued job is cancelled (its worker stops and removes it); an ended one removed now. */
CREATE OR REPLACE FUNCTION bb_fhir_export_delete(export text, owner bigint, studies bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	e fhir_exports := bb_fhir_export_visible(export, owner, studies);
BEGIN
	IF e.status IN ('queued', 'running') THEN
		UPDATE fhir_exports x SET status = 'cancelled' WHERE x.id = e.id;
	ELSE
		DELETE FROM fhir_export_chunks c WHERE c.export_id = e.id;
		DELETE FROM fhir_exports x WHERE x.id = e.id;
	END IF;
END $$;
COMMENT ON FUNCTION bb_fhir_export_delete(text, bigint, bigint[]) IS 'Cancels a running FHIR export or removes an ended one, for its owner.';

/*
 * Download: chunk k (from 0) of the file part (from 1) of rtype, NULL past
 * its end; BB404 for a file the export does not have.
 */
CREATE OR REPLACE FUNCTION bb_fhir_export_lines(export text, owner bigint, studies bigint[], rtype text,
	part text, k integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	e fhir_exports := bb_fhir_export_visible(export, owner, studies);
	p integer;
	chunk text;
BEGIN
	IF part ~ '^[1-9][0-9]{0,6}$' THEN
		p := part::integer;
	END IF;
	IF e.status = 'done' AND p IS NOT NULL AND k < 100 THEN
		SELECT c.lines INTO chunk FROM fhir_export_chunks c
		 WHERE c.export_id = e.id AND c.type = rtype AND c.n = (p - 1) * 100 + k;
	END IF;
	IF chunk IS NULL AND k = 0 THEN
		PERFORM bb_fail('BB404', 'export-not-found', NULL,
			format('export %s has no file %s/%s', export, rtype, part));
	END IF;
	RETURN chunk;
END $$;
COMMENT ON FUNCTION bb_fhir_export_lines(text, bigint, bigint[], text, text, integer) IS 'A chunk of an export''s NDJSON file for its owner: chunk k of file part of a type, NULL past the end, BB404 for no such file.';
