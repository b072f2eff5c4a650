-- 0017: two rules on what people type (issue 14, defect 6).
--
-- 1. Participant codes are unique within a study ignoring case: masc-101 and
--    MASC-101 on two tubes are one person written twice, never two people.
--    A database that already holds such a pair cannot take the index; this
--    migration then refuses, naming every pair, and applies nothing: which
--    of the two is right is a decision for the study, not for a migration
--    (docs/operations.md, "Participant codes that differ only in case").
DO $$
DECLARE
	clashes text;
BEGIN
	SELECT string_agg(format('study %s: %s', st.code, g.codes), '; ' ORDER BY st.code, g.k)
	  INTO clashes
	  FROM (SELECT study_id, lower(code) AS k, string_agg(code, ', ' ORDER BY code) AS codes
		  FROM participants GROUP BY study_id, lower(code) HAVING count(*) > 1) g
	  JOIN studies st ON st.id = g.study_id;
	IF clashes IS NOT NULL THEN
		RAISE EXCEPTION 'participant codes that differ only in case: %', clashes
			USING HINT = 'give one participant of each pair another code (UPDATE participants SET code = ... WHERE ...), then run biobankd migrate again; see docs/operations.md';
	END IF;
END $$;

CREATE UNIQUE INDEX participants_study_code_ci ON participants (study_id, lower(code));
COMMENT ON INDEX participants_study_code_ci IS 'A participant code is unique within its study ignoring case (masc-101 is MASC-101).';

-- 2. Timepoints are stored in one spelling (bb_timepoint in
--    functions/specimens.sql, docs/api.md "Timepoints"): blanks around them
--    removed, baseline and flare lower-case, m<N>/month <N> as m<N> and
--    y<N>/year <N> as y<N>. Rows stored before keep their meaning and take the
--    same spelling, so that the inventory counts them together. The rule is
--    written out here because numbered files run before the function files.
UPDATE specimens s SET timepoint = n.tp
  FROM (SELECT id,
	       CASE WHEN lower(t) IN ('baseline', 'flare') THEN lower(t)
		    WHEN lower(t) ~ '^(m|month|y|year) *[0-9]{1,3}$'
		    THEN left(lower(t), 1) || substring(t FROM '[0-9]+$')
		    ELSE t END AS tp
	  FROM (SELECT id, btrim(timepoint, E' \t\r\n\x0B\f') AS t FROM specimens) x) n
 WHERE n.id = s.id AND s.timepoint IS DISTINCT FROM n.tp AND n.tp <> '';
