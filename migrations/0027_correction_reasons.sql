-- 0027: why a record was corrected. A correction of a participant (PATCH
-- /api/v1/participants/{study}/{code}) gives a reason, kept with the
-- audit-log row that holds the record before and after (21 CFR 11.10(e));
-- specimens keep theirs in the corrected event of the ledger. The audit
-- trigger takes it from the transaction setting bb.reason, which the
-- correcting function sets for its change alone (functions/audit_log.sql).
ALTER TABLE audit_log ADD COLUMN reason text CHECK (length(reason) <= 1000);
COMMENT ON COLUMN audit_log.reason IS 'Why, as the user gave it for a correction; NULL for other changes.';
