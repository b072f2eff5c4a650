-- 0009: performance — the specimen's API representation with plans that
-- last. SQL-language functions that PostgreSQL cannot inline are planned
-- afresh on every call of the statement that calls them; PL/pgSQL keeps its
-- plans for the life of the connection. GET /api/v1/specimens/{id} planned
-- four such functions per request (bb_specimen_find_json, bb_specimen_json,
-- bb_location_path, and bb_rfc3339 twice): the same bodies in PL/pgSQL, and
-- bb_rfc3339 declared STABLE (to_char is STABLE, which kept the IMMUTABLE
-- declaration from being inlined), serve the lookup about twice as fast
-- (docs/performance.md). The answers are unchanged, byte for byte.

CREATE OR REPLACE FUNCTION bb_rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
		|| CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN ''
		        ELSE '.' || to_char(t AT TIME ZONE 'UTC', 'US') END
		|| 'Z';
$$;
COMMENT ON FUNCTION bb_rfc3339(timestamptz) IS 'Formats a time as RFC 3339 in UTC for the API (STABLE so that it is inlined into the calling query).';

CREATE OR REPLACE FUNCTION bb_location_path(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (WITH RECURSIVE up (id, parent_id, name, depth) AS (
		SELECT l.id, l.parent_id, l.name, 0 FROM locations l WHERE l.id = loc
		UNION ALL
		SELECT l.id, l.parent_id, l.name, up.depth + 1
		  FROM locations l JOIN up ON l.id = up.parent_id
	)
	SELECT COALESCE(jsonb_agg(up.name ORDER BY up.depth DESC), '[]') FROM up);
END $$;
COMMENT ON FUNCTION bb_location_path(bigint) IS 'Location names from the site down, as a JSON array (PL/pgSQL: its plan is kept).';

CREATE OR REPLACE FUNCTION bb_specimen_json(s specimens) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object(
		'id', s.id,
		'tube_barcode', s.tube_barcode,
		'type', s.type,
		'participant', jsonb_build_object('study', st.code, 'code', p.code),
		'timepoint', s.timepoint,
		'collected_at', bb_rfc3339(s.collected_at),
		'status', s.status,
		'quantity', CASE WHEN s.quantity IS NULL THEN NULL ELSE
			jsonb_build_object('value', trim_scale(s.quantity), 'unit', s.unit) END,
		'parent', s.parent_id,
		'derivation', s.derivation,
		'freeze_thaw_count', s.freeze_thaw_count,
		'consent_withdrawn', s.consent_withdrawn,
		'location', CASE WHEN s.box_id IS NULL THEN NULL ELSE
			jsonb_build_object('box', b.barcode,
				'position', bb_position_name(s.pos_row, s.pos_col),
				'path', bb_location_path(b.location_id) || to_jsonb(b.barcode)) END,
		'notes', s.notes,
		'created_at', bb_rfc3339(s.created_at))
	  FROM participants p JOIN studies st ON st.id = p.study_id
	  LEFT JOIN boxes b ON b.id = s.box_id
	 WHERE p.id = s.participant_id);
END $$;
COMMENT ON FUNCTION bb_specimen_json(specimens) IS 'A specimen as the API shows it (PL/pgSQL: its plan is kept).';

CREATE OR REPLACE FUNCTION bb_specimen_find_json(ref text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT bb_specimen_json(s) || jsonb_build_object('children',
		COALESCE((SELECT jsonb_agg(c.id ORDER BY c.serial) FROM specimens c WHERE c.parent_id = s.id), '[]'))
	  FROM specimens s
	 WHERE s.id = (SELECT x.id FROM specimens x WHERE x.id = ref
		       UNION ALL SELECT x.id FROM specimens x WHERE x.tube_barcode = ref LIMIT 1)
	   AND (studies IS NULL OR s.study_id = ANY (studies)));
END $$;
COMMENT ON FUNCTION bb_specimen_find_json(text, bigint[]) IS 'A specimen by ID or tube barcode with its children, within the given studies; NULL if none (PL/pgSQL: its plan is kept).';
