-- 0038: a print job may wait, pending, with the reason it waits. A printer
-- that answers its status (~HS) with paper out, ribbon out, head open or
-- paused is given nothing: the job stays pending with that error, and may be
-- retried at once (bb_print_job_hold), instead of failing like a printer
-- that may have printed part of it. A sent job still carries no error.
DO $$
DECLARE
	c text;
BEGIN
	SELECT conname INTO c FROM pg_constraint
	 WHERE conrelid = 'print_jobs'::regclass AND contype = 'c'
	   AND pg_get_constraintdef(oid) LIKE '%''failed''%error IS NULL%';
	IF c IS NULL THEN
		RAISE EXCEPTION 'print_jobs has no CHECK (state = ''failed'' OR error IS NULL)';
	END IF;
	EXECUTE format('ALTER TABLE print_jobs DROP CONSTRAINT %I', c);
END $$;
ALTER TABLE print_jobs ADD CONSTRAINT print_jobs_error_unless_sent
	CHECK (state <> 'sent' OR error IS NULL);
COMMENT ON COLUMN print_jobs.error IS 'Why the job failed, or why it waits (pending: the printer was not ready); NULL once sent.';
