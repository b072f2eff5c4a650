-- 0033: storage that plans itself (issue 18, docs/api-storage.md).
-- Container rules and nominal temperatures on locations and boxes, the
-- storage temperatures each specimen type accepts, and the ids of every
-- location's ancestors, kept beside its path of names, so that "everything
-- below this freezer" is one indexed look-up instead of a walk of the tree.
-- The functions and triggers are in functions/storage_plan.sql.

ALTER TABLE locations
	ADD COLUMN ancestors bigint[],
	ADD COLUMN nominal_temperature text
		CHECK (nominal_temperature IN ('-196', '-150', '-80', '-20', '4', 'room')),
	ADD COLUMN accept_types text[] CHECK (cardinality(accept_types) BETWEEN 1 AND 100),
	ADD COLUMN accept_studies bigint[] CHECK (cardinality(accept_studies) BETWEEN 1 AND 100),
	ADD COLUMN box_slots integer CHECK (box_slots BETWEEN 0 AND 10000);
COMMENT ON COLUMN locations.box_slots IS 'How many boxes this location holds directly (a rack''s slots); NULL: not declared, so not offered by capacity searches.';
COMMENT ON COLUMN locations.ancestors IS 'Ids from the site down to this location, itself last; kept by the locations_ancestors trigger with path, never written directly.';
COMMENT ON COLUMN locations.nominal_temperature IS 'Nominal storage temperature class (-196, -150, -80, -20, 4 or room); inherited by everything below unless set lower down. NULL: not declared here.';
COMMENT ON COLUMN locations.accept_types IS 'Specimen types this location and everything below it accept; NULL: any.';
COMMENT ON COLUMN locations.accept_studies IS 'Studies whose specimens this location and everything below it accept; NULL: any.';

-- The existing tree, root first; the triggers are left out (nothing but
-- the new derived column changes, and it is not an audited change).
ALTER TABLE locations DISABLE TRIGGER USER;
WITH RECURSIVE t (id, anc) AS (
	SELECT id, ARRAY[id] FROM locations WHERE parent_id IS NULL
	UNION ALL
	SELECT l.id, t.anc || l.id FROM locations l JOIN t ON l.parent_id = t.id
)
UPDATE locations l SET ancestors = t.anc FROM t WHERE t.id = l.id;
ALTER TABLE locations ENABLE TRIGGER USER;
ALTER TABLE locations ALTER COLUMN ancestors SET NOT NULL;
CREATE INDEX locations_ancestors ON locations USING gin (ancestors);
-- Each box's tubes in issue order: where a list of a subtree starts its walk
-- (bb_location_first_serial), one probe a box.
CREATE INDEX specimens_box_serial ON specimens (box_id, serial) WHERE box_id IS NOT NULL;
COMMENT ON INDEX specimens_box_serial IS 'A box''s tubes in issue order: the first tube below a location, for ?location= lists.';
COMMENT ON INDEX locations_ancestors IS 'The subtree of a location: ancestors @> ARRAY[id] (?location= on lists, capacity, excursions).';

ALTER TABLE boxes
	ADD COLUMN accept_types text[] CHECK (cardinality(accept_types) BETWEEN 1 AND 100),
	ADD COLUMN accept_studies bigint[] CHECK (cardinality(accept_studies) BETWEEN 1 AND 100);
COMMENT ON COLUMN boxes.accept_types IS 'Specimen types this box accepts (on top of its locations'' rules); NULL: any.';
-- Where rules are set at all: most sites set few, and a placement first asks
-- whether any is set anywhere (one probe of an index that is usually empty).
CREATE INDEX locations_with_rules ON locations (id)
	WHERE accept_types IS NOT NULL OR accept_studies IS NOT NULL OR nominal_temperature IS NOT NULL;
COMMENT ON INDEX locations_with_rules IS 'The locations that set a rule or a nominal temperature (bb_rules_anywhere).';
CREATE INDEX boxes_with_rules ON boxes (id) WHERE accept_types IS NOT NULL OR accept_studies IS NOT NULL;
COMMENT ON INDEX boxes_with_rules IS 'The boxes that set a rule (bb_rules_anywhere).';
COMMENT ON COLUMN boxes.accept_studies IS 'Studies whose specimens this box accepts (on top of its locations'' rules); NULL: any.';

ALTER TABLE specimen_types
	ADD COLUMN storage_temperatures text[]
		CHECK (storage_temperatures <@ ARRAY['-196', '-150', '-80', '-20', '4', 'room']
		       AND cardinality(storage_temperatures) >= 1);
COMMENT ON COLUMN specimen_types.storage_temperatures IS 'Nominal temperatures a specimen of this type may be stored at; NULL: any.';
