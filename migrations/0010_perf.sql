-- 0010: performance — rack placement, rack audits and the CSV export at
-- 10^6 specimens (docs/performance.md). Same answers, byte for byte: the
-- same JSON, CSV, custody events, hashes and error messages, in the same
-- order of precedence; only the way they are computed changes.

/*
 * bb_position_name was declared IMMUTABLE over text || integer, which is
 * the STABLE anytextcat operator: PostgreSQL refuses to inline such a
 * function and runs it as a separate SQL function call per row (GET,
 * lists, the CSV export, audits, placements). With an explicit integer to
 * text cast (int4out is immutable) the body is immutable and is inlined.
 */
CREATE OR REPLACE FUNCTION bb_position_name(r integer, c integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN r IS NULL THEN NULL ELSE chr(64 + r) || c::text END;
$$;
COMMENT ON FUNCTION bb_position_name(integer, integer) IS 'Row and column as A1 (immutable throughout, so that it is inlined).';

/*
 * bb_rfc3339 formatted twice (to_char for the seconds, then again for the
 * fraction) and took the microseconds through numeric extract: about 3 us a
 * call, twice per specimen row of the CSV export and every JSON answer.
 * One to_char with the fraction, dropped again when it is .000000, gives
 * the same text (checked on 1.5 million stored times, BC and LMT-era times,
 * infinities and NULL, under UTC and Europe/Amsterdam) in a third of the time.
 */
CREATE OR REPLACE FUNCTION bb_rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
	SELECT replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z');
$$;
COMMENT ON FUNCTION bb_rfc3339(timestamptz) IS 'Formats a time as RFC 3339 in UTC for the API, microseconds only when not zero (one to_char; STABLE so that it is inlined).';

/*
 * Bulk placement, set-based. The checks run over the whole list at once and
 * name the first failing item exactly as the per-tube loop of 0002 did
 * (item order, then within an item: position listed twice, unknown
 * specimen, specimen listed twice, status); then one UPDATE moves every
 * tube and one INSERT writes their events in list order (the chain trigger
 * numbers, times and hashes them as before).
 */
CREATE TYPE bb_place_item AS (i integer, pname text, r integer, c integer, ref text, id text,
	status text, old_box text, old_pos text, here boolean, ev text);
COMMENT ON TYPE bb_place_item IS 'One item of a bulk placement as bb_box_place checks and applies it.';
COMMENT ON COLUMN bb_place_item.i IS 'Its place in the request, from 1.';
COMMENT ON COLUMN bb_place_item.pname IS 'The target position, normalised (A1); NULL if it does not parse.';
COMMENT ON COLUMN bb_place_item.r IS 'Target row (1 = A).';
COMMENT ON COLUMN bb_place_item.c IS 'Target column.';
COMMENT ON COLUMN bb_place_item.ref IS 'The specimen ID or tube barcode as given.';
COMMENT ON COLUMN bb_place_item.id IS 'The specimen it names within the caller''s studies, NULL if none.';
COMMENT ON COLUMN bb_place_item.status IS 'The specimen''s status before the placement.';
COMMENT ON COLUMN bb_place_item.old_box IS 'Barcode of the box it leaves, if any.';
COMMENT ON COLUMN bb_place_item.old_pos IS 'Position it leaves, if any.';
COMMENT ON COLUMN bb_place_item.here IS 'Already at the target position: left alone, no event.';
COMMENT ON COLUMN bb_place_item.ev IS 'The custody event the placement writes (stored, returned or moved).';

CREATE OR REPLACE FUNCTION bb_box_place(box_barcode text, positions text[], refs text[], studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	b boxes;
	n integer := COALESCE(array_length(refs, 1), 0);
	bad record;
	occupant text;
	placed jsonb;
	items bb_place_item[];
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	b := bb_box_find(box_barcode);
	IF b.id IS NULL THEN
		PERFORM bb_fail('BB404', format('no box %s', box_barcode));
	END IF;
	-- Every listed position must parse; bb_parse_position raises the message for the first that does not.
	IF EXISTS (SELECT 1 FROM unnest(positions) AS u (pos),
			   LATERAL (SELECT regexp_match(upper(btrim(u.pos)), '^([A-Z])0*([1-9][0-9]?)$') AS m) x
		    WHERE x.m IS NULL OR ascii(x.m[1]) - 64 > b.rows OR x.m[2]::integer > b.cols) THEN
		PERFORM bb_parse_position(u.pos, b.rows, b.cols) FROM unnest(positions) AS u (pos);
	END IF;
	-- Lock the tubes in one order, then every position they leave or take, before any change.
	PERFORM 1 FROM specimens x
	 WHERE x.id = ANY (refs) OR x.tube_barcode = ANY (refs)
	 ORDER BY x.id FOR UPDATE;
	PERFORM pg_advisory_xact_lock(k.b::integer, k.p)
	  FROM (SELECT DISTINCT v.b, v.r * 64 + v.c AS p
		  FROM (SELECT x.box_id AS b, x.pos_row AS r, x.pos_col AS c FROM specimens x
			 WHERE x.id = ANY (refs) OR x.tube_barcode = ANY (refs)
			UNION ALL
			SELECT b.id, ascii(m[1]) - 64, m[2]::integer
			  FROM unnest(positions) AS u (pos),
			       LATERAL regexp_match(upper(btrim(u.pos)), '^([A-Z])0*([1-9][0-9]?)$') AS m) v
		 WHERE v.b IS NOT NULL ORDER BY 1, 2) k;
	SET CONSTRAINTS specimens_one_per_position DEFERRED;

	SELECT array_agg(ROW(u.i, bb_position_name(p.r, p.c), p.r, p.c, a.ref, s.id, s.status, ob.barcode,
	       bb_position_name(s.pos_row, s.pos_col),
	       COALESCE(s.box_id = b.id AND s.pos_row = p.r AND s.pos_col = p.c, false),
	       CASE s.status WHEN 'registered' THEN 'stored' WHEN 'checked_out' THEN 'returned' ELSE 'moved' END
	       )::bb_place_item ORDER BY u.i) INTO items
	  FROM generate_series(1, n) AS u (i)
	  CROSS JOIN LATERAL (SELECT refs[u.i] AS ref, positions[u.i] AS pos) a
	  CROSS JOIN LATERAL (SELECT ascii(m[1]) - 64 AS r, m[2]::integer AS c
				FROM (SELECT regexp_match(upper(btrim(a.pos)), '^([A-Z])0*([1-9][0-9]?)$') AS m) x) p
	  LEFT JOIN LATERAL (SELECT * FROM (
			SELECT x.*, 1 AS pref FROM specimens x WHERE x.id = a.ref
			UNION ALL SELECT x.*, 2 FROM specimens x WHERE x.tube_barcode = a.ref) y
		 ORDER BY y.pref LIMIT 1) s ON studies IS NULL OR s.study_id = ANY (studies)
	  LEFT JOIN boxes ob ON ob.id = s.box_id;

	-- The first item that fails, with the first check it fails, as the loop of 0002 would raise it.
	SELECT t.* INTO bad FROM (
		SELECT x.i, x.ref, x.pname, x.id, x.status, x.here, x.r,
		       row_number() OVER (PARTITION BY x.pname ORDER BY x.i) AS pos_nth,
		       row_number() OVER (PARTITION BY x.id ORDER BY x.i) AS id_nth
		  FROM unnest(items) x) t
	 WHERE t.r IS NULL OR t.pos_nth > 1 OR t.id IS NULL OR t.id_nth > 1
	    OR (NOT t.here AND t.status NOT IN ('registered', 'in_storage', 'checked_out'))
	 ORDER BY t.i LIMIT 1;
	IF FOUND THEN
		IF bad.r IS NULL THEN
			PERFORM bb_parse_position(positions[bad.i], b.rows, b.cols);
		ELSIF bad.pos_nth > 1 THEN
			PERFORM bb_fail('BB400', format('placements[%s].position: %s is listed twice', bad.i - 1, bad.pname));
		ELSIF bad.id IS NULL THEN
			PERFORM bb_fail('BB404', format('no specimen %s', bad.ref));
		ELSIF bad.id_nth > 1 THEN
			PERFORM bb_fail('BB400', format('placements[%s].specimen: %s is listed twice', bad.i - 1, bad.id));
		ELSE
			PERFORM bb_fail('BB409', format('specimen %s is %s: it cannot be placed', bad.id, bad.status));
		END IF;
	END IF;

	UPDATE specimens s SET box_id = b.id, pos_row = x.r, pos_col = x.c, status = 'in_storage'
	  FROM unnest(items) x WHERE s.id = x.id AND NOT x.here;
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, to_box, to_pos,
		reason, details)
	SELECT x.id, x.ev, actor, actor_id, x.old_box, x.old_pos, b.barcode, x.pname, 'bulk placement',
	       CASE WHEN x.ev = 'returned' THEN '{"thawed": false}'::jsonb ELSE '{}'::jsonb END
	  FROM unnest(items) x WHERE NOT x.here ORDER BY x.i;
	SELECT COALESCE(jsonb_agg(jsonb_build_object('position', x.pname, 'specimen', x.id,
		'event', CASE WHEN x.here THEN NULL ELSE x.ev END) ORDER BY x.i), '[]') INTO placed
	  FROM unnest(items) x;

	-- Name a clash while we can still say which tube holds the position.
	SELECT bb_position_name(x.pos_row, x.pos_col) || ' (' || string_agg(x.id, ', ') || ')' INTO occupant
	  FROM specimens x WHERE x.box_id = b.id
	 GROUP BY x.pos_row, x.pos_col HAVING count(*) > 1 LIMIT 1;
	IF occupant IS NOT NULL THEN
		PERFORM bb_fail('BB409', format('position %s of box %s would hold two specimens', occupant, b.barcode));
	END IF;
	SET CONSTRAINTS specimens_one_per_position IMMEDIATE;
	RETURN jsonb_build_object('box', b.barcode, 'placed', placed);
END $$;
COMMENT ON FUNCTION bb_box_place(text, text[], text[], bigint[], text, bigint) IS 'Bulk placement of tubes into one box, all or nothing (set-based: one UPDATE and one INSERT for the whole list).';

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
 * A rack-scanner file names one box on every line: its lookup (a query per
 * line before) is done once for a run of lines naming the same box. Hand
 * scans keep a lookup per item, so that an error names the item's field.
 */
CREATE OR REPLACE FUNCTION bb_audit_scan(aid bigint, source text, box_codes text[], positions text[],
	states text[], codes text[], lines integer[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	b audit_boxes;
	r integer;
	c integer;
	m text[];
	field text;
	box_ids bigint[] := '{}';
	rs integer[] := '{}';
	cs integer[] := '{}';
	dup integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	PERFORM bb_audit_lock(aid);
	FOR i IN 1 .. COALESCE(array_length(positions, 1), 0) LOOP
		field := CASE WHEN source = 'hand' THEN format('scans[%s]', i - 1) ELSE format('line %s', lines[i]) END;
		-- Consecutive lines of one box (a rack-scanner file: all of them) look it up once.
		IF i = 1 OR source = 'hand' OR box_codes[i] IS DISTINCT FROM box_codes[i - 1] THEN
			b := bb_audit_box(aid, box_codes[i], CASE WHEN source = 'hand' THEN field || '.box' ELSE 'box' END);
		END IF;
		m := regexp_match(upper(btrim(positions[i])), '^([A-Z])0*([1-9][0-9]?)$');
		IF m IS NULL THEN
			PERFORM bb_fail('BB400', format('%s.position: "%s" is not a position such as A1', field, positions[i]));
		END IF;
		r := ascii(m[1]) - 64;
		c := m[2]::integer;
		IF r > b.rows OR c > b.cols THEN
			PERFORM bb_fail('BB400', format('%s.position: %s is outside box %s (%s rows, %s columns)',
				field, chr(64 + r) || c, b.barcode, b.rows, b.cols));
		END IF;
		box_ids := box_ids || b.box_id;
		rs := rs || r;
		cs := cs || c;
	END LOOP;
	SELECT min(n) INTO dup FROM (
		SELECT n, row_number() OVER (PARTITION BY bi, ri, ci ORDER BY n) AS k
		  FROM unnest(box_ids, rs, cs) WITH ORDINALITY AS u (bi, ri, ci, n)) d WHERE k > 1;
	IF dup IS NOT NULL THEN
		PERFORM bb_fail('BB400', format('scans[%s].position: the position is listed twice', dup - 1));
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
CREATE OR REPLACE FUNCTION bb_specimen_csv_rows(p_study text, p_participant text, p_type text, p_timepoint text,
	p_status text, p_box text, p_studies bigint[], p_after bigint, p_limit integer)
RETURNS TABLE (serial bigint, id text, tube_barcode text, type text, study text, participant text,
	timepoint text, collected_at text, status text, quantity text, unit text, parent text,
	derivation text, freeze_thaw_count integer, consent_withdrawn boolean, box text,
	box_position text, location text, notes text, created_at text)
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
		|| CASE WHEN p_box IS NOT NULL THEN ' AND s.box_id = $11' ELSE '' END
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
		       bb_position_name(h.pos_row, h.pos_col), bp.path, h.notes, bb_rfc3339(h.created_at)
		  FROM hits h
		  JOIN participants p ON p.id = h.participant_id
		  JOIN studies st ON st.id = p.study_id
		  LEFT JOIN box_paths bp ON bp.id = h.box_id
		 ORDER BY h.serial'
		USING p_study, p_participant, p_type, p_timepoint, p_status, p_box, p_studies, p_after, p_limit,
		      v_study, v_box;
END $$;
COMMENT ON FUNCTION bb_specimen_csv_rows(text, text, text, text, text, text, bigint[], bigint, integer) IS 'A chunk of specimens for the CSV export: the filters of bb_specimen_list, after a serial, in issue order (PL/pgSQL: a statement with only the filters given, so that the right index leads).';
