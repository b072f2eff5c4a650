/*
 * reports.c — reports: inventory counts, storage occupancy, and the
 * consent-withdrawal worklist with its bulk destruction. Each handler makes
 * one call of a SQL function of migrations/functions/reports.sql.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt reports_statements[] = {
	{ "db_report_occupancy", "SELECT bb_report_occupancy($1::bigint)::text" },
	{ "db_consent_withdrawn_destroy", "SELECT bb_consent_withdrawn_destroy($1::text[], $2, "
	                                  "$3::bigint[], $4, $5::bigint)::text" },
	{ NULL, NULL },
};

enum { ID_MAX = 9007199254740991LL }; /* 2^53 - 1: ids stay exact in JSON numbers */

void
h_reports_occupancy(struct srv_req *r)
{
	const char *l = req_query(r, "location"), *loc = NULL;
	int64_t v;

	if (l != NULL && *l != '\0') {
		if (!bb_parse_int64(l, 1, ID_MAX, &v)) {
			reply_invalid_field(r, "location",
			                    "must be a location id (a positive whole number)");
			return;
		}
		loc = bb_arena_printf(&r->arena, "%lld", (long long)v);
	}
	const char *params[] = { loc };
	reply_from_report(r, 200, "db_report_occupancy", 1, params);
}

enum { DS_SPECIMENS, DS_REASON, DS__MAX };
static const struct bb_js_field destroy_fields[DS__MAX] = {
	[DS_SPECIMENS] = { "specimens", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 1000, NULL, NULL,
	                   BB_JS_STRING },
	[DS_REASON] = { "reason", BB_JS_STRING, BB_JS_REQUIRED, 1, 1000 },
};
const struct bb_js_spec h_reports_destroy_spec = BB_JS_SPEC(destroy_fields);

void
h_reports_destroy(struct srv_req *r)
{
	const char *refs = specimen_refs_param(r, &r->in[DS_SPECIMENS], "specimens");

	if (refs == NULL)
		return;
	const char *params[] = { refs, r->in[DS_REASON].s, req_studies(r), req_actor(r),
		                 req_actor_id(r) };
	reply_from_function(r, 200, "db_consent_withdrawn_destroy", 5, params);
}
