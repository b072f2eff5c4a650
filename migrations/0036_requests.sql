-- 0036_requests.sql — the catalogue read from an index alone (issue 17).
--
-- The catalogue counts, per study, type and timepoint, the requestable tubes
-- and their distinct donors. Read from the table it scanned every stored
-- tube's row (5x10^5 rows, 100 MB at the benchmark's size) and sorted them
-- for count(DISTINCT ...). With the participant in the index of requestable
-- tubes, the same counts come from an index-only scan, already in group
-- order (4.8 MB at that size). Allocation keeps using the index by its
-- leading columns, as before.
DROP INDEX specimens_requestable;
CREATE INDEX specimens_requestable ON specimens (study_id, type, timepoint, participant_id)
	WHERE status = 'in_storage' AND NOT consent_withdrawn;
COMMENT ON INDEX specimens_requestable IS 'The tubes allocation may propose and the catalogue counts, by study, type, timepoint and donor (functions/requests.sql).';

-- SPREC as request criteria ("pre-centrifugation delay under 2 h"): the
-- filter of bb_sprec_matches, as the API's criteria.sprec is read into it.
ALTER TABLE requests ADD COLUMN sprec jsonb;
COMMENT ON COLUMN requests.sprec IS 'SPREC criteria as bb_sprec_matches reads them ({"elements": {"3": ["A", "B"]}, "pre_max_hours": 2, "post_max_hours": 1}); NULL: any code or none.';
