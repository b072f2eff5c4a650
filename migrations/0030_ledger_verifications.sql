-- 0030: what `biobankd verify-ledger` found good, for the incremental verify
-- (issue 15, "Scale"; docs/operations.md, "Verifying the ledger").
--
-- A full verify that finds the whole ledger good records the largest signed
-- checkpoint it held the log to (else, with no checkpoint, the tree it
-- recomputed); `verify-ledger --incremental` starts from the latest record
-- and records again when what it checked is good. Only good results are
-- recorded: a failed verify leaves the starting point where it was.
--
-- The record is a starting point, not a proof: it lives in the database it
-- speaks of. The incremental verify re-checks it (the checkpoint's signature
-- with the key, the stored tree still having its root), and the full verify
-- trusts none of it. Append-only.

CREATE TABLE ledger_verifications (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('full', 'incremental')),
	started_at timestamptz NOT NULL,
	finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	size bigint NOT NULL CHECK (size >= 0),
	root bytea NOT NULL CHECK (length(root) = 32),
	checkpoint_note text,
	events bigint NOT NULL CHECK (events >= 0),
	entries bigint NOT NULL CHECK (entries >= 0)
);
COMMENT ON TABLE ledger_verifications IS 'Each verify-ledger run that found the ledger good, and where the next incremental verify starts. Append-only.';
COMMENT ON COLUMN ledger_verifications.id IS 'Order of recording: the latest is where the next incremental verify starts.';
COMMENT ON COLUMN ledger_verifications.kind IS 'full (every event and entry, over one snapshot) or incremental (what was new since the record before).';
COMMENT ON COLUMN ledger_verifications.started_at IS 'When the verify''s snapshot was taken: the state it speaks of.';
COMMENT ON COLUMN ledger_verifications.finished_at IS 'When it was recorded.';
COMMENT ON COLUMN ledger_verifications.size IS 'Log entries the verify found good: the size of the checkpoint (or tree) the next incremental verify starts from.';
COMMENT ON COLUMN ledger_verifications.root IS 'The Merkle tree root at that size (RFC 9162), as signed in the checkpoint or recomputed.';
COMMENT ON COLUMN ledger_verifications.checkpoint_note IS 'The signed checkpoint of that size, as kept in log_checkpoints; NULL when the verify held the log to no checkpoint kept in the database.';
COMMENT ON COLUMN ledger_verifications.events IS 'Events whose chains the verify checked.';
COMMENT ON COLUMN ledger_verifications.entries IS 'Log entries it checked.';

CREATE TRIGGER ledger_verifications_append_only BEFORE UPDATE OR DELETE ON ledger_verifications
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER ledger_verifications_no_truncate BEFORE TRUNCATE ON ledger_verifications
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();

-- The daemon's role may record too, so that verify-ledger runs with the
-- daemon's connection string: a record it forges cannot make an incremental
-- verify pass a rewritten log (the stored tree must still have the recorded
-- root, and that role can change no event nor stored subtree), and the full
-- verify reads none of it.
GRANT INSERT (kind, started_at, size, root, checkpoint_note, events, entries)
	ON ledger_verifications TO biobank_app;
