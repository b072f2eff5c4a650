-- functions/storage_plan.sql — Storage that plans itself (issue 18,
-- docs/api-storage.md): container rules and nominal temperatures, the
-- ancestors that make a subtree one indexed look-up, and capacity.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

-- The tree's ancestors --------------------------------------------------------

/*
 * locations.ancestors from the parent's, on every insert and update,
 * whatever the statement set: a move rewrites the children's paths
 * (bb_locations_path_down), which fires this on each of them in turn. The
 * parent is read FOR SHARE for the reason bb_locations_path_set gives.
 */
CREATE OR REPLACE FUNCTION bb_locations_ancestors_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.parent_id IS NULL THEN
		NEW.ancestors := ARRAY[NEW.id];
		RETURN NEW;
	END IF;
	SELECT p.ancestors || NEW.id INTO NEW.ancestors FROM locations p WHERE p.id = NEW.parent_id FOR SHARE;
	-- No parent: bb_locations_path_set refuses the row with its own words.
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_locations_ancestors_set() IS 'Sets locations.ancestors from the parent''s and the id.';

CREATE OR REPLACE TRIGGER locations_ancestors BEFORE INSERT OR UPDATE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_locations_ancestors_set();
COMMENT ON TRIGGER locations_ancestors ON locations IS 'Keeps locations.ancestors in step with the parent.';

-- The ids of a location and every location below it.
CREATE OR REPLACE FUNCTION bb_location_subtree(loc bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $$
	SELECT l.id FROM locations l WHERE l.ancestors @> ARRAY[loc];
$$;
COMMENT ON FUNCTION bb_location_subtree(bigint) IS 'A location and every location below it (locations.ancestors, GIN-indexed).';

/*
 * A location id given as a list filter (?location=): the location, or a
 * BB400 unknown-location naming the field, as the occupancy report does.
 */
CREATE OR REPLACE FUNCTION bb_location_filter(loc bigint) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF loc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.id = loc) THEN
		PERFORM bb_fail('BB400', 'unknown-location', 'location',
			format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	RETURN loc;
END $$;
COMMENT ON FUNCTION bb_location_filter(bigint) IS 'Checks a ?location= filter: the id, or BB400 unknown-location.';

-- The same from the text of a query parameter, which may also be mistyped (BB400 invalid-value).
CREATE OR REPLACE FUNCTION bb_location_filter_text(v text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF v IS NULL OR v = '' THEN
		RETURN NULL;
	END IF;
	IF v !~ '^[1-9][0-9]{0,15}$' THEN
		PERFORM bb_fail('BB400', 'invalid-value', 'location',
			format('must be a location id (a positive integer), not "%s"', left(v, 40)));
	END IF;
	RETURN bb_location_filter(v::bigint);
END $$;
COMMENT ON FUNCTION bb_location_filter_text(text) IS 'Checks a ?location= filter given as text: the id, or BB400 invalid-value / unknown-location.';

-- Container rules ---------------------------------------------------------------

-- A container as a refusal names it: a box by barcode, a location by id, with its path.
CREATE OR REPLACE FUNCTION bb_container_json(kind text, id bigint, name text, path jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN kind = 'box'
		THEN jsonb_build_object('kind', 'box', 'barcode', name, 'path', path)
		ELSE jsonb_build_object('kind', kind, 'id', id, 'name', name, 'path', path) END;
$$;
COMMENT ON FUNCTION bb_container_json(text, bigint, text, jsonb) IS 'A box or location as a rule refusal names it.';

/*
 * The chain of containers whose rules a place obeys, nearest first: the box
 * (when box_id is given) at depth 0, then its location and every location
 * above it, or the locations from loc upwards.
 */
CREATE OR REPLACE FUNCTION bb_rule_chain(box_id bigint, loc bigint)
RETURNS TABLE (depth integer, kind text, id bigint, name text, path jsonb, accept_types text[],
	accept_studies bigint[], nominal text)
LANGUAGE sql STABLE AS $$
	SELECT 0, 'box', b.id, b.barcode, bb_location_path(b.location_id) || to_jsonb(b.barcode),
	       b.accept_types, b.accept_studies, NULL::text
	  FROM boxes b WHERE b.id = box_id
	UNION ALL
	SELECT (cardinality(l.ancestors) - a.n + 1)::integer, x.kind, x.id, x.name, x.path,
	       x.accept_types, x.accept_studies, x.nominal_temperature
	  FROM locations l
	  CROSS JOIN LATERAL unnest(l.ancestors) WITH ORDINALITY AS a (id, n)
	  JOIN locations x ON x.id = a.id
	 WHERE l.id = COALESCE(loc, (SELECT b.location_id FROM boxes b WHERE b.id = box_id));
$$;
COMMENT ON FUNCTION bb_rule_chain(bigint, bigint) IS 'The box and locations whose rules a place obeys, nearest first (depth 0: the box).';

-- The nominal temperature in force at a place: the nearest one declared, with where.
CREATE OR REPLACE FUNCTION bb_nominal_at(box_id bigint, loc bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('value', c.nominal, 'set_by', bb_container_json(c.kind, c.id, c.name, c.path))
	  FROM bb_rule_chain(box_id, loc) c WHERE c.nominal IS NOT NULL ORDER BY c.depth LIMIT 1;
$$;
COMMENT ON FUNCTION bb_nominal_at(bigint, bigint) IS 'The nominal temperature in force at a box or location and the location that declared it, or NULL.';

/*
 * Why a specimen of type stype and study study_id may not stand at a place
 * (a box, or a location for planning): the first broken rule, nearest
 * container first, as a refusal (bb_refusal) naming the rule in its code
 * and the container that set it; NULL when every rule holds (study_id
 * NULL: any study, for planning). A type with
 * storage temperatures is refused where the nominal temperature in force is
 * another one; where none is declared, nothing is known to be wrong.
 */
CREATE OR REPLACE FUNCTION bb_rule_refusal(box_id bigint, loc bigint, stype text, study_id bigint,
	field text, facts jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	c record;
	temps text[];
	study_code text;
BEGIN
	FOR c IN SELECT * FROM bb_rule_chain(box_id, loc) ORDER BY depth LOOP
		IF c.accept_types IS NOT NULL AND NOT stype = ANY (c.accept_types) THEN
			RETURN bb_refusal('BB409', 'rule-specimen-type', field,
				format('%s %s accepts only %s, not %s', CASE WHEN c.kind = 'box' THEN 'box' ELSE c.kind END,
				       c.name, array_to_string(c.accept_types, ', '), stype),
				COALESCE(facts, '{}') || jsonb_build_object('rule', 'specimen-type', 'type', stype,
					'accepts', to_jsonb(c.accept_types),
					'container', bb_container_json(c.kind, c.id, c.name, c.path)));
		END IF;
		IF c.accept_studies IS NOT NULL AND study_id IS NOT NULL AND NOT study_id = ANY (c.accept_studies) THEN
			SELECT s.code INTO study_code FROM studies s WHERE s.id = study_id;
			RETURN bb_refusal('BB409', 'rule-study', field,
				format('%s %s accepts only specimens of %s, not of %s', c.kind, c.name,
				       (SELECT string_agg(s.code, ', ' ORDER BY s.code) FROM studies s WHERE s.id = ANY (c.accept_studies)),
				       study_code),
				COALESCE(facts, '{}') || jsonb_build_object('rule', 'study', 'study', study_code,
					'accepts', (SELECT jsonb_agg(s.code ORDER BY s.code) FROM studies s WHERE s.id = ANY (c.accept_studies)),
					'container', bb_container_json(c.kind, c.id, c.name, c.path)));
		END IF;
	END LOOP;
	SELECT t.storage_temperatures INTO temps FROM specimen_types t WHERE t.code = stype;
	IF temps IS NOT NULL THEN
		SELECT * INTO c FROM bb_rule_chain(box_id, loc) x WHERE x.nominal IS NOT NULL ORDER BY x.depth LIMIT 1;
		IF FOUND AND NOT c.nominal = ANY (temps) THEN
			RETURN bb_refusal('BB409', 'rule-temperature', field,
				format('%s %s is kept at %s, and %s is stored only at %s', c.kind, c.name,
				       bb_nominal_text(c.nominal), stype,
				       (SELECT string_agg(bb_nominal_text(x), ', ') FROM unnest(temps) x)),
				COALESCE(facts, '{}') || jsonb_build_object('rule', 'temperature', 'type', stype,
					'nominal_temperature', c.nominal, 'accepts', to_jsonb(temps),
					'container', bb_container_json(c.kind, c.id, c.name, c.path)));
		END IF;
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_rule_refusal(bigint, bigint, text, bigint, text, jsonb) IS 'The first container rule a specimen of this type and study would break at a box or location, as a refusal naming the rule and the container; NULL if none.';

CREATE OR REPLACE FUNCTION bb_nominal_text(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v = 'room' THEN 'room temperature' ELSE v || ' °C' END;
$$;
COMMENT ON FUNCTION bb_nominal_text(text) IS 'A nominal temperature as people write it (-80 °C, room temperature).';

/*
 * Every placement obeys the rules, whoever writes it (a store, a move, a
 * return, a rack file, an import, aliquots into a box): a specimen that
 * comes into a box, or whose type changes in one, is checked here and the
 * statement refused with the rule's code and the container that set it.
 */
CREATE OR REPLACE FUNCTION bb_specimens_rules_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	refusal jsonb := bb_rule_refusal(NEW.box_id, NULL, NEW.type, NEW.study_id, NULL,
		jsonb_build_object('specimen', NEW.id,
			'box', (SELECT b.barcode FROM boxes b WHERE b.id = NEW.box_id),
			'position', bb_position_name(NEW.pos_row, NEW.pos_col)));
BEGIN
	IF refusal IS NOT NULL THEN
		PERFORM bb_fail_each(jsonb_build_array(refusal));
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_specimens_rules_check() IS 'Refuses a specimen placed where a container rule forbids it (bb_rule_refusal).';

CREATE OR REPLACE TRIGGER specimens_rules_insert AFTER INSERT ON specimens
	FOR EACH ROW WHEN (NEW.box_id IS NOT NULL) EXECUTE FUNCTION bb_specimens_rules_check();
COMMENT ON TRIGGER specimens_rules_insert ON specimens IS 'A specimen created in a box obeys the container rules.';

CREATE OR REPLACE TRIGGER specimens_rules_update AFTER UPDATE OF box_id, type ON specimens
	FOR EACH ROW WHEN (NEW.box_id IS NOT NULL
		AND (NEW.box_id IS DISTINCT FROM OLD.box_id OR NEW.type IS DISTINCT FROM OLD.type))
	EXECUTE FUNCTION bb_specimens_rules_check();
COMMENT ON TRIGGER specimens_rules_update ON specimens IS 'A specimen placed in a box (or retyped in one) obeys the container rules.';

/*
 * A box moved whole (POST /boxes/{barcode}/move, /box-moves, an evacuation)
 * or given rules of its own: every tube in it obeys the rules of where it
 * now is; the first that does not refuses the statement.
 */
CREATE OR REPLACE FUNCTION bb_boxes_rules_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	refusal jsonb;
BEGIN
	SELECT r INTO refusal FROM (
		SELECT bb_rule_refusal(NEW.id, NULL, s.type, s.study_id, NULL,
			jsonb_build_object('specimen', s.id, 'box', NEW.barcode,
				'position', bb_position_name(s.pos_row, s.pos_col))) AS r, s.pos_row, s.pos_col
		  FROM (SELECT DISTINCT ON (x.type, x.study_id) x.* FROM specimens x WHERE x.box_id = NEW.id
			 ORDER BY x.type, x.study_id, x.pos_row, x.pos_col) s) t
	 WHERE t.r IS NOT NULL ORDER BY t.pos_row, t.pos_col LIMIT 1;
	IF refusal IS NOT NULL THEN
		PERFORM bb_fail_each(jsonb_build_array(refusal));
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_boxes_rules_check() IS 'Refuses a box move or box rule that a tube inside would break.';

CREATE OR REPLACE TRIGGER boxes_rules AFTER UPDATE OF location_id, accept_types, accept_studies ON boxes
	FOR EACH ROW WHEN (NEW.location_id IS DISTINCT FROM OLD.location_id
		OR NEW.accept_types IS DISTINCT FROM OLD.accept_types
		OR NEW.accept_studies IS DISTINCT FROM OLD.accept_studies)
	EXECUTE FUNCTION bb_boxes_rules_check();
COMMENT ON TRIGGER boxes_rules ON boxes IS 'A moved box, or a box given rules, holds only tubes its rules accept.';

/*
 * A rule set on a location binds every box below it: the first stored tube
 * below that would break a rule in force after the change refuses it (a
 * rule is set before the freezer is filled, or after it is cleared).
 */
CREATE OR REPLACE FUNCTION bb_locations_rules_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	refusal jsonb;
BEGIN
	SELECT r INTO refusal FROM (
		SELECT bb_rule_refusal(g.box_id, NULL, g.type, g.study_id, NULL,
			jsonb_build_object('specimen', g.sid, 'box', g.barcode, 'position', g.pos)) AS r, g.barcode, g.pos
		  FROM (SELECT DISTINCT ON (b.id, s.type, s.study_id) b.id AS box_id, b.barcode, s.type, s.study_id,
			       s.id AS sid, bb_position_name(s.pos_row, s.pos_col) AS pos
			  FROM locations l JOIN boxes b ON b.location_id = l.id JOIN specimens s ON s.box_id = b.id
			 WHERE l.ancestors @> ARRAY[NEW.id]
			 ORDER BY b.id, s.type, s.study_id, s.pos_row, s.pos_col) g) t
	 WHERE t.r IS NOT NULL ORDER BY t.barcode, t.pos LIMIT 1;
	IF refusal IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'rule-broken-by-contents', NULL,
			format('specimen %s in box %s would break the new rule: %s', refusal ->> 'specimen',
			       refusal ->> 'box', refusal ->> 'message'),
			jsonb_build_object('breaks', refusal ->> 'code', 'specimen', refusal -> 'specimen',
				'box', refusal -> 'box', 'position', refusal -> 'position'));
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_locations_rules_check() IS 'Refuses a location rule or nominal temperature that a stored tube below would break.';

CREATE OR REPLACE TRIGGER locations_rules AFTER UPDATE OF nominal_temperature, accept_types, accept_studies ON locations
	FOR EACH ROW WHEN (NEW.nominal_temperature IS DISTINCT FROM OLD.nominal_temperature
		OR NEW.accept_types IS DISTINCT FROM OLD.accept_types
		OR NEW.accept_studies IS DISTINCT FROM OLD.accept_studies)
	EXECUTE FUNCTION bb_locations_rules_check();
COMMENT ON TRIGGER locations_rules ON locations IS 'A location given rules holds below it only tubes they accept.';

/*
 * The rules as the API shows them at a place: its own (types, studies,
 * nominal_temperature) and those in force there, each with the container
 * that set it (inherited from above, or its own).
 */
CREATE OR REPLACE FUNCTION bb_rules_json(box_id bigint, loc bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH ch AS (SELECT * FROM bb_rule_chain(box_id, loc)),
	own AS (SELECT * FROM ch ORDER BY depth LIMIT 1)
	SELECT jsonb_build_object(
		'types', (SELECT to_jsonb(accept_types) FROM own),
		'studies', (SELECT jsonb_agg(s.code ORDER BY s.code) FROM own, studies s WHERE s.id = ANY (own.accept_studies)),
		'nominal_temperature', (SELECT nominal FROM own),
		'in_force', jsonb_build_object(
			'nominal_temperature', bb_nominal_at(box_id, loc),
			'rules', COALESCE((SELECT jsonb_agg(x.j ORDER BY x.depth, x.k) FROM (
				SELECT ch.depth, 1 AS k, jsonb_build_object('rule', 'specimen-type',
					'accepts', to_jsonb(ch.accept_types),
					'set_by', bb_container_json(ch.kind, ch.id, ch.name, ch.path)) AS j
				  FROM ch WHERE ch.accept_types IS NOT NULL
				UNION ALL
				SELECT ch.depth, 2, jsonb_build_object('rule', 'study',
					'accepts', (SELECT jsonb_agg(s.code ORDER BY s.code) FROM studies s WHERE s.id = ANY (ch.accept_studies)),
					'set_by', bb_container_json(ch.kind, ch.id, ch.name, ch.path))
				  FROM ch WHERE ch.accept_studies IS NOT NULL) x), '[]')));
$$;
COMMENT ON FUNCTION bb_rules_json(bigint, bigint) IS 'A box''s or location''s own rules and those in force there with who set them, as GET .../rules shows them.';

-- Study codes as ids for a rule: every one known, else BB400 naming the item.
CREATE OR REPLACE FUNCTION bb_rule_studies(codes text[]) RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$
DECLARE
	errs jsonb;
BEGIN
	IF codes IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT jsonb_agg(bb_refusal('BB400', 'unknown-study', format('studies[%s]', u.i - 1),
		format('no study has the code %s', u.code), jsonb_build_object('item', u.i - 1, 'study', u.code)) ORDER BY u.i)
	  INTO errs
	  FROM unnest(codes) WITH ORDINALITY AS u (code, i)
	 WHERE NOT EXISTS (SELECT 1 FROM studies s WHERE s.code = u.code);
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_each(errs);
	END IF;
	RETURN (SELECT array_agg(DISTINCT s.id ORDER BY s.id) FROM studies s WHERE s.code = ANY (codes));
END $$;
COMMENT ON FUNCTION bb_rule_studies(text[]) IS 'The ids of the studies a rule names, or BB400 unknown-study for each code no study has.';

-- Specimen types for a rule: every one known, else BB400 naming the item; in one order, once each.
CREATE OR REPLACE FUNCTION bb_rule_types(codes text[]) RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
	errs jsonb;
BEGIN
	IF codes IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT jsonb_agg(bb_refusal('BB400', 'unknown-specimen-type', format('types[%s]', u.i - 1),
		format('no specimen type has the code %s', u.code), jsonb_build_object('item', u.i - 1, 'type', u.code)) ORDER BY u.i)
	  INTO errs
	  FROM unnest(codes) WITH ORDINALITY AS u (code, i)
	 WHERE NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = u.code);
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_each(errs);
	END IF;
	RETURN (SELECT array_agg(DISTINCT c ORDER BY c) FROM unnest(codes) c);
END $$;
COMMENT ON FUNCTION bb_rule_types(text[]) IS 'The specimen types a rule names, sorted and once each, or BB400 unknown-specimen-type.';

/*
 * PUT /api/v1/locations/{id}/rules: the location's own rules replaced
 * (a field left out or null: no rule of that kind here). Refused when a
 * stored tube below would break them (locations_rules).
 */
CREATE OR REPLACE FUNCTION bb_location_rules_set(loc bigint, nominal text, types text[], study_codes text[],
	box_slots integer, actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	t text[] := bb_rule_types(types);
	st bigint[] := bb_rule_studies(study_codes);
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	PERFORM 1 FROM locations l WHERE l.id = loc FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	IF box_slots IS NOT NULL AND box_slots < (SELECT count(*) FROM boxes b WHERE b.location_id = loc) THEN
		PERFORM bb_fail('BB409', 'box-slots-taken', 'box_slots',
			format('location %s already holds %s boxes', loc, (SELECT count(*) FROM boxes b WHERE b.location_id = loc)),
			jsonb_build_object('location', loc));
	END IF;
	UPDATE locations SET nominal_temperature = nominal, accept_types = t, accept_studies = st,
	       box_slots = bb_location_rules_set.box_slots
	 WHERE id = loc;
	RETURN bb_rules_json(NULL, loc) || jsonb_build_object('location', loc,
		'box_slots', bb_location_rules_set.box_slots);
END $$;
COMMENT ON FUNCTION bb_location_rules_set(bigint, text, text[], text[], integer, text, bigint) IS 'PUT /api/v1/locations/{id}/rules: replaces a location''s rules, nominal temperature and box slots (audited), unless a stored tube below would break them.';

CREATE OR REPLACE FUNCTION bb_location_rules_get(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	slots integer;
BEGIN
	SELECT l.box_slots INTO slots FROM locations l WHERE l.id = loc;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	RETURN bb_rules_json(NULL, loc) || jsonb_build_object('location', loc, 'box_slots', slots);
END $$;
COMMENT ON FUNCTION bb_location_rules_get(bigint) IS 'GET /api/v1/locations/{id}/rules.';

-- PUT /api/v1/boxes/{barcode}/rules: the box's own rules replaced (boxes_rules checks its tubes).
CREATE OR REPLACE FUNCTION bb_box_rules_set(code text, types text[], study_codes text[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	b boxes := bb_box_at(code);
	t text[] := bb_rule_types(types);
	st bigint[] := bb_rule_studies(study_codes);
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	UPDATE boxes SET accept_types = t, accept_studies = st WHERE id = b.id;
	RETURN bb_rules_json(b.id, NULL) || jsonb_build_object('box', b.barcode);
END $$;
COMMENT ON FUNCTION bb_box_rules_set(text, text[], text[], text, bigint) IS 'PUT /api/v1/boxes/{barcode}/rules: replaces a box''s rules (audited), unless a tube inside would break them.';

CREATE OR REPLACE FUNCTION bb_box_rules_get(code text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes := bb_box_at(code);
BEGIN
	RETURN bb_rules_json(b.id, NULL) || jsonb_build_object('box', b.barcode);
END $$;
COMMENT ON FUNCTION bb_box_rules_get(text) IS 'GET /api/v1/boxes/{barcode}/rules.';

/*
 * PUT /api/v1/specimen-types/{code}/storage {"temperatures": [...] | null}:
 * the nominal temperatures a type may be stored at. Refused (409
 * rule-broken-by-contents) while a stored tube of the type stands elsewhere.
 */
CREATE OR REPLACE FUNCTION bb_specimen_type_storage_set(code text, temps text[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	bad record;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	PERFORM 1 FROM specimen_types t WHERE t.code = bb_specimen_type_storage_set.code FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'specimen-type-not-found', NULL, format('no specimen type has the code %s', code),
			jsonb_build_object('type', code));
	END IF;
	UPDATE specimen_types t SET storage_temperatures = (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(temps) x)
	 WHERE t.code = bb_specimen_type_storage_set.code;
	SELECT s.id, b.barcode, bb_position_name(s.pos_row, s.pos_col) AS pos, n.v INTO bad
	  FROM (SELECT DISTINCT ON (x.box_id) x.* FROM specimens x
		 WHERE x.type = bb_specimen_type_storage_set.code AND x.box_id IS NOT NULL ORDER BY x.box_id, x.pos_row, x.pos_col) s
	  JOIN boxes b ON b.id = s.box_id
	  CROSS JOIN LATERAL (SELECT bb_nominal_at(b.id, NULL) ->> 'value' AS v) n
	 WHERE temps IS NOT NULL AND n.v IS NOT NULL AND NOT n.v = ANY (temps)
	 ORDER BY b.barcode LIMIT 1;
	IF FOUND THEN
		PERFORM bb_fail('BB409', 'rule-broken-by-contents', 'temperatures',
			format('specimen %s (%s) is stored in box %s at %s', bad.id, code, bad.barcode, bb_nominal_text(bad.v)),
			jsonb_build_object('breaks', 'rule-temperature', 'specimen', bad.id, 'box', bad.barcode, 'position', bad.pos));
	END IF;
	RETURN (SELECT jsonb_build_object('code', t.code, 'name', t.name, 'storage_temperatures', to_jsonb(t.storage_temperatures))
		  FROM specimen_types t WHERE t.code = bb_specimen_type_storage_set.code);
END $$;
COMMENT ON FUNCTION bb_specimen_type_storage_set(text, text[], text, bigint) IS 'PUT /api/v1/specimen-types/{code}/storage: the nominal temperatures a type may be stored at (audited).';

-- Capacity ----------------------------------------------------------------------

/*
 * GET /api/v1/locations/{id}/capacity: for the location itself and each
 * child, over everything below it, the free positions by box grid and the
 * free box slots (where box_slots are declared).
 */
CREATE OR REPLACE FUNCTION bb_location_capacity(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM locations l WHERE l.id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc),
			jsonb_build_object('location', loc));
	END IF;
	WITH sub AS (
		-- every location below loc, with the child of loc it lies under (NULL: loc itself)
		SELECT l.id, l.box_slots, l.ancestors[array_position(l.ancestors, loc) + 1] AS top
		  FROM locations l WHERE l.ancestors @> ARRAY[loc]
	),
	bx AS (
		SELECT sub.top, b.rows, b.cols, b.rows * b.cols AS capacity,
		       (SELECT count(*) FROM specimens s WHERE s.box_id = b.id) AS used
		  FROM sub JOIN boxes b ON b.location_id = sub.id
	),
	slots AS (
		SELECT sub.top, sum(sub.box_slots) AS slots,
		       sum(greatest(sub.box_slots - (SELECT count(*) FROM boxes b WHERE b.location_id = sub.id), 0)) AS free
		  FROM sub WHERE sub.box_slots IS NOT NULL GROUP BY sub.top
	),
	grids AS (
		SELECT bx.top, bx.rows || 'x' || bx.cols AS grid, count(*) AS boxes, sum(capacity) AS capacity,
		       sum(used) AS used
		  FROM bx GROUP BY bx.top, bx.rows, bx.cols
	),
	per AS (
		SELECT t.top,
		       COALESCE((SELECT jsonb_agg(jsonb_build_object('grid', g.grid, 'boxes', g.boxes,
				'capacity', g.capacity, 'used', g.used, 'free', g.capacity - g.used) ORDER BY g.grid)
			  FROM grids g WHERE g.top IS NOT DISTINCT FROM t.top), '[]') AS by_grid,
		       (SELECT jsonb_build_object('slots', s.slots, 'free', s.free) FROM slots s
			 WHERE s.top IS NOT DISTINCT FROM t.top) AS box_slots
		  FROM (SELECT DISTINCT top FROM sub) t
	),
	-- the totals of the whole subtree, from every top
	whole AS (
		SELECT COALESCE((SELECT jsonb_agg(jsonb_build_object('grid', g.grid, 'boxes', g.boxes,
				'capacity', g.capacity, 'used', g.used, 'free', g.capacity - g.used) ORDER BY g.grid)
			  FROM (SELECT rows || 'x' || cols AS grid, count(*) AS boxes, sum(capacity) AS capacity,
				       sum(used) AS used FROM bx GROUP BY rows, cols) g), '[]') AS by_grid,
		       (SELECT jsonb_build_object('slots', sum(s.slots), 'free', sum(s.free)) FROM slots s
			 HAVING count(*) > 0) AS box_slots
	)
	SELECT jsonb_build_object('location', l.id, 'kind', l.kind, 'name', l.name, 'path', l.path,
		'nominal_temperature', bb_nominal_at(NULL, l.id),
		'positions', w.by_grid, 'box_slots', w.box_slots,
		'children', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'kind', c.kind, 'name', c.name,
				'positions', COALESCE(p.by_grid, '[]'), 'box_slots', p.box_slots) ORDER BY c.name, c.id)
			  FROM locations c LEFT JOIN per p ON p.top = c.id WHERE c.parent_id = l.id), '[]'))
	  INTO j
	  FROM locations l, whole w WHERE l.id = loc;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_location_capacity(bigint) IS 'GET /api/v1/locations/{id}/capacity: free positions by box grid and free box slots, for the location and each child.';

/*
 * GET /api/v1/capacity?grid=RxC&boxes=N&type=&study=: the locations that
 * can take N more boxes of that grid under the rules: each location with
 * declared box slots whose rules accept the type (and study) is a place;
 * the answer lists the freezers (or the highest located ancestor holding
 * such places) with enough free slots, most free first, with their places,
 * and the free positions in existing boxes of that grid there.
 */
CREATE OR REPLACE FUNCTION bb_capacity_search(grid text, nboxes integer, stype text, study text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	g_rows integer;
	g_cols integer;
	study_id bigint;
	j jsonb;
BEGIN
	IF grid !~ '^[1-9][0-9]?x[1-9][0-9]?$' THEN
		PERFORM bb_fail('BB400', 'value-malformed', 'grid', format('must be ROWSxCOLS such as 9x9, not "%s"', grid));
	END IF;
	g_rows := split_part(grid, 'x', 1)::integer;
	g_cols := split_part(grid, 'x', 2)::integer;
	IF g_rows > 26 OR g_cols > 48 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'grid', 'a box has at most 26 rows and 48 columns');
	END IF;
	IF stype IS NOT NULL AND NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = stype) THEN
		PERFORM bb_fail('BB400', 'unknown-specimen-type', 'type', format('no specimen type has the code %s', stype),
			jsonb_build_object('type', stype));
	END IF;
	IF study IS NOT NULL THEN
		SELECT s.id INTO study_id FROM studies s WHERE s.code = study;
		IF NOT FOUND THEN
			PERFORM bb_fail('BB400', 'unknown-study', 'study', format('no study has the code %s', study),
				jsonb_build_object('study', study));
		END IF;
	END IF;
	WITH places AS (
		SELECT l.id, l.name, l.ancestors,
		       l.box_slots - (SELECT count(*) FROM boxes b WHERE b.location_id = l.id) AS free_slots
		  FROM locations l
		 WHERE l.box_slots IS NOT NULL
		   AND bb_rule_refusal(NULL, l.id, stype, study_id, NULL, NULL) IS NULL
	),
	-- each place grouped under its freezer (or, outside freezers, itself)
	grouped AS (
		SELECT COALESCE((SELECT f.id FROM locations f WHERE f.id = ANY (p.ancestors) AND f.kind = 'freezer' LIMIT 1), p.id) AS unit,
		       p.*
		  FROM places p WHERE p.free_slots > 0
	),
	units AS (
		SELECT g.unit, sum(g.free_slots) AS free_slots,
		       jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name, 'free_box_slots', g.free_slots)
				 ORDER BY g.free_slots DESC, g.id) AS places
		  FROM grouped g GROUP BY g.unit HAVING sum(g.free_slots) >= nboxes
	)
	SELECT jsonb_build_object('grid', grid, 'boxes', nboxes, 'type', stype, 'study', study,
		'items', COALESCE(jsonb_agg(jsonb_build_object('location', u.unit, 'kind', l.kind, 'name', l.name,
			'path', l.path, 'nominal_temperature', bb_nominal_at(NULL, u.unit) -> 'value',
			'free_box_slots', u.free_slots,
			'free_positions', (SELECT COALESCE(sum(b.rows * b.cols - (SELECT count(*) FROM specimens s WHERE s.box_id = b.id)), 0)
				FROM boxes b JOIN locations x ON x.id = b.location_id
				WHERE x.ancestors @> ARRAY[u.unit] AND b.rows = g_rows AND b.cols = g_cols
				  AND bb_rule_refusal(b.id, NULL, stype, study_id, NULL, NULL) IS NULL),
			'places', u.places) ORDER BY u.free_slots DESC, u.unit), '[]'))
	  INTO j
	  FROM units u JOIN locations l ON l.id = u.unit;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_capacity_search(text, integer, text, text) IS 'GET /api/v1/capacity: the freezers (or other units) with enough free box slots whose rules accept the type and study, with the free positions in boxes of the grid.';

/*
 * A location with declared box slots takes no more boxes than that, from
 * any writer (a new box, a box moved in). Boxes coming into one location
 * queue on a lock of its id, so that two at once cannot both take the last
 * slot.
 */
CREATE OR REPLACE FUNCTION bb_boxes_slots_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	l locations;
	held integer;
BEGIN
	SELECT * INTO l FROM locations x WHERE x.id = NEW.location_id;
	IF l.box_slots IS NULL THEN
		RETURN NEW;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended('bb_box_slots:' || l.id, 0));
	SELECT count(*) INTO held FROM boxes b WHERE b.location_id = l.id AND b.id <> NEW.id;
	IF held >= l.box_slots THEN
		PERFORM bb_fail('BB409', 'box-slots-full', NULL,
			format('%s %s holds %s boxes, all its slots', l.kind, l.name, held),
			jsonb_build_object('box', NEW.barcode, 'location', l.id, 'box_slots', l.box_slots));
	END IF;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_boxes_slots_check() IS 'Refuses a box coming into a location whose declared box slots are all taken.';

CREATE OR REPLACE TRIGGER boxes_slots BEFORE INSERT OR UPDATE OF location_id ON boxes
	FOR EACH ROW EXECUTE FUNCTION bb_boxes_slots_check();
COMMENT ON TRIGGER boxes_slots ON boxes IS 'Boxes fit the declared slots of their location.';
