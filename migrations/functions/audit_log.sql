-- functions/audit_log.sql — The audit log of record tables (who changed what,
-- before and after) and its reading.
-- A repeatable file: it holds the current body of every function, trigger
-- function and trigger of its area, and `biobankd migrate` applies it again
-- whenever it changes (docs/architecture.md). Edit the body here; a changed
-- signature or a removed function needs DROP FUNCTION IF EXISTS first.

CREATE OR REPLACE FUNCTION bb_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
	entity constant text := TG_ARGV[0];
	old_row jsonb;
	new_row jsonb;
	key text;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		old_row := to_jsonb(OLD) - 'password_hash' - 'hash';
	END IF;
	IF TG_OP <> 'DELETE' THEN
		new_row := to_jsonb(NEW) - 'password_hash' - 'hash';
	END IF;
	key := COALESCE(new_row, old_row) ->> COALESCE(TG_ARGV[1], 'id');
	IF TG_ARGV[2] IS NOT NULL THEN
		key := key || '/' || (COALESCE(new_row, old_row) ->> TG_ARGV[2]);
	END IF;
	-- A correction's reason, set by the correcting function for its change alone.
	INSERT INTO audit_log (entity, entity_id, action, before, after, reason)
	VALUES (entity, key,
		CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
		old_row, new_row, NULLIF(current_setting('bb.reason', true), ''));
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_audit() IS 'Writes one audit_log row per changed record (arguments: entity, key column, second key column).';

-- Audit log ---------------------------------------------------------------

/*
 * May a user limited to studies see this audit row? Study-scoped records
 * (studies, participants, consents, requests and their tubes) only within the studies; shared
 * storage and reference data (locations, boxes, specimen types) always;
 * accounts and tokens, and any kind not listed here, never.
 */
CREATE OR REPLACE FUNCTION bb_audit_visible(a audit_log, studies bigint[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT studies IS NULL OR CASE a.entity
		WHEN 'study' THEN (COALESCE(a.after, a.before) ->> 'id')::bigint = ANY (studies)
		WHEN 'participant' THEN (COALESCE(a.after, a.before) ->> 'study_id')::bigint = ANY (studies)
		WHEN 'consent' THEN EXISTS (SELECT 1 FROM participants p
			WHERE p.id = (COALESCE(a.after, a.before) ->> 'participant_id')::bigint
			  AND p.study_id = ANY (studies))
		WHEN 'request' THEN (COALESCE(a.after, a.before) ->> 'study_id')::bigint = ANY (studies)
		WHEN 'request_item' THEN EXISTS (SELECT 1 FROM requests q
			WHERE q.id = (COALESCE(a.after, a.before) ->> 'request_id')::bigint
			  AND q.study_id = ANY (studies))
		WHEN 'protocol' THEN (COALESCE(a.after, a.before) ->> 'study_id')::bigint = ANY (studies)
		WHEN 'visit' THEN EXISTS (SELECT 1 FROM participants p
			WHERE p.id = (COALESCE(a.after, a.before) ->> 'participant_id')::bigint
			  AND p.study_id = ANY (studies))
		WHEN 'location' THEN true
		WHEN 'box' THEN true
		WHEN 'specimen_type' THEN true
		ELSE false END;
$$;
COMMENT ON FUNCTION bb_audit_visible(audit_log, bigint[]) IS 'True when a caller limited to studies (NULL: all) may see this audit_log row.';

CREATE OR REPLACE FUNCTION bb_audit_log_list(entity text, entity_id text, actor text, since timestamptz,
	lim integer, cursor text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	key jsonb := bb_cursor_read('audit-log', cursor);
	ids text[];
	items jsonb;
	n bigint;
	last_key jsonb;
BEGIN
	IF lim IS NULL OR lim < 1 OR lim > 1000 THEN
		PERFORM bb_fail('BB400', 'value-out-of-range', 'limit',
			'must be between 1 and 1000');
	END IF;
	IF entity_id IS NOT NULL THEN
		ids := ARRAY[entity_id];
		-- Participants are keyed study_id/code; STUDY/code is accepted too.
		IF entity = 'participant' THEN
			ids := ids || (SELECT s.id || '/' || substr(entity_id, length(s.code) + 2)
					 FROM studies s WHERE s.code = split_part(entity_id, '/', 1));
		END IF;
	END IF;
	-- Newest first; the cursor is the last id shown, ids only go up.
	SELECT COALESCE(jsonb_agg(q.j ORDER BY q.rn) FILTER (WHERE q.rn <= lim), '[]'),
	       count(*), (array_agg(q.k) FILTER (WHERE q.rn = lim))[1]
	  INTO items, n, last_key
	  FROM (SELECT row_number() OVER (ORDER BY x.id DESC) AS rn,
		       jsonb_build_object('id', x.id, 'at', bb_rfc3339(x.at), 'actor', x.actor,
			       'entity', x.entity, 'entity_id', x.entity_id, 'action', x.action,
			       'before', x.before, 'after', x.after)
			       || CASE WHEN x.reason IS NULL THEN '{}'::jsonb
				       ELSE jsonb_build_object('reason', x.reason) END AS j,
		       jsonb_build_array(x.id) AS k
		  FROM (SELECT * FROM audit_log a
			 WHERE (bb_audit_log_list.entity IS NULL OR a.entity = bb_audit_log_list.entity)
			   AND (ids IS NULL OR a.entity_id = ANY (ids))
			   AND (bb_audit_log_list.actor IS NULL OR a.actor = bb_audit_log_list.actor)
			   AND (since IS NULL OR a.at >= since)
			   AND (key IS NULL OR a.id < (key ->> 0)::bigint)
			   AND bb_audit_visible(a, studies)
			 ORDER BY a.id DESC
			 LIMIT lim + 1) x) q;
	RETURN jsonb_build_object('items', items,
		'next_cursor', CASE WHEN n > lim THEN bb_cursor_make('audit-log', last_key) END);
END $$;
COMMENT ON FUNCTION bb_audit_log_list(text, text, text, timestamptz, integer, text, bigint[])
	IS 'GET /audit-log: changes newest first, filtered by entity, key, actor and time, within the caller''s studies, keyset-paged by id.';

CREATE OR REPLACE TRIGGER studies_audit AFTER INSERT OR UPDATE OR DELETE ON studies
	FOR EACH ROW EXECUTE FUNCTION bb_audit('study', 'code');

CREATE OR REPLACE TRIGGER participants_audit AFTER INSERT OR UPDATE OR DELETE ON participants
	FOR EACH ROW EXECUTE FUNCTION bb_audit('participant', 'study_id', 'code');

CREATE OR REPLACE TRIGGER consents_audit AFTER INSERT OR UPDATE OR DELETE ON consents
	FOR EACH ROW EXECUTE FUNCTION bb_audit('consent');

CREATE OR REPLACE TRIGGER locations_audit AFTER INSERT OR DELETE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_audit('location');
COMMENT ON TRIGGER locations_audit ON locations IS 'New and removed locations go to the audit log.';

CREATE OR REPLACE TRIGGER boxes_audit AFTER INSERT OR UPDATE OR DELETE ON boxes
	FOR EACH ROW EXECUTE FUNCTION bb_audit('box', 'barcode');

CREATE OR REPLACE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION bb_audit('user', 'username');

CREATE OR REPLACE TRIGGER user_studies_audit AFTER INSERT OR UPDATE OR DELETE ON user_studies
	FOR EACH ROW EXECUTE FUNCTION bb_audit('user_study', 'user_id', 'study_id');

CREATE OR REPLACE TRIGGER tokens_audit AFTER INSERT OR UPDATE OR DELETE ON tokens
	FOR EACH ROW EXECUTE FUNCTION bb_audit('token');

CREATE OR REPLACE TRIGGER specimen_types_audit AFTER INSERT OR UPDATE OR DELETE ON specimen_types
	FOR EACH ROW EXECUTE FUNCTION bb_audit('specimen_type', 'code');

CREATE OR REPLACE TRIGGER shipments_audit AFTER INSERT OR UPDATE OR DELETE ON shipments
	FOR EACH ROW EXECUTE FUNCTION bb_audit('shipment');
COMMENT ON TRIGGER shipments_audit ON shipments IS 'Every change to a shipment goes to the audit log.';

CREATE OR REPLACE TRIGGER shipment_items_audit AFTER INSERT OR DELETE ON shipment_items
	FOR EACH ROW EXECUTE FUNCTION bb_audit('shipment_item', 'shipment_id', 'specimen_id');
COMMENT ON TRIGGER shipment_items_audit ON shipment_items IS 'Additions to and removals from manifests go to the audit log.';

CREATE OR REPLACE TRIGGER locations_audit_update AFTER UPDATE ON locations
	FOR EACH ROW WHEN ((to_jsonb(OLD) - 'path' - 'ancestors') IS DISTINCT FROM (to_jsonb(NEW) - 'path' - 'ancestors'))
	EXECUTE FUNCTION bb_audit('location');
COMMENT ON TRIGGER locations_audit_update ON locations IS 'Changes to a location go to the audit log, unless only its derived path changed.';
