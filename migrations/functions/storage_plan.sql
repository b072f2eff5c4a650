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

-- The boxes anywhere below a location.
CREATE OR REPLACE FUNCTION bb_location_boxes(loc bigint) RETURNS bigint[] LANGUAGE sql STABLE AS $$
	SELECT COALESCE(array_agg(b.id ORDER BY b.id), '{}') FROM boxes b JOIN locations l ON l.id = b.location_id
	 WHERE l.ancestors @> ARRAY[loc];
$$;
COMMENT ON FUNCTION bb_location_boxes(bigint) IS 'The ids of the boxes anywhere below a location.';

/*
 * The first (lowest) serial stored below a location (0 for no location,
 * past every serial for a location that holds no tube): a
 * list of the tubes below it walks the issue order from there, so that a
 * freezer filled after the others is not reached by walking past every
 * tube stored before it. One index probe a box (specimens_box_serial).
 */
CREATE OR REPLACE FUNCTION bb_location_first_serial(loc bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN loc IS NULL THEN 0 ELSE
		(SELECT COALESCE(min(x.serial), 9223372036854775806) FROM unnest(bb_location_boxes(bb_location_filter(loc))) AS b (id)
		  CROSS JOIN LATERAL (SELECT s.serial FROM specimens s WHERE s.box_id = b.id
				       ORDER BY s.serial LIMIT 1) x) END;
$$;
COMMENT ON FUNCTION bb_location_first_serial(bigint) IS 'The lowest serial of a tube stored below a location (0 for no location, the largest bigint but one when it holds none), where a list of them starts its walk.';

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

-- Whether any location or box sets a rule (partial indexes locations_with_rules, boxes_with_rules).
CREATE OR REPLACE FUNCTION bb_rules_anywhere() RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM locations l WHERE l.accept_types IS NOT NULL OR l.accept_studies IS NOT NULL
			OR l.nominal_temperature IS NOT NULL)
	    OR EXISTS (SELECT 1 FROM boxes b WHERE b.accept_types IS NOT NULL OR b.accept_studies IS NOT NULL);
$$;
COMMENT ON FUNCTION bb_rules_anywhere() IS 'True when some location or box sets a container rule or nominal temperature.';

/*
 * Every placement obeys the rules, whoever writes it (a store, a move, a
 * return, a rack file, an import, aliquots into a box): a specimen that
 * comes into a box, or whose type changes in one, is checked here and the
 * statement refused with the rule's code and the container that set it.
 */
CREATE OR REPLACE FUNCTION bb_specimens_rules_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	refusal jsonb;
BEGIN
	-- Most placements meet no rule at all: a rack of 96 or an import of 10^5 pays a probe each.
	IF NOT bb_rules_anywhere() THEN
		RETURN NULL;
	END IF;
	refusal := bb_rule_refusal(NEW.box_id, NULL, NEW.type, NEW.study_id, NULL,
		jsonb_build_object('specimen', NEW.id,
			'box', (SELECT b.barcode FROM boxes b WHERE b.id = NEW.box_id),
			'position', bb_position_name(NEW.pos_row, NEW.pos_col)));
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

-- Allocation (POST /api/v1/allocations, /allocations/accept) -----------------------

/*
 * The specimens an allocation is for, as ids in the order given: refs (IDs
 * or tube barcodes) within studies, or the registered aliquots of parent.
 * Each must be waiting for a place (registered, or checked out): every
 * other one is refused at once, each naming its field.
 */
CREATE OR REPLACE FUNCTION bb_allocation_specimens(refs text[], parent text, studies bigint[])
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
	ids text[] := '{}';
	errs jsonb := '[]';
	s specimens;
	p specimens;
BEGIN
	IF parent IS NOT NULL THEN
		SELECT * INTO p FROM specimens x
		 WHERE (x.id = parent OR x.tube_barcode = parent) AND (studies IS NULL OR x.study_id = ANY (studies))
		 ORDER BY x.id = parent DESC LIMIT 1;
		IF NOT FOUND THEN
			PERFORM bb_fail('BB400', 'unknown-specimen', 'parent', format('no specimen %s', parent),
				jsonb_build_object('specimen', parent));
		END IF;
		SELECT COALESCE(array_agg(x.id ORDER BY x.serial), '{}') INTO ids FROM specimens x
		 WHERE x.parent_id = p.id AND x.derivation = 'aliquot' AND x.status = 'registered';
		IF cardinality(ids) = 0 THEN
			PERFORM bb_fail('BB409', 'nothing-to-allocate', 'parent',
				format('specimen %s has no aliquots waiting for a place', p.id),
				jsonb_build_object('specimen', p.id));
		END IF;
		RETURN ids;
	END IF;
	FOR i IN 1 .. COALESCE(cardinality(refs), 0) LOOP
		SELECT * INTO s FROM specimens x
		 WHERE (x.id = refs[i] OR x.tube_barcode = refs[i]) AND (studies IS NULL OR x.study_id = ANY (studies))
		 ORDER BY x.id = refs[i] DESC LIMIT 1;
		IF NOT FOUND THEN
			errs := errs || bb_refusal('BB400', 'unknown-specimen', format('specimens[%s]', i - 1),
				format('no specimen %s', refs[i]), jsonb_build_object('item', i - 1, 'specimen', refs[i]));
		ELSIF s.id = ANY (ids) THEN
			errs := errs || bb_refusal('BB400', 'listed-twice', format('specimens[%s]', i - 1),
				format('specimen %s is listed twice', s.id), jsonb_build_object('item', i - 1, 'specimen', s.id));
		ELSIF s.status NOT IN ('registered', 'checked_out') THEN
			errs := errs || bb_refusal('BB409', 'status-forbids', format('specimens[%s]', i - 1),
				format('specimen %s is %s: only a tube waiting for a place is allocated one', s.id, s.status),
				jsonb_build_object('item', i - 1, 'specimen', s.id, 'specimen_status', s.status));
		END IF;
		ids := ids || s.id;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	RETURN ids;
END $$;
COMMENT ON FUNCTION bb_allocation_specimens(text[], text, bigint[]) IS 'The specimens an allocation places (references, or a parent''s registered aliquots), each waiting for a place; every refusal at once.';

/*
 * A proposal: a box and position for every specimen, under the rules, by
 * strategy, among the boxes below loc (NULL: everywhere). Nothing is
 * written (positions are not held): accepting it re-checks every one.
 *  fill-first     boxes with the least free space first, so boxes fill up;
 *  keep-together  a participant's specimens in one box (the fullest that
 *                 takes them all);
 *  split          the specimens of one participant and timepoint dealt in
 *                 turn over at least two freezers, so that one failure does
 *                 not lose them all (one specimen alone goes anywhere);
 *  recent         the boxes that took a tube most recently first.
 * A specimen no box can take under the rules is refused (409 no-room, each
 * named), as is a participant's group that no one box holds (keep-together)
 * or a group for which fewer than two freezers have room (split).
 */
-- Whether the rules of box b accept every "type:study" kind listed (accepts: bb_allocation_propose's map).
CREATE OR REPLACE FUNCTION bb_allocation_ok(accepts jsonb, b bigint, combos text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT bool_and(COALESCE((accepts ->> (b || ':' || c))::boolean, false)) FROM unnest(combos) c;
$$;
COMMENT ON FUNCTION bb_allocation_ok(jsonb, bigint, text[]) IS 'Whether a box''s rules accept every kind of specimen listed, from a map of the answers.';

CREATE OR REPLACE FUNCTION bb_allocation_propose(refs text[], parent text, strategy text, loc bigint,
	studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	ids text[];
	box_ids bigint[];          -- candidate boxes in the strategy's order
	box_freezer bigint[];      -- the freezer (or top location) of each
	free_pos jsonb := '{}';    -- box id -> positions still free, in fill order
	accepts jsonb := '{}';     -- "box:type:study" -> whether the rules accept
	taken jsonb := '[]';       -- the proposal: {specimen, box id, position}
	errs jsonb := '[]';
	g record;
	k integer;
	b bigint;
	chosen bigint;
	key text;
	freezers bigint[];
	members text[];
	n_total integer;
BEGIN
	IF strategy NOT IN ('fill-first', 'keep-together', 'split', 'recent') THEN
		PERFORM bb_fail('BB400', 'value-not-allowed', 'strategy',
			'must be fill-first, keep-together, split or recent');
	END IF;
	PERFORM bb_location_filter(loc);
	ids := bb_allocation_specimens(refs, parent, studies);
	n_total := cardinality(ids);

	-- Candidate boxes: below loc, with a free position, in the strategy's order.
	WITH cand AS (
		SELECT bx.id, bx.barcode, bx.rows * bx.cols - (SELECT count(*) FROM specimens s WHERE s.box_id = bx.id) AS free,
		       (SELECT f.id FROM locations f WHERE f.id = ANY (l.ancestors) AND f.kind = 'freezer'
			 ORDER BY array_position(l.ancestors, f.id) LIMIT 1) AS freezer,
		       l.ancestors[1] AS top,
		       CASE WHEN strategy = 'recent' THEN
			       (SELECT max(e.at) FROM specimens s JOIN events e ON e.specimen_id = s.id
				 WHERE s.box_id = bx.id AND e.to_box = bx.barcode) END AS last_used
		  FROM boxes bx JOIN locations l ON l.id = bx.location_id
		 WHERE loc IS NULL OR l.ancestors @> ARRAY[loc]
	)
	SELECT array_agg(c.id ORDER BY
			CASE WHEN strategy = 'recent' THEN c.last_used END DESC NULLS LAST,
			c.free, c.barcode),
	       array_agg(COALESCE(c.freezer, c.top) ORDER BY
			CASE WHEN strategy = 'recent' THEN c.last_used END DESC NULLS LAST,
			c.free, c.barcode)
	  INTO box_ids, box_freezer
	  FROM cand c WHERE c.free > 0;
	box_ids := COALESCE(box_ids, '{}');

	-- What the rules of each candidate box accept, for each kind (type and study) asked for.
	SELECT COALESCE(jsonb_object_agg(bx.id || ':' || c.type || ':' || c.study_id,
			bb_rule_refusal(bx.id, NULL, c.type, c.study_id, NULL, NULL) IS NULL), '{}')
	  INTO accepts
	  FROM unnest(box_ids) AS bx (id)
	  CROSS JOIN (SELECT DISTINCT s.type, s.study_id FROM specimens s WHERE s.id = ANY (ids)) c;

	-- Free positions, row-major.
	SELECT COALESCE(jsonb_object_agg(f.box_id::text, f.positions), '{}') INTO free_pos FROM (
		SELECT bx.id AS box_id, jsonb_agg(bb_position_name(gr.r, gc.c) ORDER BY gr.r, gc.c) AS positions
		  FROM boxes bx
		  CROSS JOIN LATERAL generate_series(1, bx.rows) AS gr (r)
		  CROSS JOIN LATERAL generate_series(1, bx.cols) AS gc (c)
		 WHERE bx.id = ANY (box_ids)
		   AND NOT EXISTS (SELECT 1 FROM specimens s WHERE s.box_id = bx.id AND s.pos_row = gr.r AND s.pos_col = gc.c)
		 GROUP BY bx.id) f;

	-- The groups placed together: each specimen alone, or a participant's, or a participant's timepoint's.
	FOR g IN
		SELECT array_agg(s.id ORDER BY u.n) AS members,
		       array_agg(DISTINCT s.type || ':' || s.study_id) AS combos,
		       min(p.code) AS participant, min(st.code) AS study, min(s.timepoint) AS timepoint
		  FROM unnest(ids) WITH ORDINALITY AS u (id, n)
		  JOIN specimens s ON s.id = u.id
		  JOIN participants p ON p.id = s.participant_id
		  JOIN studies st ON st.id = s.study_id
		 GROUP BY CASE WHEN strategy = 'keep-together' THEN s.participant_id::text
			       WHEN strategy = 'split' THEN s.participant_id || '/' || s.timepoint
			       ELSE s.id END
		 ORDER BY min(u.n)
	LOOP
		members := g.members;
		IF strategy = 'keep-together' THEN
			chosen := NULL;
			FOR k IN 1 .. cardinality(box_ids) LOOP
				b := box_ids[k];
				IF jsonb_array_length(COALESCE(free_pos -> b::text, '[]')) >= cardinality(members)
				   AND bb_allocation_ok(accepts, b, g.combos) THEN
					chosen := b;
					EXIT;
				END IF;
			END LOOP;
			IF chosen IS NULL THEN
				errs := errs || bb_refusal('BB409', 'no-room', NULL,
					format('no box that the rules allow has room for the %s specimen(s) of participant %s/%s together',
					       cardinality(members), g.study, g.participant),
					jsonb_build_object('specimens', to_jsonb(members), 'participant',
						jsonb_build_object('study', g.study, 'code', g.participant)));
				CONTINUE;
			END IF;
			FOR k IN 1 .. cardinality(members) LOOP
				taken := taken || jsonb_build_object('specimen', members[k], 'box', chosen,
					'position', free_pos -> chosen::text ->> 0);
				free_pos := jsonb_set(free_pos, ARRAY[chosen::text], (free_pos -> chosen::text) - 0);
			END LOOP;
			CONTINUE;
		END IF;
		freezers := '{}';
		IF strategy = 'split' AND cardinality(members) > 1 THEN
			-- The freezers with an accepting box with room, in the order of their first such box.
			FOR k IN 1 .. cardinality(box_ids) LOOP
				b := box_ids[k];
				IF NOT box_freezer[k] = ANY (freezers)
				   AND jsonb_array_length(COALESCE(free_pos -> b::text, '[]')) > 0
				   AND bb_allocation_ok(accepts, b, g.combos) THEN
					freezers := freezers || box_freezer[k];
				END IF;
			END LOOP;
			IF cardinality(freezers) < 2 THEN
				errs := errs || bb_refusal('BB409', 'no-room', NULL,
					format('the %s specimen(s) of %s/%s at %s cannot be split: %s freezer(s) that the rules allow have room',
					       cardinality(members), g.study, g.participant, g.timepoint, cardinality(freezers)),
					jsonb_build_object('specimens', to_jsonb(members), 'participant',
						jsonb_build_object('study', g.study, 'code', g.participant), 'timepoint', g.timepoint));
				CONTINUE;
			END IF;
		END IF;
		FOR k IN 1 .. cardinality(members) LOOP
			chosen := NULL;
			-- split: the k-th specimen goes to the freezer whose turn it is, else any that has room.
			FOR pass IN 1 .. 2 LOOP
				FOR j IN 1 .. cardinality(box_ids) LOOP
					b := box_ids[j];
					IF (pass = 2 OR cardinality(freezers) = 0
					    OR box_freezer[j] = freezers[(k - 1) % cardinality(freezers) + 1])
					   AND jsonb_array_length(COALESCE(free_pos -> b::text, '[]')) > 0
					   AND bb_allocation_ok(accepts, b, (SELECT array_agg(s.type || ':' || s.study_id)
						FROM specimens s WHERE s.id = members[k])) THEN
						chosen := b;
						EXIT;
					END IF;
				END LOOP;
				EXIT WHEN chosen IS NOT NULL;
			END LOOP;
			IF chosen IS NULL THEN
				errs := errs || bb_refusal('BB409', 'no-room', NULL,
					format('no box that the rules allow has a free position for specimen %s', members[k]),
					jsonb_build_object('specimens', jsonb_build_array(members[k])));
				CONTINUE;
			END IF;
			taken := taken || jsonb_build_object('specimen', members[k], 'box', chosen,
				'position', free_pos -> chosen::text ->> 0);
			free_pos := jsonb_set(free_pos, ARRAY[chosen::text], (free_pos -> chosen::text) - 0);
		END LOOP;
	END LOOP;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;

	RETURN (SELECT jsonb_build_object('strategy', strategy, 'location', loc,
		'placements', COALESCE(jsonb_agg(jsonb_build_object('specimen', t.t ->> 'specimen',
			'box', bx.barcode, 'position', t.t ->> 'position',
			'path', l.path || to_jsonb(bx.barcode)) ORDER BY t.n), '[]'),
		'specimens', n_total,
		'boxes', count(DISTINCT bx.id),
		'freezers', count(DISTINCT COALESCE((SELECT f.id FROM locations f
			WHERE f.id = ANY (l.ancestors) AND f.kind = 'freezer' LIMIT 1), l.ancestors[1])))
	  FROM jsonb_array_elements(taken) WITH ORDINALITY AS t (t, n)
	  JOIN boxes bx ON bx.id = (t.t ->> 'box')::bigint
	  JOIN locations l ON l.id = bx.location_id);
END $$;
COMMENT ON FUNCTION bb_allocation_propose(text[], text, text, bigint, bigint[]) IS 'POST /api/v1/allocations: proposes a position for every specimen by strategy under the container rules; writes nothing.';


/*
 * POST /api/v1/allocations/accept: a proposal stored, all or none, in one
 * transaction. The tubes are locked in one order, then every position in
 * one order (the keys bb_box_place uses), so two acceptances racing for a
 * box queue and the later one finds what the first took: every position
 * taken since the proposal (409 position-occupied) and every tube placed
 * or changed since (409 specimen-changed) is named at once. Then each box's
 * share is placed by bb_box_place, with its stored or returned events; the
 * container rules are checked there again (they may have changed since).
 */
CREATE OR REPLACE FUNCTION bb_allocation_accept(refs text[], codes text[], positions text[], studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	errs jsonb;
	g record;
	n integer := COALESCE(cardinality(refs), 0);
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	CREATE TEMP TABLE IF NOT EXISTS pg_temp.alloc_items (i integer, ref text, sid text, status text,
		study_id bigint, code text, box_id bigint, r integer, c integer) ON COMMIT DROP;
	TRUNCATE pg_temp.alloc_items;
	INSERT INTO pg_temp.alloc_items
	SELECT u.i, u.ref, s.id, s.status, s.study_id, u.code, bx.id, p.m[1], p.m[2]
	  FROM unnest(refs, codes, positions) WITH ORDINALITY AS u (ref, code, pos, i)
	  LEFT JOIN LATERAL (SELECT x.* FROM specimens x
		WHERE (x.id = u.ref OR x.tube_barcode = u.ref) AND (studies IS NULL OR x.study_id = ANY (studies))
		ORDER BY x.id = u.ref DESC LIMIT 1) s ON true
	  LEFT JOIN boxes bx ON bx.barcode = u.code
	  LEFT JOIN LATERAL (SELECT ARRAY[ascii(m[1]) - 64, m[2]::integer] AS m
		FROM regexp_match(upper(btrim(u.pos)), '^([A-Z])0*([1-9][0-9]?)$') AS m) p ON true;

	-- What the request itself gets wrong, before anything is locked.
	SELECT jsonb_agg(t.e ORDER BY t.i) INTO errs FROM (
		SELECT a.i, CASE
			WHEN a.sid IS NULL THEN bb_refusal('BB400', 'unknown-specimen', format('placements[%s].specimen', a.i - 1),
				format('no specimen %s', a.ref), jsonb_build_object('item', a.i - 1, 'specimen', a.ref))
			WHEN a.box_id IS NULL THEN bb_refusal('BB400', 'unknown-box', format('placements[%s].box', a.i - 1),
				format('no box has the barcode %s', a.code), jsonb_build_object('item', a.i - 1, 'box', a.code))
			WHEN a.r IS NULL OR a.r > bx.rows OR a.c > bx.cols THEN bb_refusal('BB400', 'position-invalid',
				format('placements[%s].position', a.i - 1),
				format('"%s" is not a position of box %s', positions[a.i], a.code),
				jsonb_build_object('item', a.i - 1, 'box', a.code))
			WHEN count(*) OVER (PARTITION BY a.sid) > 1 AND a.i > min(a.i) OVER (PARTITION BY a.sid) THEN
				bb_refusal('BB400', 'listed-twice', format('placements[%s].specimen', a.i - 1),
				format('specimen %s is listed twice', a.sid), jsonb_build_object('item', a.i - 1, 'specimen', a.sid))
			WHEN count(*) OVER (PARTITION BY a.box_id, a.r, a.c) > 1 AND a.i > min(a.i) OVER (PARTITION BY a.box_id, a.r, a.c) THEN
				bb_refusal('BB400', 'listed-twice', format('placements[%s].position', a.i - 1),
				format('%s of box %s is listed twice', bb_position_name(a.r, a.c), a.code),
				jsonb_build_object('item', a.i - 1, 'box', a.code, 'position', bb_position_name(a.r, a.c)))
			END AS e
		  FROM pg_temp.alloc_items a LEFT JOIN boxes bx ON bx.id = a.box_id) t
	 WHERE t.e IS NOT NULL;
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_each(errs);
	END IF;

	PERFORM 1 FROM specimens x WHERE x.id IN (SELECT a.sid FROM pg_temp.alloc_items a) ORDER BY x.id FOR UPDATE;
	PERFORM pg_advisory_xact_lock(k.b::integer, k.p)
	   FROM (SELECT DISTINCT a.box_id AS b, a.r * 64 + a.c AS p FROM pg_temp.alloc_items a ORDER BY 1, 2) k;

	-- What changed since the proposal, read after the locks.
	SELECT jsonb_agg(t.e ORDER BY t.i) INTO errs FROM (
		SELECT a.i, CASE
			WHEN s.status NOT IN ('registered', 'checked_out') THEN bb_refusal('BB409', 'specimen-changed',
				format('placements[%s].specimen', a.i - 1),
				format('specimen %s is %s now: it was placed or changed since the proposal', s.id, s.status),
				jsonb_build_object('item', a.i - 1, 'specimen', s.id, 'specimen_status', s.status))
			WHEN o.id IS NOT NULL THEN bb_refusal('BB409', 'position-occupied', format('placements[%s].position', a.i - 1),
				format('position %s of box %s was taken since the proposal, by %s', bb_position_name(a.r, a.c), a.code,
				       CASE WHEN studies IS NULL OR o.study_id = ANY (studies) THEN 'specimen ' || o.id
					    ELSE 'a specimen of another study' END),
				jsonb_strip_nulls(jsonb_build_object('item', a.i - 1, 'box', a.code, 'position', bb_position_name(a.r, a.c),
					'occupant', CASE WHEN studies IS NULL OR o.study_id = ANY (studies) THEN o.id END)))
			END AS e
		  FROM pg_temp.alloc_items a
		  JOIN specimens s ON s.id = a.sid
		  LEFT JOIN specimens o ON o.box_id = a.box_id AND o.pos_row = a.r AND o.pos_col = a.c) t
	 WHERE t.e IS NOT NULL;
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_each(errs);
	END IF;

	FOR g IN SELECT a.code, array_agg(bb_position_name(a.r, a.c) ORDER BY a.i) AS pos,
			array_agg(a.sid ORDER BY a.i) AS ids
		   FROM pg_temp.alloc_items a GROUP BY a.code ORDER BY min(a.box_id) LOOP
		PERFORM bb_box_place(g.code, g.pos, g.ids, studies, actor, actor_id);
	END LOOP;
	RETURN (SELECT jsonb_build_object('placed', n, 'boxes', count(DISTINCT a.box_id),
		'placements', jsonb_agg(jsonb_build_object('specimen', a.sid, 'box', a.code,
			'position', bb_position_name(a.r, a.c)) ORDER BY a.i))
		  FROM pg_temp.alloc_items a);
END $$;
COMMENT ON FUNCTION bb_allocation_accept(text[], text[], text[], bigint[], text, bigint) IS 'POST /api/v1/allocations/accept: stores an allocation''s placements all or none, naming every position taken and tube changed since the proposal.';

-- Audit coverage (GET /api/v1/reports/audit-coverage, /metrics) ------------------

/*
 * Every box with the freezer it stands in (or the top of its tree outside
 * freezers) and when a rack scan last verified it: the latest closed audit
 * that has a scan of the box. state: never, stale (not within days) or
 * verified.
 */
CREATE OR REPLACE FUNCTION bb_audit_coverage_rows(days integer)
RETURNS TABLE (unit bigint, box_id bigint, barcode text, last_verified timestamptz, state text)
LANGUAGE sql STABLE AS $$
	WITH verified AS (
		SELECT s.box_id, max(a.closed_at) AS at
		  FROM audits a JOIN audit_scans s ON s.audit_id = a.id
		 WHERE a.status = 'closed' GROUP BY s.box_id
	)
	SELECT COALESCE(f.id, l.ancestors[1]), b.id, b.barcode, v.at,
	       CASE WHEN v.at IS NULL THEN 'never'
		    WHEN v.at < now() - make_interval(days => days) THEN 'stale' ELSE 'verified' END
	  FROM boxes b
	  JOIN locations l ON l.id = b.location_id
	  LEFT JOIN locations f ON f.id = ANY (l.ancestors) AND f.kind = 'freezer'
	  LEFT JOIN verified v ON v.box_id = b.id;
$$;
COMMENT ON FUNCTION bb_audit_coverage_rows(integer) IS 'Every box with its freezer, its last rack-scan verification and whether that is never, stale (older than days) or verified.';

CREATE OR REPLACE FUNCTION bb_audit_coverage_days(v text) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF v IS NULL OR v = '' THEN
		RETURN 365;
	END IF;
	IF v !~ '^[0-9]{1,4}$' OR v::integer NOT BETWEEN 1 AND 3650 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'days',
			format('must be a whole number of days from 1 to 3650, not "%s"', left(v, 40)));
	END IF;
	RETURN v::integer;
END $$;
COMMENT ON FUNCTION bb_audit_coverage_days(text) IS 'The ?days= of the audit-coverage report: 365 when absent, else 1 to 3650 (BB400).';

/*
 * GET /api/v1/reports/audit-coverage?days=N: per freezer, its boxes never
 * verified by a rack-scan audit and those not verified within N days
 * (default 365), counted, and listed oldest first (at most 100 a freezer,
 * unverified_listed says how many are shown).
 */
CREATE OR REPLACE FUNCTION bb_report_audit_coverage(days text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	n integer := bb_audit_coverage_days(days);
	j jsonb;
BEGIN
	WITH r AS (SELECT * FROM bb_audit_coverage_rows(n)),
	per AS (
		SELECT r.unit, count(*) AS boxes,
		       count(*) FILTER (WHERE r.state = 'verified') AS verified,
		       count(*) FILTER (WHERE r.state = 'stale') AS stale,
		       count(*) FILTER (WHERE r.state = 'never') AS never
		  FROM r GROUP BY r.unit
	)
	SELECT jsonb_build_object('days', n, 'as_of', bb_rfc3339(now()),
		'totals', jsonb_build_object('boxes', COALESCE(sum(p.boxes), 0), 'verified', COALESCE(sum(p.verified), 0),
			'stale', COALESCE(sum(p.stale), 0), 'never', COALESCE(sum(p.never), 0)),
		'items', COALESCE(jsonb_agg(jsonb_build_object(
			'location', jsonb_build_object('id', l.id, 'kind', l.kind, 'name', l.name, 'path', l.path),
			'boxes', p.boxes, 'verified', p.verified, 'stale', p.stale, 'never', p.never,
			'unverified_listed', LEAST(p.stale + p.never, 100),
			'unverified', COALESCE((SELECT jsonb_agg(jsonb_build_object('box', x.barcode, 'state', x.state,
					'last_verified', bb_rfc3339(x.last_verified)) ORDER BY x.last_verified NULLS FIRST, x.barcode)
				FROM (SELECT * FROM r WHERE r.unit = p.unit AND r.state <> 'verified'
					ORDER BY r.last_verified NULLS FIRST, r.barcode LIMIT 100) x), '[]'))
			ORDER BY l.path::text), '[]'))
	  INTO j
	  FROM per p JOIN locations l ON l.id = p.unit;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_report_audit_coverage(text) IS 'GET /api/v1/reports/audit-coverage: per freezer, boxes never verified by a rack-scan audit or not within N days.';

-- The same for /metrics: boxes not verified, by freezer and state (never, stale).
CREATE OR REPLACE FUNCTION bb_audit_coverage_gauge(days integer)
RETURNS TABLE (location bigint, freezer text, state text, boxes bigint) LANGUAGE sql STABLE AS $$
	SELECT l.id, l.name, s.state, count(r.box_id)
	  FROM (SELECT DISTINCT unit FROM bb_audit_coverage_rows(days)) u
	  JOIN locations l ON l.id = u.unit
	  CROSS JOIN (VALUES ('never'), ('stale')) AS s (state)
	  LEFT JOIN bb_audit_coverage_rows(days) r ON r.unit = u.unit AND r.state = s.state
	 GROUP BY l.id, l.name, s.state ORDER BY l.id, s.state;
$$;
COMMENT ON FUNCTION bb_audit_coverage_gauge(integer) IS 'Boxes never verified and not verified within days, per freezer, for the /metrics gauge.';
