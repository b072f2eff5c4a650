-- 0032: researchers, specimen requests and distribution (issue 17, second
-- half; docs/api-requests.md).
--
--  - a researcher role: sees the catalogue (suppressed counts) and its own
--    requests, never a participant code or a specimen ID;
--  - a commercial consent scope: what a commercial request needs besides
--    biobank consent (docs/consent.md, "Consent and requests");
--  - requests, the tubes reserved for them (request_items) and the
--    shipments made from them;
--  - two custody events, reserved and released. Neither moves a tube nor
--    changes its status: a reserved tube stays in its box, in_storage, and
--    every other action (a move, an audit) keeps working on it. What keeps
--    it out of another request is request_items_one_reservation below.
--  - per study, whether the last aliquot of a participant's timepoint is kept
--    back from allocation.

ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'manager',
	'technician', 'auditor', 'printer', 'researcher'));
COMMENT ON COLUMN users.role IS 'What the account may do: admin, manager, technician, auditor (read-only), printer or researcher (catalogue and own requests).';

ALTER TABLE consents DROP CONSTRAINT IF EXISTS consents_scope_check;
ALTER TABLE consents ADD CONSTRAINT consents_scope_check CHECK (scope IN ('study', 'biobank',
	'genetic', 'commercial'));
COMMENT ON COLUMN consents.scope IS 'study, biobank (storage and use of samples), genetic or commercial (use by or for a company).';

ALTER TABLE events DROP CONSTRAINT IF EXISTS events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check CHECK (type IN ('registered', 'stored',
	'moved', 'checked_out', 'returned', 'thawed', 'aliquoted', 'derived', 'label_printed',
	'shipped', 'received', 'consumed', 'used', 'destroyed', 'lost', 'found',
	'consent_withdrawn', 'audit_confirmed', 'audit_flagged', 'imported', 'corrected',
	'barcode_set', 'entered_in_error', 'reserved', 'released'));
COMMENT ON COLUMN events.type IS 'What happened: registered or imported (the first event), stored, moved, checked_out, returned, used (part of the tube, details.quantity), consumed, corrected (details.before/after), barcode_set, entered_in_error, reserved and released (for a request, details.request), ...';

ALTER TABLE studies ADD COLUMN keep_last_aliquot boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN studies.keep_last_aliquot IS 'Allocation never proposes the last tube of a participant''s timepoint and type unless the request allows it (true), or ignores the rule for this study (false).';

CREATE TABLE requests (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	project text NOT NULL CHECK (length(project) BETWEEN 1 AND 200),
	ethics_ref text NOT NULL CHECK (length(ethics_ref) BETWEEN 1 AND 100),
	mta_ref text NOT NULL CHECK (length(mta_ref) BETWEEN 1 AND 100),
	purpose text NOT NULL CHECK (purpose IN ('genetic', 'non-genetic', 'commercial')),
	study_id bigint NOT NULL REFERENCES studies (id),
	timepoints text[] NOT NULL DEFAULT '{}',
	types text[] NOT NULL CHECK (cardinality(types) >= 1),
	quantity numeric(12, 3) NOT NULL CHECK (quantity > 0),
	unit text NOT NULL CHECK (length(unit) BETWEEN 1 AND 16),
	participants integer NOT NULL CHECK (participants BETWEEN 1 AND 100000),
	exclude_diagnoses text[] NOT NULL DEFAULT '{}',
	max_freeze_thaw integer CHECK (max_freeze_thaw >= 0),
	allow_last_aliquot boolean NOT NULL DEFAULT false,
	requester_id bigint NOT NULL REFERENCES users (id),
	requester text NOT NULL,
	status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'approved',
		'rejected', 'allocated', 'shipped', 'closed')),
	decided_by text,
	decided_at timestamptz,
	decision_reason text CHECK (length(decision_reason) <= 1000),
	notices jsonb NOT NULL DEFAULT '[]',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requests_requester ON requests (requester_id, id);
CREATE INDEX requests_status ON requests (status, id);
COMMENT ON TABLE requests IS 'Requests for specimens from researchers: criteria, approval, allocation, shipment (docs/api-requests.md).';
COMMENT ON COLUMN requests.id IS 'Surrogate key, used in the API.';
COMMENT ON COLUMN requests.title IS 'What the researcher calls the request.';
COMMENT ON COLUMN requests.project IS 'The research project the material is for.';
COMMENT ON COLUMN requests.ethics_ref IS 'Reference of the ethics approval of the project.';
COMMENT ON COLUMN requests.mta_ref IS 'Reference of the material transfer agreement.';
COMMENT ON COLUMN requests.purpose IS 'genetic, non-genetic or commercial: decides which consent a donor must have given (docs/consent.md).';
COMMENT ON COLUMN requests.study_id IS 'The study whose specimens are asked for.';
COMMENT ON COLUMN requests.timepoints IS 'Timepoints asked for (empty: any).';
COMMENT ON COLUMN requests.types IS 'Specimen types asked for.';
COMMENT ON COLUMN requests.quantity IS 'Least amount per tube, in unit.';
COMMENT ON COLUMN requests.unit IS 'Unit of quantity; only tubes recorded in this unit match.';
COMMENT ON COLUMN requests.participants IS 'How many participants the researcher needs.';
COMMENT ON COLUMN requests.exclude_diagnoses IS 'Diagnosis groups whose participants are left out.';
COMMENT ON COLUMN requests.max_freeze_thaw IS 'Tubes thawed more often than this are left out (NULL: no limit).';
COMMENT ON COLUMN requests.allow_last_aliquot IS 'The last tube of a participant''s timepoint and type may be allocated (seen by the approving manager).';
COMMENT ON COLUMN requests.requester_id IS 'The account that filed the request: only it, among researchers, sees the request.';
COMMENT ON COLUMN requests.requester IS 'Its user name at the time.';
COMMENT ON COLUMN requests.status IS 'submitted, approved or rejected (by a manager), allocated, shipped, closed.';
COMMENT ON COLUMN requests.decided_by IS 'The manager who approved or rejected it.';
COMMENT ON COLUMN requests.decided_at IS 'When.';
COMMENT ON COLUMN requests.decision_reason IS 'Why (required for a rejection).';
COMMENT ON COLUMN requests.notices IS 'Notices to the request''s readers, e.g. a tube removed after a consent withdrawal, as a JSON array.';
COMMENT ON COLUMN requests.created_at IS 'When it was filed.';
COMMENT ON COLUMN requests.updated_at IS 'When its status or tubes last changed.';

CREATE TABLE request_items (
	request_id bigint NOT NULL REFERENCES requests (id),
	specimen_id text NOT NULL REFERENCES specimens (id),
	state text NOT NULL DEFAULT 'reserved' CHECK (state IN ('reserved', 'released', 'removed',
		'shipped')),
	reserved_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	reserved_by text NOT NULL DEFAULT bb_actor(),
	picked_at timestamptz,
	picked_by text,
	shipment_id bigint REFERENCES shipments (id),
	consumed numeric(12, 3) CHECK (consumed >= 0),
	returned numeric(12, 3) CHECK (returned >= 0),
	PRIMARY KEY (request_id, specimen_id)
);
-- A tube is reserved by one request at most, whatever the interleaving of
-- two allocations: the second insert of the same tube fails here.
CREATE UNIQUE INDEX request_items_one_reservation ON request_items (specimen_id)
	WHERE state = 'reserved';
CREATE INDEX request_items_specimen ON request_items (specimen_id);
COMMENT ON INDEX request_items_one_reservation IS 'Invariant: a tube is reserved for one request at most.';
COMMENT ON TABLE request_items IS 'The tubes allocated to a request, and what became of them.';
COMMENT ON COLUMN request_items.request_id IS 'The request.';
COMMENT ON COLUMN request_items.specimen_id IS 'A tube allocated to it.';
COMMENT ON COLUMN request_items.state IS 'reserved (held for the request), released (given back), removed (consent withdrawn) or shipped (on a shipment of the request).';
COMMENT ON COLUMN request_items.reserved_at IS 'When it was reserved.';
COMMENT ON COLUMN request_items.reserved_by IS 'Who reserved it (allocation or a manager''s swap).';
COMMENT ON COLUMN request_items.picked_at IS 'When its scan at the bench matched the pick list.';
COMMENT ON COLUMN request_items.picked_by IS 'Who scanned it.';
COMMENT ON COLUMN request_items.shipment_id IS 'The shipment it went on.';
COMMENT ON COLUMN request_items.consumed IS 'Amount the recipient reports used, in the tube''s unit.';
COMMENT ON COLUMN request_items.returned IS 'Amount the recipient reports returned, in the tube''s unit.';

-- Allocation reads a study's stored tubes of some types (and timepoints):
-- without this, every tube in storage (the status index) was read for it.
CREATE INDEX specimens_requestable ON specimens (study_id, type, timepoint)
	WHERE status = 'in_storage' AND NOT consent_withdrawn;
COMMENT ON INDEX specimens_requestable IS 'The tubes allocation may propose, by study, type and timepoint (functions/requests.sql).';

ALTER TABLE shipments ADD COLUMN request_id bigint REFERENCES requests (id);
CREATE INDEX shipments_request ON shipments (request_id) WHERE request_id IS NOT NULL;
COMMENT ON COLUMN shipments.request_id IS 'The request the shipment fills, when it was made from one.';
