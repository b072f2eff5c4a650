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

-- The zone's offset from UTC at t, as a label names it: UTC+8, UTC+5:30, UTC-3, UTC.
CREATE OR REPLACE FUNCTION bb_label_utc_offset(t timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT 'UTC' || CASE WHEN o = 0 THEN '' ELSE
		CASE WHEN o < 0 THEN '-' ELSE '+' END || (abs(o) / 3600)::text ||
		CASE WHEN abs(o) % 3600 = 0 THEN '' ELSE ':' || lpad((abs(o) % 3600 / 60)::text, 2, '0') END END
	  FROM (SELECT extract(epoch FROM (t AT TIME ZONE tz) - (t AT TIME ZONE 'UTC'))::int AS o) x;
$$;
COMMENT ON FUNCTION bb_label_utc_offset(timestamptz, text) IS 'The offset of zone tz from UTC at time t, as a label prints it (UTC+8, UTC-3:30, UTC).';

/*
 * One label's data, the item of GET /api/v1/labels. The date printed is the
 * collection's date in the site's time zone (the daemon's `timezone`): a
 * sample taken at 01:30 in Shanghai is 17:30 UTC the day before, and a
 * label dated the day before would put it on another visit.
 */
DROP FUNCTION IF EXISTS bb_label_json(specimens);
CREATE OR REPLACE FUNCTION bb_label_json(s specimens, tz text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', s.id,
		'tube_barcode', s.tube_barcode,
		'type', s.type,
		'participant', st.code || '/' || p.code,
		'timepoint', s.timepoint,
		'collected_at', bb_rfc3339(s.collected_at),
		'collected_on', to_char(s.collected_at AT TIME ZONE tz, 'YYYY-MM-DD'),
		'timezone', tz,
		'utc_offset', bb_label_utc_offset(s.collected_at, tz),
		'lines', bb_label_lines(st.code || '/' || p.code, s.type, s.timepoint,
			(s.collected_at AT TIME ZONE tz)::date))
	  FROM participants p JOIN studies st ON st.id = p.study_id
	 WHERE p.id = s.participant_id;
$$;
COMMENT ON FUNCTION bb_label_json(specimens, text) IS 'What a specimen''s tube label says: ID, type, participant STUDY/CODE, timepoint, collection time, its date and offset in zone tz, and the printed lines.';

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

-- GET /api/v1/labels: the label data of each ID, in the order asked, dated in zone tz.
DROP FUNCTION IF EXISTS bb_labels_get(text[], bigint[]);
CREATE OR REPLACE FUNCTION bb_labels_get(ids text[], studies bigint[], tz text DEFAULT 'UTC')
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	missing text[] := bb_labels_missing(ids, studies);
BEGIN
	IF cardinality(missing) > 0 THEN
		PERFORM bb_fail('BB404', 'specimen-not-found', NULL,
			format('no specimen %s', array_to_string(missing, ', ')),
			jsonb_build_object('specimens', to_jsonb(missing)));
	END IF;
	RETURN jsonb_build_object('items', COALESCE((
		SELECT jsonb_agg(bb_label_json(s, COALESCE(tz, 'UTC')) ORDER BY u.n)
		  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
		  JOIN specimens s ON s.id = u.id), '[]'));
END $$;
COMMENT ON FUNCTION bb_labels_get(text[], bigint[], text) IS 'Label data for a list of IDs in the order given, dated in zone tz; BB404 naming every ID that is unknown or out of scope.';

-- One specimen's label data by ID or tube barcode (for the previews), dated in zone tz.
DROP FUNCTION IF EXISTS bb_label_get(text, bigint[]);
CREATE OR REPLACE FUNCTION bb_label_get(ref text, studies bigint[], tz text DEFAULT 'UTC')
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN bb_label_json(bb_specimen_visible(ref, studies), COALESCE(tz, 'UTC'));
END $$;
COMMENT ON FUNCTION bb_label_get(text, bigint[], text) IS 'Label data of a specimen by ID or tube barcode within the given studies, dated in zone tz; BB404 if none.';

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
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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

-- Replaced by the print jobs (bb_print_job_create and bb_print_job_finish).
DROP FUNCTION IF EXISTS bb_labels_print(text[], text, integer, text, bigint[], text, bigint);

-- A print job as the API shows it.
CREATE OR REPLACE FUNCTION bb_print_job_json(j print_jobs) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'id', j.id, 'state', j.state, 'printer', j.printer,
		'specimens', to_jsonb(j.specimens), 'copies', j.copies,
		'template', j.template, 'dpi', j.dpi,
		'created_at', bb_rfc3339(j.created_at), 'created_by', j.actor,
		'attempts', j.attempts, 'send_started_at', bb_rfc3339(j.send_started_at),
		'retry_after', CASE WHEN j.state = 'pending' THEN bb_rfc3339(j.send_deadline) END,
		'error', j.error, 'finished_at', bb_rfc3339(j.finished_at),
		'events', CASE WHEN j.event_seqs IS NULL THEN NULL ELSE
			(SELECT jsonb_agg(jsonb_build_object('specimen', u.id, 'seq', u.seq) ORDER BY u.n)
			   FROM unnest(j.specimens, j.event_seqs) WITH ORDINALITY AS u (id, seq, n)) END);
$$;
COMMENT ON FUNCTION bb_print_job_json(print_jobs) IS 'A print job in the API''s shape: state, printer, specimens, attempts, error and, once sent, each specimen''s label_printed event.';

-- A job is visible to a caller who may see every one of its specimens.
CREATE OR REPLACE FUNCTION bb_print_job_visible(j print_jobs, studies bigint[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT studies IS NULL OR cardinality(bb_labels_missing(j.specimens, studies)) = 0;
$$;
COMMENT ON FUNCTION bb_print_job_visible(print_jobs, bigint[]) IS 'True when the caller''s studies cover every specimen of the job.';

/*
 * Lock a batch of specimens (in ID order, so two batches sharing tubes cannot
 * deadlock) and refuse it naming every ID that is unknown or out of scope
 * (BB404) or destroyed (BB409). The locks last only as long as the short
 * transaction that records the job: the printer is contacted after it.
 */
CREATE OR REPLACE FUNCTION bb_print_check(ids text[], studies bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	missing text[] := bb_labels_missing(ids, studies);
	destroyed text[];
BEGIN
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
END $$;
COMMENT ON FUNCTION bb_print_check(text[], bigint[]) IS 'Locks a batch of specimens in ID order; BB404 naming unknown or out-of-scope IDs, BB409 naming destroyed ones.';

-- The answer of a job about to be sent: the job and the label data to render, dated in zone tz.
DROP FUNCTION IF EXISTS bb_print_job_sending(print_jobs);
CREATE OR REPLACE FUNCTION bb_print_job_sending(j print_jobs, tz text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('job', bb_print_job_json(j),
		'items', (SELECT jsonb_agg(bb_label_json(s, COALESCE(tz, 'UTC')) ORDER BY u.n)
			    FROM unnest(j.specimens) WITH ORDINALITY AS u (id, n)
			    JOIN specimens s ON s.id = u.id));
$$;
COMMENT ON FUNCTION bb_print_job_sending(print_jobs, text) IS 'A job about to be sent and the label data of its specimens (dated in zone tz), in order.';

/*
 * POST /api/v1/print, first transaction: check the batch and record a
 * pending job. No event is written yet: the daemon sends the labels after
 * this commits and records the outcome with bb_print_job_finish. lease is
 * how long the send may take (the daemon's printer timeouts), so that a
 * retry does not print a job whose send may still be going on.
 */
DROP FUNCTION IF EXISTS bb_print_job_create(text[], text, integer, text, integer, integer, bigint[], text, bigint);
CREATE OR REPLACE FUNCTION bb_print_job_create(ids text[], printer text, copies integer,
	template text, dpi integer, lease_s integer, studies bigint[], actor text, actor_id bigint,
	tz text DEFAULT 'UTC')
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	j print_jobs;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	PERFORM bb_print_check(ids, studies);
	INSERT INTO print_jobs (actor, actor_id, printer, specimens, copies, template, dpi,
		send_deadline)
	VALUES (actor, actor_id, printer, ids, copies, template, dpi,
		now() + make_interval(secs => lease_s))
	RETURNING * INTO j;
	RETURN bb_print_job_sending(j, tz);
END $$;
COMMENT ON FUNCTION bb_print_job_create(text[], text, integer, text, integer, integer, bigint[], text, bigint, text)
	IS 'Checks a batch of specimens (BB404 unknown, BB409 destroyed) and records a pending print job; returns it with the label data to send, dated in zone tz.';

-- A job by id within the caller's studies, locked; BB404 when there is none.
CREATE OR REPLACE FUNCTION bb_print_job_lock(job_id bigint, studies bigint[]) RETURNS print_jobs
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	j print_jobs;
BEGIN
	SELECT * INTO j FROM print_jobs WHERE id = job_id FOR UPDATE;
	IF NOT FOUND OR NOT bb_print_job_visible(j, studies) THEN
		PERFORM bb_fail('BB404', 'print-job-not-found', NULL,
			format('no print job %s', job_id), jsonb_build_object('job', job_id));
	END IF;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_print_job_lock(bigint, bigint[]) IS 'Locks a print job the caller may see; BB404 print-job-not-found otherwise.';

/*
 * POST /api/v1/print-jobs/{id}/retry, first transaction: a failed job, or a
 * pending one whose send has surely ended (a crash, or a lost database
 * between send and record), begins another attempt. A sent job, or a
 * pending one that may still be printing, is BB409 print-job-state.
 */
DROP FUNCTION IF EXISTS bb_print_job_retry(bigint, integer, bigint[], text, bigint);
CREATE OR REPLACE FUNCTION bb_print_job_retry(job_id bigint, lease_s integer, studies bigint[],
	actor text, actor_id bigint, tz text DEFAULT 'UTC') RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	j print_jobs := bb_print_job_lock(job_id, studies);
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF j.state = 'sent' THEN
		PERFORM bb_fail('BB409', 'print-job-state', NULL,
			format('print job %s was sent at %s: there is nothing to retry', j.id,
				bb_rfc3339(j.finished_at)),
			jsonb_build_object('job', j.id, 'job_state', j.state));
	END IF;
	IF j.state = 'pending' AND j.send_deadline > now() THEN
		PERFORM bb_fail('BB409', 'print-job-state', NULL,
			format('print job %s is being sent (attempt %s); it may be retried from %s if it is still pending then',
				j.id, j.attempts, bb_rfc3339(j.send_deadline)),
			jsonb_build_object('job', j.id, 'job_state', j.state,
				'retry_after', bb_rfc3339(j.send_deadline)));
	END IF;
	PERFORM bb_print_check(j.specimens, studies);
	UPDATE print_jobs
	   SET state = 'pending', attempts = attempts + 1, error = NULL, finished_at = NULL,
	       send_started_at = now(), send_deadline = now() + make_interval(secs => lease_s)
	 WHERE id = j.id
	RETURNING * INTO j;
	RETURN bb_print_job_sending(j, tz);
END $$;
COMMENT ON FUNCTION bb_print_job_retry(bigint, integer, bigint[], text, bigint, text)
	IS 'Begins another attempt of a failed job, or of a pending one whose send has surely ended; BB409 print-job-state for a sent job or one still being sent.';

/*
 * Second transaction: the outcome of attempt `attempt` of a job. Sent: one
 * label_printed event per specimen, in the job's order, and the job sent;
 * failed: the job failed with the printer's error, and no event. Only the
 * latest attempt of a pending job records (BB409 print-job-state otherwise),
 * so no outcome is recorded twice.
 */
CREATE OR REPLACE FUNCTION bb_print_job_finish(job_id bigint, attempt integer, sent boolean,
	error text, actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	j print_jobs := bb_print_job_lock(job_id, NULL);
	seqs integer[];
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF j.state <> 'pending' OR j.attempts <> attempt THEN
		PERFORM bb_fail('BB409', 'print-job-state', NULL,
			format('print job %s is %s at attempt %s: the outcome of attempt %s is not recorded',
				j.id, j.state, j.attempts, attempt),
			jsonb_build_object('job', j.id, 'job_state', j.state));
	END IF;
	IF NOT sent THEN
		UPDATE print_jobs SET state = 'failed', error = left(bb_print_job_finish.error, 1000),
		       finished_at = now()
		 WHERE id = j.id RETURNING * INTO j;
		RETURN jsonb_build_object('job', bb_print_job_json(j), 'events', '[]'::jsonb);
	END IF;
	WITH ins AS (
		INSERT INTO events (specimen_id, type, actor, actor_id, details)
		SELECT u.id, 'label_printed', actor, actor_id,
			jsonb_build_object('printer', j.printer, 'copies', j.copies, 'template', j.template)
		  FROM unnest(j.specimens) WITH ORDINALITY AS u (id, n)
		 ORDER BY u.n
		RETURNING specimen_id, seq)
	SELECT array_agg(ins.seq ORDER BY u.n) INTO seqs
	  FROM unnest(j.specimens) WITH ORDINALITY AS u (id, n) JOIN ins ON ins.specimen_id = u.id;
	UPDATE print_jobs SET state = 'sent', finished_at = now(), event_seqs = seqs, error = NULL
	 WHERE id = j.id RETURNING * INTO j;
	RETURN jsonb_build_object('job', bb_print_job_json(j),
		'events', (SELECT jsonb_agg(bb_label_event_json(e) || jsonb_build_object('specimen', e.specimen_id)
				ORDER BY u.n)
			     FROM unnest(j.specimens, j.event_seqs) WITH ORDINALITY AS u (id, seq, n)
			     JOIN events e ON e.specimen_id = u.id AND e.seq = u.seq));
END $$;
COMMENT ON FUNCTION bb_print_job_finish(bigint, integer, boolean, text, text, bigint)
	IS 'Records the outcome of a print job''s latest attempt: sent (one label_printed event per specimen) or failed (the error, no event); BB409 print-job-state for any other attempt.';

/*
 * Second transaction, when the printer said before the job that it cannot
 * print (paper out, ribbon out, head open, paused): nothing was sent, so the
 * job stays pending with the printer's words and may be retried at once.
 */
CREATE OR REPLACE FUNCTION bb_print_job_hold(job_id bigint, attempt integer, error text,
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	j print_jobs := bb_print_job_lock(job_id, NULL);
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF j.state <> 'pending' OR j.attempts <> attempt THEN
		PERFORM bb_fail('BB409', 'print-job-state', NULL,
			format('print job %s is %s at attempt %s: the outcome of attempt %s is not recorded',
				j.id, j.state, j.attempts, attempt),
			jsonb_build_object('job', j.id, 'job_state', j.state));
	END IF;
	UPDATE print_jobs SET error = left(bb_print_job_hold.error, 1000),
	       send_deadline = least(send_deadline, now())
	 WHERE id = j.id RETURNING * INTO j;
	RETURN jsonb_build_object('job', bb_print_job_json(j), 'events', '[]'::jsonb);
END $$;
COMMENT ON FUNCTION bb_print_job_hold(bigint, integer, text, text, bigint)
	IS 'Records that the printer was not ready for the latest attempt of a pending job: the job stays pending with the error and may be retried now; BB409 print-job-state for any other attempt.';

-- GET /api/v1/print-jobs/{id}
CREATE OR REPLACE FUNCTION bb_print_job_get(job_id bigint, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	j print_jobs;
BEGIN
	SELECT * INTO j FROM print_jobs WHERE id = job_id;
	IF NOT FOUND OR NOT bb_print_job_visible(j, studies) THEN
		PERFORM bb_fail('BB404', 'print-job-not-found', NULL,
			format('no print job %s', job_id), jsonb_build_object('job', job_id));
	END IF;
	RETURN bb_print_job_json(j);
END $$;
COMMENT ON FUNCTION bb_print_job_get(bigint, bigint[]) IS 'A print job the caller may see; BB404 print-job-not-found otherwise.';

-- GET /api/v1/print-jobs: newest first, optionally of one state.
CREATE OR REPLACE FUNCTION bb_print_jobs_list(p_state text, lim integer, cursor text, studies bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	key jsonb := bb_cursor_read('print-jobs', cursor);
	j jsonb;
BEGIN
	WITH page AS (
		SELECT pj.id, row_number() OVER (ORDER BY pj.id DESC) AS n
		  FROM print_jobs pj
		 WHERE (p_state IS NULL OR pj.state = p_state)
		   AND (key IS NULL OR pj.id < (key ->> 0)::bigint)
		   AND bb_print_job_visible(pj, studies)
		 ORDER BY pj.id DESC
		 LIMIT lim + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(bb_print_job_json(pj) ORDER BY p.n)
			FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN
			bb_cursor_make('print-jobs', jsonb_build_array(min(p.id) FILTER (WHERE p.n <= lim))) END)
	  INTO j FROM page p JOIN print_jobs pj ON pj.id = p.id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_print_jobs_list(text, integer, text, bigint[]) IS 'GET /api/v1/print-jobs: a page of print jobs the caller may see, newest first, optionally of one state.';
