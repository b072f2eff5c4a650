-- functions/storage_care.sql — Storage that looks after its tubes (issue 18,
-- docs/api-storage.md): temperature readings and excursions, each tube's
-- exposure (derived from its own events and where its box stood), the
-- limits of each specimen type and the flags of tubes past them,
-- maintenance tasks, and the evacuation of a failed freezer.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.
-- It is applied before specimens.sql and reports.sql, whose functions call
-- these; the functions here that call later files are PL/pgSQL.

-- Where boxes stood -----------------------------------------------------------

/*
 * box_stays from every insert and every change of a box's location or
 * barcode, by whatever writes it (a box move, a rename, an import). Two
 * changes in one transaction share its time: the second replaces the first.
 */
CREATE OR REPLACE FUNCTION bb_boxes_stays() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF NEW.location_id = OLD.location_id AND NEW.barcode = OLD.barcode THEN
			RETURN NULL;
		END IF;
		UPDATE box_stays SET until = now() WHERE box_id = NEW.id AND until IS NULL;
	END IF;
	INSERT INTO box_stays (box_id, location_id, barcode, since)
	VALUES (NEW.id, NEW.location_id, NEW.barcode, now())
	ON CONFLICT (box_id, since) DO UPDATE
		SET location_id = EXCLUDED.location_id, barcode = EXCLUDED.barcode, until = NULL;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_boxes_stays() IS 'Keeps box_stays: closes a box''s stay and opens the next when it moves or is renamed.';

CREATE OR REPLACE TRIGGER boxes_stays AFTER INSERT OR UPDATE OF location_id, barcode ON boxes
	FOR EACH ROW EXECUTE FUNCTION bb_boxes_stays();
COMMENT ON TRIGGER boxes_stays ON boxes IS 'Where each box stood and when (box_stays).';

-- A tube's location history -----------------------------------------------------

/*
 * The events that change where a tube is: one with a box (stored, moved,
 * returned, found, an import or aliquot placed in a box) puts it there; one
 * of these takes it out of storage. Other events (thawed, label printed,
 * audit confirmed...) leave it where it is.
 */
CREATE OR REPLACE FUNCTION bb_event_takes_out(type text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT type IN ('checked_out', 'shipped', 'consumed', 'destroyed', 'lost', 'entered_in_error');
$$;
COMMENT ON FUNCTION bb_event_takes_out(text) IS 'Whether an event of this type takes a tube out of its box.';

/*
 * A tube's stays in boxes (by the barcode its events name), from its events.
 * An event that leaves it in the box it was in (its box moved whole) does
 * not start a stay: where the box stood is box_stays' to say.
 */
CREATE OR REPLACE FUNCTION bb_tube_stays(sid text)
RETURNS TABLE (box text, since timestamptz, until timestamptz) LANGUAGE sql STABLE AS $$
	SELECT y.to_box, y.at, y.next_at
	  FROM (SELECT x.to_box, x.at, lead(x.at) OVER (ORDER BY x.seq) AS next_at
		  FROM (SELECT e.seq, e.to_box, e.at, lag(e.to_box) OVER (ORDER BY e.seq) AS prev,
			       row_number() OVER (ORDER BY e.seq) AS k
			  FROM events e
			 WHERE e.specimen_id = sid AND (e.to_box IS NOT NULL OR bb_event_takes_out(e.type))) x
		 WHERE x.k = 1 OR x.to_box IS DISTINCT FROM x.prev) y
	 WHERE y.to_box IS NOT NULL;
$$;
COMMENT ON FUNCTION bb_tube_stays(text) IS 'A tube''s stays in boxes from its events: box barcode, since, until (NULL: still there).';

/*
 * A tube's stays in locations: its stays in boxes joined with where each
 * box stood meanwhile; loc is the location the box stood in, and the stay
 * is the time both held.
 */
CREATE OR REPLACE FUNCTION bb_tube_places(sid text)
RETURNS TABLE (loc bigint, box text, since timestamptz, until timestamptz) LANGUAGE sql STABLE AS $$
	SELECT bs.location_id, t.box, greatest(t.since, bs.since),
	       NULLIF(least(COALESCE(t.until, 'infinity'), COALESCE(bs.until, 'infinity')), 'infinity')
	  FROM bb_tube_stays(sid) t
	  JOIN box_stays bs ON bs.barcode = t.box
	   AND bs.since < COALESCE(t.until, 'infinity') AND COALESCE(bs.until, 'infinity') > t.since;
$$;
COMMENT ON FUNCTION bb_tube_places(text) IS 'A tube''s location history: the location its box stood in, and from when until when (NULL: now).';

-- Minutes a tube spent out of storage: each checkout until the next event that
-- puts it somewhere or ends it (a return, a store, a shipment...), or until now.
CREATE OR REPLACE FUNCTION bb_tube_minutes_out(sid text) RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT COALESCE(floor(sum(extract(epoch FROM COALESCE(x.next_at, now()) - x.at)) / 60), 0)::integer
	  FROM (SELECT e.type, e.at, lead(e.at) OVER (ORDER BY e.seq) AS next_at
		  FROM events e
		 WHERE e.specimen_id = sid AND (e.to_box IS NOT NULL OR bb_event_takes_out(e.type))) x
	 WHERE x.type = 'checked_out';
$$;
COMMENT ON FUNCTION bb_tube_minutes_out(text) IS 'Minutes out of storage, checkout to return (or check-in), summed over the tube''s life; a checkout not yet returned counts until now.';

-- Temperature limits and excursions ----------------------------------------------

-- The alarm temperature of a nominal class, when a location sets none of its own.
CREATE OR REPLACE FUNCTION bb_nominal_alarm(nominal text) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE nominal WHEN '-196' THEN -150 WHEN '-150' THEN -130 WHEN '-80' THEN -70
			    WHEN '-20' THEN -15 WHEN '4' THEN 8 WHEN 'room' THEN 30 END::numeric;
$$;
COMMENT ON FUNCTION bb_nominal_alarm(text) IS 'The default limit (°C) of a nominal temperature class: -150, -130, -70, -15, 8 or 30.';

CREATE OR REPLACE FUNCTION bb_location_limit(loc bigint) RETURNS numeric LANGUAGE plpgsql STABLE AS $$
DECLARE
	own numeric;
BEGIN
	SELECT l.alarm_above_c INTO own FROM locations l WHERE l.id = loc;
	RETURN COALESCE(own, bb_nominal_alarm(bb_nominal_at(NULL, loc) ->> 'value'));
END $$;
COMMENT ON FUNCTION bb_location_limit(bigint) IS 'The temperature above which a location is out of range: its own, else that of the nominal temperature in force; NULL when neither is set.';

CREATE OR REPLACE FUNCTION bb_excursion_json(x excursions) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', x.id, 'location', jsonb_build_object('id', l.id, 'name', l.name, 'path', l.path),
		'started_at', bb_rfc3339(x.started_at), 'ended_at', bb_rfc3339(x.ended_at),
		'minutes', floor(extract(epoch FROM COALESCE(x.ended_at, now()) - x.started_at) / 60)::integer,
		'ongoing', x.ended_at IS NULL,
		'peak_c', x.peak_c, 'limit_c', x.limit_c, 'readings', x.readings)
	  FROM locations l WHERE l.id = x.location_id;
$$;
COMMENT ON FUNCTION bb_excursion_json(excursions) IS 'An excursion as the API shows it.';

/*
 * The excursions of a location found again around readings posted between
 * lo and hi. A run of readings above the limit ends at the first reading at
 * or below it, so runs are cut at such readings: the time from the last one
 * before lo to the first one after hi holds every run the new readings can
 * change. Each run is an excursion when it lasted at least the location's
 * excursion_minutes (start: its first reading above; end: the reading back
 * in range, or, while none has come, its last reading above).
 */
CREATE OR REPLACE FUNCTION bb_excursions_find(loc bigint, lo timestamptz, hi timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	lim numeric := bb_location_limit(loc);
	grace integer;
	a timestamptz := '-infinity';
	b timestamptz := 'infinity';
BEGIN
	SELECT l.excursion_minutes INTO grace FROM locations l WHERE l.id = loc;
	-- Without a limit nothing is found; what was found under an earlier one goes only
	-- when everything is found again (a new limit), not with each new reading.
	IF lim IS NULL AND (lo > '-infinity' OR hi < 'infinity') THEN
		RETURN;
	END IF;
	IF lim IS NOT NULL THEN
		SELECT COALESCE(max(r.at), '-infinity') INTO a FROM temperature_readings r
		 WHERE r.location_id = loc AND r.at < lo AND r.temperature_c <= lim;
		SELECT COALESCE(min(r.at), 'infinity') INTO b FROM temperature_readings r
		 WHERE r.location_id = loc AND r.at > hi AND r.temperature_c <= lim;
	END IF;
	DELETE FROM excursions x WHERE x.location_id = loc AND x.started_at BETWEEN a AND b;
	IF lim IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO excursions (location_id, started_at, ended_at, peak_c, limit_c, readings)
	SELECT loc, g.started, g.ended, g.peak, lim, g.n
	  FROM (SELECT min(w.at) FILTER (WHERE w.above) AS started,
		       min(w.at) FILTER (WHERE NOT w.above) AS ended,
		       max(w.at) FILTER (WHERE w.above) AS last_above,
		       max(w.temperature_c) FILTER (WHERE w.above) AS peak,
		       count(*) FILTER (WHERE w.above)::integer AS n
		  FROM (SELECT r.at, r.temperature_c, r.temperature_c > lim AS above,
			       count(*) FILTER (WHERE r.temperature_c <= lim)
				   OVER (ORDER BY r.at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS run
			  FROM temperature_readings r
			 WHERE r.location_id = loc AND r.at BETWEEN a AND b) w
		 GROUP BY w.run) g
	 WHERE g.n > 0
	   AND COALESCE(g.ended, g.last_above) - g.started >= make_interval(mins => grace);
END $$;
COMMENT ON FUNCTION bb_excursions_find(bigint, timestamptz, timestamptz) IS 'Finds again the excursions of a location that readings posted between lo and hi can change (all of them for -infinity, infinity).';

-- A reading's time as text: NULL unless it is one PostgreSQL reads, with a zone.
CREATE OR REPLACE FUNCTION bb_reading_time(v text) RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF v !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$' THEN
		RETURN NULL;
	END IF;
	RETURN v::timestamptz;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR invalid_time_zone_displacement_value THEN
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_reading_time(text) IS 'An RFC 3339 time with its zone, or NULL when the text is not one (2026-02-30, no zone).';

/*
 * POST /api/v1/locations/{id}/temperatures and /api/v1/temperatures: readings
 * stored all or none. Reading i is at ats[i] (RFC 3339), temps[i] °C, in
 * the location loc (the URL's) or the one whose barcode is codes[i] (a
 * monitoring export's column; when both are given they must agree), named
 * fields[i] in a refusal ("readings[2]", or the file's "line 14"). A reading
 * already stored with the same value is counted as unchanged (an export
 * sent twice); with another value, or listed twice, it is refused. Then the
 * excursions of each location are found again around the new readings, and
 * gaps in them (readings further apart than the location's
 * reading_gap_minutes) are reported: a gap is not an excursion.
 */
CREATE OR REPLACE FUNCTION bb_temperatures_add(loc bigint, codes text[], ats text[], temps numeric[],
	sensors text[], fields text[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	n integer := COALESCE(array_length(ats, 1), 0);
	errs jsonb;
	stored integer;
	places jsonb;
	l record;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF loc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM locations x WHERE x.id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	IF n = 0 THEN
		PERFORM bb_fail('BB400', 'value-required', 'readings', 'no reading to store');
	END IF;
	CREATE TEMP TABLE IF NOT EXISTS bb_new_readings (i integer, location_id bigint, code text, at timestamptz,
		at_text text, temperature_c numeric, sensor text, field text) ON COMMIT DROP;
	TRUNCATE bb_new_readings;
	INSERT INTO bb_new_readings
	SELECT u.i, COALESCE(x.id, CASE WHEN u.code IS NULL THEN loc END), u.code, bb_reading_time(u.at), u.at,
	       u.t, u.sensor, u.field
	  FROM unnest(codes, ats, temps, sensors, fields) WITH ORDINALITY AS u (code, at, t, sensor, field, i)
	  LEFT JOIN locations x ON x.barcode = u.code;

	-- Readings of one location arrive in one order whoever sends them.
	PERFORM 1 FROM locations x WHERE x.id IN (SELECT location_id FROM bb_new_readings) ORDER BY x.id FOR UPDATE;
	SELECT jsonb_agg(t.e ORDER BY t.i) INTO errs FROM (
		SELECT w.i, CASE
			WHEN w.location_id IS NULL AND w.code IS NULL THEN bb_refusal('BB400', 'value-required', w.field,
				'the reading names no location (post it to /locations/{id}/temperatures or give location_barcode)',
				jsonb_build_object('item', w.i - 1))
			WHEN w.location_id IS NULL THEN bb_refusal('BB400', 'unknown-location', w.field,
				format('no location has the barcode %s', w.code),
				jsonb_build_object('item', w.i - 1, 'location_barcode', w.code))
			WHEN loc IS NOT NULL AND w.location_id <> loc THEN bb_refusal('BB400', 'invalid-value', w.field,
				format('the reading is of %s, not of location %s', w.code, loc),
				jsonb_build_object('item', w.i - 1, 'location_barcode', w.code))
			WHEN w.at IS NULL THEN bb_refusal('BB400', 'value-malformed', w.field,
				format('"%s" is not a time with its zone (2026-11-04T15:00:00Z)', w.at_text),
				jsonb_build_object('item', w.i - 1))
			WHEN w.at > now() + interval '5 minutes' THEN bb_refusal('BB400', 'value-out-of-range', w.field,
				format('%s is in the future: check the clock of the instrument', w.at_text),
				jsonb_build_object('item', w.i - 1))
			WHEN w.temperature_c NOT BETWEEN -273 AND 200 THEN bb_refusal('BB400', 'value-out-of-range', w.field,
				format('%s °C is not a temperature a storage location has', w.temperature_c),
				jsonb_build_object('item', w.i - 1))
			WHEN w.first_i < w.i AND w.temperature_c <> w.first_t THEN bb_refusal('BB400', 'listed-twice', w.field,
				format('a reading at %s is listed twice with different values', bb_rfc3339(w.at)),
				jsonb_build_object('item', w.i - 1, 'at', bb_rfc3339(w.at)))
			WHEN r.temperature_c IS NOT NULL AND r.temperature_c <> round(w.temperature_c, 2) THEN
				bb_refusal('BB409', 'reading-conflict', w.field,
				format('a reading of %s °C at %s is stored already', r.temperature_c, bb_rfc3339(w.at)),
				jsonb_build_object('item', w.i - 1, 'at', bb_rfc3339(w.at), 'stored_c', r.temperature_c))
			END AS e
		  FROM (SELECT v.*, first_value(v.i) OVER p AS first_i, first_value(v.temperature_c) OVER p AS first_t
			  FROM bb_new_readings v
			WINDOW p AS (PARTITION BY v.location_id, v.at ORDER BY v.i)) w
		  LEFT JOIN temperature_readings r ON r.location_id = w.location_id AND r.at = w.at) t
	 WHERE t.e IS NOT NULL;
	IF errs IS NOT NULL THEN
		PERFORM bb_fail_each(errs);
	END IF;

	INSERT INTO temperature_readings (location_id, at, temperature_c, sensor)
	SELECT DISTINCT ON (v.location_id, v.at) v.location_id, v.at, v.temperature_c, v.sensor
	  FROM bb_new_readings v ORDER BY v.location_id, v.at, v.i
	ON CONFLICT (location_id, at) DO NOTHING;
	GET DIAGNOSTICS stored = ROW_COUNT;

	places := '[]';
	FOR l IN SELECT v.location_id AS id, min(v.at) AS lo, max(v.at) AS hi, count(*) AS k
		   FROM bb_new_readings v GROUP BY v.location_id ORDER BY v.location_id LOOP
		PERFORM bb_excursions_find(l.id, l.lo, l.hi);
		places := places || jsonb_build_object(
			'location', (SELECT jsonb_build_object('id', x.id, 'name', x.name, 'barcode', x.barcode, 'path', x.path)
				       FROM locations x WHERE x.id = l.id),
			'readings', l.k, 'from', bb_rfc3339(l.lo), 'to', bb_rfc3339(l.hi),
			'limit_c', bb_location_limit(l.id),
			'excursions', COALESCE((SELECT jsonb_agg(bb_excursion_json(x) ORDER BY x.started_at)
				FROM excursions x WHERE x.location_id = l.id
				  AND x.started_at <= l.hi AND COALESCE(x.ended_at, 'infinity') >= l.lo), '[]'),
			'gaps', COALESCE((SELECT jsonb_agg(jsonb_build_object('from', bb_rfc3339(g.at), 'to', bb_rfc3339(g.next_at),
					'minutes', floor(extract(epoch FROM g.next_at - g.at) / 60)::integer) ORDER BY g.at)
				FROM (SELECT r.at, lead(r.at) OVER (ORDER BY r.at) AS next_at FROM temperature_readings r
				       WHERE r.location_id = l.id AND r.at BETWEEN l.lo AND l.hi) g
				JOIN locations x ON x.id = l.id
			       WHERE g.next_at - g.at > make_interval(mins => x.reading_gap_minutes)), '[]'));
	END LOOP;
	RETURN jsonb_build_object('readings', n, 'stored', stored, 'unchanged', n - stored, 'locations', places);
END $$;
COMMENT ON FUNCTION bb_temperatures_add(bigint, text[], text[], numeric[], text[], text[], text, bigint) IS 'POST temperatures: stores readings all or none (the same reading again is unchanged), finds the excursions around them again and reports gaps.';

CREATE OR REPLACE FUNCTION bb_location_temperatures(loc bigint, since text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	l locations;
	t0 timestamptz;
BEGIN
	SELECT * INTO l FROM locations x WHERE x.id = loc;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	IF since IS NOT NULL THEN
		t0 := bb_reading_time(since);
		IF t0 IS NULL THEN
			PERFORM bb_fail('BB400', 'value-malformed', 'since', format('"%s" is not a time with its zone', since));
		END IF;
	END IF;
	RETURN jsonb_build_object('location', jsonb_build_object('id', l.id, 'name', l.name, 'path', l.path),
		'limit', jsonb_build_object('alarm_above_c', l.alarm_above_c, 'in_force_c', bb_location_limit(l.id),
			'excursion_minutes', l.excursion_minutes, 'reading_gap_minutes', l.reading_gap_minutes),
		'readings', COALESCE((SELECT jsonb_agg(jsonb_build_object('at', bb_rfc3339(r.at), 'temperature_c', r.temperature_c,
				'sensor', r.sensor) ORDER BY r.at)
			FROM (SELECT * FROM temperature_readings r WHERE r.location_id = l.id
				AND r.at >= COALESCE(t0, now() - interval '1 day') ORDER BY r.at LIMIT 2000) r), '[]'),
		'excursions', COALESCE((SELECT jsonb_agg(bb_excursion_json(x) ORDER BY x.started_at DESC)
			FROM excursions x JOIN locations y ON y.id = x.location_id
			WHERE y.ancestors @> ARRAY[l.id]), '[]'));
END $$;
COMMENT ON FUNCTION bb_location_temperatures(bigint, text) IS 'GET /api/v1/locations/{id}/temperatures: its limit, readings since a time (a day by default, 2,000 at most) and the excursions of it and below.';

CREATE OR REPLACE FUNCTION bb_location_limit_set(loc bigint, above numeric, minutes integer, gap integer,
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	UPDATE locations SET alarm_above_c = above, excursion_minutes = COALESCE(minutes, 10),
	       reading_gap_minutes = COALESCE(gap, 60)
	 WHERE id = loc;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	PERFORM bb_excursions_find(loc, '-infinity', 'infinity');
	RETURN bb_location_temperatures(loc, NULL);
END $$;
COMMENT ON FUNCTION bb_location_limit_set(bigint, numeric, integer, integer, text, bigint) IS 'PUT /api/v1/locations/{id}/temperature-limit: sets the limit and finds the location''s excursions again from all its readings.';

-- Exposure ---------------------------------------------------------------------

/*
 * The excursions a tube lived through: every excursion of a location its box
 * stood in, or above it, while the tube was in that box; the minutes are
 * those both lasted (an ongoing excursion, until now).
 */
CREATE OR REPLACE FUNCTION bb_tube_exposures(sid text)
RETURNS TABLE (excursion bigint, box text, since timestamptz, until timestamptz, minutes integer)
LANGUAGE sql STABLE AS $$
	SELECT x.id, p.box, greatest(p.since, x.started_at),
	       least(COALESCE(p.until, now()), COALESCE(x.ended_at, now())),
	       floor(extract(epoch FROM least(COALESCE(p.until, now()), COALESCE(x.ended_at, now()))
				   - greatest(p.since, x.started_at)) / 60)::integer
	  FROM bb_tube_places(sid) p
	  JOIN locations l ON l.id = p.loc
	  JOIN excursions x ON x.location_id = ANY (l.ancestors)
	   AND x.started_at < COALESCE(p.until, 'infinity') AND COALESCE(x.ended_at, 'infinity') > p.since;
$$;
COMMENT ON FUNCTION bb_tube_exposures(text) IS 'A tube''s exposures: each excursion of a location its box stood in (or above), while it was there, with the minutes.';

CREATE OR REPLACE FUNCTION bb_tube_exposures_json(sid text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_agg(bb_excursion_json(x) || jsonb_build_object('type', 'exposure', 'excursion', x.id,
		'box', e.box, 'exposed_from', bb_rfc3339(e.since), 'exposed_to', bb_rfc3339(e.until),
		'exposed_minutes', e.minutes) - 'id' ORDER BY e.since)
	  FROM bb_tube_exposures(sid) e JOIN excursions x ON x.id = e.excursion;
$$;
COMMENT ON FUNCTION bb_tube_exposures_json(text) IS 'A tube''s exposures as its history shows them, oldest first; NULL when none.';

/*
 * The limits of its type a tube is past, as [{limit, value, max}], or NULL
 * (none, or its type sets no limit: one look-up, so that lists stay quick).
 */
CREATE OR REPLACE FUNCTION bb_specimen_flags(s specimens) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	t specimen_types;
	flags jsonb := '[]';
	v integer;
BEGIN
	SELECT * INTO t FROM specimen_types x WHERE x.code = s.type;
	IF t.max_freeze_thaw IS NULL AND t.max_minutes_out IS NULL AND t.max_excursion_minutes IS NULL THEN
		RETURN NULL;
	END IF;
	IF s.freeze_thaw_count > t.max_freeze_thaw THEN
		flags := flags || jsonb_build_object('limit', 'freeze-thaw', 'value', s.freeze_thaw_count,
			'max', t.max_freeze_thaw);
	END IF;
	IF t.max_minutes_out IS NOT NULL THEN
		v := bb_tube_minutes_out(s.id);
		IF v > t.max_minutes_out THEN
			flags := flags || jsonb_build_object('limit', 'minutes-out', 'value', v, 'max', t.max_minutes_out);
		END IF;
	END IF;
	IF t.max_excursion_minutes IS NOT NULL THEN
		SELECT COALESCE(sum(e.minutes), 0) INTO v FROM bb_tube_exposures(s.id) e;
		IF v > t.max_excursion_minutes THEN
			flags := flags || jsonb_build_object('limit', 'excursion-minutes', 'value', v,
				'max', t.max_excursion_minutes);
		END IF;
	END IF;
	RETURN NULLIF(flags, '[]');
END $$;
COMMENT ON FUNCTION bb_specimen_flags(specimens) IS 'The limits of its specimen type a tube is past (freeze-thaw, minutes-out, excursion-minutes) with value and max; NULL when none.';

CREATE OR REPLACE FUNCTION bb_specimen_exposure(ref text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	s specimens := bb_specimen_visible(ref, studies);
	t specimen_types;
BEGIN
	SELECT * INTO t FROM specimen_types x WHERE x.code = s.type;
	RETURN jsonb_build_object('specimen', s.id, 'type', s.type,
		'freeze_thaw_count', s.freeze_thaw_count,
		'minutes_out_of_storage', bb_tube_minutes_out(s.id),
		'excursion_minutes', (SELECT COALESCE(sum(e.minutes), 0) FROM bb_tube_exposures(s.id) e),
		'limits', jsonb_build_object('max_freeze_thaw', t.max_freeze_thaw, 'max_minutes_out', t.max_minutes_out,
			'max_excursion_minutes', t.max_excursion_minutes),
		'flags', COALESCE(bb_specimen_flags(s), '[]'),
		'exposures', COALESCE(bb_tube_exposures_json(s.id), '[]'),
		'places', COALESCE((SELECT jsonb_agg(jsonb_build_object('location', p.loc, 'path', l.path, 'box', p.box,
				'since', bb_rfc3339(p.since), 'until', bb_rfc3339(p.until)) ORDER BY p.since)
			FROM bb_tube_places(s.id) p JOIN locations l ON l.id = p.loc), '[]'));
END $$;
COMMENT ON FUNCTION bb_specimen_exposure(text, bigint[]) IS 'GET /api/v1/specimens/{id}/exposure: freeze-thaw cycles, minutes out of storage, excursions lived through, where it stood, and the limits it is past.';

CREATE OR REPLACE FUNCTION bb_specimen_type_limits_set(code text, ft integer, mins_out integer, mins_exc integer,
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	t specimen_types;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	UPDATE specimen_types x SET max_freeze_thaw = ft, max_minutes_out = mins_out, max_excursion_minutes = mins_exc
	 WHERE x.code = bb_specimen_type_limits_set.code RETURNING * INTO t;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'specimen-type-not-found', NULL, format('no specimen type has the code %s', code));
	END IF;
	RETURN jsonb_build_object('code', t.code, 'name', t.name, 'max_freeze_thaw', t.max_freeze_thaw,
		'max_minutes_out', t.max_minutes_out, 'max_excursion_minutes', t.max_excursion_minutes);
END $$;
COMMENT ON FUNCTION bb_specimen_type_limits_set(text, integer, integer, integer, text, bigint) IS 'PUT /api/v1/specimen-types/{code}/limits: the freeze-thaw cycles, minutes out of storage and minutes of excursion a type tolerates (audited).';

/*
 * The tubes that lived through an excursion: those whose events put them in
 * a box that stood below its location while it lasted, checked tube by tube
 * against their own history (a tube taken out before it began is not).
 */
CREATE OR REPLACE FUNCTION bb_excursion_get(xid bigint, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	x excursions;
BEGIN
	SELECT * INTO x FROM excursions e WHERE e.id = xid;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'excursion-not-found', NULL, format('no excursion has the id %s', xid));
	END IF;
	RETURN bb_excursion_json(x) || jsonb_build_object('tubes', COALESCE((
		SELECT jsonb_agg(jsonb_build_object('specimen', c.id, 'type', s.type, 'box', e.box,
			'exposed_from', bb_rfc3339(e.since), 'exposed_to', bb_rfc3339(e.until), 'minutes', e.minutes)
			ORDER BY s.serial, e.since)
		  FROM (SELECT DISTINCT ev.specimen_id AS id
			  FROM box_stays bs
			  JOIN locations l ON l.id = bs.location_id AND l.ancestors @> ARRAY[x.location_id]
			  JOIN events ev ON ev.to_box = bs.barcode AND ev.at < COALESCE(x.ended_at, 'infinity')
			 WHERE bs.since < COALESCE(x.ended_at, 'infinity') AND COALESCE(bs.until, 'infinity') > x.started_at) c
		  JOIN specimens s ON s.id = c.id AND (studies IS NULL OR s.study_id = ANY (studies))
		  CROSS JOIN LATERAL bb_tube_exposures(c.id) e
		 WHERE e.excursion = x.id), '[]'));
END $$;
COMMENT ON FUNCTION bb_excursion_get(bigint, bigint[]) IS 'GET /api/v1/excursions/{id}: the excursion and every tube (of the caller''s studies) that lived through it, with the minutes.';

/*
 * GET /api/v1/reports/exposure?location=: the tubes past a limit of their
 * type, in storage or checked out, below a location or anywhere. Only
 * types that set a limit are read (specimen_types_limited).
 */
CREATE OR REPLACE FUNCTION bb_report_exposure(p_location text, studies bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	loc bigint := CASE WHEN p_location IS NULL THEN NULL ELSE bb_location_filter_text(p_location) END;
	items jsonb;
BEGIN
	SELECT COALESCE(jsonb_agg(jsonb_build_object('specimen', f.id, 'type', f.type,
		'participant', jsonb_build_object('study', st.code, 'code', p.code), 'status', f.status,
		'location', CASE WHEN b.id IS NULL THEN NULL ELSE jsonb_build_object('box', b.barcode,
			'position', bb_position_name(f.pos_row, f.pos_col), 'path', bb_location_path(b.location_id) || to_jsonb(b.barcode)) END,
		'flags', f.flags) ORDER BY f.serial), '[]')
	  INTO items
	  FROM (SELECT s.*, bb_specimen_flags(s) AS flags
		  FROM specimens s
		 WHERE s.type IN (SELECT t.code FROM specimen_types t WHERE t.max_freeze_thaw IS NOT NULL
				    OR t.max_minutes_out IS NOT NULL OR t.max_excursion_minutes IS NOT NULL)
		   AND s.status IN ('in_storage', 'checked_out')
		   AND (studies IS NULL OR s.study_id = ANY (studies))
		   AND (loc IS NULL OR s.box_id = ANY (bb_location_boxes(loc)))) f
	  JOIN participants p ON p.id = f.participant_id JOIN studies st ON st.id = p.study_id
	  LEFT JOIN boxes b ON b.id = f.box_id
	 WHERE f.flags IS NOT NULL;
	RETURN jsonb_build_object('location', loc, 'count', jsonb_array_length(items), 'items', items);
END $$;
COMMENT ON FUNCTION bb_report_exposure(text, bigint[]) IS 'GET /api/v1/reports/exposure: tubes in storage or checked out past a limit of their type, optionally below a location.';

-- Maintenance -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION bb_maintenance_json(m maintenance_tasks) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', m.id, 'location', jsonb_build_object('id', l.id, 'name', l.name, 'path', l.path),
		'kind', m.kind, 'due_on', m.due_on, 'every_days', m.every_days, 'notes', m.notes,
		'created_by', m.created_by, 'created_at', bb_rfc3339(m.created_at),
		'done_at', bb_rfc3339(m.done_at), 'done_by', m.done_by, 'done_notes', m.done_notes,
		'overdue', m.done_at IS NULL AND m.due_on < current_date,
		'days_overdue', CASE WHEN m.done_at IS NULL AND m.due_on < current_date THEN current_date - m.due_on END)
	  FROM locations l WHERE l.id = m.location_id;
$$;
COMMENT ON FUNCTION bb_maintenance_json(maintenance_tasks) IS 'A maintenance task as the API shows it.';

CREATE OR REPLACE FUNCTION bb_maintenance_create(loc bigint, kind text, due text, every_days integer, notes text,
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	m maintenance_tasks;
	d date;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	IF NOT EXISTS (SELECT 1 FROM locations x WHERE x.id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	d := bb_maintenance_date(due, 'due_on');
	INSERT INTO maintenance_tasks (location_id, kind, due_on, every_days, notes, created_by)
	VALUES (loc, kind, d, every_days, notes, actor) RETURNING * INTO m;
	RETURN bb_maintenance_json(m);
END $$;
COMMENT ON FUNCTION bb_maintenance_create(bigint, text, text, integer, text, text, bigint) IS 'POST /api/v1/locations/{id}/maintenance: schedules a task (audited).';

CREATE OR REPLACE FUNCTION bb_maintenance_date(v text, field text) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF v !~ '^\d{4}-\d{2}-\d{2}$' THEN
		PERFORM bb_fail('BB400', 'value-malformed', field, format('"%s" is not a date (2026-12-31)', v));
	END IF;
	RETURN v::date;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
	PERFORM bb_fail('BB400', 'value-malformed', field, format('"%s" is not a date of the calendar', v));
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_maintenance_date(text, text) IS 'A date YYYY-MM-DD of the calendar, or BB400 value-malformed naming field.';

/*
 * A task done: by whom and when (now, unless done_at says earlier), once. A
 * recurring task schedules its next one every_days after the day it was done.
 */
CREATE OR REPLACE FUNCTION bb_maintenance_done(tid bigint, notes text, at text, actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	m maintenance_tasks;
	nxt maintenance_tasks;
	t timestamptz := now();
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	SELECT * INTO m FROM maintenance_tasks x WHERE x.id = tid FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'maintenance-task-not-found', NULL, format('no maintenance task has the id %s', tid));
	END IF;
	IF m.done_at IS NOT NULL THEN
		PERFORM bb_fail('BB409', 'task-done', NULL,
			format('task %s was done by %s at %s', m.id, m.done_by, bb_rfc3339(m.done_at)),
			jsonb_build_object('task', m.id, 'done_by', m.done_by, 'done_at', bb_rfc3339(m.done_at)));
	END IF;
	IF at IS NOT NULL THEN
		t := bb_reading_time(at);
		IF t IS NULL OR t > now() THEN
			PERFORM bb_fail('BB400', 'value-malformed', 'done_at',
				format('"%s" is not a past time with its zone (2026-12-07T09:30:00Z)', at));
		END IF;
	END IF;
	UPDATE maintenance_tasks SET done_at = t, done_by = actor, done_notes = bb_maintenance_done.notes WHERE id = m.id RETURNING * INTO m;
	IF m.every_days IS NOT NULL THEN
		INSERT INTO maintenance_tasks (location_id, kind, due_on, every_days, notes, created_by)
		VALUES (m.location_id, m.kind, (t::date) + m.every_days, m.every_days, m.notes, actor) RETURNING * INTO nxt;
	END IF;
	RETURN bb_maintenance_json(m) || jsonb_build_object('next', CASE WHEN nxt.id IS NULL THEN NULL ELSE bb_maintenance_json(nxt) END);
END $$;
COMMENT ON FUNCTION bb_maintenance_done(bigint, text, text, text, bigint) IS 'POST /api/v1/maintenance/{id}/done: records who did a task and when, once; a recurring task schedules its next.';

CREATE OR REPLACE FUNCTION bb_location_maintenance(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM locations x WHERE x.id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	RETURN jsonb_build_object('items', COALESCE((SELECT jsonb_agg(bb_maintenance_json(m)
			ORDER BY m.done_at IS NOT NULL, m.due_on, m.done_at DESC, m.id)
		FROM maintenance_tasks m WHERE m.location_id = loc), '[]'));
END $$;
COMMENT ON FUNCTION bb_location_maintenance(bigint) IS 'GET /api/v1/locations/{id}/maintenance: its tasks, open ones first by due date, then those done.';

CREATE OR REPLACE FUNCTION bb_maintenance_overdue(p_location text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	loc bigint := CASE WHEN p_location IS NULL THEN NULL ELSE bb_location_filter_text(p_location) END;
	items jsonb;
BEGIN
	SELECT COALESCE(jsonb_agg(bb_maintenance_json(m) ORDER BY m.due_on, m.id), '[]') INTO items
	  FROM maintenance_tasks m JOIN locations l ON l.id = m.location_id
	 WHERE m.done_at IS NULL AND m.due_on < current_date
	   AND (loc IS NULL OR l.ancestors @> ARRAY[loc]);
	RETURN jsonb_build_object('date', current_date, 'count', jsonb_array_length(items), 'items', items);
END $$;
COMMENT ON FUNCTION bb_maintenance_overdue(text) IS 'GET /api/v1/maintenance/overdue: open tasks due before today, oldest first, optionally below a location.';

CREATE OR REPLACE TRIGGER maintenance_tasks_audit AFTER INSERT OR UPDATE OR DELETE ON maintenance_tasks
	FOR EACH ROW EXECUTE FUNCTION bb_audit('maintenance_task');

-- Evacuation of a failed freezer --------------------------------------------------

/*
 * Where each box below a failed location could go: places outside it with
 * declared box slots (as the capacity search offers them) whose rules accept
 * every kind of tube in the box (bb_rule_refusal), boxes taken in path
 * order. A place at the same nominal temperature is preferred, then the one
 * already chosen for the box before (a rack's boxes stay together), then
 * the one with the most free slots. A box with nowhere to go has no
 * destination and says why.
 */
CREATE OR REPLACE FUNCTION bb_evacuation_plan_rows(loc bigint)
RETURNS TABLE (i integer, box_id bigint, barcode text, from_path jsonb, tubes integer, dest bigint, dest_path jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	b record;
	src_nominal text := bb_nominal_at(NULL, loc) ->> 'value';
	last_dest bigint;
	k integer := 0;
	pick integer;
	-- the places, and the slots left in each as boxes are given to them
	p_ids bigint[];
	p_paths jsonb[];
	p_free integer[];
	p_nominal text[];
BEGIN
	SELECT array_agg(l.id ORDER BY l.id), array_agg(l.path ORDER BY l.id),
	       array_agg(l.box_slots - (SELECT count(*) FROM boxes x WHERE x.location_id = l.id)::integer ORDER BY l.id),
	       array_agg(bb_nominal_at(NULL, l.id) ->> 'value' ORDER BY l.id)
	  INTO p_ids, p_paths, p_free, p_nominal
	  FROM locations l
	 WHERE l.box_slots IS NOT NULL AND NOT l.ancestors @> ARRAY[loc] AND l.kind IN ('freezer', 'shelf', 'rack');
	FOR b IN SELECT x.id, x.barcode, bb_location_path(x.location_id) || to_jsonb(x.barcode) AS path,
			(SELECT count(*) FROM specimens s WHERE s.box_id = x.id)::integer AS n
		   FROM boxes x JOIN locations l ON l.id = x.location_id
		  WHERE l.ancestors @> ARRAY[loc]
		  ORDER BY l.path::text, x.barcode LOOP
		k := k + 1;
		i := k; box_id := b.id; barcode := b.barcode; from_path := b.path; tubes := b.n;
		SELECT u.n INTO pick
		  FROM unnest(p_ids, p_free, p_nominal) WITH ORDINALITY AS u (id, free, nominal, n)
		 WHERE u.free > 0
		   AND NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT s.type, s.study_id FROM specimens s WHERE s.box_id = b.id) c
				    WHERE bb_rule_refusal(NULL, u.id, c.type, c.study_id, NULL, NULL) IS NOT NULL)
		 ORDER BY (u.nominal IS NOT DISTINCT FROM src_nominal) DESC, (u.id = last_dest) DESC NULLS LAST,
			  u.free DESC, u.id
		 LIMIT 1;
		IF pick IS NOT NULL THEN
			dest := p_ids[pick];
			dest_path := p_paths[pick];
			p_free[pick] := p_free[pick] - 1;
			last_dest := dest;
		ELSE
			dest := NULL;
			dest_path := NULL;
		END IF;
		pick := NULL;
		RETURN NEXT;
	END LOOP;
END $$;
COMMENT ON FUNCTION bb_evacuation_plan_rows(bigint) IS 'Each box below a location with a proposed destination outside it under the rules and box slots (NULL: none).';

CREATE OR REPLACE FUNCTION bb_evacuation_plan(loc bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	l locations;
	items jsonb;
BEGIN
	SELECT * INTO l FROM locations x WHERE x.id = loc;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	SELECT COALESCE(jsonb_agg(jsonb_build_object('step', p.i, 'box', p.barcode, 'from', p.from_path, 'tubes', p.tubes,
		'to', CASE WHEN p.dest IS NULL THEN NULL ELSE jsonb_build_object('id', p.dest, 'path', p.dest_path) END,
		'problem', CASE WHEN p.dest IS NULL THEN 'no-room' END) ORDER BY p.i), '[]')
	  INTO items FROM bb_evacuation_plan_rows(loc) p;
	RETURN jsonb_build_object('location', jsonb_build_object('id', l.id, 'name', l.name, 'path', l.path),
		'boxes', jsonb_array_length(items),
		'tubes', (SELECT COALESCE(sum((x ->> 'tubes')::integer), 0) FROM jsonb_array_elements(items) x),
		'unplaced', (SELECT count(*) FROM jsonb_array_elements(items) x WHERE x -> 'to' = 'null'),
		'items', items);
END $$;
COMMENT ON FUNCTION bb_evacuation_plan(bigint) IS 'GET /api/v1/locations/{id}/evacuation: the pick list of every box in a failed location with its proposed destination.';

-- The same pick list as CSV rows (GET with Accept: text/csv).
CREATE OR REPLACE FUNCTION bb_evacuation_csv(loc bigint)
RETURNS TABLE (step integer, box text, tubes integer, from_path text, to_location bigint, to_path text, problem text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM locations x WHERE x.id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	RETURN QUERY SELECT p.i, p.barcode, p.tubes,
		(SELECT string_agg(x, ' / ') FROM jsonb_array_elements_text(p.from_path) x), p.dest,
		(SELECT string_agg(x, ' / ') FROM jsonb_array_elements_text(p.dest_path) x),
		CASE WHEN p.dest IS NULL THEN 'no-room' END
	  FROM bb_evacuation_plan_rows(loc) p ORDER BY p.i;
END $$;
COMMENT ON FUNCTION bb_evacuation_csv(bigint) IS 'GET /api/v1/locations/{id}/evacuation as CSV: the pick list, one box a row.';

/*
 * POST /api/v1/locations/{id}/evacuation: every box below the location moved
 * out as box moves (bb_boxes_move: moved events, rules and slots checked),
 * all or nothing. codes/dests: the moves the caller accepted (the plan, or
 * one edited by hand), which must take out every box and only those; NULL:
 * the plan as proposed now, refused while a box has nowhere to go.
 */
CREATE OR REPLACE FUNCTION bb_location_evacuate(loc bigint, codes text[], dests bigint[], reason text,
	studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	errs jsonb;
	moved jsonb;
	n integer;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM locations x WHERE x.id = loc) THEN
		PERFORM bb_fail('BB404', 'location-not-found', NULL, format('no location has the id %s', loc));
	END IF;
	-- The boxes inside stay where they are until this is done: no box comes in or goes out meanwhile.
	PERFORM 1 FROM boxes x JOIN locations l ON l.id = x.location_id
	 WHERE l.ancestors @> ARRAY[loc] ORDER BY x.barcode FOR UPDATE OF x;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 100 THEN
		PERFORM bb_fail('BB409', 'evacuation-too-large', NULL,
			format('the location holds %s boxes, more than one request moves (100): evacuate it shelf by shelf or rack by rack', n),
			jsonb_build_object('boxes', n));
	END IF;
	IF codes IS NULL THEN
		SELECT array_agg(p.barcode ORDER BY p.i), array_agg(p.dest ORDER BY p.i),
		       jsonb_agg(bb_refusal('BB409', 'no-room', NULL,
				format('box %s has nowhere to go under the rules and box slots', p.barcode),
				jsonb_build_object('item', p.i - 1, 'box', p.barcode)) ORDER BY p.i) FILTER (WHERE p.dest IS NULL)
		  INTO codes, dests, errs
		  FROM bb_evacuation_plan_rows(loc) p;
		IF errs IS NOT NULL THEN
			PERFORM bb_fail_each(errs);
		END IF;
		IF codes IS NULL THEN
			PERFORM bb_fail('BB409', 'nothing-to-move', NULL, 'the location holds no box');
		END IF;
	ELSE
		SELECT jsonb_agg(t.e ORDER BY t.k) INTO errs FROM (
			SELECT 0 AS k, bb_refusal('BB409', 'evacuation-incomplete', 'moves',
				format('box %s is in the location and not in the moves', x.barcode),
				jsonb_build_object('box', x.barcode)) AS e
			  FROM boxes x JOIN locations l ON l.id = x.location_id
			 WHERE l.ancestors @> ARRAY[loc] AND NOT x.barcode = ANY (codes)
			UNION ALL
			SELECT u.i, bb_refusal('BB400', 'not-in-location', format('moves[%s].box', u.i - 1),
				format('box %s is not in the location evacuated', u.code),
				jsonb_build_object('item', u.i - 1, 'box', u.code))
			  FROM unnest(codes) WITH ORDINALITY AS u (code, i)
			  JOIN boxes x ON x.barcode = u.code JOIN locations l ON l.id = x.location_id
			 WHERE NOT l.ancestors @> ARRAY[loc]
			UNION ALL
			SELECT u.i, bb_refusal('BB400', 'location-nesting', format('moves[%s].to', u.i - 1),
				format('location %s is inside the location evacuated', u.dest),
				jsonb_build_object('item', u.i - 1, 'location', u.dest))
			  FROM unnest(dests) WITH ORDINALITY AS u (dest, i)
			  JOIN locations l ON l.id = u.dest
			 WHERE l.ancestors @> ARRAY[loc]) t;
		IF errs IS NOT NULL THEN
			PERFORM bb_fail_each(errs);
		END IF;
	END IF;
	moved := bb_boxes_move(codes, dests, reason, false, studies, actor, actor_id);
	RETURN moved || jsonb_build_object('location', loc);
END $$;
COMMENT ON FUNCTION bb_location_evacuate(bigint, text[], bigint[], text, bigint[], text, bigint) IS 'POST /api/v1/locations/{id}/evacuation: moves every box out (the plan, or the moves given, which must cover every box) as box moves, all or nothing.';

-- FHIR -------------------------------------------------------------------------------

/*
 * The limits a tube is past as FHIR Specimen.condition (CodeableConcept):
 * a code of ours (urn:biobank:specimen-condition, docs/fhir.md; HL7 table
 * 0493 has no code for these) and the words a person reads. NULL when none.
 */
CREATE OR REPLACE FUNCTION bb_fhir_conditions(flags jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_agg(jsonb_build_object(
		'coding', jsonb_build_array(jsonb_build_object('system', 'urn:biobank:specimen-condition',
			'code', 'past-limit-' || (f ->> 'limit'),
			'display', CASE f ->> 'limit' WHEN 'freeze-thaw' THEN 'Past its freeze-thaw limit'
				WHEN 'minutes-out' THEN 'Past its time out of storage'
				ELSE 'Past its temperature excursion limit' END)),
		'text', format('%s %s, more than the %s its type allows',
			f ->> 'value', CASE f ->> 'limit' WHEN 'freeze-thaw' THEN 'freeze-thaw cycles'
				WHEN 'minutes-out' THEN 'minutes out of storage' ELSE 'minutes in temperature excursions' END,
			f ->> 'max')))
	  FROM jsonb_array_elements(flags) f;
$$;
COMMENT ON FUNCTION bb_fhir_conditions(jsonb) IS 'The limits a tube is past (bb_specimen_flags) as FHIR Specimen.condition, or NULL.';
