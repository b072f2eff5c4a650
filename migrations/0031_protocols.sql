-- 0031: study protocols, visits and pre-analytical codes (issue 17, first
-- half; docs/api-protocols.md).
--  - A study's protocol is versioned: each change through the API is a new
--    version (protocol_versions) with its timepoints and, per timepoint, the
--    specimens a visit should yield. Versions are never changed afterwards.
--  - A specimen keeps the protocol version it was registered under and its
--    SPREC code (ISBER Standard PREanalytical Code), checked against the
--    code tables in sprec_codes.
--  - A participant has an enrolment date, from which each timepoint's
--    planned date follows; a visit row records what happened at a timepoint
--    (done, missed, not collected). A timepoint without a row is planned.
-- The functions and triggers are in functions/protocols.sql.

CREATE TABLE protocol_versions (
	study_id bigint NOT NULL REFERENCES studies (id),
	version integer NOT NULL CHECK (version >= 1),
	reason text CHECK (length(reason) <= 1000),
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	created_by text NOT NULL DEFAULT bb_actor(),
	PRIMARY KEY (study_id, version)
);
COMMENT ON TABLE protocol_versions IS 'Each version of a study''s protocol: a new one per change, the highest in force.';
COMMENT ON COLUMN protocol_versions.study_id IS 'The study.';
COMMENT ON COLUMN protocol_versions.version IS 'Version number, from 1, without gaps within a study.';
COMMENT ON COLUMN protocol_versions.reason IS 'Why the protocol changed, as the manager gave it.';
COMMENT ON COLUMN protocol_versions.created_at IS 'When the version was made.';
COMMENT ON COLUMN protocol_versions.created_by IS 'Who made it.';

CREATE TABLE protocol_timepoints (
	study_id bigint NOT NULL,
	version integer NOT NULL,
	code text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_.-]{0,39}$'),
	label text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
	ord integer NOT NULL CHECK (ord BETWEEN 0 AND 10000),
	day_offset integer NOT NULL CHECK (day_offset BETWEEN -3650 AND 36500),
	window_days integer NOT NULL CHECK (window_days BETWEEN 0 AND 3650),
	PRIMARY KEY (study_id, version, code),
	FOREIGN KEY (study_id, version) REFERENCES protocol_versions (study_id, version)
);
COMMENT ON TABLE protocol_timepoints IS 'The timepoints of a protocol version: the only timepoints its study''s new specimens may have.';
COMMENT ON COLUMN protocol_timepoints.study_id IS 'The study.';
COMMENT ON COLUMN protocol_timepoints.version IS 'The protocol version.';
COMMENT ON COLUMN protocol_timepoints.code IS 'The timepoint as specimens carry it (baseline, m12 ...), in its one stored spelling (bb_timepoint).';
COMMENT ON COLUMN protocol_timepoints.label IS 'What people call it ("Month 12").';
COMMENT ON COLUMN protocol_timepoints.ord IS 'Its place in the schedule (sorting).';
COMMENT ON COLUMN protocol_timepoints.day_offset IS 'Days after enrolment the visit is planned.';
COMMENT ON COLUMN protocol_timepoints.window_days IS 'Days before or after the planned date the visit may happen.';

CREATE TABLE protocol_specimens (
	study_id bigint NOT NULL,
	version integer NOT NULL,
	timepoint text NOT NULL,
	type text NOT NULL REFERENCES specimen_types (code),
	aliquots integer NOT NULL CHECK (aliquots BETWEEN 1 AND 500),
	quantity numeric(12, 3) CHECK (quantity > 0),
	unit text CHECK (length(unit) BETWEEN 1 AND 16),
	sprec text CHECK (length(sprec) <= 40),
	CHECK ((quantity IS NULL) = (unit IS NULL)),
	PRIMARY KEY (study_id, version, timepoint, type),
	FOREIGN KEY (study_id, version, timepoint) REFERENCES protocol_timepoints (study_id, version, code)
);
COMMENT ON TABLE protocol_specimens IS 'What a visit at a timepoint should yield, per specimen type.';
COMMENT ON COLUMN protocol_specimens.study_id IS 'The study.';
COMMENT ON COLUMN protocol_specimens.version IS 'The protocol version.';
COMMENT ON COLUMN protocol_specimens.timepoint IS 'The timepoint code.';
COMMENT ON COLUMN protocol_specimens.type IS 'The specimen type expected.';
COMMENT ON COLUMN protocol_specimens.aliquots IS 'How many tubes of the type are expected in storage.';
COMMENT ON COLUMN protocol_specimens.quantity IS 'Quantity per tube, in unit (NULL: not stated).';
COMMENT ON COLUMN protocol_specimens.unit IS 'Unit of quantity.';
COMMENT ON COLUMN protocol_specimens.sprec IS 'The SPREC code a specimen of this type at this timepoint gets unless registration says otherwise.';

ALTER TABLE specimens ADD COLUMN protocol_version integer CHECK (protocol_version >= 1);
ALTER TABLE specimens ADD COLUMN sprec text CHECK (length(sprec) <= 40);
COMMENT ON COLUMN specimens.protocol_version IS 'The version of its study''s protocol it was registered under (NULL: the study had none); aliquots and derivatives take their parent''s.';
COMMENT ON COLUMN specimens.sprec IS 'Its SPREC code (seven elements joined by -), checked against sprec_codes; NULL when unknown.';

/*
 * The completeness report counts the tubes held (in storage) per
 * participant, timepoint and type of a study. Read from the table, that is
 * a scan of every specimen's whole row (10^6 rows, 200 MB: seconds on a
 * busy machine); read from this index, only the held tubes' few columns, in
 * the order the count groups them (docs/performance.md, Completeness). A
 * tube enters and leaves it when it is stored and taken out, which already
 * touch the position index; box_id is included for the report's site filter.
 */
CREATE INDEX specimens_held ON specimens (study_id, participant_id, timepoint, type)
	INCLUDE (box_id) WHERE status = 'in_storage';
COMMENT ON INDEX specimens_held IS 'Held tubes by study, participant, timepoint and type: the completeness report reads only this index.';

/*
 * How many tubes each participant holds per timepoint and type: what the
 * completeness report puts against the protocol, kept current by the
 * statement triggers of functions/protocols.sql on every write to
 * specimens, so that the report reads some 5x10^4 counts instead of
 * counting 10^6 tubes at each request (on a busy 2-core machine that count
 * alone took seconds). bb_held_counts_rebuild() recounts it from the
 * specimens (after a load with triggers off).
 */
CREATE TABLE held_counts (
	study_id bigint NOT NULL REFERENCES studies (id),
	participant_id bigint NOT NULL REFERENCES participants (id),
	timepoint text NOT NULL,
	type text NOT NULL,
	n integer NOT NULL, -- no CHECK (n >= 0): an upsert taking one away proposes a row of -1
	PRIMARY KEY (study_id, participant_id, timepoint, type)
);
COMMENT ON TABLE held_counts IS 'Tubes in storage per participant, timepoint and type (kept by triggers on specimens).';
COMMENT ON COLUMN held_counts.study_id IS 'The participant''s study.';
COMMENT ON COLUMN held_counts.participant_id IS 'The participant.';
COMMENT ON COLUMN held_counts.timepoint IS 'The tubes'' timepoint.';
COMMENT ON COLUMN held_counts.type IS 'The tubes'' specimen type.';
COMMENT ON COLUMN held_counts.n IS 'How many of them are in storage.';
INSERT INTO held_counts (study_id, participant_id, timepoint, type, n)
SELECT study_id, participant_id, timepoint, type, count(*) FROM specimens WHERE status = 'in_storage'
 GROUP BY 1, 2, 3, 4;

ALTER TABLE participants ADD COLUMN enrolled_on date;
COMMENT ON COLUMN participants.enrolled_on IS 'Enrolment date: each protocol timepoint is planned its day offset after it.';

CREATE TABLE visits (
	participant_id bigint NOT NULL REFERENCES participants (id),
	timepoint text NOT NULL CHECK (length(timepoint) BETWEEN 1 AND 40),
	status text NOT NULL CHECK (status IN ('planned', 'done', 'missed', 'not-collected')),
	actual_date date,
	reason text CHECK (length(reason) <= 1000),
	protocol_version integer,
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_by text NOT NULL DEFAULT bb_actor(),
	CHECK (status NOT IN ('missed', 'not-collected') OR reason IS NOT NULL),
	PRIMARY KEY (participant_id, timepoint)
);
COMMENT ON TABLE visits IS 'What happened at a participant''s timepoint; a timepoint of the protocol without a row is planned.';
COMMENT ON COLUMN visits.participant_id IS 'The participant.';
COMMENT ON COLUMN visits.timepoint IS 'The timepoint code.';
COMMENT ON COLUMN visits.status IS 'planned, done (a specimen was registered at it), missed or not-collected (both with a reason).';
COMMENT ON COLUMN visits.actual_date IS 'The day of the earliest specimen collected at it.';
COMMENT ON COLUMN visits.reason IS 'Why it was missed or nothing was collected.';
COMMENT ON COLUMN visits.protocol_version IS 'The protocol version in force when its status was last set.';
COMMENT ON COLUMN visits.updated_at IS 'When its status was last set.';
COMMENT ON COLUMN visits.updated_by IS 'Who set it.';

/*
 * The SPREC code tables: for fluids and for solid tissue, each of the seven
 * elements and its codes (docs/sprec.md gives the source). The delay
 * elements of fluids also carry the interval and temperature they stand
 * for, so that processing times recorded at the bench choose the code and a
 * filter can ask for "under 2 h".
 */
CREATE TABLE sprec_codes (
	kind text NOT NULL CHECK (kind IN ('fluid', 'solid')),
	element smallint NOT NULL CHECK (element BETWEEN 1 AND 7),
	code text NOT NULL CHECK (code ~ '^[A-Z0-9]{1,3}$'),
	meaning text NOT NULL,
	temperature text CHECK (temperature IN ('rt', 'cold', 'body')),
	min_hours numeric,
	max_hours numeric,
	PRIMARY KEY (kind, element, code)
);
COMMENT ON TABLE sprec_codes IS 'The SPREC code tables (fluid and solid), one row per element and code.';
COMMENT ON COLUMN sprec_codes.kind IS 'fluid or solid: which of the two seven-element codes.';
COMMENT ON COLUMN sprec_codes.element IS 'Position of the element in the code, 1 to 7.';
COMMENT ON COLUMN sprec_codes.code IS 'The code of the element.';
COMMENT ON COLUMN sprec_codes.meaning IS 'What the code stands for.';
COMMENT ON COLUMN sprec_codes.temperature IS 'Delay elements: rt (room temperature), cold (2 to 10 °C) or body (35 to 38 °C).';
COMMENT ON COLUMN sprec_codes.min_hours IS 'Delay elements: the delay is at least this many hours.';
COMMENT ON COLUMN sprec_codes.max_hours IS 'Delay elements: the delay is under this many hours (NULL: no upper bound).';

INSERT INTO sprec_codes (kind, element, code, meaning, temperature, min_hours, max_hours) VALUES
	-- fluids, 1: type of sample
	('fluid', 1, 'ASC', 'Ascites fluid', NULL, NULL, NULL),
	('fluid', 1, 'AMN', 'Amniotic fluid', NULL, NULL, NULL),
	('fluid', 1, 'BAL', 'Bronchoalveolar lavage', NULL, NULL, NULL),
	('fluid', 1, 'BLD', 'Blood (whole)', NULL, NULL, NULL),
	('fluid', 1, 'BMA', 'Bone marrow aspirate', NULL, NULL, NULL),
	('fluid', 1, 'BMK', 'Breast milk', NULL, NULL, NULL),
	('fluid', 1, 'BUC', 'Buccal cells', NULL, NULL, NULL),
	('fluid', 1, 'BUF', 'Unficolled buffy coat, viable', NULL, NULL, NULL),
	('fluid', 1, 'BFF', 'Unficolled buffy coat, non-viable', NULL, NULL, NULL),
	('fluid', 1, 'CEL', 'Ficoll mononuclear cells, viable', NULL, NULL, NULL),
	('fluid', 1, 'CEN', 'Fresh cells from a non-blood specimen type', NULL, NULL, NULL),
	('fluid', 1, 'CLN', 'Cells from a non-blood specimen type (ascites, amniotic), viable', NULL, NULL, NULL),
	('fluid', 1, 'CRD', 'Cord blood', NULL, NULL, NULL),
	('fluid', 1, 'CSF', 'Cerebrospinal fluid', NULL, NULL, NULL),
	('fluid', 1, 'DWB', 'Dried whole blood (Guthrie cards)', NULL, NULL, NULL),
	('fluid', 1, 'NAS', 'Nasal washing', NULL, NULL, NULL),
	('fluid', 1, 'PEL', 'Ficoll mononuclear cells, non-viable', NULL, NULL, NULL),
	('fluid', 1, 'PEN', 'Cells from a non-blood specimen type (ascites, amniotic), non-viable', NULL, NULL, NULL),
	('fluid', 1, 'PFL', 'Pleural fluid', NULL, NULL, NULL),
	('fluid', 1, 'PL1', 'Plasma, single spun', NULL, NULL, NULL),
	('fluid', 1, 'PL2', 'Plasma, double spun', NULL, NULL, NULL),
	('fluid', 1, 'RBC', 'Red blood cells', NULL, NULL, NULL),
	('fluid', 1, 'SAL', 'Saliva', NULL, NULL, NULL),
	('fluid', 1, 'SEM', 'Semen', NULL, NULL, NULL),
	('fluid', 1, 'SER', 'Serum', NULL, NULL, NULL),
	('fluid', 1, 'SPT', 'Sputum', NULL, NULL, NULL),
	('fluid', 1, 'STL', 'Stool', NULL, NULL, NULL),
	('fluid', 1, 'SYN', 'Synovial fluid', NULL, NULL, NULL),
	('fluid', 1, 'TER', 'Tears', NULL, NULL, NULL),
	('fluid', 1, 'U24', '24 h urine', NULL, NULL, NULL),
	('fluid', 1, 'URN', 'Urine, random (spot)', NULL, NULL, NULL),
	('fluid', 1, 'URM', 'Urine, first morning', NULL, NULL, NULL),
	('fluid', 1, 'URT', 'Urine, timed', NULL, NULL, NULL),
	('fluid', 1, 'ZZZ', 'Other', NULL, NULL, NULL),
	-- fluids, 2: type of primary container
	('fluid', 2, 'ACD', 'Acid citrate dextrose', NULL, NULL, NULL),
	('fluid', 2, 'ADD', 'Additives', NULL, NULL, NULL),
	('fluid', 2, 'CAT', 'Serum tube without clot activator', NULL, NULL, NULL),
	('fluid', 2, 'CPD', 'Citrate phosphate dextrose', NULL, NULL, NULL),
	('fluid', 2, 'CPT', 'Cell preparation tube', NULL, NULL, NULL),
	('fluid', 2, 'EDG', 'EDTA and gel', NULL, NULL, NULL),
	('fluid', 2, 'HEP', 'Lithium heparin', NULL, NULL, NULL),
	('fluid', 2, 'HIR', 'Hirudin', NULL, NULL, NULL),
	('fluid', 2, 'LHG', 'Lithium heparin and gel', NULL, NULL, NULL),
	('fluid', 2, 'ORG', 'Oragene collection container or equivalent', NULL, NULL, NULL),
	('fluid', 2, 'PAX', 'PAXgene blood RNA', NULL, NULL, NULL),
	('fluid', 2, 'PED', 'Potassium EDTA', NULL, NULL, NULL),
	('fluid', 2, 'PET', 'Polyethylene tube, sterile', NULL, NULL, NULL),
	('fluid', 2, 'PI1', 'S8820 protease inhibitor tablets or equivalent', NULL, NULL, NULL),
	('fluid', 2, 'PIX', 'Protease inhibitors', NULL, NULL, NULL),
	('fluid', 2, 'PPS', 'Polypropylene tube, sterile', NULL, NULL, NULL),
	('fluid', 2, 'PXD', 'PAXgene blood DNA', NULL, NULL, NULL),
	('fluid', 2, 'PXR', 'PAXgene bone marrow RNA', NULL, NULL, NULL),
	('fluid', 2, 'SCI', 'Sodium citrate', NULL, NULL, NULL),
	('fluid', 2, 'SED', 'Sodium EDTA', NULL, NULL, NULL),
	('fluid', 2, 'SHP', 'Sodium heparin', NULL, NULL, NULL),
	('fluid', 2, 'SPO', 'Sodium fluoride / potassium oxalate', NULL, NULL, NULL),
	('fluid', 2, 'SST', 'Serum separator tube with clot activator', NULL, NULL, NULL),
	('fluid', 2, 'TEM', 'Tempus tube', NULL, NULL, NULL),
	('fluid', 2, 'TRC', 'Trace elements tube', NULL, NULL, NULL),
	('fluid', 2, 'XXX', 'Unknown', NULL, NULL, NULL),
	('fluid', 2, 'ZZZ', 'Other', NULL, NULL, NULL),
	-- fluids, 3: pre-centrifugation delay (collection to processing) and temperature
	('fluid', 3, 'A', 'Under 2 h at room temperature', 'rt', 0, 2),
	('fluid', 3, 'B', 'Under 2 h at 2 to 10 °C', 'cold', 0, 2),
	('fluid', 3, 'C', '2 to 4 h at room temperature', 'rt', 2, 4),
	('fluid', 3, 'D', '2 to 4 h at 2 to 10 °C', 'cold', 2, 4),
	('fluid', 3, 'E', '4 to 8 h at room temperature', 'rt', 4, 8),
	('fluid', 3, 'F', '4 to 8 h at 2 to 10 °C', 'cold', 4, 8),
	('fluid', 3, 'G', '8 to 12 h at room temperature', 'rt', 8, 12),
	('fluid', 3, 'H', '8 to 12 h at 2 to 10 °C', 'cold', 8, 12),
	('fluid', 3, 'I', '12 to 24 h at room temperature', 'rt', 12, 24),
	('fluid', 3, 'J', '12 to 24 h at 2 to 10 °C', 'cold', 12, 24),
	('fluid', 3, 'K', '24 to 48 h at room temperature', 'rt', 24, 48),
	('fluid', 3, 'L', '24 to 48 h at 2 to 10 °C', 'cold', 24, 48),
	('fluid', 3, 'M', 'Over 48 h at room temperature', 'rt', 48, NULL),
	('fluid', 3, 'N', 'Over 48 h at 2 to 10 °C', 'cold', 48, NULL),
	('fluid', 3, 'O', 'Under 2 h at 35 to 38 °C', 'body', 0, 2),
	('fluid', 3, 'X', 'Unknown', NULL, NULL, NULL),
	('fluid', 3, 'Z', 'Other', NULL, NULL, NULL),
	-- fluids, 4: centrifugation
	('fluid', 4, 'A', 'Room temperature, 10 to 15 min, under 3000 g, no braking', NULL, NULL, NULL),
	('fluid', 4, 'B', 'Room temperature, 10 to 15 min, under 3000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'C', '2 to 10 °C, 10 to 15 min, under 3000 g, no braking', NULL, NULL, NULL),
	('fluid', 4, 'D', '2 to 10 °C, 10 to 15 min, under 3000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'E', 'Room temperature, 10 to 15 min, 3000 to 6000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'F', '2 to 10 °C, 10 to 15 min, 3000 to 6000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'G', 'Room temperature, 10 to 15 min, 6000 to 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'H', '2 to 10 °C, 10 to 15 min, 6000 to 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'I', 'Room temperature, 10 to 15 min, over 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'J', '2 to 10 °C, 10 to 15 min, over 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 4, 'M', 'Room temperature, 30 min, under 1000 g, no braking', NULL, NULL, NULL),
	('fluid', 4, 'N', 'No centrifugation', NULL, NULL, NULL),
	('fluid', 4, 'X', 'Unknown', NULL, NULL, NULL),
	('fluid', 4, 'Z', 'Other', NULL, NULL, NULL),
	-- fluids, 5: second centrifugation
	('fluid', 5, 'A', 'Room temperature, 10 to 15 min, under 3000 g, no braking', NULL, NULL, NULL),
	('fluid', 5, 'B', 'Room temperature, 10 to 15 min, under 3000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'C', '2 to 10 °C, 10 to 15 min, under 3000 g, no braking', NULL, NULL, NULL),
	('fluid', 5, 'D', '2 to 10 °C, 10 to 15 min, under 3000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'E', 'Room temperature, 10 to 15 min, 3000 to 6000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'F', '2 to 10 °C, 10 to 15 min, 3000 to 6000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'G', 'Room temperature, 10 to 15 min, 6000 to 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'H', '2 to 10 °C, 10 to 15 min, 6000 to 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'I', 'Room temperature, 10 to 15 min, over 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'J', '2 to 10 °C, 10 to 15 min, over 10000 g, with braking', NULL, NULL, NULL),
	('fluid', 5, 'N', 'No second centrifugation', NULL, NULL, NULL),
	('fluid', 5, 'X', 'Unknown', NULL, NULL, NULL),
	('fluid', 5, 'Z', 'Other', NULL, NULL, NULL),
	-- fluids, 6: post-centrifugation delay (processing to storage) and temperature
	('fluid', 6, 'A', 'Under 1 h at 2 to 10 °C', 'cold', 0, 1),
	('fluid', 6, 'B', 'Under 1 h at room temperature', 'rt', 0, 1),
	('fluid', 6, 'C', '1 to 2 h at 2 to 10 °C', 'cold', 1, 2),
	('fluid', 6, 'D', '1 to 2 h at room temperature', 'rt', 1, 2),
	('fluid', 6, 'E', '2 to 8 h at 2 to 10 °C', 'cold', 2, 8),
	('fluid', 6, 'F', '2 to 8 h at room temperature', 'rt', 2, 8),
	('fluid', 6, 'G', '8 to 24 h at 2 to 10 °C', 'cold', 8, 24),
	('fluid', 6, 'H', '8 to 24 h at room temperature', 'rt', 8, 24),
	('fluid', 6, 'I', 'Over 24 h at 2 to 10 °C', 'cold', 24, NULL),
	('fluid', 6, 'J', 'Over 24 h at room temperature', 'rt', 24, NULL),
	('fluid', 6, 'N', 'Not applicable', NULL, NULL, NULL),
	('fluid', 6, 'X', 'Unknown', NULL, NULL, NULL),
	('fluid', 6, 'Z', 'Other', NULL, NULL, NULL),
	-- solid tissue, 1: type of sample
	('solid', 1, 'CEN', 'Fresh cells from a non-blood specimen type (biopsy)', NULL, NULL, NULL),
	('solid', 1, 'CLN', 'Cells from a non-blood specimen type (dissociated tissue), viable', NULL, NULL, NULL),
	('solid', 1, 'FNA', 'Cells from fine needle aspirate', NULL, NULL, NULL),
	('solid', 1, 'HAR', 'Hair', NULL, NULL, NULL),
	('solid', 1, 'LCM', 'Cells from laser capture microdissected tissue', NULL, NULL, NULL),
	('solid', 1, 'PEN', 'Cells from a non-blood specimen type (dissociated tissue), non-viable', NULL, NULL, NULL),
	('solid', 1, 'PLC', 'Placenta', NULL, NULL, NULL),
	('solid', 1, 'TIS', 'Solid tissue', NULL, NULL, NULL),
	('solid', 1, 'TCM', 'Disrupted tissue, non-viable', NULL, NULL, NULL),
	('solid', 1, 'ZZZ', 'Other', NULL, NULL, NULL),
	-- solid tissue, 2: type of collection
	('solid', 2, 'A06', 'Autopsy, under 6 h post mortem', NULL, NULL, NULL),
	('solid', 2, 'A12', 'Autopsy, 6 to 12 h post mortem', NULL, NULL, NULL),
	('solid', 2, 'A24', 'Autopsy, 12 to 24 h post mortem', NULL, NULL, NULL),
	('solid', 2, 'A48', 'Autopsy, 24 to 48 h post mortem', NULL, NULL, NULL),
	('solid', 2, 'A72', 'Autopsy, 48 to 72 h post mortem', NULL, NULL, NULL),
	('solid', 2, 'BCM', 'Biopsy in culture medium', NULL, NULL, NULL),
	('solid', 2, 'BPS', 'Biopsy', NULL, NULL, NULL),
	('solid', 2, 'BSL', 'Biopsy in normal saline or PBS', NULL, NULL, NULL),
	('solid', 2, 'BTM', 'Biopsy in low-temperature transport medium', NULL, NULL, NULL),
	('solid', 2, 'FNA', 'Fine needle aspirate', NULL, NULL, NULL),
	('solid', 2, 'PUN', 'Punction', NULL, NULL, NULL),
	('solid', 2, 'SCM', 'Surgical excision in culture medium', NULL, NULL, NULL),
	('solid', 2, 'SRG', 'Surgical excision', NULL, NULL, NULL),
	('solid', 2, 'SSL', 'Surgical excision in normal saline or PBS', NULL, NULL, NULL),
	('solid', 2, 'STM', 'Surgical excision in low-temperature transport medium', NULL, NULL, NULL),
	('solid', 2, 'VAC', 'Surgical excision in vacuum container', NULL, NULL, NULL),
	('solid', 2, 'SWB', 'Swab', NULL, NULL, NULL),
	('solid', 2, 'ZZZ', 'Other', NULL, NULL, NULL),
	-- solid tissue, 3 and 4: warm and cold ischemia time
	('solid', 3, 'A', 'Under 2 min', NULL, NULL, NULL),
	('solid', 3, 'B', '2 to 10 min', NULL, NULL, NULL),
	('solid', 3, 'C', '10 to 20 min', NULL, NULL, NULL),
	('solid', 3, 'D', '20 to 30 min', NULL, NULL, NULL),
	('solid', 3, 'E', '30 to 60 min', NULL, NULL, NULL),
	('solid', 3, 'F', 'Over 60 min', NULL, NULL, NULL),
	('solid', 3, 'N', 'Not applicable', NULL, NULL, NULL),
	('solid', 3, 'X', 'Unknown', NULL, NULL, NULL),
	('solid', 3, 'Z', 'Other', NULL, NULL, NULL),
	('solid', 4, 'A', 'Under 2 min', NULL, NULL, NULL),
	('solid', 4, 'B', '2 to 10 min', NULL, NULL, NULL),
	('solid', 4, 'C', '10 to 20 min', NULL, NULL, NULL),
	('solid', 4, 'D', '20 to 30 min', NULL, NULL, NULL),
	('solid', 4, 'E', '30 to 60 min', NULL, NULL, NULL),
	('solid', 4, 'F', 'Over 60 min', NULL, NULL, NULL),
	('solid', 4, 'N', 'Not applicable', NULL, NULL, NULL),
	('solid', 4, 'X', 'Unknown', NULL, NULL, NULL),
	('solid', 4, 'Z', 'Other', NULL, NULL, NULL),
	-- solid tissue, 5: fixation or stabilization type
	('solid', 5, 'ACA', 'Non-aldehyde fixative with acetic acid', NULL, NULL, NULL),
	('solid', 5, 'ALD', 'Aldehyde-based', NULL, NULL, NULL),
	('solid', 5, 'ALL', 'Allprotect tissue reagent', NULL, NULL, NULL),
	('solid', 5, 'ETH', 'Alcohol-based', NULL, NULL, NULL),
	('solid', 5, 'FOR', 'Non-buffered formalin', NULL, NULL, NULL),
	('solid', 5, 'HST', 'Heat stabilization', NULL, NULL, NULL),
	('solid', 5, 'SNP', 'Snap freezing', NULL, NULL, NULL),
	('solid', 5, 'NAA', 'Non-aldehyde fixative without acetic acid', NULL, NULL, NULL),
	('solid', 5, 'NBF', 'Neutral buffered formalin', NULL, NULL, NULL),
	('solid', 5, 'OCT', 'Optimum cutting temperature medium', NULL, NULL, NULL),
	('solid', 5, 'PXT', 'PAXgene tissue', NULL, NULL, NULL),
	('solid', 5, 'RNL', 'RNAlater', NULL, NULL, NULL),
	('solid', 5, 'XXX', 'Unknown', NULL, NULL, NULL),
	('solid', 5, 'ZZZ', 'Other', NULL, NULL, NULL),
	-- solid tissue, 6: fixation time
	('solid', 6, 'A', 'Under 15 min', NULL, NULL, NULL),
	('solid', 6, 'B', '15 min to 1 h', NULL, NULL, NULL),
	('solid', 6, 'C', '1 to 4 h', NULL, NULL, NULL),
	('solid', 6, 'D', '4 to 8 h', NULL, NULL, NULL),
	('solid', 6, 'E', '8 to 24 h', NULL, NULL, NULL),
	('solid', 6, 'F', '24 to 48 h', NULL, NULL, NULL),
	('solid', 6, 'G', '48 to 72 h', NULL, NULL, NULL),
	('solid', 6, 'N', 'Not applicable', NULL, NULL, NULL),
	('solid', 6, 'X', 'Unknown', NULL, NULL, NULL),
	('solid', 6, 'Z', 'Other', NULL, NULL, NULL);

-- 7: long-term storage, the same table for fluids and solid tissue.
INSERT INTO sprec_codes (kind, element, code, meaning)
SELECT k.kind, 7, s.code, s.meaning
  FROM (VALUES ('fluid'), ('solid')) k(kind),
       (VALUES ('A', 'Polypropylene tube 0.5 to 2 mL, -85 to -60 °C'),
	       ('B', 'Polypropylene tube 0.5 to 2 mL, -35 to -18 °C'),
	       ('V', 'Polypropylene tube 0.5 to 2 mL, below -135 °C'),
	       ('C', 'Cryotube 1 to 2 mL, liquid nitrogen'),
	       ('D', 'Cryotube 1 to 2 mL, -85 to -60 °C'),
	       ('E', 'Cryotube 1 to 2 mL, programmable freezing to below -135 °C'),
	       ('F', 'Plastic cryo straw, liquid nitrogen'),
	       ('G', 'Straw, -85 to -60 °C'),
	       ('H', 'Straw, -35 to -18 °C'),
	       ('I', 'Straw, programmable freezing to below -135 °C'),
	       ('J', 'Polypropylene tube 5 mL or more, -85 to -60 °C'),
	       ('K', 'Polypropylene tube 5 mL or more, -35 to -18 °C'),
	       ('L', 'Microplate, -85 to -60 °C'),
	       ('M', 'Microplate, -35 to -18 °C'),
	       ('N', 'Cryotube 1 to 2 mL, liquid nitrogen after a time at -85 to -60 °C'),
	       ('O', 'Plastic cryo straw, liquid nitrogen after a time at -85 to -60 °C'),
	       ('P', 'Paraffin block, room temperature or 2 to 10 °C'),
	       ('Q', 'Bag, liquid nitrogen'),
	       ('R', 'Dry technology medium, room temperature'),
	       ('S', 'Polypropylene tube 40 to 500 uL, -85 to -60 °C'),
	       ('T', 'Polypropylene tube 40 to 500 uL, -35 to -18 °C'),
	       ('W', 'Polypropylene tube 40 to 500 uL, below -135 °C'),
	       ('Y', 'Original primary container, -35 to -18 °C or -85 to -60 °C'),
	       ('X', 'Unknown'),
	       ('Z', 'Other')) s(code, meaning);
