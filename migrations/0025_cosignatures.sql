-- 0025: the witnesses' cosignatures of this log's checkpoints (issue 15,
-- docs/ledger.md, "Witnesses"). A biobankd given the witnesses setting sends
-- each new checkpoint, with its consistency proof from the last one a
-- witness cosigned, to that witness (another site's biobankd); the
-- cosignature it answers is checked with the witness's key and kept here,
-- so that a checkpoint can be shown with the signatures of sites that do not
-- trust this database. What happened at the last attempt is kept per
-- witness, for /api/v1/ledger/witnesses and the operators' alarms.

CREATE TABLE log_cosignatures (
	checkpoint_id bigint NOT NULL REFERENCES log_checkpoints (id),
	witness text NOT NULL CHECK (length(witness) BETWEEN 1 AND 200),
	signature text NOT NULL CHECK (length(signature) BETWEEN 1 AND 1000),
	cosigned_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (checkpoint_id, witness)
);
COMMENT ON TABLE log_cosignatures IS 'Witnesses'' cosignatures of this log''s checkpoints, each checked with the witness''s key before it was kept. Append-only.';
COMMENT ON COLUMN log_cosignatures.checkpoint_id IS 'The checkpoint cosigned.';
COMMENT ON COLUMN log_cosignatures.witness IS 'The witness''s key name.';
COMMENT ON COLUMN log_cosignatures.signature IS 'Its signature line over the checkpoint''s text, as it sent it: appended to the note, it makes the cosigned checkpoint.';
COMMENT ON COLUMN log_cosignatures.cosigned_at IS 'When it was received.';

CREATE TRIGGER log_cosignatures_append_only BEFORE UPDATE OR DELETE ON log_cosignatures
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER log_cosignatures_no_truncate BEFORE TRUNCATE ON log_cosignatures
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();

CREATE TABLE log_witness_state (
	witness text PRIMARY KEY CHECK (length(witness) BETWEEN 1 AND 200),
	url text NOT NULL CHECK (length(url) BETWEEN 1 AND 1024),
	tried_at timestamptz NOT NULL,
	ok boolean NOT NULL,
	code text CHECK (length(code) <= 100),
	detail text CHECK (length(detail) <= 2000),
	failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0)
);
COMMENT ON TABLE log_witness_state IS 'The last attempt to have each witness cosign: when, and what went wrong.';
COMMENT ON COLUMN log_witness_state.witness IS 'The witness''s key name.';
COMMENT ON COLUMN log_witness_state.url IS 'Where it was sent (the witnesses setting).';
COMMENT ON COLUMN log_witness_state.tried_at IS 'When it was last tried.';
COMMENT ON COLUMN log_witness_state.detail IS 'What went wrong, in words (the witness''s answer or the transport''s error).';
COMMENT ON COLUMN log_witness_state.ok IS 'The last attempt got a cosignature (or there was nothing new to cosign).';
COMMENT ON COLUMN log_witness_state.code IS 'Why not: the witness''s problem code (consistency-proof-failed: this log was rewritten), or unreachable, bad-cosignature, http-<status>.';
COMMENT ON COLUMN log_witness_state.failures IS 'Failed attempts in a row.';

