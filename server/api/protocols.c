/*
 * protocols.c — study protocols (issue 17; docs/api-protocols.md): saving a
 * protocol as its next version, mapping free-text timepoints to its codes,
 * the completeness report as JSON or CSV, and the SPREC filters of the
 * specimen list. Each write is one call of a SQL function of
 * migrations/functions/protocols.sql; the routes that only read, and the
 * visits, are bound to SQL in router.c.
 */
#include "http/csv.h"
#include "api/api.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt protocols_statements[] = {
	{ "db_protocol_put", "SELECT bb_protocol_put($1, $2::jsonb, $3, $4::int, $5::bigint[], $6,"
	                     " $7::bigint)::text" },
	{ "db_timepoints_map", "SELECT bb_timepoints_map($1, $2::jsonb, $3, $4::boolean,"
	                       " $5::bigint[], $6, $7::bigint)::text" },
	{ "db_completeness", "SELECT bb_completeness($1, $2, $3, $4, $5, $6::bigint[])::text" },
	{ "db_completeness_rows",
	  "SELECT participant, timepoint, label, planned_date::text AS planned_date, window_days,"
	  " visit_status, actual_date::text AS actual_date, state, type, expected, held"
	  " FROM bb_completeness_rows($1, $2, $3, $4, $5, $6::bigint[])" },
	{ NULL, NULL },
};

/* The array or object at name of the request's body, as JSON text for SQL (arena-owned). */
static const char *
body_json(struct srv_req *r, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->in_tree, name);
	char *text;
	const char *out;

	if (item == NULL)
		return NULL;
	text = cJSON_PrintUnformatted(item);
	if (text == NULL) {
		fprintf(stderr, "fatal: out of memory printing a request body\n");
		abort();
	}
	out = bb_arena_strdup(&r->arena, text);
	cJSON_free(text);
	return out;
}

/* PUT /api/v1/studies/{code}/protocol ------------------------------------------- */

enum { PQ_VALUE, PQ_UNIT, PQ__MAX };
static const struct bb_js_field pq_fields[PQ__MAX] = {
	[PQ_VALUE] = { "value", BB_JS_NUMBER, BB_JS_REQUIRED, 0, 1000000000 },
	[PQ_UNIT] = { "unit", BB_JS_STRING, BB_JS_REQUIRED, 1, 16 },
};
static const struct bb_js_spec pq_spec = BB_JS_SPEC(pq_fields);

/* One expected specimen of a timepoint. */
enum { PS_TYPE, PS_ALIQUOTS, PS_QUANTITY, PS_SPREC, PS__MAX };
static const struct bb_js_field ps_fields[PS__MAX] = {
	[PS_TYPE] = { "type", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[PS_ALIQUOTS] = { "aliquots", BB_JS_INT, BB_JS_NULLABLE, 1, 500 },
	[PS_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &pq_spec },
	[PS_SPREC] = { "sprec", BB_JS_STRING, BB_JS_NULLABLE, 1, 40 },
};
static const struct bb_js_spec ps_spec = BB_JS_SPEC(ps_fields);

enum { TP_CODE, TP_LABEL, TP_ORDER, TP_DAY_OFFSET, TP_WINDOW_DAYS, TP_SPECIMENS, TP__MAX };
static const struct bb_js_field tp_fields[TP__MAX] = {
	[TP_CODE] = { "code", BB_JS_STRING, BB_JS_REQUIRED, 1, 40 },
	[TP_LABEL] = { "label", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[TP_ORDER] = { "order", BB_JS_INT, BB_JS_NULLABLE, 0, 10000 },
	[TP_DAY_OFFSET] = { "day_offset", BB_JS_INT, BB_JS_REQUIRED, -3650, 36500 },
	[TP_WINDOW_DAYS] = { "window_days", BB_JS_INT, BB_JS_NULLABLE, 0, 3650 },
	[TP_SPECIMENS] = { "specimens", BB_JS_ARRAY, BB_JS_NULLABLE, 0, 50, NULL, &ps_spec,
	                   BB_JS_OBJECT },
};
static const struct bb_js_spec tp_spec = BB_JS_SPEC(tp_fields);

enum { PR_TIMEPOINTS, PR_REASON, PR_EXPECTED_VERSION, PR__MAX };
static const struct bb_js_field pr_fields[PR__MAX] = {
	[PR_TIMEPOINTS] = { "timepoints", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 100, NULL, &tp_spec,
	                    BB_JS_OBJECT },
	[PR_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
	[PR_EXPECTED_VERSION] = { "expected_version", BB_JS_INT, BB_JS_NULLABLE, 0, 1000000 },
};
const struct bb_js_spec h_protocol_put_spec = BB_JS_SPEC(pr_fields);

void
h_protocol_put(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;
	const char *params[] = {
		r->params[0],
		body_json(r, "timepoints"),
		in[PR_REASON].s,
		in[PR_EXPECTED_VERSION].present
		    ? bb_arena_printf(&r->arena, "%lld", (long long)in[PR_EXPECTED_VERSION].i)
		    : NULL,
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};

	reply_from_function(r, 200, "db_protocol_put", 7, params);
}

/* POST /api/v1/studies/{code}/timepoint-mappings -------------------------------- */

/* "from" is matched as stored: kept as sent, blanks and all ("month 12 "). */
enum { MAP_FROM, MAP_TO, MAP__MAX };
static const struct bb_js_field map_fields[MAP__MAX] = {
	[MAP_FROM] = { "from", BB_JS_STRING, BB_JS_REQUIRED | BB_JS_VERBATIM, 1, 40 },
	[MAP_TO] = { "to", BB_JS_STRING, BB_JS_REQUIRED, 1, 40 },
};
static const struct bb_js_spec map_spec = BB_JS_SPEC(map_fields);

enum { TM_MAPPINGS, TM_REASON, TM_DRY_RUN, TM__MAX };
static const struct bb_js_field tm_fields[TM__MAX] = {
	[TM_MAPPINGS] = { "mappings", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 200, NULL, &map_spec,
	                  BB_JS_OBJECT },
	[TM_REASON] = { "reason", BB_JS_STRING, BB_JS_REQUIRED, 1, 1000 },
	[TM_DRY_RUN] = { "dry_run", BB_JS_BOOL, BB_JS_NULLABLE },
};
const struct bb_js_spec h_timepoints_map_spec = BB_JS_SPEC(tm_fields);

void
h_timepoints_map(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;
	const char *params[] = {
		r->params[0],    body_json(r, "mappings"),
		in[TM_REASON].s, in[TM_DRY_RUN].present && in[TM_DRY_RUN].b ? "true" : "false",
		req_studies(r),  req_actor(r),
		req_actor_id(r),
	};

	reply_from_function(r, 200, "db_timepoints_map", 7, params);
}

/* Visits: bound to SQL in router.c; their bodies here. ----------------------------- */

static const char *const visit_choices[] = { "missed", "not-collected", "planned", NULL };
enum { VS_STATUS, VS_REASON, VS__MAX };
static const struct bb_js_field vs_fields[VS__MAX] = {
	[VS_STATUS] = { "status", BB_JS_STRING, BB_JS_REQUIRED, 1, 16, visit_choices },
	[VS_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_visit_set_spec = BB_JS_SPEC(vs_fields);

enum { EN_DATE, EN_REASON, EN__MAX };
static const struct bb_js_field en_fields[EN__MAX] = {
	[EN_DATE] = { "date", BB_JS_DATE, BB_JS_REQUIRED },
	[EN_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_enrolment_spec = BB_JS_SPEC(en_fields);

/* GET /api/v1/studies/{code}/completeness ---------------------------------------- */

static void
completeness_csv(struct srv_req *r, const char *const *params)
{
	reply_csv_rows(r, "db_completeness_rows", 6, params,
	               bb_arena_printf(&r->arena, "completeness-%s.csv", r->params[0]));
}

static const char *
query_or_null(struct srv_req *r, const char *name)
{
	const char *v = req_query(r, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

void
h_completeness(struct srv_req *r)
{
	const char *format = query_or_null(r, "format");
	const char *params[] = {
		r->params[0],
		query_or_null(r, "site"),
		query_or_null(r, "timepoint"),
		query_or_null(r, "type"),
		query_or_null(r, "state"),
		req_studies(r),
	};

	if (format != NULL && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
		reply_invalid_field(r, "format", "must be json or csv");
		return;
	}
	if (format != NULL ? strcmp(format, "csv") == 0 : csv_wanted(r)) {
		completeness_csv(r, params);
		return;
	}
	reply_from_report(r, 200, "db_completeness", 6, params);
}

/* The specimen list's sprec_* filters ---------------------------------------------- */

/* Query parameter, element position: a comma-separated list of codes of that element. */
static const struct {
	const char *name;
	int element;
} sprec_params[] = {
	{ "sprec_sample_type", 1 },
	{ "sprec_container", 2 },
	{ "sprec_pre_centrifugation", 3 },
	{ "sprec_centrifugation", 4 },
	{ "sprec_second_centrifugation", 5 },
	{ "sprec_post_centrifugation", 6 },
	{ "sprec_storage", 7 },
};

/* A code list such as "A,b, C" as a JSON array of upper-case codes; false when an item is
 * not 1 to 3 letters or digits (or there are more than 50). */
static bool
code_list(const char *v, cJSON *out)
{
	int n = 0;

	while (*v != '\0') {
		size_t len = strcspn(v, ",");
		const char *s = v, *e = v + len;
		char code[4];
		size_t k = 0;

		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		if (e == s || e - s > 3 || ++n > 50)
			return false;
		for (; s < e; s++) {
			if (!isalnum((unsigned char)*s))
				return false;
			code[k++] = (char)toupper((unsigned char)*s);
		}
		code[k] = '\0';
		cJSON_AddItemToArray(out, cJSON_CreateString(code));
		v += len + (v[len] == ',');
	}
	return n > 0;
}

/* A number of hours (a decimal, 0 to 10000). */
static bool
hours_value(const char *v, double *out)
{
	char *end;

	if (*v == '\0' || strspn(v, "0123456789.") != strlen(v))
		return false;
	*out = strtod(v, &end);
	return *end == '\0' && *out >= 0 && *out <= 10000;
}

bool
sprec_filter(struct srv_req *r, const char **out)
{
	static const char *const hours_params[] = { "sprec_pre_centrifugation_max_hours",
		                                    "sprec_post_centrifugation_max_hours" };
	static const char *const hours_keys[] = { "pre_max_hours", "post_max_hours" };
	cJSON *f = cJSON_CreateObject(), *elements = cJSON_AddObjectToObject(f, "elements");
	bool any = false;

	*out = NULL;
	for (size_t i = 0; i < sizeof(sprec_params) / sizeof(sprec_params[0]); i++) {
		const char *v = query_or_null(r, sprec_params[i].name);
		char key[4];

		if (v == NULL)
			continue;
		cJSON *list = cJSON_CreateArray();
		if (!code_list(v, list)) {
			cJSON_Delete(list);
			cJSON_Delete(f);
			reply_invalid_field(
			    r, sprec_params[i].name,
			    "must be codes of the element separated by commas, such as "
			    "A,B (docs/sprec.md)");
			return false;
		}
		snprintf(key, sizeof(key), "%d", sprec_params[i].element);
		cJSON_AddItemToObject(elements, key, list);
		any = true;
	}
	for (size_t i = 0; i < 2; i++) {
		const char *v = query_or_null(r, hours_params[i]);
		double h;

		if (v == NULL)
			continue;
		if (!hours_value(v, &h)) {
			cJSON_Delete(f);
			reply_invalid_field(r, hours_params[i],
			                    "must be a number of hours, such as 2");
			return false;
		}
		cJSON_AddNumberToObject(f, hours_keys[i], h);
		any = true;
	}
	if (any) {
		char *text = cJSON_PrintUnformatted(f);
		if (text == NULL) {
			fprintf(stderr, "fatal: out of memory printing a filter\n");
			abort();
		}
		*out = bb_arena_strdup(&r->arena, text);
		cJSON_free(text);
	}
	cJSON_Delete(f);
	return true;
}
