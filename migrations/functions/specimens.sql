-- functions/specimens.sql — Specimens: IDs, registration, aliquots and
-- derivatives, custody actions, placements, lists and events.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

-- The same algorithm as lib/ids.c: scramble the serial, Crockford base-32,
-- Luhn mod 32 check; serials that would put 0 and Z side by side are skipped.
-- "no specimen X", said the same way wherever a reference finds nothing visible.
CREATE OR REPLACE FUNCTION bb_fail_no_specimen(ref text) RETURNS void LANGUAGE sql AS $$
	SELECT bb_fail('BB404', 'specimen-not-found', NULL, format('no specimen %s', ref),
		jsonb_build_object('specimen', ref));
$$;
COMMENT ON FUNCTION bb_fail_no_specimen(text) IS 'Raises BB404 specimen-not-found for a reference that names no specimen the caller may see.';

-- The specimen a URL's reference names for a caller: every read of one tube
-- (its FHIR resource, label, events, exposure) finds it this one way.
CREATE OR REPLACE FUNCTION bb_specimen_visible(ref text, studies bigint[]) RETURNS specimens
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s specimens;
BEGIN
	SELECT * INTO s FROM specimens x
	 WHERE x.id = (SELECT y.id FROM specimens y WHERE y.id = ref
		       UNION ALL SELECT y.id FROM specimens y WHERE y.tube_barcode = ref LIMIT 1)
	   AND (studies IS NULL OR x.study_id = ANY (studies));
	IF NOT FOUND THEN
		PERFORM bb_fail_no_specimen(ref);
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION bb_specimen_visible(text, bigint[]) IS 'The specimen an ID or tube barcode names within the given studies (NULL: all); BB404 specimen-not-found otherwise.';

CREATE OR REPLACE FUNCTION bb_id_for_serial(serial bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
	v numeric := (serial::numeric * 21235486155) % 34359738368;
	body text := '';
	sum integer := 0;
	d integer;
	dbl boolean := true;
	id text;
BEGIN
	FOR i IN 1..7 LOOP
		body := substr(alphabet, (v % 32)::integer + 1, 1) || body;
		v := floor(v / 32);
	END LOOP;
	FOR i IN REVERSE 7..1 LOOP
		d := strpos(alphabet, substr(body, i, 1)) - 1;
		IF dbl THEN
			d := d * 2;
			d := d / 32 + d % 32;
		END IF;
		sum := sum + d;
		dbl := NOT dbl;
	END LOOP;
	id := body || substr(alphabet, (32 - sum % 32) % 32 + 1, 1);
	IF id ~ '(0Z|Z0)' THEN
		RETURN NULL;
	END IF;
	RETURN id;
END $$;
COMMENT ON FUNCTION bb_id_for_serial(bigint) IS 'The specimen ID of a serial, or NULL for a serial never issued.';

CREATE OR REPLACE FUNCTION bb_new_specimen_id(OUT id text, OUT serial bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	LOOP
		serial := nextval('specimen_serial');
		id := bb_id_for_serial(serial);
		EXIT WHEN id IS NOT NULL;
	END LOOP;
END $$;
COMMENT ON FUNCTION bb_new_specimen_id() IS 'Issues the next specimen ID.';

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
		-- Issue 17: only when it has them, so that a specimen without reads as it always has.
		|| jsonb_strip_nulls(jsonb_build_object('sprec', s.sprec, 'protocol_version', s.protocol_version))
		-- Issue 18: the limits of its type the tube is past, only when there are some.
		|| jsonb_strip_nulls(jsonb_build_object('flags', bb_specimen_flags(s)))
	  FROM participants p JOIN studies st ON st.id = p.study_id
	  LEFT JOIN boxes b ON b.id = s.box_id
	 WHERE p.id = s.participant_id);
END $$;
COMMENT ON FUNCTION bb_specimen_json(specimens) IS 'A specimen as the API shows it (PL/pgSQL: its plan is kept).';

-- Find and lock a specimen by ID or tube barcode, within the caller's studies.
CREATE OR REPLACE FUNCTION bb_specimen_lock(ref text, studies bigint[]) RETURNS specimens
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s specimens;
BEGIN
	SELECT * INTO s FROM specimens WHERE id = ref FOR UPDATE;
	IF NOT FOUND THEN
		SELECT * INTO s FROM specimens WHERE tube_barcode = ref FOR UPDATE;
	END IF;
	IF s.id IS NULL OR (studies IS NOT NULL AND NOT s.study_id = ANY (studies)) THEN
		PERFORM bb_fail_no_specimen(ref);
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION bb_specimen_lock(text, bigint[]) IS 'The specimen with this ID or tube barcode, locked; BB404 outside the given studies.';

/*
 * Two moves that cross each other's positions (A into B's place while B goes
 * into A's) would wait on each other in the position index until PostgreSQL
 * breaks the deadlock a second later. Taking a lock on every position a
 * change touches, in one global order, before changing anything makes them
 * queue instead. Keys are (box, row * 64 + column).
 */
CREATE OR REPLACE FUNCTION bb_lock_positions(boxes_ bigint[], rows_ integer[], cols_ integer[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	k record;
BEGIN
	FOR k IN SELECT DISTINCT b, r * 64 + c AS p
		   FROM unnest(boxes_, rows_, cols_) AS u (b, r, c)
		  WHERE b IS NOT NULL ORDER BY 1, 2 LOOP
		PERFORM pg_advisory_xact_lock(k.b::integer, k.p);
	END LOOP;
END $$;
COMMENT ON FUNCTION bb_lock_positions(bigint[], integer[], integer[]) IS 'Locks box positions for the transaction, in one order for every caller.';

-- Put a locked specimen into a position, naming the occupant when it is taken.
CREATE OR REPLACE FUNCTION bb_specimen_place(s specimens, b boxes, r integer, c integer, new_status text,
	studies bigint[]) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	occupant specimens;
BEGIN
	SELECT * INTO occupant FROM specimens
	 WHERE box_id = b.id AND pos_row = r AND pos_col = c AND id <> s.id;
	IF FOUND THEN
		PERFORM bb_fail('BB409', 'position-occupied', NULL,
			format('position %s of box %s is taken by %s', bb_position_name(r, c), b.barcode,
				CASE WHEN studies IS NULL OR occupant.study_id = ANY (studies)
				     THEN 'specimen ' || occupant.id ELSE 'a specimen of another study' END),
			jsonb_build_object('box', b.barcode, 'position', bb_position_name(r, c),
				'occupant', CASE WHEN studies IS NULL OR occupant.study_id = ANY (studies)
						 THEN occupant.id END));
	END IF;
	BEGIN
		UPDATE specimens SET box_id = b.id, pos_row = r, pos_col = c, status = new_status
		 WHERE id = s.id;
	EXCEPTION WHEN unique_violation THEN
		-- Another transaction took the position between our look and our write.
		SELECT * INTO occupant FROM specimens
		 WHERE box_id = b.id AND pos_row = r AND pos_col = c;
		PERFORM bb_fail('BB409', 'position-occupied', NULL,
			format('position %s of box %s is taken by %s', bb_position_name(r, c), b.barcode,
				CASE WHEN occupant.id IS NULL THEN 'another specimen'
				     WHEN studies IS NULL OR occupant.study_id = ANY (studies)
				     THEN 'specimen ' || occupant.id ELSE 'a specimen of another study' END),
			jsonb_build_object('box', b.barcode, 'position', bb_position_name(r, c),
				'occupant', CASE WHEN studies IS NULL OR occupant.study_id = ANY (studies)
						 THEN occupant.id END));
	END;
END $$;
COMMENT ON FUNCTION bb_specimen_place(specimens, boxes, integer, integer, text, bigint[]) IS 'Stores a locked specimen at a position; BB409 naming the occupant if taken.';

-- Which statuses each action may start from (DESIGN.md's state machine).
CREATE OR REPLACE FUNCTION bb_action_allowed(action text, status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE action
		WHEN 'store' THEN status = 'registered'
		WHEN 'move' THEN status = 'in_storage'
		WHEN 'checkout' THEN status = 'in_storage'
		WHEN 'return' THEN status = 'checked_out'
		WHEN 'consume' THEN status IN ('registered', 'in_storage', 'checked_out')
		WHEN 'destroy' THEN status IN ('registered', 'in_storage', 'checked_out', 'lost')
		WHEN 'lost' THEN status IN ('registered', 'in_storage', 'checked_out')
		WHEN 'found' THEN status = 'lost'
		ELSE false END;
$$;
COMMENT ON FUNCTION bb_action_allowed(text, text) IS 'True when a specimen in status may undergo action.';

/*
 * What withdrawn biobank consent forbids (docs/consent.md): every use of the
 * material (checkout, consume, aliquot, derive, ship — adding to a draft
 * shipment reserves the tube for it). Keeping, moving, returning,
 * accounting for and destroying the tube stay allowed: the tube must stay
 * findable until the destruction workflow takes it.
 */
CREATE OR REPLACE FUNCTION bb_consent_blocks(action text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT action IN ('checkout', 'consume', 'aliquot', 'derive', 'ship');
$$;
COMMENT ON FUNCTION bb_consent_blocks(text) IS 'True for the actions that withdrawn biobank consent forbids (docs/consent.md).';

CREATE OR REPLACE FUNCTION bb_consent_check(s specimens, action text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF s.consent_withdrawn AND bb_consent_blocks(action) THEN
		PERFORM bb_fail('BB409', 'consent-withdrawn', NULL,
			format('specimen %s may not be used (%s): its donor withdrew biobank consent', s.id, action),
			jsonb_build_object('specimen', s.id, 'action', action));
	END IF;
END $$;
COMMENT ON FUNCTION bb_consent_check(specimens, text) IS 'Raises BB409 consent-withdrawn when the specimen''s donor withdrew biobank consent and the action uses the material.';

/*
 * Units that convert: volumes to microlitres, masses to micrograms. Any
 * other unit (cells, a count, ...) is its own dimension and compares only
 * with itself. µ is accepted as the micro sign (U+00B5), the Greek mu
 * (U+03BC) or u.
 */
CREATE OR REPLACE FUNCTION bb_unit_scale(unit text, OUT dimension text, OUT factor numeric)
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE WHEN u IN ('l', 'ml', 'ul') THEN 'volume' WHEN u IN ('g', 'mg', 'ug', 'ng') THEN 'mass'
		    ELSE 'unit:' || unit END,
	       CASE u WHEN 'l' THEN 1000000 WHEN 'ml' THEN 1000 WHEN 'ul' THEN 1
		      WHEN 'g' THEN 1000000 WHEN 'mg' THEN 1000 WHEN 'ug' THEN 1 WHEN 'ng' THEN 0.001
		      ELSE 1 END
	  FROM (SELECT lower(translate(btrim(unit), 'µμ', 'uu')) AS u) x;
$$;
COMMENT ON FUNCTION bb_unit_scale(text) IS 'The dimension of a unit (volume, mass, or the unit itself) and its factor to microlitres or micrograms.';

CREATE OR REPLACE FUNCTION bb_quantity_in(value numeric, unit text, to_unit text) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT value * f.factor / t.factor FROM bb_unit_scale(unit) f, bb_unit_scale(to_unit) t
	 WHERE f.dimension = t.dimension;
$$;
COMMENT ON FUNCTION bb_quantity_in(numeric, text, text) IS 'value in unit expressed in to_unit; NULL when the units do not compare (mL and ug, cells and mL).';

-- The refusal of a take of more than a specimen holds, with what it has left.
CREATE OR REPLACE FUNCTION bb_quantity_refuse(s specimens, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM bb_fail('BB409', 'quantity-insufficient', NULL,
		format('specimen %s holds %s %s, not enough for %s', s.id, trim_scale(s.quantity), s.unit, what),
		jsonb_build_object('specimen', s.id, 'remaining', trim_scale(s.quantity), 'unit', s.unit));
END $$;
COMMENT ON FUNCTION bb_quantity_refuse(specimens, text) IS 'Raises BB409 quantity-insufficient with the specimen, what remains and its unit.';

/*
 * A tube whose material was all taken (aliquoted, derived or used down to
 * nothing) is an empty tube: it is marked consumed, leaving its position,
 * with a consumed event saying why, after the event of the take. Storing
 * an empty tube would show material that is not there (docs/consent.md,
 * "Quantities").
 */
CREATE OR REPLACE FUNCTION bb_specimen_exhaust(ref text, why text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s specimens;
	old_box text;
BEGIN
	SELECT * INTO s FROM specimens WHERE id = ref;
	IF s.quantity IS DISTINCT FROM 0 OR s.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
		RETURN;
	END IF;
	SELECT barcode INTO old_box FROM boxes WHERE id = s.box_id;
	UPDATE specimens SET status = 'consumed', box_id = NULL, pos_row = NULL, pos_col = NULL
	 WHERE id = s.id;
	INSERT INTO events (specimen_id, type, from_box, from_pos, reason, details)
	VALUES (s.id, 'consumed', old_box, bb_position_name(s.pos_row, s.pos_col), why,
		jsonb_build_object('exhausted', true));
END $$;
COMMENT ON FUNCTION bb_specimen_exhaust(text, text) IS 'Marks a specimen left with 0 of its quantity consumed (position freed, consumed event); does nothing otherwise.';

/*
 * One custody action on one specimen, in one statement (one round trip):
 * lock, check the state machine and consent, change the state, write the
 * event. Returns the specimen as the API shows it. qty (in qty_unit) is the
 * part of the tube a consume uses: less than it holds leaves the rest where
 * it is with a 'used' event; all of it, or no qty, consumes the tube.
 */
DROP FUNCTION IF EXISTS bb_specimen_act(text, text, bigint[], text, bigint, text, text, text, text, text, boolean);
CREATE OR REPLACE FUNCTION bb_specimen_act(action text, ref text, studies bigint[], actor text,
	actor_id bigint, box text, pos text, from_box text, from_pos text, reason text,
	thawed boolean, qty numeric DEFAULT NULL, qty_unit text DEFAULT NULL) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s specimens;
	b boxes;
	old_box text;
	old_pos text;
	r integer;
	c integer;
	new_status text;
	ev text;
	details jsonb := '{}';
	used numeric;
	left_over numeric;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_specimen_lock(ref, studies);
	IF NOT bb_action_allowed(action, s.status) THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s is %s, which does not allow %s', s.id, s.status, action),
			jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', action));
	END IF;
	PERFORM bb_consent_check(s, action);
	-- An empty tube (left at 0 before empty tubes were consumed) holds nothing to keep.
	IF action IN ('store', 'move', 'return', 'found') AND s.quantity = 0 THEN
		PERFORM bb_fail('BB409', 'quantity-exhausted', NULL,
			format('specimen %s holds 0 %s: an empty tube is not stored (consume or destroy it)', s.id, s.unit),
			jsonb_build_object('specimen', s.id, 'remaining', 0, 'unit', s.unit));
	END IF;
	IF s.box_id IS NOT NULL THEN
		SELECT barcode INTO old_box FROM boxes WHERE id = s.box_id;
		old_pos := bb_position_name(s.pos_row, s.pos_col);
	END IF;
	IF action = 'move' AND from_box IS NOT NULL THEN
		IF old_box IS DISTINCT FROM from_box
		   OR old_pos IS DISTINCT FROM (SELECT bb_position_name(p.r, p.c)
						  FROM bb_parse_position(from_pos, 26, 48) p) THEN
			PERFORM bb_fail('BB409', 'specimen-moved', NULL,
				format('specimen %s is no longer at %s %s: it is at %s %s', s.id, from_box, from_pos, COALESCE(old_box, '(nowhere)'), COALESCE(old_pos, '')),
				jsonb_build_object('specimen', s.id, 'box', old_box, 'position', old_pos));
		END IF;
	END IF;

	new_status := CASE action
		WHEN 'store' THEN 'in_storage' WHEN 'move' THEN 'in_storage'
		WHEN 'return' THEN 'in_storage' WHEN 'found' THEN 'in_storage'
		WHEN 'checkout' THEN 'checked_out' WHEN 'consume' THEN 'consumed'
		WHEN 'destroy' THEN 'destroyed' WHEN 'lost' THEN 'lost' END;
	ev := CASE action
		WHEN 'store' THEN 'stored' WHEN 'move' THEN 'moved' WHEN 'return' THEN 'returned'
		WHEN 'found' THEN 'found' WHEN 'checkout' THEN 'checked_out'
		WHEN 'consume' THEN 'consumed' WHEN 'destroy' THEN 'destroyed' WHEN 'lost' THEN 'lost' END;

	IF action = 'consume' AND qty IS NOT NULL THEN
		IF qty <= 0 THEN
			PERFORM bb_fail('BB400', 'value-out-of-range', 'quantity.value',
				'must be more than 0 (consume without a quantity to use up the tube)');
		END IF;
		details := jsonb_build_object('quantity', jsonb_build_object('value', trim_scale(qty), 'unit', qty_unit));
		IF s.quantity IS NOT NULL THEN
			used := bb_quantity_in(qty, qty_unit, s.unit);
			IF used IS NULL THEN
				PERFORM bb_fail('BB400', 'unit-mismatch', 'quantity.unit',
					format('must be a unit of the same kind as %s, the unit of specimen %s', s.unit, s.id),
					jsonb_build_object('specimen', s.id, 'unit', s.unit));
			END IF;
			IF used > s.quantity THEN
				PERFORM bb_quantity_refuse(s, format('using %s %s', trim_scale(qty), qty_unit));
			END IF;
			left_over := s.quantity - used;
			details := details || jsonb_build_object('remaining',
				jsonb_build_object('value', trim_scale(left_over), 'unit', s.unit));
		END IF;
		-- Part of the tube (or of a tube of unknown quantity): it stays as it is, with the rest.
		IF left_over IS NULL OR left_over > 0 THEN
			UPDATE specimens SET quantity = COALESCE(left_over, quantity) WHERE id = s.id;
			INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
			VALUES (s.id, 'used', actor, actor_id, reason, details);
			RETURN (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = s.id);
		END IF;
	END IF;

	IF new_status = 'in_storage' THEN
		b := bb_box_find(box);
		SELECT p.r, p.c INTO r, c FROM bb_parse_position(pos, b.rows, b.cols) p;
		IF action = 'move' AND b.id = s.box_id AND r = s.pos_row AND c = s.pos_col THEN
			PERFORM bb_fail('BB409', 'already-there', NULL,
				format('specimen %s is already at %s %s', s.id, b.barcode, bb_position_name(r, c)),
				jsonb_build_object('specimen', s.id, 'box', b.barcode, 'position', bb_position_name(r, c)));
		END IF;
		PERFORM bb_lock_positions(ARRAY[s.box_id, b.id], ARRAY[s.pos_row, r], ARRAY[s.pos_col, c]);
		PERFORM bb_specimen_place(s, b, r, c, new_status, studies);
	ELSE
		UPDATE specimens SET status = new_status, box_id = NULL, pos_row = NULL, pos_col = NULL,
			quantity = CASE WHEN left_over IS NOT NULL THEN left_over ELSE quantity END
		 WHERE id = s.id;
	END IF;
	IF action = 'return' AND thawed THEN
		UPDATE specimens SET freeze_thaw_count = freeze_thaw_count + 1 WHERE id = s.id;
	END IF;
	IF action = 'return' THEN
		details := jsonb_build_object('thawed', COALESCE(thawed, false));
	END IF;
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, to_box, to_pos,
		reason, details)
	VALUES (s.id, ev, actor, actor_id, old_box, old_pos, b.barcode, bb_position_name(r, c),
		reason, details);
	RETURN (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = s.id);
END $$;
COMMENT ON FUNCTION bb_specimen_act(text, text, bigint[], text, bigint, text, text, text, text, text, boolean, numeric, text)
	IS 'Store, move, checkout, return, consume (all or, with qty, part), destroy, lost or found: state change and its event in one statement.';

-- N aliquots of a locked parent: same material, quantity given (in each_unit) or split evenly.
DROP FUNCTION IF EXISTS bb_make_aliquots(specimens, integer, numeric, text[]);
CREATE OR REPLACE FUNCTION bb_make_aliquots(parent specimens, n integer, each_qty numeric, each_unit text,
	barcodes text[]) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	q numeric;
	q_unit text := parent.unit;
	taken numeric;
	child_id text;
	child_serial bigint;
	children jsonb := '[]';
	ids text[] := '{}';
BEGIN
	IF n < 1 OR n > 500 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'count',
			'must be between 1 and 500');
	END IF;
	IF parent.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s is %s: it cannot be aliquoted', parent.id, parent.status),
			jsonb_build_object('specimen', parent.id, 'specimen_status', parent.status, 'action', 'aliquot'));
	END IF;
	PERFORM bb_consent_check(parent, 'aliquot');
	IF each_qty IS NOT NULL THEN
		q := each_qty;
		q_unit := COALESCE(each_unit, parent.unit);
		IF parent.quantity IS NOT NULL THEN
			-- Aliquots are the parent's own material: their unit must compare with its unit.
			taken := bb_quantity_in(q * n, q_unit, parent.unit);
			IF taken IS NULL THEN
				PERFORM bb_fail('BB400', 'unit-mismatch', 'quantity.unit',
					format('must be a unit of the same kind as %s, the unit of specimen %s', parent.unit, parent.id),
					jsonb_build_object('specimen', parent.id, 'unit', parent.unit));
			END IF;
			IF taken > parent.quantity THEN
				PERFORM bb_quantity_refuse(parent, format('%s aliquots of %s %s', n, trim_scale(q), q_unit));
			END IF;
		END IF;
	ELSIF parent.quantity IS NOT NULL THEN
		q := trunc(parent.quantity / n, 3);
		taken := q * n;
	END IF;
	FOR i IN 1..n LOOP
		SELECT id, serial INTO child_id, child_serial FROM bb_new_specimen_id();
		INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint,
			collected_at, quantity, unit, parent_id, derivation, tube_barcode, notes)
		VALUES (child_id, child_serial, parent.study_id, parent.participant_id, parent.type,
			parent.timepoint, parent.collected_at, q, CASE WHEN q IS NULL THEN parent.unit ELSE q_unit END,
			parent.id, 'aliquot', barcodes[i], NULL);
		INSERT INTO events (specimen_id, type, details)
		VALUES (child_id, 'registered', jsonb_build_object('parent', parent.id, 'derivation', 'aliquot'));
		ids := ids || child_id;
	END LOOP;
	IF taken IS NOT NULL THEN
		UPDATE specimens SET quantity = quantity - taken WHERE id = parent.id;
	END IF;
	INSERT INTO events (specimen_id, type, details)
	VALUES (parent.id, 'aliquoted', jsonb_build_object('children', to_jsonb(ids), 'count', n,
		'quantity_each', q) || CASE WHEN q IS NULL THEN '{}'::jsonb
			ELSE jsonb_build_object('unit', q_unit) END);
	PERFORM bb_specimen_exhaust(parent.id, 'all of it aliquoted');
	SELECT COALESCE(jsonb_agg(bb_specimen_json(s) ORDER BY s.serial), '[]') INTO children
	  FROM specimens s WHERE s.id = ANY (ids);
	RETURN children;
END $$;
COMMENT ON FUNCTION bb_make_aliquots(specimens, integer, numeric, text, text[]) IS 'Registers n aliquots of a locked parent, with their events, taking their quantity from it (an emptied parent is consumed); returns them as JSON.';

/*
 * One spelling per timepoint, so that "M12", "m12 " and "month 12" are one
 * row of the inventory (docs/api.md, "Timepoints"): blanks around it removed;
 * the labels of the vocabulary (baseline, flare, m<N>, y<N>) in lower case;
 * "month <N>" and "year <N>" (any case, blanks between) written m<N>, y<N>.
 * Anything else is the site's own label and is kept as typed. 0017 applied
 * the same rule to the rows stored before.
 */
CREATE OR REPLACE FUNCTION bb_timepoint(tp text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE WHEN lower(t) IN ('baseline', 'flare') THEN lower(t)
		    WHEN lower(t) ~ '^(m|month|y|year) *[0-9]{1,3}$'
		    THEN left(lower(t), 1) || substring(t FROM '[0-9]+$')
		    ELSE t END
	  FROM (SELECT btrim(tp, E' \t\r\n\x0B\f') AS t) x;
$$;
COMMENT ON FUNCTION bb_timepoint(text) IS 'A timepoint in its one stored spelling: trimmed, baseline/flare/m<N>/y<N> lower-case, month <N> as m<N>, year <N> as y<N>.';

CREATE OR REPLACE FUNCTION bb_specimen_register(study text, participant text, type text, timepoint text,
	collected_at timestamptz, qty numeric, unit text, tube_barcode text, notes text,
	aliquots integer, aliquot_barcodes text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	p participants;
	new_id text;
	new_serial bigint;
	s specimens;
	out jsonb;
	made jsonb;
	taken text;
	errs jsonb := '[]';
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	-- Every slip of the form at once, in the form's order: one correction round.
	SELECT pt.* INTO p FROM participants pt JOIN studies st ON st.id = pt.study_id
	 WHERE st.code = study AND pt.code = participant;
	IF NOT FOUND OR (studies IS NOT NULL AND NOT p.study_id = ANY (studies)) THEN
		p := NULL;
		errs := errs || bb_refusal('BB400', 'unknown-participant', 'participant.code',
			format('no participant %s in study %s', participant, study),
			jsonb_build_object('participant', participant, 'study', study));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = bb_specimen_register.type) THEN
		errs := errs || bb_refusal('BB400', 'unknown-specimen-type', 'type',
			format('%s is not a specimen type', type),
			jsonb_build_object('specimen_type', type));
	END IF;
	IF p.id IS NOT NULL AND bb_consent_withdrawn(p.id) THEN
		errs := errs || bb_refusal('BB409', 'consent-withdrawn', 'participant.code',
			format('participant %s withdrew biobank consent: no new specimens', participant),
			jsonb_build_object('participant', participant));
	END IF;
	IF tube_barcode IS NOT NULL THEN
		-- The tube that has it is named only to those who may see it.
		SELECT CASE WHEN studies IS NULL OR x.study_id = ANY (studies) THEN x.id END INTO taken
		  FROM specimens x WHERE x.tube_barcode = bb_specimen_register.tube_barcode;
		IF FOUND THEN
			errs := errs || bb_refusal('BB409', 'already-exists', 'tube_barcode',
				format('tube barcode %s is already %s', tube_barcode,
				       COALESCE('specimen ' || taken, 'on a tube of another study')),
				jsonb_strip_nulls(jsonb_build_object('tube_barcode', tube_barcode, 'specimen', taken)));
		END IF;
	END IF;
	-- Five minutes of slack for a bench clock a little ahead of ours (as received_at).
	IF collected_at > clock_timestamp() + interval '5 minutes' THEN
		errs := errs || bb_refusal('BB400', 'date-out-of-range', 'collected_at',
			format('%s is in the future', bb_rfc3339(collected_at)));
	-- Nothing is collected from someone before their birth (year, in the
	-- earliest time zone); without a birth year, before 1900.
	ELSIF collected_at < make_timestamptz(COALESCE(p.birth_year, 1900), 1, 1, 0, 0, 0, '+14') THEN
		errs := errs || bb_refusal('BB400', 'date-out-of-range', 'collected_at',
			CASE WHEN p.birth_year IS NULL THEN 'must not be before 1900'
			     ELSE format('%s is before the birth year of participant %s (%s)',
					 bb_rfc3339(collected_at), p.code, p.birth_year) END,
			jsonb_strip_nulls(jsonb_build_object('participant', p.code, 'birth_year', p.birth_year)));
	END IF;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	timepoint := bb_timepoint(timepoint);
	SELECT id, serial INTO new_id, new_serial FROM bb_new_specimen_id();
	INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, collected_at,
		quantity, unit, tube_barcode, notes)
	VALUES (new_id, new_serial, p.study_id, p.id, type, timepoint, collected_at, qty, unit,
		tube_barcode, notes)
	RETURNING * INTO s;
	INSERT INTO events (specimen_id, type, details)
	VALUES (new_id, 'registered', jsonb_build_object('study', study, 'participant', participant));
	out := bb_specimen_json(s);
	IF aliquots IS NOT NULL AND aliquots > 0 THEN
		SELECT * INTO s FROM specimens WHERE id = new_id FOR UPDATE;
		made := bb_make_aliquots(s, aliquots, NULL, NULL, aliquot_barcodes);
		-- The parent as the aliquots left it (its quantity, consumed when they took all of it).
		out := (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = new_id)
			|| jsonb_build_object('aliquots', made);
	END IF;
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_specimen_register(text, text, text, text, timestamptz, numeric, text, text, text, integer, text[], bigint[], text, bigint)
	IS 'Registers a collection (and its aliquots) with their events in one statement.';

CREATE OR REPLACE FUNCTION bb_specimen_aliquot(ref text, n integer, each_qty numeric, each_unit text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	parent specimens;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	parent := bb_specimen_lock(ref, studies);
	RETURN jsonb_build_object('items', bb_make_aliquots(parent, n, each_qty, each_unit, NULL));
END $$;
COMMENT ON FUNCTION bb_specimen_aliquot(text, integer, numeric, text, bigint[], text, bigint) IS 'Aliquots an existing specimen.';

/*
 * A derivative takes its quantity from the parent when the two compare (50
 * mL of plasma out of a 10 mL tube is refused); one in another kind of unit
 * (DNA in ug from PBMC in mL) cannot be weighed against the parent: then
 * nothing is checked or taken, and the parent's derived event says so.
 */
CREATE OR REPLACE FUNCTION bb_specimen_derive(ref text, new_type text, qty numeric, unit text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	parent specimens;
	child_id text;
	child_serial bigint;
	taken numeric;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	parent := bb_specimen_lock(ref, studies);
	IF parent.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s is %s: nothing can be derived from it', parent.id, parent.status),
			jsonb_build_object('specimen', parent.id, 'specimen_status', parent.status, 'action', 'derive'));
	END IF;
	PERFORM bb_consent_check(parent, 'derive');
	IF NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = new_type) THEN
		PERFORM bb_fail('BB400', 'unknown-specimen-type', 'type',
			format('%s is not a specimen type', new_type),
			jsonb_build_object('specimen_type', new_type));
	END IF;
	IF qty IS NOT NULL AND parent.quantity IS NOT NULL THEN
		taken := bb_quantity_in(qty, unit, parent.unit);
		IF taken > parent.quantity THEN
			PERFORM bb_quantity_refuse(parent, format('a derivative of %s %s', trim_scale(qty), unit));
		END IF;
	END IF;
	SELECT id, serial INTO child_id, child_serial FROM bb_new_specimen_id();
	INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, collected_at,
		quantity, unit, parent_id, derivation)
	VALUES (child_id, child_serial, parent.study_id, parent.participant_id, new_type,
		parent.timepoint, parent.collected_at, qty, unit, parent.id, 'derivative');
	INSERT INTO events (specimen_id, type, details)
	VALUES (child_id, 'registered', jsonb_build_object('parent', parent.id, 'derivation', 'derivative'));
	IF taken IS NOT NULL THEN
		UPDATE specimens SET quantity = quantity - taken WHERE id = parent.id;
	END IF;
	INSERT INTO events (specimen_id, type, details)
	VALUES (parent.id, 'derived', jsonb_build_object('child', child_id, 'type', new_type)
		|| CASE WHEN taken IS NOT NULL THEN jsonb_build_object('quantity_taken',
			jsonb_build_object('value', trim_scale(taken), 'unit', parent.unit))
		   WHEN qty IS NOT NULL AND parent.quantity IS NOT NULL THEN
			jsonb_build_object('quantity_taken', NULL)
		   ELSE '{}'::jsonb END);
	PERFORM bb_specimen_exhaust(parent.id, 'all of it derived');
	RETURN (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = child_id);
END $$;
COMMENT ON FUNCTION bb_specimen_derive(text, text, numeric, text, bigint[], text, bigint) IS 'Derives a specimen of another type (e.g. DNA from PBMC).';

-- Biobank consent stands unless the participant's latest biobank decision withdrew it.
CREATE OR REPLACE FUNCTION bb_consent_withdrawn(participant bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT status = 'withdrawn' FROM consents
			  WHERE participant_id = participant AND scope = 'biobank'
			  ORDER BY recorded_at DESC, id DESC LIMIT 1), false);
$$;
COMMENT ON FUNCTION bb_consent_withdrawn(bigint) IS 'True when the participant''s biobank consent is withdrawn.';

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

CREATE OR REPLACE FUNCTION bb_specimen_get(ref text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb := bb_specimen_find_json(ref, studies);
BEGIN
	IF j IS NULL THEN
		PERFORM bb_fail_no_specimen(ref);
	END IF;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_specimen_get(text, bigint[]) IS 'As bb_specimen_find_json, raising BB404 when there is none.';

CREATE OR REPLACE FUNCTION bb_specimen_events(ref text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	s specimens := bb_specimen_visible(ref, studies);
BEGIN
	RETURN jsonb_build_object('specimen', s.id, 'items', COALESCE((
		SELECT jsonb_agg(jsonb_build_object(
			'seq', e.seq, 'type', e.type, 'at', bb_rfc3339(e.at), 'actor', e.actor,
			'from', CASE WHEN e.from_box IS NULL THEN NULL ELSE
				jsonb_build_object('box', e.from_box, 'position', e.from_pos) END,
			'to', CASE WHEN e.to_box IS NULL THEN NULL ELSE
				jsonb_build_object('box', e.to_box, 'position', e.to_pos) END,
			'reason', e.reason, 'details', e.details,
			'prev_hash', encode(e.prev_hash, 'hex'), 'hash', encode(e.hash, 'hex'))
			ORDER BY e.seq)
		  FROM events e WHERE e.specimen_id = s.id), '[]'))
		-- Issue 18: the excursions it lived through, derived from where it was (only when any).
		|| jsonb_strip_nulls(jsonb_build_object('exposures', bb_tube_exposures_json(s.id)));
END $$;
COMMENT ON FUNCTION bb_specimen_events(text, bigint[]) IS 'A specimen''s custody events, oldest first, with their hashes.';

-- Corrections and entries in error ---------------------------------------

/*
 * A correction of what was recorded wrongly (docs/api.md, "Corrections"):
 * the new value replaces the old in the specimens row, and one corrected
 * event keeps both ({"before": {...}, "after": {...}}, only the fields that
 * change) with the reason given, in the same statement: the original stays
 * readable in the ledger (21 CFR 11.10(e)). NULL means "not corrected";
 * notes '' clears the notes. expected_seq, when given, is the ledger_seq
 * the client saw: a specimen that has had an event since is refused
 * (specimen-changed) rather than corrected on a stale view.
 *
 * Timepoint and collection time are of the collection, and an aliquot's
 * type is its parent's: they are corrected on the collection and follow
 * down its lineage (each descendant gets its own corrected event naming
 * the specimen corrected), never on a child alone. The quantity is what
 * the tube holds now: the children took theirs already and do not bound
 * it; a tube no longer held (consumed, shipped, ...) keeps the quantity it
 * had, and 0 is not a correction but a consume.
 */
CREATE OR REPLACE FUNCTION bb_specimen_correct(ref text, new_type text, new_timepoint text,
	new_collected_at timestamptz, new_qty numeric, new_unit text, new_notes text, reason text,
	expected_seq integer, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s specimens;
	p participants;
	errs jsonb := '[]';
	before jsonb := '{}';
	after jsonb := '{}';
	lineage jsonb := '{}';
	d record;
	d_before jsonb;
	d_after jsonb;
	notes_given boolean := new_notes IS NOT NULL;
BEGIN
	IF num_nonnulls(new_type, new_timepoint, new_collected_at, new_qty, new_notes) = 0 THEN
		PERFORM bb_fail('BB400', 'value-required', NULL,
			'name at least one field to correct: type, timepoint, collected_at, quantity or notes');
	END IF;
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_specimen_lock(ref, studies);
	IF expected_seq IS NOT NULL AND s.ledger_seq <> expected_seq THEN
		PERFORM bb_fail('BB409', 'specimen-changed', NULL,
			format('specimen %s has changed since event %s (its last event is %s): read it again before correcting it',
				s.id, expected_seq, s.ledger_seq),
			jsonb_build_object('specimen', s.id, 'ledger_seq', s.ledger_seq, 'expected', expected_seq));
	END IF;
	IF s.status = 'entered_in_error' THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s was entered in error: it is kept as it was, not corrected', s.id),
			jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'correct'));
	END IF;
	SELECT * INTO p FROM participants WHERE id = s.participant_id;
	new_timepoint := bb_timepoint(new_timepoint);
	new_notes := NULLIF(new_notes, '');

	-- Every slip at once, as registration answers them.
	IF new_type IS NOT NULL AND new_type IS DISTINCT FROM s.type THEN
		IF NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = new_type) THEN
			errs := errs || bb_refusal('BB400', 'unknown-specimen-type', 'type',
				format('%s is not a specimen type', new_type),
				jsonb_build_object('specimen_type', new_type));
		ELSIF s.derivation = 'aliquot' THEN
			errs := errs || bb_refusal('BB409', 'inherited-from-parent', 'type',
				format('specimen %s is an aliquot of %s: its type is its parent''s; correct it on %s',
					s.id, s.parent_id, s.parent_id),
				jsonb_build_object('specimen', s.id, 'parent', s.parent_id));
		ELSE
			before := before || jsonb_build_object('type', s.type);
			after := after || jsonb_build_object('type', new_type);
		END IF;
	END IF;
	IF new_timepoint IS NOT NULL AND new_timepoint IS DISTINCT FROM s.timepoint THEN
		IF s.parent_id IS NOT NULL THEN
			errs := errs || bb_refusal('BB409', 'inherited-from-parent', 'timepoint',
				format('specimen %s comes from %s: its timepoint is the collection''s; correct it on %s',
					s.id, s.parent_id, s.parent_id),
				jsonb_build_object('specimen', s.id, 'parent', s.parent_id));
		ELSE
			before := before || jsonb_build_object('timepoint', s.timepoint);
			after := after || jsonb_build_object('timepoint', new_timepoint);
		END IF;
	END IF;
	IF new_collected_at IS NOT NULL AND new_collected_at IS DISTINCT FROM s.collected_at THEN
		IF new_collected_at > clock_timestamp() + interval '5 minutes' THEN
			errs := errs || bb_refusal('BB400', 'date-out-of-range', 'collected_at',
				format('%s is in the future', bb_rfc3339(new_collected_at)));
		ELSIF new_collected_at < make_timestamptz(COALESCE(p.birth_year, 1900), 1, 1, 0, 0, 0, '+14') THEN
			errs := errs || bb_refusal('BB400', 'date-out-of-range', 'collected_at',
				CASE WHEN p.birth_year IS NULL THEN 'must not be before 1900'
				     ELSE format('%s is before the birth year of participant %s (%s)',
						 bb_rfc3339(new_collected_at), p.code, p.birth_year) END,
				jsonb_strip_nulls(jsonb_build_object('participant', p.code, 'birth_year', p.birth_year)));
		ELSIF s.parent_id IS NOT NULL THEN
			errs := errs || bb_refusal('BB409', 'inherited-from-parent', 'collected_at',
				format('specimen %s comes from %s: its collection time is the collection''s; correct it on %s',
					s.id, s.parent_id, s.parent_id),
				jsonb_build_object('specimen', s.id, 'parent', s.parent_id));
		ELSE
			before := before || jsonb_build_object('collected_at', bb_rfc3339(s.collected_at));
			after := after || jsonb_build_object('collected_at', bb_rfc3339(new_collected_at));
		END IF;
	END IF;
	new_qty := round(new_qty, 3);
	IF new_qty IS NOT NULL AND (new_qty IS DISTINCT FROM s.quantity OR new_unit IS DISTINCT FROM s.unit) THEN
		IF new_qty <= 0 THEN
			errs := errs || bb_refusal('BB400', 'value-out-of-range', 'quantity.value',
				'must be more than 0 (an empty tube is consumed, not corrected)');
		ELSIF new_qty >= 1000000000 THEN
			errs := errs || bb_refusal('BB400', 'value-out-of-range', 'quantity.value',
				'must be less than 1000000000');
		ELSIF s.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
			errs := errs || bb_refusal('BB409', 'status-forbids', 'quantity',
				format('specimen %s is %s: the biobank no longer holds it, so what it holds is not corrected',
					s.id, s.status),
				jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'correct'));
		ELSE
			before := before || jsonb_build_object('quantity', CASE WHEN s.quantity IS NULL THEN NULL
				ELSE jsonb_build_object('value', trim_scale(s.quantity), 'unit', s.unit) END);
			after := after || jsonb_build_object('quantity',
				jsonb_build_object('value', trim_scale(new_qty), 'unit', new_unit));
		END IF;
	END IF;
	IF notes_given AND new_notes IS DISTINCT FROM s.notes THEN
		before := before || jsonb_build_object('notes', s.notes);
		after := after || jsonb_build_object('notes', new_notes);
	END IF;
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;

	-- Nothing differs from the record: nothing to correct, and no event.
	IF after = '{}' THEN
		RETURN bb_specimen_find_json(s.id, NULL) || jsonb_build_object('ledger_seq', s.ledger_seq);
	END IF;
	UPDATE specimens SET
		type = COALESCE(after ->> 'type', type),
		timepoint = COALESCE(after ->> 'timepoint', timepoint),
		collected_at = CASE WHEN after ? 'collected_at' THEN new_collected_at ELSE collected_at END,
		quantity = CASE WHEN after ? 'quantity' THEN new_qty ELSE quantity END,
		unit = CASE WHEN after ? 'quantity' THEN new_unit ELSE unit END,
		notes = CASE WHEN after ? 'notes' THEN new_notes ELSE notes END
	 WHERE id = s.id;
	INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
	VALUES (s.id, 'corrected', actor, actor_id, reason,
		jsonb_build_object('before', before, 'after', after));

	-- The lineage follows: timepoint and collection time down every branch,
	-- the type down the aliquots of aliquots (a derivative has its own).
	FOR d IN WITH RECURSIVE down (id, all_aliquots) AS (
			SELECT c.id, c.derivation = 'aliquot' FROM specimens c WHERE c.parent_id = s.id
			UNION ALL
			SELECT c.id, down.all_aliquots AND c.derivation = 'aliquot'
			  FROM specimens c JOIN down ON c.parent_id = down.id)
		 SELECT x.*, down.all_aliquots FROM down JOIN specimens x ON x.id = down.id
		  WHERE x.status <> 'entered_in_error'
		  ORDER BY x.id FOR UPDATE OF x LOOP
		d_before := '{}';
		d_after := '{}';
		IF after ? 'type' AND d.all_aliquots AND d.type = s.type THEN
			d_before := d_before || jsonb_build_object('type', d.type);
			d_after := d_after || jsonb_build_object('type', after ->> 'type');
		END IF;
		IF after ? 'timepoint' AND d.timepoint = s.timepoint THEN
			d_before := d_before || jsonb_build_object('timepoint', d.timepoint);
			d_after := d_after || jsonb_build_object('timepoint', after ->> 'timepoint');
		END IF;
		IF after ? 'collected_at' AND d.collected_at = s.collected_at THEN
			d_before := d_before || jsonb_build_object('collected_at', bb_rfc3339(d.collected_at));
			d_after := d_after || jsonb_build_object('collected_at', after ->> 'collected_at');
		END IF;
		CONTINUE WHEN d_after = '{}';
		UPDATE specimens SET
			type = COALESCE(d_after ->> 'type', type),
			timepoint = COALESCE(d_after ->> 'timepoint', timepoint),
			collected_at = CASE WHEN d_after ? 'collected_at' THEN new_collected_at ELSE collected_at END
		 WHERE id = d.id;
		INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
		VALUES (d.id, 'corrected', actor, actor_id, reason,
			jsonb_build_object('before', d_before, 'after', d_after, 'with', s.id));
		lineage := lineage || jsonb_build_object(d.id, d_after);
	END LOOP;
	RETURN bb_specimen_find_json(s.id, NULL)
		|| jsonb_build_object('ledger_seq', (SELECT x.ledger_seq FROM specimens x WHERE x.id = s.id))
		|| CASE WHEN lineage = '{}' THEN '{}'::jsonb ELSE jsonb_build_object('lineage_corrected', lineage) END;
END $$;
COMMENT ON FUNCTION bb_specimen_correct(text, text, text, timestamptz, numeric, text, text, text, integer, bigint[], text, bigint)
	IS 'PATCH /specimens/{id}: corrects type, timepoint, collection time, quantity or notes with one corrected event (before and after) per specimen changed, down the lineage for what children inherit; no event when nothing differs.';

/*
 * A specimen registered by mistake (docs/api.md, "Entered in error"): its
 * row and its whole ledger stay, with an entered_in_error event (the
 * reason, the status it had) that frees its position, and from then on it
 * is left out of lists, counts, reports, exports and FHIR searches unless
 * asked for. Not for a tube that left (shipped: the receiver holds it), nor
 * one on a draft shipment (remove it first), nor a parent whose children
 * are not in error themselves (mark them first: what was made from a
 * mistake is a mistake too). The quantity aliquots took from a parent is
 * not given back: a correction of the parent's quantity says so with its
 * own reason.
 */
CREATE OR REPLACE FUNCTION bb_specimen_enter_in_error(ref text, reason text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s specimens;
	old_box text;
	kids text[];
	ship bigint;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_specimen_lock(ref, studies);
	IF s.status IN ('shipped', 'entered_in_error') THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			CASE s.status WHEN 'shipped' THEN format('specimen %s was shipped: the receiving site holds it', s.id)
			     ELSE format('specimen %s is already entered in error', s.id) END,
			jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'entered_in_error'));
	END IF;
	SELECT array_agg(c.id ORDER BY c.serial) INTO kids FROM specimens c
	 WHERE c.parent_id = s.id AND c.status <> 'entered_in_error';
	IF kids IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'has-children', NULL,
			format('specimen %s has children not entered in error (%s): enter them in error first',
				s.id, array_to_string(kids, ', ')),
			jsonb_build_object('specimen', s.id, 'children', to_jsonb(kids)));
	END IF;
	SELECT i.shipment_id INTO ship FROM shipment_items i JOIN shipments sh ON sh.id = i.shipment_id
	 WHERE i.specimen_id = s.id AND sh.status = 'draft' LIMIT 1;
	IF ship IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'on-draft-shipment', NULL,
			format('specimen %s is on draft shipment %s: remove it from the shipment first', s.id, ship),
			jsonb_build_object('specimen', s.id, 'shipment', ship));
	END IF;
	SELECT barcode INTO old_box FROM boxes WHERE id = s.box_id;
	UPDATE specimens SET status = 'entered_in_error', box_id = NULL, pos_row = NULL, pos_col = NULL
	 WHERE id = s.id;
	INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, reason, details)
	VALUES (s.id, 'entered_in_error', actor, actor_id, old_box, bb_position_name(s.pos_row, s.pos_col),
		reason, jsonb_build_object('status_before', s.status));
	RETURN bb_specimen_find_json(s.id, NULL);
END $$;
COMMENT ON FUNCTION bb_specimen_enter_in_error(text, text, bigint[], text, bigint)
	IS 'POST /specimens/{id}/entered-in-error: marks a specimen registered by mistake, freeing its position, with an entered_in_error event.';

-- The explicit choice to count entries in error too (?include_in_error=true).
CREATE OR REPLACE FUNCTION bb_include_in_error(v text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF v IS NULL OR v = 'false' THEN
		RETURN false;
	ELSIF v = 'true' THEN
		RETURN true;
	END IF;
	PERFORM bb_fail('BB400', 'value-not-allowed', 'include_in_error', 'must be true or false');
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_include_in_error(text) IS 'Reads ?include_in_error= (absent: false); BB400 naming it unless true or false.';

CREATE OR REPLACE FUNCTION bb_box_place(box_barcode text, positions text[], refs text[], studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	b boxes;
	n integer := COALESCE(array_length(refs, 1), 0);
	errs jsonb;
	clash_pos text;
	clash_ids text;
	occupant text;
	placed jsonb;
	items bb_place_item[];
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	b := bb_box_at(box_barcode);
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

	-- Every item that fails, each with the first check it fails: one answer lists them all.
	-- A tube no one (or not this caller) knows is 404, as everywhere; see bb_fail_list.
	SELECT jsonb_agg(t.e ORDER BY t.i) INTO errs FROM (
		SELECT x.i, jsonb_build_object('item', x.i - 1) || CASE
			WHEN x.r IS NULL THEN jsonb_build_object('state', 'BB400', 'code', 'position-invalid',
				'field', format('placements[%s].position', x.i - 1),
				'message', format('"%s" is not a position such as A1', positions[x.i]))
			WHEN x.r > b.rows OR x.c > b.cols THEN jsonb_build_object('state', 'BB400',
				'code', 'position-outside-box', 'field', format('placements[%s].position', x.i - 1),
				'message', format('%s is outside the box (%s rows, %s columns)', x.pname, b.rows, b.cols))
			WHEN x.pos_nth > 1 THEN jsonb_build_object('state', 'BB400', 'code', 'listed-twice',
				'field', format('placements[%s].position', x.i - 1),
				'message', format('%s is listed twice', x.pname))
			WHEN x.id IS NULL THEN jsonb_build_object('state', 'BB404', 'code', 'specimen-not-found',
				'field', format('placements[%s].specimen', x.i - 1),
				'message', format('no specimen has the barcode or ID %s', x.ref))
			WHEN x.id_nth > 1 THEN jsonb_build_object('state', 'BB400', 'code', 'listed-twice',
				'field', format('placements[%s].specimen', x.i - 1),
				'message', format('%s is listed twice', x.id))
			WHEN NOT x.here AND x.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
				jsonb_build_object('state', 'BB409', 'code', 'status-forbids',
				'field', format('placements[%s].specimen', x.i - 1),
				'message', format('specimen %s is %s: it cannot be placed', x.id, x.status))
			WHEN NOT x.here AND (SELECT y.quantity FROM specimens y WHERE y.id = x.id) = 0 THEN
				jsonb_build_object('state', 'BB409', 'code', 'quantity-exhausted',
				'field', format('placements[%s].specimen', x.i - 1),
				'message', format('specimen %s holds nothing: an empty tube is not stored (consume or destroy it)', x.id))
			END AS e
		  FROM (SELECT y.*, row_number() OVER (PARTITION BY y.pname ORDER BY y.i) AS pos_nth,
			       row_number() OVER (PARTITION BY y.id ORDER BY y.i) AS id_nth
			  FROM unnest(items) y) x) t
	 WHERE t.e IS NOT NULL;
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_list(errs);
	END IF;

	/*
	 * Each tube's event chained here for the whole rack, as bb_import_commit
	 * chains a file's (migrations/0034_ledger_bulk.sql): linked to the head the
	 * tube's row holds (locked above; a tube is listed once), hashed as the
	 * row trigger hashes, and checked by events_log_queue as it lands. The
	 * row trigger did it one event at a time, each with its own UPDATE of
	 * specimens, so each ran specimens' statement triggers again: most
	 * of a 96-tube rack's time (docs/performance.md, "96-tube rack placement").
	 * The position and the new head go into the tube's row in one UPDATE,
	 * in the statement that writes the events. The fences (OFFSET 0) keep
	 * each event's fields computed once, before its digest.
	 */
	WITH ev AS (
		SELECT x.i, x.id, x.r, x.c, x.ev, x.old_box, x.old_pos, x.pname, s.ledger_seq + 1 AS seq,
		       COALESCE(s.ledger_head, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
			AS prev,
		       CASE WHEN x.ev = 'returned' THEN '{"thawed": false}'::jsonb ELSE '{}'::jsonb END AS details,
		       COALESCE(actor, bb_actor()) AS who,
		       COALESCE(actor_id, NULLIF(current_setting('bb.actor_id', true), '')::bigint) AS who_id,
		       clock_timestamp() AS at
		  FROM unnest(items) x JOIN specimens s ON s.id = x.id
		 WHERE NOT x.here OFFSET 0),
	chained AS (
		SELECT ev.*, bb_event_digest_v2(ev.id, ev.seq, ev.ev, ev.at, ev.who, ev.old_box, ev.old_pos,
			b.barcode, ev.pname, 'bulk placement', ev.details, ev.prev) AS hash
		  FROM ev OFFSET 0),
	placed_rows AS (
		UPDATE specimens s SET box_id = b.id, pos_row = c.r, pos_col = c.c, status = 'in_storage',
			ledger_seq = c.seq, ledger_head = c.hash
		  FROM chained c WHERE s.id = c.id)
	INSERT INTO events (specimen_id, seq, type, at, actor, actor_id, format, from_box, from_pos, to_box,
		to_pos, reason, details, prev_hash, hash)
	SELECT c.id, c.seq, c.ev, c.at, c.who, c.who_id, 2, c.old_box, c.old_pos, b.barcode, c.pname,
	       'bulk placement', c.details, c.prev, c.hash
	  FROM chained c ORDER BY c.i;
	SELECT COALESCE(jsonb_agg(jsonb_build_object('position', x.pname, 'specimen', x.id,
		'event', CASE WHEN x.here THEN NULL ELSE x.ev END) ORDER BY x.i), '[]') INTO placed
	  FROM unnest(items) x;

	-- Name a clash while we can still say which tube holds the position: the
	-- one not being placed; a tube of another study as such, never by its ID.
	SELECT bb_position_name(x.pos_row, x.pos_col),
	       string_agg(CASE WHEN v.visible THEN x.id ELSE 'a specimen of another study' END, ', '
			  ORDER BY v.visible DESC, x.id),
	       (array_agg(x.id) FILTER (WHERE NOT x.id = ANY (moved) AND v.visible))[1]
	  INTO clash_pos, clash_ids, occupant
	  FROM specimens x
	 CROSS JOIN (SELECT array_agg(y.id) AS moved FROM unnest(items) y) m
	 CROSS JOIN LATERAL (SELECT studies IS NULL OR x.study_id = ANY (studies) AS visible) v
	 WHERE x.box_id = b.id
	 GROUP BY x.pos_row, x.pos_col HAVING count(*) > 1 LIMIT 1;
	IF clash_pos IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'position-occupied', NULL,
			format('position %s (%s) of box %s would hold two specimens', clash_pos, clash_ids, b.barcode),
			jsonb_build_object('box', b.barcode, 'position', clash_pos, 'occupant', occupant));
	END IF;
	SET CONSTRAINTS specimens_one_per_position IMMEDIATE;
	RETURN jsonb_build_object('box', b.barcode, 'placed', placed);
END $$;
COMMENT ON FUNCTION bb_box_place(text, text[], text[], bigint[], text, bigint) IS 'Bulk placement of tubes into one box, all or nothing (set-based: one UPDATE and one INSERT for the whole list).';

-- A page of specimens in issue order, filtered; the cursor is the last serial seen.
-- Entries in error only when asked for (p_in_error 'true', or their status).
DROP FUNCTION IF EXISTS bb_specimen_list(text, text, text, text, text, text, bigint[], bigint, integer);
DROP FUNCTION IF EXISTS bb_specimen_list(text, text, text, text, text, text, bigint[], bigint, integer, text);
DROP FUNCTION IF EXISTS bb_specimen_list(text, text, text, text, text, text, bigint[], bigint, integer, text, bigint);
DROP FUNCTION IF EXISTS bb_specimen_list(text, text, text, text, text, text, bigint[], bigint, integer, text, jsonb);
CREATE OR REPLACE FUNCTION bb_specimen_list(p_study text, p_participant text, p_type text, p_timepoint text,
	p_status text, p_box text, p_studies bigint[], p_after bigint, p_limit integer,
	p_in_error text DEFAULT NULL, p_location bigint DEFAULT NULL, p_sprec jsonb DEFAULT NULL)
-- No JIT: the generic plan's estimate (every filter a parameter) is far above jit_above_cost,
-- and compiling its 54 expressions cost 480 of the 590 ms of a first page at 10^6 tubes
-- (docs/performance.md, "Finding things below a location").
RETURNS jsonb LANGUAGE sql STABLE SET jit = off AS $$
	WITH hits AS (
		SELECT s.* FROM specimens s
		 WHERE (p_studies IS NULL OR s.study_id = ANY (p_studies))
		   AND (p_study IS NULL OR s.study_id = (SELECT id FROM studies WHERE code = p_study))
		   AND (p_participant IS NULL OR s.participant_id IN (SELECT p.id FROM participants p
				WHERE p.code = p_participant
				  AND (p_study IS NULL OR p.study_id = (SELECT id FROM studies WHERE code = p_study))))
		   AND (p_type IS NULL OR s.type = p_type)
		   AND (p_timepoint IS NULL OR s.timepoint = bb_timepoint(p_timepoint))
		   AND (p_status IS NULL OR s.status = p_status)
		   AND (p_status IS NOT NULL OR s.status <> 'entered_in_error'
			OR (SELECT bb_include_in_error(p_in_error)))
		   AND (p_box IS NULL OR s.box_id = (SELECT id FROM boxes WHERE barcode = p_box))
		   AND (p_location IS NULL OR s.box_id IN (SELECT unnest(bb_location_boxes(p_location))))
		   AND (p_sprec IS NULL OR bb_sprec_matches(s.sprec, p_sprec))
		   AND s.serial > GREATEST(COALESCE(p_after, 0), (SELECT bb_location_first_serial(p_location)) - 1)
		 ORDER BY s.serial
		 LIMIT p_limit + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE((SELECT jsonb_agg(bb_specimen_json(h) ORDER BY h.serial)
				     FROM (SELECT * FROM hits ORDER BY serial LIMIT p_limit) h), '[]'),
		'next_cursor', CASE WHEN (SELECT count(*) FROM hits) > p_limit
			THEN (SELECT 'c' || serial FROM hits ORDER BY serial OFFSET p_limit - 1 LIMIT 1) END);
$$;
COMMENT ON FUNCTION bb_specimen_list(text, text, text, text, text, text, bigint[], bigint, integer, text, bigint, jsonb) IS 'One page of specimens matching the filters (p_location: anywhere below that location, walked from its first tube; p_sprec: SPREC elements), in issue order; entries in error only when p_in_error is true or p_status names their status.';

-- Pre-barcoded tubes (docs/api.md, "Pre-barcoded tubes") -------------------

/*
 * The refusals of tube barcodes about to be given to tubes (codes[i] named
 * by fields[i], item i - 1): one listed twice in the request (every
 * occurrence after the first), one on a tube already (named only to those
 * who may see it), on a box or on a location (a scan reads tubes first, so
 * it would hide them). Each barcode is locked for the transaction first, in
 * one order, with the key bb_barcode_check_free uses: two requests racing
 * for a barcode queue, and the later one is refused here rather than by the
 * unique index.
 */
CREATE OR REPLACE FUNCTION bb_tube_barcode_refusals(codes text[], fields text[], studies bigint[])
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	errs jsonb;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('bb_barcode:' || x.code, 0))
	   FROM (SELECT DISTINCT u.code FROM unnest(codes) AS u (code) WHERE u.code IS NOT NULL ORDER BY 1) x;
	SELECT COALESCE(jsonb_agg(t.e ORDER BY t.i), '[]') INTO errs FROM (
		SELECT u.i, CASE
			WHEN u.first_i < u.i THEN bb_refusal('BB400', 'listed-twice', fields[u.i],
				format('tube barcode %s is listed twice (also %s)', u.code, fields[u.first_i]),
				jsonb_build_object('item', u.i - 1, 'tube_barcode', u.code))
			WHEN s.id IS NOT NULL THEN bb_refusal('BB409', 'already-exists', fields[u.i],
				format('tube barcode %s is already on %s', u.code,
				       CASE WHEN studies IS NULL OR s.study_id = ANY (studies)
					    THEN 'specimen ' || s.id ELSE 'a tube of another study' END),
				jsonb_strip_nulls(jsonb_build_object('item', u.i - 1, 'tube_barcode', u.code,
					'specimen', CASE WHEN studies IS NULL OR s.study_id = ANY (studies) THEN s.id END)))
			WHEN bx.id IS NOT NULL OR l.id IS NOT NULL THEN bb_refusal('BB409', 'already-exists', fields[u.i],
				format('%s is the barcode of %s: a tube cannot carry it', u.code,
				       COALESCE('box ' || bx.barcode, format('location %s (%s)', l.id, l.name))),
				jsonb_build_object('item', u.i - 1, 'tube_barcode', u.code))
			END AS e
		  FROM (SELECT v.code, v.i::integer AS i,
			       (min(v.i) OVER (PARTITION BY v.code))::integer AS first_i
			  FROM unnest(codes) WITH ORDINALITY AS v (code, i)) u
		  LEFT JOIN specimens s ON s.tube_barcode = u.code
		  LEFT JOIN boxes bx ON bx.barcode = u.code
		  LEFT JOIN locations l ON l.barcode = u.code) t
	 WHERE t.e IS NOT NULL;
	RETURN errs;
END $$;
COMMENT ON FUNCTION bb_tube_barcode_refusals(text[], text[], bigint[]) IS 'Locks tube barcodes for the transaction and lists the refusals of those listed twice or already on a tube, box or location.';

/*
 * Aliquots of a parent in pre-barcoded tubes, one per barcode, in the
 * order given: barcodes[i] with qtys[i] of units[i] (NULL: the parent's
 * quantity split evenly, as the count form does; all or none of them are
 * given). With box, aliquot i is also stored at positions[i] of that box
 * (a rack-scanner file, read in well order by the daemon), with a stored
 * event after its registered one. Every refused item is listed at once
 * (item i - 1: its field, or the file line the daemon knows it by), and
 * nothing is written unless all of them can be.
 */
CREATE OR REPLACE FUNCTION bb_specimen_aliquot_tubes(ref text, barcodes text[], qtys numeric[], units text[],
	box text, positions text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	parent specimens;
	b boxes;
	n integer := COALESCE(array_length(barcodes, 1), 0);
	fields text[];
	errs jsonb;
	pos_errs jsonb;
	rs integer[];
	cs integer[];
	each_qty numeric;
	taken numeric;
	child_id text;
	child_serial bigint;
	ids text[] := '{}';
	items jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	parent := bb_specimen_lock(ref, studies);
	IF n < 1 OR n > 500 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'aliquots', 'must list between 1 and 500 tubes');
	END IF;
	IF parent.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s is %s: it cannot be aliquoted', parent.id, parent.status),
			jsonb_build_object('specimen', parent.id, 'specimen_status', parent.status, 'action', 'aliquot'));
	END IF;
	PERFORM bb_consent_check(parent, 'aliquot');
	SELECT array_agg(CASE WHEN box IS NULL THEN format('aliquots[%s].tube_barcode', g - 1)
			      ELSE 'tube_barcode' END ORDER BY g)
	  INTO fields FROM generate_series(1, n) g;

	-- Where each tube goes, locked in the global order; then what stands there.
	IF box IS NOT NULL THEN
		b := bb_box_at(box);
		SELECT array_agg(p.r ORDER BY g), array_agg(p.c ORDER BY g),
		       COALESCE(jsonb_agg(p.err || jsonb_build_object('item', g - 1) ORDER BY g)
				FILTER (WHERE p.err IS NOT NULL), '[]')
		  INTO rs, cs, pos_errs
		  FROM generate_series(1, n) g,
		       LATERAL bb_position_check(positions[g], b.rows, b.cols, 'position', b.barcode) p;
		PERFORM bb_lock_positions(array_fill(b.id, ARRAY[n]), rs, cs);
		SELECT pos_errs || COALESCE(jsonb_agg(bb_refusal('BB409', 'position-occupied', 'position',
				format('position %s of box %s is taken by %s', bb_position_name(x.r, x.c), b.barcode,
				       CASE WHEN studies IS NULL OR s.study_id = ANY (studies)
					    THEN 'specimen ' || s.id ELSE 'a specimen of another study' END),
				jsonb_strip_nulls(jsonb_build_object('item', x.g - 1, 'box', b.barcode,
					'position', bb_position_name(x.r, x.c),
					'occupant', CASE WHEN studies IS NULL OR s.study_id = ANY (studies) THEN s.id END)))
				ORDER BY x.g), '[]')
		  INTO pos_errs
		  FROM unnest(rs, cs) WITH ORDINALITY AS x (r, c, g)
		  JOIN specimens s ON s.box_id = b.id AND s.pos_row = x.r AND s.pos_col = x.c;
	END IF;
	errs := bb_tube_barcode_refusals(barcodes, fields, studies) || COALESCE(pos_errs, '[]');
	IF jsonb_array_length(errs) = 1 AND box IS NOT NULL THEN
		-- One refusal of a file: its facts as members, and its item, which the daemon tells by line.
		PERFORM bb_fail(errs -> 0 ->> 'state', errs -> 0 ->> 'code', errs -> 0 ->> 'field',
			errs -> 0 ->> 'message', ((errs -> 0) - ARRAY['state', 'code', 'field', 'message', 'item'])
				|| jsonb_build_object('errors', jsonb_build_array((errs -> 0) - 'state')));
	ELSIF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each((SELECT jsonb_agg(e ORDER BY (e ->> 'item')::integer)
					FROM jsonb_array_elements(errs) e));
	END IF;

	-- The quantities, taken from the parent as the count form takes them.
	IF parent.quantity IS NOT NULL THEN
		IF qtys IS NULL OR array_position(qtys, NULL) IS NOT NULL THEN
			each_qty := trunc(parent.quantity / n, 3);
			IF each_qty <= 0 THEN
				PERFORM bb_quantity_refuse(parent, format('%s aliquots', n));
			END IF;
			qtys := array_fill(each_qty, ARRAY[n]);
			units := array_fill(parent.unit, ARRAY[n]);
			taken := each_qty * n;
		ELSE
			SELECT jsonb_agg(bb_refusal('BB400', 'unit-mismatch', format('aliquots[%s].quantity.unit', g - 1),
					format('must be a unit of the same kind as %s, the unit of specimen %s', parent.unit, parent.id),
					jsonb_build_object('item', g - 1, 'specimen', parent.id, 'unit', parent.unit)) ORDER BY g)
			  INTO errs FROM generate_series(1, n) g
			 WHERE bb_quantity_in(qtys[g], units[g], parent.unit) IS NULL;
			IF errs IS NOT NULL THEN
				PERFORM bb_fail_each(errs);
			END IF;
			SELECT sum(bb_quantity_in(qtys[g], units[g], parent.unit)) INTO taken FROM generate_series(1, n) g;
			IF taken > parent.quantity THEN
				PERFORM bb_quantity_refuse(parent, format('%s aliquots taking %s %s in all', n,
					trim_scale(taken), parent.unit));
			END IF;
		END IF;
	END IF;

	FOR g IN 1..n LOOP
		SELECT id, serial INTO child_id, child_serial FROM bb_new_specimen_id();
		INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint,
			collected_at, quantity, unit, parent_id, derivation, tube_barcode)
		VALUES (child_id, child_serial, parent.study_id, parent.participant_id, parent.type,
			parent.timepoint, parent.collected_at, qtys[g],
			CASE WHEN qtys[g] IS NULL THEN parent.unit ELSE units[g] END,
			parent.id, 'aliquot', barcodes[g]);
		INSERT INTO events (specimen_id, type, details)
		VALUES (child_id, 'registered', jsonb_build_object('parent', parent.id, 'derivation', 'aliquot',
			'tube_barcode', barcodes[g]));
		IF box IS NOT NULL THEN
			UPDATE specimens SET box_id = b.id, pos_row = rs[g], pos_col = cs[g], status = 'in_storage'
			 WHERE id = child_id;
			INSERT INTO events (specimen_id, type, to_box, to_pos, reason)
			VALUES (child_id, 'stored', b.barcode, bb_position_name(rs[g], cs[g]),
				'pre-barcoded rack of aliquots');
		END IF;
		ids := ids || child_id;
	END LOOP;
	IF taken IS NOT NULL THEN
		UPDATE specimens SET quantity = quantity - taken WHERE id = parent.id;
	END IF;
	INSERT INTO events (specimen_id, type, details)
	VALUES (parent.id, 'aliquoted', jsonb_build_object('children', to_jsonb(ids), 'count', n,
		'tube_barcodes', to_jsonb(barcodes),
		'quantity_taken', CASE WHEN taken IS NULL THEN NULL ELSE
			jsonb_build_object('value', trim_scale(taken), 'unit', parent.unit) END)
		|| CASE WHEN box IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('box', b.barcode) END);
	PERFORM bb_specimen_exhaust(parent.id, 'all of it aliquoted');
	SELECT COALESCE(jsonb_agg(bb_specimen_json(s) ORDER BY s.serial), '[]') INTO items
	  FROM specimens s WHERE s.id = ANY (ids);
	RETURN jsonb_build_object('items', items);
END $$;
COMMENT ON FUNCTION bb_specimen_aliquot_tubes(text, text[], numeric[], text[], text, text[], bigint[], text, bigint)
	IS 'Aliquots of a specimen in pre-barcoded tubes (with a box: stored at the given positions), all or nothing, every refused tube listed.';

/*
 * A derivative in a pre-barcoded tube: the barcode is checked (and locked)
 * before anything is made, then set on the child bb_specimen_derive made,
 * in the same statement (as a registration's own barcode, it is a fact of
 * the tube from the start, not a barcode_set event).
 */
CREATE OR REPLACE FUNCTION bb_specimen_derive_tube(ref text, new_type text, qty numeric, unit text,
	barcode text, studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	errs jsonb;
	child jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	errs := bb_tube_barcode_refusals(ARRAY[barcode], ARRAY['tube_barcode'], studies);
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	child := bb_specimen_derive(ref, new_type, qty, unit, studies, actor, actor_id);
	UPDATE specimens SET tube_barcode = barcode WHERE id = child ->> 'id';
	RETURN child || jsonb_build_object('tube_barcode', barcode);
END $$;
COMMENT ON FUNCTION bb_specimen_derive_tube(text, text, numeric, text, text, bigint[], text, bigint)
	IS 'Derives a specimen into a pre-barcoded tube (bb_specimen_derive, the barcode checked first).';

/*
 * A tube barcode set later on a specimen registered without one (a legacy
 * tube relabelled, a manufacturer code read after the fact), once: a
 * barcode_set event records it. Changing a barcode is not this (409): the
 * tube is known by it in the ledger and on labels.
 */
CREATE OR REPLACE FUNCTION bb_specimen_barcode_set(ref text, barcode text, reason text, studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	s specimens;
	errs jsonb;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_specimen_lock(ref, studies);
	IF s.tube_barcode IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'barcode-already-set', NULL,
			format('specimen %s already carries the tube barcode %s: a barcode is set once', s.id, s.tube_barcode),
			jsonb_build_object('specimen', s.id, 'tube_barcode', s.tube_barcode));
	END IF;
	IF s.status IN ('shipped', 'consumed', 'destroyed', 'entered_in_error') THEN
		PERFORM bb_fail('BB409', 'status-forbids', NULL,
			format('specimen %s is %s: there is no tube here to label', s.id, s.status),
			jsonb_build_object('specimen', s.id, 'specimen_status', s.status, 'action', 'barcode_set'));
	END IF;
	errs := bb_tube_barcode_refusals(ARRAY[barcode], ARRAY['tube_barcode'], studies);
	IF jsonb_array_length(errs) > 0 THEN
		PERFORM bb_fail_each(errs);
	END IF;
	UPDATE specimens SET tube_barcode = barcode WHERE id = s.id;
	INSERT INTO events (specimen_id, type, actor, actor_id, reason, details)
	VALUES (s.id, 'barcode_set', actor, actor_id, reason, jsonb_build_object('tube_barcode', barcode));
	RETURN (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = s.id);
END $$;
COMMENT ON FUNCTION bb_specimen_barcode_set(text, text, text, bigint[], text, bigint)
	IS 'Sets the tube barcode of a specimen that has none, once, with a barcode_set event.';

/*
 * A registration whose aliquots go into pre-barcoded tubes ("aliquots": a
 * list): the collection as bb_specimen_register makes it, then its aliquots
 * as bb_specimen_aliquot_tubes makes them, in one statement: a refused tube
 * (named aliquots[i]...) leaves nothing, the collection included.
 */
CREATE OR REPLACE FUNCTION bb_specimen_register_tubes(study text, participant text, type text,
	timepoint text, collected_at timestamptz, qty numeric, unit text, tube_barcode text, notes text,
	barcodes text[], qtys numeric[], units text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	made jsonb;
	children jsonb;
BEGIN
	made := bb_specimen_register(study, participant, type, timepoint, collected_at, qty, unit,
		tube_barcode, notes, NULL, NULL, studies, actor, actor_id);
	children := bb_specimen_aliquot_tubes(made ->> 'id', barcodes, qtys, units, NULL, NULL, studies,
		actor, actor_id);
	-- The collection as its aliquots left it (its quantity; consumed when they took all of it).
	RETURN (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = made ->> 'id')
		|| jsonb_build_object('aliquots', children -> 'items');
END $$;
COMMENT ON FUNCTION bb_specimen_register_tubes(text, text, text, text, timestamptz, numeric, text, text, text, text[], numeric[], text[], bigint[], text, bigint)
	IS 'Registers a collection and its aliquots in pre-barcoded tubes in one statement, all or nothing.';
