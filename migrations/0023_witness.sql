-- 0023: witnessing other sites' transparency logs (issue 15, docs/ledger.md,
-- "Witnesses"). A biobankd given witness_logs (the verifier keys of other
-- sites' logs) cosigns each checkpoint a site sends it
-- (POST /api/v1/witness/checkpoints) only when it is consistent with the last
-- one it cosigned of that log, which it keeps here. A site that rewrote its
-- log can then no longer get a cosignature, and the witness says why.

CREATE TABLE witness_logs (
	origin text PRIMARY KEY,
	size bigint NOT NULL CHECK (size >= 1),
	root bytea NOT NULL CHECK (length(root) = 32),
	note text NOT NULL,
	cosigned_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE witness_logs IS 'The logs this server witnesses: the last checkpoint of each that it cosigned.';
COMMENT ON COLUMN witness_logs.origin IS 'The log''s origin, its key''s name.';
COMMENT ON COLUMN witness_logs.size IS 'Tree size of the last checkpoint cosigned.';
COMMENT ON COLUMN witness_logs.root IS 'Its root hash: every later checkpoint must be consistent with it.';
COMMENT ON COLUMN witness_logs.note IS 'The checkpoint as the log signed it.';
COMMENT ON COLUMN witness_logs.cosigned_at IS 'When it was cosigned.';
