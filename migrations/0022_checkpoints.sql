-- 0022: signed checkpoints of the transparency log (issue 15, docs/ledger.md).
--
-- A checkpoint is the log's size and root hash in the C2SP signed-note
-- checkpoint format, signed with the log's Ed25519 key, which lives in a file
-- outside the database (biobankd keygen; the ledger_key setting). The
-- sequencing daemon makes one every checkpoint_interval seconds when the log
-- grew, and `biobankd checkpoint` on demand; each is kept here and written
-- to the checkpoint_dir folder, meant for a write-once mount. Append-only.

CREATE TABLE log_checkpoints (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	size bigint NOT NULL CHECK (size >= 0),
	root bytea NOT NULL CHECK (length(root) = 32),
	note text NOT NULL,
	made_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX log_checkpoints_size ON log_checkpoints (size);
COMMENT ON TABLE log_checkpoints IS 'Signed checkpoints of the transparency log, oldest first. Append-only.';
COMMENT ON COLUMN log_checkpoints.id IS 'Order of making.';
COMMENT ON COLUMN log_checkpoints.size IS 'Entries in the log the checkpoint covers.';
COMMENT ON COLUMN log_checkpoints.root IS 'Merkle tree root hash of the first size entries (RFC 9162).';
COMMENT ON COLUMN log_checkpoints.note IS 'The signed checkpoint, as exported: origin, size, base64 root, blank line, signature line.';
COMMENT ON COLUMN log_checkpoints.made_at IS 'When it was signed.';

CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();
