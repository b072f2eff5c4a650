-- 0011: performance — every stored specimen's answer carries the path of
-- its box ("Main site / Freezer room / Freezer 1 / Shelf 1 / Rack 3"), and
-- bb_location_path walked the tree up with a recursive query for each one:
-- 40 of the 98 microseconds of a lookup by ID, and as much per row of every
-- list, report and CSV export. The tree changes seldom and is read on every
-- request, so each location now keeps its path, set by a trigger from its
-- parent's when it is written and pushed down to its descendants when it is
-- renamed or moved. The same answers, byte for byte; a location's entries
-- in the audit log now show its path as well.

ALTER TABLE locations ADD COLUMN path jsonb;
COMMENT ON COLUMN locations.path IS 'Names from the site down to this location, as a JSON array; kept by the locations_path triggers, never written directly.';

/*
 * The path is derived data. The audit log records what people change (a
 * name, a parent, a temperature), with the path as it then was; it does not
 * record the paths a rename rewrites below it, nor the filling in here.
 */
DROP TRIGGER locations_audit ON locations;

UPDATE locations l SET path = t.path
  FROM (WITH RECURSIVE down (id, path) AS (
		SELECT id, jsonb_build_array(name) FROM locations WHERE parent_id IS NULL
		UNION ALL
		SELECT c.id, down.path || to_jsonb(c.name) FROM locations c JOIN down ON c.parent_id = down.id)
	SELECT id, path FROM down) t
 WHERE t.id = l.id;
ALTER TABLE locations ALTER COLUMN path SET NOT NULL;

CREATE TRIGGER locations_audit AFTER INSERT OR DELETE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_audit('location');
COMMENT ON TRIGGER locations_audit ON locations IS 'New and removed locations go to the audit log.';
CREATE TRIGGER locations_audit_update AFTER UPDATE ON locations
	FOR EACH ROW WHEN ((to_jsonb(OLD) - 'path') IS DISTINCT FROM (to_jsonb(NEW) - 'path'))
	EXECUTE FUNCTION bb_audit('location');
COMMENT ON TRIGGER locations_audit_update ON locations IS 'Changes to a location go to the audit log, unless only its derived path changed.';

/*
 * Computed on every insert and update, whatever columns the statement sets,
 * so that the stored path cannot disagree with the names and parents even
 * when someone writes it by hand. The parent is read FOR SHARE: a rename of
 * it in another transaction then finishes first (and its cascade reaches
 * this row) or waits for this one, instead of leaving this row with the
 * parent's old path.
 */
CREATE FUNCTION bb_locations_path_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.parent_id IS NULL THEN
		NEW.path := jsonb_build_array(NEW.name);
		RETURN NEW;
	END IF;
	SELECT p.path || to_jsonb(NEW.name) INTO NEW.path FROM locations p WHERE p.id = NEW.parent_id FOR SHARE;
	IF NOT FOUND THEN
		RAISE foreign_key_violation USING MESSAGE = format('parent: no location %s', NEW.parent_id);
	END IF;
	RETURN NEW;
END $$;
COMMENT ON FUNCTION bb_locations_path_set() IS 'Sets locations.path from the parent''s path and the name.';
CREATE TRIGGER locations_path BEFORE INSERT OR UPDATE ON locations
	FOR EACH ROW EXECUTE FUNCTION bb_locations_path_set();
COMMENT ON TRIGGER locations_path ON locations IS 'Keeps locations.path in step with the name and the parent.';

/*
 * A renamed or moved location rewrites its children, whose own trigger
 * recomputes them from the new path and passes it on down. The tree has no
 * cycles (bb_locations_check), so this ends at the leaves.
 */
CREATE FUNCTION bb_locations_path_down() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE locations SET path = NULL WHERE parent_id = NEW.id;
	RETURN NULL;
END $$;
COMMENT ON FUNCTION bb_locations_path_down() IS 'Recomputes the paths below a location whose path changed.';
CREATE TRIGGER locations_path_down AFTER UPDATE ON locations
	FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION bb_locations_path_down();
COMMENT ON TRIGGER locations_path_down ON locations IS 'Pushes a changed path down to the descendants.';

CREATE OR REPLACE FUNCTION bb_location_path(loc bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN COALESCE((SELECT l.path FROM locations l WHERE l.id = loc), '[]');
END $$;
COMMENT ON FUNCTION bb_location_path(bigint) IS 'Location names from the site down, as a JSON array (the stored locations.path; [] for no location).';
