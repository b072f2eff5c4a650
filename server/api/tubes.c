/*
 * tubes.c — pre-barcoded tubes: a rack-scanner file of new, empty tubes
 * made into a parent's aliquots and stored in that rack in one request,
 * and a tube barcode set later on a specimen registered without one. The
 * list form of aliquots and a derivative's barcode are read in specimens.c;
 * all of them check barcodes with tube_barcode_check and end in one SQL
 * call (migrations/functions/specimens.sql, "Pre-barcoded tubes").
 */
#include "api/api.h"

#include "ids.h"
#include "rackscan.h"

#include <stdlib.h>
#include <string.h>

/* Its statements are prepared with the specimens' (specimens_statements). */

const char *
tube_barcode_check(struct srv_req *r, const char *code, const char *field,
                   struct bb_js_errors *errs)
{
	for (const char *p = code; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			bb_js_error_add(
			    errs, &r->arena, field,
			    "must be printable ASCII without spaces, as scanners read it");
			return NULL;
		}
	}
	/* A scanner could never tell such a tube from a specimen ID. */
	if (bb_id_shaped(code)) {
		bb_js_error_add(errs, &r->arena, field,
		                "reads as a specimen ID (8 characters of the ID alphabet); "
		                "use the tube's own manufacturer code");
		return NULL;
	}
	return code;
}

/*
 * ?quantity= of the rack form: what each tube takes from the parent, a
 * decimal as the database keeps it (up to 9 digits, 3 after the point),
 * more than 0. NULL after replying 400.
 */
static const char *
quantity_param(struct srv_req *r, const char *s)
{
	size_t whole = strspn(s, "0123456789"), frac = 0;

	if (s[whole] == '.')
		frac = strspn(s + whole + 1, "0123456789");
	bool shaped = whole >= 1 && whole <= 9 &&
	              (s[whole] == '\0' ||
	               (s[whole] == '.' && frac >= 1 && frac <= 3 && s[whole + 1 + frac] == '\0'));
	if (!shaped || strtod(s, NULL) <= 0) {
		reply_invalid_field(r, "quantity",
		                    "must be a number more than 0 such as 0.5 (a point, at most 3 "
		                    "decimals), not \"%.32s\"",
		                    s);
		return NULL;
	}
	return s;
}

/* Wells in rack order: A1, A2, ... A12, B1, ... (row-major, as GET /boxes lists positions). */
static int
well_order(const void *a, const void *b)
{
	const struct bb_rs_well *x = *(const struct bb_rs_well *const *)a;
	const struct bb_rs_well *y = *(const struct bb_rs_well *const *)b;

	return x->row != y->row ? (x->row > y->row) - (x->row < y->row)
	                        : (x->col > y->col) - (x->col < y->col);
}

/* The box the file goes into: ?box=, else the file's rack ID; NULL after replying. */
static const char *
rack_box(struct srv_req *r)
{
	const char *box = req_query(r, "box");
	struct bb_rs_scan *scan;

	if (box != NULL && *box != '\0')
		return box;
	if ((scan = rack_parse_body(r, 0, 0, NULL)) == NULL)
		return NULL;
	box = scan->rack_id ? bb_arena_strdup(&r->arena, scan->rack_id) : NULL;
	bb_rs_free(scan);
	if (box == NULL)
		reply_problem_code(r, "rack-file-refused", NULL,
		                   "the file names no rack: give the box as ?box=BARCODE");
	return box;
}

/*
 * Every well of the file that reads as no tube or as a code no new tube may
 * carry, named by line and well, all at once. True when there is none.
 */
static bool
rack_wells_usable(struct srv_req *r, const struct bb_rs_scan *scan)
{
	struct bb_js_errors errs = { 0 };
	struct bb_buf unread = { 0 };
	size_t n_unread = 0;

	for (size_t i = 0; i < scan->n_wells; i++) {
		const struct bb_rs_well *w = &scan->wells[i];
		const char *name = bb_arena_printf(&r->arena, "line %u (%s)", w->line, w->pos);

		if (w->state == BB_RS_NO_READ) {
			bb_buf_printf(&unread, "%s%s", n_unread++ ? ", " : "", name);
		} else if (w->state == BB_RS_TUBE) {
			tube_barcode_check(r, w->barcode, name, &errs);
		}
	}
	if (n_unread > 0) {
		reply_problem_code(r, "rack-file-refused", NULL,
		                   "%s: %s could not be read (NO READ): rescan the rack before "
		                   "registering its tubes",
		                   unread.data, n_unread == 1 ? "the tube" : "the tubes");
		bb_buf_free(&unread);
		return false;
	}
	bb_buf_free(&unread);
	if (errs.n > 0) {
		reply_invalid(r, &errs);
		return false;
	}
	return true;
}

/*
 * POST /api/v1/specimens/{id}/aliquots with a rack-scanner file: every tube
 * of the file becomes an aliquot of the parent carrying the tube's code,
 * stored at its well of the box (?box=, else the file's rack ID), all or
 * nothing. The children are issued in rack order (A1, A2, ..., B1, ...),
 * whatever the order of the lines. ?count=N refuses a file that does not
 * list N tubes (a line lost on the way); ?quantity= and ?unit= are what
 * each tube takes (else the parent's quantity is split evenly).
 */
void
h_aliquots_rack(struct srv_req *r)
{
	const char *ref = req_specimen_ref(r, r->params[0], NULL);
	const char *count = req_query(r, "count"), *qty = req_query(r, "quantity"),
	           *unit = req_query(r, "unit");
	int64_t want = 0;
	struct db_conn *db;
	PGresult *res = NULL;

	if (ref == NULL)
		return;
	if (count != NULL && !bb_parse_int64(count, 1, BB_RS_ROWS_MAX * BB_RS_COLS_MAX, &want)) {
		reply_invalid_field(r, "count",
		                    "must be an integer between 1 and %d, not \"%.32s\"",
		                    BB_RS_ROWS_MAX * BB_RS_COLS_MAX, count);
		return;
	}
	if ((qty != NULL) != (unit != NULL)) {
		reply_invalid_field(r, qty ? "unit" : "quantity", "goes with %s",
		                    qty ? "quantity" : "unit");
		return;
	}
	if (qty != NULL && (qty = quantity_param(r, qty)) == NULL)
		return;
	if (unit != NULL && (strlen(unit) < 1 || strlen(unit) > 16)) {
		reply_invalid_field(r, "unit", "must be 1 to 16 characters");
		return;
	}
	const char *box = rack_box(r);
	if (box == NULL || (db = req_db(r)) == NULL)
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
		reply_problem_code(r, "box-not-found", NULL, "no box has the barcode %s", box);
		return;
	}
	int rows = atoi(PQgetvalue(res, 0, 0)), cols = atoi(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!rack_grid_fits(r, box, rows, cols))
		return;
	struct bb_rs_scan *scan = rack_parse_body(r, rows, cols, box);
	if (scan == NULL)
		return;
	if (!rack_wells_usable(r, scan)) {
		bb_rs_free(scan);
		return;
	}

	size_t n = 0;
	const struct bb_rs_well **tubes =
	    bb_arena_alloc(&r->arena, (scan->n_wells + 1) * sizeof(*tubes));
	for (size_t i = 0; i < scan->n_wells; i++)
		if (scan->wells[i].state == BB_RS_TUBE)
			tubes[n++] = &scan->wells[i];
	qsort(tubes, n, sizeof(*tubes), well_order);
	if (n == 0 || (count != NULL && (int64_t)n != want)) {
		if (n == 0)
			reply_problem_code(r, "rack-file-refused", NULL,
			                   "the file lists no tube (every well is empty)");
		else
			reply_problem_code(r, "rack-file-refused", NULL,
			                   "the file lists %zu tubes but %lld were expected "
			                   "(?count=): is a line missing?",
			                   n, (long long)want);
		bb_rs_free(scan);
		return;
	}
	const char **codes = bb_arena_alloc(&r->arena, n * sizeof(*codes));
	const char **pos = bb_arena_alloc(&r->arena, n * sizeof(*pos));
	const char **qtys = bb_arena_alloc(&r->arena, n * sizeof(*qtys));
	const char **units = bb_arena_alloc(&r->arena, n * sizeof(*units));
	const char **names = bb_arena_alloc(&r->arena, n * sizeof(*names));
	for (size_t k = 0; k < n; k++) {
		codes[k] = bb_arena_strdup(&r->arena, tubes[k]->barcode);
		pos[k] = bb_arena_strdup(&r->arena, tubes[k]->pos);
		qtys[k] = qty;
		units[k] = unit;
		names[k] =
		    bb_arena_printf(&r->arena, "line %u (%s)", tubes[k]->line, tubes[k]->pos);
	}
	bb_rs_free(scan);
	const char *params[] = {
		ref,
		db_array_literal(&r->arena, codes, n),
		qty ? db_array_literal(&r->arena, qtys, n) : NULL,
		qty ? db_array_literal(&r->arena, units, n) : NULL,
		box,
		db_array_literal(&r->arena, pos, n),
		req_studies(r),
		req_actor(r),
		req_actor_id(r),
	};
	err = db_exec_retried(db, "db_specimen_aliquot_tubes", 9, params, &res);
	if (err == BB_OK) {
		reply_json_text(r, 201, PQgetvalue(res, 0, 0));
		PQclear(res);
		return;
	}
	reply_db_error_items(r, err, "The rack-scanner file was refused", names, n);
}

/* POST /api/v1/specimens/{id}/tube-barcode {"tube_barcode", "reason"?} */
enum { BC_TUBE_BARCODE, BC_REASON, BC__MAX };
static const struct bb_js_field bc_fields[BC__MAX] = {
	[BC_TUBE_BARCODE] = { "tube_barcode", BB_JS_STRING, BB_JS_REQUIRED, 1, 64 },
	[BC_REASON] = { "reason", BB_JS_STRING, BB_JS_NULLABLE, 1, 1000 },
};
const struct bb_js_spec h_specimens_barcode_spec = BB_JS_SPEC(bc_fields);

void
h_specimens_barcode_set(struct srv_req *r)
{
	const char *ref = req_specimen_ref(r, r->params[0], NULL);
	struct bb_js_errors errs = { 0 };

	if (ref == NULL)
		return;
	const char *code = tube_barcode_check(r, r->in[BC_TUBE_BARCODE].s, "tube_barcode", &errs);
	if (code == NULL) {
		reply_invalid(r, &errs);
		return;
	}
	const char *params[] = {
		ref, code, r->in[BC_REASON].s, req_studies(r), req_actor(r), req_actor_id(r),
	};
	reply_from_function(r, 200, "db_specimen_barcode_set", 6, params);
}
