-- 0014: print jobs. POST /api/v1/print no longer talks to the printer inside
-- the transaction that writes the label_printed events: it records the job
-- and commits, sends with no transaction open, then records the outcome in a
-- second transaction (server/h_labels.c). A job a crash left pending is
-- visible and can be sent again (POST /api/v1/print-jobs/{id}/retry).
CREATE TABLE print_jobs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL,
	actor_id bigint REFERENCES users (id) ON DELETE SET NULL,
	printer text NOT NULL CHECK (length(printer) BETWEEN 1 AND 64),
	specimens text[] NOT NULL CHECK (cardinality(specimens) BETWEEN 1 AND 1000),
	copies integer NOT NULL CHECK (copies BETWEEN 1 AND 999),
	template text NOT NULL CHECK (length(template) BETWEEN 1 AND 64),
	dpi integer NOT NULL CHECK (dpi IN (203, 300, 600)),
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
	attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
	send_started_at timestamptz NOT NULL DEFAULT now(),
	send_deadline timestamptz NOT NULL,
	error text CHECK (length(error) <= 1000),
	finished_at timestamptz,
	event_seqs integer[],
	CHECK ((state = 'pending') = (finished_at IS NULL)),
	CHECK ((state = 'sent') = (event_seqs IS NOT NULL)),
	CHECK (state = 'failed' OR error IS NULL)
);

CREATE INDEX print_jobs_unfinished ON print_jobs (id) WHERE state <> 'sent';
COMMENT ON TABLE print_jobs IS 'Labels the daemon was asked to print (POST /api/v1/print): recorded before the printer is contacted, finished after.';
COMMENT ON COLUMN print_jobs.id IS 'The job number the API answers with (GET /api/v1/print-jobs/{id}).';
COMMENT ON COLUMN print_jobs.created_at IS 'When the print was asked for.';
COMMENT ON COLUMN print_jobs.actor IS 'User name of who asked for the print (and of its label_printed events).';
COMMENT ON COLUMN print_jobs.actor_id IS 'Id of that user; NULL once the account is deleted.';
COMMENT ON COLUMN print_jobs.printer IS 'The configured printer name (--printers) the labels go to.';
COMMENT ON COLUMN print_jobs.specimens IS 'Specimen IDs, one label each, in the order asked.';
COMMENT ON COLUMN print_jobs.copies IS 'Copies of each label.';
COMMENT ON COLUMN print_jobs.template IS 'The roll template the labels are laid out on.';
COMMENT ON COLUMN print_jobs.dpi IS 'The printer resolution the labels are rendered for.';
COMMENT ON COLUMN print_jobs.state IS 'pending (recorded, outcome not yet recorded), sent (the printer took the labels; events written) or failed (the printer failed; no event).';
COMMENT ON COLUMN print_jobs.attempts IS 'Sends begun: 1, plus one per retry. An outcome is recorded only for the latest attempt.';
COMMENT ON COLUMN print_jobs.send_started_at IS 'When the latest attempt was recorded, just before its send.';
COMMENT ON COLUMN print_jobs.send_deadline IS 'When the latest attempt''s send has surely ended (the daemon''s printer timeouts): before it, a pending job may still be printing and is not retried.';
COMMENT ON COLUMN print_jobs.error IS 'What the printer did, for a failed job (the daemon''s words).';
COMMENT ON COLUMN print_jobs.finished_at IS 'When the outcome was recorded; NULL while pending.';
COMMENT ON COLUMN print_jobs.event_seqs IS 'For a sent job, the seq of each specimen''s label_printed event, in the order of specimens.';
