-- 0034: the custody ledger written in bulk (issue 16: 10^5 imported rows
-- committed in under a minute; docs/performance.md, "Inventory import").
--
-- The canonical bytes do not change (docs/ledger.md): version 1 and 2
-- events verify as before, and lib/ledger.c checks every hash made here.
-- What changes is how fast PostgreSQL makes them, and who may make them:
--  * bb_event_digest_v2 was 13 nested SQL functions that the planner could
--    not inline (an IMMUTABLE function may not inline convert_to, which is
--    STABLE): each field went through the SQL-function executor, about
--    0.5 ms an event. It is now one expression with the same bytes, which
--    the planner inlines into the trigger and into set-based statements.
--  * An INSERT that brings its own hash (only the schema owner's functions
--    can insert events at all: migrations/0016_roles.sql) skips the row
--    trigger: bb_import_commit chains a whole file's events in two set-based
--    statements. The statement trigger below checks every such event as it
--    lands: the chain's rules (number, time, format, hash, link to the
--    previous event, the specimen's head) are still the database's.
--  * The transparency log's queue is filled once per statement from its
--    transition table instead of once per event.
-- Like 0020 and 0021 these live here, not in functions/: a body applied
-- again would silently change what is stored and what the log holds.

/*
 * The same bytes as sha256(bb_event_bytes_v2(2, ...)) (checked against it in
 * tests/api/test_import_ledger.c): each field "<UTF-8 byte length>:<UTF-8
 * bytes>;", NULL as "-;". The text is concatenated first and converted
 * once (converting a concatenation is concatenating the conversions).
 * STABLE, like convert_to and extract, so that it inlines.
 */
CREATE OR REPLACE FUNCTION bb_event_digest_v2(specimen_id text, seq integer, type text, at timestamptz,
	actor text, from_box text, from_pos text, to_box text, to_pos text, reason text,
	details jsonb, prev_hash bytea)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT sha256(convert_to('1:2;'
		|| COALESCE(octet_length(convert_to(specimen_id, 'UTF8')) || ':' || specimen_id || ';', '-;')
		|| COALESCE(octet_length(convert_to(seq::text, 'UTF8')) || ':' || seq::text || ';', '-;')
		|| COALESCE(octet_length(convert_to(type, 'UTF8')) || ':' || type || ';', '-;')
		|| COALESCE(octet_length(convert_to((extract(epoch FROM at) * 1000000)::bigint::text, 'UTF8'))
			|| ':' || (extract(epoch FROM at) * 1000000)::bigint::text || ';', '-;')
		|| COALESCE(octet_length(convert_to(actor, 'UTF8')) || ':' || actor || ';', '-;')
		|| COALESCE(octet_length(convert_to(from_box, 'UTF8')) || ':' || from_box || ';', '-;')
		|| COALESCE(octet_length(convert_to(from_pos, 'UTF8')) || ':' || from_pos || ';', '-;')
		|| COALESCE(octet_length(convert_to(to_box, 'UTF8')) || ':' || to_box || ';', '-;')
		|| COALESCE(octet_length(convert_to(to_pos, 'UTF8')) || ':' || to_pos || ';', '-;')
		|| COALESCE(octet_length(convert_to(reason, 'UTF8')) || ':' || reason || ';', '-;')
		|| COALESCE(octet_length(convert_to(details::text, 'UTF8')) || ':' || details::text || ';', '-;')
		|| COALESCE(octet_length(convert_to(encode(prev_hash, 'hex'), 'UTF8')) || ':'
			|| encode(prev_hash, 'hex') || ';', '-;'), 'UTF8'));
$$;
COMMENT ON FUNCTION bb_event_digest_v2(text, integer, text, timestamptz, text, text, text, text, text, text, jsonb, bytea)
	IS 'SHA-256 of an event''s canonical bytes, version 2 (see docs/ledger.md); one inlinable expression, the bytes of bb_event_bytes_v2.';

-- The row trigger chains what comes without a hash: every write but an import's.
DROP TRIGGER events_chain ON events;
CREATE TRIGGER events_chain BEFORE INSERT ON events
	FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION bb_events_chain_v2();

/*
 * After each INSERT into events: every new event into the log's queue, in
 * the order written; and every event that came with its own hash checked
 * as the row trigger would have made it. Events the row trigger chained
 * pass the same checks (they cost one digest each: a few microseconds).
 * The checks, all against the stored rows:
 *  - format 2, and the hash is the digest of the event's bytes;
 *  - seq 1 links to 64 zeros, seq n to the stored hash of event n - 1;
 *  - the specimen's ledger_seq and ledger_head name its last event;
 *  - actor and time are those of this transaction (no event dated before
 *    it began, none after now).
 */
CREATE OR REPLACE FUNCTION bb_log_queue() RETURNS trigger LANGUAGE plpgsql
	SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	bad record;
BEGIN
	INSERT INTO log_pending (specimen_id, seq) SELECT a.specimen_id, a.seq FROM added a;
	-- No LIMIT: planned for the first bad row, 10^5 events were joined by
	-- index lookups; without it the plan fits the statement's size.
	SELECT a.specimen_id, a.seq INTO bad
	  FROM added a
	  JOIN specimens s ON s.id = a.specimen_id
	  LEFT JOIN added q ON q.specimen_id = a.specimen_id AND q.seq = a.seq - 1
	 WHERE a.format <> 2
	    OR a.hash IS DISTINCT FROM bb_event_digest_v2(a.specimen_id, a.seq, a.type, a.at, a.actor,
		a.from_box, a.from_pos, a.to_box, a.to_pos, a.reason, a.details, a.prev_hash)
	    OR a.prev_hash IS DISTINCT FROM CASE
		WHEN a.seq = 1 THEN '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
		WHEN q.specimen_id IS NOT NULL THEN q.hash
		ELSE (SELECT p.hash FROM events p WHERE p.specimen_id = a.specimen_id AND p.seq = a.seq - 1) END
	    OR a.seq > s.ledger_seq
	    OR (a.seq = s.ledger_seq AND a.hash IS DISTINCT FROM s.ledger_head)
	    OR a.at < transaction_timestamp() OR a.at > clock_timestamp();
	IF FOUND THEN
		RAISE EXCEPTION 'event % of specimen % does not chain', bad.seq, bad.specimen_id
			USING ERRCODE = 'BB409';
	END IF;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_log_queue() IS 'Queues each statement''s new custody events for the transparency log''s sequencer, and refuses any that does not chain.';

DROP TRIGGER events_log_queue ON events;
CREATE TRIGGER events_log_queue AFTER INSERT ON events
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION bb_log_queue();
