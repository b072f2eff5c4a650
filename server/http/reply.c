/* reply.c — JSON and problem+json (RFC 9457) answers, from one place. */
#include "http/reply.h"

#include "http/log.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every problem carries a stable "code" that clients switch on (never on
 * "detail"). One table: the codes the daemon answers itself, then the codes
 * the SQL functions raise (bb_fail, migrations/functions/common.sql). The first
 * code of each status is that status's generic code, used when a problem has
 * no code of its own. docs/api.md lists the same codes.
 */
static const struct problem_code problem_codes[] = {
	/* generic, one per status */
	{ "invalid-input", 400, "Invalid input" },
	{ "unauthorized", 401, "Authentication required" },
	{ "forbidden", 403, "Not allowed for this role" },
	{ "not-found", 404, "Not found" },
	{ "method-not-allowed", 405, "Method not allowed" },
	{ "conflict", 409, "State conflict" },
	{ "body-too-large", 413, "Request body too large" },
	{ "uri-too-long", 414, "URI too long" },
	{ "unsupported-media-type", 415, "Unsupported media type" },
	{ "idempotency-key-reused", 422, "Idempotency key reused with another body" },
	{ "too-many-attempts", 429, "Too many attempts" },
	{ "internal-error", 500, "Internal error" },
	{ "bad-gateway", 502, "A device behind the service failed" },
	{ "export-failed", 500, "The bulk export failed" },
	{ "unavailable", 503, "Service unavailable" },
	{ "spool-unavailable", 503, "No room for the file" },
	/* 400: the request is wrong */
	{ "check-character", 400, "Specimen ID mistyped" },
	{ "rack-file-refused", 400, "The rack-scanner file was refused" },
	{ "invalid-value", 400, "Invalid value" },
	{ "value-required", 400, "Value required" },
	{ "value-out-of-range", 400, "Value out of range" },
	{ "value-not-allowed", 400, "Value not allowed" },
	{ "value-malformed", 400, "Value malformed" },
	{ "date-out-of-range", 400, "Date out of range" },
	{ "position-invalid", 400, "Not a position" },
	{ "position-outside-box", 400, "Position outside the box" },
	{ "listed-twice", 400, "Listed twice" },
	{ "cursor-invalid", 400, "Not a cursor of this list" },
	{ "unknown-box", 400, "Unknown box" },
	{ "unknown-location", 400, "Unknown location" },
	{ "unknown-study", 400, "Unknown study" },
	{ "unknown-participant", 400, "Unknown participant" },
	{ "unknown-specimen", 400, "Unknown specimen" },
	{ "unknown-specimen-type", 400, "Unknown specimen type" },
	{ "invalid-reference", 400, "Reference to nothing" },
	{ "unit-mismatch", 400, "Unit mismatch" },
	{ "location-nesting", 400, "Location cannot be placed there" },
	{ "location-empty", 400, "Location holds no boxes" },
	{ "box-or-location", 400, "Give a box or a location" },
	{ "box-not-in-audit", 400, "Box not part of the audit" },
	{ "audit-box-ambiguous", 400, "Name the box" },
	{ "specimen-not-in-audit", 400, "Specimen not part of the audit" },
	{ "not-scanned", 400, "Not scanned in this audit" },
	{ "not-scanned-there", 400, "Not scanned at that position" },
	{ "tree-size-out-of-range", 400, "Tree size out of range" },
	{ "encoding-unknown", 400, "Say which encoding the file is in" },
	{ "file-malformed", 400, "The file cannot be read as rows" },
	{ "file-too-large", 413, "The file has too many rows" },
	{ "import-invalid", 422, "Rows of the file are refused" },
	/* 404: the URL names nothing */
	{ "no-route", 404, "No such resource" },
	{ "specimen-not-found", 404, "Specimen not found" },
	{ "box-not-found", 404, "Box not found" },
	{ "location-not-found", 404, "Location not found" },
	{ "study-not-found", 404, "Study not found" },
	{ "participant-not-found", 404, "Participant not found" },
	{ "audit-not-found", 404, "Audit not found" },
	{ "shipment-not-found", 404, "Shipment not found" },
	{ "print-job-not-found", 404, "Print job not found" },
	{ "specimen-not-on-shipment", 404, "Specimen not on the shipment" },
	{ "reference-not-found", 404, "Nothing is known by this value" },
	{ "user-not-found", 404, "User not found" },
	{ "ledger-key-missing", 404, "The ledger has no signing key" },
	{ "checkpoint-not-found", 404, "No checkpoint yet" },
	{ "event-not-found", 404, "No such event" },
	{ "log-not-witnessed", 404, "This server does not witness that log" },
	{ "export-not-found", 404, "No such export, or not yours" },
	{ "import-not-found", 404, "No such import of yours" },
	/* 409: the state of the data forbids it */
	{ "already-exists", 409, "Already exists" },
	{ "position-occupied", 409, "Position occupied" },
	{ "status-forbids", 409, "The specimen's status forbids it" },
	{ "consent-withdrawn", 409, "Consent withdrawn" },
	{ "specimen-moved", 409, "Specimen moved" },
	{ "already-there", 409, "Already there" },
	{ "quantity-insufficient", 409, "Quantity insufficient" },
	{ "quantity-exhausted", 409, "Nothing left in the tube" },
	{ "audit-closed", 409, "Audit closed" },
	{ "shipment-state", 409, "The shipment's status forbids it" },
	{ "shipment-empty", 409, "Shipment empty" },
	{ "box-grid-conflict", 409, "Box holds specimens outside the new grid" },
	{ "print-job-state", 409, "The print job's state forbids it" },
	{ "printer-not-configured", 409, "Printer no longer configured" },
	{ "printer-not-ready", 503, "Printer not ready" },
	{ "secret-not-replayed", 409, "The answer held a secret and is not replayed" },
	{ "event-not-sequenced", 409, "Event not in the log yet" },
	{ "witness-size-mismatch", 409, "The witness stands at another size" },
	{ "consistency-proof-failed", 409, "Not consistent with the checkpoint witnessed" },
	{ "barcode-already-set", 409, "The tube already has a barcode" },
	{ "box-in-audit", 409, "Box in an open audit" },
	{ "box-holds-other-studies", 409, "Box holds tubes of other studies" },
	{ "specimen-changed", 409, "The specimen changed since it was read" },
	{ "inherited-from-parent", 409, "Inherited from the parent: correct it there" },
	{ "has-children", 409, "Its children are not entered in error" },
	{ "on-draft-shipment", 409, "On a draft shipment" },
	{ "collected-before-birth", 409, "Specimens collected before that birth year" },
	{ "import-in-progress", 409, "An import of that name is running" },
	/* storage rules (issue 18) */
	{ "rule-specimen-type", 409, "The container does not accept this specimen type" },
	{ "rule-study", 409, "The container does not accept this study" },
	{ "rule-temperature", 409, "The container is kept at another temperature" },
	{ "rule-broken-by-contents", 409, "A stored tube would break the rule" },
	{ "box-slots-full", 409, "Every box slot is taken" },
	{ "box-slots-taken", 409, "More boxes stand there already" },
	{ "no-room", 409, "No room under the rules" },
	/* temperatures, exposure, maintenance, evacuation (issue 18) */
	{ "temperature-file-refused", 400, "The temperature file was refused" },
	{ "not-in-location", 400, "Box not in the location" },
	{ "excursion-not-found", 404, "Excursion not found" },
	{ "maintenance-task-not-found", 404, "Maintenance task not found" },
	{ "reading-conflict", 409, "Another reading is stored for that time" },
	{ "task-done", 409, "The task is done already" },
	{ "evacuation-incomplete", 409, "Boxes left behind" },
	{ "evacuation-too-large", 409, "Too many boxes for one request" },
	{ "nothing-to-move", 409, "Nothing to move" },
	/* storage allocations and specimen requests alike; the detail says which */
	{ "nothing-to-allocate", 409, "Nothing to allocate" },
	{ "specimen-type-not-found", 404, "Specimen type not found" },
	/* specimen requests (docs/api-requests.md) */
	{ "request-not-found", 404, "Request not found" },
	{ "specimen-not-on-request", 404, "Specimen not reserved for the request" },
	{ "not-on-request", 400, "Not a tube of the request" },
	{ "request-state", 409, "The request's status forbids it" },
	{ "own-request", 409, "Not on your own request" },
	{ "specimen-reserved", 409, "Reserved for a request" },
	{ "criteria-unmet", 409, "Does not match the request" },
	{ "wrong-tube", 409, "Wrong tube" },
	{ "not-on-pick-list", 409, "No tube of the pick list there" },
	{ "already-picked", 409, "Already picked" },
	{ "nothing-picked", 409, "Nothing picked yet" },
	{ "not-picked", 409, "Not picked" },
	/* 403: the caller may not */
	{ "wrong-password", 403, "Wrong current password" },
	{ "every-study-only", 403, "Only for users of every study" },
	/* account administration (issue 16) */
	{ "account-disabled", 401, "Account disabled" },
	{ "password-change-required", 403, "Change your password first" },
	{ "token-not-found", 404, "Service token not found" },
	{ "last-admin", 409, "The last admin of every study" },
	{ "own-account", 409, "Not on your own account" },
	/* protocols, visits, SPREC (issue 17) */
	{ "timepoint-not-in-protocol", 400, "Timepoint not in the study's protocol" },
	{ "sprec-invalid", 400, "Not a SPREC code" },
	{ "protocol-not-found", 404, "No such protocol" },
	{ "visit-not-found", 404, "No such visit" },
	{ "protocol-changed", 409, "The protocol changed since it was read" },
	{ "protocol-required", 409, "The study has no protocol" },
	{ "visit-done", 409, "Specimens were registered at this visit" },
	/* single sign-on (issue 20; docs/sso.md) */
	{ "token-rejected", 401, "Token rejected" },
	{ "sso-refused", 401, "The identity provider refused the login" },
	{ "no-mapped-group", 403, "In no group of the group map" },
	{ "username-invalid", 403, "The provider's user name is not usable" },
	{ "username-taken", 409, "User name taken by another account" },
	{ "mapped-study-unknown", 409, "The group map names an unknown study" },
	{ "federated-account", 409, "The password is kept by the identity provider" },
	{ "sso-not-configured", 404, "No single sign-on here" },
	{ "sso-login-expired", 400, "Login unknown, used or expired" },
	{ "provider-unavailable", 503, "Identity provider unavailable" },
	{ "directory-unavailable", 503, "Directory unavailable" },
};

const struct problem_code *
problem_code_find(const char *code)
{
	for (size_t i = 0; i < sizeof(problem_codes) / sizeof(problem_codes[0]); i++)
		if (strcmp(problem_codes[i].code, code) == 0)
			return &problem_codes[i];
	return NULL;
}

const struct problem_code *
problem_code_generic(unsigned status)
{
	for (size_t i = 0; i < sizeof(problem_codes) / sizeof(problem_codes[0]); i++)
		if (problem_codes[i].status == status)
			return &problem_codes[i];
	return problem_code_find(status >= 500 ? "internal-error" : "invalid-input");
}

const struct problem_code *
problem_code_at(size_t i)
{
	return i < sizeof(problem_codes) / sizeof(problem_codes[0]) ? &problem_codes[i] : NULL;
}

static bool reserved_member(const char *name);

/* The members every problem has; type stays the generic one of its status. */
static cJSON *
problem_new(unsigned status, const char *code, const char *title, const char *detail)
{
	const struct problem_code *generic = problem_code_generic(status);
	const struct problem_code *pc = code != NULL ? problem_code_find(code) : NULL;
	cJSON *o = cJSON_CreateObject();
	char type[64];

	if (pc == NULL || pc->status != status)
		pc = generic;
	snprintf(type, sizeof(type), "/problems/%s", generic->code);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "title", title ? title : pc->title);
	cJSON_AddNumberToObject(o, "status", status);
	cJSON_AddStringToObject(o, "code", pc->code);
	cJSON_AddStringToObject(o, "detail", detail ? detail : "");
	return o;
}

static char *
problem_print(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (text == NULL) {
		fprintf(stderr, "fatal: out of memory printing a problem\n");
		abort();
	}
	return text;
}

/*
 * A problem lists at most bb_js_errors_max() errors (problem_errors_max) and
 * says in "errors_omitted" how many more there were: a request of a few
 * bytes per bad field must not buy an answer of megabytes.
 */
static void
add_omitted(cJSON *o, size_t omitted)
{
	if (omitted > 0)
		cJSON_AddNumberToObject(o, "errors_omitted", (double)omitted);
}

static void
add_errors(cJSON *o, const struct bb_js_errors *errs)
{
	if (errs == NULL || errs->n == 0)
		return;
	cJSON *list = cJSON_AddArrayToObject(o, "errors");

	/* The list holds at most the limit (bb_js_error_add counts the rest). */
	for (size_t i = 0; i < errs->n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "field", errs->list[i].field);
		cJSON_AddStringToObject(e, "message", errs->list[i].message);
		cJSON_AddItemToArray(list, e);
	}
	add_omitted(o, errs->omitted);
}

/* Cut a list of errors from the database to the limit; returns how many were cut. */
static size_t
cut_errors(cJSON *errs)
{
	int n = cJSON_GetArraySize(errs);
	size_t max = bb_js_errors_max();

	if (n < 0 || (size_t)n <= max)
		return 0;
	for (int i = n - 1; i >= 0 && (size_t)i >= max; i--)
		cJSON_DeleteItemFromArray(errs, i);
	return (size_t)n - max;
}

char *
problem_json(unsigned status, const char *title, const char *detail,
             const struct bb_js_errors *errs)
{
	cJSON *o = problem_new(status, NULL, title, detail);

	add_errors(o, errs);
	return problem_print(o);
}

static void
set_body(struct srv_req *r, unsigned status, const char *type, char *data, size_t len)
{
	if (r->resp_body != NULL || r->stream != NULL) {
		/* Two replies to one request is a bug in a handler: keep the first. */
		log_warnx("%s: request %s %s answered twice (%u then %u)", __func__, r->method,
		          r->path, r->status, status);
		free(data);
		return;
	}
	r->status = status;
	r->resp_type = type;
	r->resp_body = data;
	r->resp_len = len;
}

void
reply_raw(struct srv_req *r, unsigned status, const char *type, char *data, size_t len)
{
	set_body(r, status, type, data, len);
}

void
reply_json(struct srv_req *r, unsigned status, cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);

	cJSON_Delete(body);
	if (text == NULL) {
		fprintf(stderr, "fatal: out of memory printing a reply\n");
		abort();
	}
	set_body(r, status, "application/json", text, strlen(text));
}

void
reply_empty(struct srv_req *r, unsigned status)
{
	set_body(r, status, NULL, bb_strdup(""), 0);
}

static void
reply_problem_obj(struct srv_req *r, unsigned status, cJSON *o)
{
	char *text = problem_print(o);

	set_body(r, status, "application/problem+json", text, strlen(text));
}

void
reply_problem(struct srv_req *r, unsigned status, const char *title, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	reply_problem_obj(r, status, problem_new(status, NULL, title, detail));
}

void
reply_problem_code(struct srv_req *r, const char *code, const char *title, const char *fmt, ...)
{
	const struct problem_code *pc = problem_code_find(code);
	char detail[1024];
	va_list ap;

	if (pc == NULL) {
		log_warnx("%s: no problem code %s in the table", __func__, code);
		pc = problem_code_generic(500);
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	reply_problem_obj(r, pc->status, problem_new(pc->status, pc->code, title, detail));
}

void
reply_problem_facts(struct srv_req *r, const char *code, cJSON *facts, const char *fmt, ...)
{
	const struct problem_code *pc = problem_code_find(code);
	char detail[1024];
	va_list ap;
	cJSON *f;

	if (pc == NULL) {
		log_warnx("%s: no problem code %s in the table", __func__, code);
		pc = problem_code_generic(500);
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	cJSON *o = problem_new(pc->status, pc->code, NULL, detail);
	while (facts != NULL && (f = facts->child) != NULL) {
		cJSON_DetachItemViaPointer(facts, f);
		if (reserved_member(f->string))
			cJSON_Delete(f);
		else
			cJSON_AddItemToObject(o, f->string, f);
	}
	cJSON_Delete(facts);
	reply_problem_obj(r, pc->status, o);
}

void
reply_invalid(struct srv_req *r, const struct bb_js_errors *errs)
{
	char detail[512];
	size_t total = bb_js_errors_total(errs);

	if (total == 1)
		snprintf(detail, sizeof(detail), "%s%s%s", errs->list[0].field,
		         *errs->list[0].field ? " " : "", errs->list[0].message);
	else if (errs->omitted > 0)
		snprintf(detail, sizeof(detail),
		         "%zu fields are invalid: the first %zu are listed in errors", total,
		         errs->n);
	else
		snprintf(detail, sizeof(detail), "%zu fields are invalid: see errors", total);
	cJSON *o = problem_new(400, NULL, NULL, detail);
	add_errors(o, errs);
	reply_problem_obj(r, 400, o);
}

void
reply_invalid_field(struct srv_req *r, const char *field, const char *fmt, ...)
{
	struct bb_js_errors errs = { 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bb_js_error_add(&errs, &r->arena, field, "%s", msg);
	reply_invalid(r, &errs);
}

/* Members of ours and of RFC 9457 that a fact from the database may not replace. */
static bool
reserved_member(const char *name)
{
	static const char *const names[] = { "type",     "title", "status", "detail",
		                             "instance", "code",  "errors", "errors_omitted" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/*
 * What PostgreSQL refused itself (a constraint, a value out of a type's
 * range), said in our words: its own message names tables and constraints
 * and is never shown. A constraint named here identifies the field.
 */
static const struct {
	const char *constraint;
	const char *code;
	const char *field;
	const char *message;
} pg_constraints[] = {
	{ "studies_code_key", "already-exists", "code", "a study with this code already exists" },
	{ "users_username_key", "already-exists", "username",
	  "a user with this name already exists" },
	{ "participants_study_id_code_key", "already-exists", "code",
	  "the study already has a participant with this code" },
	{ "locations_barcode_key", "already-exists", "barcode", "the barcode is already in use" },
	{ "boxes_barcode_key", "already-exists", "barcode", "the barcode is already in use" },
	{ "specimens_tube_barcode_key", "already-exists", "tube_barcode",
	  "the tube barcode is already in use" },
	{ "specimens_one_per_position", "position-occupied", NULL, "the position is taken" },
	{ "studies_name_check", "invalid-value", "name", "must be 1 to 200 characters" },
	{ "consents_version_check", "invalid-value", "version", "must be 1 to 64 characters" },
	{ "locations_name_check", "invalid-value", "name", "must be 1 to 100 characters" },
	{ "locations_barcode_check", "invalid-value", "barcode", "must be 1 to 64 characters" },
	{ "locations_temperature_c_check", "invalid-value", "temperature_c",
	  "must be between -273 and 60" },
	{ "boxes_barcode_check", "invalid-value", "barcode", "must be 1 to 64 characters" },
	{ "boxes_rows_check", "invalid-value", "rows", "must be between 1 and 26" },
	{ "boxes_cols_check", "invalid-value", "cols", "must be between 1 and 48" },
	{ "specimens_quantity_check", "invalid-value", "quantity.value", "must not be negative" },
	{ "specimens_notes_check", "invalid-value", "notes", "must be at most 2000 characters" },
	{ "specimens_timepoint_check", "invalid-value", "timepoint", "must be 1 to 40 characters" },
	{ "specimens_tube_barcode_check", "invalid-value", "tube_barcode",
	  "must be 1 to 64 characters" },
	{ "specimens_unit_check", "invalid-value", "quantity.unit", "must be 1 to 16 characters" },
	{ "events_reason_check", "invalid-value", "reason", "must be at most 1000 characters" },
	{ "shipments_destination_check", "invalid-value", "destination",
	  "must be 1 to 200 characters" },
	{ "shipments_requester_check", "invalid-value", "requester",
	  "must be 1 to 200 characters" },
	{ "shipments_notes_check", "invalid-value", "notes", "must be at most 2000 characters" },
	{ "shipments_receipt_notes_check", "invalid-value", "notes",
	  "must be at most 2000 characters" },
	{ "tokens_label_check", "invalid-value", "label", "must be at most 200 characters" },
};

/* The generic answer for an SQLSTATE of PostgreSQL's own. */
static void
pg_generic(const char *state, const char **code, const char **message)
{
	if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0) {
		*code = "already-exists";
		*message = "the request conflicts with something that already exists";
	} else if (strcmp(state, "23503") == 0) {
		*code = "invalid-reference";
		*message = "the request refers to something that does not exist or is still in use";
	} else if (strcmp(state, "23502") == 0) {
		*code = "value-required";
		*message = "a required value is missing";
	} else if (strcmp(state, "22003") == 0) {
		*code = "value-out-of-range";
		*message = "a number is out of range";
	} else if (strncmp(state, "2200", 4) == 0 || strcmp(state, "22007") == 0 ||
	           strcmp(state, "22008") == 0) {
		*code = "invalid-value";
		*message = "a date or time is not valid";
	} else if (strcmp(state, "22001") == 0) {
		*code = "invalid-value";
		*message = "a text is too long";
	} else {
		*code = "invalid-value";
		*message = "a value is not valid";
	}
}

/*
 * An error a function of ours raised with bb_fail: its code, field and facts.
 * With names, the items of a list refusal ("errors" with "item": k) are
 * told by names[k] (e.g. "line 46" of a file) instead of their field.
 */
static cJSON *
problem_from_raise(unsigned status, const char *message, const struct db_diag *d, const char *title,
                   const char *const *names, size_t n_names)
{
	cJSON *facts = d->detail ? cJSON_Parse(d->detail) : NULL;
	const cJSON *jcode = cJSON_GetObjectItemCaseSensitive(facts, "code");
	const char *code = cJSON_IsString(jcode) ? jcode->valuestring : NULL;
	const struct problem_code *pc = code ? problem_code_find(code) : NULL;
	cJSON *errs = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(facts, "errors"), true);
	char detail[1024];

	if (names != NULL && status == 404) {
		/*
		 * A line of a file naming no tube (the caller may see) is a mistake
		 * in the file, not a missing resource: 400 unknown-specimen, by line.
		 */
		status = 400;
		if (code != NULL && strcmp(code, "specimen-not-found") == 0)
			code = "unknown-specimen";
		pc = code ? problem_code_find(code) : NULL;
	}
	if (pc == NULL || pc->status != status) {
		/* Our bug: the SQL and the table disagree. The client still gets a code. */
		log_warnx(
		    "%s: the database raised code %s with status %u, which the table of codes "
		    "does not have",
		    __func__, code ? code : "(none)", status);
		code = NULL;
	}
	if (!cJSON_IsArray(errs) && *d->column) {
		cJSON_Delete(errs);
		errs = cJSON_CreateArray();
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "field", d->column);
		cJSON_AddStringToObject(e, "message", message);
		cJSON_AddItemToArray(errs, e);
	}
	/* The function lists every refused item (its message counts them all); we show the limit.
	 */
	size_t omitted = cJSON_IsArray(errs) ? cut_errors(errs) : 0;
	cJSON *e;
	cJSON_ArrayForEach(e, errs)
	{
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(e, "item");

		const char *ecode =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "code"));

		if (names != NULL && cJSON_IsNumber(item) && item->valuedouble >= 0 &&
		    item->valuedouble < (double)n_names)
			cJSON_ReplaceItemInObjectCaseSensitive(
			    e, "field", cJSON_CreateString(names[(size_t)item->valuedouble]));
		if (names != NULL && ecode != NULL && strcmp(ecode, "specimen-not-found") == 0)
			cJSON_ReplaceItemInObjectCaseSensitive(
			    e, "code", cJSON_CreateString("unknown-specimen"));
	}
	int n_errs = cJSON_IsArray(errs) ? cJSON_GetArraySize(errs) : 0;
	if (n_errs == 1 && omitted == 0) {
		/* "placements[2].position \"Q\" is not a position", as the validator says it. */
		const cJSON *f =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "field");
		const cJSON *m =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "message");
		snprintf(detail, sizeof(detail), "%s%s%s", cJSON_IsString(f) ? f->valuestring : "",
		         names != NULL ? ": " : " ", cJSON_IsString(m) ? m->valuestring : message);
	} else {
		snprintf(detail, sizeof(detail), "%s", message);
	}
	cJSON *o = problem_new(status, code, title, detail);
	if (n_errs > 0)
		cJSON_AddItemToObject(o, "errors", errs);
	else
		cJSON_Delete(errs);
	add_omitted(o, omitted);
	const cJSON *f;
	cJSON_ArrayForEach(f, facts)
	{
		if (f->string != NULL && !reserved_member(f->string) && !cJSON_IsNull(f))
			cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, true));
	}
	cJSON_Delete(facts);
	return o;
}

/* An error PostgreSQL raised itself: a code and words of ours, never its message. */
static cJSON *
problem_from_pg(const char *state, const struct db_diag *d)
{
	const char *code, *message, *field = NULL;

	pg_generic(state, &code, &message);
	for (size_t i = 0; i < sizeof(pg_constraints) / sizeof(pg_constraints[0]); i++) {
		if (strcmp(pg_constraints[i].constraint, d->constraint) == 0) {
			code = pg_constraints[i].code;
			field = pg_constraints[i].field;
			message = pg_constraints[i].message;
			break;
		}
	}
	if (field == NULL && strcmp(state, "23502") == 0 && *d->column) {
		field = d->column;
		message = "is required";
	}
	const struct problem_code *pc = problem_code_find(code);
	char detail[512];
	snprintf(detail, sizeof(detail), "%s%s%s", field ? field : "", field ? " " : "", message);
	cJSON *o = problem_new(pc->status, pc->code, NULL, detail);
	if (field != NULL) {
		cJSON *list = cJSON_AddArrayToObject(o, "errors"), *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "field", field);
		cJSON_AddStringToObject(e, "message", message);
		cJSON_AddItemToArray(list, e);
	}
	return o;
}

cJSON *
problem_from_db(const char *state, const char *message, const struct db_diag *d)
{
	if (strncmp(state, "BB", 2) == 0) {
		unsigned status = (unsigned)strtoul(state + 2, NULL, 10);

		if (status != 400 && status != 404 && status != 409)
			status = 409; /* e.g. a trigger of the baseline raising BB409 */
		return problem_from_raise(status, message, d, NULL, NULL, 0);
	}
	return problem_from_pg(state, d);
}

static const struct db_diag no_diag = { { 0 }, { 0 }, NULL };

void
reply_db_error_items(struct srv_req *r, enum bb_err err, const char *title,
                     const char *const *names, size_t n)
{
	const char *state = r->db ? db_error_state(r->db) : "";

	if ((err != BB_EINVAL && err != BB_ECONFLICT && err != BB_ENOTFOUND) ||
	    strncmp(state, "BB", 2) != 0) {
		reply_db_error(r, err);
		return;
	}
	unsigned status = (unsigned)strtoul(state + 2, NULL, 10);
	if (status != 400 && status != 404 && status != 409)
		status = 409;
	cJSON *o = problem_from_raise(status, db_error_message(r->db), db_error_diag(r->db), title,
	                              names, n);
	reply_problem_obj(r, (unsigned)cJSON_GetObjectItem(o, "status")->valueint, o);
}

void
reply_db_error(struct srv_req *r, enum bb_err err)
{
	switch (err) {
	case BB_EDBDOWN:
		reply_header(r, "Retry-After", "1");
		reply_problem(r, 503, NULL, "the database is unavailable; try again shortly");
		break;
	case BB_ECONFLICT:
	case BB_ENOTFOUND:
	case BB_EINVAL: {
		const char *state = r->db ? db_error_state(r->db) : "";
		const struct db_diag *d = r->db ? db_error_diag(r->db) : &no_diag;
		unsigned fallback = err == BB_ECONFLICT ? 409 : err == BB_ENOTFOUND ? 404 : 400;

		if (*state == '\0') {
			/* Not from a statement (e.g. a db_* helper found no row). */
			reply_problem(r, fallback, NULL, "%s",
			              fallback == 404 ? "no such object"
			              : fallback == 409
			                  ? "the request conflicts with the current state"
			                  : "the request was not valid");
			break;
		}
		cJSON *o = problem_from_db(state, db_error_message(r->db), d);
		unsigned status = (unsigned)cJSON_GetObjectItem(o, "status")->valueint;
		reply_problem_obj(r, status, o);
		break;
	}
	case BB_ERETRY:
		reply_header(r, "Retry-After", "1");
		reply_problem(r, 503, NULL,
		              "the database was too busy to complete the request; try again");
		break;
	default:
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		break;
	}
}

void
reply_header(struct srv_req *r, const char *name, const char *value)
{
	size_t i = 0;

	while (i + 2 < sizeof(r->resp_headers) / sizeof(r->resp_headers[0]) &&
	       r->resp_headers[i] != NULL)
		i += 2;
	if (i + 2 >= sizeof(r->resp_headers) / sizeof(r->resp_headers[0]))
		return;
	r->resp_headers[i] = bb_arena_strdup(&r->arena, name);
	r->resp_headers[i + 1] = bb_arena_strdup(&r->arena, value);
}

void
reply_reset(struct srv_req *r)
{
	free(r->resp_body);
	r->resp_body = NULL;
	r->resp_len = 0;
	r->resp_type = NULL;
	r->status = 0;
	if (r->stream != NULL)
		MHD_destroy_response(r->stream);
	r->stream = NULL;
	/* The strings live in the request's arena and go with it. */
	memset(r->resp_headers, 0, sizeof(r->resp_headers));
	/* Work deferred by an answer that does not stand is not done. */
	r->defer_work = NULL;
	r->defer_done = NULL;
	r->defer_arg = NULL;
}

void
reply_json_text(struct srv_req *r, unsigned status, const char *json)
{
	set_body(r, status, "application/json", bb_strdup(json), strlen(json));
}

struct fn_call {
	const char *stmt;
	int nparams;
	const char *const *params;
	PGresult *res;
	bool whole_db; /* a report over every specimen: no per-statement timeout */
	bool rows;     /* one value and the rows that come with it (function_rows) */
	bool reads;    /* the function only reads: db_exec_read */
};

static enum bb_err
fn_call_run(struct db_conn *c, void *arg)
{
	struct fn_call *f = arg;

	PQclear(f->res);
	f->res = NULL;
	if (f->whole_db) {
		enum bb_err err = db_long_statements(c, 0);
		if (err != BB_OK)
			return err;
	}
	if (f->reads)
		return db_exec_read(c, f->stmt, f->nparams, f->params, &f->res);
	return db_exec(c, f->stmt, f->nparams, f->params, &f->res);
}

static PGresult *
answer(struct srv_req *r, struct fn_call *f)
{
	struct db_conn *db = req_db(r);

	if (db == NULL)
		return NULL;
	/* The lifted timeout lasts one transaction: it needs one of its own. */
	enum bb_err err =
	    f->whole_db ? db_txn(db, fn_call_run, f) : db_txn_implicit(db, fn_call_run, f);
	if (err != BB_OK) {
		PQclear(f->res);
		reply_db_error(r, err);
		return NULL;
	}
	if (PQntuples(f->res) < 1 || (PQntuples(f->res) > 1 && !f->rows) ||
	    PQgetisnull(f->res, 0, 0)) {
		PQclear(f->res);
		reply_problem(r, 404, NULL, "no such object");
		return NULL;
	}
	return f->res;
}

PGresult *
function_answer(struct srv_req *r, const char *stmt, int nparams, const char *const *params)
{
	struct fn_call f = { stmt, nparams, params, NULL, false };

	return answer(r, &f);
}

PGresult *
function_rows(struct srv_req *r, const char *stmt, int nparams, const char *const *params)
{
	struct fn_call f = { stmt, nparams, params, NULL, false, true };

	return answer(r, &f);
}

static void
reply_answer(struct srv_req *r, unsigned status, struct fn_call *f)
{
	PGresult *res = answer(r, f);

	if (res == NULL)
		return;
	reply_json_text(r, status, PQgetvalue(res, 0, 0));
	PQclear(res);
}

void
reply_from_function(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                    const char *const *params)
{
	struct fn_call f = { stmt, nparams, params, NULL, false };

	reply_answer(r, status, &f);
}

void
reply_from_read(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                const char *const *params)
{
	struct fn_call f = { .stmt = stmt, .nparams = nparams, .params = params, .reads = true };

	reply_answer(r, status, &f);
}

void
reply_from_report(struct srv_req *r, unsigned status, const char *stmt, int nparams,
                  const char *const *params)
{
	struct fn_call f = { stmt, nparams, params, NULL, true };

	reply_answer(r, status, &f);
}
