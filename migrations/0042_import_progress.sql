-- 0042: how far an inventory import is (issue 19: the manager's page shows a
-- bar fed by the server; docs/import.md, "Progress").
--
-- The client names its import (?progress=ID, an ID of its own making) and
-- polls GET /api/v1/imports/{id}/progress, which any daemon of the site may
-- answer: the progress lives here, not in the daemon that runs the import.
-- The import's rows are written in one transaction that nobody else sees
-- until it commits, so this row is written on another connection of the
-- importing daemon, one short transaction at a time (server/db/import_progress.c).
-- No foreign key to anything the import writes, for the same reason.

CREATE TABLE import_progress (
	owner_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	id text NOT NULL CHECK (id ~ '^[A-Za-z0-9._-]{8,64}$'),
	dry_run boolean NOT NULL,
	phase text NOT NULL DEFAULT 'reading'
		CHECK (phase IN ('reading', 'checking', 'writing', 'done', 'failed')),
	done bigint NOT NULL DEFAULT 0 CHECK (done >= 0),
	total bigint CHECK (total >= 0),
	rows bigint NOT NULL DEFAULT 0 CHECK (rows >= 0),
	code text CHECK (length(code) <= 64),
	outcome jsonb,
	started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (owner_id, id),
	CHECK ((phase = 'failed') = (code IS NOT NULL))
);
CREATE INDEX import_progress_updated ON import_progress (updated_at);
COMMENT ON TABLE import_progress IS 'How far each inventory import that a client named is (GET /api/v1/imports/{id}/progress); kept a day.';
COMMENT ON COLUMN import_progress.owner_id IS 'Who sent the import: the only one who may read its progress.';
COMMENT ON COLUMN import_progress.id IS 'The client''s name for the import (?progress=), unique among its owner''s.';
COMMENT ON COLUMN import_progress.dry_run IS 'A dry run (true: nothing is written) or a commit.';
COMMENT ON COLUMN import_progress.phase IS 'reading (the file into the staging table), checking, writing (a commit''s rows), done or failed.';
COMMENT ON COLUMN import_progress.done IS 'How far the phase is: bytes of the file read, steps of the checks, or rows written.';
COMMENT ON COLUMN import_progress.total IS 'Of how many: the file''s bytes, the checks'' steps, or the rows to write.';
COMMENT ON COLUMN import_progress.rows IS 'Data rows of the file read so far (all of them once reading is over).';
COMMENT ON COLUMN import_progress.code IS 'Why a failed import failed: the problem code its answer carried.';
COMMENT ON COLUMN import_progress.outcome IS 'When it ended: the counts of its answer (summary, problem_count, the import''s id).';
COMMENT ON COLUMN import_progress.started_at IS 'When the import began to be read.';
COMMENT ON COLUMN import_progress.updated_at IS 'Last word from the importing daemon; an unfinished import silent for two minutes is shown as failed (its daemon stopped).';
