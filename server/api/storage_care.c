/*
 * storage_care.c — storage that looks after its tubes (issue 18): the
 * bodies of the temperature limit, specimen type limits and maintenance
 * routes (bound to SQL in router.c), and the evacuation of a failed
 * freezer: its pick list as JSON or CSV, and its execution as box moves.
 * The SQL is in migrations/functions/storage_care.sql.
 */
#include "api/api.h"
#include "http/csv.h"

const struct db_stmt storage_care_statements[] = {
	{ "db_evacuation_plan", "SELECT bb_evacuation_plan($1::bigint)::text" },
	{ "db_evacuation_csv", "SELECT step, box, tubes, from_path, to_location, to_path, problem"
	                       " FROM bb_evacuation_csv($1::bigint)" },
	{ "db_location_evacuate",
	  "SELECT bb_location_evacuate($1::bigint, $2::text[], $3::bigint[],"
	  " $4, $5::bigint[], $6, $7::bigint)::text" },
	{ NULL, NULL },
};

enum { ID_MAX = 9007199254740991LL }; /* 2^53 - 1, as storage.c */
/* As many boxes as one box-move request takes (storage.c): a bigger freezer goes rack by rack. */
enum { EVACUATION_MAX = 100 };

enum { TL_ABOVE, TL_MINUTES, TL_GAP, TL__MAX };
static const struct bb_js_field temperature_limit_fields[TL__MAX] = {
	[TL_ABOVE] = { "alarm_above_c", BB_JS_NUMBER, BB_JS_NULLABLE, -273, 100 },
	[TL_MINUTES] = { "excursion_minutes", BB_JS_INT, BB_JS_NULLABLE, 0, 10080 },
	[TL_GAP] = { "reading_gap_minutes", BB_JS_INT, BB_JS_NULLABLE, 1, 10080 },
};
const struct bb_js_spec h_temperature_limit_spec = BB_JS_SPEC(temperature_limit_fields);

enum { SL_FREEZE_THAW, SL_MINUTES_OUT, SL_EXCURSION, SL__MAX };
static const struct bb_js_field type_limits_fields[SL__MAX] = {
	[SL_FREEZE_THAW] = { "max_freeze_thaw", BB_JS_INT, BB_JS_NULLABLE, 0, 1000 },
	[SL_MINUTES_OUT] = { "max_minutes_out", BB_JS_INT, BB_JS_NULLABLE, 0, 5256000 },
	[SL_EXCURSION] = { "max_excursion_minutes", BB_JS_INT, BB_JS_NULLABLE, 0, 5256000 },
};
const struct bb_js_spec h_specimen_type_limits_spec = BB_JS_SPEC(type_limits_fields);

static const char *const task_kinds[] = { "defrost", "service", "alarm_test", NULL };
enum { MT_KIND, MT_DUE, MT_EVERY, MT_NOTES, MT__MAX };
static const struct bb_js_field maintenance_fields[MT__MAX] = {
	[MT_KIND] = { "kind", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, task_kinds },
	[MT_DUE] = { "due_on", BB_JS_DATE, BB_JS_REQUIRED },
	[MT_EVERY] = { "every_days", BB_JS_INT, BB_JS_NULLABLE, 1, 3650 },
	[MT_NOTES] = { "notes", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_maintenance_create_spec = BB_JS_SPEC(maintenance_fields);

enum { MD_NOTES, MD_AT, MD__MAX };
static const struct bb_js_field maintenance_done_fields[MD__MAX] = {
	[MD_NOTES] = { "notes", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
	[MD_AT] = { "done_at", BB_JS_TIME, BB_JS_NULLABLE },
};
const struct bb_js_spec h_maintenance_done_spec = BB_JS_SPEC(maintenance_done_fields);

/* GET /api/v1/locations/{id}/evacuation: the pick list, as JSON or (Accept: text/csv) CSV. */
void
h_evacuation_get(struct srv_req *r)
{
	const char *id = req_id_param(r, 0, "location");

	if (id == NULL)
		return;
	const char *params[] = { id };
	if (csv_wanted(r))
		reply_csv_rows(r, "db_evacuation_csv", 1, params,
		               bb_arena_printf(&r->arena, "evacuation-%s.csv", id));
	else
		reply_from_function(r, 200, "db_evacuation_plan", 1, params);
}

/*
 * POST /api/v1/locations/{id}/evacuation {"moves"?: [{"box", "to"}], "reason"?}:
 * the boxes moved out, all or none; without moves, as the plan proposes now.
 */
enum { EV_MOVES, EV_REASON, EV__MAX };
enum { EVI_BOX, EVI_TO, EVI__MAX };
static const struct bb_js_field evi_fields[EVI__MAX] = {
	[EVI_BOX] = { "box", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[EVI_TO] = { "to", BB_JS_INT, BB_JS_REQUIRED, 1, ID_MAX },
};
static const struct bb_js_spec evi_spec = BB_JS_SPEC(evi_fields);
static const struct bb_js_field evacuate_fields[EV__MAX] = {
	[EV_MOVES] = { "moves", BB_JS_ARRAY, BB_JS_NULLABLE, 1, EVACUATION_MAX, NULL, &evi_spec,
	               BB_JS_OBJECT },
	[EV_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_evacuate_spec = BB_JS_SPEC(evacuate_fields);

void
h_evacuate(struct srv_req *r)
{
	const struct bb_js_value *list = &r->in[EV_MOVES];
	const char *id = req_id_param(r, 0, "location");
	const char *codes = NULL, *dests = NULL;

	if (id == NULL)
		return;
	if (list->present) {
		const char **b = bb_arena_alloc(&r->arena, list->n * sizeof(*b));
		const char **d = bb_arena_alloc(&r->arena, list->n * sizeof(*d));

		for (size_t i = 0; i < list->n; i++) {
			const struct bb_js_value *item = list->items[i].obj;

			b[i] = item[EVI_BOX].s;
			d[i] = bb_arena_printf(&r->arena, "%lld", (long long)item[EVI_TO].i);
		}
		codes = db_array_literal(&r->arena, b, list->n);
		dests = db_array_literal(&r->arena, d, list->n);
	}
	const char *params[] = {
		id,
		codes,
		dests,
		r->in[EV_REASON].present ? r->in[EV_REASON].s : "evacuation",
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_location_evacuate", 7, params);
}
