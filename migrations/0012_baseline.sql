-- 0012: the baseline. The tables, indexes, types, seed data and comments of
-- migrations 0001 to 0011 as they stand after 0011, folded into one file.
-- Every function, trigger function and trigger now lives in exactly one
-- repeatable file under functions/, which `biobankd migrate` applies after
-- the numbered files whenever it changes.
--
-- Two kinds of function stay in numbered migrations, because a re-applied
-- body would silently change what is already stored:
--  * bb_actor, the DEFAULT of several columns;
--  * the custody ledger's canonical bytes and chain (bb_ledger_field,
--    bb_event_digest, bb_events_chain) and the append-only guards of events
--    and audit_log (bb_append_only and their triggers). A new ledger format
--    is a new, versioned function in a new migration, never an edit, or
--    verify-ledger would check old events against new bytes.
--
-- A database built from 0001-0011 is recognised by their recorded checksums
-- (server/migrate.c) and has this file recorded without running it: it
-- already holds everything below.

-- Accounts: studies, users, tokens, login throttling ------------------------
CREATE TABLE studies (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE studies IS 'Research studies (cohorts); every participant and specimen belongs to one.';
COMMENT ON COLUMN studies.id IS 'Surrogate key.';
COMMENT ON COLUMN studies.code IS 'Short upper-case code used in the API and on labels, e.g. MASC.';
COMMENT ON COLUMN studies.name IS 'Full name of the study.';
COMMENT ON COLUMN studies.created_at IS 'When the study was registered.';

CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
	password_hash text NOT NULL,
	role text NOT NULL CHECK (role IN ('admin', 'manager', 'technician', 'auditor', 'printer')),
	disabled_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People and service accounts that may call the API.';
COMMENT ON COLUMN users.id IS 'Surrogate key.';
COMMENT ON COLUMN users.username IS 'Login name: lower case letters, digits, dot, dash, underscore.';
COMMENT ON COLUMN users.password_hash IS 'Argon2id hash in libsodium crypto_pwhash_str format; never the password.';
COMMENT ON COLUMN users.role IS 'What the account may do: admin, manager, technician, auditor (read-only) or printer.';
COMMENT ON COLUMN users.disabled_at IS 'Set when the account was disabled; its tokens stop working.';
COMMENT ON COLUMN users.created_at IS 'When the account was created.';
COMMENT ON COLUMN users.updated_at IS 'When the role, password or status last changed.';

CREATE TABLE user_studies (
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	study_id bigint NOT NULL REFERENCES studies (id),
	PRIMARY KEY (user_id, study_id)
);
COMMENT ON TABLE user_studies IS 'Studies a user is limited to; a user with no rows here sees all studies.';
COMMENT ON COLUMN user_studies.user_id IS 'The limited user.';
COMMENT ON COLUMN user_studies.study_id IS 'A study the user may see.';

CREATE TABLE tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
	kind text NOT NULL CHECK (kind IN ('session', 'service')),
	label text CHECK (length(label) <= 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz,
	revoked_at timestamptz
);

CREATE INDEX tokens_user ON tokens (user_id);
COMMENT ON TABLE tokens IS 'Bearer tokens. Only the SHA-256 of each token is kept.';
COMMENT ON COLUMN tokens.id IS 'Surrogate key.';
COMMENT ON COLUMN tokens.user_id IS 'The account the token acts for.';
COMMENT ON COLUMN tokens.hash IS 'SHA-256 of the token string; the token itself is shown once and never stored.';
COMMENT ON COLUMN tokens.kind IS 'session (from a login, expires) or service (long-lived, for printers and scripts).';
COMMENT ON COLUMN tokens.label IS 'What a service token is for, e.g. the printer it runs.';
COMMENT ON COLUMN tokens.created_at IS 'When the token was issued.';
COMMENT ON COLUMN tokens.expires_at IS 'When the token stops working by itself; NULL for service tokens without expiry.';
COMMENT ON COLUMN tokens.revoked_at IS 'When the token was revoked (logout or by an admin).';

CREATE TABLE login_throttle (
	key text PRIMARY KEY,
	failures integer NOT NULL,
	window_start timestamptz NOT NULL
);
COMMENT ON TABLE login_throttle IS 'Failed logins per user name and per client address, shared by every daemon.';
COMMENT ON COLUMN login_throttle.key IS 'user:NAME or addr:ADDRESS.';
COMMENT ON COLUMN login_throttle.failures IS 'Failed attempts since window_start.';
COMMENT ON COLUMN login_throttle.window_start IS 'Start of the current counting window.';

-- Participants, consent, storage, specimens, the custody ledger, the audit log ---
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
	path jsonb NOT NULL,
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
COMMENT ON COLUMN locations.path IS 'Names from the site down to this location, as a JSON array; kept by the locations_path triggers, never written directly.';

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

-- Storage -------------------------------------------------------------------
CREATE INDEX locations_parent ON locations (parent_id);
COMMENT ON INDEX locations_parent IS 'Walks the storage tree downwards (children, occupancy below a location).';

-- Freezer audits ------------------------------------------------------------
CREATE TABLE audits (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	box_id bigint REFERENCES boxes (id),
	location_id bigint REFERENCES locations (id),
	status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	started_by text NOT NULL DEFAULT bb_actor(),
	closed_at timestamptz,
	closed_by text,
	report jsonb,
	resolutions jsonb,
	CHECK ((box_id IS NULL) <> (location_id IS NULL)),
	CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
	CHECK ((status = 'closed') = (report IS NOT NULL))
);
COMMENT ON TABLE audits IS 'Freezer audits: a box or a location compared with what scanners saw there.';
COMMENT ON COLUMN audits.id IS 'Surrogate key, used in the API.';
COMMENT ON COLUMN audits.box_id IS 'The box audited, when the scope is one box.';
COMMENT ON COLUMN audits.location_id IS 'The location audited (every box below it), when the scope is a location.';
COMMENT ON COLUMN audits.status IS 'open (scans may be added) or closed (resolved; events written).';
COMMENT ON COLUMN audits.started_at IS 'When the expected contents were snapshotted.';
COMMENT ON COLUMN audits.started_by IS 'Who started the audit.';
COMMENT ON COLUMN audits.closed_at IS 'When the audit was closed.';
COMMENT ON COLUMN audits.closed_by IS 'Who closed the audit.';
COMMENT ON COLUMN audits.report IS 'The report as it stood at closing (summary and discrepancies), kept as the record.';
COMMENT ON COLUMN audits.resolutions IS 'The resolutions applied at closing, each with the event it wrote.';

CREATE TABLE audit_boxes (
	audit_id bigint NOT NULL REFERENCES audits (id),
	box_id bigint NOT NULL REFERENCES boxes (id),
	barcode text NOT NULL,
	rows integer NOT NULL,
	cols integer NOT NULL,
	PRIMARY KEY (audit_id, box_id),
	UNIQUE (audit_id, barcode)
);
COMMENT ON TABLE audit_boxes IS 'The boxes in an audit''s scope, with their barcode and grid at the start.';
COMMENT ON COLUMN audit_boxes.audit_id IS 'The audit.';
COMMENT ON COLUMN audit_boxes.box_id IS 'A box in its scope.';
COMMENT ON COLUMN audit_boxes.barcode IS 'The box''s barcode when the audit started.';
COMMENT ON COLUMN audit_boxes.rows IS 'Rows of the box''s grid.';
COMMENT ON COLUMN audit_boxes.cols IS 'Columns of the box''s grid.';

CREATE TABLE audit_expected (
	audit_id bigint NOT NULL REFERENCES audits (id),
	specimen_id text NOT NULL REFERENCES specimens (id),
	box_id bigint NOT NULL,
	pos_row integer NOT NULL,
	pos_col integer NOT NULL,
	ledger_seq integer NOT NULL,
	PRIMARY KEY (audit_id, specimen_id),
	UNIQUE (audit_id, box_id, pos_row, pos_col),
	FOREIGN KEY (audit_id, box_id) REFERENCES audit_boxes (audit_id, box_id)
);
COMMENT ON TABLE audit_expected IS 'The snapshot: every in_storage specimen of the audited boxes when the audit started.';
COMMENT ON COLUMN audit_expected.audit_id IS 'The audit.';
COMMENT ON COLUMN audit_expected.specimen_id IS 'A specimen the database placed in scope.';
COMMENT ON COLUMN audit_expected.box_id IS 'Its box at the start.';
COMMENT ON COLUMN audit_expected.pos_row IS 'Its row at the start (1 = A).';
COMMENT ON COLUMN audit_expected.pos_col IS 'Its column at the start.';
COMMENT ON COLUMN audit_expected.ledger_seq IS 'Its last custody event at the start: later events show it moved during the audit.';

CREATE TABLE audit_scans (
	audit_id bigint NOT NULL REFERENCES audits (id),
	box_id bigint NOT NULL,
	pos_row integer NOT NULL,
	pos_col integer NOT NULL,
	state text NOT NULL CHECK (state IN ('tube', 'empty', 'no_read')),
	barcode text CHECK ((state = 'tube') = (barcode IS NOT NULL) AND length(barcode) BETWEEN 1 AND 64),
	specimen_id text REFERENCES specimens (id),
	source text NOT NULL CHECK (source IN ('file', 'hand')),
	line integer,
	scanned_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	scanned_by text NOT NULL DEFAULT bb_actor(),
	PRIMARY KEY (audit_id, box_id, pos_row, pos_col),
	FOREIGN KEY (audit_id, box_id) REFERENCES audit_boxes (audit_id, box_id)
);

CREATE INDEX audit_scans_specimen ON audit_scans (audit_id, specimen_id) WHERE specimen_id IS NOT NULL;
COMMENT ON TABLE audit_scans IS 'What was seen: one row per scanned position; a new file for a box replaces its rows.';
COMMENT ON COLUMN audit_scans.audit_id IS 'The audit.';
COMMENT ON COLUMN audit_scans.box_id IS 'The box scanned.';
COMMENT ON COLUMN audit_scans.pos_row IS 'Row of the position (1 = A).';
COMMENT ON COLUMN audit_scans.pos_col IS 'Column of the position.';
COMMENT ON COLUMN audit_scans.state IS 'tube (a code was read), empty, or no_read (a tube whose code could not be read).';
COMMENT ON COLUMN audit_scans.barcode IS 'The code read: a tube barcode or a specimen ID (tube only).';
COMMENT ON COLUMN audit_scans.specimen_id IS 'The specimen the code names when the scan was stored, NULL if unknown.';
COMMENT ON COLUMN audit_scans.source IS 'file (rack scanner) or hand (hand scans sent as JSON).';
COMMENT ON COLUMN audit_scans.line IS 'Line of the scanner file that listed the position.';
COMMENT ON COLUMN audit_scans.scanned_at IS 'When the scan was stored.';
COMMENT ON COLUMN audit_scans.scanned_by IS 'Who sent it.';

-- Shipments -----------------------------------------------------------------
CREATE TABLE shipments (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	destination text NOT NULL CHECK (length(destination) BETWEEN 1 AND 200),
	conditions text NOT NULL CHECK (conditions IN ('dry_ice', 'ln2_dry_shipper', 'cold_pack', 'ambient')),
	requester text CHECK (length(requester) BETWEEN 1 AND 200),
	notes text CHECK (length(notes) <= 2000),
	status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'dispatched', 'received')),
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL DEFAULT bb_actor(),
	dispatched_at timestamptz,
	dispatched_by text,
	received_at timestamptz,
	received_condition text CHECK (received_condition IN ('good', 'thawed', 'damaged')),
	receipt_notes text CHECK (length(receipt_notes) <= 2000),
	receipt_recorded_by text,
	CHECK ((status = 'draft') = (dispatched_at IS NULL)),
	CHECK ((status = 'received') = (received_at IS NOT NULL))
);

CREATE INDEX shipments_status ON shipments (status, id);
COMMENT ON TABLE shipments IS 'Shipments of specimens to analysis labs: draft (manifest being built), dispatched, received.';
COMMENT ON COLUMN shipments.id IS 'Surrogate key, used in the API.';
COMMENT ON COLUMN shipments.destination IS 'Where it goes: the receiving lab or core facility.';
COMMENT ON COLUMN shipments.conditions IS 'Transport conditions: dry_ice, ln2_dry_shipper, cold_pack (2-8 °C) or ambient.';
COMMENT ON COLUMN shipments.requester IS 'Who asked for the material (person, project or material transfer agreement).';
COMMENT ON COLUMN shipments.notes IS 'Free text for the manifest.';
COMMENT ON COLUMN shipments.status IS 'draft (specimens may be added and removed), dispatched or received.';
COMMENT ON COLUMN shipments.created_at IS 'When the shipment was opened.';
COMMENT ON COLUMN shipments.created_by IS 'Who opened it.';
COMMENT ON COLUMN shipments.dispatched_at IS 'When it was dispatched (database clock).';
COMMENT ON COLUMN shipments.dispatched_by IS 'Who dispatched it.';
COMMENT ON COLUMN shipments.received_at IS 'When the destination received it, as reported.';
COMMENT ON COLUMN shipments.received_condition IS 'State on arrival: good, thawed or damaged (NULL: not reported).';
COMMENT ON COLUMN shipments.receipt_notes IS 'Free text from the receipt.';
COMMENT ON COLUMN shipments.receipt_recorded_by IS 'Who recorded the receipt.';

CREATE TABLE shipment_items (
	shipment_id bigint NOT NULL REFERENCES shipments (id),
	specimen_id text NOT NULL REFERENCES specimens (id),
	added_at timestamptz NOT NULL DEFAULT now(),
	added_by text NOT NULL DEFAULT bb_actor(),
	from_box text,
	from_pos text,
	PRIMARY KEY (shipment_id, specimen_id)
);

CREATE INDEX shipment_items_specimen ON shipment_items (specimen_id);
COMMENT ON TABLE shipment_items IS 'The manifest: which specimens a shipment holds.';
COMMENT ON COLUMN shipment_items.shipment_id IS 'The shipment.';
COMMENT ON COLUMN shipment_items.specimen_id IS 'A specimen on it.';
COMMENT ON COLUMN shipment_items.added_at IS 'When it was put on the manifest.';
COMMENT ON COLUMN shipment_items.added_by IS 'Who put it there.';
COMMENT ON COLUMN shipment_items.from_box IS 'Box it left at dispatch (NULL before dispatch).';
COMMENT ON COLUMN shipment_items.from_pos IS 'Position it left at dispatch, e.g. A1.';

-- Reports and FHIR R4 -------------------------------------------------------
CREATE INDEX specimens_consent_withdrawn ON specimens (serial) WHERE consent_withdrawn;
COMMENT ON INDEX specimens_consent_withdrawn IS 'The consent-withdrawal worklist without a scan of every specimen.';

CREATE TABLE fhir_type_codes (
	type text NOT NULL REFERENCES specimen_types (code),
	system text NOT NULL CHECK (system ~ '^(https?|urn):'),
	code text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
	display text NOT NULL,
	PRIMARY KEY (type, system)
);
COMMENT ON TABLE fhir_type_codes IS 'Standard codes (e.g. SNOMED CT specimen concepts) added to a specimen type''s FHIR CodeableConcept.';
COMMENT ON COLUMN fhir_type_codes.type IS 'Our specimen type code.';
COMMENT ON COLUMN fhir_type_codes.system IS 'The code system URI, e.g. http://snomed.info/sct.';
COMMENT ON COLUMN fhir_type_codes.code IS 'The concept''s code in that system.';
COMMENT ON COLUMN fhir_type_codes.display IS 'The concept''s display name.';

-- Only concepts whose codes were checked; pbmc, muscle_biopsy and skin_biopsy
-- carry our own code alone.
INSERT INTO fhir_type_codes (type, system, code, display) VALUES
	('serum', 'http://snomed.info/sct', '119364003', 'Serum specimen'),
	('plasma', 'http://snomed.info/sct', '119361006', 'Plasma specimen'),
	('whole_blood', 'http://snomed.info/sct', '258580003', 'Whole blood specimen'),
	('dna', 'http://snomed.info/sct', '258566005', 'Deoxyribonucleic acid specimen'),
	('rna', 'http://snomed.info/sct', '441673008', 'Ribonucleic acid specimen'),
	('bal_fluid', 'http://snomed.info/sct', '258607008', 'Bronchoalveolar lavage fluid specimen'),
	('stool', 'http://snomed.info/sct', '119339001', 'Stool specimen');

-- Bulk placement ------------------------------------------------------------
/*
 * Bulk placement, set-based. The checks run over the whole list at once and
 * name the first failing item exactly as the per-tube loop of 0002 did
 * (item order, then within an item: position listed twice, unknown
 * specimen, specimen listed twice, status); then one UPDATE moves every
 * tube and one INSERT writes their events in list order (the chain trigger
 * numbers, times and hashes them as before).
 */
CREATE TYPE bb_place_item AS (i integer, pname text, r integer, c integer, ref text, id text,
	status text, old_box text, old_pos text, here boolean, ev text);
COMMENT ON TYPE bb_place_item IS 'One item of a bulk placement as bb_box_place checks and applies it.';
COMMENT ON COLUMN bb_place_item.i IS 'Its place in the request, from 1.';
COMMENT ON COLUMN bb_place_item.pname IS 'The target position, normalised (A1); NULL if it does not parse.';
COMMENT ON COLUMN bb_place_item.r IS 'Target row (1 = A).';
COMMENT ON COLUMN bb_place_item.c IS 'Target column.';
COMMENT ON COLUMN bb_place_item.ref IS 'The specimen ID or tube barcode as given.';
COMMENT ON COLUMN bb_place_item.id IS 'The specimen it names within the caller''s studies, NULL if none.';
COMMENT ON COLUMN bb_place_item.status IS 'The specimen''s status before the placement.';
COMMENT ON COLUMN bb_place_item.old_box IS 'Barcode of the box it leaves, if any.';
COMMENT ON COLUMN bb_place_item.old_pos IS 'Position it leaves, if any.';
COMMENT ON COLUMN bb_place_item.here IS 'Already at the target position: left alone, no event.';
COMMENT ON COLUMN bb_place_item.ev IS 'The custody event the placement writes (stored, returned or moved).';
