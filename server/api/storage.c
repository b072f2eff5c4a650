/*
 * storage.c — the storage tree (sites, rooms, freezers, shelves, racks),
 * boxes and their positions, free positions, and scanning. Each handler
 * validates what the URL carries and makes one call of a SQL function of
 * migrations/functions/storage.sql, which answers with the API's JSON.
 */
#include "api/api.h"

#include "ids.h"

#include <stdio.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt storage_statements[] = {
	{ "db_location_create",
	  "SELECT bb_location_create($1, $2, $3::bigint, $4::numeric, $5, $6, $7::bigint)::text" },
	{ "db_location_list", "SELECT bb_location_list($1::bigint, $2::int)::text" },
	{ "db_box_create",
	  "SELECT bb_box_create($1, $2::int, $3::int, $4::bigint, $5, $6::bigint)::text" },
	{ "db_box_free", "SELECT bb_box_free($1, $2::int)::text" },
	{ "db_box_list", "SELECT bb_box_list($1::bigint, $2::bigint, $3::int)::text" },
	{ "db_scan", "SELECT bb_scan($1, $2, $3::bigint[])::text" },
	{ "db_box_rename", "SELECT bb_box_rename($1, $2, $3, $4::bigint[], $5, $6::bigint)::text" },
	{ "db_boxes_move", "SELECT bb_boxes_move($1::text[], $2::bigint[], $3, $4::boolean,"
	                   " $5::bigint[], $6, $7::bigint)::text" },
	/* container rules and capacity: the handlers of storage_plan.c */
	{ "db_location_rules_set", "SELECT bb_location_rules_set($1::bigint, $2, $3::text[],"
	                           " $4::text[], $5::int, $6, $7::bigint)::text" },
	{ "db_box_rules_set",
	  "SELECT bb_box_rules_set($1, $2::text[], $3::text[], $4, $5::bigint)::text" },
	{ "db_specimen_type_storage_set",
	  "SELECT bb_specimen_type_storage_set($1, $2::text[], $3, $4::bigint)::text" },
	{ "db_capacity_search", "SELECT bb_capacity_search($1, $2::int, $3, $4)::text" },
	{ "db_audit_coverage_gauge",
	  "SELECT location, freezer, state, boxes FROM bb_audit_coverage_gauge($1::int)" },
	{ "db_allocation_propose",
	  "SELECT bb_allocation_propose($1::text[], $2, $3, $4::bigint, $5::bigint[])::text" },
	{ "db_allocation_accept", "SELECT bb_allocation_accept($1::text[], $2::text[], $3::text[],"
	                          " $4::bigint[], $5, $6::bigint)::text" },
	{ NULL, NULL },
};

enum { ID_MAX = 9007199254740991LL }; /* 2^53 - 1: ids stay exact in JSON numbers */
/*
 * Boxes one request may move: 100 full 9x9 boxes write 8,100 events in
 * about 10 s on 2 busy cores, well inside the statement timeout; a bigger
 * freezer goes in a few requests.
 */
enum { BOX_MOVES_MAX = 100 };

static const char *const kind_choices[] = { "site", "room", "freezer", "shelf", "rack", NULL };

enum { LOC_KIND, LOC_NAME, LOC_PARENT, LOC_TEMPERATURE, LOC_BARCODE, LOC__MAX };

static const struct bb_js_field location_fields[LOC__MAX] = {
	[LOC_KIND] = { "kind", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, kind_choices },
	[LOC_NAME] = { "name", BB_JS_STRING, BB_JS_REQUIRED, 1, 100 },
	[LOC_PARENT] = { "parent", BB_JS_INT, BB_JS_NULLABLE, 1, ID_MAX },
	[LOC_TEMPERATURE] = { "temperature_c", BB_JS_NUMBER, BB_JS_NULLABLE, -273, 60 },
	[LOC_BARCODE] = { "barcode", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
};
const struct bb_js_spec h_locations_create_spec = BB_JS_SPEC(location_fields);

enum { BOX_BARCODE, BOX_ROWS, BOX_COLS, BOX_PARENT, BOX__MAX };

static const struct bb_js_field box_fields[BOX__MAX] = {
	[BOX_BARCODE] = { "barcode", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[BOX_ROWS] = { "rows", BB_JS_INT, BB_JS_REQUIRED, 1, 26 },
	[BOX_COLS] = { "cols", BB_JS_INT, BB_JS_REQUIRED, 1, 48 },
	[BOX_PARENT] = { "parent", BB_JS_INT, BB_JS_REQUIRED, 1, ID_MAX },
};
const struct bb_js_spec h_boxes_create_spec = BB_JS_SPEC(box_fields);

/*
 * Box and location barcodes are read back from URLs and scanners: letters,
 * digits, '.', '-' and '_', starting with a letter or digit. A value shaped
 * like a specimen ID is refused, because a scan reads such a value as an ID
 * first (and answers 400 when its check character does not match).
 * Returns NULL when s is acceptable, else why not.
 */
static const char *
barcode_problem(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return "must start with a letter or digit";
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return "may hold only letters, digits, '.', '-' and '_'";
	if (bb_id_shaped(s))
		return "has the shape of a specimen ID (8 characters of 0-9 and A-Z but U, "
		       "hyphens aside), so scanning it would be ambiguous: use another length or "
		       "a prefix such as BOX-";
	return NULL;
}

static const char *
int_param(struct srv_req *r, int64_t v)
{
	return bb_arena_printf(&r->arena, "%lld", (long long)v);
}

/*
 * A positive integer from the URL (path segment or query parameter) as text
 * for SQL; NULL and a 400 naming field when it is not one.
 */
static const char *
positive_int(struct srv_req *r, const char *field, const char *s, int64_t max)
{
	int64_t v;

	if (!bb_parse_int64(s, 1, max, &v)) {
		reply_invalid_field(r, field, "must be an integer between 1 and %lld, not \"%s\"",
		                    (long long)max, s);
		return NULL;
	}
	return int_param(r, v);
}

void
h_locations_create(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;
	const char *why;

	if (in[LOC_BARCODE].present && (why = barcode_problem(in[LOC_BARCODE].s)) != NULL) {
		reply_invalid_field(r, "barcode", "%s", why);
		return;
	}
	const char *params[] = {
		in[LOC_KIND].s,
		in[LOC_NAME].s,
		in[LOC_PARENT].present ? int_param(r, in[LOC_PARENT].i) : NULL,
		in[LOC_TEMPERATURE].present
		    ? bb_arena_printf(&r->arena, "%.15g", in[LOC_TEMPERATURE].d)
		    : NULL,
		in[LOC_BARCODE].present ? in[LOC_BARCODE].s : NULL,
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 201, "db_location_create", 7, params);
}

void
h_locations_list(struct srv_req *r)
{
	struct page pg;

	if (!req_page(r, PAGE_LOCATIONS, &pg))
		return;
	const char *params[] = { pg.after, pg.limit };
	reply_page(r, PAGE_LOCATIONS, "db_location_list", 2, params);
}

void
h_boxes_create(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;
	const char *why = barcode_problem(in[BOX_BARCODE].s);

	if (why != NULL) {
		reply_invalid_field(r, "barcode", "%s", why);
		return;
	}
	const char *params[] = {
		in[BOX_BARCODE].s,
		int_param(r, in[BOX_ROWS].i),
		int_param(r, in[BOX_COLS].i),
		int_param(r, in[BOX_PARENT].i),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 201, "db_box_create", 6, params);
}

void
h_boxes_free(struct srv_req *r)
{
	const char *c = req_query(r, "count"), *count = "1";

	/* The upper bound is the box's own size, checked with the box. */
	if (c != NULL && (count = positive_int(r, "count", c, 26 * 48)) == NULL)
		return;
	const char *params[] = { r->params[0], count };
	reply_from_function(r, 200, "db_box_free", 2, params);
}

void
h_boxes_list(struct srv_req *r)
{
	const char *l = req_query(r, "location"), *loc = NULL;
	struct page pg;

	if (!req_page(r, PAGE_BOXES, &pg))
		return;
	if (l != NULL && (loc = positive_int(r, "location", l, ID_MAX)) == NULL)
		return;
	const char *params[] = { loc, pg.after, pg.limit };
	reply_page(r, PAGE_BOXES, "db_box_list", 3, params);
}

void
h_scan(struct srv_req *r)
{
	const char *value = r->params[0];
	/* A mistyped or misread ID is told at once, without asking the database. */
	const char *ref = req_specimen_ref(r, value, NULL);

	if (ref == NULL)
		return;
	/* The value may name a box or location too; the ID, when it reads as one. */
	const char *params[] = { value, bb_id_shaped(value) ? ref : NULL, req_studies(r) };
	reply_from_function(r, 200, "db_scan", 3, params);
}

/* POST /api/v1/boxes/{barcode}/move {"to", "reason"?}: bound to bb_box_move (router.c). */
enum { MV_TO, MV_REASON, MV__MAX };
static const struct bb_js_field move_fields[MV__MAX] = {
	[MV_TO] = { "to", BB_JS_INT, BB_JS_REQUIRED, 1, ID_MAX },
	[MV_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_boxes_move_spec = BB_JS_SPEC(move_fields);

/* POST /api/v1/boxes/{barcode}/rename {"barcode", "reason"?} */
enum { RN_BARCODE, RN_REASON, RN__MAX };
static const struct bb_js_field rename_fields[RN__MAX] = {
	[RN_BARCODE] = { "barcode", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[RN_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_boxes_rename_spec = BB_JS_SPEC(rename_fields);

void
h_boxes_rename(struct srv_req *r)
{
	const char *why = barcode_problem(r->in[RN_BARCODE].s);

	if (why != NULL) {
		reply_invalid_field(r, "barcode", "%s", why);
		return;
	}
	const char *params[] = {
		r->params[0],   r->in[RN_BARCODE].s, r->in[RN_REASON].s,
		req_studies(r), req_actor(r),        req_actor_id(r),
	};
	reply_from_function(r, 200, "db_box_rename", 6, params);
}

/*
 * POST /api/v1/box-moves {"moves": [{"box", "to"}], "reason"?}: a freezer
 * emptied into others in one request, all or nothing, every refused move
 * listed at once so that one correction round is enough.
 */
enum { BM_MOVES, BM_REASON, BM__MAX };
enum { BMI_BOX, BMI_TO, BMI__MAX };
static const struct bb_js_field bmi_fields[BMI__MAX] = {
	[BMI_BOX] = { "box", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[BMI_TO] = { "to", BB_JS_INT, BB_JS_REQUIRED, 1, ID_MAX },
};
static const struct bb_js_spec bmi_spec = BB_JS_SPEC(bmi_fields);
static const struct bb_js_field bm_fields[BM__MAX] = {
	[BM_MOVES] = { "moves", BB_JS_ARRAY, BB_JS_REQUIRED, 1, BOX_MOVES_MAX, NULL, &bmi_spec,
	               BB_JS_OBJECT },
	[BM_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_box_moves_spec = BB_JS_SPEC(bm_fields);

void
h_box_moves(struct srv_req *r)
{
	const struct bb_js_value *list = &r->in[BM_MOVES];
	size_t n = list->n;
	const char **boxes = bb_arena_alloc(&r->arena, n * sizeof(*boxes));
	const char **dests = bb_arena_alloc(&r->arena, n * sizeof(*dests));

	for (size_t i = 0; i < n; i++) {
		const struct bb_js_value *item = list->items[i].obj;

		boxes[i] = item[BMI_BOX].s;
		dests[i] = int_param(r, item[BMI_TO].i);
	}
	const char *params[] = {
		db_array_literal(&r->arena, boxes, n),
		db_array_literal(&r->arena, dests, n),
		r->in[BM_REASON].s,
		"false",
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_boxes_move", 7, params);
}
