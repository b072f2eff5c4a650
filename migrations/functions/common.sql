-- functions/common.sql — Helpers every area uses: times as RFC 3339, errors
-- with an SQLSTATE, the acting user, list cursors, box positions.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

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
 * Errors are data. Every refusal of an API function goes through bb_fail,
 * which raises
 *   SQLSTATE  state: BB400 (the request is wrong), BB404 (the object named by
 *             the URL does not exist), BB409 (the state of the data forbids it);
 *   MESSAGE   the sentence a person reads, without the field's name;
 *   COLUMN    the field at fault as a full path into the request body
 *             ("placements[2].position", "quantity.unit"), or nothing;
 *   DETAIL    a JSON object: {"code": code} and the facts, such as
 *             {"code": "position-occupied", "box": "B1", "position": "A1",
 *              "occupant": "QJ3FJKHF"}. A refusal of several items of one
 *             list carries "errors": [{"field", "code", "message", "item"}].
 * The daemon reads these fields (libpq PQresultErrorField), never the
 * message text: the code picks the answer's status and "code" member (the
 * codes are one table in server/reply.c and one list in docs/api.md), COLUMN
 * becomes errors[].field and the facts become members of the problem.
 * Facts are named so as not to clash with RFC 9457's members (type, title,
 * status, detail, instance) or ours (code, errors).
 */
DROP FUNCTION IF EXISTS bb_fail(text, text);
CREATE OR REPLACE FUNCTION bb_fail(state text, code text, field text, message text, facts jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, COLUMN = COALESCE(field, ''),
		DETAIL = (jsonb_build_object('code', code) || COALESCE(facts, '{}'))::text;
END $$;
COMMENT ON FUNCTION bb_fail(text, text, text, text, jsonb) IS 'Raises an API error: SQLSTATE BB400/BB404/BB409, the message, the field at fault as COLUMN and {"code": ..., facts} as JSON in DETAIL (see the comment above it).';

-- A refusal of several items of one list, e.g. [{"state": "BB400", "code": "listed-twice",
-- "field": "placements[2].position", "message": "A1 is listed twice", "item": 2}, ...]:
-- BB400 when something in the request is wrong, else BB404 when an item names nothing the
-- caller may see, else BB409 (every item is refused by the state of the data); the code of
-- the items when they share one, else the generic code of that status.
CREATE OR REPLACE FUNCTION bb_fail_list(errors jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	n integer := jsonb_array_length(errors);
	state text;
	codes text[];
BEGIN
	SELECT CASE WHEN bool_or(e ->> 'state' = 'BB400') THEN 'BB400'
		    WHEN bool_or(e ->> 'state' = 'BB404') THEN 'BB404' ELSE 'BB409' END,
	       array_agg(DISTINCT e ->> 'code')
	  INTO state, codes FROM jsonb_array_elements(errors) e;
	PERFORM bb_fail(state,
		CASE WHEN cardinality(codes) = 1 THEN codes[1]
		     WHEN state = 'BB409' THEN 'conflict' WHEN state = 'BB404' THEN 'not-found'
		     ELSE 'invalid-input' END,
		errors -> 0 ->> 'field',
		CASE WHEN n = 1 THEN errors -> 0 ->> 'message'
		     ELSE format('%s items are refused: see errors', n) END,
		jsonb_build_object('errors', (SELECT jsonb_agg(e - 'state') FROM jsonb_array_elements(errors) e)));
END $$;
COMMENT ON FUNCTION bb_fail_list(jsonb) IS 'Raises one API error listing every refused item of a list (errors in DETAIL), through bb_fail.';

-- The refusals of a request's items, as bb_fail_list takes them: one raised
-- alone as bb_fail would (its facts as members, so that the answer to one
-- slip reads as it always has), several as one list.
CREATE OR REPLACE FUNCTION bb_fail_each(errors jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	e jsonb := errors -> 0;
BEGIN
	IF jsonb_array_length(errors) = 1 THEN
		PERFORM bb_fail(e ->> 'state', e ->> 'code', e ->> 'field', e ->> 'message',
			e - ARRAY['state', 'code', 'field', 'message', 'item']);
	END IF;
	PERFORM bb_fail_list(errors);
END $$;
COMMENT ON FUNCTION bb_fail_each(jsonb) IS 'Raises the refusals of a request''s items: one as bb_fail, several as bb_fail_list.';

-- An item's refusal for bb_fail_each and bb_fail_list.
CREATE OR REPLACE FUNCTION bb_refusal(state text, code text, field text, message text, facts jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('state', state, 'code', code, 'field', field, 'message', message)
		|| COALESCE(facts, '{}');
$$;
COMMENT ON FUNCTION bb_refusal(text, text, text, text, jsonb) IS 'One refused item of a request, as bb_fail_each and bb_fail_list take it.';

-- Positions are written A1 ... Z48; A01 and a1 are read too. The position of
-- field within a grid of max_rows x max_cols (of box, when named): r and c,
-- or err, its refusal.
CREATE OR REPLACE FUNCTION bb_position_check(pos text, max_rows integer, max_cols integer, field text,
	box text, OUT r integer, OUT c integer, OUT err jsonb) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	m text[] := regexp_match(upper(btrim(pos)), '^([A-Z])0*([1-9][0-9]?)$');
BEGIN
	IF m IS NULL THEN
		err := bb_refusal('BB400', 'position-invalid', field,
			format('"%s" is not a position such as A1', pos));
		RETURN;
	END IF;
	r := ascii(m[1]) - 64;
	c := m[2]::integer;
	IF r > max_rows OR c > max_cols THEN
		err := bb_refusal('BB400', 'position-outside-box', field,
			format('%s is outside %s (%s rows, %s columns)', chr(64 + r) || c,
				COALESCE('box ' || box, 'the box'), max_rows, max_cols),
			jsonb_strip_nulls(jsonb_build_object('box', box, 'rows', max_rows, 'cols', max_cols)));
		r := NULL;
		c := NULL;
	END IF;
END $$;
COMMENT ON FUNCTION bb_position_check(text, integer, integer, text, text) IS 'Reads a position such as A1 within a box''s grid: its row and column, or the refusal naming field.';

CREATE OR REPLACE FUNCTION bb_parse_position(pos text, max_rows integer, max_cols integer,
	OUT r integer, OUT c integer) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	err jsonb;
BEGIN
	SELECT p.r, p.c, p.err INTO r, c, err FROM bb_position_check(pos, max_rows, max_cols, 'position', NULL) p;
	IF err IS NOT NULL THEN
		PERFORM bb_fail_each(jsonb_build_array(err));
	END IF;
END $$;
COMMENT ON FUNCTION bb_parse_position(text, integer, integer) IS 'Reads a position such as A1 within a box''s grid, or raises BB400.';

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

-- Every write of the daemon starts by saying who it is, for triggers and events.
CREATE OR REPLACE FUNCTION bb_set_actor(actor text, actor_id bigint) RETURNS void LANGUAGE sql AS $$
	SELECT set_config('bb.actor', actor, true), set_config('bb.actor_id', COALESCE(actor_id::text, ''), true);
$$;
COMMENT ON FUNCTION bb_set_actor(text, bigint) IS 'Names the API user for the rest of the transaction.';

CREATE OR REPLACE FUNCTION bb_cursor_make(kind text, key jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT translate(encode(convert_to(kind || ':' || key::text, 'UTF8'), 'base64'),
		E'+/=\n', '-_');
$$;
COMMENT ON FUNCTION bb_cursor_make(text, jsonb) IS 'An opaque next_cursor for a list of kind that ended at key.';

CREATE OR REPLACE FUNCTION bb_cursor_read(kind text, cursor text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	b64 text;
	plain text;
	key jsonb;
BEGIN
	IF cursor IS NULL THEN
		RETURN NULL;
	END IF;
	BEGIN
		b64 := translate(cursor, '-_', '+/');
		b64 := b64 || repeat('=', (4 - length(b64) % 4) % 4);
		plain := convert_from(decode(b64, 'base64'), 'UTF8');
		IF left(plain, length(kind) + 1) = kind || ':' THEN
			key := substr(plain, length(kind) + 2)::jsonb;
		END IF;
	EXCEPTION WHEN OTHERS THEN
		key := NULL;
	END;
	IF key IS NULL OR jsonb_typeof(key) <> 'array' THEN
		PERFORM bb_fail('BB400', 'cursor-invalid', 'cursor',
			'is not a cursor of this list (pass next_cursor back unchanged)');
	END IF;
	RETURN key;
END $$;
COMMENT ON FUNCTION bb_cursor_read(text, text) IS 'The key inside a cursor made by bb_cursor_make for kind; NULL for no cursor; BB400 naming cursor for anything else.';
