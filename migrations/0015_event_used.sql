-- 0015: a custody event for part of a tube used up (POST /specimens/{id}/consume
-- with a quantity that leaves some behind). It is not 'consumed': the tube stays
-- where it is with what remains, and the audits, which read 'consumed' as the
-- tube leaving its place, must not take it for one.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('registered', 'stored',
	'moved', 'checked_out', 'returned', 'thawed', 'aliquoted', 'derived', 'label_printed',
	'shipped', 'received', 'consumed', 'used', 'destroyed', 'lost', 'found',
	'consent_withdrawn', 'audit_confirmed', 'audit_flagged'));
COMMENT ON COLUMN events.type IS 'What happened: registered, stored, moved, checked_out, returned, used (part of the tube, details.quantity), consumed, ...';
