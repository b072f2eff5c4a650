-- 0020: the custody ledger's canonical bytes, version 2 (issue 15).
--
-- Version 1 (bb_event_digest, 0012_baseline.sql) had two flaws:
--  * a field's length was counted in the database's encoding while its text
--    was hashed as UTF-8: on a LATIN1 database an untouched event with "für"
--    in it verified as changed (migrate now refuses a database that is not
--    UTF8, and every connection of biobankd speaks UTF8);
--  * NULL and the empty string were both written "0:;", so a reason changed
--    from none to '' verified.
-- Version 2 writes every field as its UTF-8 bytes whatever the database's
-- encoding, NULL as "-;", and begins with the format's number. Each event
-- records the version its hash was made with: the events already stored
-- keep version 1 and verify as they always did; every new one is version 2.
-- Like version 1, these functions live here and not in functions/: a body
-- applied again would silently change what is already stored.

ALTER TABLE events ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2));
ALTER TABLE events ALTER COLUMN format SET DEFAULT 2;
COMMENT ON COLUMN events.format IS 'Version of the canonical bytes its hash was made with: 1 (bb_event_digest, events written before 0020) or 2 (bb_event_digest_v2).';

-- One field: "-;" for NULL, else "<UTF-8 byte length>:<UTF-8 bytes>;".
CREATE FUNCTION bb_ledger_field_v2(t text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN t IS NULL THEN '\x2d3b'::bytea
		ELSE convert_to(length(convert_to(t, 'UTF8'))::text || ':', 'UTF8')
			|| convert_to(t, 'UTF8') || '\x3b'::bytea END;
$$;
COMMENT ON FUNCTION bb_ledger_field_v2(text) IS 'One field of an event''s canonical bytes, version 2: "-;" for NULL, else UTF-8 byte length, colon, UTF-8 bytes, semicolon.';

-- The fields of version 1 in the same order, after the format's number. The
-- transparency log hashes these bytes for every event, version 1 ones
-- included (format 1 then), so that the log tells NULL from '' for all.
CREATE FUNCTION bb_event_bytes_v2(format smallint, specimen_id text, seq integer, type text,
	at timestamptz, actor text, from_box text, from_pos text, to_box text, to_pos text,
	reason text, details jsonb, prev_hash bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT bb_ledger_field_v2(format::text) || bb_ledger_field_v2(specimen_id)
		|| bb_ledger_field_v2(seq::text) || bb_ledger_field_v2(type)
		|| bb_ledger_field_v2((extract(epoch FROM at) * 1000000)::bigint::text)
		|| bb_ledger_field_v2(actor) || bb_ledger_field_v2(from_box)
		|| bb_ledger_field_v2(from_pos) || bb_ledger_field_v2(to_box)
		|| bb_ledger_field_v2(to_pos) || bb_ledger_field_v2(reason)
		|| bb_ledger_field_v2(details::text) || bb_ledger_field_v2(encode(prev_hash, 'hex'));
$$;
COMMENT ON FUNCTION bb_event_bytes_v2(smallint, text, integer, text, timestamptz, text, text, text, text, text, text, jsonb, bytea)
	IS 'An event''s canonical bytes, version 2 (docs/ledger.md); lib/ledger.c builds the same.';

CREATE FUNCTION bb_event_digest_v2(specimen_id text, seq integer, type text, at timestamptz,
	actor text, from_box text, from_pos text, to_box text, to_pos text, reason text,
	details jsonb, prev_hash bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT sha256(bb_event_bytes_v2(2::smallint, specimen_id, seq, type, at, actor, from_box,
		from_pos, to_box, to_pos, reason, details, prev_hash));
$$;
COMMENT ON FUNCTION bb_event_digest_v2(text, integer, text, timestamptz, text, text, text, text, text, text, jsonb, bytea)
	IS 'SHA-256 of an event''s canonical bytes, version 2 (see docs/ledger.md).';

-- The chain trigger of version 1, writing version 2. The database, not the
-- client, numbers, times, versions and chains every event.
CREATE FUNCTION bb_events_chain_v2() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	last_seq integer;
	last_hash bytea;
BEGIN
	-- The specimen row lock serializes each chain; other specimens never wait.
	SELECT s.ledger_seq, s.ledger_head INTO last_seq, last_hash
	  FROM specimens s WHERE s.id = NEW.specimen_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no specimen %', NEW.specimen_id USING ERRCODE = 'BB404';
	END IF;
	NEW.seq := last_seq + 1;
	NEW.at := clock_timestamp();
	NEW.actor := COALESCE(NEW.actor, bb_actor());
	NEW.actor_id := COALESCE(NEW.actor_id, NULLIF(current_setting('bb.actor_id', true), '')::bigint);
	NEW.format := 2;
	NEW.prev_hash := COALESCE(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
	NEW.hash := bb_event_digest_v2(NEW.specimen_id, NEW.seq, NEW.type, NEW.at, NEW.actor,
		NEW.from_box, NEW.from_pos, NEW.to_box, NEW.to_pos, NEW.reason, NEW.details,
		NEW.prev_hash);
	UPDATE specimens SET ledger_seq = NEW.seq, ledger_head = NEW.hash WHERE id = NEW.specimen_id;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_events_chain_v2() IS 'Numbers, timestamps and hash-chains each new custody event with the canonical bytes of version 2.';

DROP TRIGGER events_chain ON events;
CREATE TRIGGER events_chain BEFORE INSERT ON events
	FOR EACH ROW EXECUTE FUNCTION bb_events_chain_v2();
-- Version 1's trigger function writes nothing any more; its digest stays,
-- the definition of the events it hashed.
DROP FUNCTION bb_events_chain();

COMMENT ON COLUMN events.hash IS 'SHA-256 over this event''s canonical bytes of its format (bb_event_digest for 1, bb_event_digest_v2 for 2), prev_hash included.';
