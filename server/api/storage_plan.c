/*
 * storage_plan.c — storage that plans itself (issue 18): the rules of a
 * location or box, the storage temperatures of a specimen type, and the
 * capacity search. The bodies carry lists, which the route bindings do not
 * pass, so these handlers turn them into array parameters and make one call
 * of a SQL function of migrations/functions/storage_plan.sql.
 */
#include "api/api.h"

#include <string.h>

/* Their statements are prepared with storage.c's (storage_statements). */

/* The classes a location's nominal temperature and a type's storage take. */
static const char *const nominal_choices[] = { "-196", "-150", "-80", "-20", "4", "room", NULL };

/* A batch of aliquots is some hundreds; one accepted allocation stays one quick transaction. */
enum { RULE_LIST_MAX = 100, SLOTS_MAX = 10000, ALLOCATION_MAX = 1000 };

enum { LR_NOMINAL, LR_TYPES, LR_STUDIES, LR_SLOTS, LR__MAX };
static const struct bb_js_field location_rules_fields[LR__MAX] = {
	[LR_NOMINAL] = { "nominal_temperature", BB_JS_STRING, BB_JS_NULLABLE, 0, 0,
	                 nominal_choices },
	[LR_TYPES] = { "types", BB_JS_ARRAY, BB_JS_NULLABLE, 1, RULE_LIST_MAX, NULL, NULL,
	               BB_JS_STRING },
	[LR_STUDIES] = { "studies", BB_JS_ARRAY, BB_JS_NULLABLE, 1, RULE_LIST_MAX, NULL, NULL,
	                 BB_JS_STRING },
	[LR_SLOTS] = { "box_slots", BB_JS_INT, BB_JS_NULLABLE, 0, SLOTS_MAX },
};
const struct bb_js_spec h_location_rules_put_spec = BB_JS_SPEC(location_rules_fields);

enum { BR_TYPES, BR_STUDIES, BR__MAX };
static const struct bb_js_field box_rules_fields[BR__MAX] = {
	[BR_TYPES] = { "types", BB_JS_ARRAY, BB_JS_NULLABLE, 1, RULE_LIST_MAX, NULL, NULL,
	               BB_JS_STRING },
	[BR_STUDIES] = { "studies", BB_JS_ARRAY, BB_JS_NULLABLE, 1, RULE_LIST_MAX, NULL, NULL,
	                 BB_JS_STRING },
};
const struct bb_js_spec h_box_rules_put_spec = BB_JS_SPEC(box_rules_fields);

enum { TS_TEMPS, TS__MAX };
static const struct bb_js_field type_storage_fields[TS__MAX] = {
	[TS_TEMPS] = { "temperatures", BB_JS_ARRAY, BB_JS_NULLABLE, 1, 6, NULL, NULL,
	               BB_JS_STRING },
};
const struct bb_js_spec h_specimen_type_storage_spec = BB_JS_SPEC(type_storage_fields);

/* A list of strings from the body as an array literal; NULL (no rule) when absent. */
static const char *
list_param(struct srv_req *r, const struct bb_js_value *v)
{
	if (!v->present)
		return NULL;
	const char **items = bb_arena_alloc(&r->arena, (v->n + 1) * sizeof(*items));

	for (size_t i = 0; i < v->n; i++)
		items[i] = v->items[i].s;
	return db_array_literal(&r->arena, items, v->n);
}

void
h_location_rules_put(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;
	const char *id = req_id_param(r, 0, "location");

	if (id == NULL)
		return;
	const char *params[] = {
		id,
		in[LR_NOMINAL].present ? in[LR_NOMINAL].s : NULL,
		list_param(r, &in[LR_TYPES]),
		list_param(r, &in[LR_STUDIES]),
		in[LR_SLOTS].present ? bb_arena_printf(&r->arena, "%lld", (long long)in[LR_SLOTS].i)
		                     : NULL,
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_location_rules_set", 7, params);
}

void
h_box_rules_put(struct srv_req *r)
{
	const char *params[] = {
		r->params[0],
		list_param(r, &r->in[BR_TYPES]),
		list_param(r, &r->in[BR_STUDIES]),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_box_rules_set", 5, params);
}

void
h_specimen_type_storage_put(struct srv_req *r)
{
	const struct bb_js_value *t = &r->in[TS_TEMPS];

	/* Checked here, item by item, so that the field named is the one at fault. */
	for (size_t i = 0; t->present && i < t->n; i++) {
		bool known = false;

		for (const char *const *c = nominal_choices; *c; c++)
			known = known || strcmp(*c, t->items[i].s) == 0;
		if (!known) {
			reply_invalid_field(r, bb_arena_printf(&r->arena, "temperatures[%zu]", i),
			                    "must be one of -196, -150, -80, -20, 4, room");
			return;
		}
	}
	const char *params[] = { r->params[0], list_param(r, t), req_actor(r), req_actor_id(r) };
	reply_from_function(r, 200, "db_specimen_type_storage_set", 4, params);
}

/* GET /api/v1/capacity?grid=RxC&boxes=N&type=&study= */
void
h_capacity_search(struct srv_req *r)
{
	const char *grid = req_query(r, "grid"), *boxes = req_query(r, "boxes");
	const char *type = req_query(r, "type"), *study = req_query(r, "study");
	int64_t n = 1;

	if (grid == NULL || *grid == '\0') {
		reply_invalid_field(r, "grid", "is required, e.g. grid=9x9");
		return;
	}
	if (boxes != NULL && !bb_parse_int64(boxes, 1, SLOTS_MAX, &n)) {
		reply_invalid_field(r, "boxes", "must be an integer between 1 and %d, not \"%s\"",
		                    SLOTS_MAX, boxes);
		return;
	}
	const char *params[] = {
		grid,
		bb_arena_printf(&r->arena, "%lld", (long long)n),
		type != NULL && *type != '\0' ? type : NULL,
		study != NULL && *study != '\0' ? study : NULL,
	};
	reply_from_function(r, 200, "db_capacity_search", 4, params);
}

/*
 * POST /api/v1/allocations {"specimens": [...] | "parent", "strategy",
 * "location"?}: a proposal, nothing written.
 */
static const char *const strategy_choices[] = { "fill-first", "keep-together", "split", "recent",
	                                        NULL };
enum { AL_SPECIMENS, AL_PARENT, AL_STRATEGY, AL_LOCATION, AL__MAX };
static const struct bb_js_field allocation_fields[AL__MAX] = {
	[AL_SPECIMENS] = { "specimens", BB_JS_ARRAY, BB_JS_NULLABLE, 1, ALLOCATION_MAX, NULL, NULL,
	                   BB_JS_STRING },
	[AL_PARENT] = { "parent", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[AL_STRATEGY] = { "strategy", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, strategy_choices },
	[AL_LOCATION] = { "location", BB_JS_INT, BB_JS_NULLABLE, 1, 9007199254740991LL },
};
const struct bb_js_spec h_allocations_create_spec = BB_JS_SPEC(allocation_fields);

void
h_allocations_create(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;
	const char *refs = NULL, *parent = NULL;

	if (in[AL_SPECIMENS].present == in[AL_PARENT].present) {
		reply_invalid_field(r, "specimens",
		                    "give either the specimens to place or the parent whose new "
		                    "aliquots are placed");
		return;
	}
	if (in[AL_SPECIMENS].present &&
	    (refs = specimen_refs_param(r, &in[AL_SPECIMENS], "specimens")) == NULL)
		return;
	if (in[AL_PARENT].present &&
	    (parent = req_specimen_ref(r, in[AL_PARENT].s, "parent")) == NULL)
		return;
	const char *params[] = {
		refs,
		parent,
		in[AL_STRATEGY].s,
		in[AL_LOCATION].present
		    ? bb_arena_printf(&r->arena, "%lld", (long long)in[AL_LOCATION].i)
		    : NULL,
		req_studies(r),
	};
	/* A proposal is an answer, not a new resource: 200. */
	reply_from_function(r, 200, "db_allocation_propose", 5, params);
}

/* POST /api/v1/allocations/accept {"placements": [{"specimen", "box", "position"}]} */
enum { AA_PLACEMENTS, AA__MAX };
enum { AAI_SPECIMEN, AAI_BOX, AAI_POSITION, AAI__MAX };
static const struct bb_js_field aai_fields[AAI__MAX] = {
	[AAI_SPECIMEN] = { "specimen", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[AAI_BOX] = { "box", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[AAI_POSITION] = { "position", BB_JS_STRING, BB_JS_REQUIRED, 1, 8 },
};
static const struct bb_js_spec aai_spec = BB_JS_SPEC(aai_fields);
static const struct bb_js_field accept_fields[AA__MAX] = {
	[AA_PLACEMENTS] = { "placements", BB_JS_ARRAY, BB_JS_REQUIRED, 1, ALLOCATION_MAX, NULL,
	                    &aai_spec, BB_JS_OBJECT },
};
const struct bb_js_spec h_allocations_accept_spec = BB_JS_SPEC(accept_fields);

void
h_allocations_accept(struct srv_req *r)
{
	const struct bb_js_value *list = &r->in[AA_PLACEMENTS];
	size_t n = list->n;
	const char **refs = bb_arena_alloc(&r->arena, n * sizeof(*refs));
	const char **boxes = bb_arena_alloc(&r->arena, n * sizeof(*boxes));
	const char **positions = bb_arena_alloc(&r->arena, n * sizeof(*positions));

	for (size_t i = 0; i < n; i++) {
		const struct bb_js_value *item = list->items[i].obj;
		const char *field = bb_arena_printf(&r->arena, "placements[%zu].specimen", i);

		if ((refs[i] = req_specimen_ref(r, item[AAI_SPECIMEN].s, field)) == NULL)
			return;
		boxes[i] = item[AAI_BOX].s;
		positions[i] = item[AAI_POSITION].s;
	}
	const char *params[] = {
		db_array_literal(&r->arena, refs, n),
		db_array_literal(&r->arena, boxes, n),
		db_array_literal(&r->arena, positions, n),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_allocation_accept", 6, params);
}
