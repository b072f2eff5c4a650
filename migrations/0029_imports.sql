-- 0029: inventory imports (issue 16, docs/import.md). Each file committed is
-- recorded once by its SHA-256, so that the same file sent again changes
-- nothing; each specimen it made is recorded with its row and legacy ID, so
-- that an overlapping file finds the rows that already exist. The rows of
-- a file being checked live in a temporary table of the importing
-- transaction (functions/imports.sql), never here.
CREATE TABLE imports (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sha256 bytea NOT NULL UNIQUE CHECK (length(sha256) = 32),
	filename text CHECK (length(filename) <= 255),
	encoding text NOT NULL,
	rows integer NOT NULL CHECK (rows >= 0),
	summary jsonb NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	imported_by text NOT NULL DEFAULT bb_actor()
);
COMMENT ON TABLE imports IS 'Inventory files committed by POST /api/v1/imports or biobankd import, one row per distinct file.';
COMMENT ON COLUMN imports.id IS 'Surrogate key, named in the imported events'' details.';
COMMENT ON COLUMN imports.sha256 IS 'SHA-256 of the file''s bytes as sent: the same file again is "already imported".';
COMMENT ON COLUMN imports.filename IS 'The file''s name as the client gave it, if it did.';
COMMENT ON COLUMN imports.encoding IS 'The encoding the file was read in (UTF-8, windows-1252, ...).';
COMMENT ON COLUMN imports.rows IS 'Data rows in the file (the header not counted).';
COMMENT ON COLUMN imports.summary IS 'What the import created: specimens, participants, boxes, locations, stored, existing rows.';
COMMENT ON COLUMN imports.imported_at IS 'When it was committed.';
COMMENT ON COLUMN imports.imported_by IS 'Who committed it.';

CREATE TABLE import_specimens (
	import_id bigint NOT NULL REFERENCES imports (id),
	row_no integer NOT NULL CHECK (row_no >= 2),
	specimen_id text NOT NULL UNIQUE REFERENCES specimens (id),
	study_id bigint NOT NULL REFERENCES studies (id),
	row_key text,
	legacy_id text,
	PRIMARY KEY (import_id, row_no)
);
CREATE INDEX import_specimens_legacy ON import_specimens (study_id, legacy_id) WHERE legacy_id IS NOT NULL;
COMMENT ON TABLE import_specimens IS 'The specimens each import made, by the row of the file they came from.';
COMMENT ON COLUMN import_specimens.import_id IS 'The import.';
COMMENT ON COLUMN import_specimens.row_no IS 'Row of the file (the header is row 1), as a spreadsheet numbers it.';
COMMENT ON COLUMN import_specimens.specimen_id IS 'The specimen made from the row.';
COMMENT ON COLUMN import_specimens.study_id IS 'Its study: legacy IDs are natural keys within a study.';
COMMENT ON COLUMN import_specimens.row_key IS 'The row''s key column, which other rows named as parent.';
COMMENT ON COLUMN import_specimens.legacy_id IS 'The ID the old system gave it: a later file''s row with it already exists.';
