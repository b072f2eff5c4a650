/*
 * pages.sql — what the web pages read in one query where the API's
 * general routes would take many (docs/api-ui.md).
 */

/*
 * GET /api/v1/boxes/{barcode}/grid: the box as GET /boxes/{barcode} shows
 * it, and the checked-out tubes whose home is one of its positions (where
 * their current check-out took them from), so that the bench page draws
 * the whole grid from one answer instead of reading the history of every
 * checked-out tube. A tube of a study outside studies (NULL: all) is not
 * listed. Checked-out tubes are few at any time: each is found through
 * specimens_status and its last check-out through the events key.
 */
CREATE OR REPLACE FUNCTION bb_box_grid(code text, studies bigint[]) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	b boxes;
BEGIN
	b := bb_box_at(code);
	RETURN bb_box_json(b, studies) || jsonb_build_object('checked_out', COALESCE((
		SELECT jsonb_agg(jsonb_build_object('position', e.from_pos, 'specimen', s.id,
				'type', s.type, 'at', bb_rfc3339(e.at), 'actor', e.actor, 'reason', e.reason)
				ORDER BY e.at, s.id)
		  FROM specimens s
		 CROSS JOIN LATERAL (SELECT x.from_box, x.from_pos, x.at, x.actor, x.reason
				       FROM events x
				      WHERE x.specimen_id = s.id AND x.type = 'checked_out'
				      ORDER BY x.seq DESC LIMIT 1) e
		 WHERE s.status = 'checked_out' AND e.from_box = b.barcode
		   AND (studies IS NULL OR s.study_id = ANY (studies))), '[]'));
END $$;
COMMENT ON FUNCTION bb_box_grid(text, bigint[]) IS 'GET /api/v1/boxes/{barcode}/grid: the box with every position and the checked-out tubes whose home is in it, or BB404.';
