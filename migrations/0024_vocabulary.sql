-- 0024: the words the import, correction and pre-barcoded tube work write
-- into the custody ledger, declared once here so that no later migration
-- re-declares the list and drops another's word by accident.
--  - imported: a specimen's first event when it came from an inventory file
--    (details: the file's SHA-256, its row and the legacy ID);
--  - corrected: a field recorded wrongly was corrected (details: before and
--    after), the original kept in the ledger (21 CFR 11.10(e));
--  - barcode_set: a tube barcode set once on a specimen that had none;
--  - entered_in_error: a specimen registered by mistake; kept, but left out
--    of counts, reports, exports and searches by default.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('registered', 'stored',
	'moved', 'checked_out', 'returned', 'thawed', 'aliquoted', 'derived', 'label_printed',
	'shipped', 'received', 'consumed', 'used', 'destroyed', 'lost', 'found',
	'consent_withdrawn', 'audit_confirmed', 'audit_flagged', 'imported', 'corrected',
	'barcode_set', 'entered_in_error'));
COMMENT ON COLUMN events.type IS 'What happened: registered or imported (the first event), stored, moved, checked_out, returned, used (part of the tube, details.quantity), consumed, corrected (details.before/after), barcode_set, entered_in_error, ...';

ALTER TABLE specimens DROP CONSTRAINT IF EXISTS specimens_status_check;
ALTER TABLE specimens ADD CONSTRAINT specimens_status_check CHECK (status IN ('registered',
	'in_storage', 'checked_out', 'shipped', 'consumed', 'destroyed', 'lost',
	'entered_in_error'));
