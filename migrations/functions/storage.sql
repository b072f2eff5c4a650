-- functions/storage.sql — The storage tree: locations with their stored paths,
-- boxes, occupancy, scanning a value.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

CREATE OR REPLACE FUNCTION bb_location_path(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN COALESCE((SELECT l.path FROM locations l WHERE l.id = loc), '[]');
END $$;
COMMENT ON FUNCTION bb_location_path(bigint) IS 'Location names from the site down, as a JSON array (the stored locations.path; [] for no location).';

CREATE OR REPLACE FUNCTION bb_box_find(barcode text) RETURNS boxes LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes;
BEGIN
	SELECT * INTO b FROM boxes WHERE boxes.barcode = bb_box_find.barcode;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB400', 'unknown-box', 'box',
			format('no box has the barcode %s', barcode),
			jsonb_build_object('box', barcode));
	END IF;
	RETURN b;
END $$;
COMMENT ON FUNCTION bb_box_find(text) IS 'The box with this barcode, or BB400.';

-- The box a URL names (/boxes/{barcode}/...): a barcode that names none is 404.
CREATE OR REPLACE FUNCTION bb_box_at(code text) RETURNS boxes LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes;
BEGIN
	SELECT * INTO b FROM boxes x WHERE x.barcode = code;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'box-not-found', NULL,
			format('no box has the barcode %s', code),
			jsonb_build_object('box', code));
	END IF;
	RETURN b;
END $$;
COMMENT ON FUNCTION bb_box_at(text) IS 'The box a URL names, or BB404 box-not-found.';

CREATE OR REPLACE FUNCTION bb_location_rank(kind text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT array_position(ARRAY['site', 'room', 'freezer', 'shelf', 'rack'], kind);
$$;
COMMENT ON FUNCTION bb_location_rank(text) IS 'Depth of a location kind in site > room > freezer > shelf > rack (site = 1).';

/*
 * The hierarchy as an invariant of the database, whoever writes: a location
 * sits below a location of a higher kind (levels may be skipped downwards),
 * only freezers have a set temperature, and the tree has no cycles. The API
 * functions check the same first to name the field; this is the backstop.
 */
CREATE OR REPLACE FUNCTION bb_locations_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	parent_kind text;
BEGIN
	IF NEW.temperature_c IS NOT NULL AND NEW.kind <> 'freezer' THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'temperature_c',
			'only a freezer has a set temperature');
	END IF;
	IF NEW.parent_id IS NOT NULL THEN
		SELECT kind INTO parent_kind FROM locations WHERE id = NEW.parent_id;
		IF bb_location_rank(NEW.kind) <= bb_location_rank(parent_kind) THEN
			PERFORM bb_fail('BB400', 'location-nesting', 'parent',
				format('a %s cannot be inside a %s (site > room > freezer > shelf > rack)', NEW.kind, parent_kind));
		END IF;
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
		IF EXISTS (WITH RECURSIVE up (id, parent_id) AS (
				SELECT id, parent_id FROM locations WHERE id = NEW.parent_id
				UNION
				SELECT l.id, l.parent_id FROM locations l JOIN up ON l.id = up.parent_id)
			   SELECT 1 FROM up WHERE id = NEW.id) THEN
			PERFORM bb_fail('BB400', 'location-nesting', 'parent',
				format('location %s cannot be moved inside itself', NEW.id));
		END IF;
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.kind <> OLD.kind THEN
		IF EXISTS (SELECT 1 FROM locations c WHERE c.parent_id = NEW.id
			    AND bb_location_rank(c.kind) <= bb_location_rank(NEW.kind)) THEN
			PERFORM bb_fail('BB400', 'location-nesting', 'kind',
				format('location %s holds locations that cannot be inside a %s', NEW.id, NEW.kind));
		END IF;
		IF NEW.kind IN ('site', 'room') AND EXISTS (SELECT 1 FROM boxes b WHERE b.location_id = NEW.id) THEN
			PERFORM bb_fail('BB400', 'location-nesting', 'kind',
				format('location %s holds boxes, which cannot stand in a %s', NEW.id, NEW.kind));
		END IF;
	END IF;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_locations_check() IS 'Keeps the storage tree in order: kinds below higher kinds, temperatures on freezers only, no cycles.';

CREATE OR REPLACE FUNCTION bb_boxes_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	parent_kind text;
BEGIN
	SELECT kind INTO parent_kind FROM locations WHERE id = NEW.location_id;
	IF parent_kind IN ('site', 'room') THEN
		PERFORM bb_fail('BB400', 'location-nesting', 'parent',
			format('a box stands in a freezer, shelf or rack, not in a %s', parent_kind));
	END IF;
	IF TG_OP = 'UPDATE' AND (NEW.rows < OLD.rows OR NEW.cols < OLD.cols) AND EXISTS (
		SELECT 1 FROM specimens s WHERE s.box_id = NEW.id AND (s.pos_row > NEW.rows OR s.pos_col > NEW.cols)) THEN
		PERFORM bb_fail('BB409', 'box-grid-conflict', NULL,
			format('box %s holds specimens outside %s rows and %s columns', NEW.barcode, NEW.rows, NEW.cols),
			jsonb_build_object('box', NEW.barcode));
	END IF;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_boxes_check() IS 'Keeps boxes in freezers, shelves and racks, and specimens inside their box''s grid.';

CREATE OR REPLACE FUNCTION bb_occupancy_json(capacity numeric, used numeric) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('capacity', COALESCE(capacity, 0), 'used', COALESCE(used, 0),
		'free', COALESCE(capacity, 0) - COALESCE(used, 0));
$$;
COMMENT ON FUNCTION bb_occupancy_json(numeric, numeric) IS 'Occupancy as the API shows it: {capacity, used, free}.';

/*
 * A location with its path, children, boxes and occupancy, in one query:
 * the recursive part walks the subtree once, remembering for every
 * descendant which child of loc it lies under, so that the children's
 * occupancy and the total come from the same box counts.
 */
CREATE OR REPLACE FUNCTION bb_location_json(loc bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH RECURSIVE below (id, top) AS (
		SELECT c.id, c.id FROM locations c WHERE c.parent_id = loc
		UNION ALL
		SELECT l.id, b.top FROM locations l JOIN below b ON l.parent_id = b.id
	),
	scope (id, top) AS (
		SELECT loc, NULL::bigint
		UNION ALL
		SELECT id, top FROM below
	),
	box_use AS (
		SELECT bx.barcode, bx.rows, bx.cols, bx.location_id, sc.top,
		       bx.rows * bx.cols AS capacity,
		       (SELECT count(*) FROM specimens s WHERE s.box_id = bx.id) AS used
		  FROM scope sc JOIN boxes bx ON bx.location_id = sc.id
	),
	child_use AS (
		SELECT top, sum(capacity) AS capacity, sum(used) AS used
		  FROM box_use WHERE top IS NOT NULL GROUP BY top
	)
	SELECT jsonb_build_object(
		'id', l.id,
		'kind', l.kind,
		'name', l.name,
		'parent', l.parent_id,
		'temperature_c', trim_scale(l.temperature_c),
		'barcode', l.barcode,
		'path', bb_location_path(l.id),
		'created_at', bb_rfc3339(l.created_at),
		'occupancy', (SELECT bb_occupancy_json(sum(capacity), sum(used)) FROM box_use),
		'children', COALESCE((
			SELECT jsonb_agg(jsonb_build_object('id', c.id, 'kind', c.kind, 'name', c.name,
				'temperature_c', trim_scale(c.temperature_c), 'barcode', c.barcode,
				'occupancy', bb_occupancy_json(cu.capacity, cu.used)) ORDER BY c.name, c.id)
			  FROM locations c LEFT JOIN child_use cu ON cu.top = c.id
			 WHERE c.parent_id = l.id), '[]'),
		'boxes', COALESCE((
			SELECT jsonb_agg(jsonb_build_object('barcode', u.barcode, 'rows', u.rows,
				'cols', u.cols, 'occupancy', bb_occupancy_json(u.capacity, u.used))
				ORDER BY u.barcode)
			  FROM box_use u WHERE u.location_id = l.id), '[]'))
	  FROM locations l
	 WHERE l.id = loc;
$$;
COMMENT ON FUNCTION bb_location_json(bigint) IS 'A location as GET /api/v1/locations/{id} shows it, or NULL if there is none.';

CREATE OR REPLACE FUNCTION bb_location_get(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb := bb_location_json(loc);
BEGIN
	IF j IS NULL THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL,
			format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_location_get(bigint) IS 'As bb_location_json, raising BB404 when there is none.';

/*
 * Sites (the roots of the tree) with their occupancy, a page at a time in
 * name order; after is the id of the last site of the previous page.
 */
CREATE OR REPLACE FUNCTION bb_location_list(after bigint, lim integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH RECURSIVE page AS (
		SELECT l.id, l.kind, l.name, l.barcode, l.created_at,
		       row_number() OVER (ORDER BY l.name, l.id) AS n
		  FROM locations l
		 WHERE l.parent_id IS NULL
		   AND (after IS NULL OR (l.name, l.id) > (SELECT c.name, c.id FROM locations c WHERE c.id = after))
		 ORDER BY l.name, l.id
		 LIMIT lim + 1
	),
	below (id, top) AS (
		SELECT id, id FROM page WHERE n <= lim
		UNION ALL
		SELECT l.id, b.top FROM locations l JOIN below b ON l.parent_id = b.id
	),
	site_use AS (
		SELECT b.top, sum(bx.rows * bx.cols) AS capacity,
		       sum((SELECT count(*) FROM specimens s WHERE s.box_id = bx.id)) AS used
		  FROM below b JOIN boxes bx ON bx.location_id = b.id
		 GROUP BY b.top
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(jsonb_build_object('id', p.id, 'kind', p.kind,
			'name', p.name, 'barcode', p.barcode, 'path', jsonb_build_array(p.name),
			'created_at', bb_rfc3339(p.created_at),
			'occupancy', bb_occupancy_json(u.capacity, u.used)) ORDER BY p.n)
			FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN (max(p.id) FILTER (WHERE p.n = lim))::text END)
	  FROM page p LEFT JOIN site_use u ON u.top = p.id;
$$;
COMMENT ON FUNCTION bb_location_list(bigint, integer) IS 'A page of sites with their occupancy, for GET /api/v1/locations.';

CREATE OR REPLACE FUNCTION bb_barcode_check_free(code text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	what text;
BEGIN
	-- Boxes and locations share the barcode space that scanning reads: one
	-- lock per barcode serializes two creations racing for it.
	PERFORM pg_advisory_xact_lock(hashtextextended('bb_barcode:' || code, 0));
	SELECT 'box ' || x.barcode INTO what FROM boxes x WHERE x.barcode = code;
	IF what IS NULL THEN
		SELECT format('location %s (%s)', x.id, x.name) INTO what FROM locations x WHERE x.barcode = code;
	END IF;
	IF what IS NULL AND EXISTS (SELECT 1 FROM specimens x WHERE x.tube_barcode = code) THEN
		what := 'a specimen tube';
	END IF;
	IF what IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'already-exists', NULL,
			format('the barcode %s is already on %s', code, what),
			jsonb_build_object('barcode', code));
	END IF;
END $$;
COMMENT ON FUNCTION bb_barcode_check_free(text) IS 'Locks a barcode for this transaction and raises BB409 if a box, location or tube already carries it.';

CREATE OR REPLACE FUNCTION bb_location_create(kind text, name text, parent bigint, temperature_c numeric,
	barcode text, actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p locations;
	new_id bigint;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF btrim(name) = '' OR name <> btrim(name) THEN
		PERFORM bb_fail('BB400', 'value-malformed', 'name',
			'must not be blank or begin or end with spaces');
	END IF;
	IF kind = 'site' AND parent IS NOT NULL THEN
		PERFORM bb_fail('BB400', 'location-nesting', 'parent',
			'a site is the top of the tree and has no parent');
	END IF;
	IF kind <> 'site' AND parent IS NULL THEN
		PERFORM bb_fail('BB400', 'location-nesting', 'parent',
			format('a %s must be inside another location', kind));
	END IF;
	IF parent IS NOT NULL THEN
		SELECT * INTO p FROM locations l WHERE l.id = parent FOR SHARE;
		IF NOT FOUND THEN
			PERFORM bb_fail('BB400', 'unknown-location', 'parent',
				format('no location has the id %s', parent),
				jsonb_build_object('location', parent));
		END IF;
		IF bb_location_rank(kind) <= bb_location_rank(p.kind) THEN
			PERFORM bb_fail('BB400', 'location-nesting', 'parent',
				format('a %s cannot be inside a %s (site > room > freezer > shelf > rack)', kind, p.kind));
		END IF;
	END IF;
	IF temperature_c IS NOT NULL AND kind <> 'freezer' THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'temperature_c',
			'only a freezer has a set temperature');
	END IF;
	IF EXISTS (SELECT 1 FROM locations l WHERE COALESCE(l.parent_id, 0) = COALESCE(parent, 0)
		   AND l.name = bb_location_create.name) THEN
		PERFORM bb_fail('BB409', 'already-exists', NULL, format('%s already holds a location named %s', CASE WHEN parent IS NULL THEN 'the top level'
			     ELSE (SELECT string_agg(x, ' / ') FROM jsonb_array_elements_text(bb_location_path(parent)) x) END, name), jsonb_build_object('name', name));
	END IF;
	IF barcode IS NOT NULL THEN
		PERFORM bb_barcode_check_free(barcode);
	END IF;
	BEGIN
		INSERT INTO locations (parent_id, kind, name, temperature_c, barcode)
		VALUES (parent, kind, name, temperature_c, barcode)
		RETURNING id INTO new_id;
	EXCEPTION WHEN unique_violation THEN
		-- Another transaction took the name or barcode between our look and our write.
		PERFORM bb_fail('BB409', 'already-exists', NULL,
			format('a location named %s or with that barcode was just created', name),
			jsonb_build_object('name', name));
	END;
	RETURN bb_location_json(new_id);
END $$;
COMMENT ON FUNCTION bb_location_create(text, text, bigint, numeric, text, text, bigint) IS 'POST /api/v1/locations: checks the hierarchy, adds the location (audited as actor), returns it.';

/*
 * A box as GET /api/v1/boxes/{barcode} shows it: every position row-major,
 * each with "occupied"; a specimen of a study outside studies (NULL: all)
 * shows as occupied without its ID, status or type.
 */
CREATE OR REPLACE FUNCTION bb_box_json(b boxes, studies bigint[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH cells AS (
		SELECT g.r, h.c, s.id AS sid, s.status, s.consent_withdrawn, s.type, s.tube_barcode,
		       s.id IS NOT NULL AS occupied,
		       s.id IS NOT NULL AND (studies IS NULL OR s.study_id = ANY (studies)) AS visible
		  FROM generate_series(1, b.rows) AS g (r)
		 CROSS JOIN generate_series(1, b.cols) AS h (c)
		  LEFT JOIN specimens s ON s.box_id = b.id AND s.pos_row = g.r AND s.pos_col = h.c
	)
	SELECT jsonb_build_object(
		'barcode', b.barcode,
		'rows', b.rows,
		'cols', b.cols,
		'parent', b.location_id,
		'path', bb_location_path(b.location_id) || to_jsonb(b.barcode),
		'created_at', bb_rfc3339(b.created_at),
		'capacity', b.rows * b.cols,
		'used', count(*) FILTER (WHERE occupied),
		'free', b.rows * b.cols - count(*) FILTER (WHERE occupied),
		'positions', jsonb_agg(CASE WHEN visible
			THEN jsonb_build_object('position', bb_position_name(r, c), 'specimen', sid,
				'occupied', true, 'status', status, 'consent_withdrawn', consent_withdrawn,
				'type', type, 'tube_barcode', tube_barcode)
			ELSE jsonb_build_object('position', bb_position_name(r, c), 'specimen', NULL,
				'occupied', occupied) END
			ORDER BY r, c))
	  FROM cells;
$$;
COMMENT ON FUNCTION bb_box_json(boxes, bigint[]) IS 'A box with every position, specimens outside the given studies not named.';

CREATE OR REPLACE FUNCTION bb_box_get(code text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes;
BEGIN
	b := bb_box_at(code);
	RETURN bb_box_json(b, studies);
END $$;
COMMENT ON FUNCTION bb_box_get(text, bigint[]) IS 'GET /api/v1/boxes/{barcode}: the box, or BB404.';

CREATE OR REPLACE FUNCTION bb_box_create(code text, nrows integer, ncols integer, parent bigint,
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p locations;
	b boxes;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	SELECT * INTO p FROM locations l WHERE l.id = parent FOR SHARE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB400', 'unknown-location', 'parent',
			format('no location has the id %s', parent),
			jsonb_build_object('location', parent));
	END IF;
	IF p.kind IN ('site', 'room') THEN
		PERFORM bb_fail('BB400', 'location-nesting', 'parent',
			format('a box stands in a freezer, shelf or rack, not in a %s (%s)', p.kind, p.name));
	END IF;
	PERFORM bb_barcode_check_free(code);
	BEGIN
		INSERT INTO boxes (barcode, rows, cols, location_id)
		VALUES (code, nrows, ncols, parent)
		RETURNING * INTO b;
	EXCEPTION WHEN unique_violation THEN
		PERFORM bb_fail('BB409', 'already-exists', NULL,
			format('a box with the barcode %s was just created', code),
			jsonb_build_object('barcode', code));
	END;
	RETURN bb_box_json(b, NULL);
END $$;
COMMENT ON FUNCTION bb_box_create(text, integer, integer, bigint, text, bigint) IS 'POST /api/v1/boxes: adds a box under a freezer, shelf or rack (audited as actor), returns it.';

/*
 * The next n free positions of a box in fill order (row-major: A1, A2, ...,
 * B1, ...), with how many positions are free in all.
 */
CREATE OR REPLACE FUNCTION bb_box_free(code text, n integer) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes;
	j jsonb;
BEGIN
	b := bb_box_at(code);
	IF n < 1 OR n > b.rows * b.cols THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'count',
			format('must be between 1 and %s, the positions of box %s', b.rows * b.cols, b.barcode));
	END IF;
	WITH free AS (
		SELECT g.r, h.c, row_number() OVER (ORDER BY g.r, h.c) AS k
		  FROM generate_series(1, b.rows) AS g (r)
		 CROSS JOIN generate_series(1, b.cols) AS h (c)
		 WHERE NOT EXISTS (SELECT 1 FROM specimens s
				    WHERE s.box_id = b.id AND s.pos_row = g.r AND s.pos_col = h.c)
	)
	SELECT jsonb_build_object('box', b.barcode, 'requested', n, 'available', count(*),
		'positions', COALESCE(jsonb_agg(bb_position_name(r, c) ORDER BY k) FILTER (WHERE k <= n), '[]'))
	  INTO j FROM free;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_box_free(text, integer) IS 'GET /api/v1/boxes/{barcode}/free: the next n free positions in fill order.';

/*
 * Boxes a page at a time in barcode order, all of them or those anywhere
 * below loc; after is the id of the last box of the previous page.
 */
CREATE OR REPLACE FUNCTION bb_box_list(loc bigint, after bigint, lim integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb;
BEGIN
	IF loc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM locations WHERE id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL,
			format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	WITH RECURSIVE scope (id) AS (
		SELECT loc WHERE loc IS NOT NULL
		UNION ALL
		SELECT l.id FROM locations l JOIN scope s ON l.parent_id = s.id
	),
	page AS (
		SELECT bx.id, bx.barcode, bx.rows, bx.cols, bx.location_id, bx.created_at,
		       row_number() OVER (ORDER BY bx.barcode) AS n
		  FROM boxes bx
		 WHERE (loc IS NULL OR bx.location_id IN (SELECT id FROM scope))
		   AND (after IS NULL OR bx.barcode > (SELECT x.barcode FROM boxes x WHERE x.id = after))
		 ORDER BY bx.barcode
		 LIMIT lim + 1
	),
	paths AS (
		SELECT DISTINCT location_id, bb_location_path(location_id) AS path FROM page
	)
	SELECT jsonb_build_object(
		'items', COALESCE(jsonb_agg(jsonb_build_object('barcode', p.barcode, 'rows', p.rows,
			'cols', p.cols, 'parent', p.location_id, 'path', pa.path || to_jsonb(p.barcode),
			'created_at', bb_rfc3339(p.created_at),
			'occupancy', bb_occupancy_json(p.rows * p.cols,
				(SELECT count(*) FROM specimens s WHERE s.box_id = p.id))) ORDER BY p.n)
			FILTER (WHERE p.n <= lim), '[]'),
		'next_cursor', CASE WHEN count(*) > lim THEN (max(p.id) FILTER (WHERE p.n = lim))::text END)
	  INTO j
	  FROM page p JOIN paths pa ON pa.location_id = p.location_id;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_box_list(bigint, bigint, integer) IS 'GET /api/v1/boxes: a page of boxes with occupancy, optionally those below a location.';

/*
 * What a scanned value is, in the order a bench scanner needs: a specimen
 * ID (id: the value read as an ID by the daemon, or NULL), a tube barcode,
 * a box barcode, a location barcode. Specimens outside studies are passed
 * over as if unknown.
 */
CREATE OR REPLACE FUNCTION bb_scan(value text, id text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s specimens;
	b boxes;
	loc bigint;
BEGIN
	IF id IS NOT NULL THEN
		SELECT * INTO s FROM specimens x
		 WHERE x.id = bb_scan.id AND (studies IS NULL OR x.study_id = ANY (studies));
		IF FOUND THEN
			RETURN jsonb_build_object('kind', 'specimen', 'item', bb_specimen_json(s));
		END IF;
	END IF;
	SELECT * INTO s FROM specimens x
	 WHERE x.tube_barcode = value AND (studies IS NULL OR x.study_id = ANY (studies));
	IF FOUND THEN
		RETURN jsonb_build_object('kind', 'specimen', 'item', bb_specimen_json(s));
	END IF;
	SELECT * INTO b FROM boxes x WHERE x.barcode = value;
	IF FOUND THEN
		RETURN jsonb_build_object('kind', 'box', 'item', bb_box_json(b, studies));
	END IF;
	SELECT x.id INTO loc FROM locations x WHERE x.barcode = value;
	IF FOUND THEN
		RETURN jsonb_build_object('kind', 'location', 'item', bb_location_json(loc));
	END IF;
	PERFORM bb_fail('BB404', 'reference-not-found', NULL,
		format('nothing is known by %s', value),
		jsonb_build_object('value', value));
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_scan(text, text, bigint[]) IS 'GET /api/v1/scan/{value}: a specimen (by ID or tube barcode), box or location, or BB404.';

/*
 * Computed on every insert and update, whatever columns the statement sets,
 * so that the stored path cannot disagree with the names and parents even
 * when someone writes it by hand. The parent is read FOR SHARE: a rename of
 * it in another transaction then finishes first (and its cascade reaches
 * this row) or waits for this one, instead of leaving this row with the
 * parent's old path.
 */
CREATE OR REPLACE FUNCTION bb_locations_path_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.parent_id IS NULL THEN
		NEW.path := jsonb_build_array(NEW.name);
		RETURN NEW;
	END IF;
	SELECT p.path || to_jsonb(NEW.name) INTO NEW.path FROM locations p WHERE p.id = NEW.parent_id FOR SHARE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB400', 'unknown-location', 'parent', format('no location %s', NEW.parent_id),
			jsonb_build_object('location', NEW.parent_id));
	END IF;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_locations_path_set() IS 'Sets locations.path from the parent''s path and the name.';

/*
 * A renamed or moved location rewrites its children, whose own trigger
 * recomputes them from the new path and passes it on down. The tree has no
 * cycles (bb_locations_check), so this ends at the leaves.
 */
CREATE OR REPLACE FUNCTION bb_locations_path_down() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	UPDATE locations SET path = NULL WHERE parent_id = NEW.id;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_locations_path_down() IS 'Recomputes the paths below a location whose path changed.';

CREATE OR REPLACE TRIGGER locations_check BEFORE INSERT OR UPDATE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_locations_check();
COMMENT ON TRIGGER locations_check ON locations IS 'Enforces the storage hierarchy for every writer (see bb_locations_check).';

CREATE OR REPLACE TRIGGER boxes_check BEFORE INSERT OR UPDATE ON boxes
	FOR EACH ROW EXECUTE FUNCTION bb_boxes_check();
COMMENT ON TRIGGER boxes_check ON boxes IS 'Keeps boxes out of sites and rooms and specimens inside the grid (see bb_boxes_check).';

CREATE OR REPLACE TRIGGER locations_path BEFORE INSERT OR UPDATE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_locations_path_set();
COMMENT ON TRIGGER locations_path ON locations IS 'Keeps locations.path in step with the name and the parent.';

CREATE OR REPLACE TRIGGER locations_path_down AFTER UPDATE ON locations
	FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION bb_locations_path_down();
COMMENT ON TRIGGER locations_path_down ON locations IS 'Pushes a changed path down to the descendants.';

-- Whole boxes: moves and new barcodes (docs/api-storage.md, "Moving a box") --

/*
 * What keeps a box where it is, whatever the request: an open audit has its
 * tubes in its snapshot (a move would show every one as moved during the
 * audit; a new barcode would not match its scans), and a caller limited to
 * some studies does not write the custody of another study's tubes. NULL
 * when nothing does, else the refusal (field, item as given).
 */
CREATE OR REPLACE FUNCTION bb_box_held(b boxes, studies bigint[], field text, item integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	audit_id bigint;
	others integer;
BEGIN
	SELECT a.id INTO audit_id FROM audits a JOIN audit_boxes ab ON ab.audit_id = a.id
	 WHERE ab.box_id = b.id AND a.status = 'open' ORDER BY a.id LIMIT 1;
	IF audit_id IS NOT NULL THEN
		RETURN bb_refusal('BB409', 'box-in-audit', field,
			format('box %s is in audit %s, which is open: close the audit first (or move the box after it)',
			       b.barcode, audit_id),
			jsonb_strip_nulls(jsonb_build_object('item', item, 'box', b.barcode, 'audit', audit_id)));
	END IF;
	IF studies IS NOT NULL THEN
		SELECT count(*) INTO others FROM specimens s
		 WHERE s.box_id = b.id AND NOT s.study_id = ANY (studies);
		IF others > 0 THEN
			RETURN bb_refusal('BB409', 'box-holds-other-studies', field,
				format('box %s holds %s tube(s) of studies you do not work on: a user of every study moves it',
				       b.barcode, others),
				jsonb_strip_nulls(jsonb_build_object('item', item, 'box', b.barcode, 'tubes', others)));
		END IF;
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_box_held(boxes, bigint[], text, integer) IS 'The refusal of moving or renaming a box in an open audit or holding tubes of studies outside the caller''s, or NULL.';

/*
 * Boxes moved whole to other locations, positions kept, all or nothing:
 * codes[i] to the location dests[i]. Every tube inside gets a moved event
 * whose box and position stay the same (verify-ledger's replay reads them)
 * and whose details name the box move (box, from and to paths). Every
 * refused move is listed at once: a box named twice or unknown, a location
 * unknown or that holds no boxes (a site or room), the box already there,
 * in an open audit, or holding tubes of studies outside the caller's.
 * single: the box was named in the URL (fields "to", none for the box).
 */
CREATE OR REPLACE FUNCTION bb_boxes_move(codes text[], dests bigint[], reason text, single boolean,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	errs jsonb;
	moves jsonb;
	tubes integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	-- The boxes in one order, then their tubes in one order, then the places they go.
	PERFORM 1 FROM boxes x WHERE x.barcode = ANY (codes) ORDER BY x.barcode FOR UPDATE;
	PERFORM 1 FROM specimens s WHERE s.box_id IN (SELECT x.id FROM boxes x WHERE x.barcode = ANY (codes))
	 ORDER BY s.id FOR UPDATE;
	PERFORM 1 FROM locations l WHERE l.id = ANY (dests) ORDER BY l.id FOR SHARE;

	SELECT jsonb_agg(t.e ORDER BY t.i) INTO errs FROM (
		SELECT u.i, CASE
			WHEN b.id IS NULL THEN bb_refusal('BB400', 'unknown-box', u.f_box,
				format('no box has the barcode %s', u.code),
				jsonb_build_object('item', u.i - 1, 'box', u.code))
			WHEN u.first_i < u.i THEN bb_refusal('BB400', 'listed-twice', u.f_box,
				format('box %s is listed twice', u.code),
				jsonb_build_object('item', u.i - 1, 'box', u.code))
			WHEN l.id IS NULL THEN bb_refusal('BB400', 'unknown-location', u.f_to,
				format('no location has the id %s', u.dest),
				jsonb_build_object('item', u.i - 1, 'location', u.dest))
			WHEN l.kind IN ('site', 'room') THEN bb_refusal('BB400', 'location-nesting', u.f_to,
				format('a box stands in a freezer, shelf or rack, not in a %s (%s)', l.kind, l.name),
				jsonb_build_object('item', u.i - 1, 'location', u.dest))
			WHEN b.location_id = l.id THEN bb_refusal('BB409', 'already-there', u.f_to,
				format('box %s is already in %s', b.barcode,
				       (SELECT string_agg(x, ' / ') FROM jsonb_array_elements_text(l.path) x)),
				jsonb_build_object('item', u.i - 1, 'box', b.barcode, 'location', l.id))
			ELSE bb_box_held(b, studies, u.f_box, u.i - 1)
			END AS e
		  FROM (SELECT v.code, v.dest, v.i::integer AS i,
			       (min(v.i) OVER (PARTITION BY v.code))::integer AS first_i,
			       CASE WHEN single THEN NULL ELSE format('moves[%s].box', v.i - 1) END AS f_box,
			       CASE WHEN single THEN 'to' ELSE format('moves[%s].to', v.i - 1) END AS f_to
			  FROM unnest(codes, dests) WITH ORDINALITY AS v (code, dest, i)) u
		  LEFT JOIN boxes b ON b.barcode = u.code
		  LEFT JOIN locations l ON l.id = u.dest) t
	 WHERE t.e IS NOT NULL;
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_each(errs);
	END IF;

	SELECT jsonb_agg(jsonb_build_object('box', b.barcode,
		'from', bb_location_path(b.location_id) || to_jsonb(b.barcode),
		'to', bb_location_path(u.dest) || to_jsonb(b.barcode),
		'tubes', (SELECT count(*) FROM specimens s WHERE s.box_id = b.id)) ORDER BY u.i)
	  INTO moves
	  FROM unnest(codes, dests) WITH ORDINALITY AS u (code, dest, i) JOIN boxes b ON b.barcode = u.code;
	UPDATE boxes b SET location_id = u.dest FROM unnest(codes, dests) AS u (code, dest)
	 WHERE b.barcode = u.code;
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, to_box, to_pos,
		reason, details)
	SELECT s.id, 'moved', actor, actor_id, b.barcode, bb_position_name(s.pos_row, s.pos_col),
	       b.barcode, bb_position_name(s.pos_row, s.pos_col), reason,
	       jsonb_build_object('box_move', m.m - 'tubes')
	  FROM jsonb_array_elements(moves) WITH ORDINALITY AS m (m, k)
	  JOIN boxes b ON b.barcode = m.m ->> 'box'
	  JOIN specimens s ON s.box_id = b.id
	 ORDER BY m.k, s.pos_row, s.pos_col;
	GET DIAGNOSTICS tubes = ROW_COUNT;
	RETURN jsonb_build_object('items', moves, 'boxes', jsonb_array_length(moves), 'tubes', tubes);
END $$;
COMMENT ON FUNCTION bb_boxes_move(text[], bigint[], text, boolean, bigint[], text, bigint) IS 'Moves whole boxes to other locations, positions kept, with a moved event for every tube inside; all or nothing, every refusal listed.';

-- POST /api/v1/boxes/{barcode}/move: one box, named in the URL (404 when it names none).
CREATE OR REPLACE FUNCTION bb_box_move(code text, dest bigint, reason text, studies bigint[], actor text,
	actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	b boxes := bb_box_at(code);
	moved jsonb;
BEGIN
	moved := bb_boxes_move(ARRAY[code], ARRAY[dest], reason, true, studies, actor, actor_id);
	SELECT * INTO b FROM boxes x WHERE x.id = b.id;
	RETURN bb_box_json(b, studies) || jsonb_build_object('moved',
		jsonb_build_object('from', moved -> 'items' -> 0 -> 'from', 'tubes', moved -> 'tubes'));
END $$;
COMMENT ON FUNCTION bb_box_move(text, bigint, text, bigint[], text, bigint) IS 'Moves one box whole to another location (bb_boxes_move); answers the box where it now stands.';

/*
 * A box's barcode replaced (a relabelled box, a rack whose scanner ID was
 * typed wrong). The tubes do not move, but the ledger names a tube's place
 * by its box's barcode as text: every tube inside gets a moved event from
 * the old barcode to the new one at the same position, so that events
 * written before keep the barcode the box had then and verify-ledger's
 * replay ends at the new one.
 */
CREATE OR REPLACE FUNCTION bb_box_rename(code text, new_code text, reason text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	b boxes := bb_box_at(code);
	held jsonb;
	tubes integer;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	SELECT * INTO b FROM boxes x WHERE x.id = b.id FOR UPDATE;
	PERFORM 1 FROM specimens s WHERE s.box_id = b.id ORDER BY s.id FOR UPDATE;
	held := bb_box_held(b, studies, NULL, NULL);
	IF held IS NOT NULL THEN
		PERFORM bb_fail_each(jsonb_build_array(held));
	END IF;
	PERFORM bb_barcode_check_free(new_code);
	UPDATE boxes SET barcode = new_code WHERE id = b.id RETURNING * INTO b;
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, to_box, to_pos,
		reason, details)
	SELECT s.id, 'moved', actor, actor_id, code, bb_position_name(s.pos_row, s.pos_col),
	       new_code, bb_position_name(s.pos_row, s.pos_col), reason,
	       jsonb_build_object('box_renamed', jsonb_build_object('from', code, 'to', new_code))
	  FROM specimens s WHERE s.box_id = b.id
	 ORDER BY s.pos_row, s.pos_col;
	GET DIAGNOSTICS tubes = ROW_COUNT;
	RETURN bb_box_json(b, studies) || jsonb_build_object('renamed',
		jsonb_build_object('from', code, 'tubes', tubes));
END $$;
COMMENT ON FUNCTION bb_box_rename(text, text, text, bigint[], text, bigint) IS 'Gives a box a new barcode, with a moved event (old barcode to new, same position) for every tube inside.';
