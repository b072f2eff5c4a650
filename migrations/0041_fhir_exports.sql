-- 0041: FHIR Bulk Data exports (issue 20; docs/fhir.md, "Bulk export").
--
-- GET /api/v1/fhir/Group/{study}/$export and /api/v1/fhir/$export kick off
-- a job; any daemon of the site answers its polling and its downloads, so
-- the job and what it wrote live here, not in the daemon that ran it.
-- The export is written over one REPEATABLE READ snapshot, in chunks of
-- NDJSON lines (a thousand resources at most), committed together at the
-- end: a download never sees half an export, and no chunk is held in a
-- daemon's memory longer than it takes to send it.
--
-- No foreign key from the chunks to their job: the job's progress and its
-- cancellation are written on another connection while the chunks are being
-- written under the snapshot, and a key check there would lock the job's row.

CREATE TABLE fhir_exports (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	owner_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	studies bigint[],
	study_id bigint REFERENCES studies (id),
	types text[] NOT NULL CHECK (cardinality(types) BETWEEN 1 AND 8),
	since timestamptz,
	request text NOT NULL CHECK (length(request) <= 4096),
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
	total bigint,
	done bigint NOT NULL DEFAULT 0,
	transaction_time timestamptz,
	error text CHECK (length(error) <= 1000),
	created_at timestamptz NOT NULL DEFAULT now(),
	heartbeat_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	expires_at timestamptz NOT NULL DEFAULT now() + interval '1 day',
	CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL)),
	CHECK (status = 'failed' OR error IS NULL)
);
CREATE INDEX fhir_exports_expires ON fhir_exports (expires_at);
COMMENT ON TABLE fhir_exports IS 'FHIR Bulk Data export jobs (docs/fhir.md): who asked, for what, and how far the job is.';
COMMENT ON COLUMN fhir_exports.id IS 'The job, in the polling URL (/api/v1/fhir/bulk/{id}); random, and only its owner may use it.';
COMMENT ON COLUMN fhir_exports.owner_id IS 'The user who kicked it off: the only one who may poll, cancel or download it.';
COMMENT ON COLUMN fhir_exports.studies IS 'The owner''s studies at kick-off (NULL: every study); polling and downloads also need the owner to still see them all.';
COMMENT ON COLUMN fhir_exports.study_id IS 'The study of a Group export; NULL for the system-level export (every study in studies).';
COMMENT ON COLUMN fhir_exports.types IS 'Resource types exported, in the order written (_type).';
COMMENT ON COLUMN fhir_exports.since IS '_since: only resources changed after this instant; NULL: all.';
COMMENT ON COLUMN fhir_exports.request IS 'The kick-off request URL, as the manifest repeats it.';
COMMENT ON COLUMN fhir_exports.status IS 'queued, running, done, failed, or cancelled (DELETE while running: the job stops and removes itself).';
COMMENT ON COLUMN fhir_exports.total IS 'Resources the snapshot holds for the export, counted when it starts.';
COMMENT ON COLUMN fhir_exports.done IS 'Resources written so far (X-Progress).';
COMMENT ON COLUMN fhir_exports.transaction_time IS 'When the export''s snapshot was taken: the manifest''s transactionTime, and the _since of the next incremental export.';
COMMENT ON COLUMN fhir_exports.error IS 'Why a failed job failed, as its OperationOutcome says.';
COMMENT ON COLUMN fhir_exports.heartbeat_at IS 'Last sign of life of the daemon running it; a running job silent for two minutes is failed by the next poll (its daemon stopped).';
COMMENT ON COLUMN fhir_exports.created_at IS 'When the export was kicked off.';
COMMENT ON COLUMN fhir_exports.finished_at IS 'When the job ended, done or failed (NULL while queued or running).';
COMMENT ON COLUMN fhir_exports.expires_at IS 'After this the job and its files are removed (at the next kick-off).';

CREATE TABLE fhir_export_chunks (
	export_id uuid NOT NULL,
	type text NOT NULL,
	n integer NOT NULL CHECK (n >= 0),
	count integer NOT NULL CHECK (count > 0),
	lines text NOT NULL,
	PRIMARY KEY (export_id, type, n)
);
COMMENT ON TABLE fhir_export_chunks IS 'What an export wrote: NDJSON lines of one resource type, in order; a file of the manifest is a run of 100 chunks.';
COMMENT ON COLUMN fhir_export_chunks.export_id IS 'The export job the chunk belongs to (removed with it).';
COMMENT ON COLUMN fhir_export_chunks.type IS 'The FHIR resource type of every line of the chunk (one file of the manifest per type).';
COMMENT ON COLUMN fhir_export_chunks.n IS 'Order of the chunk within its type, from 0.';
COMMENT ON COLUMN fhir_export_chunks.count IS 'Resources (lines) in the chunk.';
COMMENT ON COLUMN fhir_export_chunks.lines IS 'One FHIR resource per line, each line ended by a newline.';

-- Written only through the SECURITY DEFINER functions of
-- functions/fhir_export.sql; the daemon's role reads them (0016's default).
