-- 0002: the domain — participants and consent, specimen types, the storage
-- tree and boxes, specimens, the custody ledger, the audit log and
-- idempotency keys.

-- Who did it: the daemon sets bb.actor (user name) and bb.actor_id in each
-- writing transaction; triggers read them for the audit log.
CREATE FUNCTION bb_actor() RETURNS text LANGUAGE sql STABLE AS $$
	SELECT COALESCE(NULLIF(current_setting('bb.actor', true), ''), 'db:' || session_user);
$$;
COMMENT ON FUNCTION bb_actor() IS 'The API user of the current transaction, or db:ROLE for direct SQL.';

CREATE TABLE diagnoses (
	code text PRIMARY KEY CHECK (code ~ '^[A-Za-z][A-Za-z0-9_-]{0,31}$'),
	name text NOT NULL
);
COMMENT ON TABLE diagnoses IS 'Diagnosis groups a participant can belong to.';
COMMENT ON COLUMN diagnoses.code IS 'Short code used in the API, e.g. DM, IBM, SSc.';
COMMENT ON COLUMN diagnoses.name IS 'What the code means.';
INSERT INTO diagnoses (code, name) VALUES
	('DM', 'dermatomyositis'), ('JDM', 'juvenile dermatomyositis'),
	('CADM', 'clinically amyopathic dermatomyositis'), ('PM', 'polymyositis'),
	('IBM', 'inclusion body myositis'), ('IMNM', 'immune-mediated necrotising myopathy'),
	('ASyS', 'antisynthetase syndrome'), ('OM', 'overlap myositis'),
	('drug-induced', 'drug-induced myositis'), ('SSc', 'systemic sclerosis'),
	('lcSSc', 'limited cutaneous systemic sclerosis'),
	('dcSSc', 'diffuse cutaneous systemic sclerosis'), ('control', 'healthy control'),
	('other', 'other diagnosis');

CREATE TABLE participants (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	study_id bigint NOT NULL REFERENCES studies (id),
	code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$'),
	sex text NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
	birth_year integer CHECK (birth_year BETWEEN 1900 AND 2100),
	diagnosis text NOT NULL REFERENCES diagnoses (code),
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (study_id, code)
);
COMMENT ON TABLE participants IS 'Cohort participants, pseudonymous: no name, birth date, address or contact is ever stored.';
COMMENT ON COLUMN participants.id IS 'Surrogate key.';
COMMENT ON COLUMN participants.study_id IS 'The study that enrolled the participant.';
COMMENT ON COLUMN participants.code IS 'Pseudonymous code, unique within the study.';
COMMENT ON COLUMN participants.sex IS 'female, male, other or unknown.';
COMMENT ON COLUMN participants.birth_year IS 'Year of birth only (never the date).';
COMMENT ON COLUMN participants.diagnosis IS 'Diagnosis group.';
COMMENT ON COLUMN participants.created_at IS 'When the participant was registered.';

CREATE TABLE consents (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	participant_id bigint NOT NULL REFERENCES participants (id),
	scope text NOT NULL CHECK (scope IN ('study', 'biobank', 'genetic')),
	status text NOT NULL CHECK (status IN ('given', 'withdrawn')),
	date date NOT NULL,
	version text NOT NULL CHECK (length(version) BETWEEN 1 AND 64),
	recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	recorded_by text NOT NULL DEFAULT bb_actor()
);
CREATE INDEX consents_participant ON consents (participant_id, scope, recorded_at);
COMMENT ON TABLE consents IS 'Consent decisions, one row each; the latest per scope is in force.';
COMMENT ON COLUMN consents.id IS 'Surrogate key; also orders decisions recorded at the same time.';
COMMENT ON COLUMN consents.participant_id IS 'Whose consent.';
COMMENT ON COLUMN consents.scope IS 'study, biobank (storage and use of samples) or genetic.';
COMMENT ON COLUMN consents.status IS 'given or withdrawn.';
COMMENT ON COLUMN consents.date IS 'Date on the signed form or withdrawal.';
COMMENT ON COLUMN consents.version IS 'Version of the consent form.';
COMMENT ON COLUMN consents.recorded_at IS 'When it was entered.';
COMMENT ON COLUMN consents.recorded_by IS 'Who entered it.';

CREATE TABLE specimen_types (
	code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
	name text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE specimen_types IS 'Kinds of specimen; seeded with the usual ones, managers add more.';
COMMENT ON COLUMN specimen_types.code IS 'Code used in the API, e.g. serum.';
COMMENT ON COLUMN specimen_types.name IS 'Readable name.';
COMMENT ON COLUMN specimen_types.created_at IS 'When the type was added.';
INSERT INTO specimen_types (code, name) VALUES
	('serum', 'Serum'), ('plasma', 'Plasma'), ('whole_blood', 'Whole blood'),
	('pbmc', 'Peripheral blood mononuclear cells'), ('dna', 'DNA'), ('rna', 'RNA'),
	('muscle_biopsy', 'Muscle biopsy'), ('skin_biopsy', 'Skin biopsy'),
	('bal_fluid', 'Bronchoalveolar lavage fluid'), ('stool', 'Stool');

CREATE TABLE locations (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	parent_id bigint REFERENCES locations (id),
	kind text NOT NULL CHECK (kind IN ('site', 'room', 'freezer', 'shelf', 'rack')),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	temperature_c numeric(5, 1) CHECK (temperature_c BETWEEN -273 AND 60),
	barcode text UNIQUE CHECK (length(barcode) BETWEEN 1 AND 64),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((kind = 'site') = (parent_id IS NULL))
);
CREATE UNIQUE INDEX locations_sibling_name ON locations (COALESCE(parent_id, 0), name);
COMMENT ON TABLE locations IS 'The storage tree: site, room, freezer (or LN2 tank), shelf, rack.';
COMMENT ON COLUMN locations.id IS 'Surrogate key, used in the API.';
COMMENT ON COLUMN locations.parent_id IS 'The location this one is in; NULL for a site.';
COMMENT ON COLUMN locations.kind IS 'site, room, freezer, shelf or rack.';
COMMENT ON COLUMN locations.name IS 'Name, unique among its siblings.';
COMMENT ON COLUMN locations.temperature_c IS 'Set temperature of a freezer, e.g. -80 or -196 (LN2).';
COMMENT ON COLUMN locations.barcode IS 'Asset label on the location, if it has one (for scanning).';
COMMENT ON COLUMN locations.created_at IS 'When the location was added.';

CREATE TABLE boxes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	barcode text NOT NULL UNIQUE CHECK (length(barcode) BETWEEN 1 AND 64),
	rows integer NOT NULL CHECK (rows BETWEEN 1 AND 26),
	cols integer NOT NULL CHECK (cols BETWEEN 1 AND 48),
	location_id bigint NOT NULL REFERENCES locations (id),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX boxes_location ON boxes (location_id);
COMMENT ON TABLE boxes IS 'Boxes and racks of tubes: the leaves of the storage tree.';
COMMENT ON COLUMN boxes.id IS 'Surrogate key.';
COMMENT ON COLUMN boxes.barcode IS 'The barcode on the box, its identity in the API.';
COMMENT ON COLUMN boxes.rows IS 'Rows, lettered A onwards.';
COMMENT ON COLUMN boxes.cols IS 'Columns, numbered from 1.';
COMMENT ON COLUMN boxes.location_id IS 'Where the box stands.';
COMMENT ON COLUMN boxes.created_at IS 'When the box was added.';

CREATE SEQUENCE specimen_serial;
COMMENT ON SEQUENCE specimen_serial IS 'Serials behind specimen IDs (see bb_specimen_id).';

-- The same algorithm as lib/ids.c: scramble the serial, Crockford base-32,
-- Luhn mod 32 check; serials that would put 0 and Z side by side are skipped.
CREATE FUNCTION bb_id_for_serial(serial bigint) RETURNS text
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

CREATE FUNCTION bb_new_specimen_id(OUT id text, OUT serial bigint)
LANGUAGE plpgsql AS $$
BEGIN
	LOOP
		serial := nextval('specimen_serial');
		id := bb_id_for_serial(serial);
		EXIT WHEN id IS NOT NULL;
	END LOOP;
END $$;
COMMENT ON FUNCTION bb_new_specimen_id() IS 'Issues the next specimen ID.';

CREATE TABLE specimens (
	id text PRIMARY KEY CHECK (id ~ '^[0-9A-HJKMNP-TV-Z]{8}$'),
	serial bigint NOT NULL UNIQUE,
	study_id bigint NOT NULL REFERENCES studies (id),
	participant_id bigint NOT NULL REFERENCES participants (id),
	type text NOT NULL REFERENCES specimen_types (code),
	timepoint text NOT NULL CHECK (length(timepoint) BETWEEN 1 AND 40),
	collected_at timestamptz NOT NULL,
	quantity numeric(12, 3) CHECK (quantity >= 0),
	unit text CHECK (length(unit) BETWEEN 1 AND 16),
	parent_id text REFERENCES specimens (id),
	derivation text CHECK (derivation IN ('aliquot', 'derivative')),
	tube_barcode text UNIQUE CHECK (length(tube_barcode) BETWEEN 1 AND 64),
	status text NOT NULL DEFAULT 'registered' CHECK (status IN ('registered', 'in_storage',
		'checked_out', 'shipped', 'consumed', 'destroyed', 'lost')),
	freeze_thaw_count integer NOT NULL DEFAULT 0 CHECK (freeze_thaw_count >= 0),
	consent_withdrawn boolean NOT NULL DEFAULT false,
	box_id bigint REFERENCES boxes (id),
	pos_row integer,
	pos_col integer,
	notes text CHECK (length(notes) <= 2000),
	created_at timestamptz NOT NULL DEFAULT now(),
	ledger_seq integer NOT NULL DEFAULT 0,
	ledger_head bytea,
	CHECK ((box_id IS NULL) = (pos_row IS NULL) AND (box_id IS NULL) = (pos_col IS NULL)),
	CHECK ((box_id IS NOT NULL) = (status = 'in_storage')),
	CHECK ((parent_id IS NULL) = (derivation IS NULL)),
	-- Invariant 1: a position holds one specimen. Deferrable so that a rack
	-- placement may swap two tubes within one transaction.
	CONSTRAINT specimens_one_per_position UNIQUE (box_id, pos_row, pos_col)
		DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX specimens_participant ON specimens (participant_id, type, timepoint);
CREATE INDEX specimens_study_serial ON specimens (study_id, serial);
CREATE INDEX specimens_parent ON specimens (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX specimens_status ON specimens (status, serial);
COMMENT ON TABLE specimens IS 'Physical tubes and biopsy pieces. Their state is the result of their custody events.';
COMMENT ON COLUMN specimens.id IS 'Server-assigned ID: 7 Crockford base-32 characters and a Luhn mod 32 check character.';
COMMENT ON COLUMN specimens.serial IS 'The serial the ID was made from; orders specimens for paging.';
COMMENT ON COLUMN specimens.study_id IS 'Study of the participant (kept here for scoping by study).';
COMMENT ON COLUMN specimens.participant_id IS 'The donor.';
COMMENT ON COLUMN specimens.type IS 'Specimen type code.';
COMMENT ON COLUMN specimens.timepoint IS 'Sampling point: baseline, m12, y5, flare or free text.';
COMMENT ON COLUMN specimens.collected_at IS 'When the material was collected.';
COMMENT ON COLUMN specimens.quantity IS 'Amount in the tube, in unit.';
COMMENT ON COLUMN specimens.unit IS 'Unit of quantity: mL, uL, mg, ug, cells ...';
COMMENT ON COLUMN specimens.parent_id IS 'The specimen this was aliquoted or derived from.';
COMMENT ON COLUMN specimens.derivation IS 'aliquot (same material) or derivative (e.g. DNA from PBMC).';
COMMENT ON COLUMN specimens.tube_barcode IS 'Manufacturer 2D code on the tube, if pre-printed.';
COMMENT ON COLUMN specimens.status IS 'registered, in_storage, checked_out, shipped, consumed, destroyed or lost.';
COMMENT ON COLUMN specimens.freeze_thaw_count IS 'How often it thawed after first freezing.';
COMMENT ON COLUMN specimens.consent_withdrawn IS 'The donor withdrew biobank consent: no checkout or shipment.';
COMMENT ON COLUMN specimens.box_id IS 'Box it is stored in (in_storage only).';
COMMENT ON COLUMN specimens.pos_row IS 'Row in the box, 1 = A.';
COMMENT ON COLUMN specimens.pos_col IS 'Column in the box, from 1.';
COMMENT ON COLUMN specimens.notes IS 'Free text from the bench.';
COMMENT ON COLUMN specimens.created_at IS 'When it was registered.';
COMMENT ON COLUMN specimens.ledger_seq IS 'Sequence number of its last custody event (kept by the ledger trigger).';
COMMENT ON COLUMN specimens.ledger_head IS 'Hash of its last custody event: a truncated chain shows.';

CREATE TABLE events (
	specimen_id text NOT NULL REFERENCES specimens (id),
	seq integer NOT NULL CHECK (seq >= 1),
	type text NOT NULL CHECK (type IN ('registered', 'stored', 'moved', 'checked_out',
		'returned', 'thawed', 'aliquoted', 'derived', 'label_printed', 'shipped', 'received',
		'consumed', 'destroyed', 'lost', 'found', 'consent_withdrawn', 'audit_confirmed',
		'audit_flagged')),
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor text NOT NULL,
	actor_id bigint,
	from_box text,
	from_pos text,
	to_box text,
	to_pos text,
	reason text CHECK (length(reason) <= 1000),
	details jsonb NOT NULL DEFAULT '{}',
	prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
	hash bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (specimen_id, seq)
);
CREATE INDEX events_at ON events (at);
COMMENT ON TABLE events IS 'The custody ledger: append-only, one hash chain per specimen.';
COMMENT ON COLUMN events.specimen_id IS 'The specimen the event happened to.';
COMMENT ON COLUMN events.seq IS 'Position in the specimen''s chain, from 1, without gaps.';
COMMENT ON COLUMN events.type IS 'What happened: registered, stored, moved, checked_out, returned, ...';
COMMENT ON COLUMN events.at IS 'When, by the database clock.';
COMMENT ON COLUMN events.actor IS 'User name of who did it (db:ROLE for direct SQL).';
COMMENT ON COLUMN events.actor_id IS 'The user''s id, when it was an API user.';
COMMENT ON COLUMN events.from_box IS 'Box barcode it left, if any.';
COMMENT ON COLUMN events.from_pos IS 'Position it left, e.g. A1.';
COMMENT ON COLUMN events.to_box IS 'Box barcode it went to, if any.';
COMMENT ON COLUMN events.to_pos IS 'Position it went to.';
COMMENT ON COLUMN events.reason IS 'Why, as the user gave it.';
COMMENT ON COLUMN events.details IS 'Further facts (children made, thawed, shipment ...), as JSON.';
COMMENT ON COLUMN events.prev_hash IS 'hash of the previous event of the specimen (32 zero bytes for the first).';
COMMENT ON COLUMN events.hash IS 'SHA-256 over this event''s fields and prev_hash (see bb_event_digest).';

-- The canonical bytes of an event: each field as "<octets>:<text>;" so that no
-- choice of field contents can be confused with another. lib/ledger.c builds
-- the same bytes to verify independently.
CREATE FUNCTION bb_ledger_field(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT octet_length(COALESCE(t, ''))::text || ':' || COALESCE(t, '') || ';';
$$;
COMMENT ON FUNCTION bb_ledger_field(text) IS 'One field of an event''s canonical bytes: length, colon, text, semicolon (NULL as empty).';

-- One expression, so that PostgreSQL inlines it into the chain trigger.
CREATE FUNCTION bb_event_digest(specimen_id text, seq integer, type text, at timestamptz,
	actor text, from_box text, from_pos text, to_box text, to_pos text, reason text,
	details jsonb, prev_hash bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT sha256(convert_to(
		bb_ledger_field(specimen_id) || bb_ledger_field(seq::text) || bb_ledger_field(type)
		|| bb_ledger_field((extract(epoch FROM at) * 1000000)::bigint::text)
		|| bb_ledger_field(actor) || bb_ledger_field(from_box) || bb_ledger_field(from_pos)
		|| bb_ledger_field(to_box) || bb_ledger_field(to_pos) || bb_ledger_field(reason)
		|| bb_ledger_field(details::text) || bb_ledger_field(encode(prev_hash, 'hex')),
		'UTF8'));
$$;
COMMENT ON FUNCTION bb_event_digest(text, integer, text, timestamptz, text, text, text, text, text, text, jsonb, bytea)
	IS 'SHA-256 of an event''s canonical bytes (see docs/ledger.md).';

-- The database, not the client, numbers, times and chains every event.
CREATE FUNCTION bb_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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
	NEW.prev_hash := COALESCE(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
	NEW.hash := bb_event_digest(NEW.specimen_id, NEW.seq, NEW.type, NEW.at, NEW.actor,
		NEW.from_box, NEW.from_pos, NEW.to_box, NEW.to_pos, NEW.reason, NEW.details,
		NEW.prev_hash);
	UPDATE specimens SET ledger_seq = NEW.seq, ledger_head = NEW.hash WHERE id = NEW.specimen_id;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_events_chain() IS 'Numbers, timestamps and hash-chains each new custody event.';
CREATE TRIGGER events_chain BEFORE INSERT ON events
	FOR EACH ROW EXECUTE FUNCTION bb_events_chain();

-- Invariant 3: the ledger is append-only for every role.
CREATE FUNCTION bb_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'BB409';
END $$;
COMMENT ON FUNCTION bb_append_only() IS 'Refuses UPDATE, DELETE and TRUNCATE on append-only tables.';
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();

CREATE TABLE audit_log (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor text NOT NULL DEFAULT bb_actor(),
	entity text NOT NULL,
	entity_id text NOT NULL,
	action text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
	before jsonb,
	after jsonb
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_at ON audit_log (at);
COMMENT ON TABLE audit_log IS 'Append-only log of changes to records other than specimens: who, when, before and after.';
COMMENT ON COLUMN audit_log.id IS 'Order of the changes.';
COMMENT ON COLUMN audit_log.at IS 'When, by the database clock.';
COMMENT ON COLUMN audit_log.actor IS 'Who (API user name, or db:ROLE for direct SQL).';
COMMENT ON COLUMN audit_log.entity IS 'Kind of record: study, participant, consent, location, box, user, token, specimen_type.';
COMMENT ON COLUMN audit_log.entity_id IS 'Key of the record.';
COMMENT ON COLUMN audit_log.action IS 'create, update or delete.';
COMMENT ON COLUMN audit_log.before IS 'The record before (secrets removed); NULL on create.';
COMMENT ON COLUMN audit_log.after IS 'The record after (secrets removed); NULL on delete.';
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();

CREATE FUNCTION bb_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	entity constant text := TG_ARGV[0];
	old_row jsonb;
	new_row jsonb;
	key text;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		old_row := to_jsonb(OLD) - 'password_hash' - 'hash';
	END IF;
	IF TG_OP <> 'DELETE' THEN
		new_row := to_jsonb(NEW) - 'password_hash' - 'hash';
	END IF;
	key := COALESCE(new_row, old_row) ->> COALESCE(TG_ARGV[1], 'id');
	IF TG_ARGV[2] IS NOT NULL THEN
		key := key || '/' || (COALESCE(new_row, old_row) ->> TG_ARGV[2]);
	END IF;
	INSERT INTO audit_log (entity, entity_id, action, before, after)
	VALUES (entity, key,
		CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
		old_row, new_row);
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_audit() IS 'Writes one audit_log row per changed record (arguments: entity, key column, second key column).';

CREATE TRIGGER studies_audit AFTER INSERT OR UPDATE OR DELETE ON studies
	FOR EACH ROW EXECUTE FUNCTION bb_audit('study', 'code');
CREATE TRIGGER participants_audit AFTER INSERT OR UPDATE OR DELETE ON participants
	FOR EACH ROW EXECUTE FUNCTION bb_audit('participant', 'study_id', 'code');
CREATE TRIGGER consents_audit AFTER INSERT OR UPDATE OR DELETE ON consents
	FOR EACH ROW EXECUTE FUNCTION bb_audit('consent');
CREATE TRIGGER locations_audit AFTER INSERT OR UPDATE OR DELETE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_audit('location');
CREATE TRIGGER boxes_audit AFTER INSERT OR UPDATE OR DELETE ON boxes
	FOR EACH ROW EXECUTE FUNCTION bb_audit('box', 'barcode');
CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION bb_audit('user', 'username');
CREATE TRIGGER user_studies_audit AFTER INSERT OR UPDATE OR DELETE ON user_studies
	FOR EACH ROW EXECUTE FUNCTION bb_audit('user_study', 'user_id', 'study_id');
CREATE TRIGGER tokens_audit AFTER INSERT OR UPDATE OR DELETE ON tokens
	FOR EACH ROW EXECUTE FUNCTION bb_audit('token');
CREATE TRIGGER specimen_types_audit AFTER INSERT OR UPDATE OR DELETE ON specimen_types
	FOR EACH ROW EXECUTE FUNCTION bb_audit('specimen_type', 'code');

CREATE TABLE idempotency_keys (
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
	request_hash bytea NOT NULL,
	status integer,
	content_type text,
	body text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
COMMENT ON TABLE idempotency_keys IS 'Answers to POSTs sent with an Idempotency-Key, replayed for a repeat.';
COMMENT ON COLUMN idempotency_keys.user_id IS 'Keys are per user.';
COMMENT ON COLUMN idempotency_keys.key IS 'The Idempotency-Key header.';
COMMENT ON COLUMN idempotency_keys.request_hash IS 'SHA-256 of method, path and body: the same key with another request is 422.';
COMMENT ON COLUMN idempotency_keys.status IS 'HTTP status of the first answer.';
COMMENT ON COLUMN idempotency_keys.content_type IS 'Content type of the first answer.';
COMMENT ON COLUMN idempotency_keys.body IS 'Body of the first answer.';
COMMENT ON COLUMN idempotency_keys.created_at IS 'When the key was first used (keys older than 7 days may be purged).';

-- Raise an API error: the daemon maps BB4xx to HTTP 4xx and shows the message.
CREATE FUNCTION bb_fail(code text, message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END $$;
COMMENT ON FUNCTION bb_fail(text, text) IS 'Raises an error whose SQLSTATE (BB400, BB404, BB409) the daemon turns into an HTTP answer.';

-- Positions are written A1 ... Z48; A01 and a1 are read too.
CREATE FUNCTION bb_parse_position(pos text, max_rows integer, max_cols integer,
	OUT r integer, OUT c integer) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	m text[];
BEGIN
	m := regexp_match(upper(btrim(pos)), '^([A-Z])0*([1-9][0-9]?)$');
	IF m IS NULL THEN
		PERFORM bb_fail('BB400', format('position: "%s" is not a position such as A1', pos));
	END IF;
	r := ascii(m[1]) - 64;
	c := m[2]::integer;
	IF r > max_rows OR c > max_cols THEN
		PERFORM bb_fail('BB400', format('position: %s is outside the box (%s rows, %s columns)',
			chr(64 + r) || c, max_rows, max_cols));
	END IF;
END $$;
COMMENT ON FUNCTION bb_parse_position(text, integer, integer) IS 'Reads a position such as A1 within a box''s grid, or raises BB400.';

CREATE FUNCTION bb_position_name(r integer, c integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN r IS NULL THEN NULL ELSE chr(64 + r) || c END;
$$;
COMMENT ON FUNCTION bb_position_name(integer, integer) IS 'Row and column as A1.';

-- Names from the site down to the location itself.
CREATE FUNCTION bb_location_path(loc bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH RECURSIVE up (id, parent_id, name, depth) AS (
		SELECT id, parent_id, name, 0 FROM locations WHERE id = loc
		UNION ALL
		SELECT l.id, l.parent_id, l.name, up.depth + 1
		  FROM locations l JOIN up ON l.id = up.parent_id
	)
	SELECT COALESCE(jsonb_agg(name ORDER BY depth DESC), '[]') FROM up;
$$;
COMMENT ON FUNCTION bb_location_path(bigint) IS 'Location names from the site down, as a JSON array.';

-- The API's representation of a specimen, built where the data is.
CREATE FUNCTION bb_specimen_json(s specimens) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
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
	 WHERE p.id = s.participant_id;
$$;
COMMENT ON FUNCTION bb_specimen_json(specimens) IS 'A specimen as the API shows it.';

-- Every write of the daemon starts by saying who it is, for triggers and events.
CREATE FUNCTION bb_set_actor(actor text, actor_id bigint) RETURNS void LANGUAGE sql AS $$
	SELECT set_config('bb.actor', actor, true), set_config('bb.actor_id', COALESCE(actor_id::text, ''), true);
$$;
COMMENT ON FUNCTION bb_set_actor(text, bigint) IS 'Names the API user for the rest of the transaction.';

-- Find and lock a specimen by ID or tube barcode, within the caller's studies.
CREATE FUNCTION bb_specimen_lock(ref text, studies bigint[]) RETURNS specimens
LANGUAGE plpgsql AS $$
DECLARE
	s specimens;
BEGIN
	SELECT * INTO s FROM specimens WHERE id = ref FOR UPDATE;
	IF NOT FOUND THEN
		SELECT * INTO s FROM specimens WHERE tube_barcode = ref FOR UPDATE;
	END IF;
	IF s.id IS NULL OR (studies IS NOT NULL AND NOT s.study_id = ANY (studies)) THEN
		PERFORM bb_fail('BB404', format('no specimen %s', ref));
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION bb_specimen_lock(text, bigint[]) IS 'The specimen with this ID or tube barcode, locked; BB404 outside the given studies.';

CREATE FUNCTION bb_box_find(barcode text) RETURNS boxes LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes;
BEGIN
	SELECT * INTO b FROM boxes WHERE boxes.barcode = bb_box_find.barcode;
	IF NOT FOUND THEN
		PERFORM bb_fail('BB400', format('box: no box has the barcode %s', barcode));
	END IF;
	RETURN b;
END $$;
COMMENT ON FUNCTION bb_box_find(text) IS 'The box with this barcode, or BB400.';

/*
 * Two moves that cross each other's positions (A into B's place while B goes
 * into A's) would wait on each other in the position index until PostgreSQL
 * breaks the deadlock a second later. Taking a lock on every position a
 * change touches, in one global order, before changing anything makes them
 * queue instead. Keys are (box, row * 64 + column).
 */
CREATE FUNCTION bb_lock_positions(boxes_ bigint[], rows_ integer[], cols_ integer[])
RETURNS void LANGUAGE plpgsql AS $$
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
CREATE FUNCTION bb_specimen_place(s specimens, b boxes, r integer, c integer, new_status text,
	studies bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	occupant specimens;
BEGIN
	SELECT * INTO occupant FROM specimens
	 WHERE box_id = b.id AND pos_row = r AND pos_col = c AND id <> s.id;
	IF FOUND THEN
		PERFORM bb_fail('BB409', format('position %s of box %s is taken by %s',
			bb_position_name(r, c), b.barcode,
			CASE WHEN studies IS NULL OR occupant.study_id = ANY (studies)
			     THEN 'specimen ' || occupant.id ELSE 'a specimen of another study' END));
	END IF;
	BEGIN
		UPDATE specimens SET box_id = b.id, pos_row = r, pos_col = c, status = new_status
		 WHERE id = s.id;
	EXCEPTION WHEN unique_violation THEN
		-- Another transaction took the position between our look and our write.
		SELECT * INTO occupant FROM specimens
		 WHERE box_id = b.id AND pos_row = r AND pos_col = c;
		PERFORM bb_fail('BB409', format('position %s of box %s is taken by %s',
			bb_position_name(r, c), b.barcode,
			CASE WHEN occupant.id IS NULL THEN 'another specimen'
			     WHEN studies IS NULL OR occupant.study_id = ANY (studies)
			     THEN 'specimen ' || occupant.id ELSE 'a specimen of another study' END));
	END;
END $$;
COMMENT ON FUNCTION bb_specimen_place(specimens, boxes, integer, integer, text, bigint[]) IS 'Stores a locked specimen at a position; BB409 naming the occupant if taken.';

-- Which statuses each action may start from (DESIGN.md's state machine).
CREATE FUNCTION bb_action_allowed(action text, status text) RETURNS boolean
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
 * One custody action on one specimen, in one statement (one round trip):
 * lock, check the state machine and consent, change the state, write the
 * event. Returns the specimen as the API shows it.
 */
CREATE FUNCTION bb_specimen_act(action text, ref text, studies bigint[], actor text,
	actor_id bigint, box text, pos text, from_box text, from_pos text, reason text,
	thawed boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
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
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	s := bb_specimen_lock(ref, studies);
	IF NOT bb_action_allowed(action, s.status) THEN
		PERFORM bb_fail('BB409', format('specimen %s is %s, which does not allow %s',
			s.id, s.status, action));
	END IF;
	IF action = 'checkout' AND s.consent_withdrawn THEN
		PERFORM bb_fail('BB409', format('specimen %s may not be checked out: its donor withdrew biobank consent', s.id));
	END IF;
	IF s.box_id IS NOT NULL THEN
		SELECT barcode INTO old_box FROM boxes WHERE id = s.box_id;
		old_pos := bb_position_name(s.pos_row, s.pos_col);
	END IF;
	IF action = 'move' AND from_box IS NOT NULL THEN
		IF old_box IS DISTINCT FROM from_box
		   OR old_pos IS DISTINCT FROM (SELECT bb_position_name(p.r, p.c)
						  FROM bb_parse_position(from_pos, 26, 48) p) THEN
			PERFORM bb_fail('BB409', format('specimen %s is no longer at %s %s: it is at %s %s',
				s.id, from_box, from_pos, COALESCE(old_box, '(nowhere)'), COALESCE(old_pos, '')));
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

	IF new_status = 'in_storage' THEN
		b := bb_box_find(box);
		SELECT p.r, p.c INTO r, c FROM bb_parse_position(pos, b.rows, b.cols) p;
		IF action = 'move' AND b.id = s.box_id AND r = s.pos_row AND c = s.pos_col THEN
			PERFORM bb_fail('BB409', format('specimen %s is already at %s %s', s.id, b.barcode,
				bb_position_name(r, c)));
		END IF;
		PERFORM bb_lock_positions(ARRAY[s.box_id, b.id], ARRAY[s.pos_row, r], ARRAY[s.pos_col, c]);
		PERFORM bb_specimen_place(s, b, r, c, new_status, studies);
	ELSE
		UPDATE specimens SET status = new_status, box_id = NULL, pos_row = NULL, pos_col = NULL
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
COMMENT ON FUNCTION bb_specimen_act(text, text, bigint[], text, bigint, text, text, text, text, text, boolean)
	IS 'Store, move, checkout, return, consume, destroy, lost or found: state change and its event in one statement.';

-- N aliquots of a locked parent: same material, quantity given or split evenly.
CREATE FUNCTION bb_make_aliquots(parent specimens, n integer, each_qty numeric, barcodes text[])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	q numeric;
	child_id text;
	child_serial bigint;
	children jsonb := '[]';
	ids text[] := '{}';
BEGIN
	IF n < 1 OR n > 500 THEN
		PERFORM bb_fail('BB400', 'count must be between 1 and 500');
	END IF;
	IF parent.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
		PERFORM bb_fail('BB409', format('specimen %s is %s: it cannot be aliquoted', parent.id, parent.status));
	END IF;
	IF parent.consent_withdrawn THEN
		PERFORM bb_fail('BB409', format('specimen %s: its donor withdrew biobank consent', parent.id));
	END IF;
	IF each_qty IS NOT NULL THEN
		q := each_qty;
		IF parent.quantity IS NOT NULL AND q * n > parent.quantity THEN
			PERFORM bb_fail('BB409', format('specimen %s holds %s %s, not enough for %s aliquots of %s',
				parent.id, parent.quantity, parent.unit, n, q));
		END IF;
	ELSIF parent.quantity IS NOT NULL THEN
		q := trunc(parent.quantity / n, 3);
	END IF;
	FOR i IN 1..n LOOP
		SELECT id, serial INTO child_id, child_serial FROM bb_new_specimen_id();
		INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint,
			collected_at, quantity, unit, parent_id, derivation, tube_barcode, notes)
		VALUES (child_id, child_serial, parent.study_id, parent.participant_id, parent.type,
			parent.timepoint, parent.collected_at, q, parent.unit, parent.id, 'aliquot',
			barcodes[i], NULL);
		INSERT INTO events (specimen_id, type, details)
		VALUES (child_id, 'registered', jsonb_build_object('parent', parent.id, 'derivation', 'aliquot'));
		ids := ids || child_id;
	END LOOP;
	IF parent.quantity IS NOT NULL AND q IS NOT NULL THEN
		UPDATE specimens SET quantity = quantity - q * n WHERE id = parent.id;
	END IF;
	INSERT INTO events (specimen_id, type, details)
	VALUES (parent.id, 'aliquoted', jsonb_build_object('children', to_jsonb(ids), 'count', n,
		'quantity_each', q));
	SELECT COALESCE(jsonb_agg(bb_specimen_json(s) ORDER BY s.serial), '[]') INTO children
	  FROM specimens s WHERE s.id = ANY (ids);
	RETURN children;
END $$;
COMMENT ON FUNCTION bb_make_aliquots(specimens, integer, numeric, text[]) IS 'Registers n aliquots of a locked parent, with their events; returns them as JSON.';

CREATE FUNCTION bb_specimen_register(study text, participant text, type text, timepoint text,
	collected_at timestamptz, qty numeric, unit text, tube_barcode text, notes text,
	aliquots integer, aliquot_barcodes text[], studies bigint[], actor text, actor_id bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	p participants;
	new_id text;
	new_serial bigint;
	s specimens;
	out jsonb;
	taken text;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	SELECT pt.* INTO p FROM participants pt JOIN studies st ON st.id = pt.study_id
	 WHERE st.code = study AND pt.code = participant;
	IF NOT FOUND OR (studies IS NOT NULL AND NOT p.study_id = ANY (studies)) THEN
		PERFORM bb_fail('BB400', format('participant.code: no participant %s in study %s', participant, study));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = bb_specimen_register.type) THEN
		PERFORM bb_fail('BB400', format('type: %s is not a specimen type', type));
	END IF;
	IF bb_consent_withdrawn(p.id) THEN
		PERFORM bb_fail('BB409', format('participant %s withdrew biobank consent: no new specimens', participant));
	END IF;
	IF tube_barcode IS NOT NULL THEN
		SELECT id INTO taken FROM specimens x WHERE x.tube_barcode = bb_specimen_register.tube_barcode;
		IF FOUND THEN
			PERFORM bb_fail('BB409', format('tube barcode %s is already specimen %s', tube_barcode, taken));
		END IF;
	END IF;
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
		out := jsonb_set(bb_specimen_json((SELECT x FROM specimens x WHERE x.id = new_id)),
			'{aliquots}', bb_make_aliquots(s, aliquots, NULL, aliquot_barcodes));
		out := jsonb_set(out, '{quantity}', (SELECT bb_specimen_json(x) -> 'quantity'
			FROM specimens x WHERE x.id = new_id));
	END IF;
	RETURN out;
END $$;
COMMENT ON FUNCTION bb_specimen_register(text, text, text, text, timestamptz, numeric, text, text, text, integer, text[], bigint[], text, bigint)
	IS 'Registers a collection (and its aliquots) with their events in one statement.';

CREATE FUNCTION bb_specimen_aliquot(ref text, n integer, each_qty numeric, each_unit text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	parent specimens;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	parent := bb_specimen_lock(ref, studies);
	IF each_unit IS NOT NULL AND parent.unit IS NOT NULL AND each_unit <> parent.unit THEN
		PERFORM bb_fail('BB400', format('quantity.unit: must be %s, the unit of specimen %s',
			parent.unit, parent.id));
	END IF;
	RETURN jsonb_build_object('items', bb_make_aliquots(parent, n, each_qty, NULL));
END $$;
COMMENT ON FUNCTION bb_specimen_aliquot(text, integer, numeric, text, bigint[], text, bigint) IS 'Aliquots an existing specimen.';

CREATE FUNCTION bb_specimen_derive(ref text, new_type text, qty numeric, unit text,
	studies bigint[], actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	parent specimens;
	child_id text;
	child_serial bigint;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	parent := bb_specimen_lock(ref, studies);
	IF parent.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
		PERFORM bb_fail('BB409', format('specimen %s is %s: nothing can be derived from it', parent.id, parent.status));
	END IF;
	IF parent.consent_withdrawn THEN
		PERFORM bb_fail('BB409', format('specimen %s: its donor withdrew biobank consent', parent.id));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM specimen_types t WHERE t.code = new_type) THEN
		PERFORM bb_fail('BB400', format('type: %s is not a specimen type', new_type));
	END IF;
	SELECT id, serial INTO child_id, child_serial FROM bb_new_specimen_id();
	INSERT INTO specimens (id, serial, study_id, participant_id, type, timepoint, collected_at,
		quantity, unit, parent_id, derivation)
	VALUES (child_id, child_serial, parent.study_id, parent.participant_id, new_type,
		parent.timepoint, parent.collected_at, qty, unit, parent.id, 'derivative');
	INSERT INTO events (specimen_id, type, details)
	VALUES (child_id, 'registered', jsonb_build_object('parent', parent.id, 'derivation', 'derivative'));
	INSERT INTO events (specimen_id, type, details)
	VALUES (parent.id, 'derived', jsonb_build_object('child', child_id, 'type', new_type));
	RETURN (SELECT bb_specimen_json(x) FROM specimens x WHERE x.id = child_id);
END $$;
COMMENT ON FUNCTION bb_specimen_derive(text, text, numeric, text, bigint[], text, bigint) IS 'Derives a specimen of another type (e.g. DNA from PBMC).';

-- Biobank consent stands unless the participant's latest biobank decision withdrew it.
CREATE FUNCTION bb_consent_withdrawn(participant bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT status = 'withdrawn' FROM consents
			  WHERE participant_id = participant AND scope = 'biobank'
			  ORDER BY recorded_at DESC, id DESC LIMIT 1), false);
$$;
COMMENT ON FUNCTION bb_consent_withdrawn(bigint) IS 'True when the participant''s biobank consent is withdrawn.';

-- A specimen as GET /api/v1/specimens/{id} shows it: itself, its lineage.
CREATE FUNCTION bb_specimen_find_json(ref text, studies bigint[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT bb_specimen_json(s) || jsonb_build_object('children',
		COALESCE((SELECT jsonb_agg(c.id ORDER BY c.serial) FROM specimens c WHERE c.parent_id = s.id), '[]'))
	  FROM specimens s
	 WHERE s.id = (SELECT x.id FROM specimens x WHERE x.id = ref
		       UNION ALL SELECT x.id FROM specimens x WHERE x.tube_barcode = ref LIMIT 1)
	   AND (studies IS NULL OR s.study_id = ANY (studies));
$$;
COMMENT ON FUNCTION bb_specimen_find_json(text, bigint[]) IS 'A specimen by ID or tube barcode with its children, within the given studies; NULL if none.';

CREATE FUNCTION bb_specimen_get(ref text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb := bb_specimen_find_json(ref, studies);
BEGIN
	IF j IS NULL THEN
		PERFORM bb_fail('BB404', format('no specimen %s', ref));
	END IF;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_specimen_get(text, bigint[]) IS 'As bb_specimen_find_json, raising BB404 when there is none.';

CREATE FUNCTION bb_specimen_events(ref text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	j jsonb;
BEGIN
	SELECT jsonb_build_object('specimen', s.id, 'items', COALESCE((
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
	  FROM specimens s
	 WHERE s.id = (SELECT x.id FROM specimens x WHERE x.id = ref
		       UNION ALL SELECT x.id FROM specimens x WHERE x.tube_barcode = ref LIMIT 1)
	   AND (studies IS NULL OR s.study_id = ANY (studies))
	  INTO j;
	IF j IS NULL THEN
		PERFORM bb_fail('BB404', format('no specimen %s', ref));
	END IF;
	RETURN j;
END $$;
COMMENT ON FUNCTION bb_specimen_events(text, bigint[]) IS 'A specimen''s custody events, oldest first, with their hashes.';

/*
 * Store or move many specimens into one box, all or nothing. Tubes may swap
 * places within one call: the position constraint is checked at the end.
 * A tube already where it is asked to be is left alone (a re-scan is harmless).
 */
CREATE FUNCTION bb_box_place(box_barcode text, positions text[], refs text[], studies bigint[],
	actor text, actor_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	b boxes;
	s specimens;
	r integer;
	c integer;
	old_box text;
	old_pos text;
	ev text;
	placed jsonb := '[]';
	seen_pos text[] := '{}';
	seen_ids text[] := '{}';
	pname text;
	occupant text;
BEGIN
	PERFORM bb_set_actor(actor, actor_id);
	b := bb_box_find(box_barcode);
	IF b.id IS NULL THEN
		PERFORM bb_fail('BB404', format('no box %s', box_barcode));
	END IF;
	-- Lock the tubes in one order, then every position they leave or take, before any change.
	PERFORM 1 FROM specimens x
	 WHERE x.id = ANY (refs) OR x.tube_barcode = ANY (refs)
	 ORDER BY x.id FOR UPDATE;
	PERFORM bb_lock_positions(
		array_agg(v.b), array_agg(v.r), array_agg(v.c))
	  FROM (SELECT x.box_id AS b, x.pos_row AS r, x.pos_col AS c FROM specimens x
		 WHERE x.id = ANY (refs) OR x.tube_barcode = ANY (refs)
		UNION ALL
		SELECT b.id, p.r, p.c
		  FROM unnest(positions) AS u (pos),
		       LATERAL bb_parse_position(u.pos, b.rows, b.cols) AS p) v;
	SET CONSTRAINTS specimens_one_per_position DEFERRED;
	FOR i IN 1 .. COALESCE(array_length(refs, 1), 0) LOOP
		SELECT p.r, p.c INTO r, c FROM bb_parse_position(positions[i], b.rows, b.cols) p;
		pname := bb_position_name(r, c);
		IF pname = ANY (seen_pos) THEN
			PERFORM bb_fail('BB400', format('placements[%s].position: %s is listed twice', i - 1, pname));
		END IF;
		seen_pos := seen_pos || pname;
		s := bb_specimen_lock(refs[i], studies);
		IF s.id = ANY (seen_ids) THEN
			PERFORM bb_fail('BB400', format('placements[%s].specimen: %s is listed twice', i - 1, s.id));
		END IF;
		seen_ids := seen_ids || s.id;
		IF s.box_id = b.id AND s.pos_row = r AND s.pos_col = c THEN
			placed := placed || jsonb_build_object('position', pname, 'specimen', s.id, 'event', NULL);
			CONTINUE;
		END IF;
		IF s.status NOT IN ('registered', 'in_storage', 'checked_out') THEN
			PERFORM bb_fail('BB409', format('specimen %s is %s: it cannot be placed', s.id, s.status));
		END IF;
		old_box := NULL;
		old_pos := NULL;
		IF s.box_id IS NOT NULL THEN
			SELECT x.barcode INTO old_box FROM boxes x WHERE x.id = s.box_id;
			old_pos := bb_position_name(s.pos_row, s.pos_col);
		END IF;
		ev := CASE s.status WHEN 'registered' THEN 'stored' WHEN 'checked_out' THEN 'returned'
			ELSE 'moved' END;
		UPDATE specimens SET box_id = b.id, pos_row = r, pos_col = c, status = 'in_storage'
		 WHERE id = s.id;
		INSERT INTO events (specimen_id, type, actor, actor_id, from_box, from_pos, to_box, to_pos,
			reason, details)
		VALUES (s.id, ev, actor, actor_id, old_box, old_pos, b.barcode, pname, 'bulk placement',
			CASE WHEN ev = 'returned' THEN '{"thawed": false}'::jsonb ELSE '{}'::jsonb END);
		placed := placed || jsonb_build_object('position', pname, 'specimen', s.id, 'event', ev);
	END LOOP;
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
COMMENT ON FUNCTION bb_box_place(text, text[], text[], bigint[], text, bigint) IS 'Bulk placement of tubes into one box, all or nothing.';

-- A page of specimens in issue order, filtered; the cursor is the last serial seen.
CREATE FUNCTION bb_specimen_list(p_study text, p_participant text, p_type text, p_timepoint text,
	p_status text, p_box text, p_studies bigint[], p_after bigint, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH hits AS (
		SELECT s.* FROM specimens s
		 WHERE (p_studies IS NULL OR s.study_id = ANY (p_studies))
		   AND (p_study IS NULL OR s.study_id = (SELECT id FROM studies WHERE code = p_study))
		   AND (p_participant IS NULL OR s.participant_id IN (SELECT p.id FROM participants p
				WHERE p.code = p_participant
				  AND (p_study IS NULL OR p.study_id = (SELECT id FROM studies WHERE code = p_study))))
		   AND (p_type IS NULL OR s.type = p_type)
		   AND (p_timepoint IS NULL OR s.timepoint = p_timepoint)
		   AND (p_status IS NULL OR s.status = p_status)
		   AND (p_box IS NULL OR s.box_id = (SELECT id FROM boxes WHERE barcode = p_box))
		   AND s.serial > COALESCE(p_after, 0)
		 ORDER BY s.serial
		 LIMIT p_limit + 1
	)
	SELECT jsonb_build_object(
		'items', COALESCE((SELECT jsonb_agg(bb_specimen_json(h) ORDER BY h.serial)
				     FROM (SELECT * FROM hits ORDER BY serial LIMIT p_limit) h), '[]'),
		'next_cursor', CASE WHEN (SELECT count(*) FROM hits) > p_limit
			THEN (SELECT 'c' || serial FROM hits ORDER BY serial OFFSET p_limit - 1 LIMIT 1) END);
$$;
COMMENT ON FUNCTION bb_specimen_list(text, text, text, text, text, text, bigint[], bigint, integer) IS 'One page of specimens matching the filters, in issue order.';
