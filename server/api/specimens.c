/*
 * specimens.c — specimens: registration, lineage, custody actions, bulk
 * placement and the custody events. Each write is one SQL function call
 * (one round trip), which changes the state and writes its event in the
 * same statement.
 */
#include "http/csv.h"
#include "api/api.h"

#include "ids.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt specimens_statements[] = {
	/* with its SPREC code and processing times (functions/protocols.sql) */
	{ "db_specimen_register",
	  "SELECT bb_specimen_register_with($15, $16::jsonb, $1, $2, $3, $4, $5::timestamptz,"
	  " $6::numeric, $7, $8, $9, $10::int, $11::text[], $12::bigint[], $13, "
	  "$14::bigint)::text" },
	{ "db_specimen_list", "SELECT bb_specimen_list($1, $2, $3, $4, $5, $6, $7::bigint[], "
	                      "$8::bigint, $9::int, $10, $11::bigint, $12::jsonb)::text" },
	{ "db_specimen_aliquot", "SELECT bb_specimen_aliquot($1, $2::int, $3::numeric, $4, "
	                         "$5::bigint[], $6, $7::bigint)::text" },
	{ "db_specimen_derive", "SELECT bb_specimen_derive($1, $2, $3::numeric, $4, $5::bigint[], "
	                        "$6, $7::bigint)::text" },
	{ "db_box_place",
	  "SELECT bb_box_place($1, $2::text[], $3::text[], $4::bigint[], $5, $6::bigint)::text" },
	/* pre-barcoded tubes (tubes.c and the list form below) */
	{ "db_specimen_aliquot_tubes",
	  "SELECT bb_specimen_aliquot_tubes($1, $2::text[], $3::numeric[], $4::text[], $5,"
	  " $6::text[], $7::bigint[], $8, $9::bigint)::text" },
	{ "db_specimen_derive_tube", "SELECT bb_specimen_derive_tube($1, $2, $3::numeric, $4, $5,"
	                             " $6::bigint[], $7, $8::bigint)::text" },
	{ "db_specimen_barcode_set",
	  "SELECT bb_specimen_barcode_set($1, $2, $3, $4::bigint[], $5, $6::bigint)::text" },
	{ "db_specimen_register_tubes",
	  "SELECT bb_specimen_register_tubes_with($16, $17::jsonb, $1, $2, $3, $4, $5::timestamptz,"
	  " $6::numeric, $7, $8, $9, $10::text[], $11::numeric[], $12::text[], $13::bigint[], $14,"
	  " $15::bigint)::text" },
	{ NULL, NULL },
};

static const char *
number_param(struct srv_req *r, const struct bb_js_value *v)
{
	return v->present ? bb_arena_printf(&r->arena, "%.17g", v->d) : NULL;
}

enum { QTY_VALUE, QTY_UNIT, QTY__MAX };
static const struct bb_js_field qty_fields[QTY__MAX] = {
	[QTY_VALUE] = { "value", BB_JS_NUMBER, BB_JS_REQUIRED, 0, 1000000000 },
	[QTY_UNIT] = { "unit", BB_JS_STRING, BB_JS_REQUIRED, 1, 16 },
};
static const struct bb_js_spec qty_spec = BB_JS_SPEC(qty_fields);

enum { PART_STUDY, PART_CODE, PART__MAX };
static const struct bb_js_field part_fields[PART__MAX] = {
	[PART_STUDY] = { "study", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[PART_CODE] = { "code", BB_JS_STRING, BB_JS_REQUIRED, 1, 40 },
};
static const struct bb_js_spec part_spec = BB_JS_SPEC(part_fields);

/* One pre-barcoded tube of "aliquots" (the list form); its quantity, else the body's. */
enum { ALI_TUBE_BARCODE, ALI_QUANTITY, ALI__MAX };
static const struct bb_js_field ali_fields[ALI__MAX] = {
	[ALI_TUBE_BARCODE] = { "tube_barcode", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[ALI_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &qty_spec },
};
static const struct bb_js_spec ali_spec = BB_JS_SPEC(ali_fields);

/* A list of pre-barcoded tubes as text[] and numeric[] parameters. */
struct tube_list {
	const char *codes, *qtys, *units; /* qtys and units NULL: no tube gives a quantity */
};

/*
 * Read a list of ali_spec tubes: each tube's quantity, else dq (may be
 * NULL), given for every tube or for none (the parent split evenly, as the
 * count form does). False after replying 400 naming every bad item.
 */
static bool
tubes_read(struct srv_req *r, const struct bb_js_value *list, const struct bb_js_value *dq,
           struct tube_list *out)
{
	size_t n = list->n, with_qty = 0;
	const char **codes = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*codes));
	const char **qtys = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*qtys));
	const char **units = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*units));
	struct bb_js_errors errs = { 0 };

	for (size_t i = 0; i < n; i++) {
		const struct bb_js_value *item = list->items[i].obj;
		const struct bb_js_value *q =
		    item[ALI_QUANTITY].present ? item[ALI_QUANTITY].obj : dq;

		codes[i] = tube_barcode_check(
		    r, item[ALI_TUBE_BARCODE].s,
		    bb_arena_printf(&r->arena, "aliquots[%zu].tube_barcode", i), &errs);
		qtys[i] = q ? bb_arena_printf(&r->arena, "%.17g", q[QTY_VALUE].d) : NULL;
		units[i] = q ? q[QTY_UNIT].s : NULL;
		with_qty += q != NULL;
	}
	for (size_t i = 0; with_qty > 0 && with_qty < n && i < n; i++)
		if (qtys[i] == NULL)
			bb_js_error_add(&errs, &r->arena,
			                bb_arena_printf(&r->arena, "aliquots[%zu].quantity", i),
			                "is required when other tubes give theirs (or give "
			                "\"quantity\" once for every tube)");
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return false;
	}
	out->codes = db_array_literal(&r->arena, codes, n);
	out->qtys = with_qty ? db_array_literal(&r->arena, qtys, n) : NULL;
	out->units = with_qty ? db_array_literal(&r->arena, units, n) : NULL;
	return true;
}

/* Processing times recorded at the bench: they set the SPREC delay elements
 * (centrifuged_at is when the spin began; the post-centrifugation delay runs
 * from its end when that is given). */
enum {
	PROC_CENTRIFUGED_AT,
	PROC_PRE_TEMP,
	PROC_FROZEN_AT,
	PROC_POST_TEMP,
	PROC_CENTRIFUGATION_ENDED_AT,
	PROC__MAX
};
static const char *const temperatures[] = { "rt", "cold", "body", NULL };
static const struct bb_js_field proc_fields[PROC__MAX] = {
	[PROC_CENTRIFUGED_AT] = { "centrifuged_at", BB_JS_TIME, BB_JS_NULLABLE },
	[PROC_PRE_TEMP] = { "pre_centrifugation_temperature", BB_JS_STRING, BB_JS_NULLABLE, 1, 8,
	                    temperatures },
	[PROC_FROZEN_AT] = { "frozen_at", BB_JS_TIME, BB_JS_NULLABLE },
	[PROC_POST_TEMP] = { "post_centrifugation_temperature", BB_JS_STRING, BB_JS_NULLABLE, 1, 8,
	                     temperatures },
	[PROC_CENTRIFUGATION_ENDED_AT] = { "centrifugation_ended_at", BB_JS_TIME, BB_JS_NULLABLE },
};
static const struct bb_js_spec proc_spec = BB_JS_SPEC(proc_fields);

enum {
	REG_PARTICIPANT,
	REG_TYPE,
	REG_TIMEPOINT,
	REG_COLLECTED_AT,
	REG_QUANTITY,
	REG_TUBE_BARCODE,
	REG_NOTES,
	REG_ALIQUOTS,
	REG_SPREC,
	REG_PROCESSING,
	REG__MAX
};
static const struct bb_js_field reg_fields[REG__MAX] = {
	[REG_PARTICIPANT] = { "participant", BB_JS_OBJECT, BB_JS_REQUIRED, 0, 0, NULL, &part_spec },
	[REG_TYPE] = { "type", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[REG_TIMEPOINT] = { "timepoint", BB_JS_STRING, BB_JS_REQUIRED, 1, 40 },
	[REG_COLLECTED_AT] = { "collected_at", BB_JS_TIME, BB_JS_REQUIRED },
	[REG_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &qty_spec },
	[REG_TUBE_BARCODE] = { "tube_barcode", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[REG_NOTES] = { "notes", BB_JS_STRING, BB_JS_NULLABLE, 0, 2000 },
	/* a count, or a list of pre-barcoded tubes (the list form of the aliquots route) */
	[REG_ALIQUOTS] = { "aliquots", BB_JS_INT, BB_JS_NULLABLE | BB_JS_OR_LIST, 0, 500, NULL,
	                   &ali_spec, BB_JS_OBJECT },
	/* pre-analytical data (docs/sprec.md): checked element by element in SQL */
	[REG_SPREC] = { "sprec", BB_JS_STRING, BB_JS_NULLABLE, 1, 40 },
	[REG_PROCESSING] = { "processing", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &proc_spec },
};
const struct bb_js_spec h_specimens_create_spec = BB_JS_SPEC(reg_fields);

/* The processing times as the JSON object SQL reads (NULL when none were given). */
static const char *
processing_param(struct srv_req *r)
{
	const struct bb_js_value *pv =
	    r->in[REG_PROCESSING].present ? r->in[REG_PROCESSING].obj : NULL;
	cJSON *o;

	if (pv == NULL)
		return NULL;
	o = cJSON_CreateObject();
	for (size_t i = 0; i < PROC__MAX; i++)
		if (pv[i].present)
			cJSON_AddStringToObject(o, proc_fields[i].name, pv[i].s);
	char *text = cJSON_PrintUnformatted(o);
	const char *out = bb_arena_strdup(&r->arena, text);
	cJSON_free(text);
	cJSON_Delete(o);
	return out;
}

void
h_specimens_create(struct srv_req *r)
{
	const struct bb_js_value *in = r->in, *p = in[REG_PARTICIPANT].obj;

	/* A scanner could never tell such a tube from a specimen ID. */
	if (in[REG_TUBE_BARCODE].present && bb_id_shaped(in[REG_TUBE_BARCODE].s)) {
		reply_invalid_field(r, "tube_barcode",
		                    "reads as a specimen ID (8 characters of the ID alphabet); "
		                    "use the tube's own manufacturer code");
		return;
	}
	const struct bb_js_value *q = in[REG_QUANTITY].present ? in[REG_QUANTITY].obj : NULL;
	if (in[REG_ALIQUOTS].items != NULL && in[REG_ALIQUOTS].n > 0) {
		/* Aliquots into pre-barcoded tubes: the collection's quantity is not theirs. */
		struct tube_list tl;

		if (!tubes_read(r, &in[REG_ALIQUOTS], NULL, &tl))
			return;
		const char *tparams[] = {
			p[PART_STUDY].s,
			p[PART_CODE].s,
			in[REG_TYPE].s,
			in[REG_TIMEPOINT].s,
			in[REG_COLLECTED_AT].s,
			q ? number_param(r, &q[QTY_VALUE]) : NULL,
			q ? q[QTY_UNIT].s : NULL,
			in[REG_TUBE_BARCODE].s,
			in[REG_NOTES].s,
			tl.codes,
			tl.qtys,
			tl.units,
			req_studies(r),
			req_actor(r),
			req_actor_id(r),
			in[REG_SPREC].s,
			processing_param(r),
		};
		reply_from_function(r, 201, "db_specimen_register_tubes", 17, tparams);
		return;
	}
	const char *params[] = {
		p[PART_STUDY].s,
		p[PART_CODE].s,
		in[REG_TYPE].s,
		in[REG_TIMEPOINT].s,
		in[REG_COLLECTED_AT].s,
		q ? number_param(r, &q[QTY_VALUE]) : NULL,
		q ? q[QTY_UNIT].s : NULL,
		in[REG_TUBE_BARCODE].s,
		in[REG_NOTES].s,
		in[REG_ALIQUOTS].present && in[REG_ALIQUOTS].items == NULL
		    ? bb_arena_printf(&r->arena, "%lld", (long long)in[REG_ALIQUOTS].i)
		    : NULL,
		NULL,
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
		in[REG_SPREC].s,
		processing_param(r),
	};
	reply_from_function(r, 201, "db_specimen_register", 16, params);
}

static const char *const status_choices[] = { "registered", "in_storage",       "checked_out",
	                                      "shipped",    "consumed",         "destroyed",
	                                      "lost",       "entered_in_error", NULL };

bool
specimen_list_filters(struct srv_req *r, const char *filters[SPECIMEN_FILTERS])
{
	static const char *const names[SPECIMEN_FILTERS - 1] = {
		"study", "participant",      "type",    "timepoint", "status",
		"box",   "include_in_error", "location"
	};

	for (size_t i = 0; i < SPECIMEN_FILTERS - 1; i++) {
		const char *v = req_query(r, names[i]);

		filters[i] = (v != NULL && *v != '\0') ? v : NULL;
	}
	if (filters[4] != NULL) {
		bool known = false;

		for (const char *const *c = status_choices; *c; c++)
			known = known || strcmp(*c, filters[4]) == 0;
		if (!known) {
			reply_invalid_field(r, "status", "is not a specimen status");
			return false;
		}
	}
	int64_t loc;

	if (filters[7] != NULL &&
	    (filters[7][0] == '0' || !bb_parse_int64(filters[7], 1, 9007199254740991LL, &loc))) {
		reply_invalid_field(r, "location", "must be a location id (a positive integer)");
		return false;
	}
	/* Entries in error are left out unless asked for (or named by their status). */
	if (filters[6] != NULL && strcmp(filters[6], "true") != 0 &&
	    strcmp(filters[6], "false") != 0) {
		reply_invalid_field(r, "include_in_error", "must be true or false");
		return false;
	}
	return sprec_filter(r, &filters[8]); /* protocols.c */
}

void
h_specimens_list(struct srv_req *r)
{
	const char *params[12];
	struct page pg;

	/* Checked for both answers, though the CSV export is every row (no paging). */
	if (!req_page(r, PAGE_SPECIMENS, &pg))
		return;
	if (csv_wanted(r)) {
		h_specimens_csv(r); /* the same list, streamed as CSV (csv_export.c) */
		return;
	}
	if (!specimen_list_filters(r, params))
		return;
	/* The SQL function takes include_in_error, location and the SPREC filter last
	 * (parameters added with defaults). */
	params[11] = params[8];
	params[10] = params[7];
	params[9] = params[6];
	params[6] = req_studies(r);
	params[7] = pg.after ? pg.after : "0";
	params[8] = pg.limit;
	reply_page(r, PAGE_SPECIMENS, "db_specimen_list", 12, params);
}

enum { ALQ_COUNT, ALQ_QUANTITY, ALQ_ALIQUOTS, ALQ__MAX };
static const struct bb_js_field alq_fields[ALQ__MAX] = {
	/* count or aliquots, one of them (checked by the handler) */
	[ALQ_COUNT] = { "count", BB_JS_INT, BB_JS_NULLABLE, 1, 500 },
	[ALQ_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &qty_spec },
	[ALQ_ALIQUOTS] = { "aliquots", BB_JS_ARRAY, BB_JS_NULLABLE, 1, 500, NULL, &ali_spec,
	                   BB_JS_OBJECT },
};
const struct bb_js_spec h_specimens_aliquot_spec = BB_JS_SPEC(alq_fields);

/*
 * The list form: one aliquot per pre-barcoded tube, in the order listed.
 * A quantity is given for every tube (its own or the body's) or for none
 * (the parent's split evenly, as the count form does).
 */
static void
aliquots_listed(struct srv_req *r, const char *ref)
{
	const struct bb_js_value *dq = r->in[ALQ_QUANTITY].present ? r->in[ALQ_QUANTITY].obj : NULL;
	struct tube_list tl;

	if (!tubes_read(r, &r->in[ALQ_ALIQUOTS], dq, &tl))
		return;
	const char *params[] = {
		ref,  tl.codes,       tl.qtys,      tl.units,        NULL,
		NULL, req_studies(r), req_actor(r), req_actor_id(r),
	};
	reply_from_function(r, 201, "db_specimen_aliquot_tubes", 9, params);
}

void
h_specimens_aliquot(struct srv_req *r)
{
	if (r->in == NULL) { /* a rack-scanner file of pre-barcoded tubes (text/csv) */
		h_aliquots_rack(r);
		return;
	}
	const char *ref = req_specimen_ref(r, r->params[0], NULL);
	const struct bb_js_value *q = r->in[ALQ_QUANTITY].present ? r->in[ALQ_QUANTITY].obj : NULL;

	if (ref == NULL)
		return;
	if (r->in[ALQ_ALIQUOTS].present && r->in[ALQ_COUNT].present) {
		reply_invalid_field(r, "aliquots", "give count or aliquots, not both");
		return;
	}
	if (r->in[ALQ_ALIQUOTS].present) {
		aliquots_listed(r, ref);
		return;
	}
	if (!r->in[ALQ_COUNT].present) {
		reply_invalid_field(r, "count",
		                    "is required (or aliquots, a list of pre-barcoded tubes)");
		return;
	}
	const char *params[] = {
		ref,
		bb_arena_printf(&r->arena, "%lld", (long long)r->in[ALQ_COUNT].i),
		q ? number_param(r, &q[QTY_VALUE]) : NULL,
		q ? q[QTY_UNIT].s : NULL,
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 201, "db_specimen_aliquot", 7, params);
}

enum { DRV_TYPE, DRV_QUANTITY, DRV_TUBE_BARCODE, DRV__MAX };
static const struct bb_js_field drv_fields[DRV__MAX] = {
	[DRV_TYPE] = { "type", BB_JS_STRING, BB_JS_REQUIRED, 1, 32 },
	[DRV_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &qty_spec },
	[DRV_TUBE_BARCODE] = { "tube_barcode", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
};
const struct bb_js_spec h_specimens_derive_spec = BB_JS_SPEC(drv_fields);

void
h_specimens_derive(struct srv_req *r)
{
	const char *ref = req_specimen_ref(r, r->params[0], NULL);
	const struct bb_js_value *q = r->in[DRV_QUANTITY].present ? r->in[DRV_QUANTITY].obj : NULL;

	if (ref == NULL)
		return;
	if (r->in[DRV_TUBE_BARCODE].present) { /* a pre-barcoded tube */
		struct bb_js_errors errs = { 0 };
		const char *code =
		    tube_barcode_check(r, r->in[DRV_TUBE_BARCODE].s, "tube_barcode", &errs);

		if (code == NULL) {
			reply_invalid(r, &errs);
			return;
		}
		const char *tparams[] = {
			ref,
			r->in[DRV_TYPE].s,
			q ? number_param(r, &q[QTY_VALUE]) : NULL,
			q ? q[QTY_UNIT].s : NULL,
			code,
			req_studies(r),
			req_actor(r),
			req_actor_id(r),
		};
		reply_from_function(r, 201, "db_specimen_derive_tube", 8, tparams);
		return;
	}
	const char *params[] = {
		ref,
		r->in[DRV_TYPE].s,
		q ? number_param(r, &q[QTY_VALUE]) : NULL,
		q ? q[QTY_UNIT].s : NULL,
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 201, "db_specimen_derive", 7, params);
}

/*
 * The custody actions share one value layout; each action's table names the
 * fields it takes (an entry left empty is not part of that body).
 */
enum { ACT_BOX, ACT_POSITION, ACT_FROM, ACT_REASON, ACT_THAWED, ACT_QUANTITY, ACT__MAX };
enum { FROM_BOX, FROM_POSITION, FROM__MAX };
static const struct bb_js_field from_fields[FROM__MAX] = {
	[FROM_BOX] = { "box", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[FROM_POSITION] = { "position", BB_JS_STRING, BB_JS_REQUIRED, 2, 4 },
};
static const struct bb_js_spec from_spec = BB_JS_SPEC(from_fields);

#define F_BOX(req)    [ACT_BOX] = { "box", BB_JS_STRING, (req), 1, 64 }
#define F_POS(req)    [ACT_POSITION] = { "position", BB_JS_STRING, (req), 2, 4 }
#define F_REASON(req) [ACT_REASON] = { "reason", BB_JS_STRING, (req), 1, 1000 }

static const struct bb_js_field store_fields[ACT__MAX] = {
	F_BOX(BB_JS_REQUIRED),
	F_POS(BB_JS_REQUIRED),
	F_REASON(BB_JS_NULLABLE),
};
static const struct bb_js_field move_fields[ACT__MAX] = {
	F_BOX(BB_JS_REQUIRED),
	F_POS(BB_JS_REQUIRED),
	[ACT_FROM] = { "from", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &from_spec },
	F_REASON(BB_JS_NULLABLE),
};
static const struct bb_js_field return_fields[ACT__MAX] = {
	F_BOX(BB_JS_REQUIRED),
	F_POS(BB_JS_REQUIRED),
	F_REASON(BB_JS_NULLABLE),
	[ACT_THAWED] = { "thawed", BB_JS_BOOL, BB_JS_REQUIRED },
};
static const struct bb_js_field reason_fields[ACT__MAX] = {
	F_REASON(BB_JS_REQUIRED),
};
/* consume: a quantity uses part of the tube; without one, all of it. */
static const struct bb_js_field consume_fields[ACT__MAX] = {
	F_REASON(BB_JS_REQUIRED),
	[ACT_QUANTITY] = { "quantity", BB_JS_OBJECT, BB_JS_NULLABLE, 0, 0, NULL, &qty_spec },
};
static const struct bb_js_field found_fields[ACT__MAX] = {
	F_BOX(BB_JS_REQUIRED),
	F_POS(BB_JS_REQUIRED),
	F_REASON(BB_JS_NULLABLE),
};
const struct bb_js_spec h_specimens_store_spec = BB_JS_SPEC(store_fields);
const struct bb_js_spec h_specimens_move_spec = BB_JS_SPEC(move_fields);
const struct bb_js_spec h_specimens_return_spec = BB_JS_SPEC(return_fields);
const struct bb_js_spec h_specimens_reason_spec = BB_JS_SPEC(reason_fields);
const struct bb_js_spec h_specimens_consume_spec = BB_JS_SPEC(consume_fields);
const struct bb_js_spec h_specimens_found_spec = BB_JS_SPEC(found_fields);

enum { PL_PLACEMENTS, PL__MAX };
enum { PLI_POSITION, PLI_SPECIMEN, PLI__MAX };
static const struct bb_js_field pli_fields[PLI__MAX] = {
	[PLI_POSITION] = { "position", BB_JS_STRING, BB_JS_REQUIRED, 2, 4 },
	[PLI_SPECIMEN] = { "specimen", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
};
static const struct bb_js_spec pli_spec = BB_JS_SPEC(pli_fields);
static const struct bb_js_field pl_fields[PL__MAX] = {
	[PL_PLACEMENTS] = { "placements", BB_JS_ARRAY, BB_JS_REQUIRED, 1, 1248, NULL, &pli_spec,
	                    BB_JS_OBJECT },
};
const struct bb_js_spec h_boxes_place_spec = BB_JS_SPEC(pl_fields);

void
h_boxes_place(struct srv_req *r)
{
	if (r->in == NULL) { /* a rack-scanner file (text/csv) */
		h_boxes_place_csv(r);
		return;
	}
	const struct bb_js_value *list = &r->in[PL_PLACEMENTS];
	const char **pos = bb_arena_alloc(&r->arena, list->n * sizeof(*pos));
	const char **refs = bb_arena_alloc(&r->arena, list->n * sizeof(*refs));
	struct bb_js_errors errs = { 0 };

	for (size_t i = 0; i < list->n; i++) {
		const struct bb_js_value *item = list->items[i].obj;
		char *field = bb_arena_printf(&r->arena, "placements[%zu].specimen", i);

		pos[i] = item[PLI_POSITION].s;
		refs[i] = specimen_ref_read(r, item[PLI_SPECIMEN].s, field, false, &errs);
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return;
	}
	const char *params[] = {
		r->params[0],
		db_array_literal(&r->arena, pos, list->n),
		db_array_literal(&r->arena, refs, list->n),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_box_place", 6, params);
}
