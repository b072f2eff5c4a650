/*
 * requests.c — the catalogue, specimen requests and the MIABIS report
 * (docs/api-requests.md): the routes whose input a route binding cannot
 * pass as it is (lists inside the body, the small-cell threshold, the pick
 * list as CSV or PDF). Each makes one call of a SQL function of
 * migrations/functions/requests.sql, which does the whole action; the
 * other request routes are bound in router.c.
 */
#include "api/api.h"
#include "api/picklist_pdf.h"
#include "db/db.h"
#include "http/csv.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

const struct db_stmt requests_statements[] = {
	{ "db_catalogue", "SELECT bb_catalogue($1, $2, $3, $4, $5::integer, $6::bigint[])::text" },
	{ "db_report_miabis", "SELECT bb_report_miabis($1, $2::integer, $3::bigint[])::text" },
	{ "db_request_create", "SELECT bb_request_create($1, $2, $3, $4, $5, $6, $7::text[], "
	                       "$8::text[], $9::numeric, $10,"
	                       " $11::integer, $12::text[], $13::integer, $14::boolean, "
	                       "$15::bigint[], $16, $17::bigint, $18::jsonb)::text" },
	{ "db_request_add",
	  "SELECT bb_request_add($1::bigint, $2::text[], $3::bigint[], $4, $5::bigint)::text" },
	{ "db_request_drop",
	  "SELECT bb_request_drop($1::bigint, $2, $3::bigint[], $4, $5::bigint)::text" },
	{ "db_request_ship", "SELECT bb_request_ship($1::bigint, $2, $3, $4::text[], $5::bigint[], "
	                     "$6, $7::bigint)::text" },
	{ "db_request_returns",
	  "SELECT bb_request_returns($1::bigint, $2::text[], $3::numeric[], $4::numeric[],"
	  " $5::bigint[], $6, $7::bigint)::text" },
	{ "db_request_pick",
	  "SELECT bb_request_pick($1::bigint, $2, $3, $4, $5::bigint[], $6, $7::bigint)::text" },
	{ "db_request_pick_list",
	  "SELECT bb_request_pick_list($1::bigint, $2::bigint[], $3::bigint)::text" },
	{ "db_request_pick_rows",
	  "SELECT line, freezer, temperature_c, location, box, position, specimen, tube_barcode,"
	  " type, timepoint, quantity, unit, picked"
	  " FROM bb_request_pick_rows($1::bigint, $2::bigint[], $3::bigint)" },
	{ "db_request_title",
	  "SELECT bb_request_get($1::bigint, $2::bigint[], $3::bigint) ->> 'title'" },
	{ NULL, NULL },
};

/* Counts below it are shown as "<N" (config small_cell_min; set once at start-up). */
static unsigned small_cell_min = 5;

void
requests_set_small_cell_min(unsigned n)
{
	small_cell_min = n;
}

static const char *
min_cell(struct srv_req *r)
{
	return bb_arena_printf(&r->arena, "%u", small_cell_min);
}

/* A query parameter, NULL when absent or empty. */
static const char *
filter(struct srv_req *r, const char *name)
{
	const char *s = req_query(r, name);

	return s != NULL && *s != '\0' ? s : NULL;
}

void
h_catalogue(struct srv_req *r)
{
	const char *params[] = { filter(r, "study"), filter(r, "timepoint"),
		                 filter(r, "type"),  filter(r, "purpose"),
		                 min_cell(r),        req_studies(r) };

	reply_from_report(r, 200, "db_catalogue", 6, params);
}

void
h_reports_miabis(struct srv_req *r)
{
	const char *params[] = { filter(r, "study"), min_cell(r), req_studies(r) };

	reply_from_report(r, 200, "db_report_miabis", 3, params);
}

/* Filing a request ------------------------------------------------------------ */

static const char *const purpose_choices[] = { "genetic", "non-genetic", "commercial", NULL };

enum { QT_VALUE, QT_UNIT, QT__MAX };
static const struct bb_js_field quantity_fields[QT__MAX] = {
	[QT_VALUE] = { "value", BB_JS_NUMBER, BB_JS_REQUIRED, 0, 1000000 },
	[QT_UNIT] = { "unit", BB_JS_STRING, BB_JS_REQUIRED, 1, 16 },
};
static const struct bb_js_spec quantity_spec = BB_JS_SPEC(quantity_fields);

enum { EX_DIAGNOSES, EX_MAX_THAW, EX__MAX };
static const struct bb_js_field exclusion_fields[EX__MAX] = {
	[EX_DIAGNOSES] = { "diagnoses", BB_JS_ARRAY, 0, 0, 50, NULL, NULL, BB_JS_STRING },
	[EX_MAX_THAW] = { "max_freeze_thaw", BB_JS_INT, BB_JS_NULLABLE, 0, 1000 },
};
static const struct bb_js_spec exclusion_spec = BB_JS_SPEC(exclusion_fields);

/* criteria.sprec: codes per element (as the specimen list's sprec_* filters) and delays. */
enum {
	SP_SAMPLE_TYPE,
	SP_CONTAINER,
	SP_PRE,
	SP_CENTRIFUGATION,
	SP_SECOND,
	SP_POST,
	SP_STORAGE,
	SP_PRE_HOURS,
	SP_POST_HOURS,
	SP__MAX
};
static const struct bb_js_field sprec_fields[SP__MAX] = {
	[SP_SAMPLE_TYPE] = { "sample_type", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_CONTAINER] = { "container", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_PRE] = { "pre_centrifugation", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_CENTRIFUGATION] = { "centrifugation", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_SECOND] = { "second_centrifugation", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_POST] = { "post_centrifugation", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_STORAGE] = { "storage", BB_JS_ARRAY, 0, 1, 50, NULL, NULL, BB_JS_STRING },
	[SP_PRE_HOURS] = { "pre_centrifugation_max_hours", BB_JS_NUMBER, 0, 0, 10000 },
	[SP_POST_HOURS] = { "post_centrifugation_max_hours", BB_JS_NUMBER, 0, 0, 10000 },
};
static const struct bb_js_spec sprec_spec = BB_JS_SPEC(sprec_fields);

enum {
	CR_STUDY,
	CR_TIMEPOINTS,
	CR_TYPES,
	CR_QUANTITY,
	CR_PARTICIPANTS,
	CR_EXCLUSIONS,
	CR_ALLOW_LAST,
	CR_SPREC,
	CR__MAX
};
static const struct bb_js_field criteria_fields[CR__MAX] = {
	[CR_STUDY] = { "study", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[CR_TIMEPOINTS] = { "timepoints", BB_JS_ARRAY, 0, 0, 50, NULL, NULL, BB_JS_STRING },
	[CR_TYPES] = { "types", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 20, NULL, NULL, BB_JS_STRING },
	[CR_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_REQUIRED, 0, 0, NULL, &quantity_spec },
	[CR_PARTICIPANTS] = { "participants", BB_JS_INT, BB_JS_REQUIRED, 1, 100000 },
	[CR_EXCLUSIONS] = { "exclusions", BB_JS_OBJECT, 0, 0, 0, NULL, &exclusion_spec },
	[CR_ALLOW_LAST] = { "allow_last_aliquot", BB_JS_BOOL, 0 },
	[CR_SPREC] = { "sprec", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &sprec_spec },
};
static const struct bb_js_spec criteria_spec = BB_JS_SPEC(criteria_fields);

enum { RQ_TITLE, RQ_PROJECT, RQ_ETHICS, RQ_MTA, RQ_PURPOSE, RQ_CRITERIA, RQ__MAX };
static const struct bb_js_field create_fields[RQ__MAX] = {
	[RQ_TITLE] = { "title", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[RQ_PROJECT] = { "project", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[RQ_ETHICS] = { "ethics_ref", BB_JS_STRING, BB_JS_REQUIRED, 1, 100 },
	[RQ_MTA] = { "mta_ref", BB_JS_STRING, BB_JS_REQUIRED, 1, 100 },
	[RQ_PURPOSE] = { "purpose", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, purpose_choices },
	[RQ_CRITERIA] = { "criteria", BB_JS_OBJECT, BB_JS_REQUIRED, 0, 0, NULL, &criteria_spec },
};
const struct bb_js_spec h_requests_create_spec = BB_JS_SPEC(create_fields);

/* A body array of strings as a text[] literal; "{}" when absent. */
static const char *
text_array(struct srv_req *r, const struct bb_js_value *v)
{
	if (!v->present)
		return "{}";
	const char **items = bb_arena_alloc(&r->arena, (v->n ? v->n : 1) * sizeof(*items));

	for (size_t i = 0; i < v->n; i++)
		items[i] = v->items[i].s;
	return db_array_literal(&r->arena, items, v->n);
}

/*
 * criteria.sprec as the filter bb_sprec_matches reads into *out: {"elements":
 * {"3": ["A"]}, "pre_max_hours": 2, "post_max_hours": 1}, codes upper-cased
 * (SQL checks them against the code tables); NULL when absent or null.
 * *named: how many elements and delays it names. False when out of memory.
 */
static bool
sprec_criteria(struct srv_req *r, const struct bb_js_value *v, const char **out, int *named)
{
	*out = NULL;
	*named = 0;
	if (!v->present || v->obj == NULL)
		return true;
	const struct bb_js_value *sp = v->obj;
	cJSON *f = cJSON_CreateObject();
	cJSON *elements = cJSON_AddObjectToObject(f, "elements");
	bool ok = f != NULL && elements != NULL;

	for (int e = SP_SAMPLE_TYPE; ok && e <= SP_STORAGE; e++) {
		if (!sp[e].present)
			continue;
		cJSON *list = cJSON_CreateArray();
		char key[4];

		snprintf(key, sizeof(key), "%d", e - SP_SAMPLE_TYPE + 1);
		ok = list != NULL && cJSON_AddItemToObject(elements, key, list);
		for (size_t i = 0; ok && i < sp[e].n; i++) {
			char code[64];
			size_t k = 0;

			for (const char *c = sp[e].items[i].s; *c != '\0' && k < sizeof(code) - 1;
			     c++)
				code[k++] = (char)toupper((unsigned char)*c);
			code[k] = '\0';
			ok = cJSON_AddItemToArray(list, cJSON_CreateString(code));
		}
		if (list != NULL && !ok && cJSON_GetObjectItem(elements, key) != list)
			cJSON_Delete(list);
		(*named)++;
	}
	if (ok && sp[SP_PRE_HOURS].present) {
		ok = cJSON_AddNumberToObject(f, "pre_max_hours", sp[SP_PRE_HOURS].d) != NULL;
		(*named)++;
	}
	if (ok && sp[SP_POST_HOURS].present) {
		ok = cJSON_AddNumberToObject(f, "post_max_hours", sp[SP_POST_HOURS].d) != NULL;
		(*named)++;
	}
	char *text = ok ? cJSON_PrintUnformatted(f) : NULL;
	if (text != NULL)
		*out = bb_arena_strdup(&r->arena, text);
	cJSON_free(text);
	cJSON_Delete(f);
	return *out != NULL;
}

void
h_requests_create(struct srv_req *r)
{
	const struct bb_js_value *cr = r->in[RQ_CRITERIA].obj;
	const struct bb_js_value *qt = cr[CR_QUANTITY].obj;
	const struct bb_js_value *ex = cr[CR_EXCLUSIONS].present ? cr[CR_EXCLUSIONS].obj : NULL;

	const char *sprec;
	int sprec_named;

	if (!sprec_criteria(r, &cr[CR_SPREC], &sprec, &sprec_named)) {
		reply_problem(r, 500, NULL, "internal error (request %s)", r->id);
		return;
	}
	if (!(qt[QT_VALUE].d > 0)) {
		reply_invalid_field(r, "criteria.quantity.value", "must be greater than 0");
		return;
	}
	if (sprec != NULL && sprec_named == 0) {
		reply_invalid_field(
		    r, "criteria.sprec",
		    "must name at least one element or delay (docs/sprec.md), or be "
		    "left out");
		return;
	}
	const char *params[] = {
		r->in[RQ_TITLE].s,
		r->in[RQ_PROJECT].s,
		r->in[RQ_ETHICS].s,
		r->in[RQ_MTA].s,
		r->in[RQ_PURPOSE].s,
		cr[CR_STUDY].s,
		text_array(r, &cr[CR_TIMEPOINTS]),
		text_array(r, &cr[CR_TYPES]),
		bb_arena_printf(&r->arena, "%.15g", qt[QT_VALUE].d),
		qt[QT_UNIT].s,
		bb_arena_printf(&r->arena, "%lld", (long long)cr[CR_PARTICIPANTS].i),
		ex != NULL ? text_array(r, &ex[EX_DIAGNOSES]) : "{}",
		ex != NULL && ex[EX_MAX_THAW].present
		    ? bb_arena_printf(&r->arena, "%lld", (long long)ex[EX_MAX_THAW].i)
		    : NULL,
		cr[CR_ALLOW_LAST].present && cr[CR_ALLOW_LAST].b ? "true" : "false",
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
		sprec,
	};
	reply_from_function(r, 201, "db_request_create", 18, params);
}

/* Decisions and their reasons ---------------------------------------------------- */

enum { RS_REASON, RS__MAX };
static const struct bb_js_field reason_fields[RS__MAX] = {
	[RS_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 0, 1000 },
};
const struct bb_js_spec h_requests_reason_spec = BB_JS_SPEC(reason_fields);
static const struct bb_js_field reject_fields[RS__MAX] = {
	[RS_REASON] = { "reason", BB_JS_STRING, BB_JS_REQUIRED, 1, 1000 },
};
const struct bb_js_spec h_requests_reject_spec = BB_JS_SPEC(reject_fields);

enum { KL_KEEP, KL__MAX };
static const struct bb_js_field keep_fields[KL__MAX] = {
	[KL_KEEP] = { "keep", BB_JS_BOOL, BB_JS_REQUIRED },
};
const struct bb_js_spec h_studies_last_aliquot_spec = BB_JS_SPEC(keep_fields);

/* Tubes of a request ------------------------------------------------------------- */

static const char *
request_id(struct srv_req *r)
{
	return req_id_param(r, 0, "request");
}

enum { AD_SPECIMENS, AD__MAX };
static const struct bb_js_field add_fields[AD__MAX] = {
	[AD_SPECIMENS] = { "specimens", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 1000, NULL, NULL,
	                   BB_JS_STRING },
};
const struct bb_js_spec h_requests_add_spec = BB_JS_SPEC(add_fields);

void
h_requests_add(struct srv_req *r)
{
	const char *id = request_id(r), *refs;

	if (id == NULL ||
	    (refs = specimen_refs_param(r, &r->in[AD_SPECIMENS], "specimens")) == NULL)
		return;
	const char *params[] = { id, refs, req_studies(r), req_actor(r), req_actor_id(r) };
	reply_from_function(r, 200, "db_request_add", 5, params);
}

void
h_requests_drop(struct srv_req *r)
{
	const char *id = request_id(r), *ref;

	if (id == NULL || (ref = req_specimen_ref(r, r->params[1], NULL)) == NULL)
		return;
	const char *params[] = { id, ref, req_studies(r), req_actor(r), req_actor_id(r) };
	reply_from_function(r, 200, "db_request_drop", 5, params);
}

static const char *const conditions_choices[] = { "dry_ice", "ln2_dry_shipper", "cold_pack",
	                                          "ambient", NULL };

enum { SH_DESTINATION, SH_CONDITIONS, SH_SPECIMENS, SH__MAX };
static const struct bb_js_field ship_fields[SH__MAX] = {
	[SH_DESTINATION] = { "destination", BB_JS_STRING, BB_JS_REQUIRED, 1, 200 },
	[SH_CONDITIONS] = { "conditions", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, conditions_choices },
	[SH_SPECIMENS] = { "specimens", BB_JS_ARRAY, 0, 1, 1000, NULL, NULL, BB_JS_STRING },
};
const struct bb_js_spec h_requests_ship_spec = BB_JS_SPEC(ship_fields);

void
h_requests_ship(struct srv_req *r)
{
	const char *id = request_id(r), *refs = NULL;

	if (id == NULL)
		return;
	if (r->in[SH_SPECIMENS].present &&
	    (refs = specimen_refs_param(r, &r->in[SH_SPECIMENS], "specimens")) == NULL)
		return;
	const char *params[] = {
		id,           r->in[SH_DESTINATION].s, r->in[SH_CONDITIONS].s, refs, req_studies(r),
		req_actor(r), req_actor_id(r)
	};
	reply_from_function(r, 201, "db_request_ship", 7, params);
}

enum { RI_SPECIMEN, RI_CONSUMED, RI_RETURNED, RI__MAX };
static const struct bb_js_field return_item_fields[RI__MAX] = {
	[RI_SPECIMEN] = { "specimen", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[RI_CONSUMED] = { "consumed", BB_JS_NUMBER, BB_JS_NULLABLE, 0, 1000000 },
	[RI_RETURNED] = { "returned", BB_JS_NUMBER, BB_JS_NULLABLE, 0, 1000000 },
};
static const struct bb_js_spec return_item_spec = BB_JS_SPEC(return_item_fields);

enum { RT_ITEMS, RT__MAX };
static const struct bb_js_field returns_fields[RT__MAX] = {
	[RT_ITEMS] = { "items", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 1000, NULL, &return_item_spec,
	               BB_JS_OBJECT },
};
const struct bb_js_spec h_requests_returns_spec = BB_JS_SPEC(returns_fields);

void
h_requests_returns(struct srv_req *r)
{
	const char *id = request_id(r);
	const struct bb_js_value *items = &r->in[RT_ITEMS];
	size_t n = items->n;
	const char **refs = bb_arena_alloc(&r->arena, n * sizeof(*refs));
	const char **used = bb_arena_alloc(&r->arena, n * sizeof(*used));
	const char **back = bb_arena_alloc(&r->arena, n * sizeof(*back));
	struct bb_js_errors errs = { 0 };

	if (id == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct bb_js_value *it = items->items[i].obj;
		const char *field = bb_arena_printf(&r->arena, "items[%zu].specimen", i);

		refs[i] = specimen_ref_read(r, it[RI_SPECIMEN].s, field, false, &errs);
		used[i] = it[RI_CONSUMED].present
		              ? bb_arena_printf(&r->arena, "%.15g", it[RI_CONSUMED].d)
		              : NULL;
		back[i] = it[RI_RETURNED].present
		              ? bb_arena_printf(&r->arena, "%.15g", it[RI_RETURNED].d)
		              : NULL;
		if (used[i] == NULL && back[i] == NULL)
			bb_js_error_add(&errs, &r->arena,
			                bb_arena_printf(&r->arena, "items[%zu]", i),
			                "give consumed, returned or both");
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return;
	}
	const char *params[] = { id,
		                 db_array_literal(&r->arena, refs, n),
		                 db_array_literal(&r->arena, used, n),
		                 db_array_literal(&r->arena, back, n),
		                 req_studies(r),
		                 req_actor(r),
		                 req_actor_id(r) };
	reply_from_function(r, 200, "db_request_returns", 7, params);
}

/* Picking ------------------------------------------------------------------------- */

enum { PK_SPECIMEN, PK_BOX, PK_POSITION, PK__MAX };
static const struct bb_js_field pick_fields[PK__MAX] = {
	[PK_SPECIMEN] = { "specimen", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[PK_BOX] = { "box", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[PK_POSITION] = { "position", BB_JS_STRING, BB_JS_NULLABLE, 2, 3 },
};
const struct bb_js_spec h_requests_pick_spec = BB_JS_SPEC(pick_fields);

void
h_requests_pick(struct srv_req *r)
{
	const char *id = request_id(r), *ref;

	/* A mistyped ID (check character) is the scanner's misread, not a wrong tube. */
	if (id == NULL || (ref = req_specimen_ref(r, r->in[PK_SPECIMEN].s, "specimen")) == NULL)
		return;
	const char *params[] = { id,
		                 ref,
		                 r->in[PK_BOX].present ? r->in[PK_BOX].s : NULL,
		                 r->in[PK_POSITION].present ? r->in[PK_POSITION].s : NULL,
		                 req_studies(r),
		                 req_actor(r),
		                 req_actor_id(r) };
	reply_from_function(r, 200, "db_request_pick", 7, params);
}

/* The pick list as CSV or PDF: its rows, then the file. */
static void
pick_list_file(struct srv_req *r, const char *id, bool pdf)
{
	const char *params[] = { id, req_studies(r), req_actor_id(r) };
	struct db_conn *db = req_db(r);
	PGresult *res = NULL, *title = NULL;
	struct bb_buf b = { 0 };
	enum bb_err err;

	if (db == NULL)
		return;
	if ((err = db_exec(db, "db_request_pick_rows", 3, params, &res)) != BB_OK ||
	    (pdf && (err = db_exec(db, "db_request_title", 3, params, &title)) != BB_OK)) {
		PQclear(res);
		PQclear(title);
		reply_db_error(r, err);
		return;
	}
	if (pdf) {
		const char *heading = bb_arena_printf(&r->arena, "Pick list — request %s: %s", id,
		                                      PQgetvalue(title, 0, 0));
		err = picklist_pdf(heading, res, &b);
	} else {
		csv_header(&b, res, 0);
		csv_rows(&b, res, 0);
	}
	PQclear(res);
	PQclear(title);
	if (err != BB_OK) {
		bb_buf_free(&b);
		reply_db_error(r, err);
		return;
	}
	reply_attachment(r, pdf ? "application/pdf" : CSV_MEDIA_TYPE,
	                 bb_arena_printf(&r->arena, "pick-list-%s.%s", id, pdf ? "pdf" : "csv"),
	                 &b);
}

void
h_requests_pick_list(struct srv_req *r)
{
	const char *id = request_id(r);

	if (id == NULL)
		return;
	if (accept_wanted(r, "application/pdf") || csv_wanted(r)) {
		pick_list_file(r, id, accept_wanted(r, "application/pdf"));
		return;
	}
	const char *params[] = { id, req_studies(r), req_actor_id(r) };
	reply_from_function(r, 200, "db_request_pick_list", 3, params);
}
