-- functions/audits.sql — Freezer audits: snapshot, rack and hand scans, the
-- discrepancy report, closing with events.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

/*
 * Studies. An audit covers the studies of the user who started it
 * (audits.studies, NULL: every study). A study-limited user sees and
 * works on an audit only when their studies include all of its studies;
 * any other audit is not found for them, as any object of another study.
 */
CREATE OR REPLACE FUNCTION bb_audit_within(audit_studies bigint[], studies bigint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT studies IS NULL OR (audit_studies IS NOT NULL AND audit_studies <@ studies);
$$;
COMMENT ON FUNCTION bb_audit_within(bigint[], bigint[]) IS 'True when a user of studies (NULL: every study) may see and work on an audit covering audit_studies (NULL: every study).';

-- The audit a user of studies may see; BB404 when there is none (for them).
CREATE OR REPLACE FUNCTION bb_audit_get(aid bigint, studies bigint[]) RETURNS audits
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a audits;
BEGIN
	SELECT * INTO a FROM audits WHERE id = aid;
	IF NOT FOUND OR NOT bb_audit_within(a.studies, studies) THEN
		PERFORM bb_fail('BB404', 'audit-not-found', NULL,
			format('no audit %s', aid),
			jsonb_build_object('audit', aid));
	END IF;
	RETURN a;
END $$;
COMMENT ON FUNCTION bb_audit_get(bigint, bigint[]) IS 'The audit a user of studies may see, or BB404 audit-not-found.';

-- The audit, locked, for a write; BB404 when there is none (for these studies), BB409 when closed.
DROP FUNCTION IF EXISTS bb_audit_lock(bigint);
CREATE OR REPLACE FUNCTION bb_audit_lock(aid bigint, studies bigint[]) RETURNS audits LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	a audits;
BEGIN
	PERFORM 1 FROM audits WHERE id = aid FOR UPDATE;
	a := bb_audit_get(aid, studies);
	IF a.status <> 'open' THEN
		PERFORM bb_fail('BB409', 'audit-closed', NULL,
			format('audit %s was closed at %s: it takes no more scans or resolutions', aid, bb_rfc3339(a.closed_at)),
			jsonb_build_object('audit', aid, 'closed_at', bb_rfc3339(a.closed_at)));
	END IF;
	RETURN a;
END $$;
COMMENT ON FUNCTION bb_audit_lock(bigint, bigint[]) IS 'An open audit a user of studies may work on, locked; BB404 if there is none (for them), BB409 if it is closed.';

-- The audit's box named by barcode, or its only box when barcode is NULL.
CREATE OR REPLACE FUNCTION bb_audit_box_find(aid bigint, barcode text, field text, OUT b audit_boxes,
	OUT err jsonb) LANGUAGE plpgsql STABLE AS $$
DECLARE
	n integer;
BEGIN
	IF barcode IS NULL THEN
		SELECT count(*) INTO n FROM audit_boxes WHERE audit_id = aid;
		IF n <> 1 THEN
			err := bb_refusal('BB400', 'audit-box-ambiguous', field,
				format('audit %s covers %s boxes: name the box', aid, n),
				jsonb_build_object('audit', aid, 'boxes', n));
			RETURN;
		END IF;
		SELECT * INTO b FROM audit_boxes WHERE audit_id = aid;
		RETURN;
	END IF;
	SELECT * INTO b FROM audit_boxes x WHERE x.audit_id = aid AND x.barcode = bb_audit_box_find.barcode;
	IF NOT FOUND THEN
		IF EXISTS (SELECT 1 FROM boxes x WHERE x.barcode = bb_audit_box_find.barcode) THEN
			err := bb_refusal('BB400', 'box-not-in-audit', field,
				format('box %s is not part of audit %s', barcode, aid),
				jsonb_build_object('audit', aid, 'box', barcode));
		ELSE
			err := bb_refusal('BB400', 'unknown-box', field,
				format('no box has the barcode %s', barcode),
				jsonb_build_object('box', barcode));
		END IF;
	END IF;
END $$;
COMMENT ON FUNCTION bb_audit_box_find(bigint, text, text) IS 'A box of the audit by barcode (or its only box for NULL), or the refusal naming field.';

CREATE OR REPLACE FUNCTION bb_audit_box(aid bigint, barcode text, field text) RETURNS audit_boxes
LANGUAGE plpgsql STABLE AS $$
DECLARE
	f record;
BEGIN
	SELECT * INTO f FROM bb_audit_box_find(aid, barcode, field);
	IF f.err IS NOT NULL THEN
		PERFORM bb_fail_each(jsonb_build_array(f.err));
	END IF;
	RETURN f.b;
END $$;
COMMENT ON FUNCTION bb_audit_box(bigint, text, text) IS 'A box of the audit by barcode (or its only box for NULL); BB400 naming field otherwise.';

-- Start an audit: snapshot every in_storage specimen of the box, or of every box below the location.
CREATE OR REPLACE FUNCTION bb_audit_create(box text, location bigint, studies bigint[], actor text,
	actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	a audits;
	bid bigint;
	n integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF (box IS NULL) = (location IS NULL) THEN
		PERFORM bb_fail('BB400', 'box-or-location', 'box',
			'give either a box or a location, not both');
	END IF;
	IF box IS NOT NULL THEN
		SELECT id INTO bid FROM boxes x WHERE x.barcode = box;
		IF NOT FOUND THEN
			PERFORM bb_fail('BB400', 'unknown-box', 'box',
				format('no box has the barcode %s', box),
				jsonb_build_object('box', box));
		END IF;
	ELSIF NOT EXISTS (SELECT 1 FROM locations WHERE id = location) THEN
		PERFORM bb_fail('BB400', 'unknown-location', 'location',
			format('no location %s', location),
			jsonb_build_object('location', location));
	END IF;
	INSERT INTO audits (box_id, location_id, started_by, studies)
	VALUES (bid, location, actor, studies) RETURNING * INTO a;
	-- Two statements, not one with "id = bid OR location_id IN (...)": the OR
	-- cannot use either index, and at 10^5 boxes the scan of them all was most
	-- of a one-box audit's start (38 of 40 ms, docs/performance.md).
	IF bid IS NOT NULL THEN
		INSERT INTO audit_boxes (audit_id, box_id, barcode, rows, cols)
		SELECT a.id, b.id, b.barcode, b.rows, b.cols FROM boxes b WHERE b.id = bid;
	ELSE
		WITH RECURSIVE below (id) AS (
			SELECT location
			UNION ALL
			SELECT l.id FROM locations l JOIN below ON l.parent_id = below.id
		)
		INSERT INTO audit_boxes (audit_id, box_id, barcode, rows, cols)
		SELECT a.id, b.id, b.barcode, b.rows, b.cols FROM boxes b
		 WHERE b.location_id IN (SELECT id FROM below);
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n = 0 THEN
		PERFORM bb_fail('BB400', 'location-empty', 'location',
			format('location %s holds no boxes', location),
			jsonb_build_object('location', location));
	END IF;
	-- Locked so that the snapshot and each specimen's ledger position agree.
	-- Every tube of the boxes, whatever its study: the snapshot is what the
	-- boxes hold, so that an unreadable code where a tube of another study
	-- is says so instead of "no tube expected there". bb_audit_rows keeps
	-- such tubes out of every answer, count, event and record.
	INSERT INTO audit_expected (audit_id, specimen_id, box_id, pos_row, pos_col, ledger_seq)
	SELECT a.id, s.id, s.box_id, s.pos_row, s.pos_col, s.ledger_seq
	  FROM specimens s JOIN audit_boxes ab ON ab.audit_id = a.id AND ab.box_id = s.box_id
	 WHERE s.status = 'in_storage'
	   FOR SHARE OF s;
	RETURN bb_audit_report(a.id, studies) - 'discrepancies';
END $$;
COMMENT ON FUNCTION bb_audit_create(text, bigint, bigint[], text, bigint) IS 'Starts an audit of a box or a location, covering the caller''s studies, and snapshots its expected contents.';

-- The custody event types that change where a specimen is.
CREATE OR REPLACE FUNCTION bb_event_moves(type text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT type IN ('stored', 'moved', 'checked_out', 'returned', 'shipped', 'received',
		'consumed', 'destroyed', 'lost', 'found');
$$;
COMMENT ON FUNCTION bb_event_moves(text) IS 'True for the event types that change a specimen''s place or status.';

/*
 * Audits. The reconciliation looked for each expected tube's last move
 * since the snapshot with (seq > snapshot seq OR at >= start): the OR kept
 * the sequence number out of the events key, so every event of the tube was
 * read backwards and filtered; racks that move often have dozens. The
 * added seq > COALESCE(snapshot seq, 0) is implied by the OR for both kinds
 * of rows and makes the key do the work.
 */
CREATE OR REPLACE FUNCTION bb_audit_discrepancies(aid bigint)
RETURNS TABLE (kind text, specimen_id text, barcode text, box text, expected text, found text,
	detail text, study_id bigint)
LANGUAGE sql STABLE AS $$
	WITH a AS (SELECT * FROM audits WHERE id = aid),
	bx AS (
		SELECT ab.*, EXISTS (SELECT 1 FROM audit_scans s
				      WHERE s.audit_id = aid AND s.box_id = ab.box_id) AS scanned
		  FROM audit_boxes ab WHERE ab.audit_id = aid
	),
	ex AS (
		SELECT e.specimen_id, e.box_id, e.pos_row, e.pos_col, e.ledger_seq, bx.barcode AS box,
		       bx.scanned, bb_position_name(e.pos_row, e.pos_col) AS pos
		  FROM audit_expected e JOIN bx ON bx.box_id = e.box_id WHERE e.audit_id = aid
	),
	sc AS (
		SELECT s.box_id, s.pos_row, s.pos_col, s.state, s.barcode, s.specimen_id, bx.barcode AS box,
		       bb_position_name(s.pos_row, s.pos_col) AS pos
		  FROM audit_scans s JOIN bx ON bx.box_id = s.box_id WHERE s.audit_id = aid
	),
	-- Specimens whose place changed by a custody event since the snapshot (expected ones)
	-- or since the start (scanned ones that were not expected): the last such event.
	mv AS (
		SELECT x.specimen_id, ev.type, ev.to_box, ev.to_pos, ev.at
		  FROM (SELECT ex.specimen_id, ex.ledger_seq AS since_seq, NULL::timestamptz AS since_at FROM ex
			UNION
			SELECT sc.specimen_id, NULL, a.started_at FROM sc, a
			 WHERE sc.specimen_id IS NOT NULL
			   AND sc.specimen_id NOT IN (SELECT specimen_id FROM ex)) x
		 CROSS JOIN LATERAL (
			SELECT e.type, e.to_box, e.to_pos, e.at FROM events e
			 WHERE e.specimen_id = x.specimen_id AND e.seq > COALESCE(x.since_seq, 0)
			   AND bb_event_moves(e.type)
			   AND (e.seq > x.since_seq OR e.at >= x.since_at)
			 ORDER BY e.seq DESC LIMIT 1) ev
	),
	-- Each scanned tube, classified against the snapshot.
	tube AS (
		SELECT sc.*, ex.box_id AS ex_box_id, ex.box AS ex_box, ex.pos AS ex_pos,
		       (ex.box_id = sc.box_id AND ex.pos_row = sc.pos_row AND ex.pos_col = sc.pos_col) AS here,
		       row_number() OVER (PARTITION BY sc.specimen_id ORDER BY
			 (ex.box_id = sc.box_id AND ex.pos_row = sc.pos_row AND ex.pos_col = sc.pos_col) DESC NULLS LAST,
			 (ex.box_id = sc.box_id) DESC NULLS LAST, sc.box, sc.pos_row, sc.pos_col) AS nth
		  FROM sc LEFT JOIN ex ON ex.specimen_id = sc.specimen_id
		 WHERE sc.state = 'tube'
		   AND (sc.specimen_id IS NULL OR sc.specimen_id NOT IN (SELECT specimen_id FROM mv))
	),
	rows AS (
		-- found where expected
		SELECT 'found' AS kind, t.specimen_id, t.barcode, t.box, t.ex_pos AS expected, t.pos AS found,
		       'where the database has it' AS detail
		  FROM tube t WHERE t.here AND t.nth = 1
		UNION ALL
		-- right box, wrong position
		SELECT 'misplaced', t.specimen_id, t.barcode, t.box, t.ex_pos, t.pos,
		       format('scanned at %s; the database has it at %s', t.pos, t.ex_pos)
		  FROM tube t WHERE NOT t.here AND t.ex_box_id = t.box_id AND t.nth = 1
		UNION ALL
		-- scanned but not expected here
		SELECT 'unexpected', t.specimen_id, t.barcode, t.box, NULL, t.pos,
		       CASE WHEN t.specimen_id IS NULL
			    THEN format('no specimen has the barcode or ID %s', t.barcode)
			    WHEN t.ex_box_id IS NOT NULL AND t.nth = 1
			    THEN format('the database has it in box %s at %s', t.ex_box, t.ex_pos)
			    WHEN t.nth > 1
			    THEN format('specimen %s was scanned more than once in this audit', t.specimen_id)
			    ELSE (SELECT CASE WHEN s.box_id IS NOT NULL
				      THEN format('the database has it in box %s at %s', b.barcode,
						  bb_position_name(s.pos_row, s.pos_col))
				      ELSE format('the database has it %s, in no box', s.status) END
				    FROM specimens s LEFT JOIN boxes b ON b.id = s.box_id
				   WHERE s.id = t.specimen_id) END
		  FROM tube t
		 WHERE t.specimen_id IS NULL OR t.nth > 1 OR t.ex_box_id IS NULL
		    OR (t.ex_box_id <> t.box_id)
		UNION ALL
		-- a tube whose code could not be read; it stands for the expected occupant
		-- unless that one was seen elsewhere or moved
		SELECT 'unreadable', occ.specimen_id, NULL, sc.box, occ.pos, sc.pos,
		       CASE WHEN occ.specimen_id IS NULL
			    THEN format('a tube is at %s but its code could not be read; the database expects no tube there', sc.pos)
			    ELSE format('a tube is at %s but its code could not be read; the database expects specimen %s there',
					sc.pos, occ.specimen_id) END
		  FROM sc
		  LEFT JOIN ex occ ON occ.box_id = sc.box_id AND occ.pos_row = sc.pos_row AND occ.pos_col = sc.pos_col
		       AND occ.specimen_id NOT IN (SELECT specimen_id FROM mv)
		       AND NOT EXISTS (SELECT 1 FROM sc s2 WHERE s2.specimen_id = occ.specimen_id)
		 WHERE sc.state = 'no_read'
		UNION ALL
		-- expected, not seen, not moved, not standing behind an unreadable code
		SELECT 'missing', ex.specimen_id, NULL, ex.box, ex.pos, NULL,
		       CASE WHEN ex.scanned THEN format('not found in any scan of this audit (expected in box %s at %s)', ex.box, ex.pos)
			    ELSE format('box %s has not been scanned', ex.box) END
		  FROM ex
		 WHERE ex.specimen_id NOT IN (SELECT specimen_id FROM mv)
		   AND NOT EXISTS (SELECT 1 FROM sc WHERE sc.specimen_id = ex.specimen_id)
		   AND NOT EXISTS (SELECT 1 FROM sc WHERE sc.state = 'no_read' AND sc.box_id = ex.box_id
				    AND sc.pos_row = ex.pos_row AND sc.pos_col = ex.pos_col)
		UNION ALL
		-- moved by a custody event while the audit was open
		SELECT 'moved', mv.specimen_id, NULL, COALESCE(ex.box, s1.box), ex.pos, s1.pos,
		       format('%s at %s while the audit was open%s', mv.type, bb_rfc3339(mv.at),
			      CASE WHEN mv.to_box IS NOT NULL THEN format(': now in box %s at %s', mv.to_box, mv.to_pos)
				   ELSE '' END)
		  FROM mv
		  LEFT JOIN ex ON ex.specimen_id = mv.specimen_id
		  LEFT JOIN LATERAL (SELECT sc.box, sc.pos FROM sc WHERE sc.specimen_id = mv.specimen_id
				      ORDER BY sc.box, sc.pos_row, sc.pos_col LIMIT 1) s1 ON true
	)
	SELECT r.kind, r.specimen_id, COALESCE(r.barcode, sp.tube_barcode), r.box, r.expected, r.found,
	       r.detail, sp.study_id
	  FROM rows r LEFT JOIN specimens sp ON sp.id = r.specimen_id;
$$;
COMMENT ON FUNCTION bb_audit_discrepancies(bigint) IS 'Reconciles an audit''s snapshot with its scans and the ledger: found, missing, misplaced, unexpected, unreadable and moved rows (the ledger read from the snapshot''s sequence number on, by the events key).';

/*
 * The reconciliation as users of studies (NULL: every study) see it. A row
 * about a specimen outside them names nothing of it: where a tube of
 * another study was scanned, it is an other_study row with its box and
 * position only; an unreadable code where the database has such a tube
 * says so without naming it; its other rows (missing, moved while not
 * scanned) are left out. Closing confirms and flags only from these rows.
 */
CREATE OR REPLACE FUNCTION bb_audit_rows(aid bigint, studies bigint[])
RETURNS TABLE (kind text, specimen_id text, barcode text, box text, expected text, found text,
	detail text, study_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN m.mine OR d.kind = 'unreadable' THEN d.kind ELSE 'other_study' END,
	       CASE WHEN m.mine THEN d.specimen_id END,
	       CASE WHEN m.mine THEN d.barcode END,
	       d.box,
	       CASE WHEN m.mine OR d.kind = 'unreadable' THEN d.expected END,
	       d.found,
	       CASE WHEN m.mine THEN d.detail
		    WHEN d.kind = 'unreadable'
		    THEN format('a tube is at %s but its code could not be read; the database has a tube of another study there', d.found)
		    ELSE 'a tube of another study' END,
	       CASE WHEN m.mine THEN d.study_id END
	  FROM bb_audit_discrepancies(aid) d
	 CROSS JOIN LATERAL (SELECT studies IS NULL OR d.study_id IS NULL
				    OR d.study_id = ANY (studies) AS mine) m
	 WHERE m.mine OR d.found IS NOT NULL;
$$;
COMMENT ON FUNCTION bb_audit_rows(bigint, bigint[]) IS 'bb_audit_discrepancies as users of studies see it: tubes of other studies as other_study rows naming nothing of them, or left out.';

-- How many tubes of the studies (NULL: every study) the snapshot expects, in one box or (NULL) all.
CREATE OR REPLACE FUNCTION bb_audit_expected(aid bigint, studies bigint[], box bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT count(*) FROM audit_expected e JOIN specimens s ON s.id = e.specimen_id
	 WHERE e.audit_id = aid AND (box IS NULL OR e.box_id = box)
	   AND (studies IS NULL OR s.study_id = ANY (studies));
$$;
COMMENT ON FUNCTION bb_audit_expected(bigint, bigint[], bigint) IS 'The number of snapshot tubes of the studies (NULL: all) in a box of the audit (NULL: all its boxes).';

/*
 * The report as GET /api/v1/audits/{id} shows it, for the audit's studies:
 * BB404 for a user whose studies do not include them. An audit limited to
 * some studies counts its other_study rows in the summary; one of every
 * study has no such rows and its answer is as before 0018.
 */
CREATE OR REPLACE FUNCTION bb_audit_report(aid bigint, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a audits;
	j jsonb;
BEGIN
	a := bb_audit_get(aid, studies);
	IF a.status = 'closed' THEN
		j := a.report;
	ELSE
		WITH d AS (SELECT * FROM bb_audit_rows(aid, a.studies))
		SELECT jsonb_build_object(
			'summary', jsonb_build_object(
				'expected', bb_audit_expected(aid, a.studies, NULL),
				'found', count(*) FILTER (WHERE d.kind = 'found'),
				'missing', count(*) FILTER (WHERE d.kind = 'missing'),
				'unexpected', count(*) FILTER (WHERE d.kind = 'unexpected'),
				'misplaced', count(*) FILTER (WHERE d.kind = 'misplaced'),
				'unreadable', count(*) FILTER (WHERE d.kind = 'unreadable'),
				'moved_during_audit', count(*) FILTER (WHERE d.kind = 'moved'))
				|| CASE WHEN a.studies IS NULL THEN '{}'::jsonb
					ELSE jsonb_build_object('other_study', count(*) FILTER (WHERE d.kind = 'other_study')) END,
			'discrepancies', COALESCE(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
				'kind', d.kind, 'specimen', d.specimen_id, 'barcode', d.barcode, 'box', d.box,
				'expected', d.expected, 'found', d.found, 'detail', d.detail))
				ORDER BY d.box, d.kind, d.expected, d.found, d.barcode) FILTER (WHERE d.kind <> 'found'), '[]'))
		  INTO j FROM d;
	END IF;
	-- Records closed before 0018 keep each row's study: not part of the answer.
	j := jsonb_set(j, '{discrepancies}', COALESCE((
		SELECT jsonb_agg(x - 'study_id' ORDER BY n)
		  FROM jsonb_array_elements(j -> 'discrepancies') WITH ORDINALITY AS e (x, n)), '[]'));
	RETURN jsonb_build_object(
		'id', a.id,
		'status', a.status,
		'scope', CASE WHEN a.box_id IS NOT NULL
			THEN jsonb_build_object('box', (SELECT barcode FROM audit_boxes
							 WHERE audit_id = aid AND box_id = a.box_id))
			ELSE jsonb_build_object('location', a.location_id, 'path', bb_location_path(a.location_id)) END,
		'started_at', bb_rfc3339(a.started_at),
		'started_by', a.started_by,
		'closed_at', bb_rfc3339(a.closed_at),
		'closed_by', a.closed_by,
		'expected', bb_audit_expected(aid, a.studies, NULL),
		'boxes', (SELECT COALESCE(jsonb_agg(jsonb_build_object('box', ab.barcode,
				'expected', bb_audit_expected(aid, a.studies, ab.box_id),
				'scanned', (SELECT count(*) FROM audit_scans s
					     WHERE s.audit_id = aid AND s.box_id = ab.box_id) > 0)
				ORDER BY ab.barcode), '[]')
			    FROM audit_boxes ab WHERE ab.audit_id = aid),
		'resolutions', a.resolutions)
		|| CASE WHEN a.studies IS NULL THEN '{}'::jsonb
			ELSE jsonb_build_object('studies', (SELECT jsonb_agg(st.code ORDER BY st.code)
							     FROM studies st WHERE st.id = ANY (a.studies))) END
		|| j;
END $$;
COMMENT ON FUNCTION bb_audit_report(bigint, bigint[]) IS 'An audit with its summary and discrepancies (the stored record once closed), for its studies; BB404 for a user outside them.';

/*
 * A rack-scanner file names one box on every line: its lookup (a query per
 * line before) is done once for a run of lines naming the same box. Hand
 * scans keep a lookup per item, so that an error names the item's field.
 */
CREATE OR REPLACE FUNCTION bb_audit_scan(aid bigint, source text, box_codes text[], positions text[],
	states text[], codes text[], lines integer[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	b audit_boxes;
	r integer;
	c integer;
	field text;
	box_ids bigint[] := '{}';
	rs integer[] := '{}';
	cs integer[] := '{}';
	e jsonb;
	errs jsonb := '[]';
	found_box record;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	PERFORM bb_audit_lock(aid, studies);
	-- Every slip at once, in the request's order: a technician fixes them in one round.
	FOR i IN 1 .. COALESCE(array_length(positions, 1), 0) LOOP
		field := CASE WHEN source = 'hand' THEN format('scans[%s]', i - 1) ELSE format('line %s', lines[i]) END;
		-- Consecutive lines of one box (a rack-scanner file: all of them) look it up once.
		IF i = 1 OR source = 'hand' OR box_codes[i] IS DISTINCT FROM box_codes[i - 1] THEN
			SELECT * INTO found_box
			  FROM bb_audit_box_find(aid, box_codes[i], CASE WHEN source = 'hand' THEN field || '.box' ELSE 'box' END);
			b := found_box.b;
			e := found_box.err;
			IF e IS NOT NULL AND NOT errs @> jsonb_build_array(e) THEN
				errs := errs || e;
			END IF;
		END IF;
		r := NULL;
		c := NULL;
		IF b.box_id IS NOT NULL THEN
			SELECT p.r, p.c, p.err INTO r, c, e
			  FROM bb_position_check(positions[i], b.rows, b.cols, format('%s.position', field), b.barcode) p;
			IF e IS NOT NULL THEN
				errs := errs || e;
			END IF;
		END IF;
		box_ids := box_ids || b.box_id;
		rs := rs || r;
		cs := cs || c;
	END LOOP;
	SELECT errs || COALESCE(jsonb_agg(bb_refusal('BB400', 'listed-twice', format('scans[%s].position', n - 1),
			'the position is listed twice') ORDER BY n), '[]')
	  INTO errs FROM (
		SELECT n, row_number() OVER (PARTITION BY bi, ri, ci ORDER BY n) AS k
		  FROM unnest(box_ids, rs, cs) WITH ORDINALITY AS u (bi, ri, ci, n)
		 WHERE ri IS NOT NULL) d WHERE k > 1;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	IF source = 'file' THEN
		DELETE FROM audit_scans s WHERE s.audit_id = aid AND s.box_id = ANY (box_ids);
	END IF;
	INSERT INTO audit_scans AS s (audit_id, box_id, pos_row, pos_col, state, barcode, specimen_id,
		source, line, scanned_by)
	SELECT aid, u.bi, u.ri, u.ci, u.st, NULLIF(u.code, ''),
	       CASE WHEN u.st = 'tube' THEN COALESCE(
			(SELECT x.id FROM specimens x WHERE x.tube_barcode = u.code),
			(SELECT x.id FROM specimens x WHERE x.id = upper(u.code))) END,
	       source, u.line, actor
	  FROM unnest(box_ids, rs, cs, states, codes, lines) AS u (bi, ri, ci, st, code, line)
	ON CONFLICT (audit_id, box_id, pos_row, pos_col) DO UPDATE
	   SET state = EXCLUDED.state, barcode = EXCLUDED.barcode, specimen_id = EXCLUDED.specimen_id,
	       source = EXCLUDED.source, line = EXCLUDED.line, scanned_at = clock_timestamp(),
	       scanned_by = EXCLUDED.scanned_by;
	RETURN bb_audit_report(aid, studies);
END $$;
COMMENT ON FUNCTION bb_audit_scan(bigint, text, text[], text[], text[], text[], integer[], bigint[], text, bigint)
	IS 'Stores a rack-scanner file (replacing its box''s earlier scan) or hand scans, and returns the report (a file''s box looked up once per run of lines).';

-- The grid of an audited box, for parsing a scanner file against it.
DROP FUNCTION IF EXISTS bb_audit_box_grid(bigint, text);
CREATE OR REPLACE FUNCTION bb_audit_box_grid(aid bigint, barcode text, studies bigint[], OUT box text,
	OUT rows integer, OUT cols integer) LANGUAGE plpgsql STABLE AS $$
DECLARE
	a audits;
	b audit_boxes;
BEGIN
	a := bb_audit_get(aid, studies);
	IF a.status <> 'open' THEN
		PERFORM bb_fail('BB409', 'audit-closed', NULL,
			format('audit %s is closed: it takes no more scans', aid),
			jsonb_build_object('audit', aid));
	END IF;
	b := bb_audit_box(aid, barcode, 'box');
	box := b.barcode;
	rows := b.rows;
	cols := b.cols;
END $$;
COMMENT ON FUNCTION bb_audit_box_grid(bigint, text, bigint[]) IS 'Barcode and grid of a box of an open audit a user of studies may work on (its only box for NULL).';

/*
 * Close an audit in one statement. Resolutions (arrays of the same length):
 * confirm (the database is right: audit_confirmed), accept_scan (move the
 * tube where it was scanned), lost, found (a lost tube scanned in a box).
 * Every expected tube seen where expected gets audit_confirmed; every other
 * discrepancy about a specimen gets audit_flagged. The report at this moment
 * is kept as the audit's record. All of it within the audit's studies
 * (bb_audit_rows): a tube of another study gets no event, cannot be
 * resolved (as an unknown one) and is named neither in the record nor in
 * a refusal.
 */
CREATE OR REPLACE FUNCTION bb_audit_close(aid bigint, refs text[], actions text[], box_codes text[],
	positions text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	a audits;
	s specimens;
	b audit_boxes;
	rep jsonb;
	disc jsonb;
	field text;
	r integer;
	c integer;
	old_box text;
	old_pos text;
	ev text;
	done text[] := '{}';
	applied jsonb := '[]';
	n_confirmed integer;
	n_flagged integer;
	occupant text;
	clash_pos text;
	clash_box text;
	clash_ids jsonb;
	e jsonb;
	errs jsonb := '[]';
	found_box record;
	ids text[] := '{}';
	to_box audit_boxes[] := '{}';
	rs integer[] := '{}';
	cs integer[] := '{}';
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	a := bb_audit_lock(aid, studies);
	rep := bb_audit_report(aid, NULL);
	-- The reconciliation as it stands now, before any resolution changes the ledger.
	SELECT COALESCE(jsonb_agg(to_jsonb(x)), '[]') INTO disc FROM bb_audit_rows(aid, a.studies) x;

	-- First every resolution is checked, each slip kept: one answer names them all.
	FOR i IN 1 .. COALESCE(array_length(refs, 1), 0) LOOP
		field := format('resolutions[%s]', i - 1);
		e := NULL;
		b := NULL;
		r := NULL;
		c := NULL;
		SELECT * INTO s FROM specimens x WHERE x.id = upper(refs[i]) FOR UPDATE;
		IF NOT FOUND THEN
			SELECT * INTO s FROM specimens x WHERE x.tube_barcode = refs[i] FOR UPDATE;
		END IF;
		-- A tube outside the caller's or the audit's studies is not part of
		-- it, whether or not it sits in the box: the answer tells nothing.
		IF s.id IS NULL OR (studies IS NOT NULL AND NOT s.study_id = ANY (studies))
		   OR (a.studies IS NOT NULL AND NOT s.study_id = ANY (a.studies))
		   OR NOT (EXISTS (SELECT 1 FROM audit_expected x WHERE x.audit_id = aid AND x.specimen_id = s.id)
			   OR EXISTS (SELECT 1 FROM audit_scans x WHERE x.audit_id = aid AND x.specimen_id = s.id)) THEN
			e := bb_refusal('BB400', 'specimen-not-in-audit', format('%s.specimen', field),
				format('%s is not part of audit %s', refs[i], aid), jsonb_build_object('audit', aid));
		ELSIF s.id = ANY (ids) THEN
			e := bb_refusal('BB400', 'listed-twice', format('%s.specimen', field),
				format('%s is resolved twice', s.id), jsonb_build_object('specimen', s.id));
		ELSIF actions[i] IN ('accept_scan', 'found') THEN
			-- Where to: the position given, else where this tube was scanned.
			IF positions[i] IS NOT NULL THEN
				SELECT * INTO found_box FROM bb_audit_box_find(aid, box_codes[i], field || '.box');
				b := found_box.b;
				e := found_box.err;
				IF e IS NULL THEN
					SELECT p.r, p.c, p.err INTO r, c, e
					  FROM bb_position_check(positions[i], b.rows, b.cols, format('%s.position', field), NULL) p;
				END IF;
				IF e IS NULL AND NOT EXISTS (SELECT 1 FROM audit_scans x WHERE x.audit_id = aid
						AND x.box_id = b.box_id AND x.pos_row = r AND x.pos_col = c
						AND (x.specimen_id = s.id OR x.state = 'no_read')) THEN
					e := bb_refusal('BB400', 'not-scanned-there', format('%s.position', field),
						format('the scans of box %s show neither %s nor an unreadable tube at %s', b.barcode, s.id, bb_position_name(r, c)),
						jsonb_build_object('specimen', s.id, 'box', b.barcode, 'position', bb_position_name(r, c)));
				END IF;
			ELSE
				SELECT ab.* INTO b FROM audit_scans x JOIN audit_boxes ab USING (audit_id, box_id)
				 WHERE x.audit_id = aid AND x.specimen_id = s.id
				 ORDER BY ab.barcode, x.pos_row, x.pos_col LIMIT 1;
				IF NOT FOUND THEN
					e := bb_refusal('BB400', 'not-scanned', format('%s.position', field),
						format('%s was not scanned in this audit: give box and position', s.id),
						jsonb_build_object('specimen', s.id));
				ELSE
					SELECT x.pos_row, x.pos_col INTO r, c FROM audit_scans x
					 WHERE x.audit_id = aid AND x.box_id = b.box_id AND x.specimen_id = s.id
					 ORDER BY x.pos_row, x.pos_col LIMIT 1;
				END IF;
			END IF;
			IF e IS NULL AND actions[i] = 'found' AND s.status <> 'lost' THEN
				e := bb_refusal('BB409', 'status-forbids', format('%s.specimen', field),
					format('specimen %s is %s, not lost: resolve it with accept_scan', s.id, s.status),
					jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'found'));
			ELSIF e IS NULL AND actions[i] = 'accept_scan' AND s.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
				e := bb_refusal('BB409', 'status-forbids', format('%s.specimen', field),
					format('specimen %s is %s: it cannot be put where it was scanned%s', s.id, s.status, CASE WHEN s.status = 'lost' THEN ' (resolve it with found)' ELSE '' END),
					jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'accept_scan'));
			END IF;
		ELSIF actions[i] = 'lost' AND NOT bb_action_allowed('lost', s.status) THEN
			e := bb_refusal('BB409', 'status-forbids', format('%s.specimen', field),
				format('specimen %s is %s, which does not allow lost', s.id, s.status),
				jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'lost'));
		ELSIF actions[i] NOT IN ('accept_scan', 'found', 'lost', 'confirm') THEN
			e := bb_refusal('BB400', 'value-not-allowed', format('%s.action', field),
				'must be confirm, accept_scan, lost or found');
		END IF;
		IF e IS NOT NULL THEN
			errs := errs || e;
		END IF;
		ids := ids || s.id;
		to_box := to_box || b;
		rs := rs || r;
		cs := cs || c;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;

	-- Then they are applied, in the request's order.
	SET CONSTRAINTS specimens_one_per_position DEFERRED;
	FOR i IN 1 .. COALESCE(array_length(refs, 1), 0) LOOP
		SELECT * INTO s FROM specimens x WHERE x.id = ids[i];
		b := to_box[i];
		r := rs[i];
		c := cs[i];
		done := done || s.id;
		old_box := NULL;
		old_pos := NULL;
		IF s.box_id IS NOT NULL THEN
			SELECT x.barcode INTO old_box FROM boxes x WHERE x.id = s.box_id;
			old_pos := bb_position_name(s.pos_row, s.pos_col);
		END IF;
		IF actions[i] IN ('accept_scan', 'found') THEN
			IF s.box_id = b.box_id AND s.pos_row = r AND s.pos_col = c THEN
				ev := 'audit_confirmed';
				INSERT INTO events (specimen_id, type, actor, actor_id, to_box, to_pos, reason, details)
				VALUES (s.id, ev, actor, actor_id, b.barcode, bb_position_name(r, c), 'audit',
					jsonb_build_object('audit', aid, 'resolution', actions[i]));
			ELSE
				ev := CASE WHEN actions[i] = 'found' THEN 'found'
					   WHEN s.status = 'registered' THEN 'stored'
					   WHEN s.status = 'checked_out' THEN 'returned' ELSE 'moved' END;
				UPDATE specimens SET box_id = b.box_id, pos_row = r, pos_col = c, status = 'in_storage'
				 WHERE id = s.id;
				INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, to_box, to_pos,
					reason, details)
				VALUES (s.id, ev, actor, actor_id, old_box, old_pos, b.barcode, bb_position_name(r, c),
					'audit', jsonb_build_object('audit', aid, 'resolution', actions[i])
						 || CASE WHEN ev = 'returned' THEN '{"thawed": false}'::jsonb ELSE '{}' END);
			END IF;
			applied := applied || jsonb_build_object('specimen', s.id, 'action', actions[i], 'event', ev,
				'box', b.barcode, 'position', bb_position_name(r, c));
		ELSIF actions[i] = 'lost' THEN
			UPDATE specimens SET status = 'lost', box_id = NULL, pos_row = NULL, pos_col = NULL
			 WHERE id = s.id;
			INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, reason, details)
			VALUES (s.id, 'lost', actor, actor_id, old_box, old_pos, 'audit',
				jsonb_build_object('audit', aid, 'resolution', 'lost'));
			applied := applied || jsonb_build_object('specimen', s.id, 'action', 'lost', 'event', 'lost');
		ELSE
			INSERT INTO events (specimen_id, type, actor, actor_id, to_box, to_pos, reason, details)
			VALUES (s.id, 'audit_confirmed', actor, actor_id, old_box, old_pos, 'audit',
				jsonb_build_object('audit', aid, 'resolution', 'confirm'));
			applied := applied || jsonb_build_object('specimen', s.id, 'action', 'confirm',
				'event', 'audit_confirmed');
		END IF;
	END LOOP;
	-- Two tubes resolved into one position, or into a position still held in
	-- the database (by a tube of another study, say: not named).
	SELECT bb_position_name(x.pos_row, x.pos_col), b2.barcode,
	       string_agg(CASE WHEN v.visible THEN x.id ELSE 'a tube of another study' END, ' and '
			  ORDER BY v.visible DESC, x.id),
	       COALESCE(jsonb_agg(x.id ORDER BY x.id) FILTER (WHERE v.visible), '[]')
	  INTO clash_pos, clash_box, occupant, clash_ids
	  FROM specimens x JOIN audit_boxes b2 ON b2.audit_id = aid AND b2.box_id = x.box_id
	 CROSS JOIN LATERAL (SELECT (studies IS NULL OR x.study_id = ANY (studies))
				    AND (a.studies IS NULL OR x.study_id = ANY (a.studies)) AS visible) v
	 GROUP BY b2.barcode, x.pos_row, x.pos_col HAVING count(*) > 1 LIMIT 1;
	IF clash_pos IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'position-occupied', NULL,
			format('position %s of box %s would hold %s: resolve the tube the database has there as well',
				clash_pos, clash_box, occupant),
			jsonb_build_object('box', clash_box, 'position', clash_pos, 'specimens', clash_ids));
	END IF;
	SET CONSTRAINTS specimens_one_per_position IMMEDIATE;

	-- Expected tubes seen where expected: confirmed, in one set-based insert.
	INSERT INTO events (specimen_id, type, actor, actor_id, to_box, to_pos, reason, details)
	SELECT d.specimen_id, 'audit_confirmed', actor, actor_id, d.box, d.found, 'audit',
	       jsonb_build_object('audit', aid)
	  FROM jsonb_to_recordset(disc) AS d (kind text, specimen_id text, barcode text,
		box text, expected text, found text, detail text, study_id bigint)
	 WHERE d.kind = 'found' AND NOT d.specimen_id = ANY (done)
	 ORDER BY d.specimen_id;
	GET DIAGNOSTICS n_confirmed = ROW_COUNT;
	-- Discrepancies left unresolved: flagged, one event per specimen.
	INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
	SELECT DISTINCT ON (d.specimen_id) d.specimen_id, 'audit_flagged', actor, actor_id, 'audit',
	       jsonb_strip_nulls(jsonb_build_object('audit', aid, 'kind', d.kind, 'box', d.box,
			'expected', d.expected, 'found', d.found, 'detail', d.detail))
	  FROM jsonb_to_recordset(disc) AS d (kind text, specimen_id text, barcode text,
		box text, expected text, found text, detail text, study_id bigint)
	 WHERE d.kind IN ('missing', 'misplaced', 'unexpected', 'unreadable')
	   AND d.specimen_id IS NOT NULL AND NOT d.specimen_id = ANY (done)
	 ORDER BY d.specimen_id, d.kind;
	GET DIAGNOSTICS n_flagged = ROW_COUNT;

	UPDATE audits SET status = 'closed', closed_at = clock_timestamp(), closed_by = actor,
		report = jsonb_build_object('summary', rep -> 'summary',
			'discrepancies', (SELECT COALESCE(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
				'kind', d.kind, 'specimen', d.specimen_id, 'barcode', d.barcode, 'box', d.box,
				'expected', d.expected, 'found', d.found, 'detail', d.detail))
				ORDER BY d.box, d.kind, d.expected, d.found, d.barcode), '[]')
				FROM jsonb_to_recordset(disc) AS d (kind text, specimen_id text, barcode text,
		box text, expected text, found text, detail text, study_id bigint) WHERE d.kind <> 'found'),
			'events', jsonb_build_object('audit_confirmed', n_confirmed, 'audit_flagged', n_flagged)),
		resolutions = applied
	 WHERE id = aid;
	RETURN bb_audit_report(aid, studies);
END $$;
COMMENT ON FUNCTION bb_audit_close(bigint, text[], text[], text[], text[], bigint[], text, bigint)
	IS 'Closes an audit in one statement: applies the resolutions, confirms and flags the rest, keeps the report.';

/*
 * The audit list of the manager's page: every audit the caller may see,
 * newest first. A closed audit carries its stored summary and how many
 * discrepancies and resolutions it kept; an open one only how many of its
 * boxes were scanned — reconciling every open audit to list them would cost
 * a ledger read each, and the audit's own page does that when it is opened.
 */
CREATE OR REPLACE FUNCTION bb_audits_list(p_status text, lim integer, cursor text, p_studies bigint[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	key jsonb := bb_cursor_read('audits', cursor);
	j jsonb;
BEGIN
	IF p_status IS NOT NULL AND p_status NOT IN ('open', 'closed') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'status', 'must be one of: open, closed');
	END IF;
	-- Newest first; the cursor is the last id shown (ids only go up).
	WITH page AS (
		SELECT a.id, row_number() OVER (ORDER BY a.id DESC) AS n
		  FROM audits a
		 WHERE (p_status IS NULL OR a.status = p_status)
		   AND (key IS NULL OR a.id < (key ->> 0)::bigint)
		   AND bb_audit_within(a.studies, p_studies)
		 ORDER BY a.id DESC
		 LIMIT lim + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(jsonb_build_object(
			'id', a.id,
			'status', a.status,
			'scope', CASE WHEN a.box_id IS NOT NULL
				THEN jsonb_build_object('box', (SELECT barcode FROM audit_boxes
								 WHERE audit_id = a.id AND box_id = a.box_id))
				ELSE jsonb_build_object('location', a.location_id,
							'path', bb_location_path(a.location_id)) END,
			'started_at', bb_rfc3339(a.started_at),
			'started_by', a.started_by,
			'closed_at', bb_rfc3339(a.closed_at),
			'closed_by', a.closed_by,
			'boxes', (SELECT count(*) FROM audit_boxes ab WHERE ab.audit_id = a.id),
			'boxes_scanned', (SELECT count(DISTINCT s.box_id) FROM audit_scans s WHERE s.audit_id = a.id),
			'summary', a.report -> 'summary',
			'discrepancies', jsonb_array_length(COALESCE(a.report -> 'discrepancies', '[]')),
			'resolutions', jsonb_array_length(COALESCE(a.resolutions, '[]')))
			|| CASE WHEN a.studies IS NULL THEN '{}'::jsonb
				ELSE jsonb_build_object('studies', (SELECT jsonb_agg(st.code ORDER BY st.code)
								     FROM studies st WHERE st.id = ANY (a.studies))) END
			ORDER BY p.n) FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN
			bb_cursor_make('audits', jsonb_build_array(min(p.id) FILTER (WHERE p.n <= lim))) END)
	  INTO j FROM page p JOIN audits a ON a.id = p.id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_audits_list(text, integer, text, bigint[]) IS 'GET /api/v1/audits: a page of the audits the caller may see, newest first, optionally of one status, with the stored summary of closed ones.';
