-- 0021: the transparency log over the custody ledger (issue 15, docs/ledger.md).
--
-- Every event gets a global index in the order it became visible, and the
-- events form one Merkle tree with RFC 9162's hashing (leaf =
-- SHA-256(0x00 || the event's canonical bytes of version 2), node =
-- SHA-256(0x01 || left || right)). A sequencer inside one biobankd at a
-- time (server/cmd/sequencer.c, under a PostgreSQL advisory lock) assigns
-- the indexes and computes the hashes; writers never wait for it: the
-- trigger below only queues each new event's key in log_pending, in the
-- writer's transaction, and the sequencer drains the queue in batches.
-- Every complete subtree is stored (log_nodes), so that an inclusion or
-- consistency proof reads O(log n) rows.
--
-- The events stored before this migration have no queue entry: the
-- sequencer first takes them all in (specimen, seq) order (log_state.
-- backfilled), then the queue.
--
-- The trigger stays here, not in functions/: like the chain, it decides
-- what the log holds.

CREATE TABLE log_pending (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	specimen_id text NOT NULL,
	seq integer NOT NULL
);
COMMENT ON TABLE log_pending IS 'Custody events written and not yet in the transparency log, in the order they were written; the sequencer deletes what it logs.';
COMMENT ON COLUMN log_pending.id IS 'Order of writing: the sequencer logs the committed ones in this order.';
COMMENT ON COLUMN log_pending.specimen_id IS 'The event''s specimen.';
COMMENT ON COLUMN log_pending.seq IS 'The event''s number in its specimen''s chain.';

CREATE TABLE log_entries (
	idx bigint PRIMARY KEY CHECK (idx >= 0),
	specimen_id text NOT NULL,
	seq integer NOT NULL,
	UNIQUE (specimen_id, seq)
);
COMMENT ON TABLE log_entries IS 'The transparency log: which custody event is at which index (its leaf hash is log_nodes level 0). Append-only.';
COMMENT ON COLUMN log_entries.idx IS 'Index in the log, from 0, without gaps.';
COMMENT ON COLUMN log_entries.specimen_id IS 'The event''s specimen.';
COMMENT ON COLUMN log_entries.seq IS 'The event''s number in its specimen''s chain.';

CREATE TABLE log_nodes (
	level smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
	idx bigint NOT NULL CHECK (idx >= 0),
	hash bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (level, idx)
);
COMMENT ON TABLE log_nodes IS 'Every complete subtree of the log''s Merkle tree (RFC 9162): leaves idx << level to ((idx + 1) << level) - 1. Append-only.';
COMMENT ON COLUMN log_nodes.level IS 'Height: 0 for a leaf, 1 for two leaves, ...';
COMMENT ON COLUMN log_nodes.idx IS 'Position among the subtrees of its level, from 0.';
COMMENT ON COLUMN log_nodes.hash IS 'Leaf: SHA-256(0x00 || event bytes v2); node: SHA-256(0x01 || left || right).';

CREATE TABLE log_state (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
	backfilled boolean NOT NULL DEFAULT false,
	sequenced_at timestamptz
);
COMMENT ON TABLE log_state IS 'The transparency log''s one row: how far the sequencer has come.';
COMMENT ON COLUMN log_state.id IS 'Always true: the table has one row.';
COMMENT ON COLUMN log_state.size IS 'Entries in the log (the next index).';
COMMENT ON COLUMN log_state.backfilled IS 'The events stored before the log existed are all in it; from then on the queue alone feeds it.';
COMMENT ON COLUMN log_state.sequenced_at IS 'When the sequencer last appended.';
INSERT INTO log_state DEFAULT VALUES;

CREATE FUNCTION bb_log_queue() RETURNS trigger LANGUAGE plpgsql
	SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
	INSERT INTO log_pending (specimen_id, seq) VALUES (NEW.specimen_id, NEW.seq);
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_log_queue() IS 'Queues each new custody event for the transparency log''s sequencer.';

-- Creating the trigger waits for the transactions writing events and holds
-- new ones until this migration commits: every event is either stored
-- before (backfilled) or queued.
CREATE TRIGGER events_log_queue AFTER INSERT ON events
	FOR EACH ROW EXECUTE FUNCTION bb_log_queue();

CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes
	FOR EACH ROW EXECUTE FUNCTION bb_append_only();
CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes
	FOR EACH STATEMENT EXECUTE FUNCTION bb_append_only();
