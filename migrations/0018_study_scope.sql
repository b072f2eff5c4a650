-- 0018: the studies an audit and a shipment belong to (issue 23, findings 1
-- and 2).
--
-- An audit is started by someone; a study-limited user must neither see
-- nor write anything about another study's tubes, even in a box the two
-- studies share. The audit keeps the studies of the user who started it:
-- its report, its confirmations and flags at closing and its record cover
-- those studies only, and only users whose own studies include them may
-- read, scan or close it (docs/api-audits.md, "Studies").
--
-- A draft shipment with no tubes yet says nothing of its studies; it keeps
-- those of the user who opened it, and study-limited users of other
-- studies do not see it (docs/api-shipments.md).
--
-- Rows made before this migration have NULL: every study, as they were.
ALTER TABLE audits ADD COLUMN studies bigint[];
COMMENT ON COLUMN audits.studies IS 'The studies the audit covers: those of the user who started it (NULL: every study). Tubes of other studies show as another study''s tube and get no event.';

ALTER TABLE shipments ADD COLUMN studies bigint[];
COMMENT ON COLUMN shipments.studies IS 'The studies of the user who opened the shipment (NULL: every study); while it holds no specimen, only users of one of these studies (or of every study) see it.';
