/*
 * audits.c — freezer audits (start, scans from rack-scanner files or by
 * hand, the report, closing with resolutions) and rack-scanner files for
 * bulk placement. The reconciliation happens in PostgreSQL with set
 * operations (bb_audit_discrepancies); these handlers validate, read the
 * scanner files with bb_rs_parse and make one call each.
 */
#include "api/api.h"

#include "ids.h"
#include "rackscan.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prepared on every connection (db_pool_open); the handlers below run them by name. */
const struct db_stmt audits_statements[] = {
	{ "db_audit_create",
	  "SELECT bb_audit_create($1, $2::bigint, $3::bigint[], $4, $5::bigint)::text" },
	{ "db_audit_box_grid",
	  "SELECT box, rows, cols FROM bb_audit_box_grid($1::bigint, $2, $3::bigint[])" },
	{ "db_audit_scan",
	  "SELECT bb_audit_scan($1::bigint, $2, $3::text[], $4::text[], $5::text[], $6::text[],"
	  " $7::integer[], $8::bigint[], $9, $10::bigint)::text" },
	{ "db_audit_close",
	  "SELECT bb_audit_close($1::bigint, $2::text[], $3::text[], $4::text[], $5::text[],"
	  " $6::bigint[], $7, $8::bigint)::text" },
	{ "db_box_grid", "SELECT rows, cols FROM boxes WHERE barcode = $1" },
	{ NULL, NULL },
};

/* The audit id of the path, or NULL after replying 404. */
static const char *
audit_id(struct srv_req *r)
{
	return req_id_param(r, 0, "audit");
}

/*
 * A rack file's scanned code as the database looks it up (bb_ref_read): a
 * canonical ID, or a tube barcode as read. NULL after replying 400 naming
 * the file's line when it reads as a mistyped ID.
 */
static const char *
file_code_ref(struct srv_req *r, const char *code, unsigned line)
{
	char id[BB_ID_LEN + 1];
	const char *why;
	bool is_id;

	if (bb_ref_read(code, id, &is_id, &why) != BB_OK) {
		reply_problem(r, 400, "The rack-scanner file was refused", "line %u: " REF_PROBLEM,
		              line, why, code);
		return NULL;
	}
	return bb_arena_strdup(&r->arena, is_id ? id : code);
}

/* A box's grid must fit what a rack scanner reads; otherwise reply 400. */
bool
rack_grid_fits(struct srv_req *r, const char *box, int rows, int cols)
{
	if (rows <= BB_RS_ROWS_MAX && cols <= BB_RS_COLS_MAX)
		return true;
	reply_problem(r, 400, NULL,
	              "box %s is %dx%d: a rack-scanner file covers at most %dx%d positions; "
	              "send its scans as JSON",
	              box, rows, cols, BB_RS_ROWS_MAX, BB_RS_COLS_MAX);
	return false;
}

/* POST /api/v1/audits {"box"} or {"location"} */
enum { AC_BOX, AC_LOCATION, AC__MAX };
static const struct bb_js_field ac_fields[AC__MAX] = {
	[AC_BOX] = { "box", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[AC_LOCATION] = { "location", BB_JS_INT, BB_JS_NULLABLE, 1, INT64_MAX },
};
const struct bb_js_spec h_audits_create_spec = BB_JS_SPEC(ac_fields);

void
h_audits_create(struct srv_req *r)
{
	const struct bb_js_value *in = r->in;

	if (in[AC_BOX].present == in[AC_LOCATION].present) {
		reply_invalid_field(r, in[AC_BOX].present ? "location" : "box",
		                    "give either a box or a location, not both");
		return;
	}
	const char *params[] = {
		in[AC_BOX].s,
		in[AC_LOCATION].present
		    ? bb_arena_printf(&r->arena, "%lld", (long long)in[AC_LOCATION].i)
		    : NULL,
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 201, "db_audit_create", 5, params);
}

/* POST /api/v1/audits/{id}/scans as JSON: hand scans. */
enum { SC_SCANS, SC__MAX };
enum { SCI_BOX, SCI_POSITION, SCI_BARCODE, SCI__MAX };
static const struct bb_js_field sci_fields[SCI__MAX] = {
	[SCI_BOX] = { "box", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[SCI_POSITION] = { "position", BB_JS_STRING, BB_JS_REQUIRED, 2, 4 },
	[SCI_BARCODE] = { "barcode", BB_JS_STRING, BB_JS_REQUIRED | BB_JS_NULLABLE, 0,
	                  BB_RS_CODE_MAX },
};
static const struct bb_js_spec sci_spec = BB_JS_SPEC(sci_fields);
static const struct bb_js_field sc_fields[SC__MAX] = {
	[SC_SCANS] = { "scans", BB_JS_ARRAY, BB_JS_REQUIRED, 1, BB_RS_LINES_MAX, NULL, &sci_spec,
	               BB_JS_OBJECT },
};
const struct bb_js_spec h_audits_scan_spec = BB_JS_SPEC(sc_fields);

/* What a barcode scanner can type: printable ASCII, no spaces. */
static bool
scanner_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static void
scan_hand(struct srv_req *r, const char *id)
{
	const struct bb_js_value *list = &r->in[SC_SCANS];
	size_t n = list->n;
	const char **boxes = bb_arena_alloc(&r->arena, n * sizeof(*boxes));
	const char **pos = bb_arena_alloc(&r->arena, n * sizeof(*pos));
	const char **states = bb_arena_alloc(&r->arena, n * sizeof(*states));
	const char **codes = bb_arena_alloc(&r->arena, n * sizeof(*codes));
	struct bb_js_errors errs = { 0 };

	for (size_t i = 0; i < n; i++) {
		const struct bb_js_value *item = list->items[i].obj;
		const char *code = item[SCI_BARCODE].present ? item[SCI_BARCODE].s : NULL;
		char *field = bb_arena_printf(&r->arena, "scans[%zu].barcode", i);

		boxes[i] = item[SCI_BOX].s;
		pos[i] = item[SCI_POSITION].s;
		if (code != NULL && *code == '\0')
			code = NULL;
		states[i] = code != NULL ? "tube" : "empty";
		codes[i] = NULL;
		if (code != NULL && !scanner_text(code))
			bb_js_error_add(
			    &errs, &r->arena, field,
			    "must be printable ASCII without spaces, as scanners read it");
		else if (code != NULL)
			codes[i] = specimen_ref_read(r, code, field, false, &errs);
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return;
	}
	const char *params[] = {
		id,
		"hand",
		db_array_literal(&r->arena, boxes, n),
		db_array_literal(&r->arena, pos, n),
		db_array_literal(&r->arena, states, n),
		db_array_literal(&r->arena, codes, n),
		NULL,
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_audit_scan", 10, params);
}

/* Parse the request's CSV body against a grid; on failure reply 400 with the parser's words. */
struct bb_rs_scan *
rack_parse_body(struct srv_req *r, int rows, int cols, const char *rack)
{
	struct bb_rs_options opt = { rows, cols, rack };
	struct bb_rs_scan *scan;
	char why[BB_RS_WHY_LEN];

	if (bb_rs_parse(r->body.data != NULL ? r->body.data : "", r->body.len, &opt, &scan, why) !=
	    BB_OK) {
		reply_problem(r, 400, "The rack-scanner file was refused", "%s", why);
		return NULL;
	}
	return scan;
}

/*
 * POST /api/v1/audits/{id}/scans as text/csv: one rack-scanner file. The box
 * is ?box=, else the file's rack ID, else the audit's only box; the file is
 * read against that box's grid.
 */
static void
scan_file(struct srv_req *r, const char *id)
{
	const char *box = req_query(r, "box");
	struct bb_rs_scan *scan;
	struct db_conn *db;
	PGresult *res = NULL;

	if (box != NULL && *box == '\0')
		box = NULL;
	if (box == NULL) {
		/* Read the rack ID first; the grid comes once the box is known. */
		if ((scan = rack_parse_body(r, 0, 0, NULL)) == NULL)
			return;
		box = scan->rack_id ? bb_arena_strdup(&r->arena, scan->rack_id) : NULL;
		bb_rs_free(scan);
	}
	if ((db = req_db(r)) == NULL)
		return;
	const char *gparams[] = { id, box, req_studies(r) };
	enum bb_err err = db_exec(db, "db_audit_box_grid", 3, gparams, &res);
	if (err != BB_OK) {
		PQclear(res);
		reply_db_error(r, err);
		return;
	}
	const char *barcode = bb_arena_strdup(&r->arena, PQgetvalue(res, 0, 0));
	int rows = atoi(PQgetvalue(res, 0, 1)), cols = atoi(PQgetvalue(res, 0, 2));
	PQclear(res);
	if (!rack_grid_fits(r, barcode, rows, cols))
		return;
	if ((scan = rack_parse_body(r, rows, cols, barcode)) == NULL)
		return;

	size_t n = scan->n_wells;
	const char **boxes = bb_arena_alloc(&r->arena, n * sizeof(*boxes));
	const char **pos = bb_arena_alloc(&r->arena, n * sizeof(*pos));
	const char **states = bb_arena_alloc(&r->arena, n * sizeof(*states));
	const char **codes = bb_arena_alloc(&r->arena, n * sizeof(*codes));
	const char **lines = bb_arena_alloc(&r->arena, n * sizeof(*lines));
	for (size_t i = 0; i < n; i++) {
		const struct bb_rs_well *w = &scan->wells[i];

		codes[i] = NULL;
		if (w->state == BB_RS_TUBE &&
		    (codes[i] = file_code_ref(r, w->barcode, w->line)) == NULL) {
			bb_rs_free(scan);
			return;
		}
		boxes[i] = barcode;
		pos[i] = bb_arena_strdup(&r->arena, w->pos);
		states[i] = w->state == BB_RS_TUBE    ? "tube"
		            : w->state == BB_RS_EMPTY ? "empty"
		                                      : "no_read";
		lines[i] = bb_arena_printf(&r->arena, "%u", w->line);
	}
	bb_rs_free(scan);
	const char *params[] = {
		id,
		"file",
		db_array_literal(&r->arena, boxes, n),
		db_array_literal(&r->arena, pos, n),
		db_array_literal(&r->arena, states, n),
		db_array_literal(&r->arena, codes, n),
		db_array_literal(&r->arena, lines, n),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_audit_scan", 10, params);
}

void
h_audits_scan(struct srv_req *r)
{
	const char *id = audit_id(r);

	if (id == NULL)
		return;
	if (r->in == NULL)
		scan_file(r, id);
	else
		scan_hand(r, id);
}

/* POST /api/v1/audits/{id}/close {"resolutions":[...]} */
enum { CL_RESOLUTIONS, CL__MAX };
enum { CLI_SPECIMEN, CLI_ACTION, CLI_BOX, CLI_POSITION, CLI__MAX };
static const char *const action_choices[] = { "confirm", "accept_scan", "lost", "found", NULL };
static const struct bb_js_field cli_fields[CLI__MAX] = {
	[CLI_SPECIMEN] = { "specimen", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[CLI_ACTION] = { "action", BB_JS_STRING, BB_JS_REQUIRED, 0, 0, action_choices },
	[CLI_BOX] = { "box", BB_JS_STRING, BB_JS_NULLABLE, 1, 64 },
	[CLI_POSITION] = { "position", BB_JS_STRING, BB_JS_NULLABLE, 2, 4 },
};
static const struct bb_js_spec cli_spec = BB_JS_SPEC(cli_fields);
static const struct bb_js_field cl_fields[CL__MAX] = {
	[CL_RESOLUTIONS] = { "resolutions", BB_JS_ARRAY, BB_JS_NULLABLE, 0, 10000, NULL, &cli_spec,
	                     BB_JS_OBJECT },
};
const struct bb_js_spec h_audits_close_spec = BB_JS_SPEC(cl_fields);

void
h_audits_close(struct srv_req *r)
{
	const char *id = audit_id(r);
	const struct bb_js_value *list = &r->in[CL_RESOLUTIONS];
	size_t n = list->present ? list->n : 0;

	if (id == NULL)
		return;
	const char **refs = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*refs));
	const char **actions = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*actions));
	const char **boxes = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*boxes));
	const char **pos = bb_arena_alloc(&r->arena, (n + 1) * sizeof(*pos));
	struct bb_js_errors errs = { 0 };
	for (size_t i = 0; i < n; i++) {
		const struct bb_js_value *item = list->items[i].obj;
		char *ref_field = bb_arena_printf(&r->arena, "resolutions[%zu].specimen", i);
		char *pos_field = bb_arena_printf(&r->arena, "resolutions[%zu].position", i);

		refs[i] = specimen_ref_read(r, item[CLI_SPECIMEN].s, ref_field, false, &errs);
		actions[i] = item[CLI_ACTION].s;
		boxes[i] = item[CLI_BOX].s;
		pos[i] = item[CLI_POSITION].s;
		bool moves =
		    strcmp(actions[i], "accept_scan") == 0 || strcmp(actions[i], "found") == 0;
		if (boxes[i] != NULL && pos[i] == NULL)
			bb_js_error_add(&errs, &r->arena, pos_field, "is required with box");
		else if (!moves && pos[i] != NULL)
			bb_js_error_add(&errs, &r->arena, pos_field,
			                "is only for accept_scan and found");
	}
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return;
	}
	const char *params[] = {
		id,
		db_array_literal(&r->arena, refs, n),
		db_array_literal(&r->arena, actions, n),
		db_array_literal(&r->arena, boxes, n),
		db_array_literal(&r->arena, pos, n),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	reply_from_function(r, 200, "db_audit_close", 8, params);
}

/*
 * POST /api/v1/boxes/{barcode}/placements with a rack-scanner file: every
 * tube of the file into its well of the box, all or nothing, through the
 * same bb_box_place as the JSON body. Empty wells are skipped; a NO READ
 * well refuses the file. The items the database refuses (its "errors",
 * each with the item's index) are told back by the file's line.
 */
void
h_boxes_place_csv(struct srv_req *r)
{
	const char *box = r->params[0];
	struct db_conn *db;
	PGresult *res = NULL;

	if ((db = req_db(r)) == NULL)
		return;
	const char *gparams[] = { box };
	enum bb_err err = db_exec(db, "db_box_grid", 1, gparams, &res);
	if (err != BB_OK) {
		PQclear(res);
		reply_db_error(r, err);
		return;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		reply_problem(r, 404, NULL, "no box %s", box);
		return;
	}
	int rows = atoi(PQgetvalue(res, 0, 0)), cols = atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!rack_grid_fits(r, box, rows, cols))
		return;
	struct bb_rs_scan *scan = rack_parse_body(r, rows, cols, box);
	if (scan == NULL)
		return;

	size_t n = 0;
	const char **pos = bb_arena_alloc(&r->arena, (scan->n_wells + 1) * sizeof(*pos));
	const char **refs = bb_arena_alloc(&r->arena, (scan->n_wells + 1) * sizeof(*refs));
	unsigned *lines = bb_arena_alloc(&r->arena, (scan->n_wells + 1) * sizeof(*lines));
	for (size_t i = 0; i < scan->n_wells; i++) {
		const struct bb_rs_well *w = &scan->wells[i];

		if (w->state == BB_RS_NO_READ) {
			reply_problem_code(
			    r, "rack-file-refused", NULL,
			    "line %u: the tube in well %s could not be read (NO READ): "
			    "rescan the rack or place that tube by hand",
			    w->line, w->pos);
			bb_rs_free(scan);
			return;
		}
		if (w->state != BB_RS_TUBE)
			continue;
		if ((refs[n] = file_code_ref(r, w->barcode, w->line)) == NULL) {
			bb_rs_free(scan);
			return;
		}
		pos[n] = bb_arena_strdup(&r->arena, w->pos);
		lines[n] = w->line;
		n++;
	}
	bb_rs_free(scan);
	if (n == 0) {
		reply_problem_code(r, "rack-file-refused", NULL,
		                   "the file lists no tube to place (every well is empty)");
		return;
	}
	const char *params[] = {
		box,
		db_array_literal(&r->arena, pos, n),
		db_array_literal(&r->arena, refs, n),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	err = db_exec_retried(db, "db_box_place", 6, params, &res);
	if (err == BB_OK) {
		reply_json_text(r, 200, PQgetvalue(res, 0, 0));
		PQclear(res);
		return;
	}
	const char **names = bb_arena_alloc(&r->arena, n * sizeof(*names));
	for (size_t k = 0; k < n; k++)
		names[k] = bb_arena_printf(&r->arena, "line %u", lines[k]);
	reply_db_error_items(r, err, "The rack-scanner file was refused", names, n);
}
