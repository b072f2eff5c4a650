/*
 * participants.c — studies, participants and their consent, specimen
 * types, diagnoses and the audit log. Each handler checks what the JSON
 * spec cannot (query parameters, the current year) and then makes one call
 * to a SQL function (migrations/functions/participants.sql) that does the whole
 * action and returns the answer; writers pass the caller as the actor, and
 * every call passes the caller's studies so that objects outside them
 * answer 404 and lists leave them out.
 */
#include "api/api.h"

#include "db/db.h"

#include <time.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt participants_statements[] = {
	{ "h_participants_create", "SELECT bb_participant_create($1, $2, $3, $4::integer, $5, "
	                           "$6::bigint[], $7, $8::bigint)" },
	{ "h_audit_log_list",
	  "SELECT bb_audit_log_list($1, $2, $3, $4::timestamptz, $5::integer, $6, $7::bigint[])" },
	{ NULL, NULL },
};

enum { STUDY_CODE, STUDY_NAME, STUDY__MAX };

static const struct bb_js_field study_fields[STUDY__MAX] = {
	[STUDY_CODE] = { "code", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[STUDY_NAME] = { "name", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
};
const struct bb_js_spec h_studies_create_spec = BB_JS_SPEC(study_fields);

/* The long forms are stored; the one-letter forms are read too. */
static const char *const sex_choices[] = { "female", "male", "other", "unknown", "F",
	                                   "M",      "O",    "U",     NULL };

enum { PART_STUDY, PART_CODE, PART_SEX, PART_BIRTH_YEAR, PART_DIAGNOSIS, PART__MAX };

static const struct bb_js_field participant_fields[PART__MAX] = {
	[PART_STUDY] = { "study", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[PART_CODE] = { "code", BB_JS_STRING, BB_JS_REQUIRED, 1, 40 },
	[PART_SEX] = { "sex", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, sex_choices },
	/* Optional: the bounds depend on today, so the handler checks them. */
	[PART_BIRTH_YEAR] = { "birth_year", BB_JS_INT, BB_JS_NULLABLE },
	[PART_DIAGNOSIS] = { "diagnosis", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
};
const struct bb_js_spec h_participants_create_spec = BB_JS_SPEC(participant_fields);

static const char *const scope_choices[] = { "study", "biobank", "genetic", "commercial", NULL };
static const char *const consent_status_choices[] = { "given", "withdrawn", NULL };

enum { CONSENT_SCOPE, CONSENT_STATUS, CONSENT_DATE, CONSENT_VERSION, CONSENT__MAX };

static const struct bb_js_field consent_fields[CONSENT__MAX] = {
	[CONSENT_SCOPE] = { "scope", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, scope_choices },
	[CONSENT_STATUS] = { "status", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, consent_status_choices },
	[CONSENT_DATE] = { "date", BB_JS_DATE, BB_JS_REQUIRED },
	[CONSENT_VERSION] = { "version", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
};
const struct bb_js_spec h_consents_create_spec = BB_JS_SPEC(consent_fields);

enum { STYPE_CODE, STYPE_NAME, STYPE__MAX };

static const struct bb_js_field specimen_type_fields[STYPE__MAX] = {
	[STYPE_CODE] = { "code", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[STYPE_NAME] = { "name", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
};
const struct bb_js_spec h_specimen_types_create_spec = BB_JS_SPEC(specimen_type_fields);

/* An empty query parameter means the same as an absent one. */
static const char *
query_opt(struct srv_req *r, const char *name)
{
	const char *s = req_query(r, name);

	return s != NULL && *s != '\0' ? s : NULL;
}

void
h_participants_create(struct srv_req *r)
{
	const struct bb_js_value *by = &r->in[PART_BIRTH_YEAR];
	const char *birth_year = NULL;

	if (by->present) {
		time_t now = time(NULL);
		struct tm tm;
		int this_year = gmtime_r(&now, &tm) != NULL ? tm.tm_year + 1900 : 9999;

		if (by->i < 1900 || by->i > this_year) {
			reply_invalid_field(r, "birth_year", "must be between 1900 and %d",
			                    this_year);
			return;
		}
		birth_year = bb_arena_printf(&r->arena, "%lld", (long long)by->i);
	}
	const char *params[] = { r->in[PART_STUDY].s, r->in[PART_CODE].s,      r->in[PART_SEX].s,
		                 birth_year,          r->in[PART_DIAGNOSIS].s, req_studies(r),
		                 req_actor(r),        req_actor_id(r) };

	reply_from_function(r, 201, "h_participants_create", 8, params);
}

void
h_audit_log_list(struct srv_req *r)
{
	const char *since = query_opt(r, "since");
	struct page pg;

	if (since != NULL && !bb_is_rfc3339(since)) {
		reply_invalid_field(r, "since",
		                    "must be an RFC 3339 date-time such as 2026-03-01T09:30:00Z");
		return;
	}
	if (!req_page(r, PAGE_AUDIT_LOG, &pg))
		return;
	const char *params[] = { query_opt(r, "entity"),
		                 query_opt(r, "entity_id"),
		                 query_opt(r, "actor"),
		                 since,
		                 pg.limit,
		                 pg.cursor,
		                 req_studies(r) };

	reply_from_function(r, 200, "h_audit_log_list", 7, params);
}
