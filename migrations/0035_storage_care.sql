-- 0035: storage that looks after its tubes (issue 18, docs/api-storage.md):
-- temperature readings and the excursions found in them, where each box
-- stood and when (so that a tube's exposure is derived from its location
-- history, not copied to every tube), the limits each specimen type
-- tolerates, and maintenance tasks per location. The functions and
-- triggers are in functions/storage_care.sql.

ALTER TABLE locations
	ADD COLUMN alarm_above_c numeric(6, 2) CHECK (alarm_above_c BETWEEN -273 AND 100),
	ADD COLUMN excursion_minutes integer NOT NULL DEFAULT 10
		CHECK (excursion_minutes BETWEEN 0 AND 10080),
	ADD COLUMN reading_gap_minutes integer NOT NULL DEFAULT 60
		CHECK (reading_gap_minutes BETWEEN 1 AND 10080);
COMMENT ON COLUMN locations.alarm_above_c IS 'The temperature (°C) above which this location is out of range; NULL: the default of its nominal temperature (docs/api-storage.md), none without one.';
COMMENT ON COLUMN locations.excursion_minutes IS 'How long readings must stay above the limit before it is an excursion (minutes).';
COMMENT ON COLUMN locations.reading_gap_minutes IS 'Readings further apart than this (minutes) are reported as a gap in the monitoring, not as an excursion.';

CREATE TABLE temperature_readings (
	location_id bigint NOT NULL REFERENCES locations (id),
	at timestamptz NOT NULL,
	temperature_c numeric(6, 2) NOT NULL CHECK (temperature_c BETWEEN -273 AND 200),
	sensor text CHECK (length(sensor) BETWEEN 1 AND 64),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (location_id, at)
);
COMMENT ON TABLE temperature_readings IS 'Temperatures measured in a location (one posted, or a logger''s or monitoring system''s export).';
COMMENT ON COLUMN temperature_readings.location_id IS 'Where it was measured.';
COMMENT ON COLUMN temperature_readings.at IS 'When it was measured (the instrument''s time, in UTC).';
COMMENT ON COLUMN temperature_readings.temperature_c IS 'The reading in °C.';
COMMENT ON COLUMN temperature_readings.sensor IS 'The sensor or logger as the export names it, if it does.';
COMMENT ON COLUMN temperature_readings.created_at IS 'When it was posted.';

CREATE TABLE excursions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	location_id bigint NOT NULL REFERENCES locations (id),
	started_at timestamptz NOT NULL,
	ended_at timestamptz CHECK (ended_at > started_at),
	peak_c numeric(6, 2) NOT NULL,
	limit_c numeric(6, 2) NOT NULL,
	readings integer NOT NULL CHECK (readings >= 1),
	UNIQUE (location_id, started_at)
);
COMMENT ON TABLE excursions IS 'Times a location was above its limit for longer than its excursion_minutes; found from the readings, found again when readings of the time are posted.';
COMMENT ON COLUMN excursions.id IS 'Surrogate key (an excursion found again from new readings gets a new one).';
COMMENT ON COLUMN excursions.location_id IS 'The location above its limit; every tube below it was exposed.';
COMMENT ON COLUMN excursions.started_at IS 'The first reading above the limit.';
COMMENT ON COLUMN excursions.ended_at IS 'The first reading back at or below the limit; NULL while none has come.';
COMMENT ON COLUMN excursions.peak_c IS 'The highest reading of the excursion (°C).';
COMMENT ON COLUMN excursions.limit_c IS 'The limit in force when it was found (°C).';
COMMENT ON COLUMN excursions.readings IS 'How many readings were above the limit.';

-- Where each box stood, under which barcode, and when: the location
-- history that a tube's own (its events) is joined with.
CREATE TABLE box_stays (
	box_id bigint NOT NULL REFERENCES boxes (id),
	location_id bigint NOT NULL REFERENCES locations (id),
	barcode text NOT NULL,
	since timestamptz NOT NULL,
	until timestamptz CHECK (until >= since),
	PRIMARY KEY (box_id, since)
);
CREATE INDEX box_stays_barcode ON box_stays (barcode, since);
CREATE INDEX box_stays_location ON box_stays (location_id, since);
COMMENT ON TABLE box_stays IS 'Where each box stood and under which barcode, from when until when; kept by the boxes_stays trigger.';
COMMENT ON COLUMN box_stays.box_id IS 'The box.';
COMMENT ON COLUMN box_stays.location_id IS 'Where it stood.';
COMMENT ON COLUMN box_stays.barcode IS 'Its barcode then (events name boxes by barcode).';
COMMENT ON COLUMN box_stays.since IS 'From when.';
COMMENT ON COLUMN box_stays.until IS 'Until when; NULL: it still stands there.';
COMMENT ON INDEX box_stays_barcode IS 'A tube''s event names a box by barcode: the stays of that barcode.';
COMMENT ON INDEX box_stays_location IS 'The boxes that stood in a location (tubes exposed in an excursion).';
-- Before this migration the history was not kept: each box is taken to
-- have stood where it stands, under its barcode, since it was made.
INSERT INTO box_stays (box_id, location_id, barcode, since)
SELECT id, location_id, barcode, created_at FROM boxes;

-- The tubes that were in a box: its events name it by barcode.
CREATE INDEX events_to_box ON events (to_box, at) WHERE to_box IS NOT NULL;
COMMENT ON INDEX events_to_box IS 'The tubes that went into a box (tubes exposed in an excursion).';

ALTER TABLE specimen_types
	ADD COLUMN max_freeze_thaw integer CHECK (max_freeze_thaw BETWEEN 0 AND 1000),
	ADD COLUMN max_minutes_out integer CHECK (max_minutes_out BETWEEN 0 AND 5256000),
	ADD COLUMN max_excursion_minutes integer CHECK (max_excursion_minutes BETWEEN 0 AND 5256000);
COMMENT ON COLUMN specimen_types.max_freeze_thaw IS 'Freeze-thaw cycles a tube of this type tolerates; more flags it. NULL: no limit.';
COMMENT ON COLUMN specimen_types.max_minutes_out IS 'Minutes out of storage (checkout to return, summed) a tube tolerates; more flags it. NULL: no limit.';
COMMENT ON COLUMN specimen_types.max_excursion_minutes IS 'Minutes in temperature excursions a tube tolerates; more flags it. NULL: no limit.';
CREATE INDEX specimen_types_limited ON specimen_types (code)
	WHERE max_freeze_thaw IS NOT NULL OR max_minutes_out IS NOT NULL OR max_excursion_minutes IS NOT NULL;
COMMENT ON INDEX specimen_types_limited IS 'The types with a limit (the exposure report starts from them).';

CREATE TABLE maintenance_tasks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	location_id bigint NOT NULL REFERENCES locations (id),
	kind text NOT NULL CHECK (kind IN ('defrost', 'service', 'alarm_test')),
	due_on date NOT NULL,
	every_days integer CHECK (every_days BETWEEN 1 AND 3650),
	notes text CHECK (length(notes) <= 1000),
	created_by text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	done_at timestamptz,
	done_by text,
	done_notes text CHECK (length(done_notes) <= 1000),
	CHECK ((done_at IS NULL) = (done_by IS NULL))
);
CREATE INDEX maintenance_tasks_open ON maintenance_tasks (due_on) WHERE done_at IS NULL;
CREATE INDEX maintenance_tasks_location ON maintenance_tasks (location_id, due_on);
COMMENT ON TABLE maintenance_tasks IS 'Maintenance of a freezer or other location: defrost, service, alarm test, due on a date, done by someone.';
COMMENT ON COLUMN maintenance_tasks.id IS 'Surrogate key.';
COMMENT ON COLUMN maintenance_tasks.location_id IS 'The location maintained.';
COMMENT ON COLUMN maintenance_tasks.kind IS 'defrost, service or alarm_test.';
COMMENT ON COLUMN maintenance_tasks.due_on IS 'The day it is due (the site''s calendar).';
COMMENT ON COLUMN maintenance_tasks.every_days IS 'When set, doing it schedules the next one this many days after it was done.';
COMMENT ON COLUMN maintenance_tasks.notes IS 'What to do, as the manager wrote it.';
COMMENT ON COLUMN maintenance_tasks.created_by IS 'Who scheduled it.';
COMMENT ON COLUMN maintenance_tasks.created_at IS 'When it was scheduled.';
COMMENT ON COLUMN maintenance_tasks.done_at IS 'When it was done; NULL while open.';
COMMENT ON COLUMN maintenance_tasks.done_by IS 'Who did it.';
COMMENT ON COLUMN maintenance_tasks.done_notes IS 'What the person who did it noted.';
COMMENT ON INDEX maintenance_tasks_open IS 'Open tasks by due date (the overdue list).';
COMMENT ON INDEX maintenance_tasks_location IS 'A location''s tasks.';
